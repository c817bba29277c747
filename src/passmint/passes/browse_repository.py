"""The SQL of finding passes and reading a pass's history (the admin app's pass screens)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import in_ids
from passmint.models import Event, Pass, Template


async def find_passes(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    text: str | None,
    pass_ids: Sequence[uuid.UUID],
    before: uuid.UUID | None,
    limit: int,
) -> list[tuple[Pass, str]]:
    """The tenant's passes, newest first, with their template's name: all of them without
    ``text``, else those whose serial number or external id is ``text`` or whose id is in
    ``pass_ids`` (each match through an index: ix_passes_tenant_serial,
    ix_passes_tenant_external, the primary key)."""
    query = select(Pass, Template.name).join(Template, Template.id == Pass.template_id)
    query = query.where(Pass.tenant_id == tenant_id)
    if text is not None:
        matches: list[ColumnElement[bool]] = [
            Pass.serial_number == text,
            Pass.external_id == text,
        ]
        if pass_ids:
            matches.append(in_ids(session, Pass.id, pass_ids))
        query = query.where(or_(*matches))
    if before is not None:
        query = query.where(Pass.id < before)
    rows = await session.execute(query.order_by(Pass.id.desc()).limit(limit))
    return [(pass_, name) for pass_, name in rows.all()]


async def event_time(
    session: AsyncSession, tenant_id: uuid.UUID, pass_id: uuid.UUID, event_id: uuid.UUID
) -> datetime | None:
    query = select(Event.created_at).where(
        Event.id == event_id, Event.pass_id == pass_id, Event.tenant_id == tenant_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def pass_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    pass_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Event]:
    """A pass's events, newest first (through ix_events_pass), older than ``before``
    (time, id) if given."""
    query = select(Event).where(Event.pass_id == pass_id, Event.tenant_id == tenant_id)
    if before is not None:
        at, event_id = before
        query = query.where(
            or_(Event.created_at < at, and_(Event.created_at == at, Event.id < event_id))
        )
    query = query.order_by(Event.created_at.desc(), Event.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
