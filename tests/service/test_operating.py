"""Operating the service (issue 13): an unexpected error costs microseconds of logging and
holds up no other request; JSON log lines carry the request's id; a database outage is a
503 clients retry; ``/metrics`` counts requests by route template, jobs, pushes, Google
calls and pool use, for allowed clients only; ``/readyz`` names each check."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from passmint import logs
from passmint.app import create_app
from passmint.loyalty.ledger import SETTLE_JOB
from passmint.passes.google.client import ClientPool, NotFound
from passmint.passes.service import PUSH_JOB
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from passmint.worker.outbox import enqueue
from passmint.worker.runner import run_job
from tests.fixtures.apns_server import FakeApns
from tests.fixtures.google_server import FakeGoogleWallet
from tests.passes.google import discovery
from tests.service.conftest import PUBLIC_URL, auth, make_settings
from tests.service.test_pass_cycle import register_devices, setup_pass

pytestmark = pytest.mark.anyio


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Every log line of the test, as the service writes them in production."""
    buffer = io.StringIO()
    handler = logs.configure("info", "json", stream=buffer)
    try:
        yield buffer
    finally:
        logging.getLogger().removeHandler(handler)


def lines(buffer: io.StringIO, event: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    return [line for line in found if line.get("event") == event]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def tolerant(runtime: Runtime) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The app and a client that gets the server's 500 instead of the app's exception."""
    app = create_app(runtime=runtime, worker=False, migrate=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield app, http


class Blocker:
    """A local variable whose repr waits (once) for the healthy request's answer: a logger
    that renders the locals of a traceback would hold the event loop there, and so every
    other request of the process, as the 4-19 s freezes did."""

    def __init__(self, answered: threading.Event, order: list[str]) -> None:
        self.answered = answered
        self.order = order

    def __repr__(self) -> str:
        self.order.append("locals rendered")
        if "waited" not in self.order:
            self.order.append("waited")
            self.answered.wait(timeout=2)  # a broken run ends after this, not never
        return "Blocker()"


def nest(depth: int, blocker: Blocker) -> int:
    """Recursion with a local in every frame, as the nested-JSON RecursionError had."""
    return nest(depth + 1, blocker) + 1


async def test_eight_unexpected_errors_hold_up_no_healthy_request(
    tolerant: tuple[Any, httpx.AsyncClient], tenant: dict[str, str], json_logs: io.StringIO
) -> None:
    app, http = tolerant
    answered = threading.Event()
    order: list[str] = []

    async def boom() -> None:
        nest(0, Blocker(answered, order))

    app.add_api_route("/test/boom", boom, methods=["GET"])

    async def failing(n: int) -> httpx.Response:
        response = await http.get("/test/boom", headers={"X-Request-ID": f"boom-{n}"})
        order.append("error answered")
        return response

    async def healthy() -> httpx.Response:
        response = await http.get("/api/v1/programs", headers=auth(tenant["api_key"]))
        order.append("healthy answered")
        answered.set()
        return response

    *errors, ok = await asyncio.gather(*(failing(n) for n in range(8)), healthy())

    assert ok.status_code == 200
    # Nothing an error's logging did waited on (or came before) the healthy answer.
    assert "locals rendered" not in order[: order.index("healthy answered")]
    assert "locals rendered" not in order
    assert order.count("error answered") == 8
    for n, response in enumerate(errors):
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert response.headers["X-Request-ID"] == f"boom-{n}"
    logged = lines(json_logs, "unhandled error")
    assert sorted(line["request_id"] for line in logged) == [f"boom-{n}" for n in range(8)]
    for line in logged:
        assert line["level"] == "error"
        assert line["path"] == "/test/boom"
        assert line["timestamp"].endswith("Z")
        (exception,) = line["exception"]
        assert exception["exc_type"] == "RecursionError"
        assert exception["frames"]
        assert all("locals" not in frame for frame in exception["frames"])
    assert "Blocker" not in json_logs.getvalue()


async def test_the_request_id_is_taken_when_sane_else_made_and_echoed(
    client: httpx.AsyncClient,
) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.42"})
    assert given.headers["X-Request-ID"] == "edge-7f3a.42"
    for insane in ("x" * 200, "a b", "<script>", "-dash-first"):
        made = await client.get("/healthz", headers={"X-Request-ID": insane})
        assert made.headers["X-Request-ID"] != insane
        assert len(made.headers["X-Request-ID"]) == 32
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_a_database_nobody_answers_is_a_503_to_retry(
    tmp_path: Path, apns: FakeApns, json_logs: io.StringIO
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/passmint"
    runtime = Runtime(make_settings(url, tmp_path, apns))
    await runtime.start(worker=False, migrate=False)
    try:
        app = create_app(runtime=runtime, worker=False, migrate=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            api = await http.get(
                "/api/v1/programs",
                headers={**auth("pm_abcd1234_" + "s" * 32), "X-Request-ID": "outage-1"},
            )
            poll = await http.get("/apple/v1/devices/d1/registrations/pass.example.cafe")
    finally:
        await runtime.stop()
    for response in (api, poll):  # the API and the device fast path alike
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"]["code"] == "database_unavailable"
    (line, *_) = lines(json_logs, "database unavailable")
    assert line["level"] == "warning"
    assert line["request_id"] == "outage-1"
    assert "ConnectionRefusedError" in line["error"]
    assert not lines(json_logs, "unhandled error")


async def test_an_os_error_of_our_own_is_a_500_not_an_outage(
    tolerant: tuple[Any, httpx.AsyncClient], json_logs: io.StringIO
) -> None:
    app, http = tolerant

    async def disk_full() -> None:
        raise OSError(28, "No space left on device")

    app.add_api_route("/test/disk-full", disk_full, methods=["GET"])
    response = await http.get("/test/disk-full")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    (line,) = lines(json_logs, "unhandled error")
    assert line["exception"][0]["exc_type"] == "OSError"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_dropped_database_connection_is_a_503_then_recovers(
    client: httpx.AsyncClient, tenant: dict[str, str], database_url: str
) -> None:
    headers = auth(tenant["api_key"])
    assert (await client.get("/api/v1/programs", headers=headers)).status_code == 200
    admin = await asyncpg.connect(database_url)
    try:  # the server drops every connection the service holds
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    dropped = await client.get("/api/v1/programs", headers=headers)
    assert dropped.status_code == 503, dropped.text
    assert dropped.json()["error"]["code"] == "database_unavailable"
    assert dropped.headers["Retry-After"] == "5"
    assert (await client.get("/api/v1/programs", headers=headers)).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_locked_past_its_busy_timeout_is_a_503(
    client: httpx.AsyncClient, tenant: dict[str, str], database_url: str
) -> None:
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer that keeps the lock
    try:
        locked = await client.post(
            "/api/v1/api-keys", headers=auth(tenant["api_key"]), json={"name": "till 2"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.status_code == 503, locked.text
    assert locked.json()["error"]["code"] == "database_unavailable"


async def scrape(http: httpx.AsyncClient, **kwargs: Any) -> dict[tuple[str, frozenset[Any]], float]:
    response = await http.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    missing = uuid.uuid4()
    before = await scrape(client)
    assert (
        await client.get(f"/api/v1/passes/{missing}", headers=auth(tenant["api_key"]))
    ).status_code == 404
    assert (await client.get(f"/nothing-here/{missing}")).status_code == 404
    # A device poll: the fast path answers it on PostgreSQL, the route on SQLite.
    poll = await client.get("/apple/v1/devices/dev-9/registrations/pass.example.cafe")
    assert poll.status_code == 204
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    count = "passmint_http_requests_total"
    assert grew(count, method="GET", route="/api/v1/passes/{pass_id}", status="404") == 1
    assert grew(count, method="GET", route="unmatched", status="404") == 1
    devices = "/apple/v1/devices/{device_library_id}/registrations/{pass_type_id}"
    assert grew(count, method="GET", route=devices, status="204") == 1
    assert grew(count, method="GET", route="/metrics", status="200") == 1
    latency = "passmint_http_request_duration_seconds_count"
    assert grew(latency, method="GET", route="/api/v1/passes/{pass_id}") == 1
    assert str(missing) not in "".join(str(key) for key in after)


async def test_metrics_are_for_allowed_networks_and_the_token_bearer(
    tmp_path: Path, apns: FakeApns, database_url: str
) -> None:
    settings = make_settings(database_url, tmp_path, apns, metrics_token="scrape-me-0123456789")
    runtime = Runtime(settings)
    app = create_app(runtime=runtime, worker=False, migrate=False)
    outside = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    try:
        async with httpx.AsyncClient(transport=outside, base_url=PUBLIC_URL) as http:
            refused = await http.get("/metrics")
            wrong = await http.get("/metrics", headers=auth("scrape-me-wrong"))
            await scrape(http, headers=auth("scrape-me-0123456789"))
        assert refused.status_code == wrong.status_code == 403
        assert refused.json()["error"]["code"] == "metrics_forbidden"
        loopback = httpx.ASGITransport(app=app, client=("::ffff:127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=loopback, base_url=PUBLIC_URL) as http:
            await scrape(http)  # the default networks: loopback, no token needed
        runtime.settings = settings.model_copy(
            update={"metrics_allow": [IPv4Network("10.0.0.0/8")]}
        )
        async with httpx.AsyncClient(transport=loopback, base_url=PUBLIC_URL) as http:
            assert (await http.get("/metrics")).status_code == 403
    finally:
        await runtime.db.dispose()


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_jobs_are_counted_by_name_and_outcome_with_their_lag(runtime: Runtime) -> None:
    done_before = value("passmint_jobs_total", job=SETTLE_JOB, outcome="done")
    phased_before = value("passmint_jobs_total", job=PUSH_JOB, outcome="done")
    dead_before = value("passmint_jobs_total", job="test.no_such_job", outcome="dead")
    lag_before = value("passmint_job_queue_lag_seconds_count", job=SETTLE_JOB)
    async with runtime.transaction() as session:
        now = runtime.clock()
        payload = {"tenant_id": str(uuid.uuid4()), "account_id": str(uuid.uuid4())}
        ids = [
            (await enqueue(session, SETTLE_JOB, payload, now=now)).id,
            (await enqueue(session, PUSH_JOB, {"pass_ids": []}, now=now)).id,
            (await enqueue(session, "test.no_such_job", {}, now=now)).id,
        ]
    assert [await run_job(runtime, job_id) for job_id in ids] == [True, True, False]
    assert value("passmint_jobs_total", job=SETTLE_JOB, outcome="done") == done_before + 1
    assert value("passmint_jobs_total", job=PUSH_JOB, outcome="done") == phased_before + 1
    assert value("passmint_jobs_total", job="test.no_such_job", outcome="dead") == dead_before + 1
    assert value("passmint_job_queue_lag_seconds_count", job=SETTLE_JOB) == lag_before + 1


async def test_pushes_are_counted_by_result(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    await register_devices(client, issued, {"d-live": "aa" * 32, "d-dead": "bb" * 32})
    apns.fail("bb" * 32, 410, "Unregistered")
    delivered = value("passmint_apns_pushes_total", result="delivered")
    unregistered = value("passmint_apns_pushes_total", result="unregistered")
    patched = await client.patch(
        f"/api/v1/passes/{issued['id']}",
        headers=auth(tenant["api_key"]),
        json={"data": {"points": 7}},
    )
    assert patched.status_code == 200
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    assert value("passmint_apns_pushes_total", result="delivered") == delivered + 1
    assert value("passmint_apns_pushes_total", result="unregistered") == unregistered + 1


async def test_google_calls_are_counted_by_result() -> None:
    with FakeGoogleWallet(discovery()) as peer:
        pool = ClientPool(peer.base_url)
        try:
            client = pool.client(("account", "v1"), peer.new_service_account())
            missing = value("passmint_google_calls_total", method="GET", result="not_found")
            with pytest.raises(NotFound):
                await client.get("loyaltyClass", "3388000000012345678.none")
            found = value("passmint_google_calls_total", method="GET", result="not_found")
        finally:
            await pool.aclose()
    assert found == missing + 1


async def test_the_pool_gauge_follows_connections_in_use(runtime: Runtime) -> None:
    idle = value("passmint_db_pool_connections_in_use")
    async with runtime.db.sessions() as session:
        await session.execute(text("SELECT 1"))
        assert value("passmint_db_pool_connections_in_use") == idle + 1
        assert value("passmint_db_pool_connections_open") >= 1
    assert value("passmint_db_pool_connections_in_use") == idle


async def test_readyz_names_each_check(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {
            "database": {"ok": True, "detail": runtime.db.dialect},
            "migrations": {"ok": True, "detail": ready.json()["checks"]["migrations"]["detail"]},
        },
    }
    assert ready.json()["checks"]["migrations"]["detail"].startswith("database at 0")


async def test_readyz_is_a_503_while_the_schema_is_behind_the_code(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    async with runtime.db.engine.begin() as conn:
        head = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        behind = await client.get("/readyz")
    finally:
        async with runtime.db.engine.begin() as conn:
            await conn.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head}
            )
    assert behind.status_code == 503
    body = behind.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"] == {
        "ok": False,
        "detail": f"database at 0001, code at {head}",
    }


async def test_readyz_is_a_503_when_the_database_or_redis_do_not_answer(
    tmp_path: Path, apns: FakeApns
) -> None:
    port = closed_port()
    settings = make_settings(
        f"postgresql://postgres@127.0.0.1:{port}/passmint",
        tmp_path,
        apns,
        redis_url=f"redis://127.0.0.1:{port}/15",
    )
    runtime = Runtime(settings)
    app = create_app(runtime=runtime, worker=False, migrate=False)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            down = await http.get("/readyz")
    finally:
        await runtime.db.dispose()
    assert down.status_code == 503
    checks = down.json()["checks"]
    assert set(checks) == {"database", "migrations", "redis"}
    assert not any(check["ok"] for check in checks.values())
    assert checks["database"]["detail"] == "ConnectionRefusedError"  # no host, no user
    assert str(port) not in down.text


async def test_readyz_checks_redis_when_it_is_configured(
    request: pytest.FixtureRequest, tmp_path: Path, apns: FakeApns, database_url: str
) -> None:
    redis_url = os.environ.get("PASSMINT_TEST_REDIS_URL")
    if not redis_url:
        if getattr(request.config, "require_services", False):
            pytest.fail("PASSMINT_TEST_REDIS_URL is not set but services are required")
        pytest.skip("PASSMINT_TEST_REDIS_URL is not set")
    runtime = Runtime(make_settings(database_url, tmp_path, apns, redis_url=redis_url))
    app = create_app(runtime=runtime, worker=False, migrate=False)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            ready = await http.get("/readyz")
    finally:
        await runtime.db.dispose()
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"] == {"ok": True, "detail": "redis"}
