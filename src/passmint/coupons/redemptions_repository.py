"""SQL for redemptions and rollbacks, and for the counters their limits rest on: a code's
uses and balance, a customer's uses of a campaign, the campaign's total.

Every counter a limit rests on changes through one conditional UPDATE (or upsert) that
returns nothing when the limit would be crossed; the row lock it takes is held until commit,
so concurrent redemptions queue on it and re-check the condition against the committed
value. Locks are taken in one order everywhere: redemption row, code, customer counter,
campaign counter, then the code's pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import insert_for, table_of
from passmint.models import (
    Account,
    Campaign,
    CampaignCustomerUse,
    Code,
    Customer,
    Redemption,
    RedemptionRollback,
)

# -- campaign counters -------------------------------------------------------------------------


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


# -- customers (read-only here: the loyalty domain owns them) and their counters ---------------


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


# -- codes -------------------------------------------------------------------------------------


def _code_with_campaign(*, share_campaign: bool) -> Any:
    customers = table_of(Customer)
    known = exists().where(
        customers.c.id == bindparam("customer_id"), customers.c.tenant_id == bindparam("tenant")
    )
    query = (
        select(Code, Campaign, known)
        .join(Campaign, Campaign.id == Code.campaign_id)
        .where(Code.tenant_id == bindparam("tenant"), Code.code_normalized == bindparam("code"))
    )
    if share_campaign:
        query = query.with_for_update(read=True, key_share=True, of=Campaign)
    return query


_CODE_WITH_CAMPAIGN = {share: _code_with_campaign(share_campaign=share) for share in (False, True)}


async def code_with_campaign(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    normalized: str,
    *,
    customer_id: uuid.UUID | None = None,
    share_campaign: bool = False,
) -> tuple[Code, Campaign, bool] | None:
    """The code, its campaign and whether ``customer_id`` (if given) is a customer of the
    tenant, in one statement. ``share_campaign`` holds a KEY SHARE lock on the campaign
    (PostgreSQL) for the transaction: redemptions never block each other on it, but a rule
    change (FOR UPDATE) waits for the redemptions in flight and they for it."""
    params = {"tenant": tenant_id, "code": normalized, "customer_id": customer_id}
    row = (await session.execute(_CODE_WITH_CAMPAIGN[share_campaign], params)).one_or_none()
    return None if row is None else (row[0], row[1], customer_id is None or bool(row[2]))


async def refresh_code(session: AsyncSession, code: Code) -> Code:
    """Re-read a code's counters after a conditional UPDATE changed them."""
    await session.refresh(code, ["used_count", "balance", "status"])
    return code


def _take_code_use(*, charge: bool) -> Any:
    conditions = [
        Code.id == bindparam("code_id"),
        Code.status == "active",
        or_(Code.max_uses.is_(None), Code.used_count < Code.max_uses),
    ]
    values: dict[str, Any] = {"used_count": Code.used_count + 1}
    if charge:
        conditions.append(Code.balance >= bindparam("charge"))
        values["balance"] = Code.balance - bindparam("charge")
    return (
        update(Code)
        .where(*conditions)
        .values(**values)
        .returning(Code.used_count, Code.balance)
        .execution_options(synchronize_session=False)
    )


_TAKE_CODE_USE = {charge: _take_code_use(charge=charge) for charge in (False, True)}


async def take_code_use(
    session: AsyncSession, code_id: uuid.UUID, charge: int | None
) -> tuple[int, int | None] | None:
    """Count one use of an active code and charge its balance, if it has a use left and
    (gift cards) the balance covers ``charge``. Returns (used_count, balance) or None."""
    statement = _TAKE_CODE_USE[charge is not None]
    params: dict[str, Any] = {"code_id": code_id, "charge": charge}
    row = (await session.execute(statement, params)).one_or_none()
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
