"""Who is using the admin app: the session cookie, CSRF on every write, logging in and out
(with the second factor), invitations and password resets, and the pages refusals become.

The session cookie is HttpOnly, SameSite=Lax and Secure whenever the public URL is https;
only a hash of its token is stored (passmint.tenants). A page without a valid session
sends the browser to the login page (HTMX: ``HX-Redirect``); a write without the session's
CSRF token is a 403 and changes nothing; a role without the right is a 403 page naming it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from passmint.admin import i18n, security
from passmint.admin.render import page, texts_for
from passmint.errors import PassmintError
from passmint.tenants import sessions
from passmint.tenants.errors import (
    Forbidden,
    SessionExpired,
)
from passmint.tenants.scopes import Scope
from passmint.tenants.service import Principal
from passmint.web.deps import RuntimeDep, audited, get_runtime, staff_context

SESSION_COOKIE: Final = "pm_session"
MAX_FORM_FIELDS: Final = 2000


class AdminRefusal(Exception):
    """A request the admin app answers with a page, not the JSON error."""

    def __init__(
        self, status: int, heading: str, message: str, code: str, *, login: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.heading = heading
        self.message = message
        self.code = code
        self.login = login
        self.back = "/admin/"

    def response(self, request: Request) -> Response:
        if self.login:
            target = "/admin/login"
            here = request.url.path
            if request.method == "GET" and here.startswith("/admin") and here != "/admin/login":
                query = f"?{request.url.query}" if request.url.query else ""
                target += "?next=" + quote(here + query, safe="")
            if request.headers.get("hx-request") == "true":
                return Response(
                    status_code=401, headers={**security.HEADERS, "HX-Redirect": target}
                )
            if request.method == "GET":
                return RedirectResponse(target, status_code=303, headers=security.HEADERS)
        return page(
            request,
            "error.html",
            status_code=self.status,
            heading=self.heading,
            message=self.message,
            code=self.code,
            staff=getattr(request.state, "staff", None),
            back=self.back,
        )


def refusal_of(request: Request, exc: PassmintError) -> AdminRefusal:
    """The admin page a domain error becomes, in the visitor's language."""
    t = texts_for(request)
    headings = {
        403: t.gettext("You cannot do this"),
        404: t.gettext("Not found"),
        409: t.gettext("This cannot be done now"),
        429: t.gettext("Too many attempts"),
    }
    heading = headings.get(exc.status, t.gettext("This could not be done"))
    if exc.status == 404:
        message = t.gettext("There is nothing here, or it belongs to another business.")
    elif exc.status == 403:
        message = t.gettext("Your role does not allow this. Ask an owner of the business.")
    elif exc.code == "apple_credentials_missing":
        message = t.gettext(
            "Passes need your Apple Wallet or Google Wallet credentials: add them in Settings."
        )
    else:
        message = exc.message
    refusal = AdminRefusal(exc.status, heading, message, exc.code)
    if exc.code == "apple_credentials_missing":
        refusal.back = "/admin/settings"
    return refusal


@dataclass(frozen=True, slots=True)
class Staff:
    """The person behind a request, in the business they are working in."""

    user_id: uuid.UUID
    email: str
    name: str
    tenant_id: uuid.UUID
    tenant_name: str
    role: str
    csrf_token: str
    principal: Principal
    totp_enabled: bool = False

    def can(self, scope: Scope) -> bool:
        return scope.value in self.principal.scopes


async def form_of(request: Request) -> dict[str, str]:
    """The form's text fields (files are read where they are expected)."""
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


def cookie_secure(request: Request) -> bool:
    runtime = get_runtime(request)
    return urlsplit(runtime.settings.public_url).scheme == "https"


def remember_language(response: Response, request: Request, lang: str) -> None:
    """The language cookie (a year): the language picker's and the account page's choice."""
    response.set_cookie(
        i18n.COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        samesite="lax",
        httponly=True,
        secure=cookie_secure(request),
        path="/admin",
    )


def _refuse_login(request: Request) -> AdminRefusal:
    t = texts_for(request)
    return AdminRefusal(
        401,
        t.gettext("Please log in"),
        t.gettext("Your session has ended. Log in again."),
        "session_required",
        login=True,
    )


async def current_staff(request: Request, runtime: RuntimeDep) -> AsyncIterator[Staff]:
    """The person behind the request (or the login page), CSRF checked on writes; their
    writes are recorded in the audit log as theirs."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise _refuse_login(request)
    async with runtime.transaction() as session:
        try:
            resolved = await sessions.resolve(staff_context(runtime, session), token)
        except SessionExpired:
            resolved = None
    if resolved is None:
        raise _refuse_login(request)
    staff = Staff(
        user_id=resolved.user_id,
        email=resolved.email,
        name=resolved.name,
        tenant_id=resolved.tenant_id,
        tenant_name=resolved.tenant_name,
        role=resolved.role.value,
        csrf_token=resolved.csrf_token,
        principal=resolved.principal,
        totp_enabled=resolved.totp_enabled,
    )
    request.state.staff = staff
    try:
        if request.method not in security.SAFE_METHODS:
            await check_csrf(request, staff.csrf_token)
        with audited(request, staff.principal):
            yield staff
    finally:
        await request.close()  # the files of a multipart form, even when it is refused


async def check_csrf(request: Request, expected: str | None) -> None:
    t = texts_for(request)
    if security.cross_site(request) or not security.tokens_match(
        expected, await security.presented_token(request)
    ):
        await request.close()  # a refused multipart form's files, before or after login
        raise AdminRefusal(
            403,
            t.gettext("This form has expired"),
            t.gettext("Reload the page and try again. Nothing was changed."),
            "csrf_failed",
        )


StaffDep = Annotated[Staff, Depends(current_staff)]


def requiring(scope: Scope) -> Callable[[Staff], Coroutine[Any, Any, Staff]]:
    """The dependency of a page that needs ``scope``: use it as
    ``Annotated[Staff, Depends(requiring(Scope.X))]`` (a role without it gets a 403 page)."""

    async def dependency(staff: StaffDep) -> Staff:
        if not staff.can(scope):
            raise Forbidden(f"your role lacks {scope.value!r}")
        return staff

    return dependency


Editor = Annotated[Staff, Depends(requiring(Scope.TEMPLATES_WRITE))]
