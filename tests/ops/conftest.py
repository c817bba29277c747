"""Fixtures for operating passmint: fresh PostgreSQL databases, the environment of a
``passmint`` command, and the APNs peer of the service tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import _run_id, _worker_id, pg_execute
from tests.service.conftest import anyio_backend as anyio_backend
from tests.service.conftest import apns as apns
from tests.service.test_serve_e2e import free_port


def services_required(config: pytest.Config) -> bool:
    return bool(getattr(config, "require_services", False))


def postgres_base(config: pytest.Config) -> str:
    """PASSMINT_TEST_POSTGRES_URL; a skip without it (a failure when services are required)."""
    base = os.environ.get("PASSMINT_TEST_POSTGRES_URL")
    if not base:
        if services_required(config):
            pytest.fail("PASSMINT_TEST_POSTGRES_URL is not set but services are required")
        pytest.skip("PASSMINT_TEST_POSTGRES_URL is not set")
    return base


def redis_base(config: pytest.Config) -> str:
    """PASSMINT_TEST_REDIS_URL; a skip without it (a failure when services are required)."""
    url = os.environ.get("PASSMINT_TEST_REDIS_URL")
    if not url:
        if services_required(config):
            pytest.fail("PASSMINT_TEST_REDIS_URL is not set but services are required")
        pytest.skip("PASSMINT_TEST_REDIS_URL is not set")
    return url


@pytest.fixture
def fresh_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty PostgreSQL database (no schema), dropped after the test."""
    base = postgres_base(request.config)
    name = f"passmint_ops_{_run_id()}_{_worker_id(request.config)}"
    pg_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + f"/{name}"
    pg_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def command_env(data_dir: Path, database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a ``passmint`` command: this machine's, without any PASSMINT_
    setting of the caller, plus the data directory, the database and ``settings``
    (``shutdown_grace="5"`` sets PASSMINT_SHUTDOWN_GRACE)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSMINT_")}
    env["PASSMINT_DATA_DIR"] = str(data_dir)
    env["PASSMINT_DATABASE_URL"] = database_url
    env.update({f"PASSMINT_{name.upper()}": value for name, value in settings.items()})
    return env


def production_env(
    data_dir: Path, database_url: str, *, base: str, apns: FakeApns, redis_url: str, **settings: str
) -> dict[str, str]:
    """:func:`command_env` for the production topology: web processes at ``base``, jobs
    through Redis on a queue of the test's own, pushes to the APNs peer."""
    return command_env(
        data_dir,
        database_url,
        public_url=base,
        apns_url=apns.base_url,
        apns_ca_file=apns.ca_file,
        redis_url=redis_url,
        queue="redis",
        queue_name=f"passmint:test:{uuid.uuid4()}",
        **settings,
    )


BIN = Path(sys.executable).parent


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(BIN / "passmint"), *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def stop(*processes: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM to each process still running, then wait for all; one that is still running
    after ``timeout`` seconds is killed."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120  # a loaded machine starts processes slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    raise AssertionError(f"the server did not start:\n{log.read_text()}")


def tenant_key(env: dict[str, str]) -> str:
    created = subprocess.run(
        [str(BIN / "passmint"), "tenants", "create", "Shutdown", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    key: str = json.loads(created.stdout)["api_key"]
    return key


@dataclass(frozen=True)
class Production:
    """The production topology of a test, before its processes start: web processes at
    ``base`` (port ``port``), the environment of every ``passmint`` command, a tenant's
    API key and the files the web and worker processes log to."""

    base: str
    port: int
    env: dict[str, str]
    key: str
    web_log: Path
    worker_log: Path

    def start_web(self, *options: str) -> subprocess.Popen[bytes]:
        """``passmint serve --no-worker`` on ``port`` with ``options`` (``--workers 2``)."""
        args = ["serve", "--no-worker", *options, "--port", str(self.port)]
        return start([*args, "--log-level", "warning"], self.env, self.web_log)

    def start_worker(self) -> subprocess.Popen[bytes]:
        """``passmint worker`` with two processes."""
        return start(["worker", "--processes", "2"], self.env, self.worker_log)


def production(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    apns: FakeApns,
    **settings: str,
) -> Production:
    """:func:`production_env` at a free port with the test's Redis, and a tenant (which
    migrates the database once, before the processes start)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = production_env(
        tmp_path / "data",
        database_url,
        base=base,
        apns=apns,
        redis_url=redis_base(request.config),
        **settings,
    )
    return Production(
        base, port, env, tenant_key(env), tmp_path / "web.log", tmp_path / "worker.log"
    )
