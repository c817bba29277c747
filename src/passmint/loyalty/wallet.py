"""A customer's wallet: each of their cards with its balance, tier and progress to the next
one, and the rewards within reach."""

from __future__ import annotations

import uuid
from typing import Any

from passmint.loyalty import repository, tiers
from passmint.loyalty.common import config_of, get_program
from passmint.loyalty.customers import get_customer
from passmint.loyalty.rules import next_tier
from passmint.loyalty.schemas import Tier
from passmint.passes.service import PassContext


async def wallet(ctx: PassContext, customer_id: uuid.UUID) -> dict[str, Any]:
    customer = await get_customer(ctx, customer_id)
    cards = []
    for account in await repository.accounts_of_customer(ctx.session, customer.id):
        program = await get_program(ctx, account.program_id)
        config = config_of(program)
        upcoming = next_tier(config.tiers, account.tier)
        qualifying = await tiers.qualifying_points(ctx, account, config)
        current = next((t for t in config.tiers if t.key == account.tier), None)
        rewards = []
        for reward in await repository.rewards_of_program(ctx.session, program.id):
            if not reward.active or reward.cost > account.balance or reward.stock == 0:
                continue
            if reward.per_customer_limit is not None:
                used = await repository.reward_uses(ctx.session, account.id, reward.id)
                if used >= reward.per_customer_limit:
                    continue
            rewards.append({"id": str(reward.id), "name": reward.name, "cost": reward.cost})
        cards.append(
            {
                "account_id": str(account.id),
                "program": {"id": str(program.id), "name": program.name},
                "number": account.number,
                "currency": config.currency.model_dump(),
                "balance": account.balance,
                "pending": account.pending,
                "tier": _tier_json(current),
                "next_tier": (
                    {
                        "key": upcoming.key,
                        "name": upcoming.name,
                        "threshold": upcoming.threshold,
                        "qualifying_points": qualifying,
                        "points_needed": max(0, upcoming.threshold - qualifying),
                    }
                    if upcoming is not None
                    else None
                ),
                "rewards_available": rewards,
                "pass_id": str(account.pass_id) if account.pass_id else None,
            }
        )
    return {"customer_id": str(customer.id), "cards": cards}


def _tier_json(tier: Tier | None) -> dict[str, Any] | None:
    if tier is None:
        return None
    return {"key": tier.key, "name": tier.name, "threshold": tier.threshold}
