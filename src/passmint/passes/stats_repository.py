"""The SQL of the admin dashboard: passes by status, wallet use and installs per day counted
in the database, the latest events of each kind, and the state of the job queue.

Events are read through ``ix_events_tenant_kind`` (tenant, kind, created_at, pass_id), a
partial index without the ``pushed`` rows (one per device of a push fan-out): every query
here that reads it repeats its condition literally (:func:`_indexed`), which is what lets
SQLite and PostgreSQL use a partial index. Counting needs only the index.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import in_ids, is_postgresql
from passmint.models import Event, OutboxJob, Pass, Registration

PUSHED = "pushed"


def _indexed(tenant_id: uuid.UUID) -> ColumnElement[bool]:
    """The tenant's events other than pushes, spelled as the partial index's condition."""
    return and_(Event.tenant_id == tenant_id, Event.kind.op("<>")(literal_column("'pushed'")))


def _day(session: AsyncSession) -> ColumnElement[str]:
    """``YYYY-MM-DD`` of an event's time in UTC (constants inline, so the SELECT and the
    GROUP BY are the same expression)."""
    if is_postgresql(session):
        utc = func.timezone(literal_column("'UTC'"), Event.created_at)
        return func.to_char(utc, literal_column("'YYYY-MM-DD'"))
    # SQLite keeps UTC times as text: "2026-12-16 10:00:00.000000"
    return func.substr(Event.created_at, literal_column("1"), literal_column("10"))


async def passes_by_status(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, int]:
    query = (
        select(Pass.status, func.count()).where(Pass.tenant_id == tenant_id).group_by(Pass.status)
    )
    return {status: int(count) for status, count in (await session.execute(query)).all()}


async def passes_with_events(
    session: AsyncSession, tenant_id: uuid.UUID, kinds: Sequence[str]
) -> dict[str, int]:
    """How many distinct passes have at least one event of each kind (DISTINCT in a
    subquery: PostgreSQL hashes it, where ``count(DISTINCT)`` would sort)."""
    pairs = (
        select(Event.kind, Event.pass_id)
        .where(_indexed(tenant_id), Event.kind.in_(list(kinds)))
        .distinct()
        .subquery()
    )
    query = select(pairs.c.kind, func.count()).group_by(pairs.c.kind)
    return {kind: int(count) for kind, count in (await session.execute(query)).all()}


async def passes_on_apple_devices(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Passes (not voided) registered on at least one Apple device now."""
    query = (
        select(func.count(distinct(Registration.pass_id)))
        .join(Pass, Pass.id == Registration.pass_id)
        .where(Pass.tenant_id == tenant_id, Pass.status != "voided")
    )
    return int(await session.scalar(query) or 0)


async def passes_net_positive(
    session: AsyncSession, tenant_id: uuid.UUID, added: str, removed: str
) -> int:
    """Passes (not voided) with more ``added`` events than ``removed`` ones: saved to a
    wallet and not taken out since."""
    net = (
        select(Event.pass_id)
        .where(_indexed(tenant_id), Event.kind.in_([added, removed]))
        .group_by(Event.pass_id)
        .having(func.sum(case((Event.kind == added, 1), else_=-1)) > 0)
        .subquery()
    )
    voided = select(Pass.id).where(
        Pass.id == net.c.pass_id, Pass.tenant_id == tenant_id, Pass.status == "voided"
    )
    query = select(func.count()).select_from(net).where(~voided.exists())
    return int(await session.scalar(query) or 0)


async def events_per_day(
    session: AsyncSession, tenant_id: uuid.UUID, kinds: Sequence[str], since: datetime
) -> list[tuple[str, str, int]]:
    """(day ``YYYY-MM-DD`` in UTC, kind, count) of the tenant's events since ``since``."""
    day = _day(session)
    query = (
        select(day, Event.kind, func.count())
        .where(_indexed(tenant_id), Event.kind.in_(list(kinds)), Event.created_at >= since)
        .group_by(day, Event.kind)
    )
    return [(str(d), str(k), int(n)) for d, k, n in (await session.execute(query)).all()]


async def latest_events(
    session: AsyncSession, tenant_id: uuid.UUID, kinds: Sequence[str], limit: int
) -> list[tuple[Event, str | None]]:
    """The newest ``limit`` events of these kinds, with their pass's serial number. One
    short index scan per kind: a kind with millions of rows (updates after a re-render)
    costs as little as a rare one."""
    parts = [
        select(Event.id, Event.created_at)
        .where(_indexed(tenant_id), Event.kind == kind)
        .order_by(Event.created_at.desc())
        .limit(limit)
        .subquery()
        for kind in kinds
    ]
    if not parts:
        return []
    newest = union_all(*(select(p.c.id, p.c.created_at) for p in parts)).subquery("newest")
    query = (
        select(Event, Pass.serial_number)
        .join(newest, newest.c.id == Event.id)
        .outerjoin(Pass, and_(Pass.id == Event.pass_id, Pass.tenant_id == tenant_id))
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(limit)
    )
    return [(event, serial) for event, serial in (await session.execute(query)).all()]


async def latest_pushes(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    platform: str,
    since: datetime,
    limit: int,
    window: int,
) -> list[tuple[datetime, dict[str, Any]]]:
    """(time, data) of the newest ``limit`` push results on ``platform`` since ``since``,
    among the tenant's newest ``window`` events of any kind: a bounded read through
    ``ix_events_tenant_created`` (newest first), however many other events there are."""
    newest = (
        select(Event.created_at, Event.kind, Event.platform, Event.data)
        .where(Event.tenant_id == tenant_id, Event.created_at >= since)
        .order_by(Event.created_at.desc())
        .limit(window)
        .subquery()
    )
    query = (
        select(newest.c.created_at, newest.c.data)
        .where(newest.c.kind == PUSHED, newest.c.platform == platform)
        .order_by(newest.c.created_at.desc())
        .limit(limit)
    )
    return [(at, dict(data or {})) for at, data in (await session.execute(query)).all()]


async def failed_jobs(session: AsyncSession, since: datetime, limit: int) -> list[OutboxJob]:
    """Jobs that gave up since ``since``, newest first (never done: ``ix_outbox_due``)."""
    query = (
        select(OutboxJob)
        .where(OutboxJob.done_at.is_(None), OutboxJob.failed_at >= since)
        .order_by(OutboxJob.failed_at.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def passes_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``ids`` are passes of the tenant."""
    if not ids:
        return set()
    query = select(Pass.id).where(Pass.tenant_id == tenant_id, in_ids(session, Pass.id, ids))
    return set((await session.execute(query)).scalars())


async def waiting_jobs(
    session: AsyncSession, due_before: datetime, cap: int
) -> tuple[int, datetime | None]:
    """How many jobs (up to ``cap``) were due before ``due_before`` and still wait, and
    since when the oldest waits."""
    waiting = (
        select(OutboxJob.available_at)
        .where(
            OutboxJob.done_at.is_(None),
            OutboxJob.failed_at.is_(None),
            OutboxJob.available_at < due_before,
        )
        .order_by(OutboxJob.available_at)
        .limit(cap)
        .subquery()
    )
    row = (await session.execute(select(func.count(), func.min(waiting.c.available_at)))).one()
    return int(row[0]), row[1]
