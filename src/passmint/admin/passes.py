"""Passes: finding one (by serial number, external id, card number, or a customer's email
or phone), and a pass's page: its data, its links with copy buttons, its design and
version, its status, its customer's survey answers, its history newest first; voiding it
and sending it a message, for roles that may change passes (through the same schema and
services as the API)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.admin import eventtexts, forms
from passmint.admin.auth import Staff, form_of, requiring
from passmint.admin.i18n import Texts
from passmint.admin.render import page, texts_for
from passmint.errors import PassmintError
from passmint.kit import lengths
from passmint.kit.text import Line
from passmint.loyalty import lookup
from passmint.models import Event
from passmint.passes import browse, service, surveys
from passmint.passes.endpoints import pass_out
from passmint.passes.errors import PassNotFound
from passmint.passes.events import EventKind
from passmint.passes.schemas import MessageIn
from passmint.tenants.scopes import Scope
from passmint.web.deps import RuntimeDep
from passmint.web.idempotency import run_idempotent

router = APIRouter(prefix="/admin/passes", include_in_schema=False)
Reader = Annotated[Staff, Depends(requiring(Scope.PASSES_READ))]
Writer = Annotated[Staff, Depends(requiring(Scope.PASSES_WRITE))]

PAGE: Final = 25
HISTORY_PAGE: Final = 50
MAX_SEARCH: Final = max(lengths.EMAIL, lengths.EXTERNAL_ID, lengths.SERIAL_NUMBER)
_SEARCH: Final = TypeAdapter(Annotated[Line, Field(max_length=MAX_SEARCH)])


def _id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _pass_id(value: str) -> uuid.UUID:
    found = _id(value[:64])
    if found is None:
        raise PassNotFound("no such pass")
    return found


def status_names(t: Texts) -> dict[str, str]:
    return {
        "issued": t.gettext("Issued"),
        "installed": t.gettext("In a wallet"),
        "removed": t.gettext("Removed from wallets"),
        "voided": t.gettext("Voided"),
        "expired": t.gettext("Expired"),
        "replaced": t.gettext("Replaced"),
    }


STATUS_BADGES: Final = {"installed": "ok", "voided": "bad", "removed": "warn", "expired": "warn"}


@router.get("", response_class=HTMLResponse)
async def search(request: Request, runtime: RuntimeDep, staff: Reader) -> HTMLResponse:
    t = texts_for(request)
    raw = request.query_params.get("q", "")
    before = _id(request.query_params.get("before"))
    error = None
    text: str | None = None
    try:
        text = _SEARCH.validate_python(raw).strip() or None
    except ValidationError as exc:
        error = forms.invalid(exc).message
    found: list[browse.Found] = []
    status_code = 200
    if error is None:
        async with runtime.db.sessions() as session:  # reads only
            ctx = runtime.pass_context(session, staff.tenant_id)
            cards = (
                await lookup.pass_ids_matching(ctx, text)
                if text is not None and staff.can(Scope.LOYALTY_READ)
                else []
            )
            found = await browse.search(ctx, text, also=cards, before=before, limit=PAGE + 1)
    else:
        status_code = 422
    more = len(found) > PAGE
    found = found[:PAGE]
    return page(
        request,
        "passes.html",
        status_code=status_code,
        title=t.gettext("Passes"),
        staff=staff,
        query=raw[:MAX_SEARCH] if error is None else "",
        max_search=MAX_SEARCH,
        searched=text is not None,
        error=error,
        found=found,
        older=found[-1].pass_.id if more else None,
        paged=before is not None,
        statuses=status_names(t),
        badges=STATUS_BADGES,
    )


def _data_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key in sorted(data):
        value = data[key]
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append((key, shown))
    return rows


async def _pass_page(
    request: Request,
    runtime: RuntimeDep,
    staff: Staff,
    pass_id: uuid.UUID,
    *,
    status_code: int = 200,
    message: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    t = texts_for(request)
    before = _id(request.query_params.get("before"))
    async with runtime.db.sessions() as session:  # reads only
        ctx = runtime.pass_context(session, staff.tenant_id)
        pass_ = await service.get_pass(ctx, pass_id)
        template, _ = await service.get_template(ctx, pass_.template_id)
        shown = await pass_out(ctx, pass_)
        history = (
            await browse.history(ctx, pass_, before=before, limit=HISTORY_PAGE)
            if staff.can(Scope.EVENTS_READ)
            else None
        )
        answers = await surveys.answers_of(ctx, pass_)
    notice = forms.notice(
        request,
        {
            "voided": t.gettext("The pass is voided. Devices that hold it are told."),
            "message": t.gettext("The message is sent."),
        },
    )
    return page(
        request,
        "pass.html",
        status_code=status_code,
        title=t.gettext("Pass %(serial)s", serial=pass_.serial_number),
        staff=staff,
        pass_=pass_,
        template=template,
        urls=shown.urls,
        warnings=shown.warnings,
        data=_data_rows(pass_.data),
        statuses=status_names(t),
        badges=STATUS_BADGES,
        events=[
            (event, describe(t, event), eventtexts.wallet(t, event))
            for event in (history.events if history else [])
        ],
        can_read_events=history is not None,
        survey_answers=answers,
        older=history.older if history else None,
        paged=before is not None,
        can_write=staff.can(Scope.PASSES_WRITE) and pass_.status != "voided",
        message=message or {},
        problems=problems or {},
        error=error,
        notice=notice,
        idempotency_key=str(uuid.uuid4()),
        max_header=service.MAX_MESSAGE_HEADER,
        max_body=service.MAX_MESSAGE_BODY,
    )


def describe(t: Texts, event: Event) -> str:
    """An event of the pass's history in words (a survey answer here, the rest by
    eventtexts)."""
    if event.kind != EventKind.SURVEY_ANSWERED:
        return eventtexts.describe(t, event)
    data: dict[str, Any] = event.data or {}
    values = {"question": str(data.get("question", "")), "answer": str(data.get("answer", ""))}
    if data.get("previous") is not None:
        return t.gettext("Survey answer to “%(question)s” changed to: %(answer)s", **values)
    return t.gettext("Survey answer to “%(question)s”: %(answer)s", **values)


@router.get("/{pass_id}", response_class=HTMLResponse)
async def show(request: Request, pass_id: str, runtime: RuntimeDep, staff: Reader) -> HTMLResponse:
    return await _pass_page(request, runtime, staff, _pass_id(pass_id))


@router.post("/{pass_id}/void")
async def void(request: Request, pass_id: str, runtime: RuntimeDep, staff: Writer) -> Response:
    found = _pass_id(pass_id)
    await form_of(request)
    async with runtime.transaction() as session:
        await service.void_pass(runtime.pass_context(session, staff.tenant_id), found)
    return RedirectResponse(f"/admin/passes/{found}?done=voided", status_code=303)


@router.post("/{pass_id}/message", response_class=HTMLResponse)
async def send_message(
    request: Request, pass_id: str, runtime: RuntimeDep, staff: Writer
) -> Response:
    found = _pass_id(pass_id)
    form = await form_of(request)
    # Browsers send a textarea's line breaks as CR LF; the API's text takes LF.
    typed = {
        "header": form.get("header", "").strip(),
        "body": form.get("body", "").replace("\r\n", "\n").replace("\r", "\n").strip(),
    }
    try:
        body = MessageIn.model_validate(typed)
    except ValidationError as exc:
        problem = forms.invalid(exc)
        return await _pass_page(
            request,
            runtime,
            staff,
            found,
            status_code=422,
            message=typed,
            problems={
                "header" if problem.field == "header" else "body": _message_problem(
                    texts_for(request), problem
                )
            },
        )

    async def operation(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        ctx = runtime.pass_context(session, staff.tenant_id)
        sent = await service.send_message(ctx, found, body.header, body.body)
        return 200, (await pass_out(ctx, sent)).model_dump(mode="json")

    try:
        answer = await run_idempotent(
            runtime,
            staff.principal,
            (form.get("idempotency_key") or "")[:255] or None,
            f"POST /passes/{found}/messages",
            body.model_dump(mode="json"),
            operation,
        )
    except PassmintError as exc:
        if exc.status == 404:
            raise
        problem = forms.refused(exc)
        return await _pass_page(
            request,
            runtime,
            staff,
            found,
            status_code=problem.status,
            message=typed,
            error=problem.message,
        )
    if answer.status_code >= 400:  # a replay of a refusal
        stored = json.loads(bytes(answer.body))
        return await _pass_page(
            request,
            runtime,
            staff,
            found,
            status_code=answer.status_code,
            message=typed,
            error=str(stored.get("error", {}).get("message", "")),
        )
    return RedirectResponse(f"/admin/passes/{found}?done=message", status_code=303)


def _message_problem(t: Texts, problem: forms.FormProblem) -> str:
    """What to fix, by the control at fault (empty, too long, or a control character)."""
    if problem.field == "header":
        return t.gettext(
            "Write a title of 1 to %(max)s characters, on one line.",
            max=service.MAX_MESSAGE_HEADER,
        )
    return t.gettext(
        "Write a message of 1 to %(max)s characters, without control characters.",
        max=service.MAX_MESSAGE_BODY,
    )
