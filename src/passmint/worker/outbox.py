"""The transactional outbox: jobs are rows written with the change that causes them.

``enqueue`` only adds a row to the caller's session (services flush, never commit). The
unit of work that commits the session then hands the new job ids to the dispatcher, so a
rollback drops the jobs and a crash after commit loses none: the sweeper finds them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.ids import uuid7
from passmint.models import OutboxJob

PENDING_KEY = "passmint.outbox.pending"


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    delay: timedelta = timedelta(0),
) -> OutboxJob:
    job = OutboxJob(
        id=uuid7(),  # known now: the row goes out with the session's next flush, batched
        name=name,
        payload=payload,
        created_at=now,
        available_at=now + delay,
        attempts=0,
    )
    session.add(job)
    if delay <= timedelta(0):
        # Sent to a worker after commit; a delayed job is found by the sweeper once due.
        pending: list[uuid.UUID] = session.info.setdefault(PENDING_KEY, [])
        pending.append(job.id)
    return job


def take_pending(session: AsyncSession) -> list[uuid.UUID]:
    """The ids of jobs enqueued in this session since the last call (to dispatch after commit)."""
    return list(session.info.pop(PENDING_KEY, []))
