"""Customers and cards in the admin app: the search (name, email, phone, card number) page by
page, a customer's cards, a card's balances, tier progress, what expires when and its
ledger, and the manual adjustment: a reason required, one entry however often the form is
sent, a viewer refused, another business's cards not found, hostile text shown as text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.admin.conftest import AdminClient, Team, add_user
from tests.admin.loyalty import Loyalty, api, make_loyalty

pytestmark = pytest.mark.anyio

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
async def loyalty(browser_client: AdminClient, team: Team, dev_pki: DevPki) -> Loyalty:
    return await make_loyalty(
        browser_client.http,
        team.api_key,
        dev_pki,
        customer={"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+33612345678"},
    )


def card_path(loyalty: Loyalty) -> str:
    return f"/admin/customers/cards/{loyalty.account_id}"


def form_key(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def history(client: AdminClient, team: Team, loyalty: Loyalty) -> dict[str, Any]:
    return await api(client.http, team.api_key, "GET", f"/accounts/{loyalty.account_id}/history")


async def test_the_search_finds_by_name_email_phone_and_card_number(
    owner: AdminClient, loyalty: Loyalty, team: Team
) -> None:
    await api(owner.http, team.api_key, "POST", "/customers", {"name": "Grace Hopper"})
    link = f'href="/admin/customers/{loyalty.customer_id}"'
    for query in (
        "lovelace",
        "ADA@EXAMPLE",
        "06 12 34 56",
        "+33 6 12",
        "0033 612",
        loyalty.card_number[:6],
        f"{loyalty.card_number[:4]} {loyalty.card_number[4:8]}",
    ):
        page = await owner.get("/admin/customers", params={"q": query})
        assert page.status_code == 200
        assert link in page.text, query
        assert "Grace Hopper" not in page.text, query
    everyone = await owner.get("/admin/customers")
    assert link in everyone.text
    assert "Grace Hopper" in everyone.text
    assert f'href="/admin/customers/cards/{loyalty.account_id}"' in everyone.text
    nobody = await owner.get("/admin/customers", params={"q": "100%_"})
    assert "Nobody matches" in nobody.text  # LIKE's wildcards are searched for as text
    control = await owner.get("/admin/customers", params={"q": "a\x00b"})
    assert control.status_code == 400
    assert "cannot be searched for" in control.text


async def test_the_search_goes_page_by_page(owner: AdminClient, team: Team) -> None:
    for n in range(27):
        await api(owner.http, team.api_key, "POST", "/customers", {"name": f"Walker {n:02d}"})
    first = await owner.get("/admin/customers", params={"q": "walker"})
    assert len(re.findall(r">Walker \d\d<", first.text)) == 25
    assert "/admin/customers?q=walker&amp;page=2" in first.text
    second = await owner.get("/admin/customers", params={"q": "walker", "page": "2"})
    names = re.findall(r">(Walker \d\d)<", second.text)
    assert sorted(names) == ["Walker 00", "Walker 01"]  # newest first
    assert "page=3" not in second.text
    assert (await owner.get("/admin/customers", params={"page": "x"})).status_code == 200


async def test_a_card_shows_balances_tier_progress_expiry_and_its_ledger(
    owner: AdminClient, loyalty: Loyalty
) -> None:
    person = await owner.get(f"/admin/customers/{loyalty.customer_id}")
    assert person.status_code == 200
    assert "ada@example.com" in person.text
    assert f'href="{card_path(loyalty)}"' in person.text
    page = await owner.get(card_path(loyalty))
    assert page.status_code == 200
    html = page.text
    assert '<span class="value" id="card-balance">40 points</span>' in html
    assert "Bronze" in html
    assert '<progress class="progress" id="tier-progress" max="250" value="40"' in html
    assert "40 of 250 qualifying points: 210 to go." in html
    assert "What expires when" in html
    expiring = html[html.index("Expires on") : html.index("Adjust the balance")]
    assert "40 points" in expiring
    ledger = html[html.index('id="history"') :]
    assert "Earned" in ledger
    assert "Earn rule welcome" in ledger
    assert "+40" in ledger


async def test_an_adjustment_needs_a_reason_and_changes_nothing_without(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    page = await owner.get(card_path(loyalty))
    key = form_key(page.text)
    for reason in ("", "   "):
        refused = await owner.post(
            f"{card_path(loyalty)}/adjust",
            {"amount": "50", "reason": reason, "idempotency_key": key},
        )
        assert refused.status_code == 422
        assert 'id="f-reason-error"' in refused.text
        assert "Nothing was changed." in refused.text
        assert 'value="50"' in refused.text  # the form as typed
    unreadable = await owner.post(
        f"{card_path(loyalty)}/adjust",
        {"amount": "5.5", "reason": "Goodwill", "idempotency_key": key},
    )
    assert unreadable.status_code == 422
    assert "Write a whole number" in unreadable.text
    zero = await owner.post(
        f"{card_path(loyalty)}/adjust", {"amount": "0", "reason": "x", "idempotency_key": key}
    )
    assert "an adjustment moves at least one point" in zero.text
    without_key = await owner.post(
        f"{card_path(loyalty)}/adjust", {"amount": "5", "reason": "x", "idempotency_key": ""}
    )
    assert without_key.status_code == 422
    assert "This form has expired" in without_key.text
    assert len((await history(owner, team, loyalty))["entries"]) == 1


async def test_an_adjustment_with_its_reason_is_in_the_ledger_once(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    page = await owner.get(card_path(loyalty))
    form = {"amount": "+50", "reason": "Coffee spilt", "idempotency_key": form_key(page.text)}
    done = await owner.post(f"{card_path(loyalty)}/adjust", form)
    assert done.status_code == 303, done.text
    again = await owner.post(f"{card_path(loyalty)}/adjust", form)  # a double submit
    assert again.status_code == 303
    shown = await owner.get(done.headers["location"])
    assert "The adjustment is recorded." in shown.text
    assert '<span class="value" id="card-balance">90 points</span>' in shown.text
    ledger = shown.text[shown.text.index('id="history"') :]
    assert "Adjusted" in ledger
    assert "+50" in ledger
    assert "Coffee spilt" in ledger
    assert "<td>owner</td>" in ledger  # who did it (the owner's name)
    entries = (await history(owner, team, loyalty))["entries"]
    assert [(e["kind"], e["amount"], e["note"]) for e in entries] == [
        ("earn", 40, None),
        ("adjust", 50, "Coffee spilt"),
    ]
    assert entries[1]["actor_type"] == "user"
    other = await owner.post(f"{card_path(loyalty)}/adjust", {**form, "amount": "60"})
    assert other.status_code == 409
    assert "sent before with other values" in other.text
    taken = await owner.post(
        f"{card_path(loyalty)}/adjust",
        {"amount": "-30", "reason": "Correction", "idempotency_key": form_key(other.text)},
    )
    assert taken.status_code == 303
    too_much = await owner.get(card_path(loyalty))
    refused = await owner.post(
        f"{card_path(loyalty)}/adjust",
        {"amount": "-1000", "reason": "Oops", "idempotency_key": form_key(too_much.text)},
    )
    assert refused.status_code == 409
    assert "The card has 60: an adjustment cannot take it below zero." in refused.text
    assert [e["amount"] for e in (await history(owner, team, loyalty))["entries"]] == [
        40,
        50,
        -30,
    ]


async def test_an_adjustment_without_the_csrf_token_changes_nothing(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    page = await owner.get(card_path(loyalty))
    response = await owner.post(
        f"{card_path(loyalty)}/adjust",
        {"amount": "50", "reason": "x", "idempotency_key": form_key(page.text)},
        csrf=False,
    )
    assert response.status_code == 403
    assert len((await history(owner, team, loyalty))["entries"]) == 1


async def test_a_viewer_reads_the_card_but_cannot_adjust_it(
    browser_client: AdminClient, runtime: Runtime, team: Team, loyalty: Loyalty
) -> None:
    await add_user(runtime, team, "viewer@lumen.example", "viewer")
    assert (await browser_client.log_in("viewer@lumen.example")).status_code == 303
    page = await browser_client.get(card_path(loyalty))
    assert page.status_code == 200
    assert "Adjust the balance" not in page.text
    assert "idempotency_key" not in page.text
    refused = await browser_client.post(
        f"{card_path(loyalty)}/adjust",
        {"amount": "50", "reason": "x", "idempotency_key": "k" * 32},
    )
    assert refused.status_code == 403
    assert len((await history(browser_client, team, loyalty))["entries"]) == 1


async def test_another_businesss_customers_and_cards_are_not_found(
    owner: AdminClient, team: Team, other_team: Team, dev_pki: DevPki, loyalty: Loyalty
) -> None:
    theirs = await make_loyalty(owner.http, other_team.api_key, dev_pki)
    assert (await owner.get(f"/admin/customers/{theirs.customer_id}")).status_code == 404
    assert (await owner.get(card_path(theirs))).status_code == 404
    page = await owner.get(card_path(loyalty))
    response = await owner.post(
        f"{card_path(theirs)}/adjust",
        {"amount": "50", "reason": "x", "idempotency_key": form_key(page.text)},
    )
    assert response.status_code == 404
    search = await owner.get("/admin/customers", params={"q": theirs.card_number})
    assert f"/admin/customers/cards/{theirs.account_id}" not in search.text
    entries = (await history(owner, other_team, theirs))["entries"]
    assert [e["kind"] for e in entries] == ["earn"]


async def test_hostile_names_and_reasons_show_as_text(
    owner: AdminClient, team: Team, dev_pki: DevPki, browser_client: AdminClient
) -> None:
    mine = await make_loyalty(
        owner.http, team.api_key, dev_pki, customer={"name": HOSTILE, "email": "x@example.com"}
    )
    page = await owner.get(card_path(mine))
    await owner.post(
        f"{card_path(mine)}/adjust",
        {"amount": "1", "reason": HOSTILE, "idempotency_key": form_key(page.text)},
    )
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for path in (
        "/admin/customers",
        f"/admin/customers/{mine.customer_id}",
        card_path(mine),
    ):
        shown = await owner.get(path)
        assert HOSTILE not in shown.text, path
        assert escaped in shown.text, path
