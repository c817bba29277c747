"""What the campaign pages share: the words for kinds, statuses, offers and rules in the
visitor's language, and a campaign's page (its figures, rules, batches and the forms that
make codes), which the batch and import forms show again with their problems."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from passmint.admin import campaignform, forms
from passmint.admin.auth import Staff, requiring
from passmint.admin.i18n import Texts
from passmint.admin.render import page, texts_for
from passmint.coupons import batches, overview
from passmint.coupons.rules import Kind
from passmint.kit.currencies import MINOR_UNITS
from passmint.models import Campaign
from passmint.passes import service as passes
from passmint.passes.host import ServiceHost
from passmint.tenants.scopes import Scope

Reader = Annotated[Staff, Depends(requiring(Scope.COUPONS_READ))]
Writer = Annotated[Staff, Depends(requiring(Scope.COUPONS_WRITE))]

PAGE: Final = 50
"""Rows of a listing page."""


# -- words -----------------------------------------------------------------------------------


def kinds(t: Texts) -> dict[str, str]:
    return {
        Kind.DISCOUNT: t.gettext("Discount"),
        Kind.FREE_ITEM: t.gettext("Free item"),
        Kind.GIFT_CARD: t.gettext("Gift card"),
    }


def statuses(t: Texts) -> dict[str, str]:
    return {
        "active": t.gettext("Active"),
        "paused": t.gettext("Paused"),
        "archived": t.gettext("Archived"),
    }


def money(t: Texts, minor: int | None, currency: str | None) -> str:
    if minor is None:
        return ""
    if not currency:
        return t.number(minor)
    return t.money(minor, currency, MINOR_UNITS.get(currency, 2))


def offer(t: Texts, campaign: Campaign) -> str:
    """What a code of the campaign gives, in words."""
    if campaign.kind == Kind.FREE_ITEM:
        return t.gettext("Free: %(item)s", item=campaign.item_name or campaign.item_sku or "")
    if campaign.kind == Kind.GIFT_CARD:
        return t.gettext(
            "%(amount)s to spend",
            amount=money(t, campaign.initial_balance, campaign.currency),
        )
    if campaign.percent_off_bp is not None:
        off = t.gettext("%(percent)s%% off", percent=t.number(campaign.percent_off_bp / 100))
        if campaign.max_discount is not None:
            off += " " + t.gettext(
                "(at most %(amount)s)", amount=money(t, campaign.max_discount, campaign.currency)
            )
        return off
    return t.gettext("%(amount)s off", amount=money(t, campaign.amount_off, campaign.currency))


def _moment(t: Texts, value: datetime, where: ZoneInfo) -> str:
    return t.format_datetime(value.astimezone(where))


def rules_of(t: Texts, campaign: Campaign, design: str | None) -> list[tuple[str, str]]:
    """The campaign's rules as (what, value) lines; only the rules it has."""
    where = campaignform.zone_of(campaign)
    currency = campaign.currency
    lines: list[tuple[str, str]] = [(t.gettext("Value"), offer(t, campaign))]
    if campaign.starts_at is not None:
        lines.append((t.gettext("Valid from"), _moment(t, campaign.starts_at, where)))
    if campaign.ends_at is not None:
        lines.append((t.gettext("Valid until"), _moment(t, campaign.ends_at, where)))
    if campaign.weekdays:
        names = t.locale.days["format"]["wide"]
        days = ", ".join(str(names[int(d) - 1]) for d in sorted(campaign.weekdays))
        lines.append((t.gettext("Weekdays"), days))
    if campaign.hours_from is not None and campaign.hours_to is not None:
        hours = f"{campaignform.hhmm(campaign.hours_from)}–{campaignform.hhmm(campaign.hours_to)}"
        lines.append((t.gettext("Hours"), hours))
    lines.append((t.gettext("Time zone"), campaign.timezone))
    if campaign.min_order_amount is not None:
        lines.append((t.gettext("Minimum order"), money(t, campaign.min_order_amount, currency)))
    if campaign.max_order_amount is not None:
        lines.append((t.gettext("Maximum order"), money(t, campaign.max_order_amount, currency)))
    uses = campaign.code_max_uses
    lines.append(
        (
            t.gettext("Uses of each new code"),
            t.number(uses) if uses is not None else t.gettext("Unlimited"),
        )
    )
    if campaign.per_customer_limit is not None:
        lines.append((t.gettext("Uses per customer"), t.number(campaign.per_customer_limit)))
    if campaign.total_limit is not None:
        lines.append(
            (
                t.gettext("Uses in the campaign"),
                t.gettext(
                    "%(used)s of %(limit)s",
                    used=t.number(campaign.total_used),
                    limit=t.number(campaign.total_limit),
                ),
            )
        )
    if campaign.customer_ids is not None:
        count = len(campaign.customer_ids)
        lines.append(
            (
                t.gettext("Customers"),
                t.ngettext("Only %(num)s customer", "Only %(num)s customers", count),
            )
        )
    if campaign.tiers is not None:
        lines.append((t.gettext("Tiers"), ", ".join(str(x) for x in campaign.tiers)))
    if design is not None:
        lines.append((t.gettext("Pass design"), design))
    return lines


def parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# -- a campaign's page: its figures, rules, batches and imports --------------------------------


def done_notices(t: Texts) -> dict[str, str]:
    """What a campaign's page says after the redirect of a write (``?done=…``)."""
    return {
        "created": t.gettext("The campaign is created."),
        "saved": t.gettext("The campaign is saved."),
        "batch": t.gettext("The batch is started."),
        "imported": t.gettext("The codes are imported."),
    }


def batch_words(t: Texts) -> dict[str, Any]:
    return {
        "sources": {"generated": t.gettext("Generated"), "imported": t.gettext("Imported")},
        "batch_statuses": {
            "generating": t.gettext("Generating"),
            "ready": t.gettext("Ready"),
            "failed": t.gettext("Failed"),
        },
    }


async def campaign_page(
    request: Request,
    runtime: ServiceHost,
    staff: Staff,
    campaign_id: uuid.UUID,
    *,
    status_code: int = 200,
    batch_values: dict[str, str] | None = None,
    batch_errors: dict[str, str] | None = None,
    import_error: str | None = None,
    import_problems: list[dict[str, Any]] | None = None,
    import_count: int = 0,
) -> HTMLResponse:
    t = texts_for(request)
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        figures = await overview.campaign_figures(ctx, campaign_id)
        campaign = figures.campaign
        rows = await overview.campaign_batches(ctx, campaign)
        design = None
        if campaign.template_id is not None and staff.can(Scope.TEMPLATES_READ):
            template, _ = await passes.get_template(ctx, campaign.template_id)
            design = template.name
    return page(
        request,
        "campaign.html",
        status_code=status_code,
        title=campaign.name,
        staff=staff,
        figures=figures,
        campaign=campaign,
        rules=rules_of(t, campaign, design),
        kinds=kinds(t),
        statuses=statuses(t),
        batches=rows,
        batch_values=batch_values or {"count": "100", "prefix": "", "pattern": ""},
        batch_errors=batch_errors or {},
        import_error=import_error,
        import_problems=import_problems or [],
        import_count=import_count,
        notice=forms.notice(request, done_notices(t)),
        can_make_codes=staff.can(Scope.COUPONS_WRITE) and campaign.status != "archived",
        can_write=staff.can(Scope.COUPONS_WRITE),
        max_import_mb=batches.MAX_IMPORT_BYTES // (1024 * 1024),
        **batch_words(t),
    )
