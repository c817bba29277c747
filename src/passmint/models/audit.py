"""The audit log: who changed what, append-only (passmint.tenants.audit)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class AuditEvent(Base):
    """One change by a user, an API key or the system. Rows are only ever inserted (on
    PostgreSQL a trigger refuses UPDATE and DELETE); no foreign keys, like the event log."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_tenant_id", "tenant_id", "id"),
        Index("ix_audit_events_tenant_object", "tenant_id", "object_type", "object_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str] = mapped_column(String(lengths.EMAIL))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[dict[str, Any]]
    operation: Mapped[str | None] = mapped_column(String(lengths.OPERATION))
    ip: Mapped[str | None] = mapped_column(String(lengths.IP_ADDRESS))
    request_id: Mapped[str | None] = mapped_column(String(lengths.REQUEST_ID))
