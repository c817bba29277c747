"""Benchmark: redemptions per second on PostgreSQL with 32 concurrent clients.

    python -m bench.redemptions [--codes 100000] [--redemptions 8000] [--clients 32]
        [--pgbench-seconds 10]

Creates a scratch database, a tenant, campaigns and 100,000 single-use codes (by the
batch jobs), then runs each phase with ``--clients`` concurrent clients, each on its own
pooled connection, over distinct codes drawn at random from the 100,000:

- baseline, in the same run: a bare conditional ``UPDATE codes SET used_count =
  used_count + 1 WHERE id = … AND used_count < max_uses RETURNING …`` per transaction,
  through the same engine (what any correct redemption costs at the least);
- the service: ``coupons.redemptions.redeem`` in one transaction per redemption (code
  lookup with the campaign's KEY SHARE lock, the rules, the redemption row claiming the
  idempotency key, the conditional UPDATE, the customer counter upsert, commit);
- the service on a campaign with a total limit (every redemption also updates the
  campaign's counter row, so they queue on it: the price of a campaign-wide limit);
- the HTTP API: ``POST /api/v1/redemptions`` in-process through the ASGI app (API key
  check, then one transaction: the code, the redemption row, the conditional UPDATE, the
  Idempotency-Key's stored response and the audit event; JSON in and out).

Two ceilings, in the same run, show what one Python process can reach here at all:

- the database through the driver alone: the same bare conditional UPDATE per transaction
  on raw asyncpg connections (no SQLAlchemy);
- the HTTP stack alone: ``GET /healthz`` (no database) through the same app, middleware
  and in-process client.

Every phase checks afterwards that each code was used exactly once.

First, in the same run, ``pgbench -N`` with 32 clients on a scratch database of the same
server (``--pgbench-seconds``, 10 by default; 0 skips it); every figure is then also
printed as a share of it (``redemptions over HTTP, 32 clients: N/s = R of pgbench -N``),
with the target: redemptions over HTTP with 32 clients at ≥ 0.30 of pgbench -N.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import func, select, update

from bench import pgbench
from bench.seed import SECRET_KEY, pg_url, recreate
from passmint.app import create_app
from passmint.config import QueueMode, Settings
from passmint.coupons import batches, redemptions
from passmint.coupons.schemas import BatchCreate, OrderIn, RedeemIn
from passmint.kit.ids import uuid7
from passmint.models import Campaign, Code, Customer
from passmint.runtime import Runtime
from passmint.tenants import service as tenants

NOW = datetime.now(UTC)
RAW_UPDATE = (
    "UPDATE codes SET used_count = used_count + 1 WHERE id = $1"
    " AND (max_uses IS NULL OR used_count < max_uses) RETURNING used_count"
)
TARGET = 0.30  # redemptions over HTTP, 32 clients, as a share of pgbench -N (issue 15)
NAMES = {
    "baseline: bare conditional UPDATE per transaction": "bare conditional UPDATE",
    "service: coupons.redemptions.redeem": "redemptions through the service",
    "service, campaign with a total limit": "redemptions, campaign with a total limit",
    "HTTP: POST /api/v1/redemptions (in-process ASGI)": "redemptions over HTTP",
    "ceiling: bare UPDATE per transaction, raw asyncpg": "bare UPDATE on raw asyncpg",
    "ceiling: GET /healthz through the same app": "GET /healthz, no database",
}


async def seed(
    runtime: Runtime, codes: int
) -> tuple[uuid.UUID, str, list[uuid.UUID], dict[str, list[tuple[uuid.UUID, str]]]]:
    async with runtime.transaction() as session:
        tenant = await tenants.create_tenant(session, "Bench", NOW)
        key = await tenants.create_api_key(session, tenant.id, name="bench", now=NOW)
        customers = [uuid7() for _ in range(1000)]
        session.add_all(
            Customer(id=c, tenant_id=tenant.id, attributes={}, created_at=NOW, updated_at=NOW)
            for c in customers
        )
        campaigns = {}
        for name, limit in (("open", None), ("limited", 10**9)):
            campaign = Campaign(
                id=uuid7(), tenant_id=tenant.id, name=name, kind="discount", status="active",
                percent_off_bp=1000, timezone="UTC", total_limit=limit, total_used=0,
                code_max_uses=1, created_at=NOW, updated_at=NOW,
            )  # fmt: skip
            session.add(campaign)
            campaigns[name] = campaign.id
        await session.flush()
    pools: dict[str, list[tuple[uuid.UUID, str]]] = {}
    assert runtime.worker is not None
    for name, campaign_id in campaigns.items():
        count = codes if name == "open" else codes // 5
        async with runtime.transaction() as session:
            ctx = runtime.pass_context(session, tenant.id)
            await batches.create_batch(ctx, campaign_id, BatchCreate(count=count, length=10))
        await runtime.worker.run_until_idle(within=3600)
        async with runtime.db.sessions() as session:
            rows = await session.execute(
                select(Code.id, Code.code).where(Code.campaign_id == campaign_id)
            )
            pools[name] = [(r[0], r[1]) for r in rows.all()]
        random.shuffle(pools[name])
    return tenant.id, key.secret, customers, pools


async def run(clients: int, work: list[Callable[[], Awaitable[bool]]]) -> tuple[float, int]:
    queue = iter(work)
    done = 0

    async def client() -> None:
        nonlocal done
        for job in queue:
            if await job():
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, done


async def used_once(runtime: Runtime, ids: list[uuid.UUID]) -> None:
    async with runtime.db.sessions() as session:
        total = await session.scalar(select(func.sum(Code.used_count)).where(Code.id.in_(ids)))
    assert total == len(ids), (total, len(ids))


async def bench(url: str, codes: int, count: int, clients: int) -> list[tuple[str, float]]:
    settings = Settings(
        database_url=url, secret_key=SECRET_KEY, queue=QueueMode.EMBEDDED,
        data_dir=Path(tempfile.mkdtemp()),
        # one API key makes every redemption: the limit stays counted, out of reach
        rate_limits={"coupon_attempts": "1000000/minute"},
    )  # fmt: skip
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=False)
    results: list[tuple[str, float]] = []
    try:
        tenant_id, api_key, customers, pools = await seed(runtime, codes)
        open_codes = pools["open"]
        order = OrderIn(amount=4550, currency="EUR")

        def bare(code_id: uuid.UUID) -> Callable[[], Awaitable[bool]]:
            async def job() -> bool:
                async with runtime.transaction() as session:
                    result = await session.execute(
                        update(Code)
                        .where(Code.id == code_id, Code.used_count < Code.max_uses)
                        .values(used_count=Code.used_count + 1)
                        .returning(Code.used_count)
                        .execution_options(synchronize_session=False)
                    )
                    return result.scalar_one_or_none() is not None

            return job

        def service(code: str) -> Callable[[], Awaitable[bool]]:
            body = RedeemIn(code=code, order=order, customer_id=random.choice(customers))

            async def job() -> bool:
                async with runtime.transaction() as session:
                    ctx = runtime.pass_context(session, tenant_id)
                    await redemptions.redeem(ctx, body, idempotency_key=str(uuid7()))
                return True

            return job

        app = create_app(runtime=runtime, worker=False, migrate=False, fast_path=False)
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://bench")
        headers = {"Authorization": f"Bearer {api_key}"}

        def api(code: str) -> Callable[[], Awaitable[bool]]:
            async def job() -> bool:
                response = await http.post(
                    "/api/v1/redemptions",
                    headers={**headers, "Idempotency-Key": str(uuid7())},
                    json={"code": code, "order": {"amount": 4550, "currency": "EUR"},
                          "customer_id": str(random.choice(customers))},
                )  # fmt: skip
                assert response.status_code == 201, response.text
                return True

            return job

        # opens its connections in its phase, once SQLAlchemy's pool has closed its own
        raw_pool = await asyncpg.create_pool(pg_url(url), min_size=0, max_size=clients)

        def raw(code_id: uuid.UUID) -> Callable[[], Awaitable[bool]]:
            async def job() -> bool:
                async with raw_pool.acquire() as conn, conn.transaction():
                    row = await conn.fetchrow(RAW_UPDATE, code_id)
                    return row is not None

            return job

        def healthz(_: str) -> Callable[[], Awaitable[bool]]:
            async def job() -> bool:
                response = await http.get("/healthz")
                assert response.status_code == 200, response.text
                return True

            return job

        slices = [open_codes[i * count : (i + 1) * count] for i in range(5)]
        limited = pools["limited"][:count]
        await run(clients, [service(c) for _, c in slices[3][:200]])  # warm-up
        Job = Callable[[], Awaitable[bool]]
        phases: list[tuple[str, list[tuple[uuid.UUID, str]], Callable[..., Job], bool]] = [
            ("baseline: bare conditional UPDATE per transaction", slices[0], bare, True),
            ("service: coupons.redemptions.redeem", slices[1], service, False),
            ("service, campaign with a total limit", limited, service, False),
            ("HTTP: POST /api/v1/redemptions (in-process ASGI)", slices[2], api, False),
            ("ceiling: bare UPDATE per transaction, raw asyncpg", slices[4], raw, True),
            ("ceiling: GET /healthz through the same app", slices[4], healthz, False),
        ]  # fmt: skip
        for label, chosen, make, by_id in phases:
            work = [make(code_id if by_id else code) for code_id, code in chosen]
            if make is raw:
                await runtime.db.engine.dispose()
            elapsed, done = await run(clients, work)
            assert done == len(chosen), (label, done)
            if make is not healthz:
                await used_once(runtime, [code_id for code_id, _ in chosen])
            results.append((label, len(chosen) / elapsed))
            print(f"{label:<52} {len(chosen) / elapsed:>7,.0f} /s ({elapsed:.1f} s)", flush=True)
        await http.aclose()
        await raw_pool.close()
    finally:
        await runtime.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="redemptions per second")
    parser.add_argument("--codes", type=int, default=100_000)
    parser.add_argument("--redemptions", type=int, default=8000, help="per phase")
    parser.add_argument("--clients", type=int, default=32)
    pgbench.add_arguments(parser)
    args = parser.parse_args(argv)
    assert args.redemptions * 5 + 200 <= args.codes, "not enough codes for five phases"
    tps = None
    if args.pgbench_seconds > 0:  # first, while nothing of this benchmark runs
        tps = asyncio.run(pgbench.measure(args.postgres, args.pgbench_seconds))
        print(f"pgbench -N, {pgbench.CLIENTS} clients, {args.pgbench_seconds} s: {tps:,.0f} tps")
    url = asyncio.run(recreate(args.postgres, "passmint_bench_redemptions"))
    print(f"{args.codes:,} single-use codes; {args.redemptions:,} redemptions per phase by "
          f"{args.clients} concurrent clients, each code once")  # fmt: skip
    results = asyncio.run(bench(url, args.codes, args.redemptions, args.clients))
    base = results[0][1]
    for label, rate in results[1:4]:
        print(f"{label:<52} {rate / base:>7.0%} of the baseline")
    if tps is not None:
        for label, rate in results:
            print(pgbench.share(f"{NAMES[label]}, {args.clients} clients", rate, tps))
        http = f"redemptions over HTTP, {args.clients} clients"
        print(pgbench.verdict(http, results[3][1], tps, TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main())
