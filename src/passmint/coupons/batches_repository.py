"""SQL for code batches: their rows, how many codes a pattern's batches already asked for,
and bulk inserts of generated or imported codes that skip the normalized codes the tenant
already has. On PostgreSQL, in the caller's transaction: codes that are most likely all new
go in by one COPY (rows written once, the unique index checked once) inside a savepoint,
and anything else, or a COPY that met a taken code, by one multi-row
``INSERT … ON CONFLICT DO NOTHING`` from arrays.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice, repeat
from operator import itemgetter
from typing import Any

import asyncpg
from sqlalchemy import func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import insert_for, is_postgresql
from passmint.models import Code, CodeBatch


async def get_batch(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    batch_id: uuid.UUID,
    *,
    lock: bool = False,
) -> CodeBatch | None:
    query = select(CodeBatch).where(CodeBatch.id == batch_id, CodeBatch.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def codes_of_pattern(
    session: AsyncSession, tenant_id: uuid.UUID, prefix: str | None, pattern: str, charset: str
) -> int:
    """How many codes the tenant's generated batches of this pattern asked for (the codes
    that share its space)."""
    query = select(func.coalesce(func.sum(CodeBatch.requested), 0)).where(
        CodeBatch.tenant_id == tenant_id,
        CodeBatch.pattern == pattern,
        CodeBatch.charset == charset,
        CodeBatch.prefix.is_not_distinct_from(prefix),
        CodeBatch.source == "generated",
    )
    return int((await session.execute(query)).scalar_one())


def uuid7_texts(count: int) -> list[str]:
    """``count`` UUIDv7 strings for one bulk insert, ascending (so the primary key index is
    appended to, not split): the same millisecond, sorted random bits."""
    stamp = f"{int(time.time() * 1000) & ((1 << 48) - 1):012x}"
    head = f"{stamp[:8]}-{stamp[8:]}-7"
    noise = os.urandom(9 * count).hex()  # 18 hex digits per id: 3 + 3 + 12
    variants = os.urandom(count).translate(bytes(b"89ab"[b % 4] for b in range(256))).decode()
    out = [
        f"{head}{noise[i : i + 3]}-{variants[j]}{noise[i + 3 : i + 6]}-{noise[i + 6 : i + 18]}"
        for j, i in enumerate(range(0, 18 * count, 18))
    ]
    out.sort()
    return out


@dataclass
class NewCodes:
    """Rows for a bulk insert, column by column (index i of each list is one code)."""

    codes: list[str]
    normalized: list[str]
    max_uses: list[int | None]
    balances: list[int | None]
    expires_at: list[datetime | None]


async def insert_codes(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    batch_id: uuid.UUID,
    now: datetime,
    rows: NewCodes,
    likely_new: bool = False,
) -> int:
    """Insert codes, skipping any whose normalized form the tenant already has (a race with
    another batch or import included). Returns how many went in.

    ``likely_new`` says that the caller expects none of them to be taken (a sparse pattern,
    an import checked beforehand): PostgreSQL then tries a COPY first, which is rolled back
    to its savepoint and redone as ``INSERT … ON CONFLICT DO NOTHING`` if a code was taken
    after all. The result is the same either way."""
    count = len(rows.codes)
    if count == 0:
        return 0
    ids = uuid7_texts(count)
    if is_postgresql(session):
        return await _insert_codes_pg(
            session, tenant_id, campaign_id, batch_id, now, ids, rows, likely_new=likely_new
        )
    values: list[dict[str, Any]] = [
        {
            "id": uuid.UUID(ids[i]),
            "tenant_id": tenant_id,
            "campaign_id": campaign_id,
            "batch_id": batch_id,
            "code": rows.codes[i],
            "code_normalized": rows.normalized[i],
            "status": "active",
            "max_uses": rows.max_uses[i],
            "used_count": 0,
            "balance": rows.balances[i],
            "expires_at": rows.expires_at[i],
            "created_at": now,
        }
        for i in range(count)
    ]
    # SQLite counts the rows each connection changed; skipped conflicts do not count.
    before = int((await session.execute(text("SELECT total_changes()"))).scalar_one())
    statement = insert_for(session, Code).on_conflict_do_nothing(
        index_elements=["tenant_id", "code_normalized"]
    )
    await session.execute(statement, values)
    return int((await session.execute(text("SELECT total_changes()"))).scalar_one()) - before


_PG_INSERT = """
INSERT INTO codes (id, tenant_id, campaign_id, batch_id, code, code_normalized, status,
                   max_uses, used_count, balance, expires_at, created_at)
SELECT r.id, $1, $2, $3, r.code, r.code_normalized, 'active', r.max_uses, 0, r.balance,
       r.expires_at, $4
FROM unnest($5::uuid[], $6::text[], $7::text[], $8::int[], $9::bigint[], $10::timestamptz[])
     AS r(id, code, code_normalized, max_uses, balance, expires_at)
ON CONFLICT (tenant_id, code_normalized) DO NOTHING
"""

_COPY_COLUMNS = (
    "id",
    "tenant_id",
    "campaign_id",
    "batch_id",
    "code",
    "code_normalized",
    "status",
    "max_uses",
    "used_count",
    "balance",
    "expires_at",
    "created_at",
)


async def _insert_codes_pg(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    batch_id: uuid.UUID,
    now: datetime,
    ids: list[str],
    rows: NewCodes,
    *,
    likely_new: bool,
) -> int:
    """On the session's own asyncpg connection, so it is part of the caller's transaction
    (a pool connection would commit on its own). Rows go in sorted by normalized code
    (sorted here: cheaper than a collation-aware sort in the database), so the unique index
    is walked in order instead of at random."""
    order = sorted(range(len(ids)), key=rows.normalized.__getitem__)
    # The asyncpg adapter opens its transaction on the first statement it runs: run one
    # through SQLAlchemy before using the driver connection directly.
    await session.execute(select(literal(1)))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if likely_new:
        copied = await _copy_codes(driver, tenant_id, campaign_id, batch_id, now, ids, rows, order)
        if copied is not None:
            return copied
    status: str = await driver.execute(
        _PG_INSERT,
        tenant_id,
        campaign_id,
        batch_id,
        now,
        ids,
        [rows.codes[i] for i in order],
        [rows.normalized[i] for i in order],
        [rows.max_uses[i] for i in order],
        [rows.balances[i] for i in order],
        [rows.expires_at[i] for i in order],
    )
    return int(status.rsplit(" ", 1)[-1])


async def _copy_codes(
    driver: Any,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    batch_id: uuid.UUID,
    now: datetime,
    ids: list[str],
    rows: NewCodes,
    order: list[int],
) -> int | None:
    """COPY the rows in a savepoint: how many went in, or None (nothing stored) when one of
    them was taken. A COPY writes each row and its index entries once, where
    ``INSERT … ON CONFLICT`` probes the unique index before each speculative insert.

    The rows are COPY's text format, joined in C (``zip`` and ``str.join``) rather than
    encoded value by value, and streamed in pieces so that PostgreSQL stores one piece
    while the next is joined. Codes hold letters, digits and separators only; should one
    hold a character the text format would have to escape, the INSERT does the work."""
    take = itemgetter(*order) if len(order) > 1 else (lambda values: (values[order[0]],))
    shown, normal = take(rows.codes), take(rows.normalized)
    if _UNSAFE.search("".join(shown)) or _UNSAFE.search("".join(normal)):
        return None
    lines = map(
        "\t".join,
        zip(
            ids,
            repeat(str(tenant_id)),
            repeat(str(campaign_id)),
            repeat(str(batch_id)),
            shown,
            normal,
            repeat("active"),
            _texts(take(rows.max_uses), str),
            repeat("0"),
            _texts(take(rows.balances), str),
            _texts(take(rows.expires_at), _timestamp),
            repeat(_timestamp(now)),
            strict=False,  # the repeats are endless; ids and codes are as long as each other
        ),
    )

    async def pieces() -> AsyncIterator[bytes]:
        while piece := "\n".join(islice(lines, _COPY_PIECE)):
            yield (piece + "\n").encode()

    await driver.execute("SAVEPOINT copy_codes")
    try:
        status: str = await driver.copy_to_table(
            "codes", columns=_COPY_COLUMNS, source=pieces(), format="text"
        )
    except asyncpg.UniqueViolationError:
        await driver.execute("ROLLBACK TO SAVEPOINT copy_codes")
        await driver.execute("RELEASE SAVEPOINT copy_codes")
        return None
    await driver.execute("RELEASE SAVEPOINT copy_codes")
    return int(status.rsplit(" ", 1)[-1])


_COPY_PIECE = 10_000  # rows per piece of a streamed COPY (about 1.5 MB)
_UNSAFE = re.compile(r"[\t\n\r\\]")  # what COPY's text format would need escaped
_NULL = "\\N"


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
    return value.isoformat()


def _texts(values: Sequence[Any], form: Callable[[Any], str]) -> Iterable[str]:
    """A column in COPY's text format: one repeated text when every row has the same value
    (a generated batch), else one per row."""
    first = values[0]
    if values.count(first) == len(values):
        return repeat(_NULL if first is None else form(first))
    return [_NULL if value is None else form(value) for value in values]


async def existing_codes(
    session: AsyncSession, tenant_id: uuid.UUID, normalized: Sequence[str]
) -> set[str]:
    """Which of these normalized codes the tenant already has."""
    found: set[str] = set()
    for start in range(0, len(normalized), 5000):
        chunk = list(normalized[start : start + 5000])
        query = select(Code.code_normalized).where(
            Code.tenant_id == tenant_id, Code.code_normalized.in_(chunk)
        )
        found.update(str(c) for c in (await session.execute(query)).scalars())
    return found
