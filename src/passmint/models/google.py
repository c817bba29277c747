"""Google Wallet: issuer credentials, the classes and objects synced to Google, the message
budget and the callback nonces already seen."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class GoogleCredential(Base):
    """A tenant's Google Wallet issuer and service account (the key JSON is encrypted)."""

    __tablename__ = "google_credentials"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        Index("ix_google_credentials_issuer", "issuer_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    issuer_id: Mapped[str] = mapped_column(String(lengths.GOOGLE_ISSUER_ID))
    client_email: Mapped[str] = mapped_column(String(lengths.GOOGLE_CLIENT_EMAIL))
    private_key_id: Mapped[str] = mapped_column(String(lengths.GOOGLE_PRIVATE_KEY_ID))
    token_uri: Mapped[str] = mapped_column(String(lengths.GOOGLE_TOKEN_URI))
    service_account_enc: Mapped[bytes] = mapped_column(LargeBinary)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    last_error_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class GoogleClass(Base):
    """The class of one template at Google: which template version it last carried."""

    __tablename__ = "google_classes"
    __table_args__ = (UniqueConstraint("class_id"),)

    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    class_id: Mapped[str] = mapped_column(String(255))
    vertical: Mapped[str] = mapped_column(String(32))
    synced_version: Mapped[int] = mapped_column(Integer)
    synced_at: Mapped[datetime]


class GoogleObject(Base):
    """One pass's object at Google: the body last sent (to PATCH only on change)."""

    __tablename__ = "google_objects"
    __table_args__ = (UniqueConstraint("object_id"),)

    pass_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("passes.id"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    object_id: Mapped[str] = mapped_column(String(255))
    class_id: Mapped[str] = mapped_column(String(255))
    vertical: Mapped[str] = mapped_column(String(32))
    body_hash: Mapped[str] = mapped_column(String(64))
    notify_state: Mapped[dict[str, Any]]  # the balance/tier values last sent
    state: Mapped[str] = mapped_column(String(16))
    synced_at: Mapped[datetime]
    installed: Mapped[bool] = mapped_column(Boolean, default=False)


class GoogleNotification(Base):
    """Each TEXT_AND_NOTIFY message or NOTIFY_ON_UPDATE patch sent: the rolling 24 h budget
    of 3 per pass is counted here."""

    __tablename__ = "google_notifications"
    __table_args__ = (Index("ix_google_notifications_pass_time", "pass_id", "created_at"),)

    id: Mapped[uuid.UUID] = id_column()
    pass_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("passes.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "message" | "update"
    created_at: Mapped[datetime]


class GoogleCallbackNonce(Base):
    """Nonces of callbacks already applied: a replay is answered 200 and changes nothing."""

    __tablename__ = "google_callback_nonces"

    nonce: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime]
