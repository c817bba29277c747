"""The append-only event log of passes: issued, downloaded, registered, pushed, voided…"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.ids import uuid7
from passmint.kit.sql import is_postgresql
from passmint.models import Event


class EventKind(StrEnum):
    ISSUED = "issued"
    DOWNLOADED = "downloaded"
    REGISTERED = "registered"
    UNREGISTERED = "unregistered"
    UPDATED = "updated"
    PUSHED = "pushed"
    VOIDED = "voided"
    INSTALLED = "installed"
    UNINSTALLED = "uninstalled"
    MESSAGED = "messaged"  # a message sent to the pass (data: header, body)
    # a tenant's alarm: an API key's or address's code_not_found answers passed the
    # guess_alarm rate limit (passmint.coupons.service.record_guessing)
    CODE_GUESSING = "code_guessing"
    # a customer answered the survey on the back of the pass, or changed their answer
    # (passmint.passes.surveys; data: survey_key, number, question, answer, previous, language)
    SURVEY_ANSWERED = "survey_answered"


async def record(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    kind: EventKind,
    now: datetime,
    pass_id: uuid.UUID | None = None,
    platform: str | None = None,
    device_model: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        Event(
            tenant_id=tenant_id,
            pass_id=pass_id,
            kind=kind.value,
            platform=platform,
            device_model=device_model,
            data=data or {},
            created_at=now,
        )
    )


_COLUMNS = ("id", "tenant_id", "pass_id", "kind", "platform", "device_model", "data", "created_at")
_COPY_FROM = 100  # rows; fewer go through an ordinary INSERT


async def record_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert (push fan-out records one event per device). Each row has ``tenant_id``,
    ``kind`` and ``created_at``, and may have ``pass_id``, ``platform``, ``device_model``
    and ``data``. Large batches on PostgreSQL go in with COPY, in the session's
    transaction: a fan-out's event log costs a third of what an INSERT of the rows does."""
    if not rows:
        return
    if len(rows) < _COPY_FROM or not is_postgresql(session):
        await session.execute(insert(Event), [{"id": uuid7(), "data": {}, **row} for row in rows])
        return
    if any(row["created_at"].tzinfo is None for row in rows):
        raise ValueError("event times must be timezone-aware")
    await session.flush()  # rows the events refer to may still be pending in the session
    records = [
        (
            uuid7(),
            row["tenant_id"],
            row.get("pass_id"),
            row["kind"],
            row.get("platform"),
            row.get("device_model"),
            json.dumps(row.get("data") or {}, separators=(",", ":")),
            row["created_at"],
        )
        for row in rows
    ]
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter opens its transaction at the first statement; COPY
        # sent before that would commit on its own.
        await connection.execute(select(1))
    assert driver.is_in_transaction()
    await driver.copy_records_to_table(Event.__tablename__, records=records, columns=_COLUMNS)
