"""A campaign's terms: checking a definition for contradictions, and judging one attempt to
use a code. Pure: the clock and the customer's facts are passed in.

The verdicts come in the order that keeps codes from being enumerated: first only what a
holder of a dead code may learn (:func:`check_usable`: not found, expired, used up), then,
once the code is proven usable, the conditions and the value.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from passmint.coupons.errors import (
    CodeExpired,
    CodeNotActiveYet,
    CodeNotFound,
    ConditionsNotMet,
    InsufficientBalance,
    InvalidAmount,
    InvalidInput,
    InvalidRules,
    UnknownCurrency,
    UsageLimitReached,
)
from passmint.kit.currencies import is_currency

MAX_AMOUNT = 10**12  # minor units: ten billion euros is not an order
MAX_COUNT = 10**9
MAX_LIST = 1000
BASIS_POINTS = 10_000


class Kind(StrEnum):
    DISCOUNT = "discount"
    FREE_ITEM = "free_item"
    GIFT_CARD = "gift_card"


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Terms:
    """What a campaign gives and when (mirrors the campaign's columns)."""

    kind: str
    percent_off_bp: int | None = None
    amount_off: int | None = None
    max_discount: int | None = None
    item_sku: str | None = None
    item_name: str | None = None
    initial_balance: int | None = None
    currency: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    timezone: str = "UTC"
    weekdays: tuple[int, ...] | None = None
    hours_from: int | None = None  # minute of the local day
    hours_to: int | None = None
    min_order_amount: int | None = None
    max_order_amount: int | None = None
    customer_ids: frozenset[uuid.UUID] | None = None
    tiers: frozenset[str] | None = None
    per_customer_limit: int | None = None
    total_limit: int | None = None
    code_max_uses: int | None = None


def _invalid(field: str, message: str) -> InvalidRules:
    return InvalidRules(f"{field}: {message}", details={"field": field})


def check_amount(field: str, value: int | None, *, minimum: int = 0) -> None:
    if value is None:
        return
    if value < minimum:
        raise InvalidAmount(
            f"{field} must be at least {minimum} (minor units)",
            details={"field": field, "minimum": minimum},
        )
    if value > MAX_AMOUNT:
        raise InvalidAmount(f"{field} is over {MAX_AMOUNT} minor units", details={"field": field})


def check_currency(field: str, value: str | None) -> None:
    if value is not None and not is_currency(value):
        raise UnknownCurrency(
            f"{field}: {value!r} is not an ISO 4217 currency code (e.g. EUR)",
            details={"field": field},
        )


def _check_count(field: str, value: int | None) -> None:
    if value is not None and not 1 <= value <= MAX_COUNT:
        raise _invalid(field, f"must be between 1 and {MAX_COUNT}")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid(
            "timezone", f"{name!r} is not an IANA time zone (e.g. Europe/Paris)"
        ) from None


def check_terms(terms: Terms) -> None:
    """Raise a 4xx naming the field if the definition is incomplete or contradictory."""
    check_currency("currency", terms.currency)
    for field in (
        "amount_off",
        "max_discount",
        "initial_balance",
        "min_order_amount",
        "max_order_amount",
    ):
        check_amount(field, getattr(terms, field))
    if terms.kind == Kind.DISCOUNT:
        if (terms.percent_off_bp is None) == (terms.amount_off is None):
            raise _invalid("percent_off_bp", "a discount is a percentage or an amount_off")
        if terms.percent_off_bp is not None and not 1 <= terms.percent_off_bp <= BASIS_POINTS:
            raise _invalid("percent_off_bp", "basis points from 1 to 10000 (100 %)")
        if terms.amount_off is not None:
            if terms.amount_off < 1:
                raise InvalidAmount("amount_off must be positive", details={"field": "amount_off"})
            if terms.currency is None:
                raise _invalid("currency", "an amount_off needs its currency")
            if terms.max_discount is not None:
                raise _invalid("max_discount", "only a percentage discount takes a cap")
    else:
        for field in ("percent_off_bp", "amount_off", "max_discount"):
            if getattr(terms, field) is not None:
                raise _invalid(field, f"only discount campaigns take {field}")
    if terms.kind == Kind.FREE_ITEM:
        if not terms.item_sku and not terms.item_name:
            raise _invalid("item_sku", "a free item needs its sku or its name")
    elif terms.item_sku is not None or terms.item_name is not None:
        raise _invalid("item_sku", "only free_item campaigns name an item")
    if terms.kind == Kind.GIFT_CARD:
        if terms.initial_balance is None or terms.initial_balance < 1:
            raise _invalid("initial_balance", "a gift card starts with a positive balance")
        if terms.currency is None:
            raise _invalid("currency", "a gift card needs its currency")
    elif terms.initial_balance is not None:
        raise _invalid("initial_balance", "only gift_card campaigns have a balance")
    if (
        terms.starts_at is not None
        and terms.ends_at is not None
        and terms.ends_at <= terms.starts_at
    ):
        raise _invalid("ends_at", "ends_at must be after starts_at")
    zone(terms.timezone)
    if terms.weekdays is not None:
        if not terms.weekdays or any(not 1 <= d <= 7 for d in terms.weekdays):
            raise _invalid("weekdays", "ISO weekdays: 1 (Monday) to 7 (Sunday), at least one")
        if len(set(terms.weekdays)) != len(terms.weekdays):
            raise _invalid("weekdays", "a weekday is listed twice")
    if (terms.hours_from is None) != (terms.hours_to is None):
        raise _invalid("hours", "hours need both from and to")
    if terms.hours_from is not None and terms.hours_from == terms.hours_to:
        raise _invalid("hours", "hours from and to are equal (leave hours out for all day)")
    has_order_rule = terms.min_order_amount is not None or terms.max_order_amount is not None
    if has_order_rule and terms.currency is None:
        raise _invalid("currency", "order amounts need the currency they are in")
    if (
        terms.min_order_amount is not None
        and terms.max_order_amount is not None
        and terms.min_order_amount > terms.max_order_amount
    ):
        raise _invalid("min_order_amount", "min_order_amount is above max_order_amount")
    _check_count("per_customer_limit", terms.per_customer_limit)
    _check_count("total_limit", terms.total_limit)
    _check_count("code_max_uses", terms.code_max_uses)
    if terms.customer_ids is not None and not terms.customer_ids:
        raise _invalid("customer_ids", "an empty list admits nobody (leave it out for everyone)")
    if terms.tiers is not None and not terms.tiers:
        raise _invalid("tiers", "an empty list admits nobody (leave it out for every tier)")
    for field in ("customer_ids", "tiers"):
        value = getattr(terms, field)
        if value is not None and len(value) > MAX_LIST:
            raise _invalid(field, f"at most {MAX_LIST} entries")
    if terms.tiers is not None and any(not 1 <= len(t) <= 64 for t in terms.tiers):
        raise _invalid("tiers", "a tier key is 1 to 64 characters")


# -- judging an attempt ----------------------------------------------------------------------


@dataclass(frozen=True)
class CodeState:
    status: str  # active | voided
    max_uses: int | None
    used_count: int
    balance: int | None
    expires_at: datetime | None
    customer_id: uuid.UUID | None


@dataclass(frozen=True)
class Item:
    sku: str
    quantity: int
    unit_price: int | None


@dataclass(frozen=True)
class Attempt:
    """One use of a code, as the POS describes it, with the customer's facts."""

    order_amount: int | None = None
    currency: str | None = None
    items: tuple[Item, ...] = ()
    amount: int | None = None  # gift cards: how much to charge
    customer_id: uuid.UUID | None = None  # sent, or the code's holder
    sent_customer_id: uuid.UUID | None = None
    tiers: frozenset[str] = frozenset()
    customer_uses: int = 0


@dataclass(frozen=True)
class Value:
    """What the code gives for this attempt."""

    kind: str
    amount: int  # discount given, item price if known, or gift-card charge (minor units)
    currency: str | None
    percent_off_bp: int | None = None
    item_sku: str | None = None
    item_name: str | None = None
    balance_before: int | None = None
    balance_after: int | None = None


def is_expired(terms: Terms, code: CodeState, now: datetime) -> bool:
    return (code.expires_at is not None and code.expires_at <= now) or (
        terms.ends_at is not None and terms.ends_at <= now
    )


def uses_left(code: CodeState) -> int | None:
    return None if code.max_uses is None else max(0, code.max_uses - code.used_count)


def check_usable(
    terms: Terms, campaign_status: str, total_used: int, code: CodeState, now: datetime
) -> None:
    """The verdicts a holder of any code text may learn."""
    if code.status != "active" or campaign_status != CampaignStatus.ACTIVE:
        raise CodeNotFound("no such code")
    if is_expired(terms, code, now):
        raise CodeExpired("this code has expired")
    if code.max_uses is not None and code.used_count >= code.max_uses:
        raise UsageLimitReached("this code has been used up", details={"scope": "code"})
    if terms.total_limit is not None and total_used >= terms.total_limit:
        raise UsageLimitReached(
            "this campaign's codes have been used up", details={"scope": "campaign"}
        )


def _unmet(condition: str, message: str, **details: object) -> ConditionsNotMet:
    return ConditionsNotMet(message, details={"condition": condition, **details})


def _in_hours(local: datetime, start: int, end: int) -> bool:
    minute = local.hour * 60 + local.minute
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # a window across midnight


def check_conditions(terms: Terms, code: CodeState, attempt: Attempt, now: datetime) -> None:
    """The campaign's conditions, once the code is known to be usable."""
    if terms.starts_at is not None and now < terms.starts_at:
        raise CodeNotActiveYet(
            "this code cannot be used yet", details={"starts_at": terms.starts_at.isoformat()}
        )
    if terms.currency is not None and attempt.currency not in (None, terms.currency):
        raise _unmet(
            "currency", f"this code applies to orders in {terms.currency}", currency=terms.currency
        )
    amount = attempt.order_amount
    if terms.min_order_amount is not None and (amount is None or amount < terms.min_order_amount):
        raise _unmet(
            "min_amount",
            f"the order must be at least {terms.min_order_amount} {terms.currency}",
            min_order_amount=terms.min_order_amount,
            currency=terms.currency,
        )
    if terms.max_order_amount is not None and (amount is None or amount > terms.max_order_amount):
        raise _unmet(
            "max_amount",
            f"the order must be at most {terms.max_order_amount} {terms.currency}",
            max_order_amount=terms.max_order_amount,
            currency=terms.currency,
        )
    local = now.astimezone(zone(terms.timezone))
    if terms.weekdays is not None and local.isoweekday() not in terms.weekdays:
        raise _unmet(
            "weekday",
            "this code is not valid today",
            weekdays=list(terms.weekdays),
            timezone=terms.timezone,
        )
    start, end = terms.hours_from, terms.hours_to
    if start is not None and end is not None and not _in_hours(local, start, end):
        raise _unmet(
            "hours",
            "this code is not valid at this hour",
            hours_from=f"{start // 60:02d}:{start % 60:02d}",
            hours_to=f"{end // 60:02d}:{end % 60:02d}",
            timezone=terms.timezone,
        )
    if (
        code.customer_id is not None
        and attempt.sent_customer_id is not None
        and attempt.sent_customer_id != code.customer_id
    ):
        raise _unmet("customer", "this code belongs to another customer")
    if terms.customer_ids is not None and attempt.customer_id not in terms.customer_ids:
        raise _unmet("customer", "this code is reserved for other customers")
    if terms.tiers is not None and not (terms.tiers & attempt.tiers):
        raise _unmet("tier", "this code is reserved for other tiers", tiers=sorted(terms.tiers))
    if terms.per_customer_limit is not None:
        if attempt.customer_id is None:
            raise _unmet("customer", "this code needs to know the customer (customer_id)")
        if attempt.customer_uses >= terms.per_customer_limit:
            raise _unmet(
                "per_customer_limit",
                "this customer has used this campaign as often as allowed",
                limit=terms.per_customer_limit,
            )


def value_of(terms: Terms, code: CodeState, attempt: Attempt) -> Value:
    """The discount, item or gift-card charge this attempt gets."""
    if terms.kind == Kind.GIFT_CARD:
        charge = attempt.amount if attempt.amount is not None else attempt.order_amount
        if charge is None:
            raise InvalidInput(
                "a gift card needs the amount to charge (amount or order.amount)",
                details={"field": "amount"},
            )
        if charge < 1:
            raise InvalidAmount(
                "the amount to charge must be positive", details={"field": "amount"}
            )
        balance = code.balance or 0
        if charge > balance:
            raise InsufficientBalance(
                f"the card holds {balance} {terms.currency}",
                details={"balance": balance, "currency": terms.currency},
            )
        return Value(
            kind=terms.kind,
            amount=charge,
            currency=terms.currency,
            balance_before=balance,
            balance_after=balance - charge,
        )
    if terms.kind == Kind.FREE_ITEM:
        price = next(
            (
                item.unit_price
                for item in attempt.items
                if item.sku == terms.item_sku and item.unit_price is not None
            ),
            None,
        )
        return Value(
            kind=terms.kind,
            amount=price or 0,
            currency=attempt.currency or terms.currency,
            item_sku=terms.item_sku,
            item_name=terms.item_name,
        )
    if terms.amount_off is not None:
        amount = terms.amount_off
        if attempt.order_amount is not None:
            amount = min(amount, attempt.order_amount)
        return Value(kind=terms.kind, amount=amount, currency=terms.currency)
    assert terms.percent_off_bp is not None
    if attempt.order_amount is None:
        raise InvalidInput(
            "a percentage discount needs the order (order.amount and order.currency)",
            details={"field": "order"},
        )
    amount = attempt.order_amount * terms.percent_off_bp // BASIS_POINTS
    if terms.max_discount is not None:
        amount = min(amount, terms.max_discount)
    return Value(
        kind=terms.kind,
        amount=amount,
        currency=attempt.currency or terms.currency,
        percent_off_bp=terms.percent_off_bp,
    )
