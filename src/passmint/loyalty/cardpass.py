"""A card's pass: the data it shows (the ``{{ placeholders }}`` a program fills, with
plausible samples for the designer's preview, registered with the pass service), and
bringing it up to date after every change to the card: the tier upgrade at once, then a
render job after commit (one per card and transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, Final

from passmint.loyalty import repository
from passmint.loyalty.common import config_of, get_account, get_program, list_programs
from passmint.loyalty.rules import next_tier
from passmint.loyalty.schemas import ProgramConfig
from passmint.loyalty.tiers import qualifying_points, upgrade
from passmint.models import Account, Customer, Program
from passmint.passes import repository as pass_repository
from passmint.passes import service as pass_service
from passmint.passes.service import PassContext
from passmint.wallet.designs.usage import Provider
from passmint.worker.outbox import enqueue

RENDER_JOB: Final = "loyalty.render_pass"
RENDER_KEY: Final = "passmint.loyalty.render_pending"


PASS_DATA_NAMES: Final = frozenset(
    {"points", "pending", "currency_name", "card_number", "referral_code", "tier", "tier_key"}
    | {"next_tier", "points_to_next_tier", "next_reward", "points_to_next_reward", "name"}
)
"""The keys of :func:`pass_data` besides the currency's own code (``stamps`` ...)."""


def pass_data_names(program: Program) -> frozenset[str]:
    """The ``{{ placeholders }}`` the program fills on its cards' passes."""
    return PASS_DATA_NAMES | {config_of(program).currency.code}


def pass_data_samples(program: Program) -> dict[str, Any]:
    """Plausible values of what :func:`pass_data` fills, from the program's configuration,
    for a designer's preview: a card half way to its second tier."""
    config = config_of(program)
    tiers = sorted(config.tiers, key=lambda tier: tier.threshold)
    current = tiers[0] if tiers else None
    upcoming = tiers[1] if len(tiers) > 1 else None
    if current is not None and upcoming is not None:
        balance = max(1, (current.threshold + upcoming.threshold) // 2)
    else:
        balance = max(120, current.threshold if current is not None else 0)
    return {
        "points": balance,
        config.currency.code: balance,
        "pending": 0,
        "currency_name": config.currency.plural,
        "tier": current.name if current else "",
        "tier_key": current.key if current else "",
        "next_tier": upcoming.name if upcoming else "",
        "points_to_next_tier": upcoming.threshold - balance if upcoming else 0,
    }


@pass_service.provides_pass_data
async def _program_providers(
    ctx: PassContext, template_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Provider]]:
    """The loyalty programs these templates back: they write their cards' pass data."""
    wanted = set(template_ids)
    out: dict[uuid.UUID, list[Provider]] = {}
    for program in await list_programs(ctx):
        if program.template_id in wanted:
            provider = Provider(
                f"program {program.name!r}",
                pass_data_names(program),
                samples=pass_data_samples(program),
            )
            out.setdefault(program.template_id, []).append(provider)
    return out


async def pass_data(
    ctx: PassContext,
    account: Account,
    program: Program,
    config: ProgramConfig,
    customer: Customer | None,
    qualifying: int | None = None,
) -> dict[str, Any]:
    """What a card's pass shows: the bindings a template uses as ``{{ placeholders }}``."""
    tier = next((t for t in config.tiers if t.key == account.tier), None)
    upcoming = next_tier(config.tiers, account.tier)
    if upcoming is not None and qualifying is None:
        qualifying = await qualifying_points(ctx, account, config)
    rewards = [r for r in await repository.rewards_of_program(ctx.session, program.id) if r.active]
    ahead = [r for r in rewards if r.cost > account.balance]
    target = ahead[0] if ahead else (rewards[-1] if rewards else None)
    data: dict[str, Any] = {
        "points": account.balance,
        config.currency.code: account.balance,
        "pending": account.pending,
        "currency_name": config.currency.plural if account.balance != 1 else config.currency.name,
        "card_number": account.number,
        "referral_code": account.referral_code,
        "tier": tier.name if tier else "",
        "tier_key": account.tier or "",
        "next_tier": upcoming.name if upcoming else "",
        "points_to_next_tier": max(0, upcoming.threshold - (qualifying or 0)) if upcoming else 0,
        "next_reward": target.name if target else "",
        "points_to_next_reward": max(0, target.cost - account.balance) if target else 0,
        "name": (customer.name if customer and customer.name else ""),
    }
    return data


async def after_change(
    ctx: PassContext, account: Account, program: Program, config: ProgramConfig
) -> None:
    """Tier upgrade now; the pass after commit: a job re-renders it from the committed
    state (pushing Apple devices and PATCHing the Google object when it shows anything
    new), so the value transaction stays short and several changes to one card in a
    row cost one render."""
    await upgrade(ctx, account, config)
    account.updated_at = ctx.now
    if account.pass_id is None:
        return
    pending: set[uuid.UUID] = ctx.session.info.setdefault(RENDER_KEY, set())
    if account.id in pending:
        return
    pending.add(account.id)
    await enqueue(
        ctx.session,
        RENDER_JOB,
        {"tenant_id": str(ctx.tenant_id), "account_id": str(account.id)},
        now=ctx.now,
    )


async def render_card_pass(ctx: PassContext, account_id: uuid.UUID) -> bool:
    """Bring a card's pass up to date with the card (the render job). True if it changed."""
    account = await get_account(ctx, account_id)
    if account.pass_id is None:
        return False
    program = await get_program(ctx, account.program_id)
    config = config_of(program)
    customer = (
        await repository.get_customer(ctx.session, ctx.tenant_id, account.customer_id)
        if account.customer_id
        else None
    )
    data = await pass_data(ctx, account, program, config, customer)
    pass_ = await pass_repository.get_pass(ctx.session, ctx.tenant_id, account.pass_id)
    if pass_ is None or pass_.status == "voided":
        return False
    if all(pass_.data.get(k) == v for k, v in data.items()):
        return False
    await pass_service.update_pass(ctx, pass_.id, data)
    return True
