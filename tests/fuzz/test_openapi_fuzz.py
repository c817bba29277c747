"""No request a client can send makes the API answer 5xx: schemathesis generates requests
from the OpenAPI document (valid and invalid ones) against a real ``passmint serve``."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from tests.service.test_serve_e2e import BIN, free_port

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PASSMINT_DATA_DIR": str(data),
        "PASSMINT_PUBLIC_URL": base,
        "PASSMINT_SECRET_KEY": "f" * 43,
        "PASSMINT_QUEUE": "embedded",
    }
    env.pop("PASSMINT_DATABASE_URL", None)
    env.pop("PASSMINT_REDIS_URL", None)
    created = subprocess.run(
        [str(BIN / "passmint"), "tenants", "create", "Fuzz", "--json"],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    key = json.loads(created.stdout)["api_key"]
    process = subprocess.Popen(
        [str(BIN / "passmint"), "serve", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                import time

                time.sleep(0.2)
        yield base, key
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def api_schema(live: tuple[str, str]) -> schemathesis.BaseSchema:
    base, _ = live
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


EXAMPLES = int(os.environ.get("PASSMINT_FUZZ_EXAMPLES", "25"))


def test_no_server_errors(api_schema: schemathesis.BaseSchema, live: tuple[str, str]) -> None:
    base, key = live
    checked = 0
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
            response = case.call(base_url=base, headers={"Authorization": f"Bearer {key}"})
            where = (case.method, case.formatted_path, response.text[:300])
            assert response.status_code < 500, where
            if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                assert "code" in response.json().get("error", {}), where

        no_5xx()
        checked += 1
    assert checked >= 10  # every operation of the API was exercised
