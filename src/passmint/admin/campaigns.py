"""Campaigns: the list with each campaign's codes and redemptions, creating and editing one
(its value and rules, judged by the API's schemas and the coupons service) and a campaign's
page; its batches, imports and redemptions are in ``admin.campaigncodes``, whose routes
this router includes.

Reading needs ``coupons:read``; changing a campaign, its batches and imports
``coupons:write``; redemptions are read with ``coupons:read`` or ``redemptions:write`` and
rolled back with ``redemptions:write`` or ``coupons:write``, as in the API.
"""

from __future__ import annotations

import uuid
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passmint.admin import campaigncodes, campaignform
from passmint.admin.auth import Staff, form_of
from passmint.admin.campaignviews import (
    PAGE,
    Reader,
    Writer,
    campaign_page,
    kinds,
    offer,
    parse_uuid,
    statuses,
)
from passmint.admin.render import page, texts_for
from passmint.coupons import overview, service
from passmint.coupons.rules import Kind
from passmint.errors import PassmintError
from passmint.models import Campaign
from passmint.passes import service as passes
from passmint.passes.host import ServiceHost
from passmint.tenants.scopes import Scope
from passmint.web.deps import RuntimeDep

router = APIRouter(prefix="/admin/campaigns", include_in_schema=False)

MAX_TEMPLATES: Final = 200


# -- the list --------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
async def campaigns(request: Request, runtime: RuntimeDep, staff: Reader) -> HTMLResponse:
    t = texts_for(request)
    after = parse_uuid(request.query_params.get("after"))
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        rows = await overview.campaigns_with_figures(ctx, after=after, limit=PAGE)
    return page(
        request,
        "campaigns.html",
        title=t.gettext("Campaigns"),
        staff=staff,
        rows=rows,
        next_after=rows[-1].campaign.id if len(rows) == PAGE else None,
        offer=lambda c: offer(t, c),
        kinds=kinds(t),
        statuses=statuses(t),
        can_edit=staff.can(Scope.COUPONS_WRITE),
    )


# -- creating and editing ----------------------------------------------------------------------


async def _designs(runtime: ServiceHost, staff: Staff) -> list[tuple[str, str]]:
    """The designs a campaign's codes may get passes of (none without ``templates:read``)."""
    if not staff.can(Scope.TEMPLATES_READ):
        return []
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        rows = await passes.list_templates(ctx, after=None, limit=MAX_TEMPLATES)
    return [(str(template.id), template.name) for template, _ in rows]


def _form_page(
    request: Request,
    staff: Staff,
    *,
    campaign: Campaign | None,
    values: dict[str, str],
    errors: dict[str, str],
    designs: list[tuple[str, str]],
    status_code: int = 200,
) -> HTMLResponse:
    t = texts_for(request)
    title = (
        t.gettext("New campaign")
        if campaign is None
        else t.gettext("Edit %(name)s", name=campaign.name)
    )
    return page(
        request,
        "campaign_form.html",
        status_code=status_code,
        title=title,
        staff=staff,
        campaign=campaign,
        values=values,
        errors=errors,
        designs=designs,
        kinds=kinds(t),
        statuses=statuses(t),
        weekdays=[
            (day, str(t.locale.days["format"]["wide"][day - 1])) for day in campaignform.WEEKDAYS
        ],
        unplaced=[message for control, message in errors.items() if control not in _PLACED],
    )


_PLACED: Final = frozenset(
    {
        "name",
        "kind",
        "status",
        "currency",
        "template_id",
        "starts_at",
        "ends_at",
        "timezone",
        "weekdays",
        "hours_from",
        "hours_to",
        "min_order_amount",
        "max_order_amount",
        "per_customer_limit",
        "total_limit",
        "max_uses_per_code",
        "customer_ids",
        "tiers",
        *(c for controls in campaignform.KIND_CONTROLS.values() for c in controls),
    }
)
"""Controls the form shows a problem beside; any other problem is listed above the form."""


@router.get("/new", response_class=HTMLResponse)
async def new(request: Request, runtime: RuntimeDep, staff: Writer) -> HTMLResponse:
    values = {"kind": Kind.DISCOUNT, "status": "active", "timezone": "UTC"}
    designs = await _designs(runtime, staff)
    return _form_page(request, staff, campaign=None, values=values, errors={}, designs=designs)


@router.post("", response_class=HTMLResponse)
async def create(request: Request, runtime: RuntimeDep, staff: Writer) -> Response:
    t = texts_for(request)
    form = await form_of(request)
    body, reading = campaignform.read_create(form, t)
    if body is not None:
        try:
            async with runtime.transaction() as session:
                ctx = runtime.pass_context(session, staff.tenant_id)
                campaign = await service.create_campaign(ctx, body)
        except PassmintError as exc:
            if exc.status in (403, 404):
                raise
            reading.problem(*campaignform.domain_problem(exc))
        else:
            return RedirectResponse(f"/admin/campaigns/{campaign.id}?done=created", 303)
    return _form_page(
        request,
        staff,
        campaign=None,
        values=reading.values,
        errors=reading.errors,
        designs=await _designs(runtime, staff),
        status_code=422,
    )


@router.get("/{campaign_id}/edit", response_class=HTMLResponse)
async def edit(
    request: Request, campaign_id: uuid.UUID, runtime: RuntimeDep, staff: Writer
) -> HTMLResponse:
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        campaign = await service.get_campaign(ctx, campaign_id)
    return _form_page(
        request,
        staff,
        campaign=campaign,
        values=campaignform.values_of(campaign),
        errors={},
        designs=await _designs(runtime, staff),
    )


@router.post("/{campaign_id}/edit", response_class=HTMLResponse)
async def update(
    request: Request, campaign_id: uuid.UUID, runtime: RuntimeDep, staff: Writer
) -> Response:
    t = texts_for(request)
    form = await form_of(request)
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        campaign = await service.get_campaign(ctx, campaign_id)
    body, reading = campaignform.read_patch(form, t, campaign)
    if body is not None:
        try:
            async with runtime.transaction() as session:
                ctx = runtime.pass_context(session, staff.tenant_id)
                await service.update_campaign(ctx, campaign_id, body)
        except PassmintError as exc:
            if exc.status in (403, 404):
                raise
            reading.problem(*campaignform.domain_problem(exc))
        else:
            return RedirectResponse(f"/admin/campaigns/{campaign_id}?done=saved", 303)
    return _form_page(
        request,
        staff,
        campaign=campaign,
        values={**reading.values, "kind": campaign.kind, "currency": campaign.currency or ""},
        errors=reading.errors,
        designs=await _designs(runtime, staff),
        status_code=422,
    )


@router.get("/{campaign_id}", response_class=HTMLResponse)
async def show(
    request: Request, campaign_id: uuid.UUID, runtime: RuntimeDep, staff: Reader
) -> HTMLResponse:
    return await campaign_page(request, runtime, staff, campaign_id)


router.include_router(campaigncodes.router)  # after "/new": its paths all start with an id
