"""Loyalty programs in the admin app: the list, a new program, earn rules, tiers, expiry and
rewards edited as forms with the API's own validation (each message next to its field,
nothing stored), amounts read strictly in the currency's minor units, a viewer who reads
but cannot change, another business's program, hostile names."""

from __future__ import annotations

import re
from typing import Any

import pytest

from passmint.admin import loyaltyform
from passmint.admin.i18n import Texts
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.admin.conftest import AdminClient, Team, add_user
from tests.admin.loyalty import Loyalty, api, make_loyalty

pytestmark = pytest.mark.anyio
T = Texts("en")


@pytest.fixture
async def loyalty(browser_client: AdminClient, team: Team, dev_pki: DevPki) -> Loyalty:
    return await make_loyalty(browser_client.http, team.api_key, dev_pki)


def program_form(name: str = "Café points", **changes: str) -> dict[str, str]:
    """The edit form of the test program as a browser would send it."""
    form = {
        "name": name,
        "status": "active",
        "currency.code": "points",
        "currency.name": "point",
        "currency.plural": "points",
        "earn_rules.0.key": "spend",
        "earn_rules.0.trigger": "purchase",
        "earn_rules.0.points": "1",
        "earn_rules.0.per_amount": "2.50",
        "earn_rules.0.currency": "EUR",
        "earn_rules.0.rounding": "down",
        "earn_rules.1.key": "welcome",
        "earn_rules.1.trigger": "enrollment",
        "earn_rules.1.points": "40",
        "earn_rules.1.rounding": "down",
        "tiers.0.key": "bronze",
        "tiers.0.name": "Bronze",
        "tiers.0.threshold": "0",
        "tiers.0.multiplier": "100",
        "tiers.1.key": "silver",
        "tiers.1.name": "Silver",
        "tiers.1.threshold": "250",
        "tiers.1.multiplier": "125",
        "tier_policy.metric": "lifetime",
        "tier_policy.grace_days": "0",
        "expiry.kind": "rolling",
        "expiry.days": "365",
        "pending_days": "0",
        "timezone": "UTC",
    }
    form.update(changes)
    return form


def error_of(html: str, control: str) -> str:
    """The error message shown under a control (by its id)."""
    found = re.search(rf'<p class="error" id="f-{control}-error">([^<]*)</p>', html)
    assert found, f"no error for {control}"
    return found.group(1)


async def stored(owner: AdminClient, team: Team, loyalty: Loyalty) -> dict[str, Any]:
    return await api(owner.http, team.api_key, "GET", f"/programs/{loyalty.program_id}")


async def test_the_list_and_the_form_show_the_program_in_the_currencys_units(
    owner: AdminClient, loyalty: Loyalty
) -> None:
    listing = await owner.get("/admin/programs")
    assert listing.status_code == 200
    assert f'href="/admin/programs/{loyalty.program_id}"' in listing.text
    assert "Bronze, Silver" in listing.text
    page = await owner.get(f"/admin/programs/{loyalty.program_id}")
    assert page.status_code == 200
    html = page.text
    assert 'name="earn_rules.0.per_amount"' in html
    assert 'value="2.50"' in html  # 250 minor units of EUR
    assert 'value="125"' in html  # the silver multiplier, 12,500 basis points
    assert 'data-add-row="list-earn_rules"' in html
    assert 'id="list-earn_rules-template"' in html
    assert 'data-index-name="earn_rules.#.points"' in html
    assert "Save the program" in html


async def test_saving_the_form_stores_what_the_api_would(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    await owner.get(f"/admin/programs/{loyalty.program_id}")
    form = program_form(
        "Café points+",
        **{
            "earn_rules.0.per_amount": "12.50",
            "earn_rules.2.key": "",  # an added row left empty is left out
            "earn_rules.2.trigger": "purchase",
            "earn_rules.2.rounding": "down",
            "tiers.1.multiplier": "112.5",
            "earn_rules.1.tiers": "bronze, silver",
        },
    )
    saved = await owner.post(f"/admin/programs/{loyalty.program_id}", form)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/admin/programs/{loyalty.program_id}?done=saved"
    program = await stored(owner, team, loyalty)
    assert program["name"] == "Café points+"
    rules = program["config"]["earn_rules"]
    assert len(rules) == 2
    assert rules[0]["per_amount"] == 1250
    assert rules[1]["tiers"] == ["bronze", "silver"]
    assert program["config"]["tiers"][1]["multiplier"] == 11_250
    page = await owner.get(saved.headers["location"])
    assert "Saved." in page.text


async def test_a_bad_rule_is_shown_next_to_its_field_and_nothing_is_stored(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    before = await stored(owner, team, loyalty)
    await owner.get(f"/admin/programs/{loyalty.program_id}")
    form = program_form(
        "Renamed",
        **{
            "earn_rules.0.currency": "",  # a purchase rule without its currency
            "earn_rules.0.per_amount": "250",
            "earn_rules.1.points": "",  # required
            "expiry.days": "",  # a rolling expiry needs its days
        },
    )
    response = await owner.post(f"/admin/programs/{loyalty.program_id}", form)
    assert response.status_code == 422
    html = response.text
    row = html[html.index('id="f-earn_rules-0-key"') : html.index('id="f-earn_rules-1-key"')]
    assert "a purchase rule needs per_amount and currency" in row
    assert error_of(html, "earn_rules-1-points") == "Field required"
    assert "rolling expiry needs days" in html
    assert "Nothing was saved." in html
    assert 'value="Renamed"' in html  # the form as typed
    # the configuration's own checks run once its parts are valid, as in the API
    rising = await owner.post(
        f"/admin/programs/{loyalty.program_id}", program_form(**{"tiers.1.threshold": "0"})
    )
    assert rising.status_code == 422
    tiers = rising.text[rising.text.index('id="list-tiers"') : rising.text.index("Tier qualif")]
    assert "tiers start at threshold 0 and their thresholds strictly rise" in tiers
    assert await stored(owner, team, loyalty) == before


async def test_amounts_are_read_strictly_and_ambiguous_ones_refused(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    before = await stored(owner, team, loyalty)
    await owner.get(f"/admin/programs/{loyalty.program_id}")
    form = program_form(
        **{
            "earn_rules.0.per_amount": "1,250",
            "earn_rules.0.min_amount": "2.505",
            "earn_rules.1.points": "1.5",
            "tiers.1.multiplier": "12,5",
        }
    )
    response = await owner.post(f"/admin/programs/{loyalty.program_id}", form)
    assert response.status_code == 422
    html = response.text
    assert "could be read in more than one way" in error_of(html, "earn_rules-0-per_amount")
    assert error_of(html, "earn_rules-0-min_amount") == "EUR amounts have at most 2 decimals."
    assert "Write a whole number" in error_of(html, "earn_rules-1-points")
    assert "more than one way" in error_of(html, "tiers-1-multiplier")
    # what could not be read is said once, not again as the schema's missing field
    assert "a purchase rule needs per_amount" not in html
    assert await stored(owner, team, loyalty) == before


def test_amounts_in_minor_units_per_currency() -> None:
    assert loyaltyform.decimal_units(T, "12.50", 2) == 1250
    assert loyaltyform.decimal_units(T, " 12.5 ", 2) == 1250
    assert loyaltyform.decimal_units(T, "12", 2) == 1200
    assert loyaltyform.money(T, "1.250", "BHD") == 1250  # three decimals
    assert loyaltyform.money(T, "500", "JPY") == 500
    assert loyaltyform.money(T, "1250", None) == 1250  # no currency: minor units as typed
    for text, message in [
        ("12,50", "more than one way"),
        ("1 250", "more than one way"),
        ("1.250,00", "more than one way"),
        ("12.", "is not an amount"),
        (".5", "is not an amount"),
        ("-3", "is not an amount"),
        ("1e3", "is not an amount"),
        ("9" * 30, "too long"),
    ]:
        with pytest.raises(loyaltyform.Unreadable, match=message):
            loyaltyform.decimal_units(T, text, 2)
    with pytest.raises(loyaltyform.Unreadable, match="JPY amounts have no decimals"):
        loyaltyform.money(T, "5.0", "JPY")
    with pytest.raises(loyaltyform.Unreadable, match="Choose the rule's currency"):
        loyaltyform.money(T, "2.50", None)
    assert loyaltyform.minor_text(1250, 2) == "12.50"
    assert loyaltyform.minor_text(5, 3) == "0.005"
    assert loyaltyform.minor_text(500, 0) == "500"
    assert loyaltyform.percent_text(12_500) == "125"
    assert loyaltyform.percent_text(11_250) == "112.5"
    assert loyaltyform.whole_number(T, "-20", signed=True) == -20
    assert loyaltyform.whole_number(T, "+5", signed=True) == 5
    for text in ("1,500", "1.5", "-3", "", "٣"):
        with pytest.raises(loyaltyform.Unreadable):
            loyaltyform.whole_number(T, text)


async def test_a_new_program_from_the_form(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    page = await owner.get("/admin/programs/new")
    assert page.status_code == 200
    assert f'<option value="{loyalty.template_id}">Card</option>' in page.text
    form = program_form("Stamps", template_id=loyalty.template_id)
    del form["status"]
    form.update({"currency.code": "stamps", "currency.name": "stamp", "currency.plural": "stamps"})
    created = await owner.post("/admin/programs/new", form)
    assert created.status_code == 303, created.text
    program_id = created.headers["location"].split("/")[-1].split("?")[0]
    program = await api(owner.http, team.api_key, "GET", f"/programs/{program_id}")
    assert program["name"] == "Stamps"
    assert program["config"]["currency"]["code"] == "stamps"
    assert program["config"]["earn_rules"][0]["per_amount"] == 250


async def test_a_new_program_needs_a_design_of_the_business(
    owner: AdminClient,
    team: Team,
    other_team: Team,
    browser_client: AdminClient,
    dev_pki: DevPki,
) -> None:
    theirs = await make_loyalty(browser_client.http, other_team.api_key, dev_pki)
    await owner.get("/admin/programs/new")
    response = await owner.post(
        "/admin/programs/new", program_form("Mine", template_id=theirs.template_id)
    )
    assert response.status_code == 422
    assert error_of(response.text, "template_id") == "Choose one of your designs."
    missing = await owner.post("/admin/programs/new", program_form("Mine"))
    assert missing.status_code == 422
    assert error_of(missing.text, "template_id") == "Field required"
    programs = await owner.http.get(
        "/api/v1/programs", headers={"Authorization": f"Bearer {team.api_key}"}
    )
    assert programs.json() == []


async def test_the_currency_cannot_change_once_cards_exist(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    before = await stored(owner, team, loyalty)
    await owner.get(f"/admin/programs/{loyalty.program_id}")
    form = program_form("Renamed", **{"currency.code": "stars"})
    response = await owner.post(f"/admin/programs/{loyalty.program_id}", form)
    assert response.status_code == 422
    assert "cannot change once cards exist" in error_of(response.text, "currency-code")
    assert await stored(owner, team, loyalty) == before  # the name too: rolled back


async def test_rewards_are_added_with_the_apis_rules_and_withdrawn(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    await owner.get(f"/admin/programs/{loyalty.program_id}")
    path = f"/admin/programs/{loyalty.program_id}/rewards"
    bad = await owner.post(
        path, {"reward.name": "Coffee", "reward.cost": "3 00", "reward.kind": "credit"}
    )
    assert bad.status_code == 422
    assert "Write a whole number" in error_of(bad.text, "reward-cost")
    no_credit = await owner.post(
        path, {"reward.name": "Coffee", "reward.cost": "300", "reward.kind": "credit"}
    )
    assert no_credit.status_code == 422
    assert "a credit reward needs credit_amount" in no_credit.text
    rewards = await owner.http.get(
        f"/api/v1/programs/{loyalty.program_id}/rewards",
        headers={"Authorization": f"Bearer {team.api_key}"},
    )
    assert rewards.json() == []
    added = await owner.post(
        path,
        {
            "reward.name": "Coffee",
            "reward.cost": "300",
            "reward.kind": "credit",
            "reward.credit_amount": "20",
            "reward.stock": "",
        },
    )
    assert added.status_code == 303, added.text
    page = await owner.get(added.headers["location"])
    assert "The reward is added." in page.text
    assert "Stop offering Coffee" in page.text
    [reward] = (
        await owner.http.get(
            f"/api/v1/programs/{loyalty.program_id}/rewards",
            headers={"Authorization": f"Bearer {team.api_key}"},
        )
    ).json()
    assert (reward["cost"], reward["credit_amount"], reward["stock"]) == (300, 20, None)
    withdrawn = await owner.post(f"{path}/{reward['id']}", {"active": "0"})
    assert withdrawn.status_code == 303
    page = await owner.get(f"/admin/programs/{loyalty.program_id}")
    assert "Not offered" in page.text
    assert "Offer Coffee again" in page.text


async def test_a_viewer_reads_the_program_but_cannot_change_it(
    browser_client: AdminClient, runtime: Runtime, team: Team, loyalty: Loyalty
) -> None:
    before = await stored(browser_client, team, loyalty)
    await add_user(runtime, team, "viewer@lumen.example", "viewer")
    assert (await browser_client.log_in("viewer@lumen.example")).status_code == 303
    page = await browser_client.get(f"/admin/programs/{loyalty.program_id}")
    assert page.status_code == 200
    assert "Your role can read this program but not change it." in page.text
    assert "<fieldset disabled>" in page.text
    assert "Save the program" not in page.text
    assert "data-add-row" not in page.text
    assert "Add a reward" not in page.text
    refused = await browser_client.post(
        f"/admin/programs/{loyalty.program_id}", program_form("Viewer was here")
    )
    assert refused.status_code == 403
    assert "You cannot do this" in refused.text
    assert (await browser_client.get("/admin/programs/new")).status_code == 403
    reward = await browser_client.post(
        f"/admin/programs/{loyalty.program_id}/rewards",
        {"reward.name": "X", "reward.cost": "1", "reward.kind": "credit"},
    )
    assert reward.status_code == 403
    assert await stored(browser_client, team, loyalty) == before


async def test_another_businesss_program_is_not_found(
    owner: AdminClient, team: Team, other_team: Team, dev_pki: DevPki
) -> None:
    theirs = await make_loyalty(owner.http, other_team.api_key, dev_pki)
    before = await api(owner.http, other_team.api_key, "GET", f"/programs/{theirs.program_id}")
    page = await owner.get(f"/admin/programs/{theirs.program_id}")
    assert page.status_code == 404
    assert "Not found" in page.text
    await owner.get("/admin/programs")
    changed = await owner.post(f"/admin/programs/{theirs.program_id}", program_form("Mine now"))
    assert changed.status_code == 404
    reward = await owner.post(
        f"/admin/programs/{theirs.program_id}/rewards",
        {
            "reward.name": "X",
            "reward.cost": "1",
            "reward.kind": "credit",
            "reward.credit_amount": "1",
        },
    )
    assert reward.status_code == 404
    after = await api(owner.http, other_team.api_key, "GET", f"/programs/{theirs.program_id}")
    assert after == before
    rewards = await owner.http.get(
        f"/api/v1/programs/{theirs.program_id}/rewards",
        headers={"Authorization": f"Bearer {other_team.api_key}"},
    )
    assert rewards.json() == []


async def test_a_coupon_reward_needs_a_campaign_of_the_business(
    owner: AdminClient, team: Team, other_team: Team, loyalty: Loyalty
) -> None:
    theirs = await api(
        owner.http,
        other_team.api_key,
        "POST",
        "/campaigns",
        {"name": "Theirs", "kind": "discount", "percent_off_bp": 1000},
    )
    await owner.get(f"/admin/programs/{loyalty.program_id}")
    response = await owner.post(
        f"/admin/programs/{loyalty.program_id}/rewards",
        {
            "reward.name": "Their coupon",
            "reward.cost": "100",
            "reward.kind": "coupon",
            "reward.campaign_id": theirs["id"],
        },
    )
    assert response.status_code == 422
    assert error_of(response.text, "reward-campaign_id") == "Choose one of your campaigns."
    rewards = await owner.http.get(
        f"/api/v1/programs/{loyalty.program_id}/rewards",
        headers={"Authorization": f"Bearer {team.api_key}"},
    )
    assert rewards.json() == []


async def test_a_script_in_a_name_shows_as_text(
    owner: AdminClient, team: Team, loyalty: Loyalty
) -> None:
    await owner.get(f"/admin/programs/{loyalty.program_id}")
    hostile = "<script>alert(1)</script>"
    saved = await owner.post(
        f"/admin/programs/{loyalty.program_id}",
        program_form(hostile, **{"tiers.1.name": hostile}),
    )
    assert saved.status_code == 303, saved.text
    for path in ("/admin/programs", f"/admin/programs/{loyalty.program_id}"):
        page = await owner.get(path)
        assert hostile not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
