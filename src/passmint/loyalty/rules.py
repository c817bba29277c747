"""The arithmetic of a program, pure: what an activity earns, when points expire, which
tier qualifying points reach, where periods start and end. No database, no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from passmint.loyalty.schemas import EarnRule, ExpiryPolicy, ProgramConfig, Tier

BASIS = 10_000


@dataclass(frozen=True)
class RuleUsage:
    """What a rule already gave an account: today (program time zone), ever, and when."""

    today: int = 0
    total: int = 0
    last_at: datetime | None = None


@dataclass(frozen=True)
class Earning:
    rule: EarnRule
    points: int
    capped: bool = False


def period_bounds(at: datetime, period: str, timezone: str) -> tuple[datetime, datetime]:
    """The calendar month, quarter or year around ``at`` in ``timezone``, as UTC instants."""
    local = at.astimezone(ZoneInfo(timezone))
    if period == "month":
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        months = 1
    elif period == "quarter":
        first = 3 * ((local.month - 1) // 3) + 1
        start = local.replace(month=first, day=1, hour=0, minute=0, second=0, microsecond=0)
        months = 3
    elif period == "year":
        start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        months = 12
    else:
        raise ValueError(f"unknown period {period!r}")
    year, month = divmod(start.month - 1 + months, 12)
    end = start.replace(year=start.year + year, month=month + 1)
    return start.astimezone(UTC), end.astimezone(UTC)


def day_bounds(at: datetime, timezone: str) -> tuple[datetime, datetime]:
    local = at.astimezone(ZoneInfo(timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1)).replace(hour=0)
    return start.astimezone(UTC), end.astimezone(UTC)


def purchase_points(rule: EarnRule, amount: int) -> int:
    """``points`` per ``per_amount`` of ``amount`` (minor units), rounded as the rule says."""
    assert rule.per_amount is not None
    units, rest = divmod(amount * rule.points, rule.per_amount)
    up = rule.rounding == "up" and rest > 0
    nearest = rule.rounding == "nearest" and 2 * rest >= rule.per_amount
    if up or nearest:
        units += 1
    return units


def multiplied(points: int, multiplier: int) -> int:
    """A tier multiplier in basis points, rounded down (10,000 = ×1)."""
    return points * multiplier // BASIS


def tier_for(tiers: Sequence[Tier], qualifying: int) -> Tier | None:
    """The highest tier whose threshold ``qualifying`` points reach."""
    reached = [t for t in tiers if qualifying >= t.threshold]
    return reached[-1] if reached else None


def next_tier(tiers: Sequence[Tier], current: str | None) -> Tier | None:
    keys = [t.key for t in tiers]
    if current not in keys:
        return tiers[0] if tiers else None
    index = keys.index(current)
    return tiers[index + 1] if index + 1 < len(tiers) else None


def expiry_for(policy: ExpiryPolicy, earned_at: datetime, timezone: str) -> datetime | None:
    """When a lot earned at ``earned_at`` expires (inactivity expiry is not per lot)."""
    if policy.kind == "rolling":
        assert policy.days is not None
        return earned_at + timedelta(days=policy.days)
    if policy.kind == "period_end":
        assert policy.period is not None
        return period_bounds(earned_at, policy.period, timezone)[1]
    return None


def limited_rules(config: ProgramConfig, trigger: str) -> list[str]:
    """The keys of the rules ``trigger`` may apply whose cap or cooldown needs what they
    gave before (:class:`RuleUsage`); the others earn without it."""
    return [
        rule.key
        for rule in config.earn_rules
        if rule.trigger == trigger
        and (rule.daily_cap or rule.customer_cap or rule.cooldown_minutes)
    ]


def earnings(
    config: ProgramConfig,
    *,
    trigger: str,
    amount: int = 0,
    currency: str | None = None,
    event: str | None = None,
    tier: str | None,
    usage: Mapping[str, RuleUsage],
    at: datetime,
) -> list[Earning]:
    """What one activity earns, rule by rule: trigger, currency, event, tier scope and
    minimum amount select the rules; the tier multiplier applies; then cooldowns and the
    daily and per-customer caps cut (a capped rule earns what is left under its cap)."""
    multiplier = next((t.multiplier for t in config.tiers if t.key == tier), BASIS)
    out: list[Earning] = []
    for rule in config.earn_rules:
        if rule.trigger != trigger:
            continue
        if rule.tiers is not None and tier not in rule.tiers:
            continue
        if trigger == "custom" and rule.event != event:
            continue
        if trigger == "purchase":
            if currency != rule.currency or amount < rule.min_amount:
                continue
            points = purchase_points(rule, amount)
        else:
            points = rule.points
        points = multiplied(points, multiplier)
        used = usage.get(rule.key, RuleUsage())
        cooldown = rule.cooldown_minutes
        if cooldown and used.last_at and at - used.last_at < timedelta(minutes=cooldown):
            continue
        capped = False
        for cap, spent in ((rule.daily_cap, used.today), (rule.customer_cap, used.total)):
            if cap is not None and points > cap - spent:
                points, capped = max(0, cap - spent), True
        if points > 0:
            out.append(Earning(rule, points, capped))
    return out


def proportional(points: int, part: int, whole: int) -> int:
    """``points × part / whole``, rounded down: what returning ``part`` of ``whole`` takes."""
    if whole <= 0:
        return 0
    return points * part // whole
