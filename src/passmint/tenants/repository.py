"""SQL for tenants, API keys, quotas, staff users and their sessions and links, and the
audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from passmint.kit.sql import insert_for, per_dialect, table_of
from passmint.models import (
    ApiKey,
    AuditEvent,
    IdempotencyRecord,
    Invitation,
    Membership,
    PasswordReset,
    Tenant,
    TenantQuota,
    User,
    UserSession,
)


async def add_tenant(session: AsyncSession, tenant: Tenant) -> None:
    session.add(tenant)
    await session.flush()


async def count_tenants(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Tenant))).scalar_one())


async def add_api_key(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)
    await session.flush()


_KEYS = table_of(ApiKey)
_KEY_BY_PREFIX = select(
    _KEYS.c.id, _KEYS.c.tenant_id, _KEYS.c.name, _KEYS.c.secret_hash, _KEYS.c.scopes,
    _KEYS.c.revoked_at,
).where(_KEYS.c.prefix == bindparam("prefix"))  # fmt: skip


class PresentedKey(NamedTuple):
    """What authenticating a request needs of an API key."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    secret_hash: str
    scopes: list[str]
    revoked_at: datetime | None


async def api_key_by_prefix(
    conn: AsyncConnection | AsyncSession, prefix: str
) -> PresentedKey | None:
    row = (await conn.execute(_KEY_BY_PREFIX, {"prefix": prefix})).one_or_none()
    return None if row is None else PresentedKey(*row)


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


_RECORDS = table_of(IdempotencyRecord)
_RECORD = select(_RECORDS.c.request_hash, _RECORDS.c.status, _RECORDS.c.body).where(
    _RECORDS.c.tenant_id == bindparam("tenant_id"), _RECORDS.c.key == bindparam("key")
)
_ADD_RECORD = insert(_RECORDS)


class StoredResponse(NamedTuple):
    """The response an Idempotency-Key's first request gave, and its request's hash."""

    request_hash: str
    status: int
    body: dict[str, Any]


async def idempotency_record(
    session: AsyncSession, tenant_id: uuid.UUID, key: str
) -> StoredResponse | None:
    row = (await session.execute(_RECORD, {"tenant_id": tenant_id, "key": key})).one_or_none()
    return None if row is None else StoredResponse(*row)


async def add_idempotency_record(session: AsyncSession, record: IdempotencyRecord) -> None:
    """One INSERT now, so a concurrent request with the same key fails here (unique key)."""
    values = {c.key: getattr(record, c.key) for c in _RECORDS.columns}
    await session.execute(_ADD_RECORD, values)


# -- quotas ------------------------------------------------------------------------------------


async def tenant_exists(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    return await session.get(Tenant, tenant_id) is not None


async def quota_row(session: AsyncSession, tenant_id: uuid.UUID, kind: str) -> TenantQuota | None:
    """The tenant's count and own limit of ``kind`` (read without a lock)."""
    return await session.get(TenantQuota, (tenant_id, kind), populate_existing=True)


def _add_usage(dialect_insert: Any) -> Any:
    statement = dialect_insert(TenantQuota).values(
        tenant_id=bindparam("tenant_id"),
        kind=bindparam("kind"),
        used=bindparam("amount"),
        limit_override=None,
    )
    return statement.on_conflict_do_update(
        index_elements=[TenantQuota.tenant_id, TenantQuota.kind],
        set_={"used": TenantQuota.used + statement.excluded.used},
        where=TenantQuota.used + statement.excluded.used
        <= func.coalesce(TenantQuota.limit_override, bindparam("default_limit")),
    ).returning(TenantQuota.used)


_ADD_USAGE = per_dialect(_add_usage)  # every pass, code and image a tenant stores


async def add_usage(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, amount: int, default_limit: int
) -> int | None:
    """Add ``amount`` to the tenant's count of ``kind`` unless that passes its limit (its own,
    else ``default_limit``): the new count, or None. One upsert; its row lock is held until
    commit, so a concurrent one waits and is judged against the committed count."""
    used = (
        await session.execute(
            _ADD_USAGE(session),
            {
                "tenant_id": tenant_id,
                "kind": kind,
                "amount": amount,
                "default_limit": default_limit,
            },
        )
    ).scalar_one_or_none()
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


# -- staff users and memberships ---------------------------------------------------------------


async def tenant_by_id(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def add(session: AsyncSession, row: object) -> None:
    """Insert a staff row (a user, a membership, a session, an invitation, a reset)."""
    session.add(row)
    await session.flush()


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def membership(
    session: AsyncSession, user_id: uuid.UUID, tenant_id: uuid.UUID
) -> Membership | None:
    return await session.get(Membership, (user_id, tenant_id))


async def memberships_of_user(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[Membership, Tenant]]:
    rows = await session.execute(
        select(Membership, Tenant)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user_id)
        .order_by(Tenant.name, Tenant.id)
    )
    return [(m, t) for m, t in rows]


async def members_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID
) -> list[tuple[Membership, User]]:
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant_id)
        .order_by(User.email)
    )
    return [(m, u) for m, u in rows]


async def count_owners(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """The tenant's owners, their rows locked until commit (PostgreSQL), so two
    concurrent demotions cannot both see a second owner."""
    query = select(Membership.user_id).where(
        Membership.tenant_id == tenant_id, Membership.role == "owner"
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return len(list((await session.execute(query)).scalars()))


async def delete_membership(session: AsyncSession, row: Membership) -> None:
    await session.delete(row)
    await session.flush()


# -- staff sessions ----------------------------------------------------------------------------


async def staff_session_by_hash(session: AsyncSession, token_hash: str) -> UserSession | None:
    query = select(UserSession).where(UserSession.token_hash == token_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def staff_session_view(
    session: AsyncSession, token_hash: str
) -> tuple[UserSession, User, Tenant, Membership | None] | None:
    """A session with its user, its tenant and the user's membership there (None: gone)."""
    query = (
        select(UserSession, User, Tenant, Membership)
        .join(User, User.id == UserSession.user_id)
        .join(Tenant, Tenant.id == UserSession.tenant_id)
        .outerjoin(
            Membership,
            (Membership.user_id == UserSession.user_id)
            & (Membership.tenant_id == UserSession.tenant_id),
        )
        .where(UserSession.token_hash == token_hash)
    )
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def delete_staff_session(session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.execute(delete(UserSession).where(UserSession.id == session_id))


async def delete_user_sessions(
    session: AsyncSession, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> int:
    """End every session of the user (but ``keep``); how many ended."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        query = query.where(UserSession.id != keep)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_stale_sessions(
    session: AsyncSession, user_id: uuid.UUID, idle_before: datetime, created_before: datetime
) -> None:
    """Drop the user's sessions that have expired (idle too long, or too old)."""
    await session.execute(
        delete(UserSession).where(
            UserSession.user_id == user_id,
            (UserSession.last_seen_at < idle_before) | (UserSession.created_at < created_before),
        )
    )


async def delete_tenant_sessions_of(
    session: AsyncSession, user_id: uuid.UUID, tenant_id: uuid.UUID
) -> None:
    """End the user's sessions in one tenant (their membership there ended)."""
    await session.execute(
        delete(UserSession).where(
            UserSession.user_id == user_id, UserSession.tenant_id == tenant_id
        )
    )


# -- invitations and password resets -----------------------------------------------------------


async def invitation_by_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    query = select(Invitation).where(Invitation.token_hash == token_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def invitation(
    session: AsyncSession, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    query = select(Invitation).where(
        Invitation.tenant_id == tenant_id, Invitation.id == invitation_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def pending_invitations(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime, *, email: str | None = None
) -> list[Invitation]:
    query = select(Invitation).where(
        Invitation.tenant_id == tenant_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )
    if email is not None:
        query = query.where(Invitation.email == email)
    rows = await session.execute(query.order_by(Invitation.created_at.desc()))
    return list(rows.scalars())


async def reset_by_hash(session: AsyncSession, token_hash: str) -> PasswordReset | None:
    query = select(PasswordReset).where(PasswordReset.token_hash == token_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def retire_resets(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    """Mark the user's unused reset links used (a new one, or a new password, replaces them)."""
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )


# -- the audit log -----------------------------------------------------------------------------


async def list_audit_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    actor: str | None,
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before: uuid.UUID | None,
    limit: int,
) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if actor is not None:
        query = query.where(
            or_(AuditEvent.actor_id == actor, AuditEvent.actor_label.in_({actor, actor.lower()}))
        )
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if object_type is not None:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = await session.execute(query.order_by(AuditEvent.id.desc()).limit(limit))
    return list(rows.scalars())
