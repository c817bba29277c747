"""Passes, their cached signed bundles, devices and registrations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class Pass(Base):
    __tablename__ = "passes"
    __table_args__ = (
        UniqueConstraint("pass_type_id", "serial_number"),
        UniqueConstraint("download_token"),
        Index("ix_passes_tenant_template", "tenant_id", "template_id", "id"),
        Index("ix_passes_tenant_external", "tenant_id", "external_id"),
        Index("ix_passes_tenant_serial", "tenant_id", "serial_number"),  # lookups by serial
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    template_version: Mapped[int] = mapped_column(Integer)
    # None while the tenant issues to Google Wallet only: set to the Apple credential's pass
    # type id when the pass is issued, or for all such passes when Apple credentials arrive.
    pass_type_id: Mapped[str | None] = mapped_column(String(lengths.PASS_TYPE_ID))
    serial_number: Mapped[str] = mapped_column(String(lengths.SERIAL_NUMBER))
    external_id: Mapped[str | None] = mapped_column(String(lengths.EXTERNAL_ID))
    auth_token_hash: Mapped[str] = mapped_column(String(64))
    auth_token_enc: Mapped[bytes] = mapped_column(LargeBinary)
    download_token: Mapped[str] = mapped_column(String(lengths.DOWNLOAD_TOKEN))
    data: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    update_tag: Mapped[int] = mapped_column(BigInteger)
    last_modified: Mapped[datetime]  # whole seconds, strictly increasing per pass
    created_at: Mapped[datetime]
    voided_at: Mapped[datetime | None]


class PassBundle(Base):
    """The signed .pkpass of one pass at one version (a cache, rebuilt on demand)."""

    __tablename__ = "pass_bundles"

    pass_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("passes.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = id_column()
    device_library_id: Mapped[str] = mapped_column(String(lengths.DEVICE_LIBRARY_ID), unique=True)
    push_token: Mapped[str] = mapped_column(Text)  # stored as received: no length cap
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("device_id", "pass_id"),
        Index("ix_registrations_pass", "pass_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"))
    pass_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("passes.id"))
    pass_type_id: Mapped[str] = mapped_column(String(lengths.PASS_TYPE_ID))
    created_at: Mapped[datetime]


class Counter(Base):
    """Monotonic counters (update tags). Bumping one holds its row lock until commit, so
    tags are handed out in commit order and a device never skips a change."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
