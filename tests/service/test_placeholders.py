"""Placeholders no data fills, through the API on both databases: the template save warns
about near misses (and, for a loyalty program's template, about every name the program does
not fill) with their design paths; issuing and patching a pass say which placeholders its
data leaves empty; a malformed placeholder is refused with its path."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from passmint.loyalty.cardpass import PASS_DATA_NAMES
from passmint.wallet.apple.devpki import DevPki
from tests.service.conftest import PUBLIC_URL, auth, cafe_design, put_apple_credentials
from tests.service.test_pass_cycle import unzip

pytestmark = pytest.mark.anyio

COMPLETE = {"points": 100, "tier": "Silver", "name": "Ada"}


async def _template(client: httpx.AsyncClient, key: str, design: dict[str, Any]) -> httpx.Response:
    return await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "Loyalty", "style": "storeCard", "design": design},
    )


async def _issue(
    client: httpx.AsyncClient, key: str, template_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/passes", headers=auth(key), json={"template_id": template_id, "data": data}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _pass_json(client: httpx.AsyncClient, issued: dict[str, Any]) -> dict[str, Any]:
    data = (await client.get(issued["urls"]["pkpass"].removeprefix(PUBLIC_URL))).content
    pass_json: dict[str, Any] = json.loads(unzip(data)["pass.json"])
    return pass_json


@pytest.fixture
async def key(client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki) -> str:
    await put_apple_credentials(client, tenant["api_key"], dev_pki)
    return tenant["api_key"]


async def test_save_warns_about_a_near_miss_with_its_path_and_suggestion(
    client: httpx.AsyncClient, key: str
) -> None:
    design = await cafe_design(client, key)
    design["barcode"] = {"format": "qr", "message": "{{ serial }}"}
    created = await _template(client, key, design)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["warnings"] == [
        {
            "code": "placeholder_unknown",
            "path": "barcode.message",
            "placeholder": "serial",
            "message": "{{ serial }} is not built in, so every pass must provide it in its "
            "data; did you mean {{ serial_number }}?",
            "suggestion": "serial_number",
        }
    ]
    by_name = {p["name"]: p for p in body["placeholders"]}
    assert list(by_name) == ["tier", "points", "name", "serial"]
    assert by_name["tier"] == {
        "name": "tier",
        "source": "data",
        "paths": ["fields.header[0].value"],
        "required": True,
    }
    assert by_name["serial"]["source"] == "data"
    # Reading the template gives the same report.
    got = await client.get(f"/api/v1/templates/{body['id']}", headers=auth(key))
    assert got.json()["warnings"] == body["warnings"]
    listed = await client.get("/api/v1/templates", headers=auth(key))
    assert listed.json()["items"][0]["warnings"] == body["warnings"]

    # A new version is checked too: the fix clears the warning, another near miss (used
    # twice) warns at each of its paths.
    design["barcode"] = {
        "format": "qr",
        "message": "{{ serial_number }}",
        "alt_text": "{{ serialNumber }} · {{ pass_id }}",
    }
    design["fields"]["back"] = [{"key": "card", "label": "CARD", "value": "{{ serialNumber }}"}]
    patched = await client.patch(
        f"/api/v1/templates/{body['id']}", headers=auth(key), json={"design": design}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    warnings = patched.json()["warnings"]
    assert [(w["path"], w["placeholder"], w["suggestion"]) for w in warnings] == [
        ("fields.back[0].value", "serialNumber", "serial_number"),
        ("barcode.alt_text", "serialNumber", "serial_number"),
    ]
    sources = {p["name"]: p["source"] for p in patched.json()["placeholders"]}
    assert sources["serial_number"] == sources["pass_id"] == "built_in"


async def test_a_malformed_placeholder_is_refused_with_its_path(
    client: httpx.AsyncClient, key: str
) -> None:
    design = await cafe_design(client, key)
    broken = copy.deepcopy(design)
    broken["fields"]["primary"][0]["value"] = "{{ points"
    refused = await _template(client, key, broken)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["details"]["problems"][0]["path"] == "design.fields.primary.0.value"
    assert "unclosed placeholder" in error["message"]

    created = await _template(client, key, design)
    assert created.status_code == 201, created.text
    broken["fields"]["primary"][0]["value"] = "{{ points }}"
    broken["semantics"] = {"balance": "{{ points | round }}"}
    refused = await client.patch(
        f"/api/v1/templates/{created.json()['id']}", headers=auth(key), json={"design": broken}
    )
    assert refused.status_code == 422
    assert "semantics.balance: unknown filter 'round'" in refused.json()["error"]["message"]


async def test_issue_names_the_placeholders_its_data_leaves_empty(
    client: httpx.AsyncClient, key: str
) -> None:
    created = await _template(client, key, await cafe_design(client, key))
    template_id = created.json()["id"]

    issued = await _issue(client, key, template_id, {"points": 100, "name": "Ada"})
    assert issued["warnings"] == [
        {
            "code": "placeholder_missing",
            "placeholder": "tier",
            "paths": ["fields.header[0].value"],
            "message": "the pass's data has no 'tier', so {{ tier }} renders empty",
            "suggestion": None,
        }
    ]
    # Issued all the same: the field is there, empty.
    header = (await _pass_json(client, issued))["storeCard"]["headerFields"][0]
    assert header == {
        "key": "tier",
        "label": "TIER",
        "value": "",
        "changeMessage": "You are now %@",
    }
    got = await client.get(f"/api/v1/passes/{issued['id']}", headers=auth(key))
    assert got.json()["warnings"] == issued["warnings"]

    # A key in another case is suggested.
    misspelt = await _issue(client, key, template_id, {"points": 1, "Tier": "Gold", "name": "B"})
    assert [(w["placeholder"], w["suggestion"]) for w in misspelt["warnings"]] == [("tier", "Tier")]
    assert "data has 'Tier': did you mean it?" in misspelt["warnings"][0]["message"]


async def test_complete_data_gives_no_warnings(client: httpx.AsyncClient, key: str) -> None:
    design = await cafe_design(client, key)
    # A placeholder with a default, and the messages' keys, never warn.
    design["fields"]["secondary"].append(
        {"key": "since", "label": "SINCE", "value": '{{ since | default: "2024" }}'}
    )
    design["fields"]["back"] = [
        {"key": "news", "label": "{{ message_header }}", "value": "{{ message }}"}
    ]
    created = await _template(client, key, design)
    assert created.json()["warnings"] == []
    sources = {p["name"]: (p["source"], p["required"]) for p in created.json()["placeholders"]}
    assert sources["since"] == ("data", False)
    assert sources["message"] == sources["message_header"] == ("message", True)

    issued = await _issue(client, key, created.json()["id"], COMPLETE)
    assert issued["warnings"] == []
    # Deliberately empty values are not reported either.
    empty = await _issue(client, key, created.json()["id"], {**COMPLETE, "tier": "", "name": None})
    assert empty["warnings"] == []


async def test_patch_that_removes_a_key_warns(client: httpx.AsyncClient, key: str) -> None:
    created = await _template(client, key, await cafe_design(client, key))
    issued = await _issue(client, key, created.json()["id"], COMPLETE)
    assert issued["warnings"] == []
    url = f"/api/v1/passes/{issued['id']}"

    removed = await client.patch(url, headers=auth(key), json={"data": {"tier": None}})
    assert removed.status_code == 200, removed.text
    assert [(w["code"], w["placeholder"], w["paths"]) for w in removed.json()["warnings"]] == [
        ("placeholder_missing", "tier", ["fields.header[0].value"])
    ]
    assert removed.json()["version"] == 2  # the change went through

    unusable = await client.patch(
        url, headers=auth(key), json={"data": {"tier": "Gold", "name": {"first": "Ada"}}}
    )
    assert unusable.status_code == 200, unusable.text
    assert unusable.json()["warnings"] == [
        {
            "code": "placeholder_unusable_value",
            "placeholder": "name",
            "paths": ["fields.secondary[0].value"],
            "message": "data 'name' is an object; only text, numbers, booleans and dates fill "
            "a placeholder, so {{ name }} renders empty",
            "suggestion": None,
        }
    ]

    fixed = await client.patch(url, headers=auth(key), json={"data": {"name": "Ada"}})
    assert fixed.json()["warnings"] == []


async def test_a_loyalty_template_is_checked_against_its_programs_fields(
    client: httpx.AsyncClient, key: str
) -> None:
    design = await cafe_design(client, key)
    design["fields"]["primary"][0]["value"] = "{{ stamp }}"
    design["fields"]["secondary"][0]["value"] = "{{ customer.first_name }}"
    created = await _template(client, key, design)
    template_id = created.json()["id"]
    # No program yet: a pass's data may hold any name, so nothing is unknown.
    assert created.json()["warnings"] == []

    program = await client.post(
        "/api/v1/programs",
        headers=auth(key),
        json={
            "name": "Stamp card",
            "template_id": template_id,
            "config": {"currency": {"code": "stamps", "name": "stamp", "plural": "stamps"}},
        },
    )
    assert program.status_code == 201, program.text
    got = (await client.get(f"/api/v1/templates/{template_id}", headers=auth(key))).json()
    assert [(w["path"], w["placeholder"], w["suggestion"]) for w in got["warnings"]] == [
        ("fields.primary[0].value", "stamp", "stamps"),
        ("fields.secondary[0].value", "customer.first_name", None),
    ]
    assert got["warnings"][0]["message"] == (
        "program 'Stamp card' does not provide {{ stamp }}: it renders empty on the passes "
        "it writes; did you mean {{ stamps }}?"
    )
    assert {p["name"]: p["source"] for p in got["placeholders"]}["tier"] == "program"

    design["fields"]["primary"][0]["value"] = "{{ stamps }}"
    design["fields"]["secondary"][0]["value"] = "{{ name }}"
    patched = await client.patch(
        f"/api/v1/templates/{template_id}", headers=auth(key), json={"design": design}
    )
    assert patched.json()["warnings"] == []

    # What the program says it fills is what a card's pass gets.
    card = await client.post(
        f"/api/v1/programs/{program.json()['id']}/accounts", headers=auth(key), json={}
    )
    assert card.status_code == 201, card.text
    pass_ = await client.get(f"/api/v1/passes/{card.json()['pass_id']}", headers=auth(key))
    assert set(pass_.json()["data"]) == PASS_DATA_NAMES | {"stamps"}
    assert pass_.json()["warnings"] == []


async def test_a_change_message_that_is_a_localization_key_saves_and_issues(
    client: httpx.AsyncClient, key: str
) -> None:
    design = await cafe_design(client, key)
    design["fields"]["primary"][0]["change_message"] = "POINTS_CHANGED"
    design["localizations"] = {
        "en": {"POINTS_CHANGED": "You now have %@ points"},
        "fr": {"POINTS_CHANGED": "Vous avez maintenant %@ points"},
    }
    created = await _template(client, key, design)
    assert created.status_code == 201, created.text
    issued = await _issue(client, key, created.json()["id"], COMPLETE)
    pass_json = await _pass_json(client, issued)
    assert pass_json["storeCard"]["primaryFields"][0]["changeMessage"] == "POINTS_CHANGED"

    design["localizations"]["fr"]["POINTS_CHANGED"] = "Vos points ont changé"
    refused = await _template(client, key, design)
    assert refused.status_code == 422, refused.text
    problems = refused.json()["error"]["details"]["problems"]
    assert any(
        p["path"] == "localizations.fr.POINTS_CHANGED" and p["code"] == "change_message_placeholder"
        for p in problems
    ), problems
