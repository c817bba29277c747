"""Validations, redemptions and rollbacks through the API, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from passmint.runtime import Runtime
from passmint.tenants.scopes import Scope
from tests.coupons.conftest import (
    auth,
    make_campaign,
    make_codes,
    make_customer,
    pos_key,
    redeem,
)

pytestmark = pytest.mark.anyio
ORDER = {"amount": 4550, "currency": "EUR"}


async def validate(http: httpx.AsyncClient, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/api/v1/validations", headers=auth(key), json=body)
    assert response.status_code == 200, response.text
    verdict: dict[str, Any] = response.json()
    return verdict


async def test_single_use_discount(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    till = await pos_key(runtime, tenant["tenant_id"], Scope.VALIDATIONS_WRITE)
    campaign = await make_campaign(client, key, max_discount=400)
    [code] = await make_codes(client, key, campaign["id"], 1, pattern="####-####")
    typed = code.lower().replace("-", " ")
    verdict = await validate(client, till, {"code": typed, "order": ORDER})
    assert verdict["valid"] is True
    assert verdict["code"] == code
    assert verdict["value"] == {
        "kind": "discount", "amount": 400, "currency": "EUR", "percent_off_bp": 1000,
        "item_sku": None, "item_name": None, "balance_before": None, "balance_after": None,
    }  # fmt: skip
    assert verdict["uses_left"] == 1
    body = {"code": typed, "order": {**ORDER, "id": "order-1"}}
    first = await redeem(client, till, body, "till-1")
    assert first.status_code == 201, first.text
    redemption = first.json()
    assert (redemption["status"], redemption["code"], redemption["value"]["amount"]) == (
        "committed", code, 400,
    )  # fmt: skip
    assert redemption["order_ref"] == "order-1"
    # a replay answers the first result; another body under the key is a conflict
    replay = await redeem(client, till, body, "till-1")
    assert replay.status_code == 201
    assert replay.json()["id"] == redemption["id"]
    assert replay.headers["idempotent-replayed"] == "true"
    reused = await redeem(client, till, {**body, "order": {**ORDER, "amount": 1}}, "till-1")
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotency_key_reused")
    # used up, whatever the spelling
    again = await redeem(client, till, {"code": code, "order": ORDER})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "usage_limit_reached")
    verdict = await validate(client, till, {"code": code, "order": ORDER})
    assert verdict["valid"] is False
    assert verdict["error"]["code"] == "usage_limit_reached"
    listed = (
        await client.get(f"/api/v1/campaigns/{campaign['id']}/codes", headers=auth(key))
    ).json()["items"]
    assert (listed[0]["state"], listed[0]["used_count"], listed[0]["uses_left"]) == (
        "redeemed", 1, 0,
    )  # fmt: skip
    # an Idempotency-Key is required
    bare = await client.post(
        "/api/v1/redemptions", headers=auth(till), json={"code": code, "order": ORDER}
    )
    assert (bare.status_code, bare.json()["error"]["code"]) == (400, "idempotency_key_required")
    # a rollback gives the use back; a second one is refused
    url = f"/api/v1/redemptions/{redemption['id']}/rollback"
    undone = await client.post(
        url, headers={**auth(till), "Idempotency-Key": "undo-1"}, json={"reason": "refund"}
    )
    assert undone.status_code == 200, undone.text
    assert (undone.json()["status"], undone.json()["rolled_back_amount"]) == ("rolled_back", 400)
    assert undone.json()["rollbacks"][0]["reason"] == "refund"
    replayed = await client.post(
        url, headers={**auth(till), "Idempotency-Key": "undo-1"}, json={"reason": "refund"}
    )
    assert replayed.json()["id"] == redemption["id"]
    twice = await client.post(url, headers={**auth(till), "Idempotency-Key": "undo-2"}, json={})
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_rolled_back")
    partial = await client.post(
        url, headers={**auth(till), "Idempotency-Key": "undo-3"}, json={"amount": 1}
    )
    assert partial.status_code in (400, 409)
    assert (await redeem(client, till, {"code": code, "order": ORDER})).status_code == 201
    fetched = await client.get(f"/api/v1/redemptions/{redemption['id']}", headers=auth(till))
    assert fetched.json()["status"] == "rolled_back"


async def test_dead_codes_disclose_only_not_found_expired_or_used_up(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    now = datetime.now(UTC)
    live = await make_campaign(client, key, name="Live")
    ended = await make_campaign(
        client,
        key,
        name="Ended",
        rules={"starts_at": (now - timedelta(days=9)).isoformat(), "ends_at": (now - timedelta(
            days=1)).isoformat()},
    )  # fmt: skip
    future = await make_campaign(
        client, key, name="Later", rules={"starts_at": (now + timedelta(days=1)).isoformat()}
    )
    voided_code, paused_code = await make_codes(client, key, live["id"], 2)
    [ended_code] = await make_codes(client, key, ended["id"], 1)
    [future_code] = await make_codes(client, key, future["id"], 1)
    codes = (await client.get(f"/api/v1/campaigns/{live['id']}/codes", headers=auth(key))).json()
    to_void = next(c for c in codes["items"] if c["code"] == voided_code)
    voided = await client.post(
        f"/api/v1/campaigns/{live['id']}/codes/{to_void['id']}/void", headers=auth(key)
    )
    assert voided.json()["state"] == "voided"
    paused = await make_campaign(client, key, name="Paused")
    [paused_code] = await make_codes(client, key, paused["id"], 1)
    await client.patch(
        f"/api/v1/campaigns/{paused['id']}", headers=auth(key), json={"status": "paused"}
    )
    for code, expected, status in (
        ("NO-SUCH-CODE", "code_not_found", 404),
        (voided_code, "code_not_found", 404),
        (paused_code, "code_not_found", 404),
        (ended_code, "code_expired", 409),
        (future_code, "code_not_active_yet", 409),
    ):
        verdict = await validate(client, key, {"code": code, "order": ORDER})
        assert (verdict["valid"], verdict["error"]["code"]) == (False, expected), code
        response = await redeem(client, key, {"code": code, "order": ORDER})
        assert (response.status_code, response.json()["error"]["code"]) == (status, expected)


async def test_conditions_say_which(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    gold = await make_customer(runtime, tenant["tenant_id"], tier="gold")
    silver = await make_customer(runtime, tenant["tenant_id"], tier="silver")
    local = datetime.now(ZoneInfo("America/New_York"))
    not_today = [d for d in range(1, 8) if d != local.isoweekday()]
    later = (local + timedelta(hours=2)).strftime("%H:%M")
    much_later = (local + timedelta(hours=3)).strftime("%H:%M")
    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        ({"currency": "EUR", "rules": {"min_order_amount": 5000}}, {"order": ORDER}, "min_amount"),
        ({"currency": "EUR", "rules": {"max_order_amount": 100}}, {"order": ORDER}, "max_amount"),
        ({"currency": "USD", "rules": {"min_order_amount": 1}}, {"order": ORDER}, "currency"),
        ({"rules": {"timezone": "America/New_York", "weekdays": not_today}}, {"order": ORDER},
         "weekday"),
        ({"rules": {"timezone": "America/New_York", "hours_from": later, "hours_to": much_later}},
         {"order": ORDER}, "hours"),
        ({"rules": {"tiers": ["gold"]}}, {"order": ORDER, "customer_id": silver}, "tier"),
        ({"rules": {"customer_ids": [gold]}}, {"order": ORDER, "customer_id": silver}, "customer"),
        ({"rules": {"per_customer_limit": 1}}, {"order": ORDER}, "customer"),
    ]  # fmt: skip
    for campaign_body, attempt, condition in cases:
        campaign = await make_campaign(client, key, **campaign_body)
        [code] = await make_codes(client, key, campaign["id"], 1)
        verdict = await validate(client, key, {"code": code, **attempt})
        assert verdict["error"]["code"] == "conditions_not_met", (condition, verdict)
        assert verdict["error"]["details"]["condition"] == condition
        response = await redeem(client, key, {"code": code, **attempt})
        assert response.status_code == 400
        assert response.json()["error"]["details"]["condition"] == condition
    # the right customer passes; the per-customer limit holds across codes
    campaign = await make_campaign(client, key, rules={"tiers": ["gold"], "per_customer_limit": 1})
    first, second = await make_codes(client, key, campaign["id"], 2)
    ok = await redeem(client, key, {"code": first, "customer_id": gold, "order": ORDER})
    assert ok.status_code == 201, ok.text
    limited = await redeem(client, key, {"code": second, "customer_id": gold, "order": ORDER})
    assert limited.json()["error"]["details"] == {"condition": "per_customer_limit", "limit": 1}
    await client.post(
        f"/api/v1/redemptions/{ok.json()['id']}/rollback",
        headers={**auth(key), "Idempotency-Key": "give-back"},
        json={},
    )
    again = await redeem(client, key, {"code": second, "customer_id": gold, "order": ORDER})
    assert again.status_code == 201, again.text


async def test_bad_input_is_4xx_never_5xx(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    [code] = await make_codes(client, key, campaign["id"], 1)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"code": code, "order": {"amount": -1, "currency": "EUR"}}, 400, "invalid_amount"),
        ({"code": code, "order": {"amount": 10**13, "currency": "EUR"}}, 400, "invalid_amount"),
        ({"code": code, "order": {"amount": 10**40, "currency": "EUR"}}, 400, "invalid_amount"),
        ({"code": code, "order": {"amount": 100, "currency": "ZZZ"}}, 400, "unknown_currency"),
        ({"code": code, "order": {"amount": 100, "currency": "eur"}}, 400, "unknown_currency"),
        ({"code": code, "order": {"amount": 1.5, "currency": "EUR"}}, 422, "invalid_request"),
        ({"code": code, "amount": 0}, 400, "invalid_amount"),
        ({"code": "💳💳💳", "order": ORDER}, 400, "invalid_code"),
        ({"code": "A" * 80, "order": ORDER}, 400, "invalid_code"),
        ({"code": "A" * 300, "order": ORDER}, 422, "invalid_request"),
        ({"code": "", "order": ORDER}, 422, "invalid_request"),
        ({"code": code}, 400, "invalid_input"),  # a percentage needs the order
        ({"code": code, "order": ORDER, "customer_id": "0190f0a0-0000-7000-8000-000000000000"},
         404, "customer_not_found"),
        ({"code": code, "order": ORDER, "extra": 1}, 422, "invalid_request"),
    ]  # fmt: skip
    for index, (body, status, error) in enumerate(cases):
        for path in ("/api/v1/validations", "/api/v1/redemptions"):
            response = await client.post(
                path, headers={**auth(key), "Idempotency-Key": f"bad-{index}"}, json=body
            )
            assert response.status_code == status, (path, body, response.text)
            assert response.json()["error"]["code"] == error, (path, body)
    nothing = await client.get(f"/api/v1/campaigns/{campaign['id']}/codes", headers=auth(key))
    assert nothing.json()["items"][0]["used_count"] == 0


async def test_gift_card_spend_and_partial_rollbacks(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(
        client, key, kind="gift_card", percent_off_bp=None, initial_balance=5000, currency="EUR"
    )
    [card] = await make_codes(client, key, campaign["id"], 1)
    spent = await redeem(client, key, {"code": card, "amount": 3000})
    assert spent.status_code == 201, spent.text
    value = spent.json()["value"]
    assert (value["amount"], value["balance_before"], value["balance_after"]) == (3000, 5000, 2000)
    too_much = await redeem(client, key, {"code": card, "amount": 2001})
    assert too_much.json()["error"] == {
        "code": "insufficient_balance",
        "message": "the card holds 2000 EUR",
        "details": {"balance": 2000, "currency": "EUR"},
    }
    usd = await redeem(client, key, {"code": card, "order": {"amount": 100, "currency": "USD"}})
    assert usd.json()["error"]["details"]["condition"] == "currency"
    by_order = await redeem(
        client, key, {"code": card, "order": {"amount": 500, "currency": "EUR"}}
    )
    assert by_order.json()["value"]["balance_after"] == 1500
    url = f"/api/v1/redemptions/{spent.json()['id']}/rollback"

    async def undo(key_: str, amount: int | None) -> httpx.Response:
        return await client.post(
            url,
            headers={**auth(key), "Idempotency-Key": key_},
            json={} if amount is None else {"amount": amount},
        )

    assert (await undo("p1", 1000)).json()["rolled_back_amount"] == 1000
    over = await undo("p2", 2500)
    assert (over.status_code, over.json()["error"]["code"]) == (400, "invalid_rollback")
    assert over.json()["error"]["details"]["remaining"] == 2000
    second = await undo("p3", 500)
    assert (second.json()["status"], second.json()["rolled_back_amount"]) == ("committed", 1500)
    rest = await undo("p4", None)
    assert (rest.json()["status"], rest.json()["rolled_back_amount"]) == ("rolled_back", 3000)
    assert [r["amount"] for r in rest.json()["rollbacks"]] == [1000, 500, 1500]
    assert (await undo("p5", 1)).json()["error"]["code"] == "already_rolled_back"
    verdict = await validate(client, key, {"code": card, "amount": 4500})
    assert verdict["value"]["balance_before"] == 4500  # 5000 - 3000 - 500 + 3000


async def test_limits_set_later_count_what_was_redeemed(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    ada = await make_customer(runtime, tenant["tenant_id"])
    bob = await make_customer(runtime, tenant["tenant_id"])
    campaign = await make_campaign(client, key)
    codes = await make_codes(client, key, campaign["id"], 6)
    done = []
    for code in codes[:2]:
        response = await redeem(client, key, {"code": code, "customer_id": ada, "order": ORDER})
        assert response.status_code == 201, response.text
        done.append(response.json()["id"])
    await client.post(
        f"/api/v1/redemptions/{done[0]}/rollback",
        headers={**auth(key), "Idempotency-Key": "before-the-limits"},
        json={},
    )
    patched = await client.patch(
        f"/api/v1/campaigns/{campaign['id']}",
        headers=auth(key),
        json={"rules": {"per_customer_limit": 2, "total_limit": 3}},
    )
    assert patched.json()["total_used"] == 1  # the rolled-back one does not count
    assert (
        await redeem(client, key, {"code": codes[2], "customer_id": ada, "order": ORDER})
    ).status_code == 201
    mine = await redeem(client, key, {"code": codes[3], "customer_id": ada, "order": ORDER})
    assert mine.json()["error"]["details"]["condition"] == "per_customer_limit"
    bobs = await redeem(client, key, {"code": codes[3], "customer_id": bob, "order": ORDER})
    assert bobs.status_code == 201, bobs.text
    full = await redeem(client, key, {"code": codes[4], "customer_id": bob, "order": ORDER})
    assert (full.status_code, full.json()["error"]["code"]) == (409, "usage_limit_reached")
    assert full.json()["error"]["details"] == {"scope": "campaign"}


async def test_a_replay_the_code_would_still_allow_answers_the_first_redemption(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    """The stored response is not looked up before the work: a replay on a code with uses
    left runs into its key, everything it did rolls back, and it answers the first result;
    the same key with another code is a 409 that leaves that code untouched."""
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    first_code, other_code = await make_codes(client, key, campaign["id"], 2, max_uses=5)
    first = await redeem(client, key, {"code": first_code, "order": ORDER}, "till-7")
    assert first.status_code == 201, first.text
    for _ in range(2):
        replay = await redeem(client, key, {"code": first_code, "order": ORDER}, "till-7")
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == first.json()
    other = await redeem(client, key, {"code": other_code, "order": ORDER}, "till-7")
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_key_reused")
    checked = await validate(client, key, {"code": other_code, "order": ORDER})
    assert checked["uses_left"] == 5  # the refused request's use rolled back with it
    checked = await validate(client, key, {"code": first_code, "order": ORDER})
    assert checked["uses_left"] == 4  # the replays took no use
