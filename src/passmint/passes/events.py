"""The append-only event log of passes: issued, downloaded, registered, pushed, voided…"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.ids import uuid7
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


async def record_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert (push fan-out records one event per device)."""
    if rows:
        await session.execute(insert(Event), [{"id": uuid7(), "data": {}, **row} for row in rows])
