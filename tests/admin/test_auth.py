"""Logging in to the admin app and what it refuses: wrong passwords, expired sessions,
missing CSRF tokens, roles without the right, another business's ids."""

from __future__ import annotations

import httpx
import pytest

from passmint.runtime import Runtime
from tests.admin.conftest import AdminClient, Team, add_user

pytestmark = pytest.mark.anyio


async def test_the_login_page_leads_to_the_admin_app(
    browser_client: AdminClient, team: Team
) -> None:
    page = await browser_client.get("/admin/designs")
    assert page.status_code == 303
    assert page.headers["location"] == "/admin/login?next=%2Fadmin%2Fdesigns"
    response = await browser_client.log_in(team.owner_email)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "pm_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" in cookie  # the public URL is https
    designs = await browser_client.get("/admin/designs")
    assert designs.status_code == 200
    assert "Start a new design" in designs.text


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    browser_client: AdminClient, team: Team
) -> None:
    await browser_client.get("/admin/login")
    wrong = await browser_client.post(
        "/admin/login", {"email": team.owner_email, "password": "not the password"}
    )
    unknown = await browser_client.post(
        "/admin/login", {"email": "nobody@nowhere.example", "password": "not the password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    message = "The email or the password is not right."
    assert message in wrong.text
    assert message in unknown.text
    assert "pm_session" not in wrong.headers.get("set-cookie", "")


async def test_a_login_without_its_csrf_token_is_refused(
    browser_client: AdminClient, team: Team
) -> None:
    await browser_client.get("/admin/login")
    response = await browser_client.post(
        "/admin/login", {"email": team.owner_email, "password": "x" * 12}, csrf=False
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text


async def test_a_write_without_the_session_token_changes_nothing(
    owner: AdminClient, runtime: Runtime
) -> None:
    response = await owner.post(
        "/admin/designs/new", {"starter": "cafe-stamp-card", "name": "X"}, csrf=False
    )
    assert response.status_code == 403
    forged = await owner.post(
        "/admin/designs/new", {"starter": "cafe-stamp-card", "name": "X", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    listing = await owner.get("/admin/designs")
    assert "No designs yet" in listing.text


async def test_a_cross_site_post_is_refused_even_with_the_token(owner: AdminClient) -> None:
    response = await owner.post(
        "/admin/designs/new",
        {"starter": "cafe-stamp-card", "name": "X"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


async def test_an_ended_session_goes_back_to_the_login_page(owner: AdminClient) -> None:
    await owner.get("/admin/designs")
    out = await owner.post("/admin/logout")
    assert out.status_code == 303
    again = await owner.get("/admin/designs")
    assert again.status_code == 303
    htmx = await owner.http.post("/admin/designs/new", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"] == "/admin/login"


async def test_a_viewer_reads_but_is_refused_an_edit(
    browser_client: AdminClient, runtime: Runtime, team: Team
) -> None:
    await add_user(runtime, team, "viewer@lumen.example", "viewer")
    await browser_client.log_in("viewer@lumen.example")
    listing = await browser_client.get("/admin/designs")
    assert listing.status_code == 200
    assert "Start a new design" not in listing.text
    refused = await browser_client.post(
        "/admin/designs/new", {"starter": "cafe-stamp-card", "name": "X"}
    )
    assert refused.status_code == 403
    assert "Your role does not allow this" in refused.text


async def test_another_business_s_design_is_not_found(
    owner: AdminClient, other_team: Team, app_http: httpx.AsyncClient
) -> None:
    other = AdminClient(
        httpx.AsyncClient(transport=app_http._transport, base_url=str(app_http.base_url))
    )
    await other.log_in(other_team.owner_email)
    created = await other.post("/admin/designs/new", {"starter": "cafe-stamp-card", "name": "Nord"})
    assert created.status_code == 303
    path = created.headers["location"]
    for probe in (owner.get(path), owner.get(path + "/versions")):
        response = await probe
        assert response.status_code == 404
        assert "Nord" not in response.text
    preview = await owner.post(path + "/preview", {"organization_name": "x"})
    assert preview.status_code == 404


async def test_every_admin_page_sends_the_security_headers(owner: AdminClient) -> None:
    for path in ("/admin/login", "/admin/designs"):
        response = await owner.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


async def test_the_language_follows_the_browser_and_the_choice(browser_client: AdminClient) -> None:
    arabic = await browser_client.get("/admin/login", headers={"Accept-Language": "ar-EG,en;q=0.5"})
    assert '<html lang="ar" dir="rtl">' in arabic.text
    chosen = await browser_client.post("/admin/language", {"lang": "fi", "next": "/admin/login"})
    assert chosen.status_code == 303
    finnish = await browser_client.get("/admin/login", headers={"Accept-Language": "ar"})
    assert '<html lang="fi" dir="ltr">' in finnish.text


async def test_a_multipart_form_is_not_read_as_json(browser_client: AdminClient) -> None:
    """Bytes of an uploaded file may look like deep JSON nesting: a form is not JSON."""
    await browser_client.get("/admin/login")
    response = await browser_client.http.post(
        "/admin/login",
        data={"email": "a@b.example", "password": "x" * 12},
        files={"file": ("key.p12", b"[" * 5000, "application/x-pkcs12")},
    )
    assert response.status_code == 403  # the form's CSRF token is missing: not json_too_deep
    assert "json_too_deep" not in response.text
