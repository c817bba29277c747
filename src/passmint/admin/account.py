"""Your account: your name and language, a new password (your other sessions end), and
two-factor login: enrolling an authenticator app (its ``otpauth://`` link as a QR code
drawn here, as SVG, and the secret to type in), confirming it with a code, the ten
recovery codes shown once, turning it off, and new recovery codes. Anyone logged in."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Final

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passmint.admin import forms, i18n
from passmint.admin.auth import SESSION_COOKIE, Staff, StaffDep, form_of, remember_language
from passmint.admin.forms import FormProblem
from passmint.admin.render import page, texts_for
from passmint.errors import PassmintError
from passmint.tenants import accounts, sessions
from passmint.tenants.accounts import StaffContext
from passmint.tenants.errors import InvalidSecondFactor, LoginFailed, PasswordRejected
from passmint.web.deps import RuntimeDep, staff_context

router = APIRouter(prefix="/admin/settings/account", include_in_schema=False)
PASSWORD_MAX: Final = accounts.PASSWORD_MAX * 4  # characters read from a form (then checked)
_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "profile": ("name", "lang"),
    "password": ("current", "new", "confirm"),
    "confirm": ("code",),
    "recovery": ("code",),
    "disable": ("password",),
}
"""Each form of the page and its controls: an error of another field shows above the form."""


def qr_svg(text: str) -> str:
    """A QR code of ``text`` as an inline SVG element (scales with its box: no size)."""
    code = segno.make_qr(text, error="m")
    return str(code.svg_inline(scale=4, border=3, dark="#000", light="#fff", omitsize=True))


def _problem_text(t: i18n.Texts, exc: PassmintError) -> str:
    known = {
        "password_too_short": t.gettext("Use at least 10 characters."),
        "password_too_long": t.gettext("Use at most 256 characters."),
        "password_equals_email": t.gettext("The password cannot be your email address."),
        "invalid_credentials": t.gettext("This is not your current password."),
        "invalid_second_factor": t.gettext("That code is not right, or it was used already."),
    }
    return known.get(exc.code, exc.message)


async def _account_page(
    request: Request,
    runtime: RuntimeDep,
    staff: Staff,
    *,
    status_code: int = 200,
    problems: dict[str, FormProblem] | None = None,
    recovery_codes: list[str] | None = None,
    name: str | None = None,
) -> Response:
    t = texts_for(request)
    shown = list((problems or {}).items())
    async with runtime.transaction() as session:
        ctx = staff_context(runtime, session)
        user = await accounts.get_user(ctx, staff.user_id)
        enrolment = await accounts.pending_totp(ctx, staff.user_id)
        enabled = accounts.totp_enabled(user)
    done = {
        "profile": t.gettext("Your profile is saved."),
        "password": t.gettext("Your password is changed. Your other sessions have ended."),
        "totp_off": t.gettext("Two-factor login is off."),
    }
    return page(
        request,
        "settings_account.html",
        status_code=status_code,
        staff=staff,
        title=t.gettext("Your account"),
        name=user.name if name is None else name,
        email=user.email,
        locale=user.locale if user.locale in i18n.LANGUAGES else t.lang,
        language_options=list(i18n.LANGUAGES.items()),
        totp_on=enabled,
        enrolment=enrolment,
        qr=qr_svg(enrolment.uri) if enrolment is not None else None,
        recovery_codes=recovery_codes,
        recovery_left=len(user.recovery_code_hashes) if enabled else 0,
        errors={f"{form}.{p.field}": p.message for form, p in shown if p.field in _FIELDS[form]},
        general={form: p.message for form, p in shown if p.field not in _FIELDS[form]},
        notice=forms.notice(request, done),
    )


@router.get("", response_class=HTMLResponse)
async def account(request: Request, runtime: RuntimeDep, staff: StaffDep) -> Response:
    return await _account_page(request, runtime, staff)


@router.post("/profile")
async def profile(request: Request, runtime: RuntimeDep, staff: StaffDep) -> Response:
    """Your name and the language the admin app speaks to you (here and at the next login
    in this browser)."""
    form = await form_of(request)
    name = form.get("name", "")[:1000]
    lang = form.get("lang", "")
    try:
        if lang and lang not in i18n.LANGUAGES:
            raise _Invalid("lang", texts_for(request).gettext("Choose one of the languages."))
        async with runtime.transaction() as session:
            await accounts.set_profile(
                staff_context(runtime, session), staff.user_id, name=name, locale=lang or None
            )
    except _Invalid as exc:
        return await _account_page(
            request, runtime, staff, status_code=422, problems={"profile": exc.problem}, name=name
        )
    except PassmintError as exc:
        problem = forms.refused(exc)
        return await _account_page(
            request, runtime, staff, status_code=problem.status,
            problems={"profile": FormProblem("name", problem.message, problem.status)}, name=name,
        )  # fmt: skip
    response = RedirectResponse("/admin/settings/account?done=profile", status_code=303)
    if lang:
        remember_language(response, request, lang)
    return response


class _Invalid(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.problem = FormProblem(field, message)


@router.post("/password")
async def password(request: Request, runtime: RuntimeDep, staff: StaffDep) -> Response:
    """A new password, against the current one; your other sessions end."""
    t = texts_for(request)
    form = await form_of(request)
    current = form.get("current", "")[:PASSWORD_MAX]
    new = form.get("new", "")[:PASSWORD_MAX]
    try:
        if new != form.get("confirm", "")[:PASSWORD_MAX]:
            raise _Invalid("confirm", t.gettext("The two new passwords are not the same."))
        async with runtime.transaction() as session:
            ctx = staff_context(runtime, session)
            here = await sessions.resolve(ctx, request.cookies.get(SESSION_COOKIE))
            await accounts.change_password(
                ctx, staff.user_id, current=current, new=new, keep_session=here.session_id
            )
    except _Invalid as exc:
        return await _account_page(
            request, runtime, staff, status_code=422, problems={"password": exc.problem}
        )
    except (LoginFailed, PasswordRejected) as exc:
        field = "current" if isinstance(exc, LoginFailed) else "new"
        problem = FormProblem(field, _problem_text(t, exc))
        return await _account_page(
            request, runtime, staff, status_code=422, problems={"password": problem}
        )
    return RedirectResponse("/admin/settings/account?done=password", status_code=303)


@router.post("/totp/begin")
async def totp_begin(runtime: RuntimeDep, staff: StaffDep) -> Response:
    """Start enrolling an authenticator app: the account page shows its QR code."""
    async with runtime.transaction() as session:
        await accounts.begin_totp(staff_context(runtime, session), staff.user_id)
    return RedirectResponse("/admin/settings/account#totp", status_code=303)


@router.post("/totp/confirm", response_class=HTMLResponse)
async def totp_confirm(request: Request, runtime: RuntimeDep, staff: StaffDep) -> Response:
    """The app's current code turns two-factor login on: the recovery codes, this once."""
    return await _with_code(request, runtime, staff, "confirm", accounts.confirm_totp)


@router.post("/totp/disable")
async def totp_disable(request: Request, runtime: RuntimeDep, staff: StaffDep) -> Response:
    """Turn two-factor login off (or give up an enrolment), proven by your password."""
    t = texts_for(request)
    form = await form_of(request)
    try:
        async with runtime.transaction() as session:
            await accounts.disable_totp(
                staff_context(runtime, session),
                staff.user_id,
                password=form.get("password", "")[:PASSWORD_MAX],
            )
    except InvalidSecondFactor:
        problem = FormProblem("password", t.gettext("This is not your current password."))
        return await _account_page(
            request, runtime, staff, status_code=422, problems={"disable": problem}
        )
    return RedirectResponse("/admin/settings/account?done=totp_off", status_code=303)


@router.post("/totp/recovery-codes", response_class=HTMLResponse)
async def recovery_codes(request: Request, runtime: RuntimeDep, staff: StaffDep) -> Response:
    """Ten new recovery codes against a current code (the old ones stop working)."""
    return await _with_code(request, runtime, staff, "recovery", accounts.regenerate_recovery_codes)


async def _with_code(
    request: Request,
    runtime: RuntimeDep,
    staff: Staff,
    form_name: str,
    action: Callable[[StaffContext, uuid.UUID, str], Awaitable[list[str]]],
) -> Response:
    """``action`` against the authenticator's code of the form ``form_name``: the page with
    the recovery codes it made (shown this once), or with the code's problem."""
    form = await form_of(request)
    try:
        async with runtime.transaction() as session:
            codes = await action(
                staff_context(runtime, session), staff.user_id, form.get("code", "")[:64]
            )
    except InvalidSecondFactor as exc:
        problem = FormProblem("code", _problem_text(texts_for(request), exc))
        return await _account_page(
            request, runtime, staff, status_code=422, problems={form_name: problem}
        )
    return await _account_page(request, runtime, staff, recovery_codes=codes)
