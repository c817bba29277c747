"""Staff accounts: users, their memberships of tenants with a role, their sessions, and
the single-use links that invite them or reset their passwords (passmint.tenants)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class User(Base):
    """A person who logs in to the admin app. The email is stored lower-cased (unique);
    only an Argon2id hash of the password is kept; the TOTP secret is encrypted at rest
    and the recovery codes are keyed hashes."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = id_column()
    email: Mapped[str] = mapped_column(String(lengths.EMAIL), unique=True)
    name: Mapped[str] = mapped_column(String(lengths.NAME))
    locale: Mapped[str | None] = mapped_column(String(lengths.LOCALE))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The confirmed secret; None: no second factor."""
    totp_pending_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    """A secret being enrolled, until a code from it confirms it."""
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    """The time step of the last code accepted: a code is good once."""
    recovery_code_hashes: Mapped[list[Any]]
    """Keyed hashes of the unused recovery codes."""
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class Membership(Base):
    """A user's role in one tenant."""

    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_tenant", "tenant_id", "role"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class UserSession(Base):
    """A logged-in browser. Only a keyed hash of the cookie's token is stored; a session
    waiting for the second factor is good for nothing else."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_user", "user_id"),)

    id: Mapped[uuid.UUID] = id_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    pending_second_factor: Mapped[bool] = mapped_column(Boolean)
    ip: Mapped[str | None] = mapped_column(String(lengths.IP_ADDRESS))
    user_agent: Mapped[str | None] = mapped_column(String(lengths.USER_AGENT))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class Invitation(Base):
    """An invitation to join a tenant with a role, by a single-use link (its token hashed)."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_tenant", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    email: Mapped[str] = mapped_column(String(lengths.EMAIL))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PasswordReset(Base):
    """A single-use link to set a new password (its token hashed)."""

    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_user", "user_id"),)

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
