"""Campaigns in the admin app: forms judged by the API's schemas and the coupons service
(their messages beside the fields, nothing stored), code batches with their progress and
CSV download, CSV imports refused by line, redemptions and their rollback; roles without
the right and another business's ids change nothing."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from passmint.coupons import batches
from passmint.runtime import Runtime
from tests.admin.conftest import AdminClient, Team, add_user
from tests.service.conftest import auth

pytestmark = pytest.mark.anyio

_TRIGGER = 'hx-trigger="every 1s"'


def another_browser(app_http: httpx.AsyncClient) -> AdminClient:
    return AdminClient(
        httpx.AsyncClient(transport=app_http._transport, base_url=str(app_http.base_url))
    )


async def api_campaigns(http: httpx.AsyncClient, team: Team) -> list[dict[str, Any]]:
    response = await http.get("/api/v1/campaigns", headers=auth(team.api_key))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def api_codes(http: httpx.AsyncClient, team: Team, campaign_id: str) -> list[str]:
    response = await http.get(
        f"/api/v1/campaigns/{campaign_id}/codes",
        headers=auth(team.api_key),
        params={"limit": 1000},
    )
    assert response.status_code == 200, response.text
    return [item["code"] for item in response.json()["items"]]


async def api_campaign(http: httpx.AsyncClient, team: Team, **body: Any) -> dict[str, Any]:
    payload = {"name": "Spring", "kind": "discount", "percent_off_bp": 1000, **body}
    response = await http.post("/api/v1/campaigns", headers=auth(team.api_key), json=payload)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def api_redemption(
    http: httpx.AsyncClient, team: Team, campaign_id: str, key: str, **body: Any
) -> dict[str, Any]:
    made = await http.post(
        f"/api/v1/campaigns/{campaign_id}/batches",
        headers=auth(team.api_key),
        json={"count": 1},
    )
    assert made.status_code == 201, made.text
    code = (await api_codes(http, team, campaign_id))[-1]
    if "amount" not in body:  # a discount applies to an order
        body.setdefault("order", {"amount": 1000, "currency": "EUR"})
    response = await http.post(
        "/api/v1/redemptions",
        headers={**auth(team.api_key), "Idempotency-Key": key},
        json={"code": code, **body},
    )
    assert response.status_code == 201, response.text
    redeemed: dict[str, Any] = response.json()
    return redeemed


def error_of(page: str, control: str) -> str:
    """The problem shown beside a control (its ``f-<name>-error`` paragraph)."""
    match = re.search(rf'id="f-{re.escape(control)}-error">([^<]*)<', page)
    assert match, f"no problem shown beside {control}"
    return html.unescape(match.group(1))


FORM = {
    "name": "Spring 12.5",
    "kind": "discount",
    "status": "active",
    "currency": "eur",
    "percent_off": "12,5",
    "max_discount": "20",
    "timezone": "Europe/Paris",
    "starts_at": "2026-06-01T09:00",
    "ends_at": "2026-06-30T21:30",
    "weekday.1": "on",
    "weekday.6": "on",
    "hours_from": "08:00",
    "hours_to": "11:30",
    "min_order_amount": "10.00",
    "per_customer_limit": "2",
    "total_limit": "500",
    "tiers": "gold, silver",
}


# -- creating and editing ----------------------------------------------------------------------


async def test_a_campaign_made_in_the_form_is_what_the_api_would_store(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    created = await owner.post("/admin/campaigns", FORM)
    assert created.status_code == 303, created.text
    path = created.headers["location"].split("?")[0]
    (stored,) = await api_campaigns(app_http, team)
    assert path == f"/admin/campaigns/{stored['id']}"
    assert (stored["percent_off_bp"], stored["max_discount"], stored["currency"]) == (
        1250,
        2000,
        "EUR",
    )
    rules = stored["rules"]
    # local times in the campaign's zone (Paris is UTC+2 in June)
    assert datetime.fromisoformat(rules["starts_at"]) == datetime.fromisoformat(
        "2026-06-01T07:00:00+00:00"
    )
    assert datetime.fromisoformat(rules["ends_at"]) == datetime.fromisoformat(
        "2026-06-30T19:30:00+00:00"
    )
    assert (rules["weekdays"], rules["hours_from"], rules["hours_to"]) == ([1, 6], "08:00", "11:30")
    assert (rules["min_order_amount"], rules["per_customer_limit"], rules["total_limit"]) == (
        1000,
        2,
        500,
    )
    assert (rules["tiers"], rules["max_uses_per_code"]) == (["gold", "silver"], 1)

    shown = await owner.get(path + "?done=created")
    assert shown.status_code == 200
    assert "The campaign is created." in shown.text
    assert "Europe/Paris" in shown.text
    listing = await owner.get("/admin/campaigns")
    assert f'href="{path}">Spring 12.5</a>' in listing.text

    form = await owner.get(path + "/edit")
    assert 'value="12.5"' in form.text  # the percentage as it was typed
    assert 'value="2026-06-01T09:00"' in form.text  # back in the campaign's zone
    edited = await owner.post(
        path + "/edit",
        {**FORM, "name": "Spring 15", "percent_off": "15", "hours_from": "", "hours_to": ""},
    )
    assert edited.status_code == 303, edited.text
    (changed,) = await api_campaigns(app_http, team)
    assert (changed["name"], changed["percent_off_bp"]) == ("Spring 15", 1500)
    assert (changed["rules"]["hours_from"], changed["rules"]["hours_to"]) == (None, None)
    assert changed["rules"]["weekdays"] == [1, 6]  # what the form still shows


async def test_bad_rules_show_the_api_s_message_beside_the_field_and_store_nothing(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    # the coupons service's rules, in its words
    reversed_dates = await owner.post("/admin/campaigns", {**FORM, "ends_at": "2026-05-01T09:00"})
    assert reversed_dates.status_code == 422
    assert error_of(reversed_dates.text, "ends_at") == "ends_at must be after starts_at"
    assert "The campaign was not saved" in reversed_dates.text
    assert 'value="Spring 12.5"' in reversed_dates.text  # what was typed is kept

    both = await owner.post("/admin/campaigns", {**FORM, "amount_off": "5"})
    assert error_of(both.text, "percent_off") == "a discount is a percentage or an amount_off"
    half_hours = await owner.post("/admin/campaigns", {**FORM, "hours_to": ""})
    assert error_of(half_hours.text, "hours_from") == "hours need both from and to"
    zone = await owner.post("/admin/campaigns", {**FORM, "timezone": "Mars/Olympus"})
    assert "is not an IANA time zone" in error_of(zone.text, "timezone")
    money = await owner.post("/admin/campaigns", {**FORM, "currency": "XYZ"})
    assert "not an ISO 4217 currency code" in error_of(money.text, "currency")
    # the API's schema
    long_name = await owner.post("/admin/campaigns", {**FORM, "name": "x" * 300})
    assert error_of(long_name.text, "name") == "String should have at most 255 characters"
    bad_customer = await owner.post("/admin/campaigns", {**FORM, "customer_ids": "not-an-id"})
    assert "UUID" in error_of(bad_customer.text, "customer_ids")
    control = await owner.post("/admin/campaigns", {**FORM, "name": "Spring\x07"})
    assert "control character" in error_of(control.text, "name")
    # what cannot be read as a number
    typo = await owner.post("/admin/campaigns", {**FORM, "percent_off": "ten"})
    assert error_of(typo.text, "percent_off") == "Enter a number like 12.50."
    cents = await owner.post("/admin/campaigns", {**FORM, "min_order_amount": "1.005"})
    assert error_of(cents.text, "min_order_amount") == "Use at most 2 decimals."

    for response in (reversed_dates, both, half_hours, zone, money, long_name, typo, cents):
        assert response.status_code == 422
    assert await api_campaigns(app_http, team) == []

    created = await api_campaign(app_http, team)
    refused = await owner.post(
        f"/admin/campaigns/{created['id']}/edit",
        {"name": "Spring", "status": "active", "percent_off": "101", "timezone": "UTC"},
    )
    assert refused.status_code == 422
    assert error_of(refused.text, "percent_off") == "basis points from 1 to 10000 (100 %)"
    (unchanged,) = await api_campaigns(app_http, team)
    assert unchanged["percent_off_bp"] == 1000


async def test_a_script_in_a_campaign_name_shows_as_text(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    hostile = "<script>alert(1)</script>"
    created = await owner.post("/admin/campaigns", {**FORM, "name": hostile})
    assert created.status_code == 303, created.text
    path = created.headers["location"].split("?")[0]
    for page in (
        await owner.get("/admin/campaigns"),
        await owner.get(path),
        await owner.get(path + "/edit"),
        await owner.get(path + "/redemptions"),
    ):
        assert page.status_code == 200
        assert hostile not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


# -- batches -----------------------------------------------------------------------------------


async def test_a_large_batch_shows_its_progress_until_its_codes_are_ready(
    owner: AdminClient,
    team: Team,
    runtime: Runtime,
    app_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batches, "SYNC_LIMIT", 100)
    campaign = await api_campaign(app_http, team)
    path = f"/admin/campaigns/{campaign['id']}"
    started = await owner.post(path + "/batches", {"count": "250", "prefix": "SP-"})
    assert started.status_code == 303, started.text
    shown = await owner.get(path)
    (row_path,) = re.findall(rf'hx-get="({path}/batches/[0-9a-f-]+)"', shown.text)
    assert _TRIGGER in shown.text
    assert '<progress class="progress" max="250" value="0"' in shown.text

    polled = await owner.get(row_path, headers={"HX-Request": "true"})
    assert polled.status_code == 200
    assert _TRIGGER in polled.text  # still generating: HTMX asks again in a second
    assert "codes.csv" not in polled.text

    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    done = await owner.get(row_path, headers={"HX-Request": "true"})
    assert _TRIGGER not in done.text  # ready: the row stops polling
    assert '<progress class="progress" max="250" value="250"' in done.text
    assert "Ready" in done.text
    download = await owner.get(row_path + "/codes.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["code", "balance", "max_uses", "expires_at"]
    codes = [row[0] for row in rows[1:]]
    assert len(codes) == len(set(codes)) == 250
    assert all(code.startswith("SP-") for code in codes)
    assert {row[2] for row in rows[1:]} == {"1"}  # one use each, the campaign's default
    assert sorted(codes) == sorted(await api_codes(app_http, team, campaign["id"]))


async def test_a_small_batch_is_ready_at_once_and_a_weak_pattern_is_refused(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    campaign = await api_campaign(app_http, team)
    path = f"/admin/campaigns/{campaign['id']}"
    weak = await owner.post(path + "/batches", {"count": "100", "pattern": "##"})
    assert weak.status_code == 422
    assert "to be hard to guess" in error_of(weak.text, "batch-pattern")
    assert 'value="##"' in weak.text
    empty = await owner.post(path + "/batches", {"count": "", "pattern": ""})
    assert error_of(empty.text, "batch-count") == "How many codes?"
    too_many = await owner.post(path + "/batches", {"count": "2000000"})
    assert error_of(too_many.text, "batch-count") == (
        "Input should be less than or equal to 1000000"
    )
    assert await api_codes(app_http, team, campaign["id"]) == []

    made = await owner.post(path + "/batches", {"count": "5", "pattern": "####-####"})
    assert made.status_code == 303
    shown = await owner.get(path)
    assert _TRIGGER not in shown.text
    assert 'max="5" value="5"' in shown.text
    assert "/codes.csv" in shown.text
    assert len(await api_codes(app_http, team, campaign["id"])) == 5


# -- CSV imports -------------------------------------------------------------------------------


async def upload(client: AdminClient, path: str, text: str) -> httpx.Response:
    return await client.http.post(
        path + "/import",
        data={"csrf_token": client.csrf},
        files={"file": ("codes.csv", text.encode(), "text/csv")},
    )


async def test_a_csv_with_bad_lines_is_refused_line_by_line_and_stores_nothing(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    campaign = await api_campaign(app_http, team)
    path = f"/admin/campaigns/{campaign['id']}"
    await owner.get(path)
    bad = "code,max_uses\nGOOD-0001,2\nbad*code,\ngood 0001,\nGOOD-0002,many\n"
    refused = await upload(owner, path, bad)
    assert refused.status_code == 422
    assert "Nothing was imported" in refused.text
    table = re.findall(
        r"<tr><td>(\d+)</td><td><code>([a-z_]+)</code></td><td>([^<]*)</td></tr>", refused.text
    )
    assert [(line, error) for line, error, _ in table] == [
        ("3", "invalid_code"),
        ("4", "duplicate"),
        ("5", "invalid_max_uses"),
    ]
    assert html.unescape(table[1][2]) == "the same code as line 2 once normalized"
    assert "3 problems in the file" in refused.text
    assert await api_codes(app_http, team, campaign["id"]) == []

    nothing = await owner.http.post(path + "/import", data={"csrf_token": owner.csrf})
    assert nothing.status_code == 422
    assert "Choose a CSV file first." in nothing.text

    good = await upload(owner, path, "code,max_uses\nGOOD-0001,2\nGOOD-0002,\n")
    assert good.status_code == 303, good.text
    assert sorted(await api_codes(app_http, team, campaign["id"])) == ["GOOD-0001", "GOOD-0002"]
    shown = await owner.get(good.headers["location"])
    assert "The codes are imported." in shown.text
    assert "Imported" in shown.text
    again = await upload(owner, path, "code\nGOOD-0003\ngood-0001\n")
    assert again.status_code == 422
    assert "<td>3</td><td><code>exists</code>" in again.text
    assert len(await api_codes(app_http, team, campaign["id"])) == 2


async def test_an_import_is_held_to_the_imports_body_limit_not_the_forms(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    campaign = await api_campaign(app_http, team)
    path = f"/admin/campaigns/{campaign['id']}"
    await owner.get(path)
    padding = "x" * 1_200_000  # over the 1 MiB of other requests, under the 32 MiB of imports
    read = await upload(owner, path, f"nonsense\n{padding}\n")
    assert read.status_code == 422
    assert "<td>1</td><td><code>invalid_header</code>" in read.text
    form = await owner.post(path + "/batches", {"count": "5", "prefix": padding})
    assert form.status_code == 413
    assert await api_codes(app_http, team, campaign["id"]) == []


# -- redemptions -------------------------------------------------------------------------------


async def test_redemptions_are_listed_and_one_is_rolled_back(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    campaign = await api_campaign(app_http, team, currency="EUR")
    redeemed = await api_redemption(
        app_http,
        team,
        campaign["id"],
        "till-1",
        order={"amount": 4200, "currency": "EUR", "id": "ORDER-77"},
    )
    path = f"/admin/campaigns/{campaign['id']}/redemptions"
    listed = await owner.get(path)
    assert listed.status_code == 200
    assert f"<code>{redeemed['code']}</code>" in listed.text
    assert "Café Lumen key" in listed.text  # the API key that redeemed it (audit log)
    assert "<code>ORDER-77</code>" in listed.text
    assert "€42.00" in listed.text  # the order
    assert "€4.20" in listed.text  # the discount
    assert "data-confirm=" in listed.text
    key = re.search(r'name="key" value="([^"]+)"', listed.text)
    assert key is not None

    action = f"{path}/{redeemed['id']}/rollback"
    rolled = await owner.post(action, {"key": key.group(1), "reason": "Wrong customer"})
    assert rolled.status_code == 303, rolled.text
    again = await owner.post(action, {"key": key.group(1), "reason": "Wrong customer"})
    assert again.status_code == 303  # the same form sent twice: the first result
    state = await app_http.get(f"/api/v1/redemptions/{redeemed['id']}", headers=auth(team.api_key))
    body = state.json()
    assert body["status"] == "rolled_back"
    assert [r["reason"] for r in body["rollbacks"]] == ["Wrong customer"]
    shown = await owner.get(rolled.headers["location"])
    assert "The redemption is rolled back." in shown.text
    assert "Rolled back" in shown.text
    assert f'action="{action}"' not in shown.text

    twice = await owner.post(action, {"key": "another-key-0123456789", "reason": ""})
    assert twice.status_code == 422
    assert "this redemption has been rolled back" in twice.text
    usable = await app_http.post(
        "/api/v1/validations",
        headers=auth(team.api_key),
        json={"code": redeemed["code"], "order": {"amount": 4200, "currency": "EUR"}},
    )
    assert usable.json()["valid"] is True  # the code's use came back
    listing = await owner.get("/admin/campaigns")
    assert "(1 rolled back)" in listing.text


async def test_a_gift_card_charge_is_given_back_in_part(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    campaign = await api_campaign(
        app_http,
        team,
        kind="gift_card",
        percent_off_bp=None,
        initial_balance=5000,
        currency="EUR",
    )
    redeemed = await api_redemption(app_http, team, campaign["id"], "till-2", amount=3000)
    action = f"/admin/campaigns/{campaign['id']}/redemptions/{redeemed['id']}/rollback"
    await owner.get(f"/admin/campaigns/{campaign['id']}/redemptions")
    too_much = await owner.post(action, {"amount": "31", "key": "k" * 20})
    assert too_much.status_code == 422
    assert "only 3000 is left to roll back" in too_much.text
    part = await owner.post(action, {"amount": "10,50", "key": "p" * 20})
    assert part.status_code == 303, part.text
    state = await app_http.get(f"/api/v1/redemptions/{redeemed['id']}", headers=auth(team.api_key))
    assert (state.json()["status"], state.json()["rolled_back_amount"]) == ("committed", 1050)
    shown = await owner.get(f"/admin/campaigns/{campaign['id']}/redemptions")
    assert "€10.50 given back" in shown.text


# -- who may do what -----------------------------------------------------------------------------


async def test_a_viewer_reads_and_is_refused_every_change(
    browser_client: AdminClient, runtime: Runtime, team: Team, app_http: httpx.AsyncClient
) -> None:
    campaign = await api_campaign(app_http, team)
    redeemed = await api_redemption(app_http, team, campaign["id"], "till-3")
    path = f"/admin/campaigns/{campaign['id']}"
    await add_user(runtime, team, "viewer@lumen.example", "viewer")
    await browser_client.log_in("viewer@lumen.example")
    listing = await browser_client.get("/admin/campaigns")
    assert listing.status_code == 200
    assert "New campaign" not in listing.text
    page = await browser_client.get(path)
    assert page.status_code == 200
    assert "Generate codes" not in page.text
    assert "Import codes" not in page.text
    redemptions = await browser_client.get(path + "/redemptions")
    assert redemptions.status_code == 200
    assert "Roll back" not in redemptions.text
    codes_before = await api_codes(app_http, team, campaign["id"])

    for refused in (
        await browser_client.get("/admin/campaigns/new"),
        await browser_client.post("/admin/campaigns", FORM),
        await browser_client.get(path + "/edit"),
        await browser_client.post(path + "/edit", {**FORM, "name": "Taken over"}),
        await browser_client.post(path + "/batches", {"count": "5"}),
        await upload(browser_client, path, "code\nVIEWER-1\n"),
        await browser_client.post(
            f"{path}/redemptions/{redeemed['id']}/rollback", {"key": "v" * 20}
        ),
    ):
        assert refused.status_code == 403
        assert "Your role does not allow this" in refused.text
    (unchanged,) = await api_campaigns(app_http, team)
    assert unchanged["name"] == "Spring"
    assert await api_codes(app_http, team, campaign["id"]) == codes_before
    state = await app_http.get(f"/api/v1/redemptions/{redeemed['id']}", headers=auth(team.api_key))
    assert state.json()["status"] == "committed"


async def test_a_cashier_rolls_back_but_does_not_open_campaigns(
    browser_client: AdminClient, runtime: Runtime, team: Team, app_http: httpx.AsyncClient
) -> None:
    campaign = await api_campaign(app_http, team)
    redeemed = await api_redemption(app_http, team, campaign["id"], "till-4")
    path = f"/admin/campaigns/{campaign['id']}"
    await add_user(runtime, team, "till@lumen.example", "cashier")
    await browser_client.log_in("till@lumen.example")
    assert (await browser_client.get("/admin/campaigns")).status_code == 403
    assert (await browser_client.get(path)).status_code == 403
    listed = await browser_client.get(path + "/redemptions")
    assert listed.status_code == 200  # redemptions:write reads redemptions, as in the API
    rolled = await browser_client.post(
        f"{path}/redemptions/{redeemed['id']}/rollback", {"key": "c" * 20}
    )
    assert rolled.status_code == 303


async def test_a_write_without_the_csrf_token_changes_nothing(
    owner: AdminClient, team: Team, app_http: httpx.AsyncClient
) -> None:
    refused = await owner.post("/admin/campaigns", FORM, csrf=False)
    assert refused.status_code == 403
    assert await api_campaigns(app_http, team) == []


async def test_another_business_s_campaigns_are_not_found(
    owner: AdminClient, other_team: Team, team: Team, app_http: httpx.AsyncClient
) -> None:
    theirs = await api_campaign(app_http, other_team, name="Nord")
    redemption = await api_redemption(app_http, other_team, theirs["id"], "nord-1")
    batch = await app_http.post(
        f"/api/v1/campaigns/{theirs['id']}/batches",
        headers=auth(other_team.api_key),
        json={"count": 3},
    )
    batch_id = batch.json()["id"]
    path = f"/admin/campaigns/{theirs['id']}"
    await owner.get("/admin/campaigns")
    for probe in (
        await owner.get(path),
        await owner.get(path + "/edit"),
        await owner.get(path + "/redemptions"),
        await owner.get(f"{path}/batches/{batch_id}"),
        await owner.get(f"{path}/batches/{batch_id}/codes.csv"),
        await owner.post(path + "/edit", {**FORM, "name": "Taken over"}),
        await owner.post(path + "/batches", {"count": "5"}),
        await upload(owner, path, "code\nTAKEN-1\n"),
        await owner.post(f"{path}/redemptions/{redemption['id']}/rollback", {"key": "o" * 20}),
    ):
        assert probe.status_code == 404
        assert "Nord" not in probe.text
    mine = await api_campaign(app_http, team, name="Mine")
    crossed = await owner.post(
        f"/admin/campaigns/{mine['id']}/redemptions/{redemption['id']}/rollback",
        {"key": "x" * 20},
    )
    assert crossed.status_code == 404
    assert (await owner.get(f"/admin/campaigns/{mine['id']}/batches/{batch_id}")).status_code == 404
    (unchanged,) = await api_campaigns(app_http, other_team)
    assert unchanged["name"] == "Nord"
    assert len(await api_codes(app_http, other_team, theirs["id"])) == 4
    state = await app_http.get(
        f"/api/v1/redemptions/{redemption['id']}", headers=auth(other_team.api_key)
    )
    assert state.json()["status"] == "committed"
