"""Tiers: the points that qualify a card (lifetime, a rolling window or a calendar period),
the upgrade the moment a tier is reached, and when the card's tier review falls (the review
itself, which may move a card down, is :mod:`passmint.loyalty.tierreview`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from passmint.loyalty import repository
from passmint.loyalty.rules import period_bounds, tier_for
from passmint.loyalty.schemas import ProgramConfig
from passmint.models import Account, LedgerEntry
from passmint.passes.service import PassContext
from passmint.worker.outbox import enqueue

TIER_REVIEW_JOB: Final = "loyalty.review_tier"


def window(config: ProgramConfig, at: datetime) -> tuple[datetime | None, datetime | None]:
    policy = config.tier_policy
    if policy.metric == "rolling":
        assert policy.rolling_days is not None
        return at - timedelta(days=policy.rolling_days), None
    if policy.metric == "calendar":
        assert policy.period is not None
        return period_bounds(at, policy.period, config.timezone)[0], None
    return None, None


def review_time(config: ProgramConfig, at: datetime) -> datetime | None:
    policy = config.tier_policy
    grace = timedelta(days=policy.grace_days)
    if policy.metric == "calendar":
        assert policy.period is not None
        return period_bounds(at, policy.period, config.timezone)[1] + grace
    if policy.metric == "rolling":
        assert policy.rolling_days is not None
        return at + timedelta(days=policy.rolling_days) + grace
    return None


QUALIFYING_KINDS: Final = ("earn", "reversal")
"""The entries the tier metric sums (reversals only ever take back earnings)."""


async def qualifying_points(ctx: PassContext, account: Account, config: ProgramConfig) -> int:
    """The tier metric now: lifetime points are the cached counter, no query needed. A
    window's sum is what the database holds plus the entries this transaction has added
    and not written yet, so asking does not flush them (they go out in one flush)."""
    if config.tier_policy.metric == "lifetime":
        return account.lifetime_earned
    start, end = window(config, ctx.now)
    with ctx.session.no_autoflush:
        stored = await repository.qualifying_points(ctx.session, account.id, start, end)
    unwritten = sum(
        entry.amount
        for entry in ctx.session.new
        if isinstance(entry, LedgerEntry)
        and entry.account_id == account.id
        and entry.kind in QUALIFYING_KINDS
        and (start is None or entry.created_at >= start)
        and (end is None or entry.created_at < end)
    )
    return stored + unwritten


def rank(config: ProgramConfig, key: str | None) -> int:
    keys = [t.key for t in config.tiers]
    return keys.index(key) if key in keys else -1


async def upgrade(ctx: PassContext, account: Account, config: ProgramConfig) -> int | None:
    """Upgrades happen at once; downgrades wait for the review at the period's end.
    Returns the qualifying points (None without tiers, or when no upgrade is in reach).

    A window never holds more qualifying points than the card's lifetime earnings (each
    reversal follows the earning it takes back, and takes back no more), so a card whose
    lifetime earnings reach no higher tier than its own needs no look-up."""
    if not config.tiers:
        return None
    reachable = tier_for(config.tiers, account.lifetime_earned)
    if reachable is None or rank(config, reachable.key) <= rank(config, account.tier):
        return None
    qualifying = await qualifying_points(ctx, account, config)
    reached = tier_for(config.tiers, qualifying)
    if reached is not None and rank(config, reached.key) > rank(config, account.tier):
        account.tier = reached.key
        account.tier_since = ctx.now
        account.tier_review_at = review_time(config, ctx.now)
        if account.tier_review_at is not None:
            await enqueue(
                ctx.session,
                TIER_REVIEW_JOB,
                {"tenant_id": str(ctx.tenant_id), "account_id": str(account.id)},
                now=ctx.now,
                delay=account.tier_review_at - ctx.now + timedelta(seconds=1),
            )
    return qualifying
