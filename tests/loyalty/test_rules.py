"""The program arithmetic, pure: rounding, multipliers, caps, cooldowns, periods, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from passmint.loyalty.rules import (
    RuleUsage,
    earnings,
    expiry_for,
    multiplied,
    next_tier,
    period_bounds,
    proportional,
    purchase_points,
    tier_for,
)
from passmint.loyalty.schemas import EarnRule, ExpiryPolicy, ProgramConfig

AT = datetime(2027, 3, 31, 22, 30, tzinfo=UTC)


def rule(**fields: Any) -> EarnRule:
    base: dict[str, Any] = {
        "key": "spend",
        "trigger": "purchase",
        "points": 1,
        "per_amount": 100,
        "currency": "EUR",
    }
    return EarnRule.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("rounding", "amount", "points"),
    [
        ("down", 1299, 12),
        ("nearest", 1249, 12),
        ("nearest", 1250, 13),
        ("up", 1201, 13),
        ("up", 1200, 12),
        ("down", 99, 0),
    ],
)
def test_purchase_rounding(rounding: str, amount: int, points: int) -> None:
    assert purchase_points(rule(rounding=rounding), amount) == points


def test_rates_above_one_point_per_unit() -> None:
    assert purchase_points(rule(points=3, per_amount=50), 1000) == 60


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=100_000))
def test_multiplier_is_exact_in_basis_points(points: int, multiplier: int) -> None:
    assert multiplied(points, multiplier) == (points * multiplier) // 10_000
    assert multiplied(points, 10_000) == points


@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=1, max_value=10**9),
)
def test_pro_rata_never_takes_more_than_earned(points: int, whole: int, part_seed: int) -> None:
    part = part_seed % (whole + 1)
    taken = proportional(points, part, whole)
    assert 0 <= taken <= points
    assert proportional(points, whole, whole) == points


def config(**fields: Any) -> ProgramConfig:
    return ProgramConfig.model_validate(fields)


def test_tier_multiplier_scope_and_min_amount() -> None:
    cfg = config(
        earn_rules=[
            {"key": "spend", "trigger": "purchase", "points": 1, "per_amount": 100,
             "currency": "EUR", "min_amount": 500},
            {"key": "gold_bonus", "trigger": "purchase", "points": 5, "per_amount": 1000,
             "currency": "EUR", "tiers": ["gold"]},
        ],
        tiers=[
            {"key": "member", "name": "Member", "threshold": 0},
            {"key": "gold", "name": "Gold", "threshold": 100, "multiplier": 15_000},
        ],
    )  # fmt: skip
    member = earnings(cfg, trigger="purchase", amount=2000, currency="EUR", tier="member",
                      usage={}, at=AT)  # fmt: skip
    assert [(e.rule.key, e.points) for e in member] == [("spend", 20)]
    gold = earnings(cfg, trigger="purchase", amount=2000, currency="EUR", tier="gold",
                    usage={}, at=AT)  # fmt: skip
    assert [(e.rule.key, e.points) for e in gold] == [("spend", 30), ("gold_bonus", 15)]
    assert earnings(cfg, trigger="purchase", amount=400, currency="EUR", tier="member",
                    usage={}, at=AT) == []  # fmt: skip
    assert earnings(cfg, trigger="purchase", amount=2000, currency="USD", tier="member",
                    usage={}, at=AT) == []  # fmt: skip


def test_caps_cut_and_cooldowns_skip() -> None:
    cfg = config(
        earn_rules=[
            {"key": "visit", "trigger": "visit", "points": 10, "daily_cap": 25,
             "customer_cap": 1000},
            {"key": "scan", "trigger": "custom", "event": "scan", "points": 3,
             "cooldown_minutes": 60},
        ]
    )  # fmt: skip
    capped = earnings(cfg, trigger="visit", tier=None, usage={"visit": RuleUsage(20, 20, AT)},
                      at=AT)  # fmt: skip
    assert [(e.points, e.capped) for e in capped] == [(5, True)]
    assert earnings(cfg, trigger="visit", tier=None, usage={"visit": RuleUsage(25, 25, AT)},
                    at=AT) == []  # fmt: skip
    lifetime = earnings(cfg, trigger="visit", tier=None,
                        usage={"visit": RuleUsage(0, 995, AT)}, at=AT)  # fmt: skip
    assert [e.points for e in lifetime] == [5]
    recent = RuleUsage(3, 3, AT - timedelta(minutes=59))
    assert earnings(cfg, trigger="custom", event="scan", tier=None, usage={"scan": recent},
                    at=AT) == []  # fmt: skip
    later = RuleUsage(3, 3, AT - timedelta(minutes=60))
    assert [e.points for e in earnings(cfg, trigger="custom", event="scan", tier=None,
                                       usage={"scan": later}, at=AT)] == [3]  # fmt: skip
    assert earnings(cfg, trigger="custom", event="other", tier=None, usage={}, at=AT) == []


def test_periods_follow_the_program_time_zone() -> None:
    # 22:30 UTC on 31 March is already 1 April in Paris (UTC+2 in summer time)
    start, end = period_bounds(AT, "month", "Europe/Paris")
    assert start == datetime(2027, 3, 31, 22, 0, tzinfo=UTC)
    assert end == datetime(2027, 4, 30, 22, 0, tzinfo=UTC)
    start, end = period_bounds(AT, "quarter", "UTC")
    assert (start.month, end.month) == (1, 4)
    start, end = period_bounds(AT, "year", "Pacific/Auckland")
    assert start == datetime(2026, 12, 31, 11, 0, tzinfo=UTC)


def test_expiry_policies() -> None:
    assert expiry_for(ExpiryPolicy(kind="none"), AT, "UTC") is None
    assert expiry_for(ExpiryPolicy(kind="rolling", days=90), AT, "UTC") == AT + timedelta(days=90)
    assert expiry_for(ExpiryPolicy(kind="period_end", period="year"), AT, "UTC") == datetime(
        2028, 1, 1, tzinfo=UTC
    )
    assert expiry_for(ExpiryPolicy(kind="inactivity", days=365), AT, "UTC") is None


def test_tiers_by_threshold() -> None:
    cfg = config(
        tiers=[
            {"key": "a", "name": "A", "threshold": 0},
            {"key": "b", "name": "B", "threshold": 100},
            {"key": "c", "name": "C", "threshold": 1000},
        ]
    )
    assert [tier_for(cfg.tiers, q).key for q in (0, 99, 100, 5000)] == ["a", "a", "b", "c"]  # type: ignore[union-attr]
    assert next_tier(cfg.tiers, "b") is not None
    assert next_tier(cfg.tiers, "c") is None


@pytest.mark.parametrize(
    "bad",
    [
        {"earn_rules": [{"key": "v", "trigger": "visit", "points": 1, "per_amount": 100}]},
        {"earn_rules": [{"key": "c", "trigger": "custom", "points": 1}]},
        {"earn_rules": [{"key": "v", "trigger": "visit", "points": 1, "tiers": ["nope"]}]},
        {"earn_rules": [{"key": "v", "trigger": "visit", "points": 1}] * 2},
        {"tiers": [{"key": "a", "name": "A", "threshold": 10}]},
        {"expiry": {"kind": "none", "days": 3}},
        {"expiry": {"kind": "period_end"}},
        {"pending_days": -1},
        {"currency": {"code": "Points!"}},
    ],
)
def test_contradictions_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ProgramConfig.model_validate(bad)
