"""The append-only event log (the source for analytics and webhooks) and the job outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class Event(Base):
    """Append-only. No foreign keys: a fan-out writes one row per device, and the per-row
    referential checks would cost more than the rows (passes and tenants are never
    deleted; see migration 0006)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_created", "tenant_id", "created_at"),
        Index("ix_events_pass", "pass_id"),
        # The dashboard's counts by kind and day, read from the index alone; partial, so a
        # push fan-out (one ``pushed`` row per device) does not pay for it (migration 0011).
        Index(
            "ix_events_tenant_kind",
            "tenant_id",
            "kind",
            "created_at",
            "pass_id",
            postgresql_where=text("kind <> 'pushed'"),
            sqlite_where=text("kind <> 'pushed'"),
        ),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID]
    pass_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str | None] = mapped_column(String(16))
    device_model: Mapped[str | None] = mapped_column(String(lengths.DEVICE_MODEL))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class OutboxJob(Base):
    """A job written in the same transaction as the change that causes it."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_due", "done_at", "available_at"),)

    id: Mapped[uuid.UUID] = id_column()
    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    available_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    run_id: Mapped[uuid.UUID | None]
    """The run of a phased job that holds it until ``locked_until`` (see worker.registry)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(lengths.IDEMPOTENCY_KEY), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
