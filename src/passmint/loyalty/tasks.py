"""Loyalty jobs: settling accounts when pending points become available or lots expire,
tier reviews at the end of a qualification period, and daily birthday bonuses."""

from __future__ import annotations

import uuid
from typing import Any

from passmint.loyalty import cardpass, common, ledger, programs, tierreview, tiers
from passmint.loyalty.errors import AccountClosed, AccountNotFound, ProgramNotFound
from passmint.passes.host import ServiceHost
from passmint.worker.outbox import enqueue
from passmint.worker.registry import JobContext, job


@job(ledger.SETTLE_JOB)
async def settle_account(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    pass_ctx = ctx.runtime.pass_context(ctx.session, uuid.UUID(payload["tenant_id"]))
    try:
        await ledger.settle_and_show(pass_ctx, uuid.UUID(payload["account_id"]))
    except (AccountNotFound, AccountClosed):
        return


@job(cardpass.RENDER_JOB)
async def render_pass(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    pass_ctx = ctx.runtime.pass_context(ctx.session, uuid.UUID(payload["tenant_id"]))
    try:
        await cardpass.render_card_pass(pass_ctx, uuid.UUID(payload["account_id"]))
    except AccountNotFound:
        return


@job(tiers.TIER_REVIEW_JOB)
async def review_tier(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    pass_ctx = ctx.runtime.pass_context(ctx.session, uuid.UUID(payload["tenant_id"]))
    try:
        await tierreview.review_tier(pass_ctx, uuid.UUID(payload["account_id"]))
    except (AccountNotFound, AccountClosed):
        return


@job(programs.BIRTHDAY_JOB)
async def birthdays(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    """Today's birthdays, then the same job again shortly after the next midnight."""
    pass_ctx = ctx.runtime.pass_context(ctx.session, uuid.UUID(payload["tenant_id"]))
    program_id = uuid.UUID(payload["program_id"])
    try:
        await programs.award_birthdays(pass_ctx, program_id)
        program = await common.get_program(pass_ctx, program_id)
    except ProgramNotFound:
        return
    config = common.config_of(program)
    if program.status == "archived" or not any(r.trigger == "birthday" for r in config.earn_rules):
        return
    run_at = programs.next_birthday_run(pass_ctx.now, config.timezone)
    await enqueue(
        ctx.session, programs.BIRTHDAY_JOB, payload, now=pass_ctx.now, delay=run_at - pass_ctx.now
    )
