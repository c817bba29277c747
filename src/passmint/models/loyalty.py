"""Loyalty: customers, programs, accounts (cards), the append-only ledger, activities,
rewards and referrals. Points are integers; money is in minor units."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "phone"),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    external_id: Mapped[str | None] = mapped_column(String(lengths.EXTERNAL_ID))
    email: Mapped[str | None] = mapped_column(String(lengths.EMAIL))
    phone: Mapped[str | None] = mapped_column(String(lengths.PHONE))  # E.164
    name: Mapped[str | None] = mapped_column(String(lengths.NAME))
    birthday: Mapped[date | None] = mapped_column(Date)
    locale: Mapped[str | None] = mapped_column(String(lengths.LOCALE))
    attributes: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Program(Base):
    """A loyalty program: its currency, earn rules, tiers, expiry and pending policies
    (``config``, validated by ``loyalty.schemas.ProgramConfig``) and the pass template."""

    __tablename__ = "programs"

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(lengths.NAME))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    status: Mapped[str] = mapped_column(String(16))  # active | paused | archived
    config: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Account(Base):
    """A card in a program; anonymous until a customer is attached. Balances are caches of
    the ledger (``loyalty.ledger.rebuild_balances`` recomputes them)."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("program_id", "customer_id"),
        UniqueConstraint("program_id", "number"),
        UniqueConstraint("tenant_id", "referral_code"),
        UniqueConstraint("pass_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programs.id"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    external_id: Mapped[str | None] = mapped_column(String(lengths.EXTERNAL_ID))
    number: Mapped[str] = mapped_column(String(32))
    pass_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("passes.id"))
    status: Mapped[str] = mapped_column(String(16))  # active | closed
    balance: Mapped[int] = mapped_column(BigInteger)  # available
    pending: Mapped[int] = mapped_column(BigInteger)
    lifetime_earned: Mapped[int] = mapped_column(BigInteger)
    tier: Mapped[str | None] = mapped_column(String(lengths.KEY))
    tier_since: Mapped[datetime | None]
    tier_review_at: Mapped[datetime | None]  # when a downgrade may happen (period end + grace)
    referral_code: Mapped[str] = mapped_column(String(lengths.REFERRAL_CODE))
    referred_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    last_activity_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LedgerEntry(Base):
    """One append-only movement of value. Credits (earn, refund, adjust +) are lots whose
    ``remaining`` is consumed first-expiring-first by debits (spend, expire, adjust -,
    reversal of a credit); ``LotAllocation`` says which debit took what from which lot."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_ledger_entries_account", "account_id", "created_at"),
        Index("ix_ledger_entries_lots", "account_id", "remaining", "expires_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # signed
    status: Mapped[str] = mapped_column(String(16))  # pending | posted
    available_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    remaining: Mapped[int] = mapped_column(BigInteger)  # credits: not yet consumed
    activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id"))
    reward_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rewards.id"))
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_entries.id"))
    rule: Mapped[str | None] = mapped_column(String(lengths.KEY))
    actor_type: Mapped[str] = mapped_column(String(16))  # api_key | staff | rule | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(String(lengths.NOTE))
    created_at: Mapped[datetime]


class LotAllocation(Base):
    __tablename__ = "lot_allocations"
    __table_args__ = (Index("ix_lot_allocations_credit", "credit_id"),)

    id: Mapped[uuid.UUID] = id_column()
    debit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    credit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_entries.id"))
    amount: Mapped[int] = mapped_column(BigInteger)


class Activity(Base):
    """A POS or CRM event, exactly once per (tenant, source, external_id): a replay
    returns ``result`` and posts nothing."""

    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "external_id"),)

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    source: Mapped[str] = mapped_column(String(lengths.SOURCE))
    external_id: Mapped[str] = mapped_column(String(lengths.EXTERNAL_ID))
    request_hash: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(lengths.CURRENCY))
    items: Mapped[list[Any]]
    original_activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id"))
    returned_amount: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]


class Reward(Base):
    """A catalogue entry: costs ``cost`` of the program's currency; issues a coupon code of
    ``campaign_id`` or credits ``credit_amount`` to a balance."""

    __tablename__ = "rewards"

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programs.id"))
    name: Mapped[str] = mapped_column(String(lengths.NAME))
    cost: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int | None] = mapped_column(BigInteger)  # left; None = unlimited
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # coupon | credit
    campaign_id: Mapped[uuid.UUID | None]
    credit_amount: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool]
    created_at: Mapped[datetime]


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("referee_account_id"),)

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    referrer_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    referee_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    status: Mapped[str] = mapped_column(String(16))  # pending | rewarded
    qualified_activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id"))
    created_at: Mapped[datetime]
    rewarded_at: Mapped[datetime | None]
