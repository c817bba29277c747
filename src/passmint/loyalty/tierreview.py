"""The tier review, a job at a qualification period's end plus grace: a card keeps its tier
if the period that ended qualified for it, else it moves down to the one it did qualify
for."""

from __future__ import annotations

import uuid
from datetime import timedelta

from passmint.loyalty import cardpass, ledger, repository, tiers
from passmint.loyalty.rules import period_bounds, tier_for
from passmint.passes.service import PassContext
from passmint.worker.outbox import enqueue


async def review_tier(ctx: PassContext, account_id: uuid.UUID) -> bool:
    """At the period's end plus grace: keep the tier if the period that ended qualified for
    it, else move down to the tier it did qualify for. Returns whether the tier changed."""
    account, program, config = await ledger.locked(ctx, account_id)
    if account.tier_review_at is None or ctx.now < account.tier_review_at or not config.tiers:
        return False
    policy = config.tier_policy
    judged_at = account.tier_review_at - timedelta(days=policy.grace_days) - timedelta(seconds=1)
    if policy.metric == "calendar":
        assert policy.period is not None
        start, end = period_bounds(judged_at, policy.period, config.timezone)
    else:
        assert policy.rolling_days is not None
        end = judged_at + timedelta(seconds=1)
        start = end - timedelta(days=policy.rolling_days)
    qualifying = await repository.qualifying_points(ctx.session, account.id, start, end)
    current_qualifying = await repository.qualifying_points(
        ctx.session, account.id, *tiers.window(config, ctx.now)
    )
    earned = tier_for(config.tiers, max(qualifying, current_qualifying))
    target = earned.key if earned is not None else config.tiers[0].key
    changed = tiers.rank(config, target) < tiers.rank(config, account.tier)
    if changed:
        account.tier = target
        account.tier_since = ctx.now
    account.tier_review_at = tiers.review_time(config, ctx.now)
    if account.tier_review_at is not None and tiers.rank(config, account.tier) > 0:
        await enqueue(
            ctx.session,
            tiers.TIER_REVIEW_JOB,
            {"tenant_id": str(ctx.tenant_id), "account_id": str(account.id)},
            now=ctx.now,
            delay=account.tier_review_at - ctx.now + timedelta(seconds=1),
        )
    else:
        account.tier_review_at = None
    if changed:
        await cardpass.after_change(ctx, account, program, config)
    return changed
