"""Validations (dry runs), redemptions and rollbacks. A service module: flushes, never
commits; one redemption is one transaction.

Race-proof by construction: the checks before the writes only pick the verdict; what
decides is one conditional UPDATE per counter, in the redeeming transaction, in one lock
order (redemption row → code → customer counter → campaign counter → pass):

- the code: ``used_count = used_count + 1 [, balance = balance - x] WHERE status = 'active'
  AND (max_uses IS NULL OR used_count < max_uses) [AND balance >= x]``;
- the customer: an upsert of (campaign, customer) that only increments below the limit;
- the campaign (only with a total limit): ``total_used + 1 WHERE total_used < total_limit``.

A row that does not come back means another transaction took the last use: the whole
redemption fails and nothing of it stays. The redemption row, carrying the idempotency key
under a unique constraint, is written first, so a concurrent retry with the same key waits
for the first and then replays its result instead of being judged anew.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple, NoReturn

from sqlalchemy.orm.attributes import set_committed_value

from passmint.coupons import codes, redemptions_repository, repository
from passmint.coupons.errors import (
    AlreadyRolledBack,
    CodeNotFound,
    ConditionsNotMet,
    CustomerNotFound,
    IdempotencyKeyReused,
    InsufficientBalance,
    InvalidCode,
    InvalidRollback,
    RedemptionNotFound,
    Rejection,
    UsageLimitReached,
)
from passmint.coupons.rules import (
    Attempt,
    Item,
    Kind,
    Terms,
    Value,
    check_amount,
    check_conditions,
    check_currency,
    check_usable,
    uses_left,
    value_of,
)
from passmint.coupons.schemas import RedeemIn
from passmint.coupons.service import code_state, committed, sync_pass, terms_of
from passmint.kit.ids import uuid7
from passmint.models import Campaign, Code, Redemption, RedemptionRollback
from passmint.passes.service import PassContext


@dataclass(frozen=True)
class Verdict:
    """A code proven usable for an attempt, and what it gives."""

    code: Code
    campaign: Campaign
    terms: Terms
    attempt: Attempt
    value: Value

    @property
    def uses_left(self) -> int | None:
        return uses_left(code_state(self.code))


def _check_input(body: RedeemIn) -> str:
    """Bad input is a 4xx whatever the code: checked before the code is looked up."""
    normalized = codes.normalize(body.code)
    if normalized is None:
        raise InvalidCode(
            "a code is letters and digits (spaces, -, _ and . are ignored), at most 64",
            details={"field": "code"},
        )
    if body.order is not None:
        check_amount("order.amount", body.order.amount)
        check_currency("order.currency", body.order.currency)
    check_amount("amount", body.amount, minimum=1)
    return normalized


async def _judge(ctx: PassContext, body: RedeemIn, *, redeeming: bool) -> Verdict:
    normalized = _check_input(body)
    found = await redemptions_repository.code_with_campaign(
        ctx.session,
        ctx.tenant_id,
        normalized,
        customer_id=body.customer_id,
        share_campaign=redeeming,
    )
    # An unknown customer is bad input, named before anything about the code.
    if body.customer_id is not None:
        known = (
            found[2]
            if found is not None
            else await repository.customer_exists(ctx.session, ctx.tenant_id, body.customer_id)
        )
        if not known:
            raise CustomerNotFound(f"no customer {body.customer_id}")
    if found is None:
        raise CodeNotFound("no such code")
    code, campaign, _ = found
    terms = terms_of(campaign)
    state = code_state(code)
    check_usable(terms, campaign.status, campaign.total_used, state, ctx.now)
    customer = body.customer_id or code.customer_id
    tiers: frozenset[str] = frozenset()
    if terms.tiers is not None and customer is not None:
        tiers = await redemptions_repository.customer_tiers(ctx.session, ctx.tenant_id, customer)
    used = 0
    if terms.per_customer_limit is not None and customer is not None:
        used = await redemptions_repository.customer_uses(ctx.session, campaign.id, customer)
    order = body.order
    attempt = Attempt(
        order_amount=order.amount if order is not None else None,
        currency=order.currency if order is not None else None,
        items=tuple(Item(i.sku, i.quantity, i.unit_price) for i in order.items) if order else (),
        amount=body.amount,
        customer_id=customer,
        sent_customer_id=body.customer_id,
        tiers=tiers,
        customer_uses=used,
    )
    check_conditions(terms, state, attempt, ctx.now)
    return Verdict(code, campaign, terms, attempt, value_of(terms, state, attempt))


class Redeemed(NamedTuple):
    """A redemption and its code (held here: the session keeps loaded rows only while
    something refers to them, and the response shows the code's state)."""

    redemption: Redemption
    code: Code | None


async def validate(ctx: PassContext, body: RedeemIn) -> Verdict:
    """A dry run: the verdict a redemption would get now. Raises a ``Rejection`` (or a 4xx
    for bad input); changes nothing."""
    return await _judge(ctx, body, redeeming=False)


async def redeem(
    ctx: PassContext,
    body: RedeemIn,
    *,
    idempotency_key: str,
    api_key_id: uuid.UUID | None = None,
    replay: bool = True,
) -> Redeemed:
    """Commit one use of a code. The same key returns the redemption it made (callers that
    looked for a replay already, like the API's idempotency layer, pass ``replay=False``:
    a duplicate key then fails on the unique constraint instead)."""
    if replay:
        existing = await redemptions_repository.redemption_by_key(
            ctx.session, ctx.tenant_id, idempotency_key
        )
        if existing is not None:
            return Redeemed(existing, None)
    try:
        verdict = await _judge(ctx, body, redeeming=True)
    except Rejection:
        # The same key may have committed between the caller's replay check and this
        # transaction, using the code up: then this is a retry, and gets its result.
        existing = await redemptions_repository.redemption_by_key(
            ctx.session, ctx.tenant_id, idempotency_key
        )
        if existing is not None:
            return Redeemed(existing, None)
        raise
    code, campaign, terms = verdict.code, verdict.campaign, verdict.terms
    attempt, value = verdict.attempt, verdict.value
    redemption = Redemption(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        campaign_id=campaign.id,
        code_id=code.id,
        customer_id=attempt.customer_id,
        idempotency_key=idempotency_key,
        status="committed",
        kind=campaign.kind,
        amount=value.amount,
        currency=value.currency,
        order_amount=attempt.order_amount,
        order_ref=body.order.id if body.order is not None else None,
        balance_after=None,
        rolled_back_amount=0,
        details=_value_details(value),
        api_key_id=api_key_id,
        created_at=ctx.now,
    )
    ctx.session.add(redemption)
    await ctx.session.flush()  # claims the idempotency key before any counter moves
    gift = campaign.kind == Kind.GIFT_CARD
    taken = await redemptions_repository.take_code_use(
        ctx.session, code.id, value.amount if gift else None
    )
    if taken is None:
        await _why_not(ctx, code, value)
    committed(code, *taken)
    limit = terms.per_customer_limit
    if (
        limit is not None
        and attempt.customer_id is not None
        and not await redemptions_repository.take_customer_use(
            ctx.session, ctx.tenant_id, campaign.id, attempt.customer_id, limit
        )
    ):
        raise ConditionsNotMet(
            "this customer has used this campaign as often as allowed",
            details={"condition": "per_customer_limit", "limit": terms.per_customer_limit},
        )
    if terms.total_limit is not None and not await redemptions_repository.take_campaign_use(
        ctx.session, campaign.id
    ):
        raise UsageLimitReached(
            "this campaign's codes have been used up", details={"scope": "campaign"}
        )
    if gift:
        redemption.balance_after = taken[1]
    await sync_pass(ctx, campaign, code)
    await ctx.session.flush()
    return Redeemed(redemption, code)


async def _why_not(ctx: PassContext, code: Code, value: Value) -> NoReturn:
    """The conditional UPDATE matched nothing: another transaction changed the code since
    it was read. Say what, from its committed state."""
    await redemptions_repository.refresh_code(ctx.session, code)
    if code.status != "active":
        raise CodeNotFound("no such code")
    if code.max_uses is not None and code.used_count >= code.max_uses:
        raise UsageLimitReached("this code has been used up", details={"scope": "code"})
    raise InsufficientBalance(
        f"the card holds {code.balance or 0} {value.currency}",
        details={"balance": code.balance or 0, "currency": value.currency},
    )


def _value_details(value: Value) -> dict[str, object]:
    return {
        key: val
        for key, val in (
            ("percent_off_bp", value.percent_off_bp),
            ("item_sku", value.item_sku),
            ("item_name", value.item_name),
            ("balance_before", value.balance_before),
        )
        if val is not None
    }


async def get_redemption(ctx: PassContext, redemption_id: uuid.UUID) -> Redemption:
    redemption = await redemptions_repository.get_redemption(
        ctx.session, ctx.tenant_id, redemption_id
    )
    if redemption is None:
        raise RedemptionNotFound(f"no redemption {redemption_id}")
    return redemption


async def describe(
    ctx: PassContext, redemption: Redemption, code: Code | None = None
) -> tuple[Code, list[RedemptionRollback]]:
    """The redemption's code (read unless given) and rollbacks (for its API
    representation)."""
    if code is None:
        code = await ctx.session.get(Code, redemption.code_id)
        assert code is not None
    if redemption.rolled_back_at is None:
        return code, []
    rollbacks = await redemptions_repository.rollbacks_of(ctx.session, [redemption.id])
    return code, rollbacks[redemption.id]


async def rollback(
    ctx: PassContext,
    redemption_id: uuid.UUID,
    *,
    amount: int | None,
    reason: str | None,
    idempotency_key: str,
) -> Redemption:
    """Undo a redemption: the use, the customer's and the campaign's counts come back, and a
    gift card's charge (or ``amount`` of it: partial rollbacks add up to at most the charge).
    The same key returns the same result."""
    existing = await redemptions_repository.rollback_by_key(
        ctx.session, ctx.tenant_id, idempotency_key
    )
    if existing is not None:
        if existing.redemption_id != redemption_id:
            raise IdempotencyKeyReused("this idempotency key rolled back another redemption")
        return await get_redemption(ctx, redemption_id)
    redemption = await get_redemption(ctx, redemption_id)
    if redemption.status == "rolled_back":
        raise AlreadyRolledBack("this redemption has been rolled back")
    # Like a redemption, hold the campaign's KEY SHARE lock: a limit being set waits for
    # this rollback, so its recount and the counters released here agree.
    campaign = await repository.get_campaign(
        ctx.session, ctx.tenant_id, redemption.campaign_id, share=True
    )
    assert campaign is not None
    remaining = redemption.amount - redemption.rolled_back_amount
    gift = redemption.kind == Kind.GIFT_CARD
    if gift:
        check_amount("amount", amount, minimum=1)
        part = remaining if amount is None else amount
    else:
        if amount is not None and amount != remaining:
            raise InvalidRollback(
                "only gift-card redemptions are rolled back in part",
                details={"field": "amount", "remaining": remaining},
            )
        part = remaining
    if part > remaining:
        raise InvalidRollback(
            f"only {remaining} is left to roll back",
            details={"field": "amount", "remaining": remaining},
        )
    ctx.session.add(
        RedemptionRollback(
            id=uuid7(),
            tenant_id=ctx.tenant_id,
            redemption_id=redemption.id,
            amount=part,
            reason=reason,
            idempotency_key=idempotency_key,
            created_at=ctx.now,
        )
    )
    await ctx.session.flush()  # claims the key first, as redeem does
    taken = await redemptions_repository.take_rollback(ctx.session, redemption.id, part, ctx.now)
    if taken is None:
        await ctx.session.refresh(redemption)
        if redemption.status == "rolled_back":
            raise AlreadyRolledBack("this redemption has been rolled back")
        raise InvalidRollback(
            "only part of this charge is left to roll back",
            details={"remaining": redemption.amount - redemption.rolled_back_amount},
        )
    total, status = taken
    set_committed_value(redemption, "rolled_back_amount", total)
    set_committed_value(redemption, "status", status)
    set_committed_value(redemption, "rolled_back_at", ctx.now)
    whole = status == "rolled_back"
    used, balance = await redemptions_repository.restore_code(
        ctx.session, redemption.code_id, use=whole, amount=part if gift else None
    )
    if whole:
        if redemption.customer_id is not None and campaign.per_customer_limit is not None:
            await redemptions_repository.release_customer_use(
                ctx.session, redemption.campaign_id, redemption.customer_id
            )
        if campaign.total_limit is not None:
            await redemptions_repository.release_campaign_use(ctx.session, redemption.campaign_id)
    code = await repository.get_code(ctx.session, ctx.tenant_id, redemption.code_id)
    assert code is not None
    committed(code, used, balance)
    await sync_pass(ctx, campaign, code)
    await ctx.session.flush()
    return redemption
