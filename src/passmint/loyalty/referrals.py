"""Referrals: a referee's first qualifying purchase rewards both cards, once (the referral
is recorded when the referee's card is made with the referrer's code, in
:mod:`passmint.loyalty.customers`)."""

from __future__ import annotations

from passmint.loyalty import cardpass, ledger, repository
from passmint.loyalty.common import Actor, get_program
from passmint.loyalty.schemas import ProgramConfig
from passmint.models import Account, Activity, LedgerEntry
from passmint.passes.service import PassContext


async def qualify_referral(
    ctx: PassContext, account: Account, config: ProgramConfig, activity: Activity
) -> list[LedgerEntry]:
    """A referee's first qualifying purchase rewards both sides, once."""
    if account.referred_by is None:
        return []
    referral = await repository.referral_of_referee(ctx.session, account.id)
    if referral is None or referral.status != "pending":
        return []
    rules = [r for r in config.earn_rules if r.trigger == "referral"]
    qualifying = [
        r
        for r in rules
        if activity.amount >= r.min_amount
        and (r.currency is None or r.currency == activity.currency)
    ]
    if not qualifying:
        return []
    referrer = await repository.get_account(
        ctx.session, ctx.tenant_id, referral.referrer_account_id, lock=True
    )
    if referrer is None:
        return []
    if referrer.customer_id is not None and referrer.customer_id == account.customer_id:
        referral.status = "rejected"
        return []
    out = []
    for rule in qualifying:
        for side, target in (("referee", account), ("referrer", referrer)):
            entry = await ledger.credit(
                ctx,
                target,
                config,
                rule.points,
                key=f"referral:{referral.id}:{rule.key}:{side}",
                actor=Actor("rule", rule.key),
                rule=rule.key,
                activity=activity if target is account else None,
                note=f"referral ({side})",
            )
            if target is account:
                out.append(entry)
    referral.status = "rewarded"
    referral.rewarded_at = ctx.now
    referral.qualified_activity_id = activity.id
    if referrer.id != account.id:
        program = await get_program(ctx, referrer.program_id)
        await cardpass.after_change(ctx, referrer, program, config)
    return out
