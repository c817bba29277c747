"""Benchmark: POS activities posted per second on PostgreSQL.

    python -m bench.activities [--accounts 2000] [--activities 6000] [--clients 16]
        [--rounds 3] [--pgbench-seconds 10]

Seeds a tenant, a loyalty template and a program (a purchase rule, a visit rule with a
daily cap, three tiers, rolling expiry), opens ``--accounts`` cards (each with its pass),
then ``--clients`` concurrent clients post purchases to random cards, in three phases that
alternate over ``--rounds`` rounds (so host noise hits each alike):

- HTTP: ``POST /api/v1/activities`` in-process through the ASGI app (httpx's
  ASGITransport), with an API key holding ``activities:write``: the key check, JSON in and
  out, the unique (source, external_id) row, the account lock, rule usage for caps, the
  ledger lot, tier qualification, the audit log, and the pass re-render job (its Apple
  push and Google sync follow from it);
- the service: ``loyalty.activities.post_activity`` in one transaction each, without the
  HTTP stack, the key check or the audit log (information);
- bare SQL, the baseline: what an exactly-once posting cannot do without (lock the
  account, insert the activity row, insert one ledger row, update the cached balance) in
  one transaction each, over asyncpg (information).

The ceiling of the HTTP stack alone: ``GET /healthz`` through the same app and transport
(no database), so a reader sees what the framework and the transport cost per request.

First, in the same run, ``pgbench -N`` with 32 clients on a scratch database of the same
server (``--pgbench-seconds``, 10 by default; 0 skips it); every figure is then also
printed as a share of it, and the verdict is the HTTP figure's: POS activities over HTTP
with 16 clients at ≥ 0.25 of pgbench -N (issue 15).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx

from bench import pgbench
from bench.seed import SECRET_KEY, pg_url, recreate, seed_base
from passmint.app import create_app
from passmint.config import QueueMode, Settings
from passmint.kit.ids import uuid7
from passmint.loyalty import activities, common, customers, programs
from passmint.loyalty.schemas import ActivityIn, ProgramConfig
from passmint.runtime import Runtime
from passmint.tenants import service as tenants
from passmint.tenants.scopes import Scope

TARGET = 0.25  # POS activities over HTTP, 16 clients, as a share of pgbench -N (issue 15)
CONFIG = {
    "earn_rules": [
        {"key": "spend", "trigger": "purchase", "points": 10, "per_amount": 100, "currency": "EUR"},
        {"key": "visit", "trigger": "visit", "points": 5, "daily_cap": 10},
    ],
    "tiers": [
        {"key": "member", "name": "Member", "threshold": 0},
        {"key": "silver", "name": "Silver", "threshold": 5000, "multiplier": 15000},
        {"key": "gold", "name": "Gold", "threshold": 20000, "multiplier": 20000},
    ],
    "tier_policy": {"metric": "calendar", "period": "year", "grace_days": 30},
    "expiry": {"kind": "rolling", "days": 365},
}


async def open_cards(
    runtime: Runtime, tenant: uuid.UUID, template: uuid.UUID, n: int
) -> list[uuid.UUID]:
    async with runtime.transaction() as session:
        program = await programs.create_program(
            runtime.pass_context(session, tenant),
            name="Bench points",
            template_id=template,
            config=ProgramConfig.model_validate(CONFIG),
        )
    ids: list[uuid.UUID] = []
    gate = asyncio.Semaphore(8)

    async def one() -> None:
        async with gate, runtime.transaction() as session:
            account = await customers.create_account(
                runtime.pass_context(session, tenant),
                program.id,
                customer=None,
                external_id=None,
                referral_code=None,
                actor=common.SYSTEM,
            )
            ids.append(account.id)

    await asyncio.gather(*(one() for _ in range(n)))
    return ids


@dataclass(frozen=True)
class Phase:
    rate: float
    """Jobs per second."""
    cpu_ms: float
    """This process's CPU time per job, in milliseconds (the server's and the clients'):
    steadier than the rate on a machine that other work shares."""


async def run(clients: int, total: int, job: Callable[[int], Awaitable[None]]) -> Phase:
    """``total`` jobs by ``clients`` concurrent clients."""
    numbers = iter(range(total))

    async def client() -> None:
        for i in numbers:
            await job(i)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Phase(total / elapsed, 1000 * cpu / total)


def purchases(accounts: list[uuid.UUID], total: int, seed: int) -> list[tuple[uuid.UUID, int]]:
    """(card, amount) of each purchase: random cards, amounts from 5.00 to 54.99."""
    rng = random.Random(seed)
    return [(rng.choice(accounts), 500 + i % 5000) for i in range(total)]


async def service_phase(
    runtime: Runtime, tenant: uuid.UUID, accounts: list[uuid.UUID], total: int, clients: int
) -> Phase:
    work = purchases(accounts, total, seed=7)
    run_id = uuid.uuid4().hex[:12]

    async def job(i: int) -> None:
        account, amount = work[i]
        body = ActivityIn(
            account_id=account,
            kind="purchase",
            amount=amount,
            currency="EUR",
            external_id=f"{run_id}-{i}",
        )
        async with runtime.transaction() as session:
            await activities.post_activity(
                runtime.pass_context(session, tenant), body, source="bench", actor=common.SYSTEM
            )

    return await run(clients, total, job)


async def http_phase(
    http: httpx.AsyncClient, key: str, accounts: list[uuid.UUID], total: int, clients: int
) -> Phase:
    work = purchases(accounts, total, seed=13)
    run_id = uuid.uuid4().hex[:12]
    headers = {"Authorization": f"Bearer {key}"}

    async def job(i: int) -> None:
        account, amount = work[i]
        response = await http.post(
            "/api/v1/activities",
            headers=headers,
            json={"account_id": str(account), "kind": "purchase", "amount": amount,
                  "currency": "EUR", "external_id": f"{run_id}-{i}"},
        )  # fmt: skip
        assert response.status_code == 201, response.text

    return await run(clients, total, job)


async def ceiling_phase(http: httpx.AsyncClient, total: int, clients: int) -> Phase:
    async def job(_: int) -> None:
        response = await http.get("/healthz")
        assert response.status_code == 200, response.text

    return await run(clients, total, job)


async def bare_sql(url: str, accounts: list[uuid.UUID], total: int, clients: int) -> Phase:
    pool = await asyncpg.create_pool(pg_url(url), min_size=clients, max_size=clients)
    row = await pool.fetchrow("SELECT tenant_id FROM accounts LIMIT 1")
    assert row is not None
    tenant = row["tenant_id"]
    work = purchases(accounts, total, seed=11)
    now = datetime.now(UTC)
    run_id = uuid.uuid4().hex[:12]

    async def job(i: int) -> None:
        account, amount = work[i]
        async with pool.acquire() as conn, conn.transaction():
            activity = uuid7()
            await conn.execute("SELECT id FROM accounts WHERE id = $1 FOR UPDATE", account)
            await conn.execute(
                "INSERT INTO activities (id, tenant_id, source, external_id, request_hash,"
                " account_id, kind, amount, currency, items, returned_amount, result,"
                " occurred_at, created_at) VALUES ($1,$2,'bare',$3,'',$4,'purchase',$5,"
                "'EUR','[]',0,'{}',$6,$6)",
                activity, tenant, f"{run_id}-{i}", account, amount, now,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO ledger_entries (id, tenant_id, account_id, kind, amount,"
                " status, available_at, remaining, activity_id, actor_type,"
                " idempotency_key, created_at) VALUES ($1,$2,$3,'earn',100,'posted',$4,"
                "100,$5,'rule',$6,$4)",
                uuid7(), tenant, account, now, activity, f"bare:{activity}",
            )  # fmt: skip
            await conn.execute("UPDATE accounts SET balance = balance + 100 WHERE id = $1", account)

    rate = await run(clients, total, job)
    await pool.close()
    return rate


def _rounds(phases: list[Phase]) -> str:
    rate = statistics.median(p.rate for p in phases)
    cpu = statistics.median(p.cpu_ms for p in phases)
    return (
        f"{rate:,.0f}/s (rounds {[round(p.rate) for p in phases]}), "
        f"{cpu:.2f} ms of CPU each (rounds {[round(p.cpu_ms, 2) for p in phases]})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--activities", type=int, default=6000, help="per phase")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    pgbench.add_arguments(parser)
    args = parser.parse_args()
    admin = args.postgres
    tps = None
    if args.pgbench_seconds > 0:  # first, while nothing of this benchmark runs
        tps = await pgbench.measure(admin, args.pgbench_seconds)
        print(f"pgbench -N, {pgbench.CLIENTS} clients, {args.pgbench_seconds} s: {tps:,.0f} tps")
    url = await recreate(admin, "passmint_bench_activities")
    settings = Settings(
        database_url=url,
        secret_key=SECRET_KEY,
        queue=QueueMode.EMBEDDED,
        public_url="https://b.test",
    )
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=True)
    try:
        tenant, template = await seed_base(url)
        async with runtime.transaction() as session:
            key = await tenants.create_api_key(
                session, tenant, name="till", now=runtime.clock(),
                scopes=[Scope.ACTIVITIES_WRITE],
            )  # fmt: skip
        started = time.perf_counter()
        accounts = await open_cards(runtime, tenant, template, args.accounts)
        opened = args.accounts / (time.perf_counter() - started)
        print(f"opened {args.accounts:,} cards with their passes: {opened:,.0f} cards/s")
        app = create_app(runtime=runtime, worker=False, migrate=False, fast_path=False)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
        per, clients = args.activities // args.rounds, args.clients
        await http_phase(http, key.secret, accounts, 200, clients)  # warm-up
        on_http: list[Phase] = []
        by_service: list[Phase] = []
        bare: list[Phase] = []
        ceiling: list[Phase] = []
        for _ in range(args.rounds):  # alternate, so host noise hits every phase alike
            on_http.append(await http_phase(http, key.secret, accounts, per, clients))
            by_service.append(await service_phase(runtime, tenant, accounts, per, clients))
            bare.append(await bare_sql(url, accounts, per, clients))
            ceiling.append(await ceiling_phase(http, per, clients))
        await http.aclose()
        rate = statistics.median(p.rate for p in on_http)
        base = statistics.median(p.rate for p in bare)
        print(f"POS activities over HTTP, {clients} clients: {_rounds(on_http)}")
        print(f"POS activities by the service:          {_rounds(by_service)}")
        print(f"bare SQL baseline:                      {_rounds(bare)}")
        print(f"ceiling, GET /healthz (same app and transport): {_rounds(ceiling)}")
        print(f"activities over HTTP at {rate / base:.0%} of the bare-SQL baseline")
        if tps is not None:
            print(pgbench.share("cards opened with their passes", opened, tps))
            shares = (
                (f"POS activities by the service, {clients} clients", by_service),
                (f"bare SQL baseline, {clients} clients", bare),
                (f"ceiling (GET /healthz), {clients} clients", ceiling),
            )
            for label, phases in shares:
                print(pgbench.share(label, statistics.median(p.rate for p in phases), tps))
            label = f"POS activities over HTTP, {clients} clients"
            print(pgbench.share(label, rate, tps))
            print(pgbench.verdict(label, rate, tps, TARGET))
    finally:
        await runtime.stop()


if __name__ == "__main__":
    asyncio.run(main())
