"""Loyalty jobs: settling accounts when pending points become available or lots expire,
tier reviews at the end of a qualification period, and daily birthday bonuses."""

from __future__ import annotations

import uuid
from typing import Any

from passmint.loyalty import service
from passmint.loyalty.errors import AccountClosed, AccountNotFound, ProgramNotFound
from passmint.passes.host import ServiceHost
from passmint.worker.outbox import enqueue
from passmint.worker.registry import JobContext, job


@job(service.SETTLE_JOB)
async def settle_account(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    pass_ctx = ctx.runtime.pass_context(ctx.session, uuid.UUID(payload["tenant_id"]))
    try:
        await service.settle_and_show(pass_ctx, uuid.UUID(payload["account_id"]))
    except (AccountNotFound, AccountClosed):
        return


@job(service.RENDER_JOB)
async def render_pass(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    pass_ctx = ctx.runtime.pass_context(ctx.session, uuid.UUID(payload["tenant_id"]))
    try:
        await service.render_card_pass(pass_ctx, uuid.UUID(payload["account_id"]))
    except AccountNotFound:
        return


@job(service.TIER_REVIEW_JOB)
async def review_tier(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    pass_ctx = ctx.runtime.pass_context(ctx.session, uuid.UUID(payload["tenant_id"]))
    try:
        await service.review_tier(pass_ctx, uuid.UUID(payload["account_id"]))
    except (AccountNotFound, AccountClosed):
        return


@job(service.BIRTHDAY_JOB)
async def birthdays(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    """Today's birthdays, then the same job again shortly after the next midnight."""
    pass_ctx = ctx.runtime.pass_context(ctx.session, uuid.UUID(payload["tenant_id"]))
    program_id = uuid.UUID(payload["program_id"])
    try:
        await service.award_birthdays(pass_ctx, program_id)
        program = await service.get_program(pass_ctx, program_id)
    except ProgramNotFound:
        return
    config = service.config_of(program)
    if program.status == "archived" or not any(r.trigger == "birthday" for r in config.earn_rules):
        return
    run_at = service.next_birthday_run(pass_ctx.now, config.timezone)
    await enqueue(
        ctx.session, service.BIRTHDAY_JOB, payload, now=pass_ctx.now, delay=run_at - pass_ctx.now
    )
