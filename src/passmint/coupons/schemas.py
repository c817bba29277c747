"""Request and response bodies of campaigns, code batches, codes, validations and
redemptions. Money is an integer in minor units with an ISO 4217 currency; times are
ISO-8601 with a zone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from passmint.coupons.rules import Kind
from passmint.kit import lengths
from passmint.kit.text import Line, Multiline
from passmint.kit.values import AwareDateTime, Count, Money
from passmint.passes.schemas import PassOut

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Name = Annotated[Line, Field(min_length=1, max_length=lengths.NAME)]
Sku = Annotated[Line, Field(min_length=1, max_length=lengths.SKU)]
Currency = Annotated[Line, Field(max_length=8, examples=["EUR"])]
"""Checked against ISO 4217 by the rules (``unknown_currency``): what is stored has 3 letters."""
Reason = Annotated[Multiline, Field(max_length=lengths.NOTE)]
HoursMinutes = Annotated[Line, Field(pattern=HHMM)]


class CampaignRules(Strict):
    """When and for whom codes are valid. Leave a field out for no restriction. Checked
    against each other: a contradiction is a 400 ``invalid_rules`` naming the field."""

    starts_at: AwareDateTime | None = Field(default=None, description="Valid from (inclusive).")
    ends_at: AwareDateTime | None = Field(default=None, description="Expires at (exclusive).")
    timezone: Annotated[Line, Field(max_length=lengths.TIMEZONE)] = Field(
        default="UTC", description="IANA zone of weekdays and hours."
    )
    weekdays: list[StrictInt] | None = Field(
        default=None, max_length=7, description="ISO weekdays: 1 = Monday … 7 = Sunday."
    )
    hours_from: HoursMinutes | None = Field(default=None, description="Local time of day, HH:MM.")
    hours_to: HoursMinutes | None = Field(
        default=None,
        description="HH:MM, exclusive; earlier than hours_from for a window across midnight.",
    )
    min_order_amount: Money | None = Field(default=None, description="Minor units, `currency`.")
    max_order_amount: Money | None = Field(default=None, description="Minor units, `currency`.")
    per_customer_limit: Count | None = Field(
        default=None, description="Redemptions per customer in this campaign."
    )
    total_limit: Count | None = Field(default=None, description="Redemptions in this campaign.")
    max_uses_per_code: Count | None = Field(
        default=None,
        description="Uses of each new code (null: unlimited). Defaults to 1 for discount and "
        "free_item campaigns and to unlimited for gift cards (spent by balance).",
    )
    customer_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=1000, description="Only these customers."
    )
    tiers: list[Annotated[Line, Field(max_length=lengths.KEY)]] | None = Field(
        default=None,
        max_length=100,
        description="Only customers with a loyalty card in one of these tiers.",
    )


class CampaignCreate(Strict):
    """A ``discount`` (``percent_off_bp`` or ``amount_off`` + ``currency``, optional
    ``max_discount`` cap), a ``free_item`` (``item_sku`` and/or ``item_name``) or a
    ``gift_card`` (``initial_balance`` + ``currency``). With a ``template_id``, each code
    handed to a customer gets its own pass showing the code's state."""

    name: Name = Field(examples=["Spring 10 % off"])
    kind: Kind
    status: Literal["active", "paused"] = "active"
    percent_off_bp: Count | None = Field(default=None, description="Basis points: 1000 = 10 %.")
    amount_off: Money | None = Field(default=None, description="Minor units of `currency`.")
    max_discount: Money | None = Field(default=None, description="Caps a percentage discount.")
    currency: Currency | None = None
    item_sku: Sku | None = None
    item_name: Name | None = None
    initial_balance: Money | None = Field(default=None, description="Gift cards, minor units.")
    template_id: uuid.UUID | None = None
    rules: CampaignRules = Field(default_factory=CampaignRules)


class CampaignPatch(Strict):
    """Fields to change; in ``rules`` only the fields sent change (null clears one). The
    kind and currency are fixed. Existing codes keep their own ``max_uses``."""

    name: Name | None = None
    status: Literal["active", "paused", "archived"] | None = None
    percent_off_bp: Count | None = None
    amount_off: Money | None = None
    max_discount: Money | None = None
    item_sku: Sku | None = None
    item_name: Name | None = None
    initial_balance: Money | None = None
    template_id: uuid.UUID | None = None
    rules: CampaignRules | None = None


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: Kind
    status: str
    percent_off_bp: int | None
    amount_off: int | None
    max_discount: int | None
    currency: str | None
    item_sku: str | None
    item_name: str | None
    initial_balance: int | None
    template_id: uuid.UUID | None
    rules: CampaignRules
    total_used: int | None = Field(
        description="Redemptions counted against `total_limit` (null without one)."
    )
    created_at: datetime
    updated_at: datetime


class BatchCreate(Strict):
    """Generate ``count`` unique codes: ``prefix`` + ``pattern`` (``#`` = a random
    ``charset`` character, other characters as they are) or ``length`` random characters.
    The default charset leaves out 0/O and 1/I/L. Up to 10,000 codes are made in the
    request (201, status ``ready``); larger batches are made by jobs (202, status
    ``generating``, ``inserted`` grows; poll the batch)."""

    count: Count = Field(ge=1, le=1_000_000)
    prefix: Annotated[Line, Field(max_length=lengths.CODE_PREFIX)] | None = Field(
        default=None, examples=["SPRING-"]
    )
    pattern: Annotated[Line, Field(max_length=lengths.CODE_PATTERN)] | None = Field(
        default=None, examples=["####-####"]
    )
    charset: Annotated[Line, Field(max_length=lengths.CODE_CHARSET)] | None = None
    length: Count | None = Field(default=None, description="Without a pattern; default 10.")
    max_uses: Count | None = Field(
        default=None, description="Uses of each code; defaults to the campaign's."
    )
    balance: Money | None = Field(
        default=None, description="Gift cards: each code's balance; defaults to the campaign's."
    )
    expires_at: AwareDateTime | None = None


class BatchOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    source: Literal["generated", "imported"]
    status: Literal["generating", "ready", "failed"]
    prefix: str | None
    pattern: str | None
    charset: str | None
    requested: int
    inserted: int
    max_uses: int | None
    balance: int | None
    expires_at: datetime | None
    error: str | None
    created_at: datetime
    completed_at: datetime | None


class CodeOut(BaseModel):
    id: uuid.UUID
    code: str = Field(description="As customers see it; lookups normalize it.")
    campaign_id: uuid.UUID
    batch_id: uuid.UUID | None
    state: Literal["active", "redeemed", "expired", "voided"] = Field(
        description="redeemed: no use left (or an empty gift card)."
    )
    max_uses: int | None
    used_count: int
    uses_left: int | None
    balance: int | None
    currency: str | None
    expires_at: datetime | None
    customer_id: uuid.UUID | None
    pass_id: uuid.UUID | None
    published_at: datetime | None
    created_at: datetime
    wallet_pass: PassOut | None = Field(
        default=None, description="The code's pass, when one code is returned."
    )


class PublicationIn(Strict):
    customer_id: uuid.UUID | None = Field(
        default=None, description="The customer who gets the code (and its pass)."
    )


class OrderItem(Strict):
    sku: Sku
    quantity: Count = Field(default=1, ge=1, le=100_000)
    unit_price: Money | None = Field(default=None, ge=0, le=10**12)


class OrderIn(Strict):
    amount: Money = Field(description="Order total, minor units.")
    currency: Currency
    items: list[OrderItem] = Field(default_factory=list, max_length=500)
    id: Annotated[Line, Field(max_length=lengths.EXTERNAL_ID)] | None = Field(
        default=None, description="Your order reference."
    )


class RedeemIn(Strict):
    """A code as typed or scanned, the order it applies to, and for gift cards the
    ``amount`` to charge (default: the order amount)."""

    code: Annotated[Line, Field(min_length=1, max_length=200)]
    customer_id: uuid.UUID | None = None
    order: OrderIn | None = None
    amount: Money | None = Field(default=None, description="Gift cards: minor units to charge.")


class RollbackIn(Strict):
    amount: Money | None = Field(
        default=None,
        description="Gift cards: part of the charge to give back (default: all that is left). "
        "Other redemptions are rolled back whole.",
    )
    reason: Reason | None = None


class CampaignRef(BaseModel):
    id: uuid.UUID
    name: str
    kind: Kind


class ValueOut(BaseModel):
    kind: Kind
    amount: int = Field(
        description="Discount given, the free item's price when the order lists it, or the "
        "gift-card charge (minor units)."
    )
    currency: str | None
    percent_off_bp: int | None = None
    item_sku: str | None = None
    item_name: str | None = None
    balance_before: int | None = None
    balance_after: int | None = None


class ErrorOut(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ValidationOut(BaseModel):
    valid: bool
    code: str | None = Field(default=None, description="The code as customers see it.")
    campaign: CampaignRef | None = None
    value: ValueOut | None = None
    uses_left: int | None = None
    error: ErrorOut | None = Field(
        default=None, description="Why not: the code a redemption would have failed with."
    )


class RollbackOut(BaseModel):
    id: uuid.UUID
    amount: int
    reason: str | None
    created_at: datetime


class RedemptionOut(BaseModel):
    id: uuid.UUID
    status: Literal["committed", "rolled_back"]
    code_id: uuid.UUID
    code: str
    campaign_id: uuid.UUID
    customer_id: uuid.UUID | None
    value: ValueOut
    order_amount: int | None
    order_ref: str | None
    rolled_back_amount: int
    rollbacks: list[RollbackOut]
    created_at: datetime
    rolled_back_at: datetime | None
