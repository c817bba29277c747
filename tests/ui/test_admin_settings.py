"""Settings as an owner uses them, in Chromium against a real `passmint serve` (SQLite and
PostgreSQL, no SMTP server): create an API key with chosen permissions and see its secret
once (copied with the button), revoke it; invite someone and get the link to hand over."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.ui.browser import UiPage
from tests.ui.conftest import NewPage
from tests.ui.screens import log_in


def test_create_an_api_key_see_it_once_and_revoke_it(desktop_page: UiPage) -> None:
    ui = desktop_page
    page = ui.page
    ui.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(ui, "/admin/settings")
    page.get_by_role("link", name="API keys").click()
    page.wait_for_url("**/admin/settings/api-keys", wait_until="networkidle")
    name = f"Till {uuid.uuid4().hex[:6]}"
    page.get_by_role("button", name="Create the key").click()  # the browser asks for a name
    expect(page.get_by_label("Name", exact=True)).to_have_js_property("validity.valid", False)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create the key").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text("Choose at least one permission.")).to_be_visible()
    ui.watch.pardon_status(page.url, 422)
    page.get_by_label("passes:read", exact=True).check()
    page.get_by_label("templates:read", exact=True).check()
    page.get_by_role("button", name="Create the key").click()
    page.wait_for_load_state("networkidle")
    secret = page.locator("code.secret").inner_text()
    assert re.fullmatch(r"pm_[0-9a-f]{12}_[A-Za-z0-9_-]{32}", secret)
    page.get_by_role("button", name="Copy the key").click()
    expect(page.locator("#new-key-copied")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    # The key answers the API with what it was given, and the list never shows it again.
    headers = {"Authorization": f"Bearer {secret}"}
    assert page.request.get(ui.server.url("/api/v1/templates"), headers=headers).status == 200
    page.goto(ui.server.url("/admin/settings/api-keys"), wait_until="networkidle")
    expect(page.locator("code.secret")).to_have_count(0)
    assert secret not in page.content()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row.get_by_text("passes:read")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=f"Revoke the key {name}").click()
    page.wait_for_url("**/admin/settings/api-keys?done=revoked", wait_until="networkidle")
    expect(page.get_by_text("The key is revoked.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=name).locator(".badge.bad")).to_be_visible()
    assert page.request.get(ui.server.url("/api/v1/templates"), headers=headers).status == 401
    ui.assert_clean()


def test_invite_someone_and_hand_the_link_over(phone_page: UiPage) -> None:
    ui = phone_page
    page = ui.page
    log_in(ui, "/admin/settings/users")
    email = f"mia-{uuid.uuid4().hex[:6]}@lumen.example"
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Role", exact=True).select_option("marketer")
    page.get_by_role("button", name="Invite", exact=True).click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name=f"{email} is invited")).to_be_visible()
    link = page.locator("#invitation-link").inner_text()
    assert re.fullmatch(re.escape(ui.server.base_url) + r"/admin/invitations/[A-Za-z0-9_-]+", link)
    expect(page.get_by_role("button", name="Copy the invitation link")).to_be_visible()
    pending = page.get_by_role("row").filter(has_text=email)
    expect(pending).to_contain_text("Marketer")
    ui.assert_clean()
    # The link opens the invitation in another browser (the invitee's).
    invitee = page.context.browser
    assert invitee is not None
    other = invitee.new_context()
    try:
        accept = other.new_page()
        response = accept.goto(link)
        assert response is not None
        assert response.status == 200
        expect(accept.get_by_text(email)).to_be_visible()
    finally:
        other.close()


_ARROW_GEOMETRY = """link => {
  const arrow = link.querySelector('.arrow').getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(link.lastChild);
  const text = range.getBoundingClientRect();
  return {
    transform: getComputedStyle(link.querySelector('.arrow')).transform,
    arrowOutside:
      arrow.right <= text.left + 1 ? 'left' : arrow.left >= text.right - 1 ? 'right' : 'over',
  };
}"""


@pytest.mark.parametrize("ui_server", ["sqlite"], indirect=True)  # layout: no database in it
def test_back_arrows_point_the_way_the_page_reads(new_page: NewPage) -> None:
    """A back link's arrow sits before its text and points outwards in either direction:
    left of the text and pointing left in English, right of it and mirrored in Arabic; a
    screen reader reads the link's words, not the arrow."""
    seen: dict[str, object] = {}
    for locale in ("en", "ar"):
        ui = new_page("desktop", locale)
        log_in(ui, "/admin/settings/audit")
        back = ui.page.locator("main .actions a[href='/admin/settings']")
        expect(back.locator(".arrow")).to_have_attribute("aria-hidden", "true")
        seen[locale] = back.evaluate(_ARROW_GEOMETRY)
        ui.assert_clean()
    assert seen["en"] == {"transform": "none", "arrowOutside": "left"}
    assert seen["ar"] == {"transform": "matrix(-1, 0, 0, 1, 0, 0)", "arrowOutside": "right"}
