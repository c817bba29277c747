"""SQL of the Google Wallet sync: classes and objects at Google, the notification budget and
callback nonces."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import in_ids, insert_for
from passmint.models import (
    GoogleCallbackNonce,
    GoogleClass,
    GoogleCredential,
    GoogleNotification,
    GoogleObject,
    Pass,
    Template,
)


async def passes_with_templates(
    session: AsyncSession, tenant_id: uuid.UUID, pass_ids: Sequence[uuid.UUID]
) -> list[tuple[Pass, Template]]:
    if not pass_ids:
        return []
    rows = await session.execute(
        select(Pass, Template)
        .join(Template, Template.id == Pass.template_id)
        .where(Pass.tenant_id == tenant_id, in_ids(session, Pass.id, pass_ids))
        .order_by(Pass.id)
    )
    return [(row[0], row[1]) for row in rows.all()]


async def google_class(session: AsyncSession, template_id: uuid.UUID) -> GoogleClass | None:
    return await session.get(GoogleClass, template_id)


async def save_class(
    session: AsyncSession,
    *,
    template_id: uuid.UUID,
    tenant_id: uuid.UUID,
    class_id: str,
    vertical: str,
    version: int,
    now: datetime,
) -> None:
    """Record that Google holds the class at template ``version``: one upsert, so two
    writers that both found no row do not collide, and never back to an older version
    (a slower writer of an older one finishing last). A row this session already loaded
    is not refreshed."""
    values = {
        "class_id": class_id,
        "vertical": vertical,
        "synced_version": version,
        "synced_at": now,
    }
    statement = insert_for(session, GoogleClass).values(
        template_id=template_id, tenant_id=tenant_id, **values
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["template_id"],
            set_=values,
            where=GoogleClass.synced_version <= statement.excluded.synced_version,
        )
    )


_OBJECT_SYNCED: Final = (
    "object_id",
    "class_id",
    "vertical",
    "body_hash",
    "notify_state",
    "state",
    "synced_at",
)


async def save_objects(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record the object bodies last sent to Google, in one upsert for the batch. Each row
    has ``pass_id``, ``tenant_id`` and the columns of :data:`_OBJECT_SYNCED`; ``installed``,
    which the callbacks keep, is set on insert only. A row this session already loaded is
    not refreshed."""
    if not rows:
        return
    statement = insert_for(session, GoogleObject)
    statement = statement.on_conflict_do_update(
        index_elements=["pass_id"],
        set_={name: statement.excluded[name] for name in _OBJECT_SYNCED},
    )
    await session.execute(statement, [{**row, "installed": False} for row in rows])


async def record_credential_error(
    session: AsyncSession, credential_id: uuid.UUID, error: str, at: datetime
) -> None:
    """Show a sync problem on the tenant's Google credential."""
    await session.execute(
        update(GoogleCredential)
        .where(GoogleCredential.id == credential_id)
        .values(last_error=error[:1000], last_error_at=at)
    )


async def google_objects(
    session: AsyncSession, pass_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, GoogleObject]:
    if not pass_ids:
        return {}
    rows = await session.execute(
        select(GoogleObject).where(in_ids(session, GoogleObject.pass_id, pass_ids))
    )
    return {o.pass_id: o for o in rows.scalars()}


async def google_object(session: AsyncSession, pass_id: uuid.UUID) -> GoogleObject | None:
    return await session.get(GoogleObject, pass_id)


async def object_by_id(session: AsyncSession, object_id: str) -> GoogleObject | None:
    query = select(GoogleObject).where(GoogleObject.object_id == object_id)
    return (await session.execute(query)).scalar_one_or_none()


async def notifications_since(session: AsyncSession, pass_id: uuid.UUID, since: datetime) -> int:
    query = select(func.count()).where(
        GoogleNotification.pass_id == pass_id, GoogleNotification.created_at > since
    )
    return int((await session.execute(query)).scalar_one())


def add_notification(session: AsyncSession, pass_id: uuid.UUID, kind: str, now: datetime) -> None:
    session.add(GoogleNotification(pass_id=pass_id, kind=kind, created_at=now))


async def claim_nonce(session: AsyncSession, nonce: str, now: datetime) -> bool:
    """Record a callback nonce; False when it was already recorded (a replay)."""
    statement = (
        insert_for(session, GoogleCallbackNonce)
        .values(nonce=nonce, created_at=now)
        .on_conflict_do_nothing(index_elements=["nonce"])
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def prune_nonces(session: AsyncSession, before: datetime) -> None:
    """Forget nonces of callbacks long expired (Google's messages live minutes, not days)."""
    await session.execute(
        delete(GoogleCallbackNonce).where(GoogleCallbackNonce.created_at < before)
    )
