"""Finding a pass and writing to it, in Chromium against a real `passmint serve` (SQLite and
PostgreSQL): a new card of the demo program is searched by its number as it is printed,
opened, its link copied with the copy button, sent a message, and the message shows in
its history."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.browser import UiPage
from tests.ui.screens import log_in


def test_find_a_card_copy_its_link_and_send_it_a_message(desktop_page: UiPage) -> None:
    ui = desktop_page
    page = ui.page
    demo = ui.server.demo
    made = page.request.post(  # a card of its own: the tests share the demo business
        ui.server.url(f"/api/v1/programs/{demo['program_id']}/accounts"),
        headers={"Authorization": f"Bearer {demo['api_key']}"},
        data={"customer": {"name": "Edsger Dijkstra", "email": "edsger@example.com"}},
    )
    assert made.status == 201, made.text()
    number = made.json()["number"]
    log_in(ui, "/admin/passes")

    search = page.get_by_label("Find a pass")
    search.fill(" ".join(number[i : i + 4] for i in range(0, len(number), 4)))
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/admin/passes?q=*", wait_until="networkidle")
    results = page.locator("tbody tr")
    expect(results).to_have_count(1)
    results.first.get_by_role("link").click()
    page.wait_for_url("**/admin/passes/*", wait_until="networkidle")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.get_by_text("Edsger Dijkstra")).to_be_visible()  # its data

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    landing = page.get_by_role("link", name="/p/").first
    copy = page.locator('button[aria-describedby="copied-landing"]')
    copy.click()
    expect(page.locator("#copied-landing")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == landing.get_attribute("href")

    page.get_by_label("Title").fill("Happy hour")
    page.get_by_label("Message", exact=True).fill("Two coffees for one until 6 pm <today>")
    page.get_by_role("button", name="Send the message").click()
    page.wait_for_url("**/admin/passes/*?done=message", wait_until="networkidle")
    expect(page.get_by_text("The message is sent.")).to_be_visible()
    newest = page.locator("section", has=page.get_by_role("heading", name="History")).locator(
        "tbody tr"
    )
    expect(newest.first).to_contain_text(
        "Message sent: “Happy hour”: Two coffees for one until 6 pm <today>"
    )
    ui.assert_clean()
