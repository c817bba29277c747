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
from pathlib import Path

import httpx
import pytest

from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import _run_id, _worker_id, pg_execute
from tests.service.conftest import anyio_backend as anyio_backend
from tests.service.conftest import apns as apns


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
