"""The pages before a session: logging in (with the second factor), the language picker,
password resets and invitations. Their forms carry a CSRF token from an HttpOnly cookie
(double submit) until the session's own token takes over."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passmint.admin import i18n, security
from passmint.admin.auth import (
    SESSION_COOKIE,
    StaffDep,
    check_csrf,
    cookie_secure,
    form_of,
    remember_language,
)
from passmint.admin.render import page, texts_for
from passmint.errors import PassmintError
from passmint.tenants import invitations, sessions
from passmint.tenants.errors import (
    InvalidLink,
    InvalidSecondFactor,
    LoginFailed,
    LoginThrottled,
    NoTenant,
    PasswordRejected,
    SessionExpired,
)
from passmint.web.deps import RuntimeDep, get_runtime, staff_context

router = APIRouter(prefix="/admin", include_in_schema=False)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/"


def _pre_session(request: Request) -> str:
    return request.cookies.get(security.PRE_SESSION_COOKIE) or security.new_token()


def _with_pre_session(request: Request, response: Response, token: str) -> Response:
    response.set_cookie(
        security.PRE_SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path="/admin",
    )
    return response


def _login_page(request: Request, *, status_code: int = 200, **context: Any) -> Response:
    token = _pre_session(request)
    context.setdefault("email", "")
    context.setdefault("next", _safe_next(request.query_params.get("next")))
    context.setdefault("error", None)
    context.setdefault("notice", None)
    context.setdefault("step", "password")
    response = page(
        request,
        "login.html",
        status_code=status_code,
        title=texts_for(request).gettext("Log in"),
        csrf_token=token,
        **context,
    )
    return _with_pre_session(request, response, token)


async def _check_pre_session(request: Request) -> None:
    await check_csrf(request, request.cookies.get(security.PRE_SESSION_COOKIE))


def _start_session(
    request: Request, response: Response, token: str, *, keep_pre_session: bool = False
) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )
    if not keep_pre_session:
        response.delete_cookie(security.PRE_SESSION_COOKIE, path="/admin")
    return response


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, runtime: RuntimeDep) -> Response:
    await _check_pre_session(request)
    form = await form_of(request)
    t = texts_for(request)
    email = form.get("email", "")[:320]
    target = _safe_next(form.get("next"))
    try:
        async with runtime.transaction() as session:
            result = await sessions.log_in(
                staff_context(runtime, session),
                email,
                form.get("password", "")[:1024],
                ip=_client(request),
                user_agent=request.headers.get("user-agent", "")[:512] or None,
                previous_token=request.cookies.get(SESSION_COOKIE),
            )
    except LoginThrottled as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        response = _login_page(
            request,
            status_code=429,
            email=email,
            next=target,
            error=t.ngettext(
                "Too many failed attempts. Try again in %(num)s minute.",
                "Too many failed attempts. Try again in %(num)s minutes.",
                minutes,
            ),
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except (LoginFailed, NoTenant):
        return _login_page(
            request,
            status_code=401,
            email=email,
            next=target,
            error=t.gettext("The email or the password is not right."),
        )
    if result.pending_second_factor:
        response = _login_page(request, step="totp", next=target)
        return _start_session(request, response, result.token, keep_pre_session=True)
    return _start_session(request, RedirectResponse(target, status_code=303), result.token)


@router.post("/login/code", response_class=HTMLResponse)
async def login_code(request: Request, runtime: RuntimeDep) -> Response:
    await _check_pre_session(request)
    form = await form_of(request)
    t = texts_for(request)
    target = _safe_next(form.get("next"))
    try:
        async with runtime.transaction() as session:
            result = await sessions.complete_second_factor(
                staff_context(runtime, session),
                request.cookies.get(SESSION_COOKIE) or "",
                form.get("code", "")[:64],
                ip=_client(request),
            )
    except InvalidSecondFactor:
        return _login_page(
            request,
            status_code=401,
            step="totp",
            next=target,
            error=t.gettext("That code is not right, or it was used already."),
        )
    except (SessionExpired, LoginThrottled):
        return _login_page(
            request,
            status_code=401,
            next=target,
            error=t.gettext("The login took too long. Start again."),
        )
    return _start_session(request, RedirectResponse(target, status_code=303), result.token)


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep, staff: StaffDep) -> Response:
    async with runtime.transaction() as session:
        await sessions.log_out(staff_context(runtime, session), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/admin/login", status_code=303, headers=security.HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
async def language(request: Request) -> Response:
    """The language the admin app speaks to this browser (no session needed: the login page
    offers it too). A write like any other: it carries a CSRF token."""
    expected = request.cookies.get(security.PRE_SESSION_COOKIE)
    presented = await security.presented_token(request)
    if request.cookies.get(SESSION_COOKIE) and not security.tokens_match(expected, presented):
        runtime = get_runtime(request)
        async with runtime.transaction() as session:
            try:
                resolved = await sessions.resolve(
                    staff_context(runtime, session), request.cookies.get(SESSION_COOKIE)
                )
                expected = resolved.csrf_token
            except SessionExpired:
                expected = None
    await check_csrf(request, expected)
    form = await form_of(request)
    chosen = form.get("lang", "")
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    if chosen in i18n.LANGUAGES:
        remember_language(response, request, chosen)
    return response


@router.get("/reset", response_class=HTMLResponse)
async def reset_request_form(request: Request) -> Response:
    token = _pre_session(request)
    response = page(
        request,
        "reset_request.html",
        title=texts_for(request).gettext("Reset your password"),
        csrf_token=token,
        sent=False,
        email="",
    )
    return _with_pre_session(request, response, token)


@router.post("/reset", response_class=HTMLResponse)
async def reset_request(request: Request, runtime: RuntimeDep) -> Response:
    await _check_pre_session(request)
    form = await form_of(request)
    email = form.get("email", "")[:320]
    # A malformed address gets the same answer: nothing tells which accounts exist.
    with contextlib.suppress(PassmintError):
        async with runtime.transaction() as session:
            await invitations.request_reset(
                staff_context(runtime, session), email, ip=_client(request)
            )
    token = _pre_session(request)
    response = page(
        request,
        "reset_request.html",
        title=texts_for(request).gettext("Reset your password"),
        csrf_token=token,
        sent=True,
        email=email,
    )
    return _with_pre_session(request, response, token)


async def _link_page(
    request: Request,
    runtime: RuntimeDep,
    token: str,
    kind: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    name: str = "",
) -> Response:
    t = texts_for(request)
    try:
        async with runtime.transaction() as session:
            ctx = staff_context(runtime, session)
            if kind == "invitation":
                info: Any = await invitations.invitation_info(ctx, token)
            else:
                info = await invitations.reset_info(ctx, token)
    except InvalidLink:
        return page(
            request,
            "error.html",
            status_code=400,
            heading=t.gettext("This link cannot be used"),
            message=t.gettext("It is wrong, was used already or has expired. Ask for a new one."),
            code="invalid_link",
            back="/admin/login",
        )
    csrf = _pre_session(request)
    response = page(
        request,
        "link.html",
        status_code=status_code,
        title=t.gettext("Set your password"),
        csrf_token=csrf,
        kind=kind,
        info=info,
        error=error,
        name=name,
        token=token,
    )
    return _with_pre_session(request, response, csrf)


@router.get("/invitations/{token}", response_class=HTMLResponse)
async def invitation_form(request: Request, token: str, runtime: RuntimeDep) -> Response:
    return await _link_page(request, runtime, token[:128], "invitation")


@router.get("/reset/{token}", response_class=HTMLResponse)
async def reset_form(request: Request, token: str, runtime: RuntimeDep) -> Response:
    return await _link_page(request, runtime, token[:128], "reset")


@router.post("/invitations/{token}", response_class=HTMLResponse)
async def accept(request: Request, token: str, runtime: RuntimeDep) -> Response:
    await _check_pre_session(request)
    form = await form_of(request)
    t = texts_for(request)
    token = token[:128]
    name = form.get("name", "")[:200]
    password = form.get("password", "")[:1024]
    try:
        async with runtime.transaction() as session:
            ctx = staff_context(runtime, session)
            accepted = await invitations.accept_invitation(
                ctx, token, name or None, password or None, ip=_client(request)
            )
    except PasswordRejected as exc:
        return await _link_page(
            request,
            runtime,
            token,
            "invitation",
            status_code=422,
            error=_password_error(t, exc),
            name=name,
        )
    except InvalidLink:
        return await _link_page(request, runtime, token, "invitation")
    except PassmintError as exc:
        return await _link_page(
            request, runtime, token, "invitation", status_code=422, error=exc.message, name=name
        )
    if accepted.created_user:
        return await _sign_in_after(request, runtime, accepted.email, password, accepted.tenant_id)
    return _login_page(
        request,
        notice=t.gettext("You have joined. Log in with your password."),
        email=accepted.email,
    )


@router.post("/reset/{token}", response_class=HTMLResponse)
async def reset(request: Request, token: str, runtime: RuntimeDep) -> Response:
    await _check_pre_session(request)
    form = await form_of(request)
    t = texts_for(request)
    token = token[:128]
    password = form.get("password", "")[:1024]
    try:
        async with runtime.transaction() as session:
            await invitations.reset_password(
                staff_context(runtime, session), token, password, ip=_client(request)
            )
    except PasswordRejected as exc:
        return await _link_page(
            request, runtime, token, "reset", status_code=422, error=_password_error(t, exc)
        )
    except InvalidLink:
        return await _link_page(request, runtime, token, "reset")
    return _login_page(request, notice=t.gettext("Your password is changed. Log in with it."))


async def _sign_in_after(
    request: Request, runtime: RuntimeDep, email: str, password: str, tenant_id: uuid.UUID
) -> Response:
    async with runtime.transaction() as session:
        result = await sessions.log_in(
            staff_context(runtime, session),
            email,
            password,
            ip=_client(request),
            user_agent=request.headers.get("user-agent", "")[:512] or None,
            tenant_id=tenant_id,
        )
    return _start_session(request, RedirectResponse("/admin/", status_code=303), result.token)


def _password_error(t: i18n.Texts, exc: PasswordRejected) -> str:
    return {
        "password_too_short": t.gettext("Use at least 10 characters."),
        "password_too_long": t.gettext("Use at most 256 characters."),
        "password_equals_email": t.gettext("The password cannot be your email address."),
    }.get(exc.code, exc.message)
