"""Settings: the overview of its sections, and the wallet credentials (Apple's Pass Type ID
certificate and APNs key, Google Wallet's issuer and service account): their ids, expiry
dates and last errors for those who may read them, and uploads, through the same input
types and services as the API, for those who may write them. Secrets are never shown.

The other sections have modules of their own (API keys, users and roles, your account,
the audit log); :data:`router` carries theirs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from passmint.admin import account, apikeys, auditlog, forms, team
from passmint.admin.auth import Staff, StaffDep, requiring
from passmint.admin.forms import FormProblem
from passmint.admin.render import page, texts_for
from passmint.errors import PassmintError
from passmint.passes.apple import credentials as apple_credentials
from passmint.passes.apple.credentials import ApnsKeyInput
from passmint.passes.google import credentials as google_credentials
from passmint.passes.google.endpoints import GoogleCredentialsIn
from passmint.passes.schemas import AppleCredentialsIn
from passmint.tenants.scopes import Scope
from passmint.wallet.apple.certificates import EXPIRY_WARNING
from passmint.web.deps import RuntimeDep

pages = APIRouter(prefix="/admin/settings", include_in_schema=False)
CredentialsReader = Annotated[Staff, Depends(requiring(Scope.CREDENTIALS_READ))]
CredentialsWriter = Annotated[Staff, Depends(requiring(Scope.CREDENTIALS_WRITE))]


@dataclass(frozen=True, slots=True)
class Section:
    href: str
    title: str
    description: str


def sections(t: Any, staff: Staff) -> list[Section]:
    """The settings sections this person's role opens to them."""
    found = []
    if staff.can(Scope.CREDENTIALS_READ):
        found.append(
            Section(
                "/admin/settings/credentials",
                t.gettext("Apple and Google credentials"),
                t.gettext("Certificates and keys that sign passes and send their updates."),
            )
        )
    if staff.can(Scope.API_KEYS_WRITE):
        found.append(
            Section(
                "/admin/settings/api-keys",
                t.gettext("API keys"),
                t.gettext("Keys for your own systems: a till, a web shop, a scanner."),
            )
        )
    if staff.can(Scope.USERS_READ) or staff.can(Scope.USERS_WRITE):
        found.append(
            Section(
                "/admin/settings/users",
                t.gettext("Users and roles"),
                t.gettext("Who works in this business, and what each may do."),
            )
        )
    found.append(
        Section(
            "/admin/settings/account",
            t.gettext("Your account"),
            t.gettext("Your name, language, password and two-factor login."),
        )
    )
    if staff.can(Scope.AUDIT_READ):
        found.append(
            Section(
                "/admin/settings/audit",
                t.gettext("Audit log"),
                t.gettext("Who changed what, and when."),
            )
        )
    return found


@pages.get("", response_class=HTMLResponse)
async def overview(request: Request, staff: StaffDep) -> Response:
    t = texts_for(request)
    return page(
        request,
        "settings.html",
        staff=staff,
        title=t.gettext("Settings"),
        sections=sections(t, staff),
    )


# -- credentials -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expiry:
    """A certificate's end: ``state`` ok, warn (within 90 days) or bad (expired)."""

    subject: str
    expires_at: datetime | None
    days_left: int | None
    state: str


def _common_name(subject: str) -> str:
    """The CN of a distinguished name (``…,CN=Apple Worldwide …``), else the whole name."""
    for part in reversed(subject.split(",")):
        if part.strip().upper().startswith("CN="):
            return part.strip()[3:]
    return subject


def _expiry(subject: str, expires_at: datetime | None, now: datetime) -> Expiry:
    if expires_at is None:
        return Expiry(subject, None, None, "ok")
    left = expires_at - now
    state = "bad" if left.total_seconds() <= 0 else "warn" if left <= EXPIRY_WARNING else "ok"
    return Expiry(subject, expires_at, left.days, state)


async def _credentials_page(
    request: Request,
    runtime: RuntimeDep,
    staff: Staff,
    *,
    status_code: int = 200,
    apple_problem: FormProblem | None = None,
    google_problem: FormProblem | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    t = texts_for(request)
    apple = google = None
    expiries: list[Expiry] = []
    async with runtime.transaction() as session:
        now = runtime.clock()
        found = await apple_credentials.get_credential(session, staff.tenant_id)
        if found is not None:
            apple = apple_credentials.describe(found, now)
            expiries.append(_expiry(t.gettext("Pass Type ID certificate"), found.not_after, now))
            expiries += [
                _expiry(_common_name(link["subject"]), link["expires_at"], now)
                for link in apple["chain"]
            ]
        found_google = await google_credentials.get_credential(session, staff.tenant_id)
        if found_google is not None:
            google = google_credentials.describe(found_google)
    messages = {
        "apple": t.gettext("The Apple credentials are saved."),
        "google": t.gettext("The Google Wallet credentials are saved."),
    }
    return page(
        request,
        "settings_credentials.html",
        status_code=status_code,
        staff=staff,
        title=t.gettext("Apple and Google credentials"),
        apple=apple,
        google=google,
        expiries=expiries,
        can_write=staff.can(Scope.CREDENTIALS_WRITE),
        apple_problem=apple_problem,
        google_problem=google_problem,
        notice=forms.notice(request, messages),
        values=values or {},
        https=runtime.settings.public_url.startswith("https://"),
    )


@pages.get("/credentials", response_class=HTMLResponse)
async def credentials(request: Request, runtime: RuntimeDep, staff: CredentialsReader) -> Response:
    return await _credentials_page(request, runtime, staff)


def _pem(t: Any, data: bytes | None, name: str) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(
            FormProblem(name, t.gettext("This file is not a PEM text file (-----BEGIN …)."))
        ) from None


class _Refused(Exception):
    def __init__(self, problem: FormProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


async def _apple_input(request: Request) -> tuple[AppleCredentialsIn, dict[str, str]]:
    """The upload as the API's input type (a .p12 as its base64, PEM files as text)."""
    t = texts_for(request)
    form = await request.form()
    text = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    kind = "p12" if text.get("format") == "p12" else "pem"
    files: dict[str, bytes | None] = {}
    for name in ("certificate", "private_key", "wwdr", "apns_key"):
        try:
            files[name] = await forms.read_file(form, name)
        except forms.FileTooLarge:
            raise _Refused(forms.file_too_large(t, name)) from None
    if files["certificate"] is None:
        raise _Refused(
            FormProblem("certificate", t.gettext("Choose the certificate file (.p12 or .pem)."))
        )
    certificate = (
        base64.b64encode(files["certificate"]).decode("ascii")
        if kind == "p12"
        else _pem(t, files["certificate"], "certificate")
    )
    apns: dict[str, Any] = {"auth": "certificate"}
    if text.get("apns_auth") == "token":
        key = _pem(t, files["apns_key"], "apns_key")
        if key is None:
            raise _Refused(FormProblem("apns_key", t.gettext("Choose the APNs key file (.p8).")))
        apns = {
            "auth": "token",
            "key_p8": key,
            "key_id": text.get("apns_key_id", "").strip(),
            "team_id": text.get("apns_team_id", "").strip(),
        }
    password = text.get("password") or None
    try:
        body = AppleCredentialsIn.model_validate(
            {
                "format": kind,
                "certificate": certificate,
                "private_key": _pem(t, files["private_key"], "private_key"),
                "password": password,
                "wwdr": _pem(t, files["wwdr"], "wwdr"),
                "apns": apns,
            }
        )
    except ValidationError as exc:
        raise _Refused(forms.invalid(exc)) from None
    kept = {
        "format": kind,
        "apns_auth": apns["auth"],
        "apns_key_id": text.get("apns_key_id", "")[:10],
        "apns_team_id": text.get("apns_team_id", "")[:10],
    }
    return body, kept


@pages.post("/credentials/apple", response_class=HTMLResponse)
async def put_apple(request: Request, runtime: RuntimeDep, staff: CredentialsWriter) -> Response:
    """The certificate as PEM (with its key) or .p12 (with its password), and how pushes
    are sent: the certificate itself, or an APNs auth key (.p8)."""
    try:
        body, kept = await _apple_input(request)
    except _Refused as refused:
        return await _credentials_page(
            request, runtime, staff, status_code=refused.problem.status,
            apple_problem=refused.problem,
        )  # fmt: skip
    certificate = (
        base64.b64decode(body.certificate) if body.format == "p12" else body.certificate.encode()
    )
    apns = None
    if body.apns.auth == "token":
        assert hasattr(body.apns, "key_p8")
        apns = ApnsKeyInput(body.apns.key_p8.encode(), body.apns.key_id, body.apns.team_id)
    try:
        async with runtime.transaction() as session:
            await apple_credentials.put_credentials(
                session,
                runtime.box,
                staff.tenant_id,
                now=runtime.clock(),
                certificate=certificate,
                private_key=body.private_key.encode() if body.private_key else None,
                password=body.password,
                p12=body.format == "p12",
                wwdr=body.wwdr.encode() if body.wwdr else None,
                apns_key=apns,
            )
    except PassmintError as exc:
        problem = forms.refused(exc)
        return await _credentials_page(
            request, runtime, staff, status_code=problem.status, apple_problem=problem,
            values=kept,
        )  # fmt: skip
    return RedirectResponse("/admin/settings/credentials?done=apple", status_code=303)


@pages.post("/credentials/google", response_class=HTMLResponse)
async def put_google(request: Request, runtime: RuntimeDep, staff: CredentialsWriter) -> Response:
    """The issuer id and the service account's key JSON (a file, or pasted)."""
    t = texts_for(request)
    form = await request.form()
    issuer_id = form.get("issuer_id")
    issuer = issuer_id.strip() if isinstance(issuer_id, str) else ""
    pasted = form.get("service_account_text")
    account: str | None = pasted.strip() if isinstance(pasted, str) and pasted.strip() else None
    problem: FormProblem | None = None
    try:
        uploaded = await forms.read_file(form, "service_account")
    except forms.FileTooLarge:
        problem = forms.file_too_large(t, "service_account")
    else:
        if uploaded is not None:
            try:
                account = uploaded.decode("utf-8")
            except UnicodeDecodeError:
                problem = FormProblem(
                    "service_account", t.gettext("This file is not the key's JSON file.")
                )
    if problem is None and account is None:
        problem = FormProblem(
            "service_account",
            t.gettext("Choose the service account's key file (JSON), or paste it."),
        )
    if problem is None:
        try:
            body = GoogleCredentialsIn.model_validate(
                {"issuer_id": issuer, "service_account": account}
            )
            async with runtime.transaction() as session:
                await google_credentials.put_credentials(
                    session,
                    runtime.box,
                    staff.tenant_id,
                    now=runtime.clock(),
                    issuer_id=body.issuer_id,
                    service_account=body.service_account,
                )
        except ValidationError as exc:
            problem = forms.invalid(exc)
        except PassmintError as exc:
            problem = forms.refused(exc)
    if problem is not None:
        return await _credentials_page(
            request, runtime, staff, status_code=problem.status, google_problem=problem,
            values={"issuer_id": issuer[:19]},
        )  # fmt: skip
    return RedirectResponse("/admin/settings/credentials?done=google", status_code=303)


router = APIRouter()
"""Every settings page: this module's and its sections' (each router names its whole path,
which the audit log records as the operation)."""
for part in (
    pages,
    apikeys.router,
    team.router,
    team.invitation_router,
    account.router,
    auditlog.router,
):
    router.include_router(part)
