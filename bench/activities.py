"""Benchmark: POS activities posted per second on PostgreSQL.

    python -m bench.activities [--accounts 2000] [--activities 6000] [--clients 16]
        [--pgbench-seconds 10]

Seeds a tenant, a loyalty template and a program (a purchase rule, a visit rule with a
daily cap, three tiers, rolling expiry), opens ``--accounts`` cards (each with its pass),
then ``--clients`` concurrent clients post purchases to random cards through the service
layer, one transaction each, exactly as ``POST /api/v1/activities`` does: the unique
(source, external_id) row, the account lock, rule usage for caps, the ledger lot, tier
qualification, and the pass re-render with its Apple push and Google sync jobs.

Baseline, in the same run and at the same concurrency: the bare SQL an exactly-once
posting cannot do without (lock the account, insert the activity row, insert one ledger
row, update the cached balance), in one transaction each.

Target: activities at ≥ 25% of the bare-SQL baseline (the rest is rules, tiers and the
pass, which the baseline skips).

First, in the same run, ``pgbench -N`` with 32 clients on a scratch database of the same
server (``--pgbench-seconds``, 10 by default; 0 skips it); every figure is then also
printed as a share of it, with the target: POS activities with 16 clients at ≥ 0.25 of
pgbench -N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from bench import pgbench
from bench.seed import SECRET_KEY, pg_url, recreate, seed_base
from passmint.config import QueueMode, Settings
from passmint.kit.ids import uuid7
from passmint.loyalty import activities, common, customers, programs
from passmint.loyalty.schemas import ActivityIn, ProgramConfig
from passmint.runtime import Runtime

TARGET = 0.25
PGBENCH_TARGET = 0.25  # POS activities, 16 clients, as a share of pgbench -N (issue 15)
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


async def post_activities(
    runtime: Runtime, tenant: uuid.UUID, accounts: list[uuid.UUID], total: int, clients: int
) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    rng = random.Random(7)
    targets = [rng.choice(accounts) for _ in range(total)]
    run = uuid.uuid4().hex[:12]

    async def client() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            body = ActivityIn(
                account_id=targets[i],
                kind="purchase",
                amount=500 + i % 5000,
                currency="EUR",
                external_id=f"{run}-{i}",
            )
            async with runtime.transaction() as session:
                await activities.post_activity(
                    runtime.pass_context(session, tenant),
                    body,
                    source="bench",
                    actor=common.SYSTEM,
                )

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return total / (time.perf_counter() - started)


async def bare_sql(url: str, accounts: list[uuid.UUID], total: int, clients: int) -> float:
    pool = await asyncpg.create_pool(pg_url(url), min_size=clients, max_size=clients)
    row = await pool.fetchrow("SELECT tenant_id FROM accounts LIMIT 1")
    assert row is not None
    tenant = row["tenant_id"]
    rng = random.Random(11)
    targets = [rng.choice(accounts) for _ in range(total)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:12]

    async def client() -> None:
        async with pool.acquire() as conn:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                async with conn.transaction():
                    activity = uuid7()
                    await conn.execute(
                        "SELECT id FROM accounts WHERE id = $1 FOR UPDATE", targets[i]
                    )
                    await conn.execute(
                        "INSERT INTO activities (id, tenant_id, source, external_id, request_hash,"
                        " account_id, kind, amount, currency, items, returned_amount, result,"
                        " occurred_at, created_at) VALUES ($1,$2,'bare',$3,'',$4,'purchase',$5,"
                        "'EUR','[]',0,'{}',$6,$6)",
                        activity, tenant, f"{run}-{i}", targets[i], 1000, now,
                    )  # fmt: skip
                    await conn.execute(
                        "INSERT INTO ledger_entries (id, tenant_id, account_id, kind, amount,"
                        " status, available_at, remaining, activity_id, actor_type,"
                        " idempotency_key, created_at) VALUES ($1,$2,$3,'earn',100,'posted',$4,"
                        "100,$5,'rule',$6,$4)",
                        uuid7(), tenant, targets[i], now, activity, f"bare:{activity}",
                    )  # fmt: skip
                    await conn.execute(
                        "UPDATE accounts SET balance = balance + 100 WHERE id = $1", targets[i]
                    )

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    rate = total / (time.perf_counter() - started)
    await pool.close()
    return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--activities", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pgbench-seconds", type=int, default=10,
        help="pgbench -N (32 clients) on a scratch database first; 0 skips it",
    )  # fmt: skip
    args = parser.parse_args()
    admin = os.environ.get(
        "PASSMINT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
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
        started = time.perf_counter()
        accounts = await open_cards(runtime, tenant, template, args.accounts)
        opened = args.accounts / (time.perf_counter() - started)
        print(f"opened {args.accounts:,} cards with their passes: {opened:,.0f} cards/s")
        per = args.activities // args.rounds
        rates, bases = [], []
        for _ in range(args.rounds):  # alternate, so host noise hits both alike
            rates.append(await post_activities(runtime, tenant, accounts, per, args.clients))
            bases.append(await bare_sql(url, accounts, per, args.clients))
        rate, base = statistics.median(rates), statistics.median(bases)
        shown = [round(r) for r in rates]
        print(f"activities, {args.clients} clients: {rate:,.0f}/s (rounds {shown})")
        print(f"bare SQL baseline:      {base:,.0f}/s (rounds {[round(b) for b in bases]})")
        share = rate / base
        verdict = "PASS" if share >= TARGET else "MISS"
        print(
            f"{verdict}: activities at {share:.0%} of the bare-SQL baseline (target ≥ {TARGET:.0%})"
        )
        if tps is not None:
            print(pgbench.share("cards opened with their passes", opened, tps))
            print(pgbench.share(f"POS activities, {args.clients} clients", rate, tps))
            print(pgbench.share(f"bare SQL baseline, {args.clients} clients", base, tps))
            label = f"POS activities, {args.clients} clients"
            print(pgbench.verdict(label, rate, tps, PGBENCH_TARGET))
    finally:
        await runtime.stop()


if __name__ == "__main__":
    asyncio.run(main())
