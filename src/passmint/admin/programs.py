"""Loyalty programs: the list, a new program, and a program's earn rules, tiers, tier
qualification, expiry and rewards edited as forms, validated by the loyalty API's own
schemas and saved through its services. Reading needs loyalty:read; changing, loyalty:write
(a role without it reads the same page with every control disabled)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from passmint.admin import loyaltyform
from passmint.admin.auth import Staff, form_of, requiring
from passmint.admin.designform import control_id
from passmint.admin.i18n import Texts
from passmint.admin.loyaltyform import Problems
from passmint.admin.render import page, texts_for
from passmint.coupons import service as coupons
from passmint.coupons.errors import CampaignNotFound
from passmint.kit.currencies import MINOR_UNITS
from passmint.loyalty import backoffice, common
from passmint.loyalty import programs as loyalty_programs
from passmint.loyalty import rewards as loyalty_rewards
from passmint.loyalty.errors import InvalidLoyaltyInput
from passmint.loyalty.schemas import ProgramCreate, ProgramPatch, RewardIn
from passmint.models import Program
from passmint.passes import service as passes
from passmint.passes.errors import TemplateNotFound
from passmint.passes.service import PassContext
from passmint.tenants.scopes import Scope
from passmint.web.deps import RuntimeDep

router = APIRouter(prefix="/admin/programs", include_in_schema=False)

Reader = Annotated[Staff, Depends(requiring(Scope.LOYALTY_READ))]
Writer = Annotated[Staff, Depends(requiring(Scope.LOYALTY_WRITE))]
MAX_LISTED: Final = 200


def choices(t: Texts) -> dict[str, list[tuple[str, str]]]:
    """The options of the program form's selects, in the visitor's language."""
    return {
        "trigger": [
            ("purchase", t.gettext("Purchase: points per amount spent")),
            ("visit", t.gettext("Visit")),
            ("enrollment", t.gettext("Joining the program")),
            ("birthday", t.gettext("Birthday")),
            ("referral", t.gettext("Referral: both sides")),
            ("custom", t.gettext("Custom event")),
        ],
        "rounding": [
            ("down", t.gettext("Round down")),
            ("nearest", t.gettext("Round to the nearest")),
            ("up", t.gettext("Round up")),
        ],
        "currency": [("", t.gettext("None"))] + [(c, c) for c in sorted(MINOR_UNITS)],
        "metric": [
            ("lifetime", t.gettext("Points earned ever")),
            ("rolling", t.gettext("Points earned in the last days")),
            ("calendar", t.gettext("Points earned this calendar period")),
        ],
        "period": [
            ("", t.gettext("None")),
            ("month", t.gettext("Month")),
            ("quarter", t.gettext("Quarter")),
            ("year", t.gettext("Year")),
        ],
        "expiry": [
            ("none", t.gettext("Points never expire")),
            ("rolling", t.gettext("A number of days after they are earned")),
            ("period_end", t.gettext("At the end of the calendar period they were earned in")),
            ("inactivity", t.gettext("All of them, after days without activity")),
        ],
        "status": [
            ("active", t.gettext("Active")),
            ("paused", t.gettext("Paused: no new cards")),
            ("archived", t.gettext("Archived")),
        ],
        "reward_kind": [
            ("credit", t.gettext("Points back on the card")),
            ("coupon", t.gettext("A coupon code from a campaign")),
        ],
    }


def status_names(t: Texts) -> dict[str, str]:
    return dict(choices(t)["status"])


@router.get("", response_class=HTMLResponse)
async def programs(request: Request, runtime: RuntimeDep, staff: Reader) -> HTMLResponse:
    t = texts_for(request)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        rows = (await common.list_programs(ctx))[:MAX_LISTED]
    return page(
        request,
        "programs.html",
        title=t.gettext("Programs"),
        staff=staff,
        programs=[(p, common.config_of(p)) for p in rows],
        status_names=status_names(t),
        can_edit=staff.can(Scope.LOYALTY_WRITE),
    )


async def _template_options(ctx: PassContext) -> list[tuple[str, str]]:
    rows = await passes.list_templates(ctx, after=None, limit=MAX_LISTED)
    return [(str(template.id), template.name) for template, _ in rows]


async def _campaign_options(ctx: PassContext) -> list[tuple[str, str]]:
    rows = await coupons.list_campaigns(ctx, after=None, limit=MAX_LISTED)
    return [(str(campaign.id), campaign.name) for campaign in rows]


async def _program_page(
    request: Request,
    ctx: PassContext,
    staff: Staff,
    *,
    program: Program | None,
    values: dict[str, Any],
    problems: Problems | None = None,
    reward_values: dict[str, str] | None = None,
    reward_problems: Problems | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    t = texts_for(request)
    found = problems.by_name if problems else {}
    reward_found = reward_problems.by_name if reward_problems else {}
    can_edit = staff.can(Scope.LOYALTY_WRITE)
    rewards = await loyalty_rewards.list_rewards(ctx, program.id) if program is not None else []
    campaigns = await _campaign_options(ctx) if program is not None and can_edit else []
    return page(
        request,
        "program.html",
        status_code=status_code,
        title=program.name if program is not None else t.gettext("New program"),
        staff=staff,
        program=program,
        values=values,
        problems=found,
        problem_count=problems.count() if problems else 0,
        problem=lambda name: " ".join(found.get(name, [])) or None,
        reward_values=reward_values or dict.fromkeys(loyaltyform.REWARD_FIELDS, ""),
        reward_problem=lambda name: " ".join(reward_found.get(name, [])) or None,
        reward_problem_count=reward_problems.count() if reward_problems else 0,
        rewards=rewards,
        campaigns=campaigns,
        campaign_names=dict(campaigns),
        templates=await _template_options(ctx) if program is None else [],
        choices=choices(t),
        status_names=status_names(t),
        can_edit=can_edit,
        notice=notice,
        control_id=control_id,
        fields=loyaltyform,
    )


def _stored_values(program: Program) -> dict[str, Any]:
    return loyaltyform.program_values(
        name=program.name,
        status=program.status,
        template_id=str(program.template_id),
        config=common.config_of(program),
    )


@router.get("/new", response_class=HTMLResponse)
async def new_program(request: Request, runtime: RuntimeDep, staff: Writer) -> HTMLResponse:
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        return await _program_page(
            request, ctx, staff, program=None, values=loyaltyform.empty_program_values()
        )


@router.post("/new", response_class=HTMLResponse)
async def create_program(request: Request, runtime: RuntimeDep, staff: Writer) -> Response:
    t = texts_for(request)
    parsed = loyaltyform.program_from_form(t, await form_of(request))
    body = {k: v for k, v in parsed.body.items() if k != "status"}
    body["name"] = parsed.values["name"]
    created = loyaltyform.validated(ProgramCreate, body, parsed.problems)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        if created is not None:
            try:
                program = await loyalty_programs.create_program(
                    ctx, name=created.name, template_id=created.template_id, config=created.config
                )
            except TemplateNotFound:  # another business's design, or none: nothing stored
                parsed.problems.add("template_id", t.gettext("Choose one of your designs."))
            else:
                return RedirectResponse(
                    f"/admin/programs/{program.id}?done=created", status_code=303
                )
        return await _program_page(
            request,
            ctx,
            staff,
            program=None,
            values=parsed.values,
            problems=parsed.problems,
            status_code=422,
        )


@router.get("/{program_id}", response_class=HTMLResponse)
async def program(
    request: Request, program_id: uuid.UUID, runtime: RuntimeDep, staff: Reader
) -> HTMLResponse:
    t = texts_for(request)
    notice = {
        "created": t.gettext("The program is created."),
        "saved": t.gettext("Saved."),
        "reward": t.gettext("The reward is added."),
        "offered": t.gettext("The reward is offered again."),
        "withdrawn": t.gettext("The reward is no longer offered."),
    }.get(request.query_params.get("done", ""))
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        found = await common.get_program(ctx, program_id)
        return await _program_page(
            request, ctx, staff, program=found, values=_stored_values(found), notice=notice
        )


@router.post("/{program_id}", response_class=HTMLResponse)
async def save_program(
    request: Request, program_id: uuid.UUID, runtime: RuntimeDep, staff: Writer
) -> Response:
    """Save the whole form; with a problem, the form again as typed with each message next
    to its control (422) and nothing stored."""
    t = texts_for(request)
    parsed = loyaltyform.program_from_form(t, await form_of(request))
    body = {k: v for k, v in parsed.body.items() if k != "template_id"}
    body["name"] = parsed.values["name"]
    patch = loyaltyform.validated(ProgramPatch, body, parsed.problems)
    if patch is not None:
        try:
            async with runtime.transaction() as session:
                ctx = runtime.pass_context(session, staff.tenant_id)
                await loyalty_programs.update_program(
                    ctx, program_id, name=patch.name, status=patch.status, config=patch.config
                )
            return RedirectResponse(f"/admin/programs/{program_id}?done=saved", status_code=303)
        except InvalidLoyaltyInput as exc:  # rolled back: nothing stored
            where = "currency.code" if exc.message.startswith("config.currency.code") else ""
            parsed.problems.add(where, exc.message.removeprefix("config.currency.code "))
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        found = await common.get_program(ctx, program_id)
        return await _program_page(
            request,
            ctx,
            staff,
            program=found,
            values=parsed.values,
            problems=parsed.problems,
            status_code=422,
        )


@router.post("/{program_id}/rewards", response_class=HTMLResponse)
async def add_reward(
    request: Request, program_id: uuid.UUID, runtime: RuntimeDep, staff: Writer
) -> Response:
    t = texts_for(request)
    values, body, problems = loyaltyform.reward_from_form(t, await form_of(request))
    try:
        reward = RewardIn.model_validate(body)
    except ValidationError as exc:
        loyaltyform.reward_problems(exc, problems)
        reward = None
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        found = await common.get_program(ctx, program_id)
        if reward is not None and reward.campaign_id is not None:
            try:
                await coupons.get_campaign(ctx, reward.campaign_id)
            except CampaignNotFound:
                problems.add("reward.campaign_id", t.gettext("Choose one of your campaigns."))
        if reward is not None and not problems:
            await loyalty_rewards.create_reward(ctx, found.id, reward)
            return RedirectResponse(
                f"/admin/programs/{found.id}?done=reward#rewards", status_code=303
            )
        return await _program_page(
            request,
            ctx,
            staff,
            program=found,
            values=_stored_values(found),
            reward_values=values,
            reward_problems=problems,
            status_code=422,
        )


@router.post("/{program_id}/rewards/{reward_id}")
async def offer_reward(
    request: Request,
    program_id: uuid.UUID,
    reward_id: uuid.UUID,
    runtime: RuntimeDep,
    staff: Writer,
) -> Response:
    """Offer a reward again (``active=1``) or stop offering it (``active=0``)."""
    active = (await form_of(request)).get("active") == "1"
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        await backoffice.set_reward_active(ctx, program_id, reward_id, active)
    done = "offered" if active else "withdrawn"
    return RedirectResponse(f"/admin/programs/{program_id}?done={done}#rewards", status_code=303)
