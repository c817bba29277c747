"""The designer as a marketer uses it, in Chromium against a real `passmint serve` (SQLite
and PostgreSQL): start a loyalty card from the gallery, change a colour and add a field
and see the preview follow, fix a problem it flags, save, issue a pass and verify it,
publish a second version and see the pass move to it; a viewer is refused an edit."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.ui.browser import UiPage
from tests.ui.screens import log_in
from tests.ui.server import UiServer


def _api(server: UiServer, path: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - our own server's http URL
        server.url(path), headers={"Authorization": f"Bearer {server.demo['api_key']}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our server
        result: dict[str, Any] = json.load(response)
    return result


def _preview_settled(ui: UiPage) -> None:
    ui.page.wait_for_load_state("networkidle")
    ui.page.wait_for_timeout(450)  # the form's change delay (350 ms), then the request
    ui.page.wait_for_load_state("networkidle")


def test_design_issue_and_publish_a_loyalty_card(desktop_page: UiPage, tmp_path: Path) -> None:
    ui = desktop_page
    server = ui.server
    page = ui.page
    log_in(ui, "/admin/designs")
    page.get_by_label("Name of the new design").fill("Espresso club")
    page.get_by_role("button", name="Start designing").click()
    page.wait_for_url("**/admin/designs/*", wait_until="networkidle")
    template_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name="Design: Espresso club")).to_be_visible()

    # A colour: the preview's pass takes it.
    background = page.locator("#f-colors-background")
    background.fill("#114477")
    _preview_settled(ui)
    pass_card = page.locator("#preview .pass")
    painted = pass_card.evaluate("el => getComputedStyle(el).getPropertyValue('--pass-bg')")
    assert painted.strip() == "#114477"

    # A field: added, filled, and shown on the card.
    page.get_by_role("button", name="Add a field to Auxiliary fields").click()
    page.locator("#list-auxiliary [data-row]").last.get_by_label("Label", exact=True).fill("LEVEL")
    page.locator("#list-auxiliary [data-row]").last.get_by_label("Value", exact=True).fill(
        "Gold member"
    )
    _preview_settled(ui)
    expect(page.locator("#preview .pass")).to_contain_text("Gold member")

    # A problem flagged next to its control, then fixed.
    background.fill("#12")
    _preview_settled(ui)
    error = page.locator("#f-colors-background-error")
    expect(error).to_be_visible()
    expect(background).to_have_attribute("aria-invalid", "true")
    background.fill("#123456")
    _preview_settled(ui)
    expect(error).to_be_hidden()

    # Save: the confirmation says what publishing reaches.
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text("0 live passes will be re-rendered")).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(f"**/admin/designs/{template_id}?done=saved", wait_until="networkidle")
    expect(page.get_by_text("Version 2")).to_be_visible()

    # Issue a pass of it, download it and verify the signature.
    ui.goto(f"/admin/designs/{template_id}/issue")
    page.get_by_label("External id (your CRM or POS id; optional)").fill("crm-42")
    page.get_by_role("button", name="Issue the pass").click()
    page.wait_for_url("**/admin/passes/*")
    pass_id = page.url.rsplit("/", 1)[1]
    issued = _api(server, f"/api/v1/passes/{pass_id}")
    assert issued["template_version"] == 2
    assert issued["external_id"] == "crm-42"
    bundle = tmp_path / "card.pkpass"
    with urllib.request.urlopen(issued["urls"]["pkpass"], timeout=10) as response:  # noqa: S310
        bundle.write_bytes(response.read())
    ca = server.data_dir / "demo-certs" / "ca.pem"
    verified = server.passmint("apple", "verify", str(bundle), "--ca", str(ca))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # A second version: the live pass follows it.
    ui.goto(f"/admin/designs/{template_id}")
    page.locator("#f-organization_name").fill("Espresso Club Helsinki")
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text("1 live pass will be re-rendered")).to_be_visible()
    expect(page.get_by_text("Espresso Club Helsinki")).to_be_visible()  # the difference
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(f"**/admin/designs/{template_id}?done=saved", wait_until="networkidle")
    deadline = time.monotonic() + 30
    while _api(server, f"/api/v1/passes/{pass_id}")["template_version"] != 3:
        assert time.monotonic() < deadline, "the pass did not move to version 3"
        time.sleep(0.3)
    ui.assert_clean()


def test_a_viewer_is_refused_an_edit(new_page: Any) -> None:
    ui: UiPage = new_page()
    server = ui.server
    email = f"viewer-{time.monotonic_ns()}@demo.passmint.test"
    created = server.passmint(
        "users",
        "create",
        email,
        "--tenant",
        server.demo["tenant_id"],
        "--role",
        "viewer",
        "--password-stdin",
        input_text="viewer password 1\n",
    )
    assert created.returncode == 0, created.stdout + created.stderr
    ui.goto("/admin/login?next=/admin/designs")
    ui.page.get_by_label("Email").fill(email)
    ui.page.get_by_label("Password").fill("viewer password 1")
    ui.page.get_by_role("button", name="Log in").click()
    ui.page.wait_for_url("**/admin/**", wait_until="networkidle")
    ui.goto(f"/admin/designs/{server.demo['template_id']}")
    with ui.page.expect_response("**/save") as answer:
        ui.page.get_by_role("button", name="Save as a new version").click()
    assert answer.value.status == 403
    expect(ui.page.get_by_text("Your role does not allow this")).to_be_visible()
    ui.watch.pardon_status(answer.value.url, 403)  # once the page (and its console) is in
