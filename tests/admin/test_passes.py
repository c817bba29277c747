"""The pass screens of the admin app: finding a pass by each key (serial number, external id,
pass id, card number, the customer's email or phone), a pass's page (data, links, design,
history), sending it a message and voiding it; roles without the right, other businesses'
passes and forms without their token are refused and change nothing."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from passmint.models import Event, Pass
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.admin.conftest import AdminClient, Team, add_user
from tests.admin.loyalty import api, make_loyalty
from tests.admin.wallets import issue_passes, pass_json, register

pytestmark = pytest.mark.anyio


def another_browser(app_http: httpx.AsyncClient) -> AdminClient:
    return AdminClient(
        httpx.AsyncClient(transport=app_http._transport, base_url=str(app_http.base_url))
    )


async def stored(runtime: Runtime, pass_id: str) -> Pass:
    async with runtime.db.sessions() as session:
        found = await session.get(Pass, uuid.UUID(pass_id))
    assert found is not None
    return found


async def kinds(runtime: Runtime, pass_id: str) -> list[str]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(Event.kind).where(Event.pass_id == uuid.UUID(pass_id)).order_by(Event.id)
        )
    return list(rows.scalars())


def linked(page: httpx.Response) -> set[str]:
    """The pass ids a result page links to."""
    return set(re.findall(r'href="/admin/passes/([0-9a-f-]{36})"', page.text))


@pytest.fixture
async def card(owner: AdminClient, team: Team, dev_pki: DevPki) -> dict[str, Any]:
    """A loyalty card of the first business (its customer has an email and a phone) and
    its pass."""
    loyalty = await make_loyalty(
        owner.http,
        team.api_key,
        dev_pki,
        customer={"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+358401234567"},
    )
    found = await api(owner.http, team.api_key, "GET", f"/passes?external_id={loyalty.account_id}")
    (pass_,) = found["items"]
    return {"loyalty": loyalty, "pass": pass_}


async def test_a_pass_is_found_by_each_of_its_keys(
    owner: AdminClient, card: dict[str, Any]
) -> None:
    pass_ = card["pass"]
    number = card["loyalty"].card_number
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    for query in (
        pass_["serial_number"],
        pass_["external_id"],
        pass_["id"],
        number,
        spaced,  # as it is printed on the card
        "ADA@example.com",
        "+358 40 123 4567",
    ):
        page = await owner.get("/admin/passes", params={"q": query})
        assert page.status_code == 200, query
        assert linked(page) == {pass_["id"]}, query
    nothing = await owner.get("/admin/passes", params={"q": "no-such-pass"})
    assert nothing.status_code == 200
    assert linked(nothing) == set()
    assert "No pass matches" in nothing.text
    everything = await owner.get("/admin/passes")
    assert linked(everything) == {pass_["id"]}


async def test_the_list_pages_newest_first(owner: AdminClient, team: Team, dev_pki: DevPki) -> None:
    issued = await issue_passes(owner.http, team.api_key, dev_pki, 27)
    first = await owner.get("/admin/passes")
    newest = [p["id"] for p in reversed(issued)]
    shown = re.findall(r'href="/admin/passes/([0-9a-f-]{36})"', first.text)
    assert shown == newest[:25]
    older = re.search(r'href="/admin/passes\?before=([0-9a-f-]{36})"', first.text)
    assert older is not None
    second = await owner.get("/admin/passes", params={"before": older.group(1)})
    assert re.findall(r'href="/admin/passes/([0-9a-f-]{36})"', second.text) == newest[25:]
    assert "Older passes" not in second.text


async def test_another_business_s_pass_is_not_found_and_not_changed(
    owner: AdminClient,
    card: dict[str, Any],
    other_team: Team,
    app_http: httpx.AsyncClient,
    runtime: Runtime,
) -> None:
    other = another_browser(app_http)
    await other.log_in(other_team.owner_email)
    pass_id = card["pass"]["id"]
    assert (await other.get(f"/admin/passes/{pass_id}")).status_code == 404
    refused = await other.post(f"/admin/passes/{pass_id}/void")
    assert refused.status_code == 404
    assert "belongs to another business" in refused.text
    sent = await other.post(f"/admin/passes/{pass_id}/message", {"header": "Hi", "body": "Hey"})
    assert sent.status_code == 404
    for query in (card["loyalty"].card_number, "ada@example.com", card["pass"]["serial_number"]):
        assert linked(await other.get("/admin/passes", params={"q": query})) == set()
    assert (await stored(runtime, pass_id)).status == "issued"
    assert "messaged" not in await kinds(runtime, pass_id)
    assert (await owner.get("/admin/passes/not-a-pass")).status_code == 404


async def test_the_page_shows_data_links_design_and_history(
    owner: AdminClient, team: Team, dev_pki: DevPki
) -> None:
    (issued,) = await issue_passes(owner.http, team.api_key, dev_pki)
    pj = await pass_json(owner.http, issued)
    await register(owner.http, pj, "iphone-of-ada")
    page = await owner.get(f"/admin/passes/{issued['id']}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert issued["serial_number"] in text
    assert "Lumen card" in text
    for url in (issued["urls"]["landing"], issued["urls"]["pkpass"]):
        assert f'data-copy="{url}"' in text
    assert "Guest 0" in text  # its data
    history = text[text.index('id="history-heading"') :]
    order = [
        history.index("Added to Apple Wallet on iPhone"),
        history.index("Downloaded from its link on iPhone"),
        history.index("Issued with version 1 of its design"),
    ]
    assert order == sorted(order)  # newest first
    assert 'action="/admin/passes/' in text  # the owner may act


async def test_a_message_is_sent_and_shown_as_text(
    owner: AdminClient, team: Team, dev_pki: DevPki, runtime: Runtime
) -> None:
    (issued,) = await issue_passes(owner.http, team.api_key, dev_pki)
    page = await owner.get(f"/admin/passes/{issued['id']}")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key is not None
    form = {
        "header": "<script>alert(1)</script>",
        "body": "Line one\r\n<b>bold</b>",
        "idempotency_key": key.group(1),
    }
    sent = await owner.post(f"/admin/passes/{issued['id']}/message", form)
    assert sent.status_code == 303, sent.text
    again = await owner.post(f"/admin/passes/{issued['id']}/message", form)  # a double submit
    assert again.status_code == 303
    assert (await kinds(runtime, issued["id"])).count("messaged") == 1
    shown = await owner.get(sent.headers["location"])
    assert "The message is sent." in shown.text
    assert "<script>alert(1)</script>" not in shown.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in shown.text
    assert (await stored(runtime, issued["id"])).data["message"] == "Line one\n<b>bold</b>"


async def test_a_message_without_a_title_is_refused_next_to_it(
    owner: AdminClient, team: Team, dev_pki: DevPki, runtime: Runtime
) -> None:
    (issued,) = await issue_passes(owner.http, team.api_key, dev_pki)
    await owner.get(f"/admin/passes/{issued['id']}")
    refused = await owner.post(
        f"/admin/passes/{issued['id']}/message", {"header": " ", "body": "Kept"}
    )
    assert refused.status_code == 422
    assert 'id="message-header-error"' in refused.text
    assert "Write a title of 1 to 100 characters" in refused.text
    assert ">Kept</textarea>" in refused.text  # what was typed stays
    too_long = await owner.post(
        f"/admin/passes/{issued['id']}/message", {"header": "Hi", "body": "x" * 1001}
    )
    assert too_long.status_code == 422
    assert 'id="message-body-error"' in too_long.text
    assert "messaged" not in await kinds(runtime, issued["id"])


async def test_voiding_asks_first_and_ends_the_actions(
    owner: AdminClient, team: Team, dev_pki: DevPki, runtime: Runtime
) -> None:
    (issued,) = await issue_passes(owner.http, team.api_key, dev_pki)
    page = await owner.get(f"/admin/passes/{issued['id']}")
    assert 'data-confirm="Void this pass? This cannot be undone."' in page.text
    done = await owner.post(f"/admin/passes/{issued['id']}/void")
    assert done.status_code == 303
    after = await owner.get(done.headers["location"])
    assert "The pass is voided." in after.text
    assert f'action="/admin/passes/{issued["id"]}/void"' not in after.text
    assert f'action="/admin/passes/{issued["id"]}/message"' not in after.text
    assert (await stored(runtime, issued["id"])).status == "voided"
    late = await owner.post(f"/admin/passes/{issued['id']}/message", {"header": "A", "body": "B"})
    assert late.status_code == 409
    assert "a voided pass takes no messages" in late.text


async def test_a_viewer_sees_no_actions_and_is_refused_them(
    owner: AdminClient,
    team: Team,
    dev_pki: DevPki,
    runtime: Runtime,
    app_http: httpx.AsyncClient,
) -> None:
    (issued,) = await issue_passes(owner.http, team.api_key, dev_pki)
    await add_user(runtime, team, "viewer@lumen.example", "viewer")
    viewer = another_browser(app_http)
    await viewer.log_in("viewer@lumen.example")
    page = await viewer.get(f"/admin/passes/{issued['id']}")
    assert page.status_code == 200
    assert '<form method="post" action="/admin/passes/' not in page.text
    assert "Your role does not include the event log." in page.text  # no events:read
    void = await viewer.post(f"/admin/passes/{issued['id']}/void")
    assert void.status_code == 403
    assert "Your role does not allow this" in void.text
    message = await viewer.post(
        f"/admin/passes/{issued['id']}/message", {"header": "Hi", "body": "there"}
    )
    assert message.status_code == 403
    assert (await stored(runtime, issued["id"])).status == "issued"
    assert await kinds(runtime, issued["id"]) == ["issued"]


async def test_a_write_without_the_form_token_changes_nothing(
    owner: AdminClient, team: Team, dev_pki: DevPki, runtime: Runtime
) -> None:
    (issued,) = await issue_passes(owner.http, team.api_key, dev_pki)
    refused = await owner.post(f"/admin/passes/{issued['id']}/void", csrf=False)
    assert refused.status_code == 403
    assert (await stored(runtime, issued["id"])).status == "issued"


async def test_a_search_with_a_control_character_is_refused(owner: AdminClient) -> None:
    page = await owner.get("/admin/passes", params={"q": "abc\x00def"})
    assert page.status_code == 422
    assert 'id="pass-search-error"' in page.text
