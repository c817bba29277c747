"""Tenants and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = id_column()
    name: Mapped[str] = mapped_column(String(lengths.TITLE))
    created_at: Mapped[datetime]


class ApiKey(Base):
    """An API key: only a keyed hash of its secret is kept (shown once at creation)."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(lengths.TITLE))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class TenantQuota(Base):
    """What a tenant stores of one kind (``codes``, ``passes``, ``templates``, ``images``),
    counted as it is created (nothing of these kinds is ever deleted), and the tenant's
    own limit if it has one (else the ``PASSMINT_QUOTA_*`` setting): passmint.tenants.quotas."""

    __tablename__ = "tenant_quotas"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger)
    limit_override: Mapped[int | None] = mapped_column(BigInteger)
