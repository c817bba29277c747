"""API keys: the list (never a secret), a new key with the permissions chosen (its secret
shown once, on the page that made it), and revoking one. Needs ``api_keys:write``; a
person gives a key only permissions their own role holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from passmint.admin import forms
from passmint.admin.auth import Staff, requiring
from passmint.admin.forms import FormProblem
from passmint.admin.render import page, texts_for
from passmint.tenants import service
from passmint.tenants.endpoints import ApiKeyCreate
from passmint.tenants.scopes import Scope
from passmint.web.deps import RuntimeDep

router = APIRouter(prefix="/admin/settings/api-keys", include_in_schema=False)
KeysAdmin = Annotated[Staff, Depends(requiring(Scope.API_KEYS_WRITE))]


def scope_meanings(t: Any) -> dict[str, str]:
    """What each permission lets a key do, in the reader's language."""
    return {
        Scope.TEMPLATES_READ: t.gettext("Read designs and preview them."),
        Scope.TEMPLATES_WRITE: t.gettext("Create and change designs, upload images."),
        Scope.PASSES_READ: t.gettext("Read passes, their data and links."),
        Scope.PASSES_WRITE: t.gettext("Issue, update and void passes; send messages."),
        Scope.CREDENTIALS_READ: t.gettext("See the Apple and Google credentials (never a key)."),
        Scope.CREDENTIALS_WRITE: t.gettext("Upload Apple and Google credentials."),
        Scope.EVENTS_READ: t.gettext("Read what happened to passes (downloads, pushes)."),
        Scope.API_KEYS_WRITE: t.gettext("Create, list and revoke API keys."),
        Scope.LOYALTY_READ: t.gettext("Read loyalty programs, cards and balances."),
        Scope.LOYALTY_WRITE: t.gettext("Change loyalty programs, cards and balances."),
        Scope.COUPONS_READ: t.gettext("Read campaigns and codes; check a code."),
        Scope.COUPONS_WRITE: t.gettext("Create campaigns, generate and import codes."),
        Scope.REDEMPTIONS_WRITE: t.gettext("Redeem codes and roll redemptions back."),
        Scope.VALIDATIONS_WRITE: t.gettext("Check whether a code is usable, without using it."),
        Scope.ACTIVITIES_WRITE: t.gettext("Post purchases and visits that earn points."),
        Scope.USERS_READ: t.gettext("See the staff and pending invitations."),
        Scope.USERS_WRITE: t.gettext("Invite staff, change their roles, remove them."),
        Scope.AUDIT_READ: t.gettext("Read the audit log."),
    }


@dataclass(frozen=True, slots=True)
class Created:
    """A key just made: its secret is on this page only."""

    name: str
    secret: str


def _offered(staff: Staff) -> list[Scope]:
    return [scope for scope in Scope if staff.can(scope)]


async def _keys_page(
    request: Request,
    runtime: RuntimeDep,
    staff: Staff,
    *,
    status_code: int = 200,
    problem: FormProblem | None = None,
    created: Created | None = None,
    name: str = "",
    chosen: frozenset[str] = frozenset(),
) -> Response:
    t = texts_for(request)
    async with runtime.transaction() as session:
        keys = await service.list_api_keys(session, staff.principal)
    # The active keys first, each group newest first.
    keys.sort(key=lambda k: (k.revoked_at is not None, -k.created_at.timestamp()))
    return page(
        request,
        "settings_api_keys.html",
        status_code=status_code,
        staff=staff,
        title=t.gettext("API keys"),
        keys=keys,
        offered=_offered(staff),
        meanings=scope_meanings(t),
        problem=problem,
        created=created,
        name=name,
        chosen=chosen,
        notice=forms.notice(request, {"revoked": t.gettext("The key is revoked.")}),
    )


@router.get("", response_class=HTMLResponse)
async def api_keys(request: Request, runtime: RuntimeDep, staff: KeysAdmin) -> Response:
    return await _keys_page(request, runtime, staff)


@router.post("", response_class=HTMLResponse)
async def create(request: Request, runtime: RuntimeDep, staff: KeysAdmin) -> Response:
    """A new key with the permissions ticked: the page shows its secret this once."""
    t = texts_for(request)
    form = await request.form()
    name = form.get("name")
    name = name.strip() if isinstance(name, str) else ""
    chosen = frozenset(v for v in form.getlist("scopes") if isinstance(v, str))
    problem: FormProblem | None = None
    try:
        body = ApiKeyCreate.model_validate({"name": name, "scopes": sorted(chosen)})
    except ValidationError as exc:
        problem = forms.invalid(exc)
    else:
        if not body.scopes:
            problem = FormProblem("scopes", t.gettext("Choose at least one permission."))
        elif any(not staff.can(scope) for scope in body.scopes):
            problem = FormProblem(
                "scopes", t.gettext("A key cannot have a permission your role does not have.")
            )
    if problem is not None:
        return await _keys_page(
            request, runtime, staff, status_code=problem.status, problem=problem,
            name=name[:200], chosen=chosen,
        )  # fmt: skip
    async with runtime.transaction() as session:
        made = await service.create_api_key(
            session, staff.tenant_id, name=body.name, now=runtime.clock(), scopes=body.scopes
        )
    return await _keys_page(
        request, runtime, staff, status_code=201, created=Created(body.name, made.secret)
    )


@router.post("/{key_id}/revoke")
async def revoke(
    request: Request, key_id: uuid.UUID, runtime: RuntimeDep, staff: KeysAdmin
) -> Response:
    """Revoke a key of this business (404 for another's, or one revoked already)."""
    async with runtime.transaction() as session:
        await service.revoke_api_key(session, staff.principal, key_id, runtime.clock())
    return RedirectResponse("/admin/settings/api-keys?done=revoked", status_code=303)
