"""Campaigns as a marketer uses them, in Chromium against a real `passmint serve` (SQLite and
PostgreSQL): create a campaign in the form, start a batch large enough to be made by a job,
watch its progress bar fill (HTMX polls the row, and stops once the batch is ready), and
download its codes."""

from __future__ import annotations

import csv
import io
import re
import uuid

from playwright.sync_api import Request, expect

from tests.ui.browser import UiPage
from tests.ui.screens import log_in

COUNT = 30_000  # over the 10,000 made in the request: a job makes them while the page polls


def test_create_a_campaign_and_watch_a_batch_being_made(desktop_page: UiPage) -> None:
    ui = desktop_page
    page = ui.page
    log_in(ui, "/admin/campaigns")
    page.get_by_role("link", name="New campaign").click()
    page.wait_for_url("**/admin/campaigns/new", wait_until="networkidle")
    name = f"Autumn {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).fill(name)
    expect(page.get_by_label("Discount", exact=True)).to_be_checked()
    expect(page.get_by_label("Balance of each card")).to_be_hidden()  # another kind's value
    page.get_by_label("Percent off").fill("15")
    page.get_by_label("Minimum order").fill("not money")
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#f-min_order_amount-error")).to_have_text("Enter a number like 12.50.")
    expect(page.get_by_label("Minimum order")).to_have_attribute("aria-invalid", "true")
    ui.watch.pardon_status(page.url, 422)
    page.get_by_label("Minimum order").fill("20")
    page.get_by_label("Currency", exact=True).fill("EUR")
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url("**/admin/campaigns/*?done=created", wait_until="networkidle")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_text("The campaign is created.")).to_be_visible()

    polls: list[str] = []

    def seen(request: Request) -> None:
        if re.search(r"/batches/[0-9a-f-]+$", request.url):
            polls.append(request.url)

    page.on("request", seen)
    page.get_by_label("How many codes").fill(str(COUNT))
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_url("**/admin/campaigns/*?done=batch")
    row = page.locator("tbody tr[data-status]").first
    first_status = row.get_attribute("data-status")
    assert first_status in ("generating", "ready")
    progress = row.locator("progress")
    expect(progress).to_have_attribute("max", str(COUNT))
    expect(row).to_have_attribute("data-status", "ready", timeout=90_000)
    expect(progress).to_have_attribute("value", str(COUNT))
    if first_status == "generating":
        assert polls, "the row of a generating batch asks for itself again"
    asked = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == asked, "a ready batch's row stops polling"

    link = row.get_by_role("link", name="Download codes (CSV)")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href is not None
    download = page.request.get(ui.server.url(href))
    assert download.status == 200
    rows = list(csv.reader(io.StringIO(download.text())))
    assert rows[0] == ["code", "balance", "max_uses", "expires_at"]
    assert len({r[0] for r in rows[1:]}) == COUNT
    ui.assert_clean()
