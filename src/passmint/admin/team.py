"""Users and roles: the business's members (role, two-factor login, last login), what each
role may do, and for those who manage staff (``users:write``): changing a role (the last
owner stays one), removing a member, inviting by email (the link is emailed, or shown to
hand over when no SMTP server is set), withdrawing an invitation, and a password reset
link to hand over. Reading needs ``users:read``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passmint.admin import forms
from passmint.admin.auth import Staff, form_of, requiring
from passmint.admin.forms import FormProblem
from passmint.admin.render import page, texts_for
from passmint.errors import PassmintError
from passmint.tenants import invitations, members
from passmint.tenants.accounts import StaffContext
from passmint.tenants.invitations import IssuedLink
from passmint.tenants.mail import smtp_configured
from passmint.tenants.roles import Role, describe
from passmint.tenants.scopes import Scope
from passmint.web.deps import RuntimeDep, staff_context

router = APIRouter(prefix="/admin/settings/users", include_in_schema=False)
invitation_router = APIRouter(prefix="/admin/settings/invitations", include_in_schema=False)
Reader = Annotated[Staff, Depends(requiring(Scope.USERS_READ))]
Manager = Annotated[Staff, Depends(requiring(Scope.USERS_WRITE))]


def N_(message: str) -> str:
    return message


ROLE_DESCRIPTIONS: Final = (
    N_("Everything, including inviting and removing staff and changing their roles."),
    N_(
        "Everything except managing staff: designs, passes, programs, campaigns, "
        "wallet credentials, API keys and the audit log."
    ),
    N_("Designs, passes, loyalty programs and campaigns; sees the credentials and the event log."),
    N_("Reads everything the business runs, with the event log; changes nothing."),
    N_("At the counter: looks up cards, posts purchases and visits, validates and redeems codes."),
    N_("Reads designs, passes, programs and campaigns; changes nothing."),
)
""":func:`passmint.tenants.roles.describe` of each role, for the catalogs (a test keeps the
two the same: a changed sentence would show in English)."""


def role_names(t: Any) -> dict[str, str]:
    return {
        Role.OWNER: t.gettext("Owner"),
        Role.ADMIN: t.gettext("Admin"),
        Role.MARKETER: t.gettext("Marketer"),
        Role.ANALYST: t.gettext("Analyst"),
        Role.CASHIER: t.gettext("Cashier"),
        Role.VIEWER: t.gettext("Viewer"),
    }


@dataclass(frozen=True, slots=True)
class Issued:
    """A link just made: shown to hand over (no SMTP), or said to be emailed."""

    kind: str  # "invitation" or "reset"
    email: str
    link: IssuedLink


async def _users_page(
    request: Request,
    runtime: RuntimeDep,
    staff: Staff,
    *,
    status_code: int = 200,
    problem: FormProblem | None = None,
    problem_user: uuid.UUID | None = None,
    issued: Issued | None = None,
    reset: tuple[uuid.UUID, IssuedLink] | None = None,
    invite: dict[str, str] | None = None,
) -> Response:
    t = texts_for(request)
    async with runtime.transaction() as session:
        ctx = staff_context(runtime, session)
        people = await members.list_members(ctx, staff.principal)
        pending = await invitations.list_invitations(ctx, staff.principal)
    if reset is not None:  # the member's email, from the list just read
        member, link = reset
        email = next((p.email for p in people if p.user_id == member), "")
        issued = Issued("reset", email, link)
    names = role_names(t)
    done = {
        "role": t.gettext("The role is changed."),
        "removed": t.gettext("The member is removed."),
        "revoked": t.gettext("The invitation is withdrawn."),
    }
    return page(
        request,
        "settings_users.html",
        status_code=status_code,
        staff=staff,
        title=t.gettext("Users and roles"),
        people=people,
        pending=pending,
        roles=[(role.value, names[role], t.gettext(describe(role))) for role in Role],
        role_options=[(role.value, names[role]) for role in Role],
        role_names=names,
        can_manage=staff.can(Scope.USERS_WRITE),
        mail=smtp_configured(runtime.settings),
        problem=problem,
        problem_user=problem_user,
        issued=issued,
        invite=invite or {"email": "", "role": Role.VIEWER.value},
        notice=forms.notice(request, done),
    )


@router.get("", response_class=HTMLResponse)
async def users(request: Request, runtime: RuntimeDep, staff: Reader) -> Response:
    return await _users_page(request, runtime, staff)


@router.post("/invite", response_class=HTMLResponse)
async def invite(request: Request, runtime: RuntimeDep, staff: Manager) -> Response:
    """Invite an email address with a role: the page says it was emailed, or shows the
    link to hand over (this once)."""
    form = await form_of(request)
    email = form.get("email", "").strip()[:320]
    role = form.get("role", "")[:32]
    try:
        async with runtime.transaction() as session:
            link = await invitations.invite(
                staff_context(runtime, session), staff.principal, email, role
            )
    except PassmintError as exc:
        if exc.status in (403, 404):
            raise
        problem = forms.refused(exc)
        field = problem.field if problem.field in ("email", "role") else "email"
        return await _users_page(
            request, runtime, staff, status_code=problem.status,
            problem=FormProblem(field, problem.message, problem.status),
            invite={"email": email, "role": role},
        )  # fmt: skip
    return await _users_page(
        request, runtime, staff, issued=Issued("invitation", email.lower(), link)
    )


@router.post("/{user_id}/role")
async def change_role(
    request: Request, user_id: uuid.UUID, runtime: RuntimeDep, staff: Manager
) -> Response:
    """Give a member another role; refused (409) for the business's last owner."""
    role = (await form_of(request)).get("role", "")[:32]
    return await _member_change(
        request, runtime, staff, user_id, "role",
        lambda ctx: members.change_role(ctx, staff.principal, user_id, role),
    )  # fmt: skip


@router.post("/{user_id}/remove")
async def remove(
    request: Request, user_id: uuid.UUID, runtime: RuntimeDep, staff: Manager
) -> Response:
    """Take a member out of the business (their sessions in it end); never the last owner."""
    return await _member_change(
        request, runtime, staff, user_id, "removed",
        lambda ctx: members.remove_member(ctx, staff.principal, user_id),
    )  # fmt: skip


async def _member_change(
    request: Request,
    runtime: RuntimeDep,
    staff: Staff,
    user_id: uuid.UUID,
    done: str,
    change: Callable[[StaffContext], Awaitable[object]],
) -> Response:
    """A change to a member: back to the list saying ``done``, or the list with the
    refusal beside the member (a 403 or 404 stays a refusal page)."""
    try:
        async with runtime.transaction() as session:
            await change(staff_context(runtime, session))
    except PassmintError as exc:
        if exc.status in (403, 404):
            raise
        problem = forms.refused(exc)
        return await _users_page(
            request, runtime, staff, status_code=problem.status, problem=problem,
            problem_user=user_id,
        )  # fmt: skip
    return RedirectResponse(f"/admin/settings/users?done={done}", status_code=303)


@router.post("/{user_id}/reset-link", response_class=HTMLResponse)
async def reset_link(
    request: Request, user_id: uuid.UUID, runtime: RuntimeDep, staff: Manager
) -> Response:
    """A password reset link for a member, to hand over (emailed too when SMTP is set)."""
    async with runtime.transaction() as session:
        link = await invitations.create_reset_link(
            staff_context(runtime, session), staff.principal, user_id
        )
    return await _users_page(request, runtime, staff, reset=(user_id, link))


@invitation_router.post("/{invitation_id}/revoke")
async def revoke_invitation(
    invitation_id: uuid.UUID, runtime: RuntimeDep, staff: Manager
) -> Response:
    """Withdraw a pending invitation (404 for another business's, or one not pending)."""
    async with runtime.transaction() as session:
        await invitations.revoke_invitation(
            staff_context(runtime, session), staff.principal, invitation_id
        )
    return RedirectResponse("/admin/settings/users?done=revoked", status_code=303)
