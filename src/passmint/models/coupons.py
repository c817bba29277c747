"""Coupons and gift cards: campaigns, code batches, codes, redemptions and their rollbacks.

Money is in minor units of the campaign's currency; counts are integers. The counters that
limits rest on (``Code.used_count``, ``Code.balance``, ``CampaignCustomerUse.used``,
``Campaign.total_used``) change only through one conditional UPDATE each in the redeeming
transaction (see ``coupons.redemptions_repository``), so concurrent redemptions can never
overspend.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column


class Campaign(Base):
    """What a code is worth (a discount, a free item or a gift-card balance) and the rules
    under which it may be redeemed."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_tenant", "tenant_id", "id"),)

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(lengths.NAME))
    kind: Mapped[str] = mapped_column(String(16))  # discount | free_item | gift_card
    status: Mapped[str] = mapped_column(String(16))  # active | paused | archived
    percent_off_bp: Mapped[int | None] = mapped_column(Integer)  # 1000 = 10 %
    amount_off: Mapped[int | None] = mapped_column(BigInteger)
    max_discount: Mapped[int | None] = mapped_column(BigInteger)  # caps a percentage
    item_sku: Mapped[str | None] = mapped_column(String(lengths.SKU))
    item_name: Mapped[str | None] = mapped_column(String(lengths.NAME))
    initial_balance: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(lengths.CURRENCY))
    template_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("templates.id"))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    timezone: Mapped[str] = mapped_column(String(lengths.TIMEZONE))
    weekdays: Mapped[list[Any] | None]  # ISO weekdays, 1 = Monday
    hours_from: Mapped[int | None] = mapped_column(Integer)  # minute of the local day
    hours_to: Mapped[int | None] = mapped_column(Integer)
    min_order_amount: Mapped[int | None] = mapped_column(BigInteger)
    max_order_amount: Mapped[int | None] = mapped_column(BigInteger)
    customer_ids: Mapped[list[Any] | None]
    tiers: Mapped[list[Any] | None]
    per_customer_limit: Mapped[int | None] = mapped_column(BigInteger)
    total_limit: Mapped[int | None] = mapped_column(BigInteger)
    # Redemptions counted while ``total_limit`` is set (recounted when a limit is set), so
    # campaigns without one never serialize their redemptions on this row.
    total_used: Mapped[int] = mapped_column(BigInteger)
    code_max_uses: Mapped[int | None] = mapped_column(Integer)  # default for new codes
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CodeBatch(Base):
    """Codes generated from a pattern (possibly by several jobs) or imported from CSV."""

    __tablename__ = "code_batches"
    __table_args__ = (
        Index("ix_code_batches_campaign", "campaign_id", "id"),
        # the 1,000x pattern rule sums a tenant's batches of one pattern
        Index("ix_code_batches_tenant_pattern", "tenant_id", "pattern"),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    source: Mapped[str] = mapped_column(String(16))  # generated | imported
    status: Mapped[str] = mapped_column(String(16))  # generating | ready | failed
    prefix: Mapped[str | None] = mapped_column(String(lengths.CODE_PREFIX))
    pattern: Mapped[str | None] = mapped_column(String(lengths.CODE_PATTERN))
    charset: Mapped[str | None] = mapped_column(String(lengths.CODE_CHARSET))
    requested: Mapped[int] = mapped_column(BigInteger)
    inserted: Mapped[int] = mapped_column(BigInteger)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    balance: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class Code(Base):
    """One code. ``code_normalized`` (upper case, no separators, ambiguous characters
    folded) is unique per tenant; ``code`` is the form customers see."""

    __tablename__ = "codes"
    # Partial indexes where most rows are NULL: a fresh batch of a million codes then pays
    # for two index entries per code fewer.
    __table_args__ = (
        UniqueConstraint("tenant_id", "code_normalized"),
        Index(
            "uq_codes_tenant_id_publication_key",
            "tenant_id",
            "publication_key",
            unique=True,
            postgresql_where=text("publication_key IS NOT NULL"),
            sqlite_where=text("publication_key IS NOT NULL"),
        ),
        Index("ix_codes_campaign", "campaign_id", "id"),
        Index(
            "ix_codes_customer",
            "customer_id",
            postgresql_where=text("customer_id IS NOT NULL"),
            sqlite_where=text("customer_id IS NOT NULL"),
        ),
        Index(
            "ix_codes_unpublished",
            "campaign_id",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = id_column()
    # No foreign keys on the three columns a batch fills: PostgreSQL checks each one per
    # inserted row (a lookup and a lock on the parent, a million times for a batch of a
    # million), which cost more than writing the rows. What they guarded holds without
    # them: codes are written only by coupons.batches_repository and coupons.repository,
    # each for a campaign it read in the same transaction under the tenant's id (with the
    # batch it just made), and no code path deletes a tenant, campaign or batch.
    tenant_id: Mapped[uuid.UUID] = mapped_column()
    campaign_id: Mapped[uuid.UUID] = mapped_column()
    batch_id: Mapped[uuid.UUID | None] = mapped_column()
    code: Mapped[str] = mapped_column(String(lengths.CODE))
    code_normalized: Mapped[str] = mapped_column(String(lengths.CODE))
    status: Mapped[str] = mapped_column(String(16))  # active | voided
    max_uses: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    used_count: Mapped[int] = mapped_column(Integer)
    balance: Mapped[int | None] = mapped_column(BigInteger)  # gift cards
    expires_at: Mapped[datetime | None]
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    pass_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("passes.id"))
    publication_key: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class CampaignCustomerUse(Base):
    """How many redemptions of a campaign a customer holds: the per-customer limit is one
    conditional upsert on this row."""

    __tablename__ = "campaign_customer_uses"

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    used: Mapped[int] = mapped_column(BigInteger)


class Redemption(Base):
    """A committed use of a code; a failed attempt leaves no row (nothing is half-applied)."""

    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_redemptions_code", "code_id"),
        Index("ix_redemptions_campaign", "campaign_id", "id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    code_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("codes.id"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    idempotency_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))  # committed | rolled_back
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # discount given or gift-card charge
    currency: Mapped[str | None] = mapped_column(String(lengths.CURRENCY))
    order_amount: Mapped[int | None] = mapped_column(BigInteger)
    order_ref: Mapped[str | None] = mapped_column(String(lengths.EXTERNAL_ID))
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    rolled_back_amount: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]]
    api_key_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
    rolled_back_at: Mapped[datetime | None]


class RedemptionRollback(Base):
    """One (possibly partial, for gift cards) undo of a redemption."""

    __tablename__ = "redemption_rollbacks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_redemption_rollbacks_redemption", "redemption_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redemptions.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(lengths.NOTE))
    idempotency_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
