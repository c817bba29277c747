"""Faults under load, in production mode (two web processes, two worker processes, Redis,
PostgreSQL): while clients post purchases and redeem codes, a web process and a worker
process are killed with SIGKILL and PostgreSQL drops every connection of the service.
Clients retry what failed, as a till does (the same ``external_id``, the same
``Idempotency-Key``). Nothing may be lost or posted twice: every purchase is posted
exactly once, cached balances equal the sums rebuilt from the ledger and the amounts sent,
and each code with ``max_uses`` is used exactly that many times."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from passmint.wallet.apple.devpki import DevPki
from tests.fixtures.apns_server import FakeApns
from tests.fixtures.images import png
from tests.ops.conftest import production, stop, wait_healthy

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ACCOUNTS = 8
PURCHASES = 20  # per account
CODES = 6
MAX_USES = 5
TRIES = 10  # redemptions of each code, each with its own Idempotency-Key
CLIENTS = 8
PROGRAM = {
    "currency": {"code": "points", "name": "point", "plural": "points"},
    "earn_rules": [
        {"key": "spend", "trigger": "purchase", "points": 10, "per_amount": 100,
         "currency": "EUR", "rounding": "down"},
    ],
    "pending_days": 0,
}  # fmt: skip


def points(amount: int) -> int:
    """What the earn rule gives: 10 points per 100 (minor units), rounded down."""
    return amount * 10 // 100


@dataclass(frozen=True, eq=False)  # each request is itself, whatever its body
class Request:
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    responses: dict[Request, httpx.Response] = field(default_factory=dict)
    retries: int = 0
    answered: asyncio.Condition = field(default_factory=asyncio.Condition)


def children(pid: int) -> list[int]:
    """The processes that ``pid`` spawned with multiprocessing (web or worker processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return sorted(found)


def wait_for_children(pid: int, count: int, log: Path) -> list[int]:
    deadline = time.monotonic() + 120
    while len(found := children(pid)) < count:
        assert time.monotonic() < deadline, f"{count} processes did not start:\n{log.read_text()}"
        time.sleep(0.2)
    return found


def prepare(api: httpx.Client, dev_pki: DevPki) -> tuple[list[str], list[str]]:
    """Apple credentials, a template, a points program with its cards, and single codes
    usable ``MAX_USES`` times: the card ids and the codes."""
    files = dev_pki.files()
    credentials = {
        "certificate": files["pass-cert.pem"].decode(),
        "private_key": files["pass-key.pem"].decode(),
        "wwdr": files["wwdr.pem"].decode(),
    }
    assert api.put("/api/v1/credentials/apple", json=credentials).status_code == 200
    icon = api.post("/api/v1/images", content=png(87, 87), headers={"Content-Type": "image/png"})
    design = {
        "organization_name": "Fault Café",
        "description": "Loyalty card",
        "images": {"icon": icon.json()["id"]},
        "fields": {"primary": [{"key": "points", "label": "POINTS", "value": "{{ points }}"}]},
        "barcode": {"format": "qr", "message": "{{ serial_number }}"},
    }
    template = api.post(
        "/api/v1/templates", json={"name": "Card", "style": "storeCard", "design": design}
    )
    assert template.status_code == 201, template.text
    program = api.post(
        "/api/v1/programs",
        json={"name": "Points", "template_id": template.json()["id"], "config": PROGRAM},
    )
    assert program.status_code == 201, program.text
    cards = []
    for number in range(ACCOUNTS):
        card = api.post(
            f"/api/v1/programs/{program.json()['id']}/accounts",
            json={"customer": {"email": f"fault{number}@example.com"}},
        )
        assert card.status_code == 201, card.text
        cards.append(card.json()["id"])
    campaign = api.post(
        "/api/v1/campaigns", json={"name": "Faults", "kind": "discount", "percent_off_bp": 500}
    )
    assert campaign.status_code == 201, campaign.text
    batch = api.post(
        f"/api/v1/campaigns/{campaign.json()['id']}/batches",
        json={"count": CODES, "pattern": "FLT-####-####", "max_uses": MAX_USES},
    )
    assert batch.status_code == 201, batch.text
    listed = api.get(f"/api/v1/campaigns/{campaign.json()['id']}/codes?limit={CODES}")
    codes = [item["code"] for item in listed.json()["items"]]
    assert len(codes) == CODES
    return cards, codes


def purchase(card: str, amount: int, external_id: str) -> Request:
    return Request(
        "/api/v1/activities",
        {"account_id": card, "kind": "purchase", "amount": amount, "currency": "EUR",
         "external_id": external_id},
    )  # fmt: skip


def workload(cards: list[str], codes: list[str]) -> list[Request]:
    work = [
        purchase(card, 100 + (a * 37 + p * 53) % 4900, f"fault/{a}/{p}")
        for a, card in enumerate(cards)
        for p in range(PURCHASES)
    ]
    work += [
        Request(
            "/api/v1/redemptions",
            {"code": code, "order": {"amount": 5000, "currency": "EUR"}},
            {"Idempotency-Key": f"fault-{c}-{t}"},
        )
        for c, code in enumerate(codes)
        for t in range(TRIES)
    ]
    random.Random(13).shuffle(work)
    return work


async def send_all(base: str, key: str, work: list[Request], outcome: Outcome) -> None:
    """Every request until it gets a definitive answer (a 2xx or a 4xx); a broken connection
    or a 5xx is sent again, unchanged, as a till retries."""
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    headers = {"Authorization": f"Bearer {key}"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            while not queue.empty():
                item = queue.get_nowait()
                deadline = time.monotonic() + 45
                while True:
                    assert time.monotonic() < deadline, f"no answer for {item}"
                    try:
                        response = await http.post(item.path, json=item.body, headers=item.headers)
                    except httpx.TransportError:
                        response = None
                    if response is not None and response.status_code < 500:
                        break
                    outcome.retries += 1
                    await asyncio.sleep(0.1)
                async with outcome.answered:
                    outcome.responses[item] = response
                    outcome.answered.notify_all()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))


async def inject_faults(
    outcome: Outcome, total: int, web: int, worker: int, database: str
) -> dict[str, Any]:
    """At a fifth of the load SIGKILL a web process, at two fifths a worker process, at
    three fifths make PostgreSQL drop every connection of the service."""
    injected: dict[str, Any] = {}

    async def reach(share: float) -> None:
        async with outcome.answered:
            await outcome.answered.wait_for(lambda: len(outcome.responses) >= total * share)

    await reach(0.2)
    injected["web"] = victim = children(web)[0]
    os.kill(victim, signal.SIGKILL)
    await reach(0.4)
    injected["worker"] = victim = children(worker)[0]
    os.kill(victim, signal.SIGKILL)
    await reach(0.6)
    base, name = database.rsplit("/", 1)
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        injected["dropped"] = await conn.fetchval(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()) AS dropped",
            name,
        )
    finally:
        await conn.close()
    return injected


async def ledger(database: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database)
    try:
        return {
            "activities": await conn.fetch("SELECT external_id, account_id FROM activities"),
            "entries": await conn.fetch(
                "SELECT activity_id, count(*) AS n FROM ledger_entries "
                "WHERE activity_id IS NOT NULL GROUP BY activity_id"
            ),
            "accounts": {
                str(row["id"]): (row["balance"], row["ledger"])
                for row in await conn.fetch(
                    "SELECT a.id, a.balance, (SELECT COALESCE(sum(e.amount), 0)::bigint "
                    "FROM ledger_entries e WHERE e.account_id = a.id) AS ledger FROM accounts a"
                )
            },
            "codes": {
                row["code"]: (row["used_count"], row["committed"])
                for row in await conn.fetch(
                    "SELECT c.code, c.used_count, (SELECT count(*) FROM redemptions r "
                    "WHERE r.code_id = c.id AND r.status = 'committed') AS committed FROM codes c"
                )
            },
        }
    finally:
        await conn.close()


def test_kills_and_a_dropped_database_connection_lose_nothing_and_post_nothing_twice(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fresh_postgres: str,
    apns: FakeApns,
    dev_pki: DevPki,
) -> None:
    topology = production(
        request,
        tmp_path,
        fresh_postgres,
        apns,
        secret_key="f" * 43,
        shutdown_grace="5",
        rate_limits_enabled="false",  # one client sends it all: no throttling measured here
    )
    base, key = topology.base, topology.key
    web_log, worker_log = topology.web_log, topology.worker_log
    web = topology.start_web("--workers", "2")
    worker = topology.start_worker()
    try:
        wait_healthy(base, web, web_log)
        wait_for_children(web.pid, 2, web_log)
        wait_for_children(worker.pid, 2, worker_log)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as api:
            cards, codes = prepare(api, dev_pki)
        work = workload(cards, codes)
        outcome = Outcome()

        async def run() -> dict[str, Any]:
            faults = asyncio.ensure_future(
                inject_faults(outcome, len(work), web.pid, worker.pid, fresh_postgres)
            )
            await send_all(base, key, work, outcome)
            return await asyncio.wait_for(faults, 30)

        injected = asyncio.run(run())
        # The faults happened: the processes died, the connections were dropped, and the
        # service took over again (uvicorn replaced its web process).
        assert injected["web"] not in children(web.pid)
        assert injected["worker"] not in children(worker.pid)
        assert injected["dropped"] > 0
        assert web.poll() is None, web_log.read_text()[-4000:]
        assert worker.poll() is None, worker_log.read_text()[-4000:]
        wait_for_children(web.pid, 2, web_log)

        # Every answer was definitive and as expected.
        activities = [r for r in work if r.path == "/api/v1/activities"]
        for item in activities:
            assert outcome.responses[item].status_code in (200, 201), outcome.responses[item].text
        committed: Counter[str] = Counter()
        for item in work:
            if item.path != "/api/v1/redemptions":
                continue
            response = outcome.responses[item]
            if response.status_code == 201:
                committed[item.body["code"]] += 1
            else:
                assert response.json()["error"]["code"] == "usage_limit_reached", response.text
        assert committed == dict.fromkeys(codes, MAX_USES)

        # What the database holds: each purchase posted once, balances equal to the ledger
        # and to the amounts sent, each code used exactly max_uses times.
        state = asyncio.run(ledger(fresh_postgres))
        sent = sorted(item.body["external_id"] for item in activities)
        assert sorted(row["external_id"] for row in state["activities"]) == sent
        assert len(state["entries"]) == len(activities)
        assert {row["n"] for row in state["entries"]} == {1}
        expected: Counter[str] = Counter()
        for item in activities:
            expected[item.body["account_id"]] += points(item.body["amount"])
        assert state["accounts"] == {card: (expected[card], expected[card]) for card in cards}
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as api:
            for card in cards:
                rebuilt = api.post(f"/api/v1/accounts/{card}/rebuild")
                assert rebuilt.status_code == 200, rebuilt.text
                assert rebuilt.json()["changed"] is False, rebuilt.text
        assert state["codes"] == dict.fromkeys(codes, (MAX_USES, MAX_USES))
        print(f"faults: {injected}; {outcome.retries} requests sent again")
    finally:
        stop(web, worker)
