"""Benchmark: generating and storing a batch of 1,000,000 unique codes on PostgreSQL.

    python -m bench.codegen [--codes 1000000]

Creates a scratch database of its own (named after the process, dropped at the end, so two
runs on one server never drop each other's), a tenant and a campaign, then measures:

- baseline, in the same run: drawing the same number of 10-character codes the obvious way,
  ``"".join(secrets.choice(charset) for _ in range(10))`` per code, in memory;
- passmint's drawing alone (``coupons.codes.generate``: ``secrets.token_bytes`` mapped to
  the charset by rejection sampling, in bulk), in memory;
- the storage floor: a bare COPY of the same rows into an unlogged table without indexes or
  constraints;
- the whole batch as the API makes it: ``POST …/batches`` in a transaction, then the chained
  ``coupons.generate_codes`` jobs (100,000 codes each: draw, dedupe in memory, one COPY into
  ``codes`` in a savepoint, checked by the tenant's unique normalized codes) until the
  batch is ``ready``; checked for count and uniqueness;
- the schema's floor: a bare binary COPY of the same number of rows into ``codes`` itself
  (its four indexes; since migration 0013 no foreign keys on what a batch fills), in a
  transaction that is rolled back.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench.pgbench import add_postgres_argument
from bench.seed import SECRET_KEY, drop, pg_url, recreate
from passmint.config import QueueMode, Settings
from passmint.coupons import batches
from passmint.coupons import tasks as _tasks  # noqa: F401 - registers the generation job
from passmint.coupons.batches_repository import uuid7_texts
from passmint.coupons.codes import DEFAULT_CHARSET, generate, parse_spec
from passmint.coupons.schemas import BatchCreate
from passmint.kit.ids import uuid7
from passmint.runtime import Runtime

NOW = datetime.now(UTC)


def naive(count: int) -> float:
    started = time.perf_counter()
    codes = {"".join(secrets.choice(DEFAULT_CHARSET) for _ in range(10)) for _ in range(count)}
    elapsed = time.perf_counter() - started
    assert len(codes) > count * 0.999
    return elapsed


def drawn(count: int) -> tuple[float, list[str]]:
    spec = parse_spec(prefix=None, pattern=None, charset=None, length=10)
    started = time.perf_counter()
    _, normal = generate(spec, count, secrets.token_bytes)
    unique = list(dict.fromkeys(normal))
    elapsed = time.perf_counter() - started
    return elapsed, unique


async def seed(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    tenant, campaign = uuid7(), uuid7()
    conn = await asyncpg.connect(pg_url(url))
    try:
        await conn.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES ($1, 'Bench', $2)", tenant, NOW
        )
        await conn.execute(
            "INSERT INTO campaigns (id, tenant_id, name, kind, status, percent_off_bp, timezone,"
            " total_used, code_max_uses, created_at, updated_at) VALUES"
            " ($1, $2, 'Bench', 'discount', 'active', 1000, 'UTC', 0, 1, $3, $3)",
            campaign,
            tenant,
            NOW,
        )
    finally:
        await conn.close()
    return tenant, campaign


async def copy_floor(url: str, codes: list[str]) -> float:
    ids = uuid7_texts(len(codes))
    conn = await asyncpg.connect(pg_url(url))
    try:
        await conn.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS bench_floor (id uuid, tenant_id uuid,"
            " campaign_id uuid, code text, code_normalized text, status text, max_uses int,"
            " used_count int, created_at timestamptz)"
        )
        tenant, campaign = uuid.uuid4(), uuid.uuid4()
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "bench_floor",
            records=[
                (i, tenant, campaign, c, c, "active", 1, 0, NOW)
                for i, c in zip(ids, codes, strict=True)
            ],
        )
        return time.perf_counter() - started
    finally:
        await conn.execute("DROP TABLE bench_floor")
        await conn.close()


async def schema_floor(url: str, tenant: uuid.UUID, campaign: uuid.UUID, codes: list[str]) -> float:
    """A bare COPY of the rows into ``codes`` (sorted, as the batch writes them), rolled back."""
    ids = uuid7_texts(len(codes))
    batch = uuid7()
    ordered = sorted(code + "Q" for code in codes)  # 11 characters: none the batch made
    conn = await asyncpg.connect(pg_url(url))
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(
            "INSERT INTO code_batches (id, tenant_id, campaign_id, source, status, requested,"
            " inserted, created_at) VALUES ($1, $2, $3, 'generated', 'generating', $4, 0, $5)",
            batch,
            tenant,
            campaign,
            len(codes),
            NOW,
        )
        records = [
            (i, tenant, campaign, batch, c, c, "active", 1, 0, None, None, NOW)
            for i, c in zip(ids, ordered, strict=True)
        ]
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "codes",
            columns=[
                "id", "tenant_id", "campaign_id", "batch_id", "code", "code_normalized",
                "status", "max_uses", "used_count", "balance", "expires_at", "created_at",
            ],
            records=records,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        await transaction.rollback()
        return elapsed
    finally:
        await conn.close()


async def whole_batch(url: str, tenant: uuid.UUID, campaign: uuid.UUID, count: int) -> float:
    settings = Settings(
        database_url=url, secret_key=SECRET_KEY, queue=QueueMode.EMBEDDED,
        data_dir=Path(tempfile.mkdtemp()),
    )  # fmt: skip
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=False)
    try:
        assert runtime.worker is not None
        started = time.perf_counter()
        async with runtime.transaction() as session:
            ctx = runtime.pass_context(session, tenant)
            batch = await batches.create_batch(ctx, campaign, BatchCreate(count=count, length=10))
        await runtime.worker.run_until_idle(within=3600)
        elapsed = time.perf_counter() - started
        async with runtime.db.sessions() as session:
            ctx = runtime.pass_context(session, tenant)
            done = await batches.get_batch(ctx, campaign, batch.id)
            assert (done.status, done.inserted) == ("ready", count), (done.status, done.inserted)
        conn = await asyncpg.connect(pg_url(url))
        try:
            stored = await conn.fetchval(
                "SELECT count(DISTINCT code_normalized) FROM codes WHERE batch_id = $1", batch.id
            )
        finally:
            await conn.close()
        assert stored == count, (stored, count)
        return elapsed
    finally:
        await runtime.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="code batch generation benchmark")
    parser.add_argument("--codes", type=int, default=1_000_000)
    add_postgres_argument(parser)
    args = parser.parse_args(argv)
    count = args.codes
    url = asyncio.run(recreate(args.postgres, "passmint_bench_codegen"))  # a name of its own
    try:
        tenant, campaign = asyncio.run(seed(url))
        base = naive(count)
        ours, codes = drawn(count)
        floor = asyncio.run(copy_floor(url, codes))
        batch = asyncio.run(whole_batch(url, tenant, campaign, count))
        schema = asyncio.run(schema_floor(url, tenant, campaign, codes[:count]))
    finally:
        asyncio.run(drop(args.postgres, url))

    def line(label: str, seconds: float) -> str:
        return f"{label:<58} {seconds:7.2f} s {count / seconds:>11,.0f} codes/s"

    print(f"{count:,} codes of 10 characters from a 31-character charset (31^10 ≈ 8.2e14)")
    print(line("baseline: secrets.choice per character, in memory", base))
    print(line("passmint draw: token_bytes + rejection sampling, in memory", ours))
    print(line("storage floor: bare COPY into an unlogged, unindexed table", floor))
    print(line("batch via the API's service + chained jobs, until ready", batch))
    print(line("schema floor: bare COPY into codes (its indexes)", schema))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"drawing: {base / ours:.1f}× the baseline's speed. The whole batch: "
        f"{batch:.2f} s = {batch / floor:.1f}× the bare COPY, {batch / schema:.2f}× a bare "
        f"COPY into codes (target: under 10 s). Load average now: {load}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
