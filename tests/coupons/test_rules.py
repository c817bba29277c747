"""A campaign's terms: contradictions, and the verdict on one attempt (pure)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

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
from passmint.coupons.rules import (
    Attempt,
    CodeState,
    Item,
    Terms,
    check_conditions,
    check_terms,
    check_usable,
    value_of,
)
from passmint.errors import PassmintError

# A Wednesday, 10:30 in Paris (UTC+1 in November).
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
CODE = CodeState(
    status="active", max_uses=1, used_count=0, balance=None, expires_at=None, customer_id=None
)
TEN_PERCENT = Terms(kind="discount", percent_off_bp=1000)


@pytest.mark.parametrize(
    ("terms", "error", "field"),
    [
        (Terms(kind="discount"), InvalidRules, "percent_off_bp"),
        (Terms(kind="discount", percent_off_bp=10, amount_off=5), InvalidRules, "percent_off_bp"),
        (Terms(kind="discount", percent_off_bp=10_001), InvalidRules, "percent_off_bp"),
        (Terms(kind="discount", amount_off=500), InvalidRules, "currency"),
        (Terms(kind="discount", amount_off=-5, currency="EUR"), InvalidAmount, "amount_off"),
        (Terms(kind="discount", amount_off=10**13, currency="EUR"), InvalidAmount, "amount_off"),
        (Terms(kind="discount", amount_off=5, currency="EUX"), UnknownCurrency, "currency"),
        (Terms(kind="discount", amount_off=5, currency="eur"), UnknownCurrency, "currency"),
        (
            Terms(kind="discount", amount_off=5, currency="EUR", max_discount=3),
            InvalidRules,
            "max_discount",
        ),
        (Terms(kind="free_item"), InvalidRules, "item_sku"),
        (Terms(kind="free_item", item_sku="X", percent_off_bp=5), InvalidRules, "percent_off_bp"),
        (Terms(kind="gift_card", currency="EUR"), InvalidRules, "initial_balance"),
        (Terms(kind="gift_card", initial_balance=5000), InvalidRules, "currency"),
        (replace(TEN_PERCENT, initial_balance=5), InvalidRules, "initial_balance"),
        (replace(TEN_PERCENT, starts_at=NOW, ends_at=NOW), InvalidRules, "ends_at"),
        (replace(TEN_PERCENT, timezone="Mars/Olympus"), InvalidRules, "timezone"),
        (replace(TEN_PERCENT, timezone="../etc/passwd"), InvalidRules, "timezone"),
        (replace(TEN_PERCENT, weekdays=(0,)), InvalidRules, "weekdays"),
        (replace(TEN_PERCENT, weekdays=(1, 1)), InvalidRules, "weekdays"),
        (replace(TEN_PERCENT, weekdays=()), InvalidRules, "weekdays"),
        (replace(TEN_PERCENT, hours_from=600), InvalidRules, "hours"),
        (replace(TEN_PERCENT, hours_from=600, hours_to=600), InvalidRules, "hours"),
        (replace(TEN_PERCENT, min_order_amount=100), InvalidRules, "currency"),
        (
            replace(TEN_PERCENT, currency="EUR", min_order_amount=500, max_order_amount=100),
            InvalidRules,
            "min_order_amount",
        ),
        (
            replace(TEN_PERCENT, currency="EUR", min_order_amount=-1),
            InvalidAmount,
            "min_order_amount",
        ),
        (replace(TEN_PERCENT, per_customer_limit=0), InvalidRules, "per_customer_limit"),
        (replace(TEN_PERCENT, total_limit=-3), InvalidRules, "total_limit"),
        (replace(TEN_PERCENT, code_max_uses=0), InvalidRules, "code_max_uses"),
        (replace(TEN_PERCENT, customer_ids=frozenset()), InvalidRules, "customer_ids"),
        (replace(TEN_PERCENT, tiers=frozenset()), InvalidRules, "tiers"),
        (replace(TEN_PERCENT, tiers=frozenset({"x" * 65})), InvalidRules, "tiers"),
    ],
)
def test_contradictions_name_the_field(
    terms: Terms, error: type[PassmintError], field: str
) -> None:
    with pytest.raises(error) as caught:
        check_terms(terms)
    assert caught.value.details["field"] == field
    assert caught.value.status == 400


def test_sound_terms_pass() -> None:
    check_terms(
        replace(
            TEN_PERCENT,
            max_discount=2000,
            currency="JPY",
            starts_at=NOW,
            ends_at=NOW + timedelta(days=30),
            timezone="Europe/Paris",
            weekdays=(1, 3, 5),
            hours_from=22 * 60,
            hours_to=2 * 60,
            min_order_amount=100,
            max_order_amount=100,
            per_customer_limit=2,
            total_limit=1000,
            tiers=frozenset({"gold"}),
        )
    )
    check_terms(Terms(kind="gift_card", initial_balance=5000, currency="EUR", code_max_uses=None))
    check_terms(Terms(kind="free_item", item_name="Coffee"))


def test_what_a_dead_code_discloses() -> None:
    past = NOW - timedelta(days=1)
    expired = replace(CODE, expires_at=past)
    used = replace(CODE, used_count=1)
    # voided or in a paused campaign: not found, even when expired and used up as well
    for status, campaign in (("voided", "active"), ("active", "paused"), ("active", "archived")):
        with pytest.raises(CodeNotFound):
            check_usable(
                TEN_PERCENT, campaign, 0, replace(used, status=status, expires_at=past), NOW
            )
    with pytest.raises(CodeExpired):
        check_usable(TEN_PERCENT, "active", 0, replace(used, expires_at=past), NOW)
    with pytest.raises(CodeExpired):
        check_usable(replace(TEN_PERCENT, ends_at=NOW), "active", 0, CODE, NOW)
    with pytest.raises(UsageLimitReached):
        check_usable(TEN_PERCENT, "active", 0, used, NOW)
    with pytest.raises(UsageLimitReached):
        check_usable(replace(TEN_PERCENT, total_limit=5), "active", 5, CODE, NOW)
    check_usable(TEN_PERCENT, "active", 0, replace(CODE, max_uses=None, used_count=99), NOW)
    assert expired.expires_at is not None


def condition(terms: Terms, attempt: Attempt, code: CodeState = CODE) -> str | None:
    try:
        check_conditions(terms, code, attempt, NOW)
    except ConditionsNotMet as exc:
        return str(exc.details["condition"])
    return None


def test_conditions() -> None:
    eur = Attempt(order_amount=5000, currency="EUR")
    with pytest.raises(CodeNotActiveYet):
        check_conditions(replace(TEN_PERCENT, starts_at=NOW + timedelta(hours=1)), CODE, eur, NOW)
    rules = replace(TEN_PERCENT, currency="EUR", min_order_amount=2000, max_order_amount=8000)
    assert condition(rules, eur) is None
    assert condition(rules, replace(eur, currency="USD")) == "currency"
    assert condition(rules, replace(eur, order_amount=1999)) == "min_amount"
    assert condition(rules, replace(eur, order_amount=8001)) == "max_amount"
    assert condition(rules, Attempt()) == "min_amount"
    paris = replace(TEN_PERCENT, timezone="Europe/Paris")
    assert condition(replace(paris, weekdays=(3,)), eur) is None  # Wednesday in Paris
    assert condition(replace(paris, weekdays=(1, 2, 4, 5, 6, 7)), eur) == "weekday"
    # 10:30 in Paris: inside 10:00-11:00 and 22:00-11:00, outside 09:00-10:30 and 11:00-02:00
    assert condition(replace(paris, hours_from=600, hours_to=660), eur) is None
    assert condition(replace(paris, hours_from=1320, hours_to=660), eur) is None
    assert condition(replace(paris, hours_from=540, hours_to=630), eur) == "hours"
    assert condition(replace(paris, hours_from=660, hours_to=120), eur) == "hours"
    # in Tokyo it is already 18:30: the same window answers differently
    tokyo = replace(paris, timezone="Asia/Tokyo")
    assert condition(replace(tokyo, hours_from=600, hours_to=660), eur) == "hours"


def test_customer_conditions() -> None:
    ada, bob = uuid.uuid4(), uuid.uuid4()
    mine = replace(CODE, customer_id=ada)
    assert condition(TEN_PERCENT, Attempt(customer_id=ada, sent_customer_id=ada), mine) is None
    assert condition(TEN_PERCENT, Attempt(customer_id=ada), mine) is None  # holder implied
    assert condition(TEN_PERCENT, Attempt(customer_id=bob, sent_customer_id=bob), mine) == (
        "customer"
    )
    only_ada = replace(TEN_PERCENT, customer_ids=frozenset({ada}))
    assert condition(only_ada, Attempt(customer_id=ada)) is None
    assert condition(only_ada, Attempt(customer_id=bob)) == "customer"
    assert condition(only_ada, Attempt()) == "customer"
    gold = replace(TEN_PERCENT, tiers=frozenset({"gold", "platinum"}))
    assert condition(gold, Attempt(customer_id=ada, tiers=frozenset({"gold"}))) is None
    assert condition(gold, Attempt(customer_id=ada, tiers=frozenset({"silver"}))) == "tier"
    twice = replace(TEN_PERCENT, per_customer_limit=2)
    assert condition(twice, Attempt(customer_id=ada, customer_uses=1)) is None
    assert condition(twice, Attempt(customer_id=ada, customer_uses=2)) == "per_customer_limit"
    assert condition(twice, Attempt()) == "customer"


def test_values() -> None:
    order = Attempt(order_amount=4550, currency="EUR")
    assert value_of(TEN_PERCENT, CODE, order).amount == 455
    assert value_of(replace(TEN_PERCENT, max_discount=300), CODE, order).amount == 300
    with pytest.raises(InvalidInput):
        value_of(TEN_PERCENT, CODE, Attempt())
    fixed = Terms(kind="discount", amount_off=500, currency="EUR")
    assert value_of(fixed, CODE, order).amount == 500
    assert value_of(fixed, CODE, replace(order, order_amount=300)).amount == 300
    assert value_of(fixed, CODE, Attempt()).amount == 500
    coffee = Terms(kind="free_item", item_sku="COFFEE", item_name="Coffee")
    assert value_of(coffee, CODE, order).amount == 0
    priced = replace(order, items=(Item("CAKE", 1, 400), Item("COFFEE", 2, 320)))
    free = value_of(coffee, CODE, priced)
    assert (free.amount, free.item_sku, free.item_name) == (320, "COFFEE", "Coffee")
    gift = Terms(kind="gift_card", initial_balance=5000, currency="EUR")
    card = replace(CODE, max_uses=None, balance=2000)
    spent = value_of(gift, card, Attempt(amount=1500))
    assert (spent.amount, spent.balance_before, spent.balance_after) == (1500, 2000, 500)
    assert value_of(gift, card, Attempt(order_amount=2000, currency="EUR")).balance_after == 0
    with pytest.raises(InsufficientBalance) as caught:
        value_of(gift, card, Attempt(amount=2001))
    assert caught.value.details == {"balance": 2000, "currency": "EUR"}
    with pytest.raises(InvalidInput):
        value_of(gift, card, Attempt())


def test_a_code_shows_the_earlier_of_its_own_and_its_campaigns_end() -> None:
    from datetime import UTC, datetime

    from passmint.coupons.service import earliest

    code_end = datetime(2027, 6, 30, tzinfo=UTC)
    campaign_end = datetime(2027, 5, 31, tzinfo=UTC)
    assert earliest(code_end, campaign_end) == campaign_end
    assert earliest(None, campaign_end) == campaign_end
    assert earliest(code_end, None) == code_end
    assert earliest(None, None) is None
