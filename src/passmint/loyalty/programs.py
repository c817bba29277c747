"""Programs: creating and changing them (currency, earn rules, tiers, expiry, the pass
template of their cards), and the birthday bonus their earn rules may give, awarded by a
daily job per program."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from passmint.kit.ids import uuid7
from passmint.loyalty import cardpass, ledger, repository
from passmint.loyalty.common import config_of, get_program
from passmint.loyalty.errors import InvalidLoyaltyInput
from passmint.loyalty.rules import day_bounds, earnings
from passmint.loyalty.schemas import ProgramConfig
from passmint.models import Program
from passmint.passes import service as pass_service
from passmint.passes.service import PassContext
from passmint.worker.outbox import enqueue

BIRTHDAY_JOB: Final = "loyalty.birthdays"


async def create_program(
    ctx: PassContext, *, name: str, template_id: uuid.UUID, config: ProgramConfig
) -> Program:
    await pass_service.get_template(ctx, template_id)  # 404 for another tenant's template
    program = Program(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        name=name,
        template_id=template_id,
        status="active",
        config=config.model_dump(mode="json"),
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(program)
    await ctx.session.flush()
    if any(rule.trigger == "birthday" for rule in config.earn_rules):
        await _schedule_birthdays(ctx, program, config)
    return program


async def update_program(
    ctx: PassContext,
    program_id: uuid.UUID,
    *,
    name: str | None,
    status: str | None,
    config: ProgramConfig | None,
) -> Program:
    program = await get_program(ctx, program_id, lock=True)
    if name is not None:
        program.name = name
    if status is not None:
        program.status = status
    if config is not None:
        old = config_of(program)
        if old.currency.code != config.currency.code and await repository.has_accounts(
            ctx.session, program.id
        ):
            raise InvalidLoyaltyInput(
                "config.currency.code cannot change once cards exist (their passes show it)"
            )
        program.config = config.model_dump(mode="json")
        if any(r.trigger == "birthday" for r in config.earn_rules) and not any(
            r.trigger == "birthday" for r in old.earn_rules
        ):
            await _schedule_birthdays(ctx, program, config)
    program.updated_at = ctx.now
    return program


# -- birthdays -------------------------------------------------------------------------------


async def _schedule_birthdays(ctx: PassContext, program: Program, config: ProgramConfig) -> None:
    await enqueue(
        ctx.session,
        BIRTHDAY_JOB,
        {"tenant_id": str(ctx.tenant_id), "program_id": str(program.id)},
        now=ctx.now,
        delay=timedelta(0),
    )


async def award_birthdays(ctx: PassContext, program_id: uuid.UUID) -> int:
    """Credit today's birthdays (program time zone), once per card per year."""
    program = await get_program(ctx, program_id)
    config = config_of(program)
    rules = [r for r in config.earn_rules if r.trigger == "birthday"]
    if not rules or program.status != "active":
        return 0
    today = ctx.now.astimezone(ZoneInfo(config.timezone)).date()
    awarded = 0
    for account_id in await repository.accounts_with_birthday(
        ctx.session, program.id, today.month, today.day
    ):
        key_base = f"birthday:{account_id}:{today.year}"
        if await repository.entry_by_key(ctx.session, ctx.tenant_id, f"{key_base}:{rules[0].key}"):
            continue
        account, _, _ = await ledger.locked(ctx, account_id)
        found = earnings(config, trigger="birthday", tier=account.tier, usage={}, at=ctx.now)
        awarded += len(await ledger.post_earnings(ctx, account, config, found, key_base=key_base))
        await cardpass.after_change(ctx, account, program, config)
    return awarded


def next_birthday_run(now: datetime, timezone: str) -> datetime:
    return day_bounds(now, timezone)[1] + timedelta(minutes=5)
