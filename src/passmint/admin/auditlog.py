"""The audit log: who changed what in this business, newest first, filtered by actor,
action, object and dates (whole days, UTC), a page at a time; each event's before and
after shown field by field. Needs ``audit:read``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from passmint.admin.auth import Staff, requiring
from passmint.admin.render import page, texts_for
from passmint.errors import PassmintError
from passmint.kit import lengths
from passmint.kit.text import LINE
from passmint.models import AuditEvent
from passmint.passes.endpoints import decode_cursor, encode_cursor
from passmint.tenants import audit
from passmint.tenants.scopes import Scope
from passmint.web.deps import RuntimeDep

router = APIRouter(prefix="/admin/settings/audit", include_in_schema=False)
Auditor = Annotated[Staff, Depends(requiring(Scope.AUDIT_READ))]
PAGE: Final = 50
TEXT_FILTERS: Final = ("actor", "action", "object_type", "object_id")


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: str | None  # None: the side does not have it
    after: str | None


@dataclass(frozen=True, slots=True)
class Shown:
    """An event as the table shows it: its changes field by field, other details as text."""

    event: AuditEvent
    changes: list[Change]
    details: list[tuple[str, str]]


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _side(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def shown(event: AuditEvent) -> Shown:
    summary = event.summary if isinstance(event.summary, dict) else {}
    before = _side(summary.get("before"))
    after = _side(summary.get("after"))
    fields = list(dict.fromkeys([*before, *after]))
    changes = [
        Change(
            str(name),
            _text(before[name]) if name in before else None,
            _text(after[name]) if name in after else None,
        )
        for name in fields
    ]
    details = [(str(k), _text(v)) for k, v in summary.items() if k not in ("before", "after")]
    return Shown(event, changes, details)


class _BadFilter(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _filters(request: Request) -> dict[str, str]:
    params = request.query_params
    return {
        name: params.get(name, "").strip()
        for name in (*TEXT_FILTERS, "from", "to")
        if params.get(name, "").strip()
    }


def _query(t: Any, filters: dict[str, str]) -> audit.AuditQuery:
    for name in TEXT_FILTERS:
        value = filters.get(name, "")
        if len(value) > lengths.EMAIL:
            raise _BadFilter(
                name, t.gettext("At most %(num)s characters.", num=t.number(lengths.EMAIL))
            )
        if LINE.problem(value) is not None:
            raise _BadFilter(name, LINE.message(value))
    days: dict[str, date] = {}
    for name in ("from", "to"):
        if name in filters:
            try:
                days[name] = date.fromisoformat(filters[name][:10])
            except ValueError:
                raise _BadFilter(name, t.gettext("Give a date as YYYY-MM-DD.")) from None
    if "from" in days and "to" in days and days["to"] < days["from"]:
        raise _BadFilter("to", t.gettext("The end comes before the start."))
    return audit.AuditQuery(
        actor=filters.get("actor"),
        action=filters.get("action"),
        object_type=filters.get("object_type"),
        object_id=filters.get("object_id"),
        since=datetime.combine(days["from"], time.min, UTC) if "from" in days else None,
        until=(
            datetime.combine(days["to"] + timedelta(days=1), time.min, UTC)
            if "to" in days
            else None
        ),
    )


@router.get("", response_class=HTMLResponse)
async def audit_log(request: Request, runtime: RuntimeDep, staff: Auditor) -> Response:
    t = texts_for(request)
    filters = _filters(request)
    error: _BadFilter | None = None
    events: list[AuditEvent] = []
    next_url: str | None = None
    cursor = request.query_params.get("cursor", "")[:64] or None
    try:
        query = _query(t, filters)
        before = decode_cursor(cursor)
    except _BadFilter as exc:
        error = exc
    except PassmintError:
        error = _BadFilter("cursor", t.gettext("This page link is not one the log made."))
    if error is None:
        async with runtime.transaction() as session:
            events = await audit.list_events(
                session, staff.tenant_id, query, before=before, limit=PAGE
            )
        if len(events) == PAGE:
            next_url = "?" + urlencode({**filters, "cursor": encode_cursor(events[-1].id)})
    return page(
        request,
        "settings_audit.html",
        status_code=400 if error else 200,
        staff=staff,
        title=t.gettext("Audit log"),
        filters=filters,
        error=error,
        events=[shown(e) for e in events],
        next_url=next_url,
        first_url=("?" + urlencode(filters)) if cursor else None,
        actor_types={
            "user": t.gettext("user"),
            "api_key": t.gettext("API key"),
            "system": t.gettext("system"),
        },
    )
