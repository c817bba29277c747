"""Your account in the admin app: name and language, a new password, and two-factor login
(enrolling with the QR code, confirming with the app's code, the recovery codes shown once,
the next login asking for a code, new recovery codes, turning it off)."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest

from passmint.admin.i18n import COOKIE
from passmint.runtime import Runtime
from tests.admin.conftest import PASSWORD, AdminClient, Team

pytestmark = pytest.mark.anyio

_SECRET = re.compile(r'<code class="totp-secret" id="totp-secret">([A-Z2-7]+)</code>')
_CODES = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


def another_browser(app_http: httpx.AsyncClient) -> AdminClient:
    return AdminClient(
        httpx.AsyncClient(transport=app_http._transport, base_url=str(app_http.base_url))
    )


async def test_two_factor_login_from_enrolment_to_the_next_login(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    page = await owner.get("/admin/settings/account")
    assert "Set up two-factor login" in page.text
    begun = await owner.post("/admin/settings/account/totp/begin")
    assert begun.status_code == 303
    enrol = await owner.get(begun.headers["location"])
    found = _SECRET.search(enrol.text)
    assert found is not None
    secret = found.group(1)
    assert '<div class="qr" role="img"' in enrol.text
    assert '<svg viewBox="' in enrol.text  # drawn here: no image from elsewhere
    assert "http" not in enrol.text.split('<div class="qr"')[1].split("</div>")[0]
    # A wrong code: refused next to the field, the same enrolment shown again.
    wrong = await owner.post("/admin/settings/account/totp/confirm", {"code": "000000"})
    assert wrong.status_code == 422
    assert "That code is not right" in wrong.text
    assert secret in wrong.text
    confirmed = await owner.post(
        "/admin/settings/account/totp/confirm", {"code": pyotp.TOTP(secret).now()}
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = _CODES.findall(confirmed.text)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    later = await owner.get("/admin/settings/account")
    assert not _CODES.findall(later.text)  # shown once
    assert secret not in later.text
    assert "10 recovery codes left." in later.text
    members = await owner.get("/admin/settings/users")
    assert 'class="badge ok">on<' in members.text
    # The next login asks for a code; a recovery code lets the owner in once.
    await owner.post("/admin/logout")
    again = another_browser(app_http)
    await again.get("/admin/login")
    step = await again.post("/admin/login", {"email": team.owner_email, "password": PASSWORD})
    assert step.status_code == 200
    assert "Code from your authenticator app" in step.text
    done = await again.post("/admin/login/code", {"code": codes[0]})
    assert done.status_code == 303
    assert (await again.get("/admin/settings/account")).status_code == 200
    assert "9 recovery codes left." in (await again.get("/admin/settings/account")).text
    # New recovery codes against a code (a recovery code counts), then off with the password.
    refused = await again.post("/admin/settings/account/totp/recovery-codes", {"code": codes[0]})
    assert refused.status_code == 422
    fresh = await again.post("/admin/settings/account/totp/recovery-codes", {"code": codes[1]})
    assert fresh.status_code == 200
    renewed = _CODES.findall(fresh.text)
    assert len(renewed) == 10
    assert not set(renewed) & set(codes)
    wrong_password = await again.post(
        "/admin/settings/account/totp/disable", {"password": "not my password"}
    )
    assert wrong_password.status_code == 422
    assert "This is not your current password." in wrong_password.text
    off = await again.post("/admin/settings/account/totp/disable", {"password": PASSWORD})
    assert off.status_code == 303
    assert "Two-factor login is off." in (await again.get(off.headers["location"])).text
    plain = another_browser(app_http)
    assert (await plain.log_in(team.owner_email)).status_code == 303


async def test_an_enrolment_can_be_given_up(owner: AdminClient) -> None:
    await owner.post("/admin/settings/account/totp/begin")
    page = await owner.get("/admin/settings/account")
    assert "Cancel the set-up" in page.text
    cancelled = await owner.post("/admin/settings/account/totp/disable", {"password": PASSWORD})
    assert cancelled.status_code == 303
    assert "Set up two-factor login" in (await owner.get("/admin/settings/account")).text


async def test_the_name_and_the_language(owner: AdminClient) -> None:
    saved = await owner.post(
        "/admin/settings/account/profile", {"name": "<script>Ola</script>", "lang": "fi"}
    )
    assert saved.status_code == 303
    assert f"{COOKIE}=fi" in saved.headers["set-cookie"]
    page = await owner.get("/admin/settings/account")
    assert page.headers["content-language"] == "fi"
    assert "<script>Ola</script>" not in page.text
    assert "&lt;script&gt;Ola&lt;/script&gt;" in page.text  # in the top bar and the form
    assert '<option value="fi" selected>' in page.text
    empty = await owner.post("/admin/settings/account/profile", {"name": "  ", "lang": "en"})
    assert empty.status_code == 422
    strange = await owner.post("/admin/settings/account/profile", {"name": "Ola", "lang": "xx"})
    assert strange.status_code == 422
    assert "&lt;script&gt;Ola&lt;/script&gt;" in (await owner.get("/admin/settings/account")).text


async def test_a_new_password_ends_the_other_sessions(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient, runtime: Runtime
) -> None:
    elsewhere = another_browser(app_http)
    await elsewhere.log_in(team.owner_email)
    await owner.get("/admin/settings/account")
    wrong = await owner.post(
        "/admin/settings/account/password",
        {"current": "not it at all", "new": "a brand new phrase", "confirm": "a brand new phrase"},
    )
    assert wrong.status_code == 422
    assert "This is not your current password." in wrong.text
    mismatch = await owner.post(
        "/admin/settings/account/password",
        {"current": PASSWORD, "new": "a brand new phrase", "confirm": "another phrase"},
    )
    assert mismatch.status_code == 422
    assert "The two new passwords are not the same." in mismatch.text
    short = await owner.post(
        "/admin/settings/account/password",
        {"current": PASSWORD, "new": "short", "confirm": "short"},
    )
    assert short.status_code == 422
    assert "Use at least 10 characters." in short.text
    changed = await owner.post(
        "/admin/settings/account/password",
        {"current": PASSWORD, "new": "a brand new phrase", "confirm": "a brand new phrase"},
    )
    assert changed.status_code == 303
    assert (await owner.get("/admin/settings/account")).status_code == 200  # this one stays
    assert (await elsewhere.get("/admin/settings/account")).status_code == 303  # to log in
    old = another_browser(app_http)
    assert (await old.log_in(team.owner_email)).status_code == 401
    assert (await old.log_in(team.owner_email, "a brand new phrase")).status_code == 303
