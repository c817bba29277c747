"""Rewards: a program's catalogue, and redeeming one for its cost, which hands out a coupon
code of its campaign or a credit to the card; stock and the per-customer limit hold under
concurrency."""

from __future__ import annotations

import uuid
from typing import Any

from passmint.coupons import service as coupons
from passmint.kit.ids import uuid7
from passmint.loyalty import cardpass, ledger, repository
from passmint.loyalty.common import Actor, entry_json, get_program
from passmint.loyalty.errors import InsufficientBalance, RewardNotFound, RewardUnavailable
from passmint.loyalty.schemas import RewardIn
from passmint.models import Reward
from passmint.passes.service import PassContext


async def list_rewards(ctx: PassContext, program_id: uuid.UUID) -> list[Reward]:
    program = await get_program(ctx, program_id)
    return await repository.rewards_of_program(ctx.session, program.id)


async def create_reward(ctx: PassContext, program_id: uuid.UUID, body: RewardIn) -> Reward:
    """A reward of the program; a coupon reward's campaign must be this tenant's
    (``campaign_not_found``, 404, for another's or none)."""
    program = await get_program(ctx, program_id)
    if body.campaign_id is not None:
        await coupons.get_campaign(ctx, body.campaign_id)
    reward = Reward(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        program_id=program.id,
        name=body.name,
        cost=body.cost,
        stock=body.stock,
        per_customer_limit=body.per_customer_limit,
        kind=body.kind,
        campaign_id=body.campaign_id,
        credit_amount=body.credit_amount,
        active=True,
        created_at=ctx.now,
    )
    ctx.session.add(reward)
    await ctx.session.flush()
    return reward


async def redeem_reward(
    ctx: PassContext,
    account_id: uuid.UUID,
    reward_id: uuid.UUID,
    *,
    key: str,
    actor: Actor,
) -> dict[str, Any]:
    """Spend the reward's cost and hand out what it gives: a coupon code of its campaign
    (the coupons service's ``issue_code``) or a credit to the card. Stock and the
    per-customer limit hold under concurrency (account lock + conditional stock update)."""
    ledger_key = f"reward:{key}"
    if (existing := await ledger.posted(ctx, ledger_key)) is not None:
        return {"entry": entry_json(existing), "replayed": True}
    account, program, config = await ledger.locked(ctx, account_id)
    if (existing := await ledger.posted(ctx, ledger_key)) is not None:
        return {"entry": entry_json(existing), "replayed": True}  # a racing retry's
    reward = await repository.get_reward(ctx.session, ctx.tenant_id, reward_id)
    if reward is None or reward.program_id != program.id:
        raise RewardNotFound(f"no reward {reward_id} in this program")
    if not reward.active:
        raise RewardUnavailable("this reward is not offered now", details={"reason": "inactive"})
    if reward.per_customer_limit is not None:
        used = await repository.reward_uses(ctx.session, account.id, reward.id)
        if used >= reward.per_customer_limit:
            raise RewardUnavailable(
                f"this card already took this reward {used} time(s)",
                details={"reason": "per_customer_limit", "limit": reward.per_customer_limit},
            )
    if reward.cost > account.balance:
        raise InsufficientBalance(
            f"the reward costs {reward.cost}, the card has {account.balance}",
            details={"balance": account.balance, "cost": reward.cost},
        )
    if not await repository.take_stock(ctx.session, reward.id):
        raise RewardUnavailable("this reward is out of stock", details={"reason": "out_of_stock"})
    entry = await ledger.debit(
        ctx,
        account,
        reward.cost,
        kind="spend",
        key=ledger_key,
        actor=actor,
        reward=reward,
        note=f"reward: {reward.name}",
    )
    out: dict[str, Any] = {"entry": entry_json(entry), "replayed": False}
    if reward.kind == "coupon":
        assert reward.campaign_id is not None
        code = await coupons.issue_code(
            ctx, reward.campaign_id, customer_id=account.customer_id, idempotency_key=ledger_key
        )
        out["code"] = {"id": str(code.id), "code": code.code}
    else:
        assert reward.credit_amount is not None
        credit = await ledger.credit(
            ctx,
            account,
            config,
            reward.credit_amount,
            key=f"{ledger_key}:credit",
            actor=actor,
            kind="adjust",
            note=f"reward: {reward.name}",
        )
        out["credit"] = entry_json(credit)
    await cardpass.after_change(ctx, account, program, config)
    out["balance"] = account.balance
    return out
