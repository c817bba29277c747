"""Rate limits (issue 13, item 10): failed API keys per address, the PassKit web service per
device, per pass and per address, the public pages and Google callbacks per address; a 429
``rate_limited`` with ``Retry-After``. In Redis when PASSMINT_REDIS_URL is set, so every
process shares the counts; in memory otherwise and in the device fast path."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from passmint.app import create_app
from passmint.config import Settings
from passmint.passes.apple import service as apple_service
from passmint.runtime import Runtime
from passmint.tenants import repository as tenant_repository
from passmint.web import ratelimit
from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import PUBLIC_URL, auth, make_settings
from tests.service.test_pass_cycle import apple_path, setup_pass, unzip

pytestmark = pytest.mark.anyio

LIMITS = {
    "auth_failures": "5/minute",
    "device": "4/minute",
    "pass_fetch": "4/minute",
    "public": "6/minute",
    "callbacks": "3/minute",
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, apns: FakeApns) -> Settings:
    return make_settings(database_url, tmp_path, apns, rate_limits=LIMITS)


@asynccontextmanager
async def client_at(runtime: Runtime, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An API client whose requests come from ``address``."""
    app = create_app(runtime=runtime, worker=False, migrate=False)
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


def refused(response: httpx.Response, limit: str) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert response.json()["error"]["details"]["limit"] == limit
    assert int(response.headers["retry-after"]) >= 1


async def test_wrong_api_keys_are_refused_per_address_without_a_lookup(
    runtime: Runtime, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's reproduction: wrong API keys were answered as fast as they came. Past the
    limit an address gets 429, even with a right key, and no key is looked up for it."""
    lookups = 0
    by_prefix = tenant_repository.api_key_by_prefix

    async def counted(*args: Any) -> Any:
        nonlocal lookups
        lookups += 1
        return await by_prefix(*args)

    monkeypatch.setattr(tenant_repository, "api_key_by_prefix", counted)
    wrong = auth(f"pm_{'0' * 12}_{'x' * 32}")
    async with (
        client_at(runtime, "198.51.100.7") as attacker,
        client_at(runtime, "198.51.100.8") as neighbour,
    ):
        answers = [await attacker.get("/api/v1/templates", headers=wrong) for _ in range(5)]
        assert [r.status_code for r in answers] == [401] * 5
        refused(await attacker.get("/api/v1/templates", headers=wrong), "auth_failures")
        seen = lookups
        refused(await attacker.get("/api/v1/templates", headers=wrong), "auth_failures")
        right = await attacker.get("/api/v1/templates", headers=auth(tenant["api_key"]))
        refused(right, "auth_failures")
        assert lookups == seen  # refused before any database query
        # another address is not affected, and right keys never count
        assert (await neighbour.get("/api/v1/templates", headers=wrong)).status_code == 401
        for _ in range(8):
            ok = await neighbour.get("/api/v1/templates", headers=auth(tenant["api_key"]))
            assert ok.status_code == 200


async def test_passkit_limits_per_device_per_pass_and_failed_tokens(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: Any
) -> None:
    """Device polls (the fast path on PostgreSQL, the routes on SQLite), pass fetches and
    wrong ApplePass tokens: 429 with Retry-After, which a device retries with backoff."""
    issued = await setup_pass(client, tenant, dev_pki)
    data = (await client.get(issued["urls"]["pkpass"].removeprefix(PUBLIC_URL))).content
    pj = json.loads(unzip(data)["pass.json"])
    kind, serial = pj["passTypeIdentifier"], pj["serialNumber"]
    async with client_at(runtime, "192.0.2.10") as phone, client_at(runtime, "192.0.2.11") as bad:
        poll = apple_path(f"devices/dev-a/registrations/{kind}")
        assert [(await phone.get(poll)).status_code for _ in range(4)] == [204] * 4
        refused(await phone.get(poll), "device")
        other = await phone.get(apple_path(f"devices/dev-b/registrations/{kind}"))
        assert other.status_code == 204  # per device

        path = apple_path(f"passes/{kind}/{serial}")
        token = {"Authorization": f"ApplePass {pj['authenticationToken']}"}
        first = await phone.get(path, headers=token)
        assert first.status_code == 200
        since = {**token, "If-Modified-Since": first.headers["last-modified"]}
        assert [(await phone.get(path, headers=since)).status_code for _ in range(3)] == [304] * 3
        refused(await phone.get(path, headers=since), "pass_fetch")

        wrong = {**since, "Authorization": "ApplePass " + "x" * 32}  # the fast path's on PG
        guesses = [apple_path(f"passes/{kind}/no-such-serial-{n}") for n in range(6)]
        answers = [await bad.get(guess, headers=wrong) for guess in guesses[:5]]
        assert {r.status_code for r in answers} == {401}
        refused(await bad.get(guesses[5], headers=wrong), "auth_failures")
        register = apple_path(f"devices/dev-c/registrations/{kind}/{serial}")
        blocked = await bad.post(register, headers=token, json={"pushToken": "ab" * 32})
        refused(blocked, "auth_failures")  # even with the right token, from that address


async def test_fast_path_refuses_before_reading(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    if runtime.db.dialect != "postgresql":
        pytest.skip("the fast path serves PostgreSQL only")
    reads = 0
    serials = apple_service.updated_serials_fast

    async def counted(*args: Any) -> Any:
        nonlocal reads
        reads += 1
        return await serials(*args)

    monkeypatch.setattr(apple_service, "updated_serials_fast", counted)
    poll = apple_path("devices/dev-z/registrations/pass.example.test")
    assert [(await client.get(poll)).status_code for _ in range(4)] == [204] * 4
    refused(await client.get(poll), "device")
    assert reads == 4  # answered by the fast path, the fifth without a query


async def test_public_pages_and_google_callbacks_per_address(runtime: Runtime) -> None:
    async with client_at(runtime, "203.0.113.5") as browser, client_at(runtime, "203.0.113.6") as b:
        pages = [f"/p/{'t' * 32}", f"/p/{'t' * 32}.pkpass", f"/i/{uuid.uuid4()}.png"] * 2
        assert {(await browser.get(page)).status_code for page in pages} == {404}
        refused(await browser.get(f"/p/{'t' * 32}"), "public")
        assert (await b.get(f"/p/{'t' * 32}")).status_code == 404
        answers = [await browser.post("/google/callbacks", content=b"{}") for _ in range(3)]
        assert {r.status_code for r in answers} == {400}
        refused(await browser.post("/google/callbacks", content=b"{}"), "callbacks")


async def test_rate_limited_operations_document_their_429(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    for path, method in (
        ("/api/v1/validations", "post"),
        ("/api/v1/redemptions", "post"),
        ("/apple/v1/devices/{device_library_id}/registrations/{pass_type_id}", "get"),
        ("/google/callbacks", "post"),
        ("/p/{token}", "get"),
    ):
        answer = paths[path][method]["responses"]["429"]
        assert "Retry-After" in answer["headers"], path


def test_limits_are_named_and_configurable(tmp_path: Path) -> None:
    def settings(**limits: str) -> Settings:
        return Settings(data_dir=tmp_path, secret_key="k" * 43, rate_limits=limits)

    limits = ratelimit.named_limits(settings(device="2/second"))
    assert [str(item) for item in limits["device"]] == ["2 per 1 second"]
    assert [str(item) for item in limits["auth_failures"]] == ["30 per 1 minute", "300 per 1 hour"]
    assert [str(item) for item in limits["device_log"]] == ["60 per 1 minute"]
    with pytest.raises(ValueError, match="unknown limits \\['devices'\\]"):
        ratelimit.named_limits(settings(devices="2/second"))
    with pytest.raises(ValueError, match="not like"):
        settings(device="often")


async def test_memory_storage_forgets_ended_windows() -> None:
    """Expiry costs O(1) a call: the keys of windows that ended go as the seconds pass, so
    an attacker's many addresses do not stay, nor slow the next request."""
    now = 1_000_000.0
    storage = ratelimit.ProcessStorage(clock=lambda: now)
    for n in range(1000):
        assert await storage.incr(f"ip-{n}", 60) == 1
    assert await storage.incr("ip-7", 60) == 2
    assert await storage.get("ip-7") == 2
    now += 30
    assert await storage.incr("late", 60) == 1
    assert len(storage) == 1001
    now += 31  # the first thousand's windows have ended
    assert await storage.get("ip-7") == 0
    assert await storage.incr("ip-7", 60) == 1  # a new window
    assert len(storage) == 2  # "late" and the new "ip-7"
    now += 3600  # after a quiet hour
    await storage.incr("next", 60)
    assert len(storage) == 1


async def test_storage_outage_lets_requests_through(
    database_url: str, tmp_path: Path, apns: FakeApns, tenant: dict[str, str]
) -> None:
    """Redis down: the limits must not stop the service (a warning is logged instead)."""
    settings = make_settings(
        database_url,
        tmp_path,
        apns,
        redis_url="redis://127.0.0.1:1/0",  # nothing listens there
        rate_limits={"auth_failures": "1/minute"},
    )
    rt = Runtime(settings)
    await rt.start(worker=False, migrate=False)
    try:
        async with client_at(rt, "198.51.100.9") as http:
            wrong = auth(f"pm_{'0' * 12}_{'x' * 32}")
            assert [(await http.get("/api/v1/templates", headers=wrong)).status_code] * 3 == [
                401
            ] * 3
    finally:
        await rt.stop()


def redis_url() -> str:
    url = os.environ.get("PASSMINT_TEST_REDIS_URL")
    if not url:
        pytest.skip("PASSMINT_TEST_REDIS_URL is not set")
    return url


async def test_processes_share_the_counts_in_redis(
    database_url: str, tmp_path: Path, apns: FakeApns, tenant: dict[str, str]
) -> None:
    """Two runtimes (two web processes) over one Redis: failures made through either count
    against one limit, so neither lets an address past it by spreading its requests."""
    settings = make_settings(
        database_url,
        tmp_path,
        apns,
        redis_url=redis_url(),
        queue_name=f"passmint-test:{uuid.uuid4()}",  # keys of its own in a shared Redis
        rate_limits={"auth_failures": "4/minute"},
    )
    first, second = Runtime(settings), Runtime(settings)
    for rt in (first, second):
        await rt.start(worker=False, migrate=False)
    try:
        async with client_at(first, "198.51.100.20") as a, client_at(second, "198.51.100.20") as b:
            wrong = auth(f"pm_{'0' * 12}_{'x' * 32}")
            answers = [await http.get("/api/v1/templates", headers=wrong) for http in (a, b, a, b)]
            assert [r.status_code for r in answers] == [401] * 4  # two failures in each
            refused(await a.get("/api/v1/templates", headers=wrong), "auth_failures")
            refused(await b.get("/api/v1/templates", headers=wrong), "auth_failures")
            assert isinstance(
                ratelimit.shared(first).storage, type(ratelimit.shared(second).storage)
            )
            assert not isinstance(ratelimit.shared(first).storage, ratelimit.ProcessStorage)
    finally:
        for rt in (first, second):
            await rt.stop()
