"""SQL for campaigns and codes: reading and listing them, handing codes out (one drawn at a
time, or a campaign's next unpublished one) and recounting a campaign's counters after a
rule change. Code batches have their SQL in ``batches_repository``; redemptions, rollbacks
and the counters their limits rest on in ``redemptions_repository``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Uuid, delete, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import insert_for
from passmint.models import Campaign, CampaignCustomerUse, Code, Customer, Redemption

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


# -- customers (read-only here: the loyalty domain owns them) ----------------------------------


async def customer_exists(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> bool:
    query = select(Customer.id).where(Customer.id == customer_id, Customer.tenant_id == tenant_id)
    return (await session.execute(query)).scalar_one_or_none() is not None


# -- codes -------------------------------------------------------------------------------------


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
