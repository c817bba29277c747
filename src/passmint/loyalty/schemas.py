"""Program configuration and the loyalty API's request and response bodies.

A program's ``config`` is a :class:`ProgramConfig`: its currency, earn rules, tiers, expiry
and pending policies. Contradictions (a rule without a currency, tiers whose thresholds do
not rise, a rolling expiry without days ...) are refused when the program is saved.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from passmint.kit import lengths
from passmint.kit.currencies import is_currency
from passmint.kit.jsonobject import ATTRIBUTES, DETAILS
from passmint.kit.text import Line, Multiline
from passmint.kit.values import AwareDateTime, Count, IsoDate, Money, Points

MAX_POINTS = 10**12  # absurd beyond this: refused
MAX_AMOUNT = 10**13  # minor units
KEY = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Key = Annotated[Line, Field(pattern=KEY, max_length=lengths.KEY)]
"""An earn rule, tier, currency or event key."""
Name = Annotated[Line, Field(min_length=1, max_length=lengths.NAME)]
ExternalId = Annotated[Line, Field(min_length=1, max_length=lengths.EXTERNAL_ID)]
Currency = Annotated[Line, Field(max_length=lengths.CURRENCY, examples=["EUR"])]
Reason = Annotated[Multiline, Field(max_length=lengths.NOTE)]


class CurrencyConfig(Strict):
    code: Key = Field(
        default="points",
        description="points, stamps, miles, or your own: also the pass data key of the balance.",
    )
    name: Annotated[Line, Field(min_length=1, max_length=40)] = "point"
    plural: Annotated[Line, Field(min_length=1, max_length=40)] = "points"


Trigger = Literal["purchase", "visit", "enrollment", "birthday", "referral", "custom"]


class EarnRule(Strict):
    """How an activity earns. ``purchase``: ``points`` per ``per_amount`` minor units of
    ``currency`` spent (rounded ``down``, ``nearest`` or ``up``); the others: a fixed
    ``points``. ``referral`` rewards both sides of a qualified referral."""

    key: Key
    trigger: Trigger
    points: Points = Field(ge=1, le=MAX_POINTS)
    per_amount: Money | None = Field(default=None, ge=1, le=MAX_AMOUNT)
    currency: Currency | None = None
    rounding: Literal["down", "nearest", "up"] = "down"
    min_amount: Money = Field(default=0, ge=0, le=MAX_AMOUNT)
    event: Key | None = Field(default=None, description="custom: the event name.")
    tiers: list[Key] | None = Field(
        default=None, max_length=20, description="Only for these tiers."
    )
    daily_cap: Points | None = Field(default=None, ge=1, le=MAX_POINTS)
    customer_cap: Points | None = Field(default=None, ge=1, le=MAX_POINTS)
    cooldown_minutes: Count | None = Field(default=None, ge=1, le=525_600)

    @model_validator(mode="after")
    def _consistent(self) -> EarnRule:
        if self.trigger == "purchase":
            if self.per_amount is None or self.currency is None:
                raise ValueError("a purchase rule needs per_amount and currency")
        elif self.per_amount is not None:
            raise ValueError(f"per_amount only applies to purchase rules, not {self.trigger}")
        if self.currency is not None and not is_currency(self.currency):
            raise ValueError(f"unknown currency {self.currency!r} (ISO 4217, e.g. EUR)")
        if self.trigger == "custom" and self.event is None:
            raise ValueError("a custom rule needs the event it answers")
        return self


class Tier(Strict):
    key: Key
    name: Annotated[Line, Field(min_length=1, max_length=60)]
    threshold: Points = Field(ge=0, le=MAX_POINTS, description="Qualifying points to reach it.")
    multiplier: Count = Field(
        default=10_000, ge=0, le=1_000_000, description="Earn multiplier in basis points."
    )


class TierPolicy(Strict):
    metric: Literal["lifetime", "rolling", "calendar"] = "lifetime"
    rolling_days: Count | None = Field(default=None, ge=1, le=3660)
    period: Literal["month", "quarter", "year"] | None = None
    grace_days: Count = Field(default=0, ge=0, le=366)

    @model_validator(mode="after")
    def _consistent(self) -> TierPolicy:
        if self.metric == "rolling" and self.rolling_days is None:
            raise ValueError("a rolling tier qualification needs rolling_days")
        if self.metric == "calendar" and self.period is None:
            raise ValueError("a calendar tier qualification needs a period")
        return self


class ExpiryPolicy(Strict):
    kind: Literal["none", "rolling", "period_end", "inactivity"] = "none"
    days: Count | None = Field(default=None, ge=1, le=3660)
    period: Literal["month", "quarter", "year"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ExpiryPolicy:
        if self.kind in ("rolling", "inactivity") and self.days is None:
            raise ValueError(f"{self.kind} expiry needs days")
        if self.kind == "period_end" and self.period is None:
            raise ValueError("period_end expiry needs a period")
        if self.kind == "none" and (self.days is not None or self.period is not None):
            raise ValueError("expiry kind none takes neither days nor period")
        return self


class ProgramConfig(Strict):
    currency: CurrencyConfig = Field(default_factory=CurrencyConfig)
    earn_rules: list[EarnRule] = Field(default_factory=list, max_length=100)
    tiers: list[Tier] = Field(default_factory=list, max_length=20)
    tier_policy: TierPolicy = Field(default_factory=TierPolicy)
    expiry: ExpiryPolicy = Field(default_factory=ExpiryPolicy)
    pending_days: Count = Field(
        default=0, ge=0, le=365, description="Earned points wait this long."
    )
    timezone: Annotated[Line, Field(max_length=lengths.TIMEZONE)] = Field(
        default="UTC", description="For days, periods and birthdays."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ProgramConfig:
        keys = [r.key for r in self.earn_rules]
        if len(keys) != len(set(keys)):
            raise ValueError("earn rule keys must be unique")
        tier_keys = [t.key for t in self.tiers]
        if len(tier_keys) != len(set(tier_keys)):
            raise ValueError("tier keys must be unique")
        thresholds = [t.threshold for t in self.tiers]
        if thresholds and (thresholds[0] != 0 or thresholds != sorted(set(thresholds))):
            raise ValueError("tiers start at threshold 0 and their thresholds strictly rise")
        for rule in self.earn_rules:
            for tier in rule.tiers or []:
                if tier not in tier_keys:
                    raise ValueError(f"earn rule {rule.key} names unknown tier {tier!r}")
        return self


class ProgramCreate(Strict):
    name: Name
    template_id: uuid.UUID = Field(description="The pass template of the program's cards.")
    config: ProgramConfig = Field(default_factory=ProgramConfig)


class ProgramPatch(Strict):
    name: Name | None = None
    status: Literal["active", "paused", "archived"] | None = None
    config: ProgramConfig | None = None


class ProgramOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    template_id: uuid.UUID
    status: str
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime


PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


class CustomerIn(Strict):
    external_id: ExternalId | None = None
    email: Annotated[Line, Field(max_length=lengths.EMAIL)] | None = None
    phone: Annotated[Line, Field(max_length=64)] | None = Field(
        default=None, description="E.164, e.g. +33612345678."
    )
    name: Annotated[Line, Field(max_length=lengths.NAME)] | None = None
    birthday: IsoDate | None = None
    locale: Annotated[Line, Field(max_length=lengths.LOCALE)] | None = None
    attributes: Annotated[dict[str, Any], ATTRIBUTES] = Field(
        default_factory=dict,
        description=f"Your own fields, merged into the stored ones. {ATTRIBUTES.summary}",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        local, at, domain = value.partition("@")
        if not (local and at and "." in domain) or any(c.isspace() for c in value):
            raise ValueError("not an email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        compact = re.sub(r"[\s().-]", "", value)
        if not PHONE.fullmatch(compact):
            raise ValueError("phone must be in E.164 form, e.g. +33612345678")
        return compact


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    external_id: str | None
    email: str | None
    phone: str | None
    name: str | None
    birthday: date | None
    locale: str | None
    attributes: dict[str, Any]
    created_at: datetime


class AccountCreate(Strict):
    customer: CustomerIn | None = Field(default=None, description="Created or matched.")
    external_id: ExternalId | None = None
    referral_code: Annotated[Line, Field(max_length=lengths.REFERRAL_CODE)] | None = None


class AccountPatch(Strict):
    customer: CustomerIn = Field(description="Attach a customer to an anonymous card.")


class AccountOut(BaseModel):
    id: uuid.UUID
    program_id: uuid.UUID
    customer_id: uuid.UUID | None
    external_id: str | None
    number: str
    status: str
    balance: int
    pending: int
    lifetime_earned: int
    tier: str | None
    referral_code: str
    pass_id: uuid.UUID | None
    pass_urls: dict[str, str | None] | None = None
    created_at: datetime


class EntryOut(BaseModel):
    id: uuid.UUID
    kind: str
    amount: int
    status: str
    rule: str | None
    available_at: datetime
    expires_at: datetime | None
    remaining: int
    reverses_id: uuid.UUID | None
    activity_id: uuid.UUID | None
    reward_id: uuid.UUID | None
    actor_type: str
    actor_id: str | None
    note: str | None
    created_at: datetime


class ActivityIn(Strict):
    account_id: uuid.UUID | None = None
    card_number: Annotated[Line, Field(max_length=512)] | None = Field(
        default=None,
        description="Whatever the till scanned or the cashier typed: the card number, or the "
        "message of the card pass's barcode (its serial number, if the design encodes that).",
    )
    barcode_value: Annotated[Line, Field(max_length=512)] | None = Field(
        default=None,
        description="Deprecated: the same as card_number, which takes any scanned value.",
        json_schema_extra={"deprecated": True},
    )
    kind: Literal["purchase", "visit", "return", "custom"]
    amount: Money = Field(default=0, ge=0, le=MAX_AMOUNT, description="Minor units.")
    currency: Currency | None = None
    items: list[Annotated[dict[str, Any], DETAILS]] = Field(
        default_factory=list,
        max_length=500,
        description=f"The order's lines, as you describe them. Each: {DETAILS.summary}",
    )
    event: Key | None = Field(default=None, description="custom activities")
    external_id: ExternalId
    source: Annotated[Line, Field(min_length=1, max_length=lengths.SOURCE)] | None = None
    original_external_id: ExternalId | None = Field(
        default=None, description="return: the purchase it returns."
    )
    occurred_at: AwareDateTime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ActivityIn:
        given = [v for v in (self.account_id, self.card_number, self.barcode_value) if v]
        if len(given) != 1:
            raise ValueError("give exactly one of account_id, card_number, barcode_value")
        if self.currency is not None and not is_currency(self.currency):
            raise ValueError(f"unknown currency {self.currency!r}")
        if self.kind in ("purchase", "return") and (self.amount <= 0 or self.currency is None):
            raise ValueError(f"a {self.kind} needs a positive amount and its currency")
        if self.kind == "return" and self.original_external_id is None:
            raise ValueError("a return needs original_external_id (the purchase)")
        if self.kind == "custom" and self.event is None:
            raise ValueError("a custom activity needs its event")
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a time zone")
        return self


class SpendIn(Strict):
    amount: Points = Field(ge=1, le=MAX_POINTS)
    reason: Reason | None = None


class RefundIn(Strict):
    amount: Points | None = Field(default=None, ge=1, le=MAX_POINTS, description="Default: all.")
    reason: Reason | None = None


class AdjustIn(Strict):
    amount: Points = Field(ge=-MAX_POINTS, le=MAX_POINTS)
    reason: Annotated[Multiline, Field(min_length=1, max_length=lengths.NOTE)]

    @field_validator("amount")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment moves at least one point")
        return value


class RewardIn(Strict):
    name: Name
    cost: Points = Field(ge=1, le=MAX_POINTS)
    stock: Points | None = Field(default=None, ge=0, le=MAX_POINTS)
    per_customer_limit: Count | None = Field(default=None, ge=1, le=1_000_000)
    kind: Literal["coupon", "credit"]
    campaign_id: uuid.UUID | None = None
    credit_amount: Points | None = Field(default=None, ge=1, le=MAX_POINTS)

    @model_validator(mode="after")
    def _consistent(self) -> RewardIn:
        if self.kind == "coupon" and self.campaign_id is None:
            raise ValueError("a coupon reward needs the campaign its codes come from")
        if self.kind == "credit" and self.credit_amount is None:
            raise ValueError("a credit reward needs credit_amount")
        return self


class RewardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    program_id: uuid.UUID
    name: str
    cost: int
    stock: int | None
    per_customer_limit: int | None
    kind: str
    campaign_id: uuid.UUID | None
    credit_amount: int | None
    active: bool
