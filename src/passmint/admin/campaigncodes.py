"""A campaign's codes and redemptions: batches generated with a progress bar while jobs make
them (HTMX polls the batch's row each second, only while it is generating) and their codes
as CSV, CSV imports whose problems are listed by line (all or nothing, as in the API), and
the redemptions with who made each one and their rollback."""

from __future__ import annotations

import csv
import io
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from passmint.admin import campaignform, forms, security
from passmint.admin.auth import Staff, StaffDep, form_of
from passmint.admin.campaignviews import (
    PAGE,
    Reader,
    Writer,
    batch_words,
    campaign_page,
    money,
    parse_uuid,
)
from passmint.admin.render import page, texts_for
from passmint.coupons import batches, overview, redemptions, service
from passmint.coupons.errors import InvalidImport
from passmint.coupons.rules import Kind
from passmint.coupons.schemas import RollbackIn
from passmint.errors import PassmintError
from passmint.models import Code, CodeBatch
from passmint.passes.host import ServiceHost
from passmint.tenants.scopes import Scope
from passmint.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
"""Included by ``admin.campaigns.router`` (under ``/admin/campaigns``)."""

CSV_PAGE: Final = 1000
_KEY: Final = re.compile(r"\A[A-Za-z0-9_-]{16,64}\Z")


@router.post("/{campaign_id}/batches", response_class=HTMLResponse)
async def start_batch(
    request: Request, campaign_id: uuid.UUID, runtime: RuntimeDep, staff: Writer
) -> Response:
    """Up to 10,000 codes are made before the answer; a larger batch is made by jobs while
    its row shows the progress."""
    t = texts_for(request)
    body, reading = campaignform.read_batch(await form_of(request), t)
    if body is not None:
        try:
            async with runtime.transaction() as session:
                ctx = runtime.pass_context(session, staff.tenant_id)
                await batches.create_batch(ctx, campaign_id, body)
        except PassmintError as exc:
            if exc.status in (403, 404):
                raise
            control, message = campaignform.domain_problem(exc)
            reading.problem(control if control in campaignform.BATCH_CONTROLS else "", message)
        else:
            return RedirectResponse(f"/admin/campaigns/{campaign_id}?done=batch", 303)
    return await campaign_page(
        request,
        runtime,
        staff,
        campaign_id,
        status_code=422,
        batch_values=reading.values,
        batch_errors=reading.errors,
    )


@router.get("/{campaign_id}/batches/{batch_id}", response_class=HTMLResponse)
async def batch_row(
    request: Request,
    campaign_id: uuid.UUID,
    batch_id: uuid.UUID,
    runtime: RuntimeDep,
    staff: Reader,
) -> HTMLResponse:
    """The batch's row: HTMX asks for it every second while the batch is generating; the
    row of a finished batch asks no more."""
    t = texts_for(request)
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        batch = await batches.get_batch(ctx, campaign_id, batch_id)
    return page(request, "_batch_row.html", batch=batch, campaign_id=campaign_id, **batch_words(t))


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


def _csv_rows(codes: list[Code]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for code in codes:
        writer.writerow(
            [
                code.code,
                "" if code.balance is None else code.balance,
                "" if code.max_uses is None else code.max_uses,
                _iso(code.expires_at),
            ]
        )
    return out.getvalue()


@router.get("/{campaign_id}/batches/{batch_id}/codes.csv")
async def batch_codes(
    request: Request,
    campaign_id: uuid.UUID,
    batch_id: uuid.UUID,
    runtime: RuntimeDep,
    staff: Reader,
) -> Response:
    """The batch's codes as CSV, in the columns an import takes (each code's balance now,
    its uses and expiry). A ready batch gets no more codes, so reading it page by page gives
    each code once; each page is one short read, so a slow download holds no connection."""
    async with runtime.db.sessions() as session:
        batch: CodeBatch = await batches.get_batch(
            runtime.pass_context(session, staff.tenant_id), campaign_id, batch_id
        )
    if batch.status != "ready":  # the page shows the link once it is
        t = texts_for(request)
        return page(
            request,
            "error.html",
            status_code=409,
            staff=staff,
            heading=t.gettext("Not ready yet"),
            message=t.gettext("The codes can be downloaded once the batch is ready."),
            code="batch_not_ready",
            back=f"/admin/campaigns/{campaign_id}",
        )

    async def pages() -> AsyncIterator[str]:
        yield "code,balance,max_uses,expires_at\n"
        after: uuid.UUID | None = None
        while True:
            async with runtime.db.sessions() as session:
                ctx = runtime.pass_context(session, staff.tenant_id)
                _, rows = await service.list_codes(
                    ctx,
                    campaign_id,
                    batch_id=batch_id,
                    customer_id=None,
                    after=after,
                    limit=CSV_PAGE,
                )
            if rows:
                yield _csv_rows(rows)
            if len(rows) < CSV_PAGE:
                return
            after = rows[-1].id

    return StreamingResponse(
        pages(),
        media_type="text/csv; charset=utf-8",
        headers={
            **security.HEADERS,
            "Content-Disposition": f'attachment; filename="codes-{batch_id}.csv"',
        },
    )


@router.post("/{campaign_id}/import", response_class=HTMLResponse)
async def import_codes(
    request: Request, campaign_id: uuid.UUID, runtime: RuntimeDep, staff: Writer
) -> Response:
    """All or nothing, as in the API: a file with any bad line stores no code, and every
    problem is listed with its line."""
    t = texts_for(request)
    form = await request.form()  # parsed once already, for its CSRF token
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await campaign_page(
            request,
            runtime,
            staff,
            campaign_id,
            status_code=422,
            import_error=t.gettext("Choose a CSV file first."),
        )
    data = await upload.read(batches.MAX_IMPORT_BYTES + 1)
    try:
        async with runtime.transaction() as session:
            ctx = runtime.pass_context(session, staff.tenant_id)
            await batches.import_codes(ctx, campaign_id, data)
    except InvalidImport as exc:
        problems = exc.details.get("errors", [])
        return await campaign_page(
            request,
            runtime,
            staff,
            campaign_id,
            status_code=422,
            import_error=t.gettext("Nothing was imported: fix these lines and try again."),
            import_problems=list(problems) if isinstance(problems, list) else [],
            import_count=int(exc.details.get("error_count", 0) or 0),
        )
    except PassmintError as exc:
        if exc.status in (403, 404):
            raise
        return await campaign_page(
            request,
            runtime,
            staff,
            campaign_id,
            status_code=422,
            import_error=t.gettext("Nothing was imported: %(reason)s", reason=exc.message),
        )
    return RedirectResponse(f"/admin/campaigns/{campaign_id}?done=imported", 303)


# -- redemptions -----------------------------------------------------------------------------


def _customer(line: overview.RedemptionLine) -> str:
    customer = line.customer
    if customer is None:
        return ""
    return (
        customer.name
        or customer.email
        or customer.phone
        or customer.external_id
        or str(customer.id)
    )


async def _redemptions_page(
    request: Request,
    runtime: ServiceHost,
    staff: Staff,
    campaign_id: uuid.UUID,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    t = texts_for(request)
    before = parse_uuid(request.query_params.get("before"))
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        campaign = await service.get_campaign(ctx, campaign_id)
        lines = await overview.campaign_redemptions(ctx, campaign, before=before, limit=PAGE)
    return page(
        request,
        "campaign_redemptions.html",
        status_code=status_code,
        title=t.gettext("Redemptions of %(name)s", name=campaign.name),
        staff=staff,
        campaign=campaign,
        lines=lines,
        next_before=lines[-1].redemption.id if len(lines) == PAGE else None,
        customer=_customer,
        money=lambda minor, currency: money(t, minor, currency),
        actors={
            "user": t.gettext("Staff"),
            "api_key": t.gettext("API key"),
            "system": t.gettext("System"),
        },
        can_roll_back=staff.can(Scope.REDEMPTIONS_WRITE) or staff.can(Scope.COUPONS_WRITE),
        can_read_campaign=staff.can(Scope.COUPONS_READ),
        gift=campaign.kind == Kind.GIFT_CARD,
        key=secrets.token_urlsafe(24),
        notice=forms.notice(request, {"rolled_back": t.gettext("The redemption is rolled back.")}),
        error=error,
    )


@router.get("/{campaign_id}/redemptions", response_class=HTMLResponse)
async def redemptions_page(
    request: Request, campaign_id: uuid.UUID, runtime: RuntimeDep, staff: StaffDep
) -> HTMLResponse:
    staff.principal.require(Scope.COUPONS_READ, Scope.REDEMPTIONS_WRITE)
    return await _redemptions_page(request, runtime, staff, campaign_id)


@router.post("/{campaign_id}/redemptions/{redemption_id}/rollback", response_class=HTMLResponse)
async def roll_back(
    request: Request,
    campaign_id: uuid.UUID,
    redemption_id: uuid.UUID,
    runtime: RuntimeDep,
    staff: StaffDep,
) -> Response:
    """Undo a redemption through the coupons service (the use and the limits come back; a
    gift card's charge, or the part given). The form's key makes a second submit replay
    the first instead of failing."""
    staff.principal.require(Scope.REDEMPTIONS_WRITE, Scope.COUPONS_WRITE)
    t = texts_for(request)
    form = await form_of(request)
    key = form.get("key", "")
    if not _KEY.match(key):
        key = secrets.token_urlsafe(24)
    reading = campaignform.Reading({})
    amount: int | None = None
    if form.get("amount", "").strip():
        async with runtime.db.sessions() as session:
            ctx = runtime.pass_context(session, staff.tenant_id)
            campaign = await service.get_campaign(ctx, campaign_id)
        amount = campaignform.read_amount(form, t, "amount", campaign.currency, reading)
    error = next(iter(reading.errors.values()), None)
    if error is None:
        try:
            body = RollbackIn.model_validate(
                {"amount": amount, "reason": form.get("reason", "").strip() or None}
            )
            async with runtime.transaction() as session:
                ctx = runtime.pass_context(session, staff.tenant_id)
                await overview.redemption_of_campaign(ctx, campaign_id, redemption_id)
                await redemptions.rollback(
                    ctx,
                    redemption_id,
                    amount=body.amount,
                    reason=body.reason,
                    idempotency_key=f"admin:{key}",
                )
        except ValidationError as exc:
            error = "; ".join(message for _, message in campaignform.problems_of(exc))
        except PassmintError as exc:
            if exc.status in (403, 404):
                raise
            error = exc.message
        else:
            return RedirectResponse(
                f"/admin/campaigns/{campaign_id}/redemptions?done=rolled_back", 303
            )
    return await _redemptions_page(
        request,
        runtime,
        staff,
        campaign_id,
        status_code=422,
        error=t.gettext("Nothing was rolled back: %(reason)s", reason=error),
    )
