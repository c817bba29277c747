"""Issuing a pass of a design from the admin app: the values its placeholders need and an
optional external id, the way ``POST /api/v1/passes`` takes them (the same schema and
service; the form carries an idempotency key, so a double submit issues one pass)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.admin.auth import Staff, form_of, requiring
from passmint.admin.render import page, texts_for
from passmint.passes import previews, service
from passmint.passes.endpoints import pass_out
from passmint.passes.schemas import PassCreate
from passmint.tenants.scopes import Scope
from passmint.wallet.designs.usage import Source
from passmint.web.deps import RuntimeDep
from passmint.web.idempotency import run_idempotent

router = APIRouter(prefix="/admin/designs", include_in_schema=False)
Issuer = Annotated[Staff, Depends(requiring(Scope.PASSES_WRITE))]


async def _form(
    request: Request,
    runtime: RuntimeDep,
    staff: Issuer,
    template_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    t = texts_for(request)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, _ = await service.get_template(ctx, template_id)
        options = await previews.available_placeholders(ctx, template_id=template.id)
    fields = [o for o in options if o.source == Source.DATA]
    return page(
        request,
        "issue.html",
        status_code=status_code,
        title=t.gettext("Issue a pass of %(name)s", name=template.name),
        staff=staff,
        template=template,
        fields=fields,
        values=values or {},
        error=error,
        idempotency_key=str(uuid.uuid4()),
    )


@router.get("/{template_id}/issue", response_class=HTMLResponse)
async def issue_form(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Issuer
) -> HTMLResponse:
    return await _form(request, runtime, staff, template_id)


@router.post("/{template_id}/issue")
async def issue(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Issuer
) -> Response:
    t = texts_for(request)
    form = await form_of(request)
    data = {
        name[len("data.") :]: value
        for name, value in form.items()
        if name.startswith("data.") and value.strip()
    }
    external_id = form.get("external_id", "").strip() or None
    try:
        body = PassCreate(template_id=template_id, data=data, external_id=external_id)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        return await _form(
            request,
            runtime,
            staff,
            template_id,
            values=form,
            status_code=422,
            error=t.gettext("%(where)s: %(message)s", where=where, message=problem["msg"]),
        )

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        ctx = runtime.pass_context(session, staff.tenant_id)
        pass_ = await service.issue_pass(
            ctx, template_id=template_id, data=body.data, external_id=body.external_id
        )
        return 201, (await pass_out(ctx, pass_)).model_dump(mode="json")

    answer = await run_idempotent(
        runtime,
        staff.principal,
        (form.get("idempotency_key") or "")[:255] or None,
        "POST /passes",
        body.model_dump(mode="json"),
        operation,
    )
    result = json.loads(bytes(answer.body))
    if answer.status_code >= 400:
        message = result.get("error", {}).get("message", "")
        return await _form(
            request,
            runtime,
            staff,
            template_id,
            values=form,
            status_code=answer.status_code,
            error=message,
        )
    return RedirectResponse(f"/admin/passes/{result['id']}", status_code=303)
