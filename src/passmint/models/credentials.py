"""Wallet credentials per tenant; key material is encrypted at rest (kit.crypto)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class AppleCredential(Base):
    __tablename__ = "apple_credentials"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    pass_type_id: Mapped[str] = mapped_column(String(lengths.PASS_TYPE_ID), index=True)
    team_id: Mapped[str] = mapped_column(String(lengths.APPLE_TEAM_ID))
    certificate_pem: Mapped[bytes] = mapped_column(LargeBinary)  # public: not a secret
    private_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    wwdr_pem: Mapped[bytes | None] = mapped_column(LargeBinary)
    not_after: Mapped[datetime]
    apns_auth: Mapped[str] = mapped_column(String(16))  # "certificate" | "token"
    apns_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    apns_key_id: Mapped[str | None] = mapped_column(String(lengths.APNS_KEY_ID))
    apns_team_id: Mapped[str | None] = mapped_column(String(lengths.APPLE_TEAM_ID))
    last_push_error: Mapped[str | None] = mapped_column(String(500))
    last_push_error_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
