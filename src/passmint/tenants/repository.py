"""SQL for tenants and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import insert_for
from passmint.models import ApiKey, IdempotencyRecord, Tenant, TenantQuota


async def add_tenant(session: AsyncSession, tenant: Tenant) -> None:
    session.add(tenant)
    await session.flush()


async def count_tenants(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Tenant))).scalar_one())


async def add_api_key(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)
    await session.flush()


async def api_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return (
        await session.execute(select(ApiKey).where(ApiKey.prefix == prefix))
    ).scalar_one_or_none()


async def list_api_keys(session: AsyncSession, tenant_id: uuid.UUID) -> list[ApiKey]:
    rows = await session.execute(
        select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)
    )
    return list(rows.scalars())


async def revoke_api_key(
    session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> bool:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def idempotency_record(
    session: AsyncSession, tenant_id: uuid.UUID, key: str
) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def add_idempotency_record(session: AsyncSession, record: IdempotencyRecord) -> None:
    """Flushes, so a concurrent request with the same key fails here (unique key)."""
    session.add(record)
    await session.flush()


# -- quotas ------------------------------------------------------------------------------------


async def tenant_exists(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    return await session.get(Tenant, tenant_id) is not None


async def quota_row(session: AsyncSession, tenant_id: uuid.UUID, kind: str) -> TenantQuota | None:
    """The tenant's count and own limit of ``kind`` (read without a lock)."""
    return await session.get(TenantQuota, (tenant_id, kind), populate_existing=True)


async def add_usage(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, amount: int, default_limit: int
) -> int | None:
    """Add ``amount`` to the tenant's count of ``kind`` unless that passes its limit (its own,
    else ``default_limit``): the new count, or None. One upsert; its row lock is held until
    commit, so a concurrent one waits and is judged against the committed count."""
    statement = insert_for(session, TenantQuota).values(
        tenant_id=tenant_id, kind=kind, used=amount, limit_override=None
    )
    statement = statement.on_conflict_do_update(
        index_elements=[TenantQuota.tenant_id, TenantQuota.kind],
        set_={"used": TenantQuota.used + statement.excluded.used},
        where=TenantQuota.used + statement.excluded.used
        <= func.coalesce(TenantQuota.limit_override, default_limit),
    ).returning(TenantQuota.used)
    used = (await session.execute(statement)).scalar_one_or_none()
    return None if used is None else int(used)


async def set_quota_limit(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, limit: int | None
) -> None:
    """Give the tenant its own limit of ``kind`` (None: the setting's again)."""
    statement = insert_for(session, TenantQuota).values(
        tenant_id=tenant_id, kind=kind, used=0, limit_override=limit
    )
    statement = statement.on_conflict_do_update(
        index_elements=[TenantQuota.tenant_id, TenantQuota.kind],
        set_={"limit_override": statement.excluded.limit_override},
    )
    await session.execute(statement)
