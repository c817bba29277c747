"""SQL for looking over campaigns (the admin app's screens): how many codes and redemptions
each campaign has, its batches, its redemptions with their codes and customers, and who
made each redemption (the audit log's record of it, else the API key it names).

Read-only; ``repository``, ``batches_repository`` and ``redemptions_repository`` keep the
SQL that changes codes and counters.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.models import ApiKey, AuditEvent, Code, CodeBatch, Customer, Redemption


async def code_counts(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many codes each campaign holds (voided and used ones included)."""
    if not campaign_ids:
        return {}
    query = (
        select(Code.campaign_id, func.count(Code.id))
        .where(Code.tenant_id == tenant_id, Code.campaign_id.in_(list(campaign_ids)))
        .group_by(Code.campaign_id)
    )
    return {row[0]: int(row[1]) for row in (await session.execute(query)).all()}


async def redemption_counts(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Each campaign's redemptions by status (``committed``, ``rolled_back``)."""
    if not campaign_ids:
        return {}
    query = (
        select(Redemption.campaign_id, Redemption.status, func.count(Redemption.id))
        .where(
            Redemption.tenant_id == tenant_id,
            Redemption.campaign_id.in_(list(campaign_ids)),
        )
        .group_by(Redemption.campaign_id, Redemption.status)
    )
    out: dict[uuid.UUID, dict[str, int]] = {}
    for campaign_id, status, count in (await session.execute(query)).all():
        out.setdefault(campaign_id, {})[str(status)] = int(count)
    return out


async def batches_of(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, limit: int
) -> list[CodeBatch]:
    """The campaign's batches, newest first."""
    query = (
        select(CodeBatch)
        .where(CodeBatch.tenant_id == tenant_id, CodeBatch.campaign_id == campaign_id)
        .order_by(CodeBatch.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def redemptions_of(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> list[tuple[Redemption, str, Customer | None]]:
    """The campaign's redemptions, newest first, with each one's code as customers see it
    and its customer (if any); ``before``: the id of the last row of the previous page."""
    query = (
        select(Redemption, Code.code, Customer)
        .join(Code, Code.id == Redemption.code_id)
        .outerjoin(
            Customer,
            (Customer.id == Redemption.customer_id) & (Customer.tenant_id == tenant_id),
        )
        .where(Redemption.tenant_id == tenant_id, Redemption.campaign_id == campaign_id)
    )
    if before is not None:
        query = query.where(Redemption.id < before)
    rows = await session.execute(query.order_by(Redemption.id.desc()).limit(limit))
    return [(row[0], str(row[1]), row[2]) for row in rows.all()]


async def creators(
    session: AsyncSession, tenant_id: uuid.UUID, object_type: str, object_ids: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """Who created each object, by the audit log: ``object_id`` → (actor type, label)."""
    if not object_ids:
        return {}
    query = select(AuditEvent.object_id, AuditEvent.actor_type, AuditEvent.actor_label).where(
        AuditEvent.tenant_id == tenant_id,
        AuditEvent.object_type == object_type,
        AuditEvent.object_id.in_(list(object_ids)),
        AuditEvent.action == f"{object_type}.created",
    )
    return {str(row[0]): (str(row[1]), str(row[2])) for row in (await session.execute(query)).all()}


async def api_key_names(
    session: AsyncSession, tenant_id: uuid.UUID, key_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not key_ids:
        return {}
    query = select(ApiKey.id, ApiKey.name).where(
        ApiKey.tenant_id == tenant_id, ApiKey.id.in_(list(key_ids))
    )
    return {row[0]: str(row[1]) for row in (await session.execute(query)).all()}
