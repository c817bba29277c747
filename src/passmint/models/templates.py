"""Templates, their immutable versions, and uploaded image assets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(lengths.TITLE))
    style: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TemplateVersion(Base):
    """One immutable revision of a template's design and its processed bundle files."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[uuid.UUID] = id_column()
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    version: Mapped[int] = mapped_column(Integer)
    design: Mapped[dict[str, Any]]
    files: Mapped[dict[str, Any]]  # bundle file name -> asset sha256
    created_at: Mapped[datetime]


class Asset(Base):
    """Immutable content (uploaded images and their renditions), addressed by SHA-256."""

    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256"),)

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
