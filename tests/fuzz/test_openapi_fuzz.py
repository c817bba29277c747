"""No request a client can send makes the API answer 5xx: schemathesis generates requests
from the OpenAPI document (valid and invalid ones) against a real ``passmint serve``."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, status_code_conformance
from schemathesis.core.result import Ok

from tests.ops.conftest import command_env, start, stop, tenant_key
from tests.service.conftest import pg_execute
from tests.service.test_serve_e2e import free_port

pytestmark = pytest.mark.fuzz


def _wait(base: str, processes: list[subprocess.Popen[bytes]]) -> None:
    for _ in range(300):
        for process in processes:
            assert process.poll() is None, f"a passmint process exited with {process.returncode}"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("passmint did not become ready")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real server. With PostgreSQL and Redis (CI, `make fuzz`) it is the production
    topology: two web processes without a worker, and a worker process fed through Redis;
    else the embedded default on SQLite."""
    data = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {
        "public_url": base,
        "secret_key": "f" * 43,
        "log_level": "error",
        # 429s would stop the generated requests before they reach the operations; the
        # limits have tests of their own (tests/service/test_rate_limits*.py)
        "rate_limits_enabled": "false",
    }
    postgres = os.environ.get("PASSMINT_TEST_POSTGRES_URL")
    redis = os.environ.get("PASSMINT_TEST_REDIS_URL")
    database = f"passmint_fuzz_{os.getpid()}"
    serve = ["serve", "--port", str(port), "--log-level", "error"]
    commands = [serve]
    if postgres and redis:
        pg_execute(
            postgres, f'DROP DATABASE IF EXISTS "{database}"', f'CREATE DATABASE "{database}"'
        )
        url = postgres.rsplit("/", 1)[0] + f"/{database}"
        settings |= {"redis_url": redis, "queue_name": f"passmint:fuzz:{os.getpid()}"}
        commands = [[*serve, "--no-worker", "--workers", "2"], ["worker", "--processes", "1"]]
    else:
        url = f"sqlite:///{data / 'passmint.db'}"
    env = command_env(data, url, **settings)
    key = tenant_key(env)
    processes = [start(command, env, data / "passmint.log") for command in commands]
    try:
        _wait(base, processes)
        yield base, key
    finally:
        stop(*processes)
        if postgres and redis:
            pg_execute(postgres, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def api_schema(live: tuple[str, str]) -> schemathesis.BaseSchema:
    base, _ = live
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


# Cases per operation: CI runs this many; `make fuzz` runs enough for 10,000 and more.
EXAMPLES = int(os.environ.get("PASSMINT_FUZZ_EXAMPLES", "25"))


def test_no_server_errors(api_schema: schemathesis.BaseSchema, live: tuple[str, str]) -> None:
    base, key = live
    checked = 0
    cases = 0
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document has an invalid operation: {result}"
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_5xx(case: schemathesis.Case[Any]) -> None:
            nonlocal cases
            cases += 1
            response = case.call(base_url=base, headers={"Authorization": f"Bearer {key}"})
            where = (case.method, case.formatted_path, response.status_code, response.text[:300])
            assert response.status_code < 500 or response.status_code == 503, where
            # every status it answers is documented for the operation, with its content type
            case.validate_response(
                response, checks=[status_code_conformance, content_type_conformance]
            )
            if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                assert "code" in response.json().get("error", {}), where

        try:
            no_5xx()
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all are listed
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
        checked += 1
    assert not failures, "\n\n".join(failures)
    assert checked >= 10  # every operation of the API was exercised
    print(f"fuzz: {cases} cases over {checked} operations")
    assert cases >= int(os.environ.get("PASSMINT_FUZZ_MIN_CASES", "0"))
