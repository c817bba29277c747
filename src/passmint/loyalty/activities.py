"""Activities from a till or an import (purchases, visits, returns, custom events), each
applied exactly once per (source, external id): earn rules post lots, a return reverses
a purchase's points pro rata, and a replay returns the first result."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from passmint.kit.ids import uuid7
from passmint.loyalty import cardpass, ledger, referrals, repository
from passmint.loyalty.common import Actor, entry_json
from passmint.loyalty.errors import (
    AccountNotFound,
    ActivityConflict,
    InvalidLoyaltyInput,
    PurchaseNotFound,
    ReturnExceedsPurchase,
)
from passmint.loyalty.rules import (
    Earning,
    RuleUsage,
    day_bounds,
    earnings,
    limited_rules,
    proportional,
)
from passmint.loyalty.schemas import ActivityIn, ProgramConfig
from passmint.models import Account, Activity, LedgerEntry
from passmint.passes.service import PassContext


def request_hash(body: ActivityIn) -> str:
    data = body.model_dump(mode="json", exclude={"source"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


async def find_activity(
    ctx: PassContext, source: str, external_id: str, digest: str
) -> dict[str, Any] | None:
    """The stored result of an activity already posted (a replay), or None."""
    found = await repository.get_activity(ctx.session, ctx.tenant_id, source, external_id)
    if found is None:
        return None
    return _replayed(found.id, found.request_hash, found.result, source, external_id, digest)


def _replayed(
    activity_id: uuid.UUID,
    stored_hash: str,
    result: dict[str, Any],
    source: str,
    external_id: str,
    digest: str,
) -> dict[str, Any]:
    if stored_hash != digest:
        raise ActivityConflict(
            f"activity {external_id!r} from {source!r} was posted before with other details",
            details={"activity_id": str(activity_id)},
        )
    return {**result, "replayed": True}


async def post_activity(
    ctx: PassContext, body: ActivityIn, *, source: str, actor: Actor
) -> dict[str, Any]:
    """Apply an activity exactly once: all its entries post, or none (one transaction).

    A replay of (source, external_id) with the same body returns the first result and
    posts nothing; with another body it is a 409. The card (by id, or by what the till
    scanned) is locked with its program and the replay looked up in one statement; what
    the activity writes goes out in one flush at commit, where the unique (tenant, source,
    external_id) refuses a concurrent twin."""
    digest = request_hash(body)
    scanned = body.card_number or body.barcode_value
    card = await repository.lock_card(
        ctx.session,
        ctx.tenant_id,
        body.account_id,
        ctx.now,
        scanned=None if scanned is None else scanned.strip(),
        activity=(source, body.external_id),
    )
    if card is None:
        if (replay := await find_activity(ctx, source, body.external_id, digest)) is not None:
            return replay
        raise AccountNotFound(
            "no card has that number or barcode"
            if body.account_id is None
            else f"no account {body.account_id}"
        )
    if card.replay is not None:
        return _replayed(*card.replay, source, body.external_id, digest)
    account, program, config = await ledger.opened(ctx, card)
    found = [] if body.kind == "return" else await _earnings(ctx, account, config, body)
    activity = Activity(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        source=source,
        external_id=body.external_id,
        request_hash=digest,
        account_id=account.id,
        kind=body.kind,
        amount=body.amount,
        currency=body.currency,
        items=body.items,
        returned_amount=0,
        result={},
        occurred_at=body.occurred_at or ctx.now,
        created_at=ctx.now,
    )
    ctx.session.add(activity)
    posted: list[LedgerEntry] = []
    if body.kind == "return":
        posted += await _reverse_purchase(ctx, account, activity, body, source, actor)
    else:
        posted += await ledger.post_earnings(
            ctx,
            account,
            config,
            found,
            key_base=f"activity:{activity.id}",
            activity=activity,
            note=f"by {actor.type} {actor.id}" if actor.id else None,
        )
        if body.kind == "purchase":
            posted += await referrals.qualify_referral(ctx, account, config, activity)
        account.last_activity_at = ctx.now
        if config.expiry.kind == "inactivity":
            assert config.expiry.days is not None
            await ledger.schedule_settle(ctx, account, ctx.now + timedelta(days=config.expiry.days))
    await cardpass.after_change(ctx, account, program, config)
    activity.result = {
        "activity_id": str(activity.id),
        "account_id": str(account.id),
        "kind": activity.kind,
        "entries": [entry_json(e) for e in posted],
        "balance": account.balance,
        "pending": account.pending,
        "tier": account.tier,
        "replayed": False,
    }
    return activity.result


async def _earnings(
    ctx: PassContext, account: Account, config: ProgramConfig, body: ActivityIn
) -> list[Earning]:
    """What the activity earns; the rules' past usage is looked up only for rules with a
    cap or a cooldown."""
    limited = limited_rules(config, body.kind)
    usage: dict[str, RuleUsage] = {}
    if limited:
        day_start, _ = day_bounds(ctx.now, config.timezone)
        rows = await repository.rule_usage(ctx.session, account.id, limited, day_start)
        usage = {key: RuleUsage(today, total, last) for key, (today, total, last) in rows.items()}
    return earnings(
        config,
        trigger=body.kind,
        amount=body.amount,
        currency=body.currency,
        event=body.event,
        tier=account.tier,
        usage=usage,
        at=ctx.now,
    )


async def _reverse_purchase(
    ctx: PassContext,
    account: Account,
    activity: Activity,
    body: ActivityIn,
    source: str,
    actor: Actor,
) -> list[LedgerEntry]:
    assert body.original_external_id is not None
    original = await repository.get_activity(
        ctx.session, ctx.tenant_id, source, body.original_external_id, lock=True
    )
    if original is None or original.kind != "purchase" or original.account_id != account.id:
        raise PurchaseNotFound(
            f"no purchase {body.original_external_id!r} from {source!r} on this card"
        )
    if body.currency != original.currency:
        raise InvalidLoyaltyInput(f"the purchase was in {original.currency}, not {body.currency}")
    returnable = original.amount - original.returned_amount
    if body.amount > returnable:
        raise ReturnExceedsPurchase(
            f"only {returnable} of the purchase is left to return",
            details={"returnable": returnable},
        )
    returned_after = original.returned_amount + body.amount
    credits = await repository.earn_entries_of_activity(ctx.session, original.id)
    already = await repository.reversed_amounts(ctx.session, [c.id for c in credits])
    activity.original_activity_id = original.id
    original.returned_amount = returned_after
    out = []
    for credit in credits:
        take = proportional(credit.amount, returned_after, original.amount) - already.get(
            credit.id, 0
        )
        if take <= 0:
            continue
        key = f"activity:{activity.id}:reverse:{credit.id}"
        if credit.status == "pending":
            credit.remaining -= min(take, credit.remaining)
            account.pending -= take
            account.lifetime_earned -= take
            entry = ledger.add_entry(
                ctx,
                account,
                kind="reversal",
                amount=-take,
                key=key,
                actor=actor,
                status="pending",
                activity=activity,
                reverses=credit,
                rule=credit.rule,
            )
        else:
            entry = await ledger.debit(
                ctx,
                account,
                take,
                kind="reversal",
                key=key,
                actor=actor,
                allow_negative=True,
                prefer=credit,
                reverses=credit,
                activity=activity,
            )
            entry.rule = credit.rule
        out.append(entry)
    return out
