"""Loyalty as staff use it, in Chromium against a real `passmint serve` (SQLite and
PostgreSQL): find a demo customer, open their card, be refused an adjustment without a
reason, adjust it with one and see the new balance and the entry in the history; and
build a new program's earn rules with the add and remove buttons, see a bad value flagged
next to its field, fix it and save."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.ui.browser import UiPage
from tests.ui.screens import log_in


def test_adjust_a_customers_points_with_a_reason(desktop_page: UiPage) -> None:
    ui = desktop_page
    page = ui.page
    log_in(ui, "/admin/customers")
    page.get_by_label("Name, email, phone or card number").fill("Alan")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/admin/customers?q=Alan", wait_until="networkidle")
    page.get_by_role("link", name="Alan Turing").click()
    page.wait_for_url("**/admin/customers/*", wait_until="networkidle")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alan Turing")
    page.locator("a.mono").first.click()
    page.wait_for_url("**/admin/customers/cards/*", wait_until="networkidle")
    balance = page.locator("#card-balance")
    before = int(re.sub(r"\D", "", balance.inner_text()))

    page.get_by_label("Points to add or take away").fill("25")
    page.get_by_role("button", name="Record the adjustment").click()
    page.wait_for_load_state("networkidle")
    ui.watch.pardon_status(page.url, 422)
    expect(page.locator("#f-reason-error")).to_be_visible()
    expect(page.get_by_label("Reason (kept in the card's history)")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(balance).to_have_text(f"{before} points")  # nothing changed

    reason = f"Welcome back {uuid.uuid4().hex[:6]}"
    page.get_by_label("Reason (kept in the card's history)").fill(reason)
    page.get_by_role("button", name="Record the adjustment").click()
    page.wait_for_url("**/admin/customers/cards/*?done=adjusted", wait_until="networkidle")
    expect(page.get_by_text("The adjustment is recorded.")).to_be_visible()
    expect(balance).to_have_text(f"{before + 25:,} points")
    newest = page.locator("table.ledger tbody tr").first
    expect(newest).to_contain_text("Adjusted")
    expect(newest).to_contain_text("+25")
    expect(newest.locator("td.reason")).to_have_text(reason)
    ui.assert_clean()


def test_build_a_programs_earn_rules_with_the_row_buttons(desktop_page: UiPage) -> None:
    ui = desktop_page
    page = ui.page
    log_in(ui, "/admin/programs")
    page.get_by_role("link", name="New program").click()
    page.wait_for_url("**/admin/programs/new", wait_until="networkidle")
    name = f"Stamps {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Design of its cards").select_option(label="Café loyalty")

    add = page.get_by_role("button", name="Add an earn rule")
    add.click()
    add.click()
    rows = page.locator("#list-earn_rules [data-row]")
    expect(rows).to_have_count(2)
    expect(page.locator('[name="earn_rules.1.key"]')).to_be_focused()  # the new row's first
    rows.first.get_by_role("button", name="Remove this rule").click()
    expect(rows).to_have_count(1)
    key = page.locator('[name="earn_rules.0.key"]')  # renumbered from 1
    key.fill("visit")
    expect(page.get_by_label("Key", exact=True).first).to_have_attribute("id", "f-earn_rules-0-key")
    page.locator('[name="earn_rules.0.trigger"]').select_option("visit")
    page.locator('[name="earn_rules.0.points"]').fill("1,5")
    page.get_by_role("button", name="Create the program").click()
    page.wait_for_load_state("networkidle")
    ui.watch.pardon_status(page.url, 422)
    expect(page.locator("#f-earn_rules-0-points-error")).to_contain_text("Write a whole number")
    expect(page.locator('[name="earn_rules.0.key"]')).to_have_value("visit")  # as typed

    page.locator('[name="earn_rules.0.points"]').fill("2")
    page.get_by_role("button", name="Create the program").click()
    page.wait_for_url("**/admin/programs/*?done=created", wait_until="networkidle")
    expect(page.get_by_text("The program is created.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Program: {name}")
    expect(page.locator('[name="earn_rules.0.key"]')).to_have_value("visit")
    expect(page.locator('[name="earn_rules.0.points"]')).to_have_value("2")
    expect(page.locator('[name="earn_rules.1.key"]')).to_have_count(0)
    ui.assert_clean()
