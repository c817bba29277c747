"""Campaigns, code batches (in the request and by jobs), CSV import and code listing."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from passmint.coupons import batches
from passmint.runtime import Runtime
from tests.coupons.conftest import auth, make_campaign, make_codes, pos_key

pytestmark = pytest.mark.anyio


async def test_campaign_lifecycle(client: httpx.AsyncClient, tenant: dict[str, str]) -> None:
    key = tenant["api_key"]
    created = await make_campaign(
        client,
        key,
        name="Spring",
        max_discount=1500,
        currency="EUR",
        rules={
            "starts_at": "2026-03-01T00:00:00Z",
            "ends_at": "2026-06-01T00:00:00+02:00",
            "timezone": "Europe/Paris",
            "weekdays": [6, 7],
            "hours_from": "09:00",
            "hours_to": "18:30",
            "min_order_amount": 2000,
            "per_customer_limit": 1,
            "tiers": ["gold"],
        },
    )
    rules = created["rules"]
    assert created["kind"] == "discount"
    assert created["status"] == "active"
    assert rules["max_uses_per_code"] == 1  # single-use by default
    assert rules["hours_from"] == "09:00"
    assert rules["ends_at"] == "2026-05-31T22:00:00Z"
    assert created["total_used"] is None
    gift = await make_campaign(
        client, key, name="Gift", kind="gift_card", percent_off_bp=None,
        initial_balance=5000, currency="EUR",
    )  # fmt: skip
    assert gift["rules"]["max_uses_per_code"] is None
    patched = await client.patch(
        f"/api/v1/campaigns/{created['id']}",
        headers=auth(key),
        json={"status": "paused", "percent_off_bp": 1500, "rules": {"hours_from": None,
              "hours_to": None, "total_limit": 100}},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["status"] == "paused"
    assert body["percent_off_bp"] == 1500
    assert body["rules"]["hours_from"] is None
    assert body["rules"]["weekdays"] == [6, 7]  # untouched
    assert body["total_used"] == 0
    first = await client.get("/api/v1/campaigns", headers=auth(key), params={"limit": 1})
    assert first.json()["next_cursor"]
    second = await client.get(
        "/api/v1/campaigns",
        headers=auth(key),
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
    )
    ids = {first.json()["items"][0]["id"], second.json()["items"][0]["id"]}
    assert ids == {created["id"], gift["id"]}
    # a till key redeems but does not run campaigns
    till = await pos_key(client._transport.app.state.runtime, tenant["tenant_id"])  # type: ignore[attr-defined]
    denied = await client.get("/api/v1/campaigns", headers=auth(till))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"rules": {"starts_at": "2026-05-01T00:00:00Z", "ends_at": "2026-04-01T00:00:00Z"}},
         400, "invalid_rules", "ends_at"),
        ({"currency": "EUR", "rules": {"min_order_amount": 900, "max_order_amount": 100}},
         400, "invalid_rules", "min_order_amount"),
        ({"percent_off_bp": None, "amount_off": 500, "currency": "EURO"}, 400, "unknown_currency",
         "currency"),
        ({"percent_off_bp": None, "amount_off": -500, "currency": "EUR"}, 400, "invalid_amount",
         "amount_off"),
        ({"percent_off_bp": 10**30}, 400, "invalid_rules", "percent_off_bp"),
        ({"rules": {"timezone": "Nowhere/City"}}, 400, "invalid_rules", "timezone"),
        ({"rules": {"weekdays": [8]}}, 400, "invalid_rules", "weekdays"),
        ({"rules": {"total_limit": 10**20}}, 400, "invalid_rules", "total_limit"),
        ({"rules": {"hours_from": "25:00", "hours_to": "26:00"}}, 422, "invalid_request", None),
        ({"percent_off_bp": "ten"}, 422, "invalid_request", None),
        ({"kind": "lottery"}, 422, "invalid_request", None),
    ],
)  # fmt: skip
async def test_bad_campaigns_are_4xx_naming_the_field(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    payload = {"name": "X", "kind": "discount", "percent_off_bp": 1000, **body}
    response = await client.post("/api/v1/campaigns", headers=auth(tenant["api_key"]), json=payload)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert error["details"]["field"] == field


async def test_batch_from_a_pattern(client: httpx.AsyncClient, tenant: dict[str, str]) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    response = await client.post(
        f"/api/v1/campaigns/{campaign['id']}/batches",
        headers=auth(key),
        json={"count": 1500, "prefix": "SPRING-", "pattern": "####-####"},
    )
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["status"], batch["requested"], batch["inserted"]) == ("ready", 1500, 1500)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"batch_id": batch["id"], "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get(
                f"/api/v1/campaigns/{campaign['id']}/codes", headers=auth(key), params=params
            )
        ).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 1500
    assert len({c["code"] for c in seen}) == 1500
    assert all(
        re.fullmatch(r"SPRING-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", c["code"]) for c in seen
    )
    assert {(c["state"], c["max_uses"], c["uses_left"]) for c in seen} == {("active", 1, 1)}
    fetched = await client.get(
        f"/api/v1/campaigns/{campaign['id']}/batches/{batch['id']}", headers=auth(key)
    )
    assert fetched.json()["inserted"] == 1500


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"count": 600, "pattern": "##"}, "pattern_space_too_small", "pattern"),
        ({"count": 17, "length": 1}, "pattern_space_too_small", "length"),
        ({"count": 5, "pattern": "AB-CD"}, "invalid_pattern", "pattern"),
        ({"count": 5, "prefix": "NO SPACE"}, "invalid_pattern", "prefix"),
        ({"count": 5, "charset": "0O"}, "invalid_pattern", "charset"),
        ({"count": 5, "balance": 100}, "invalid_rules", "balance"),
        ({"count": 5, "max_uses": 0}, "invalid_rules", "max_uses"),
    ],
)
async def test_bad_batches(
    client: httpx.AsyncClient, tenant: dict[str, str], body: dict[str, Any], code: str, field: str
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    response = await client.post(
        f"/api/v1/campaigns/{campaign['id']}/batches", headers=auth(key), json=body
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["details"]["field"] == field


async def test_small_pattern_fills_up_and_says_so(
    client: httpx.AsyncClient, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second batch of the same two-character pattern finds the first one's codes taken
    (with the space check relaxed: at 1,000 times the codes no pattern gets that full)."""
    monkeypatch.setattr(batches, "MIN_SPACE_FACTOR", 1)
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    url = f"/api/v1/campaigns/{campaign['id']}/batches"
    body = {"count": 400, "pattern": "##", "charset": "ABCDEFGHJKMNPQRSTUVWXYZ23456789"}
    assert (await client.post(url, headers=auth(key), json=body)).status_code == 201
    full = await client.post(url, headers=auth(key), json={**body, "count": 480})
    assert full.status_code == 409, full.text
    assert full.json()["error"]["code"] == "code_space_exhausted"


async def test_large_batches_are_generated_by_jobs(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batches, "SYNC_LIMIT", 100)
    monkeypatch.setattr(batches, "CHUNK", 700)
    key = tenant["api_key"]
    campaign = await make_campaign(
        client, key, kind="gift_card", percent_off_bp=None, initial_balance=2500, currency="EUR"
    )
    response = await client.post(
        f"/api/v1/campaigns/{campaign['id']}/batches",
        headers={**auth(key), "Idempotency-Key": "big-batch"},
        json={"count": 2000, "length": 8},
    )
    assert response.status_code == 202, response.text
    batch = response.json()
    assert (batch["status"], batch["inserted"]) == ("generating", 0)
    replay = await client.post(
        f"/api/v1/campaigns/{campaign['id']}/batches",
        headers={**auth(key), "Idempotency-Key": "big-batch"},
        json={"count": 2000, "length": 8},
    )
    assert replay.json()["id"] == batch["id"]  # one batch, not two
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    done = (
        await client.get(
            f"/api/v1/campaigns/{campaign['id']}/batches/{batch['id']}", headers=auth(key)
        )
    ).json()
    assert (done["status"], done["inserted"], done["completed_at"] is not None) == (
        "ready",
        2000,
        True,
    )
    page = (
        await client.get(
            f"/api/v1/campaigns/{campaign['id']}/codes",
            headers=auth(key),
            params={"limit": 1000},
        )
    ).json()
    assert {(c["balance"], c["currency"], c["max_uses"]) for c in page["items"]} == {
        (2500, "EUR", None)
    }


CSV_OK = (
    "code,balance,max_uses,expires_at\n"
    "GIFT-AAAA-0001,5000,,2027-01-31T23:59:59Z\n"
    "gift aaaa 0002,,3,\n"
    "\n"
    "GIFT-AAAA-0003,1,,\n"
)


async def test_csv_import(client: httpx.AsyncClient, tenant: dict[str, str]) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(
        client, key, kind="gift_card", percent_off_bp=None, initial_balance=2000, currency="EUR"
    )
    url = f"/api/v1/campaigns/{campaign['id']}/codes/import"
    headers = {**auth(key), "Content-Type": "text/csv"}
    response = await client.post(url, headers=headers, content=CSV_OK.encode())
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["source"], batch["status"], batch["inserted"]) == ("imported", "ready", 3)
    codes = (
        await client.get(f"/api/v1/campaigns/{campaign['id']}/codes", headers=auth(key))
    ).json()["items"]
    by_code = {c["code"]: c for c in codes}
    assert by_code["GIFT-AAAA-0001"]["balance"] == 5000
    assert by_code["GIFT-AAAA-0001"]["expires_at"] == "2027-01-31T23:59:59Z"
    assert (by_code["gift aaaa 0002"]["balance"], by_code["gift aaaa 0002"]["max_uses"]) == (
        2000,
        3,
    )
    bad = (
        "code,balance\n"
        "GIFT-BBBB-0001,100\n"  # fine on its own
        "GIFT AAAA 0001,100\n"  # line 3: exists (normalized)
        "GIFT-BBBB-0001,100\n"  # line 4: duplicate of line 2
        "GIFT-BBBB-OOO2,-5\n"  # line 5: bad balance
        "GIFT-BBBB-0003\n"  # line 6: malformed row
        "GIFT-BBBB-€,1\n"  # line 7: not a code
        "GIFT-BBBB-0004,12.50\n"  # line 8: not minor units
    )
    refused = await client.post(url, headers=headers, content=bad.encode())
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_import"
    found = sorted((e["line"], e["error"]) for e in error["details"]["errors"])
    assert found == [
        (3, "exists"),
        (4, "duplicate"),
        (5, "invalid_balance"),
        (6, "malformed"),
        (7, "invalid_code"),
        (8, "invalid_balance"),
    ]
    after = (
        await client.get(f"/api/v1/campaigns/{campaign['id']}/codes", headers=auth(key))
    ).json()["items"]
    assert len(after) == 3  # all or nothing: GIFT-BBBB-0001 was not stored
    for content, problem in (
        (b"coupon,balance\nA1,2\n", "invalid_header"),
        (b"", "missing_header"),
        (b"code\n", "empty"),
        (b"code\n\xff\xfe\n", "encoding"),
    ):
        response = await client.post(url, headers=headers, content=content)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["details"]["errors"][0]["error"] == problem


async def test_unknown_objects_are_404(client: httpx.AsyncClient, tenant: dict[str, str]) -> None:
    key = tenant["api_key"]
    missing = "0190f0a0-0000-7000-8000-000000000000"
    campaign = await make_campaign(client, key)
    for url, code in (
        (f"/api/v1/campaigns/{missing}", "campaign_not_found"),
        (f"/api/v1/campaigns/{campaign['id']}/batches/{missing}", "batch_not_found"),
        (f"/api/v1/campaigns/{campaign['id']}/codes/{missing}", "code_not_found"),
        (f"/api/v1/redemptions/{missing}", "redemption_not_found"),
    ):
        response = await client.get(url, headers=auth(key))
        assert (response.status_code, response.json()["error"]["code"]) == (404, code), url
    codes = await make_codes(client, key, campaign["id"], 3)
    assert len(codes) == 3
    bad_cursor = await client.get(
        f"/api/v1/campaigns/{campaign['id']}/codes", headers=auth(key), params={"cursor": "!!"}
    )
    assert bad_cursor.status_code == 400
