"""Codes handed to customers: publications, their passes kept in step with the code, and
the service API of the loyalty domain (``issue_code``, ``customer_wallet``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from passmint.coupons import service
from passmint.coupons.errors import CampaignInactive, CampaignNotFound, IdempotencyKeyReused
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.coupons.conftest import auth, make_campaign, make_codes, make_customer, redeem
from tests.service.conftest import cafe_design, put_apple_credentials

pytestmark = pytest.mark.anyio


async def coupon_template(http: httpx.AsyncClient, key: str, pki: DevPki) -> str:
    await put_apple_credentials(http, key, pki)
    design = await cafe_design(http, key)
    design["fields"] = {
        "primary": [{"key": "offer", "label": "OFFER", "value": "{{ discount }}"}],
        "secondary": [
            {"key": "status", "label": "STATUS", "value": "{{ status }}",
             "change_message": "Your coupon is %@"},
            {"key": "left", "label": "BALANCE", "value": '{{ balance | default: "-" }}'},
        ],
        "back": [{"key": "code", "label": "CODE", "value": "{{ code }}"}],
    }  # fmt: skip
    design["barcode"] = {"format": "qr", "message": "{{ code }}"}
    response = await http.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "Coupon", "style": "coupon", "design": design},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def pass_data(http: httpx.AsyncClient, key: str, pass_id: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/passes/{pass_id}", headers=auth(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_coupon_pass_shows_its_state(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    key = tenant["api_key"]
    template = await coupon_template(client, key, dev_pki)
    ada = await make_customer(runtime, tenant["tenant_id"])
    campaign = await make_campaign(client, key, template_id=template, percent_off_bp=1250)
    await make_codes(client, key, campaign["id"], 2, prefix="SP-")
    url = f"/api/v1/campaigns/{campaign['id']}/publications"
    headers = {**auth(key), "Idempotency-Key": "welcome-ada"}
    published = await client.post(url, headers=headers, json={"customer_id": ada})
    assert published.status_code == 201, published.text
    code = published.json()
    assert code["code"].startswith("SP-")  # a pre-generated code
    assert code["customer_id"] == ada
    assert code["wallet_pass"]["urls"]["pkpass"].startswith("https://")
    again = await client.post(url, headers=headers, json={"customer_id": ada})
    assert again.json()["id"] == code["id"]
    before = await pass_data(client, key, code["pass_id"])
    assert before["data"]["status"] == "active"
    assert before["data"]["discount"] == "12.5%"
    assert before["data"]["code"] == code["code"]
    used = await redeem(
        client, key, {"code": code["code"], "order": {"amount": 1000, "currency": "EUR"}}
    )
    assert used.status_code == 201, used.text
    after = await pass_data(client, key, code["pass_id"])
    assert (after["data"]["status"], after["data"]["uses_left"]) == ("redeemed", 0)
    assert after["version"] > before["version"]
    await client.post(
        f"/api/v1/redemptions/{used.json()['id']}/rollback",
        headers={**auth(key), "Idempotency-Key": "oops"},
        json={},
    )
    restored = await pass_data(client, key, code["pass_id"])
    assert (restored["data"]["status"], restored["data"]["uses_left"]) == ("active", 1)
    pkpass = await client.get(
        code["wallet_pass"]["urls"]["pkpass"].removeprefix(str(client.base_url))
    )
    assert pkpass.status_code == 200
    # voiding the code voids its pass
    voided = await client.post(
        f"/api/v1/campaigns/{campaign['id']}/codes/{code['id']}/void", headers=auth(key)
    )
    assert voided.json()["wallet_pass"]["status"] == "voided"


async def test_a_gift_card_pass_shows_its_balance(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    key = tenant["api_key"]
    template = await coupon_template(client, key, dev_pki)
    campaign = await make_campaign(
        client, key, kind="gift_card", percent_off_bp=None, initial_balance=5000,
        currency="EUR", template_id=template,
    )  # fmt: skip
    card = (
        await client.post(f"/api/v1/campaigns/{campaign['id']}/publications", headers=auth(key),
                          json={})
    ).json()  # fmt: skip
    assert card["customer_id"] is None
    assert (await pass_data(client, key, card["pass_id"]))["data"]["balance"] == "50.00"
    spent = await redeem(client, key, {"code": card["code"], "amount": 1234})
    assert spent.status_code == 201, spent.text
    data = (await pass_data(client, key, card["pass_id"]))["data"]
    assert (data["balance"], data["balance_minor"], data["status"]) == ("37.66", 3766, "active")
    await client.post(
        f"/api/v1/redemptions/{spent.json()['id']}/rollback",
        headers={**auth(key), "Idempotency-Key": "part"},
        json={"amount": 234},
    )
    assert (await pass_data(client, key, card["pass_id"]))["data"]["balance"] == "40.00"


async def test_issue_code_and_customer_wallet(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    tenant_id = uuid.UUID(tenant["tenant_id"])
    ada = uuid.UUID(await make_customer(runtime, tenant["tenant_id"]))
    coffee = await make_campaign(
        client, key, name="Free coffee", kind="free_item", percent_off_bp=None,
        item_sku="COFFEE", item_name="Coffee", rules={"max_uses_per_code": 2},
    )  # fmt: skip
    gift = await make_campaign(
        client, key, name="Gift", kind="gift_card", percent_off_bp=None, initial_balance=2500,
        currency="EUR",
    )  # fmt: skip
    paused = await make_campaign(client, key, name="Paused", status="paused")
    coffee_id, gift_id = uuid.UUID(coffee["id"]), uuid.UUID(gift["id"])

    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, tenant_id)
        first = await service.issue_code(ctx, coffee_id, customer_id=ada, idempotency_key="r:1")
        same = await service.issue_code(ctx, coffee_id, customer_id=ada, idempotency_key="r:1")
        card = await service.issue_code(ctx, gift_id, customer_id=ada, idempotency_key="r:2")
        assert same.id == first.id
        assert first.max_uses == 2  # no free code: a new one with the campaign's settings
        assert (card.balance, card.max_uses) == (2500, None)
        with pytest.raises(IdempotencyKeyReused):
            await service.issue_code(ctx, gift_id, customer_id=ada, idempotency_key="r:1")
        with pytest.raises(CampaignInactive):
            await service.issue_code(
                ctx, uuid.UUID(paused["id"]), customer_id=ada, idempotency_key="r:3"
            )
        with pytest.raises(CampaignNotFound):
            await service.issue_code(ctx, uuid.uuid4(), customer_id=ada, idempotency_key="r:4")
    assert (await redeem(client, key, {"code": card.code, "amount": 500})).status_code == 201
    async with runtime.db.sessions() as session:
        wallet = await service.customer_wallet(runtime.pass_context(session, tenant_id), ada)
    assert wallet == {
        "coupons": [
            {
                "code_id": str(first.id), "code": first.code, "campaign_id": coffee["id"],
                "campaign_name": "Free coffee", "expires_at": None, "pass_id": None,
                "kind": "free_item", "text": "Coffee", "uses_left": 2,
                "discount": {"type": "free_item", "item_sku": "COFFEE", "item_name": "Coffee"},
            }
        ],
        "gift_cards": [
            {
                "code_id": str(card.id), "code": card.code, "campaign_id": gift["id"],
                "campaign_name": "Gift", "expires_at": None, "pass_id": None,
                "balance": 2000, "currency": "EUR",
            }
        ],
    }  # fmt: skip
    # used up coupons leave the wallet
    for _ in range(2):
        assert (await redeem(client, key, {"code": first.code})).status_code == 201
    async with runtime.db.sessions() as session:
        wallet = await service.customer_wallet(runtime.pass_context(session, tenant_id), ada)
    assert wallet["coupons"] == []


async def test_publications_never_hand_out_a_code_twice(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    made = set(await make_codes(client, key, campaign["id"], 5))
    url = f"/api/v1/campaigns/{campaign['id']}/publications"
    responses = await asyncio.gather(
        *(client.post(url, headers=auth(key), json={}) for _ in range(12))
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    handed = [r.json()["code"] for r in responses]
    assert len(set(handed)) == 12
    assert made <= set(handed)  # the five pre-generated first, then new ones
