"""SQL for campaigns, codes, redemptions and rollbacks.

Every counter a limit rests on changes through one conditional UPDATE (or upsert) that
returns nothing when the limit would be crossed; the row lock it takes is held until commit,
so concurrent redemptions queue on it and re-check the condition against the committed
value. Locks are taken in one order everywhere: redemption row, code, customer counter,
campaign counter, then the code's pass.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Uuid, case, delete, func, insert, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import insert_for, is_postgresql
from passmint.models import (
    Account,
    Campaign,
    CampaignCustomerUse,
    Code,
    CodeBatch,
    Customer,
    Redemption,
    RedemptionRollback,
)

# -- campaigns ---------------------------------------------------------------------------------


async def get_campaign(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    lock: bool = False,
    share: bool = False,
) -> Campaign | None:
    """``lock`` (FOR UPDATE, rule changes) conflicts with ``share`` (FOR KEY SHARE, held by
    every redemption and rollback): a rule change waits for those in flight and they for
    it; ``share`` holders never wait for each other."""
    query = select(Campaign).where(Campaign.id == campaign_id, Campaign.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    elif share:
        query = query.with_for_update(read=True, key_share=True)
    return (await session.execute(query)).scalar_one_or_none()


async def list_campaigns(
    session: AsyncSession, tenant_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[Campaign]:
    query = select(Campaign).where(Campaign.tenant_id == tenant_id)
    if after is not None:
        query = query.where(Campaign.id > after)
    return list((await session.execute(query.order_by(Campaign.id).limit(limit))).scalars())


async def count_live_redemptions(session: AsyncSession, campaign_id: uuid.UUID) -> int:
    query = select(func.count(Redemption.id)).where(
        Redemption.campaign_id == campaign_id, Redemption.status == "committed"
    )
    return int((await session.execute(query)).scalar_one())


async def recount_customer_uses(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID
) -> None:
    """Rebuild the campaign's per-customer counters from its committed redemptions (when a
    per-customer limit is set: counters are kept only while there is one)."""
    await session.execute(
        delete(CampaignCustomerUse).where(CampaignCustomerUse.campaign_id == campaign_id)
    )
    counts = (
        select(
            Redemption.campaign_id,
            Redemption.customer_id,
            literal(tenant_id, Uuid()),
            func.count(Redemption.id),
        )
        .where(
            Redemption.campaign_id == campaign_id,
            Redemption.status == "committed",
            Redemption.customer_id.is_not(None),
        )
        .group_by(Redemption.campaign_id, Redemption.customer_id)
    )
    await session.execute(
        insert(CampaignCustomerUse).from_select(
            ["campaign_id", "customer_id", "tenant_id", "used"], counts
        )
    )


async def take_campaign_use(session: AsyncSession, campaign_id: uuid.UUID) -> bool:
    result = await session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.total_limit.is_not(None),
            Campaign.total_used < Campaign.total_limit,
        )
        .values(total_used=Campaign.total_used + 1)
        .returning(Campaign.total_used)
    )
    return result.scalar_one_or_none() is not None


async def release_campaign_use(session: AsyncSession, campaign_id: uuid.UUID) -> None:
    await session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.total_limit.is_not(None),
            Campaign.total_used > 0,
        )
        .values(total_used=Campaign.total_used - 1)
    )


# -- customers (read-only here: the loyalty domain owns them) -------------------------------


async def customer_exists(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> bool:
    query = select(Customer.id).where(Customer.id == customer_id, Customer.tenant_id == tenant_id)
    return (await session.execute(query)).scalar_one_or_none() is not None


async def customer_tiers(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> frozenset[str]:
    query = select(Account.tier).where(
        Account.tenant_id == tenant_id,
        Account.customer_id == customer_id,
        Account.status == "active",
        Account.tier.is_not(None),
    )
    return frozenset(str(t) for t in (await session.execute(query)).scalars())


async def customer_uses(
    session: AsyncSession, campaign_id: uuid.UUID, customer_id: uuid.UUID
) -> int:
    query = select(CampaignCustomerUse.used).where(
        CampaignCustomerUse.campaign_id == campaign_id,
        CampaignCustomerUse.customer_id == customer_id,
    )
    return int((await session.execute(query)).scalar_one_or_none() or 0)


async def take_customer_use(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    customer_id: uuid.UUID,
    limit: int | None,
) -> bool:
    """Count one use for the customer; False (nothing counted) when it would pass
    ``limit``. One upsert: the first use inserts the row, later ones update it only while
    under the limit."""
    statement = insert_for(session, CampaignCustomerUse).values(
        campaign_id=campaign_id, customer_id=customer_id, tenant_id=tenant_id, used=1
    )
    condition = None if limit is None else CampaignCustomerUse.used < limit
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id", "customer_id"],
        set_={"used": CampaignCustomerUse.used + 1},
        where=condition,
    ).returning(CampaignCustomerUse.used)
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def release_customer_use(
    session: AsyncSession, campaign_id: uuid.UUID, customer_id: uuid.UUID
) -> None:
    await session.execute(
        update(CampaignCustomerUse)
        .where(
            CampaignCustomerUse.campaign_id == campaign_id,
            CampaignCustomerUse.customer_id == customer_id,
            CampaignCustomerUse.used > 0,
        )
        .values(used=CampaignCustomerUse.used - 1)
    )


# -- batches -----------------------------------------------------------------------------------


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
) -> int:
    """Insert codes, skipping any whose normalized form the tenant already has (a race with
    another batch or import included). Returns how many went in."""
    count = len(rows.codes)
    if count == 0:
        return 0
    ids = uuid7_texts(count)
    if is_postgresql(session):
        return await _insert_codes_pg(session, tenant_id, campaign_id, batch_id, now, ids, rows)
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


async def _insert_codes_pg(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    batch_id: uuid.UUID,
    now: datetime,
    ids: list[str],
    rows: NewCodes,
) -> int:
    """One multi-row INSERT from arrays on the session's own asyncpg connection, so it is
    part of the caller's transaction (a pool connection would commit on its own). Rows go
    in sorted by normalized code (sorted here: cheaper than a collation-aware sort in the
    database), so the unique index is walked in order instead of at random."""
    order = sorted(range(len(ids)), key=rows.normalized.__getitem__)
    rows = NewCodes(
        codes=[rows.codes[i] for i in order],
        normalized=[rows.normalized[i] for i in order],
        max_uses=[rows.max_uses[i] for i in order],
        balances=[rows.balances[i] for i in order],
        expires_at=[rows.expires_at[i] for i in order],
    )
    # The asyncpg adapter opens its transaction on the first statement it runs: run one
    # through SQLAlchemy before using the driver connection directly.
    await session.execute(select(literal(1)))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    status: str = await driver.execute(
        _PG_INSERT,
        tenant_id,
        campaign_id,
        batch_id,
        now,
        ids,
        rows.codes,
        rows.normalized,
        rows.max_uses,
        rows.balances,
        rows.expires_at,
    )
    return int(status.rsplit(" ", 1)[-1])


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


# -- codes -------------------------------------------------------------------------------------


async def code_with_campaign(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    normalized: str,
    *,
    share_campaign: bool = False,
) -> tuple[Code, Campaign] | None:
    """The code and its campaign. ``share_campaign`` holds a KEY SHARE lock on the campaign
    (PostgreSQL) for the transaction: redemptions never block each other on it, but a rule
    change (FOR UPDATE) waits for the redemptions in flight and they for it."""
    query = (
        select(Code, Campaign)
        .join(Campaign, Campaign.id == Code.campaign_id)
        .where(Code.tenant_id == tenant_id, Code.code_normalized == normalized)
    )
    if share_campaign:
        query = query.with_for_update(read=True, key_share=True, of=Campaign)
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1])


async def get_code(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    code_id: uuid.UUID,
    *,
    lock: bool = False,
    fresh: bool = False,
) -> Code | None:
    """``fresh`` reloads a code already in the session (after a bulk UPDATE changed it)."""
    query = select(Code).where(Code.id == code_id, Code.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    if fresh:
        query = query.execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def insert_published_code(session: AsyncSession, code: Code) -> uuid.UUID | None:
    """Insert one code unless its normalized form is taken (then None: draw another)."""
    values = {column.key: getattr(code, column.key) for column in Code.__table__.columns}
    statement = (
        insert_for(session, Code)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "code_normalized"])
        .returning(Code.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def refresh_code(session: AsyncSession, code: Code) -> Code:
    """Re-read a code's counters after a conditional UPDATE changed them."""
    await session.refresh(code, ["used_count", "balance", "status"])
    return code


async def list_codes(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    batch_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Code]:
    query = select(Code).where(Code.tenant_id == tenant_id, Code.campaign_id == campaign_id)
    if batch_id is not None:
        query = query.where(Code.batch_id == batch_id)
    if customer_id is not None:
        query = query.where(Code.customer_id == customer_id)
    if after is not None:
        query = query.where(Code.id > after)
    return list((await session.execute(query.order_by(Code.id).limit(limit))).scalars())


async def code_by_publication_key(
    session: AsyncSession, tenant_id: uuid.UUID, key: str
) -> Code | None:
    query = select(Code).where(Code.tenant_id == tenant_id, Code.publication_key == key)
    return (await session.execute(query)).scalar_one_or_none()


async def publish_free_code(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    *,
    now: datetime,
    customer_id: uuid.UUID | None,
    key: str,
) -> uuid.UUID | None:
    """Hand out one unpublished, unused, unexpired code of the campaign: one UPDATE whose
    subquery skips rows other transactions are handing out (PostgreSQL ``SKIP LOCKED``;
    SQLite runs one writer at a time)."""
    free = (
        select(Code.id)
        .where(
            Code.campaign_id == campaign_id,
            Code.published_at.is_(None),
            Code.status == "active",
            Code.used_count == 0,
            or_(Code.expires_at.is_(None), Code.expires_at > now),
        )
        .order_by(Code.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        update(Code)
        .where(Code.id == free, Code.published_at.is_(None))
        .values(published_at=now, customer_id=customer_id, publication_key=key)
        .returning(Code.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()


async def take_code_use(
    session: AsyncSession, code_id: uuid.UUID, charge: int | None
) -> tuple[int, int | None] | None:
    """Count one use of an active code and charge its balance, if it has a use left and
    (gift cards) the balance covers ``charge``. Returns (used_count, balance) or None."""
    conditions = [
        Code.id == code_id,
        Code.status == "active",
        or_(Code.max_uses.is_(None), Code.used_count < Code.max_uses),
    ]
    values: dict[str, Any] = {"used_count": Code.used_count + 1}
    if charge is not None:
        conditions.append(Code.balance >= charge)
        values["balance"] = Code.balance - charge
    result = await session.execute(
        update(Code)
        .where(*conditions)
        .values(**values)
        .returning(Code.used_count, Code.balance)
        .execution_options(synchronize_session=False)
    )
    row = result.one_or_none()
    return None if row is None else (int(row[0]), None if row[1] is None else int(row[1]))


async def restore_code(
    session: AsyncSession, code_id: uuid.UUID, *, use: bool, amount: int | None
) -> tuple[int, int | None]:
    values: dict[str, Any] = {}
    if use:
        values["used_count"] = case((Code.used_count > 0, Code.used_count - 1), else_=0)
    if amount is not None:
        values["balance"] = Code.balance + amount
    if not values:
        values["used_count"] = Code.used_count
    result = await session.execute(
        update(Code)
        .where(Code.id == code_id)
        .values(**values)
        .returning(Code.used_count, Code.balance)
        .execution_options(synchronize_session=False)
    )
    row = result.one()
    return int(row[0]), None if row[1] is None else int(row[1])


async def codes_of_customer(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> list[tuple[Code, Campaign]]:
    query = (
        select(Code, Campaign)
        .join(Campaign, Campaign.id == Code.campaign_id)
        .where(Code.tenant_id == tenant_id, Code.customer_id == customer_id)
        .order_by(Code.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


# -- redemptions -------------------------------------------------------------------------------


async def redemption_by_key(
    session: AsyncSession, tenant_id: uuid.UUID, key: str
) -> Redemption | None:
    query = select(Redemption).where(
        Redemption.tenant_id == tenant_id, Redemption.idempotency_key == key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def get_redemption(
    session: AsyncSession, tenant_id: uuid.UUID, redemption_id: uuid.UUID
) -> Redemption | None:
    query = select(Redemption).where(
        Redemption.id == redemption_id, Redemption.tenant_id == tenant_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def take_rollback(
    session: AsyncSession, redemption_id: uuid.UUID, amount: int, now: datetime
) -> tuple[int, str] | None:
    """Add ``amount`` to what is rolled back, if the redemption is still committed and that
    stays within its amount; the last part marks it rolled back. Returns
    (rolled_back_amount, status) or None."""
    total = Redemption.rolled_back_amount + amount
    result = await session.execute(
        update(Redemption)
        .where(
            Redemption.id == redemption_id,
            Redemption.status == "committed",
            total <= Redemption.amount,
        )
        .values(
            rolled_back_amount=total,
            status=case((total >= Redemption.amount, "rolled_back"), else_="committed"),
            rolled_back_at=now,
        )
        .returning(Redemption.rolled_back_amount, Redemption.status)
        .execution_options(synchronize_session=False)
    )
    row = result.one_or_none()
    return None if row is None else (int(row[0]), str(row[1]))


async def rollback_by_key(
    session: AsyncSession, tenant_id: uuid.UUID, key: str
) -> RedemptionRollback | None:
    query = select(RedemptionRollback).where(
        RedemptionRollback.tenant_id == tenant_id, RedemptionRollback.idempotency_key == key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def rollbacks_of(
    session: AsyncSession, redemption_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[RedemptionRollback]]:
    out: dict[uuid.UUID, list[RedemptionRollback]] = {i: [] for i in redemption_ids}
    if not redemption_ids:
        return out
    query = (
        select(RedemptionRollback)
        .where(RedemptionRollback.redemption_id.in_(list(redemption_ids)))
        .order_by(RedemptionRollback.id)
    )
    for rollback in (await session.execute(query)).scalars():
        out[rollback.redemption_id].append(rollback)
    return out
