"""The loyalty engine through its API, on both databases: programs, cards, the ledger,
activities exactly once, returns, caps, tiers, expiry, pending points, rewards, referrals,
the wallet, and the card's passes on both wallets."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from passmint.config import Settings
from passmint.models import LedgerEntry
from passmint.runtime import Runtime
from passmint.tenants import service as tenants
from passmint.wallet.apple.devpki import DevPki
from tests.fixtures.apns_server import FakeApns
from tests.fixtures.google_server import FakeGoogleWallet
from tests.passes.google import discovery
from tests.service.conftest import (
    PUBLIC_URL,
    auth,
    create_program,
    google_settings,
    open_card,
)

pytestmark = pytest.mark.anyio
ISSUER = "3388000000012345678"
START = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)

PROGRAM: dict[str, Any] = {
    "currency": {"code": "points", "name": "point", "plural": "points"},
    "earn_rules": [
        {
            "key": "spend",
            "trigger": "purchase",
            "points": 10,
            "per_amount": 100,
            "currency": "EUR",
            "rounding": "down",
        },
        {"key": "visit", "trigger": "visit", "points": 5, "daily_cap": 10},
        {"key": "welcome", "trigger": "enrollment", "points": 50},
        {"key": "friend", "trigger": "referral", "points": 100, "min_amount": 1000},
    ],
    "tiers": [
        {"key": "member", "name": "Member", "threshold": 0},
        {"key": "silver", "name": "Silver", "threshold": 500, "multiplier": 15_000},
        {"key": "gold", "name": "Gold", "threshold": 2000, "multiplier": 20_000},
    ],
    "tier_policy": {"metric": "calendar", "period": "month", "grace_days": 5},
    "expiry": {"kind": "rolling", "days": 30},
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def google_peer() -> Iterator[FakeGoogleWallet]:
    with FakeGoogleWallet(discovery(), issuer_id=ISSUER) as peer:
        yield peer


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, apns: FakeApns, google_peer: FakeGoogleWallet
) -> Settings:
    return google_settings(database_url, tmp_path, apns, google_peer)


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    fixed = Clock(START)
    runtime.clock = fixed
    return fixed


@pytest.fixture
async def program(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki, clock: Clock
) -> dict[str, Any]:
    return await create_program(client, tenant["api_key"], dev_pki, PROGRAM)


async def _activity(client: httpx.AsyncClient, key: str, **body: Any) -> httpx.Response:
    return await client.post("/api/v1/activities", headers=auth(key), json=body)


async def _purchase(
    client: httpx.AsyncClient, key: str, account_id: str, external_id: str, amount: int
) -> dict[str, Any]:
    response = await _activity(
        client,
        key,
        account_id=account_id,
        kind="purchase",
        amount=amount,
        currency="EUR",
        external_id=external_id,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _pass_data(
    client: httpx.AsyncClient, key: str, pass_id: str, runtime: Runtime
) -> dict[str, Any]:
    """The pass's data once the render jobs have run."""
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    response = await client.get(f"/api/v1/passes/{pass_id}", headers=auth(key))
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_contradictory_programs_are_refused(
    client: httpx.AsyncClient, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    bad_configs: list[tuple[dict[str, Any], str]] = [
        ({"earn_rules": [{"key": "x", "trigger": "purchase", "points": 1}]}, "per_amount"),
        (
            {
                "earn_rules": [
                    {
                        "key": "x",
                        "trigger": "purchase",
                        "points": 1,
                        "per_amount": 100,
                        "currency": "EUX",
                    }
                ]
            },
            "unknown currency",
        ),
        ({"earn_rules": [{"key": "x", "trigger": "visit", "points": -5}]}, "points"),
        (
            {
                "tiers": [
                    {"key": "a", "name": "A", "threshold": 0},
                    {"key": "b", "name": "B", "threshold": 0},
                ]
            },
            "strictly rise",
        ),
        ({"expiry": {"kind": "rolling"}}, "needs days"),
        ({"tier_policy": {"metric": "calendar"}}, "needs a period"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
    ]
    for config, needle in bad_configs:
        response = await client.post(
            "/api/v1/programs",
            headers=auth(key),
            json={"name": "x", "template_id": program["template_id"], "config": config},
        )
        assert response.status_code == 422, (config, response.text)
        assert needle in response.text, (needle, response.text)
    unknown = await client.post(
        "/api/v1/programs",
        headers=auth(key),
        json={"name": "x", "template_id": str(uuid.uuid4())},
    )
    assert unknown.status_code == 404


async def test_cards_earn_once_and_explain_their_balance(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    clock: Clock,
) -> None:
    key = tenant["api_key"]
    card = await open_card(
        client,
        key,
        program["id"],
        customer={"external_id": "crm-1", "email": "Ada@Example.com", "name": "Ada"},
    )
    assert card["balance"] == 50  # the enrolment bonus
    assert card["tier"] == "member"
    assert card["pass_urls"]["pkpass"].startswith(PUBLIC_URL)
    assert (await _pass_data(client, key, card["pass_id"], runtime))["points"] == 50

    # one card per customer per program, matched by email too
    again = await client.post(
        f"/api/v1/programs/{program['id']}/accounts",
        headers=auth(key),
        json={"customer": {"email": "ada@example.com"}},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "account_exists"

    # 12.34 EUR at 10 points per euro, rounded down
    first = await _purchase(client, key, card["id"], "till-1/0001", 1234)
    assert [e["amount"] for e in first["entries"]] == [123]
    assert first["balance"] == 173

    # a retried POS request posts nothing and answers the original result
    replay = await _activity(
        client,
        key,
        account_id=card["id"],
        kind="purchase",
        amount=1234,
        currency="EUR",
        external_id="till-1/0001",
    )
    assert replay.status_code == 200
    assert replay.json()["replayed"] is True
    assert replay.json()["entries"] == first["entries"]
    conflict = await _activity(
        client,
        key,
        account_id=card["id"],
        kind="purchase",
        amount=9999,
        currency="EUR",
        external_id="till-1/0001",
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "activity_conflict"

    # card_number takes whatever the till scanned: the card number, or the pass's barcode
    # message (its serial number here); barcode_value is the deprecated name of the same
    by_number = await _activity(
        client, key, card_number=card["number"], kind="visit", external_id="v1"
    )
    assert by_number.status_code == 201, by_number.text
    pass_ = (await client.get(f"/api/v1/passes/{card['pass_id']}", headers=auth(key))).json()
    by_barcode = await _activity(
        client, key, card_number=pass_["serial_number"], kind="visit", external_id="v2"
    )
    assert by_barcode.status_code == 201, by_barcode.text
    assert [e["amount"] for e in by_barcode.json()["entries"]] == [5]
    old_name = await _activity(
        client, key, barcode_value=pass_["serial_number"], kind="visit", external_id="v2b"
    )
    assert old_name.status_code == 201, old_name.text
    assert old_name.json()["entries"] == []  # the daily cap of 10 visit points is reached
    unknown = await _activity(
        client, key, card_number="000000000000", kind="visit", external_id="v9"
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "account_not_found"
    # the daily cap of 10 visit points is reached: a third visit earns nothing today
    third = await _activity(client, key, account_id=card["id"], kind="visit", external_id="v3")
    assert third.json()["entries"] == []

    history = (await client.get(f"/api/v1/accounts/{card['id']}/history", headers=auth(key))).json()
    assert [(e["kind"], e["amount"], e["rule"]) for e in history["entries"]] == [
        ("earn", 50, "welcome"),
        ("earn", 123, "spend"),
        ("earn", 5, "visit"),
        ("earn", 5, "visit"),
    ]
    assert history["entries"][-1]["balance_after"] == history["balance"] == 183
    assert history["expiring"][0]["amount"] == 183
    assert history["expiring"][0]["expires_at"].startswith("2027-04-09")

    rebuilt = await client.post(f"/api/v1/accounts/{card['id']}/rebuild", headers=auth(key))
    assert rebuilt.json()["changed"] is False
    assert (await _pass_data(client, key, card["pass_id"], runtime))["points"] == 183

    bad = [
        {"account_id": card["id"], "kind": "purchase", "amount": -5, "currency": "EUR"},
        {"account_id": card["id"], "kind": "purchase", "amount": 500, "currency": "XYZ"},
        {"account_id": card["id"], "kind": "purchase", "amount": 10**15, "currency": "EUR"},
        {"card_number": "000", "account_id": card["id"], "kind": "visit"},
        {"kind": "visit"},
    ]
    for body in bad:
        response = await _activity(client, key, external_id=f"bad-{uuid.uuid4()}", **body)
        assert response.status_code == 422, (body, response.text)
    unknown = await _activity(client, key, card_number="999", kind="visit", external_id="x")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "account_not_found"


async def test_returns_reverse_points_pro_rata(
    client: httpx.AsyncClient, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    card = await open_card(client, key, program["id"])
    await _purchase(client, key, card["id"], "p1", 4000)  # 400 points
    half = await _activity(
        client,
        key,
        account_id=card["id"],
        kind="return",
        amount=1000,
        currency="EUR",
        external_id="r1",
        original_external_id="p1",
    )
    assert half.status_code == 201, half.text
    assert [e["amount"] for e in half.json()["entries"]] == [-100]
    rest = await _activity(
        client,
        key,
        account_id=card["id"],
        kind="return",
        amount=3000,
        currency="EUR",
        external_id="r2",
        original_external_id="p1",
    )
    assert [e["kind"] for e in rest.json()["entries"]] == ["reversal"]
    assert rest.json()["balance"] == 50  # only the welcome bonus is left
    too_much = await _activity(
        client,
        key,
        account_id=card["id"],
        kind="return",
        amount=1,
        currency="EUR",
        external_id="r3",
        original_external_id="p1",
    )
    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "return_exceeds_purchase"
    missing = await _activity(
        client,
        key,
        account_id=card["id"],
        kind="return",
        amount=1,
        currency="EUR",
        external_id="r4",
        original_external_id="nope",
    )
    assert missing.status_code == 404


async def test_tiers_upgrade_at_once_and_downgrade_after_grace(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    clock: Clock,
) -> None:
    key = tenant["api_key"]
    card = await open_card(client, key, program["id"])
    up = await _purchase(client, key, card["id"], "big", 5000)  # 500 → silver at once
    assert up["tier"] == "silver"
    multiplied = await _purchase(client, key, card["id"], "next", 1000)  # 100 × 1.5
    assert [e["amount"] for e in multiplied["entries"]] == [150]
    assert (await _pass_data(client, key, card["pass_id"], runtime))["tier"] == "Silver"

    # April: nothing earned. The review after March's end + 5 days of grace keeps silver
    # (March qualified), the one after April's end + grace moves the card down.
    assert runtime.worker is not None
    clock.now = datetime(2027, 4, 6, 0, 1, tzinfo=UTC)
    await runtime.worker.run_until_idle()
    account = (await client.get(f"/api/v1/accounts/{card['id']}", headers=auth(key))).json()
    assert account["tier"] == "silver"
    clock.now = datetime(2027, 5, 6, 0, 1, tzinfo=UTC)
    await runtime.worker.run_until_idle()
    account = (await client.get(f"/api/v1/accounts/{card['id']}", headers=auth(key))).json()
    assert account["tier"] == "member"
    assert (await _pass_data(client, key, card["pass_id"], runtime))["tier"] == "Member"


async def test_points_expire_first_in_first_out_and_spends_never_overdraw(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    clock: Clock,
) -> None:
    key = tenant["api_key"]
    card = await open_card(client, key, program["id"])  # 50 (expires 9 April)
    clock.now = START + timedelta(days=10)
    await _purchase(client, key, card["id"], "p1", 1000)  # 100 (expires 19 April)
    spend = await client.post(
        f"/api/v1/accounts/{card['id']}/spend",
        headers={**auth(key), "Idempotency-Key": "s1"},
        json={"amount": 70},
    )
    assert spend.status_code == 200, spend.text
    assert spend.json()["balance"] == 80
    # retried: the same entry, nothing spent twice
    again = await client.post(
        f"/api/v1/accounts/{card['id']}/spend",
        headers={**auth(key), "Idempotency-Key": "s1"},
        json={"amount": 70},
    )
    assert again.json()["entry"]["id"] == spend.json()["entry"]["id"]
    no_key = await client.post(
        f"/api/v1/accounts/{card['id']}/spend", headers=auth(key), json={"amount": 1}
    )
    assert no_key.status_code == 400
    assert no_key.json()["error"]["code"] == "idempotency_key_required"
    over = await client.post(
        f"/api/v1/accounts/{card['id']}/spend",
        headers={**auth(key), "Idempotency-Key": "s2"},
        json={"amount": 81},
    )
    assert over.status_code == 409
    assert over.json()["error"]["code"] == "insufficient_balance"

    # the welcome lot (oldest expiry) went first: 70 = 50 + 20; 80 left of the second lot
    history = (await client.get(f"/api/v1/accounts/{card['id']}/history", headers=auth(key))).json()
    assert history["expiring"] == [
        {"expires_at": (START + timedelta(days=40)).isoformat(), "amount": 80}
    ]
    clock.now = START + timedelta(days=41)
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    history = (await client.get(f"/api/v1/accounts/{card['id']}/history", headers=auth(key))).json()
    assert history["balance"] == 0
    assert history["entries"][-1]["kind"] == "expire"
    assert history["entries"][-1]["amount"] == -80
    assert (await _pass_data(client, key, card["pass_id"], runtime))["points"] == 0


async def test_pending_points_become_available_later(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    clock: Clock,
) -> None:
    key = tenant["api_key"]
    config = {**PROGRAM, "pending_days": 14, "expiry": {"kind": "none"}}
    patched = await client.patch(
        f"/api/v1/programs/{program['id']}", headers=auth(key), json={"config": config}
    )
    assert patched.status_code == 200, patched.text
    card = await open_card(client, key, program["id"])
    assert (card["balance"], card["pending"]) == (0, 50)
    bought = await _purchase(client, key, card["id"], "p", 2000)
    assert (bought["balance"], bought["pending"]) == (0, 250)
    clock.now = START + timedelta(days=15)
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    account = (await client.get(f"/api/v1/accounts/{card['id']}", headers=auth(key))).json()
    assert (account["balance"], account["pending"]) == (250, 0)


async def test_rewards_stock_limits_and_credits(
    client: httpx.AsyncClient, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    reward = await client.post(
        f"/api/v1/programs/{program['id']}/rewards",
        headers=auth(key),
        json={
            "name": "Bonus",
            "cost": 100,
            "stock": 1,
            "per_customer_limit": 1,
            "kind": "credit",
            "credit_amount": 30,
        },
    )
    assert reward.status_code == 201, reward.text
    reward_id = reward.json()["id"]
    card = await open_card(client, key, program["id"], customer={"external_id": "c1"})
    await _purchase(client, key, card["id"], "p", 1500)  # 200
    url = f"/api/v1/accounts/{card['id']}/rewards/{reward_id}/redeem"
    taken = await client.post(url, headers={**auth(key), "Idempotency-Key": "r1"})
    assert taken.status_code == 200, taken.text
    assert taken.json()["balance"] == 200 - 100 + 30
    assert (await client.post(url, headers={**auth(key), "Idempotency-Key": "r1"})).json()[
        "replayed"
    ]
    limit = await client.post(url, headers={**auth(key), "Idempotency-Key": "r2"})
    assert limit.status_code == 409
    assert limit.json()["error"]["details"]["reason"] == "per_customer_limit"
    other = await open_card(client, key, program["id"], customer={"external_id": "c2"})
    await _purchase(client, key, other["id"], "q", 1500)
    sold_out = await client.post(
        f"/api/v1/accounts/{other['id']}/rewards/{reward_id}/redeem",
        headers={**auth(key), "Idempotency-Key": "r3"},
    )
    assert sold_out.status_code == 409
    assert sold_out.json()["error"]["details"]["reason"] == "out_of_stock"
    bad = await client.post(
        f"/api/v1/programs/{program['id']}/rewards",
        headers=auth(key),
        json={"name": "x", "cost": 10, "kind": "coupon"},
    )
    assert bad.status_code == 422


async def test_referrals_reward_both_sides_once_and_refuse_self_referral(
    client: httpx.AsyncClient, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    referrer = await open_card(client, key, program["id"], customer={"email": "a@example.com"})
    self_ref = await client.post(
        f"/api/v1/programs/{program['id']}/accounts",
        headers=auth(key),
        json={"customer": {"phone": "+33612345678"}, "referral_code": referrer["referral_code"]},
    )
    assert self_ref.status_code == 201  # a different customer: fine
    referee = self_ref.json()
    small = await _purchase(client, key, referee["id"], "s", 500)  # under min_amount 10.00
    assert [e["rule"] for e in small["entries"]] == ["spend"]
    big = await _purchase(client, key, referee["id"], "b", 2000)
    assert sorted(e["rule"] for e in big["entries"]) == ["friend", "spend"]
    later = await _purchase(client, key, referee["id"], "c", 2000)
    assert [e["rule"] for e in later["entries"]] == ["spend"]
    account = (await client.get(f"/api/v1/accounts/{referrer['id']}", headers=auth(key))).json()
    assert account["balance"] == 50 + 100

    anonymous = await open_card(client, key, program["id"], referral_code=referrer["referral_code"])
    own = await client.patch(
        f"/api/v1/accounts/{anonymous['id']}",
        headers=auth(key),
        json={"customer": {"email": "a@example.com"}},
    )
    assert own.status_code in (409, 422)
    unknown = await client.post(
        f"/api/v1/programs/{program['id']}/accounts",
        headers=auth(key),
        json={"referral_code": "NOPE1234"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "referral_code_not_found"


async def test_wallet_shows_balances_tiers_and_rewards(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    await client.post(
        f"/api/v1/programs/{program['id']}/rewards",
        headers=auth(key),
        json={"name": "Coffee", "cost": 100, "kind": "credit", "credit_amount": 1},
    )
    await client.post(
        f"/api/v1/programs/{program['id']}/rewards",
        headers=auth(key),
        json={"name": "Lunch", "cost": 5000, "kind": "credit", "credit_amount": 1},
    )
    card = await open_card(client, key, program["id"], customer={"external_id": "w1", "name": "Wu"})
    await _purchase(client, key, card["id"], "p", 2000)
    wallet = (
        await client.get(f"/api/v1/customers/{card['customer_id']}/wallet", headers=auth(key))
    ).json()
    (entry,) = wallet["cards"]
    assert entry["balance"] == 250
    assert entry["tier"]["key"] == "member"
    assert entry["next_tier"] == {
        "key": "silver",
        "name": "Silver",
        "threshold": 500,
        "qualifying_points": 250,
        "points_needed": 250,
    }
    assert [r["name"] for r in entry["rewards_available"]] == ["Coffee"]
    data = await _pass_data(client, key, card["pass_id"], runtime)
    assert data["next_reward"] == "Lunch"
    assert data["points_to_next_reward"] == 4750
    assert data["points_to_next_tier"] == 250
    missing = await client.get(f"/api/v1/customers/{uuid.uuid4()}/wallet", headers=auth(key))
    assert missing.status_code == 404


async def test_a_purchase_reaches_both_wallets_with_a_lock_screen_message(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    apns: FakeApns,
    google_peer: FakeGoogleWallet,
) -> None:
    key = tenant["api_key"]
    put = await client.put(
        "/api/v1/credentials/google",
        headers=auth(key),
        json={"issuer_id": ISSUER, "service_account": google_peer.new_service_account()},
    )
    assert put.status_code == 200
    card = await open_card(client, key, program["id"], customer={"name": "Ada"})
    assert card["pass_urls"]["google"].startswith("https://pay.google.com/gp/v/save/")
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    download = await client.get(card["pass_urls"]["pkpass"].removeprefix(PUBLIC_URL))
    pass_json = json.loads(zipfile.ZipFile(io.BytesIO(download.content)).read("pass.json"))
    token, serial = pass_json["authenticationToken"], pass_json["serialNumber"]
    register = await client.post(
        f"/apple/v1/devices/dev-1/registrations/{pass_json['passTypeIdentifier']}/{serial}",
        headers={"Authorization": f"ApplePass {token}"},
        json={"pushToken": "cd" * 32},
    )
    assert register.status_code == 201

    await _purchase(client, key, card["id"], "pos-77", 2500)  # +250
    await runtime.worker.run_until_idle()
    pushes = apns.wait_for(1)
    assert pushes[-1].token == "cd" * 32
    fresh = await client.get(
        f"/apple/v1/passes/{pass_json['passTypeIdentifier']}/{serial}",
        headers={"Authorization": f"ApplePass {token}"},
    )
    new_json = json.loads(zipfile.ZipFile(io.BytesIO(fresh.content)).read("pass.json"))
    points = new_json["storeCard"]["primaryFields"][0]
    assert points["value"] == 300
    assert points["changeMessage"] == "Your balance is now %@ points"
    obj = google_peer.get("loyaltyObject", f"{ISSUER}.pm-{serial}")
    assert obj is not None
    assert obj["loyaltyPoints"]["balance"] == {"int": 300}
    assert google_peer.notify_count(f"{ISSUER}.pm-{serial}") == 1


async def test_concurrent_spends_never_overdraw(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("parallel connections: PostgreSQL")
    key = tenant["api_key"]
    card = await open_card(client, key, program["id"])
    await _purchase(client, key, card["id"], "p", 4500)  # 50 + 450 = 500

    async def spend(n: int) -> int:
        response = await client.post(
            f"/api/v1/accounts/{card['id']}/spend",
            headers={**auth(key), "Idempotency-Key": f"c-{n}"},
            json={"amount": 30},
        )
        return response.status_code

    statuses = await asyncio.gather(*(spend(n) for n in range(40)))
    assert statuses.count(200) == 16  # 16 × 30 = 480 ≤ 500 < 17 × 30
    assert set(statuses) == {200, 409}
    account = (await client.get(f"/api/v1/accounts/{card['id']}", headers=auth(key))).json()
    assert account["balance"] == 20
    async with runtime.db.sessions() as session:
        total = await session.execute(
            select(func.sum(LedgerEntry.amount)).where(
                LedgerEntry.account_id == uuid.UUID(card["id"])
            )
        )
        assert total.scalar_one() == 20


async def test_concurrent_replays_of_one_activity_post_once(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    program: dict[str, Any],
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("parallel connections: PostgreSQL")
    key = tenant["api_key"]
    card = await open_card(client, key, program["id"])
    responses = await asyncio.gather(
        *(
            _activity(
                client,
                key,
                account_id=card["id"],
                kind="purchase",
                amount=1000,
                currency="EUR",
                external_id="same",
            )
            for _ in range(20)
        )
    )
    assert sorted(r.status_code for r in responses).count(201) == 1
    assert {r.status_code for r in responses} <= {200, 201}
    assert len({json.dumps(r.json()["entries"], sort_keys=True) for r in responses}) == 1
    account = (await client.get(f"/api/v1/accounts/{card['id']}", headers=auth(key))).json()
    assert account["balance"] == 150


async def test_birthdays_earn_once_a_year(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    clock: Clock,
) -> None:
    key = tenant["api_key"]
    rules = [*PROGRAM["earn_rules"], {"key": "bday", "trigger": "birthday", "points": 75}]
    patched = await client.patch(
        f"/api/v1/programs/{program['id']}",
        headers=auth(key),
        json={"config": {**PROGRAM, "earn_rules": rules}},
    )
    assert patched.status_code == 200, patched.text
    today = await open_card(
        client, key, program["id"], customer={"external_id": "b1", "birthday": "1990-03-10"}
    )
    other = await open_card(
        client, key, program["id"], customer={"external_id": "b2", "birthday": "1990-03-11"}
    )
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    await runtime.worker.run_until_idle()  # the job rescheduled itself for tomorrow only

    async def balance(card: dict[str, Any]) -> int:
        account = (await client.get(f"/api/v1/accounts/{card['id']}", headers=auth(key))).json()
        return int(account["balance"])

    assert (await balance(today), await balance(other)) == (125, 50)
    clock.now = START + timedelta(days=1)
    await runtime.worker.run_until_idle()
    assert (await balance(today), await balance(other)) == (125, 125)
    history = (
        await client.get(f"/api/v1/accounts/{today['id']}/history", headers=auth(key))
    ).json()
    assert [e["rule"] for e in history["entries"]].count("bday") == 1


async def test_inactivity_expires_everything_after_the_quiet_period(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    clock: Clock,
) -> None:
    key = tenant["api_key"]
    config = {**PROGRAM, "expiry": {"kind": "inactivity", "days": 60}}
    await client.patch(
        f"/api/v1/programs/{program['id']}", headers=auth(key), json={"config": config}
    )
    card = await open_card(client, key, program["id"])
    clock.now = START + timedelta(days=50)
    await _purchase(client, key, card["id"], "p", 1000)  # activity resets the clock
    clock.now = START + timedelta(days=100)
    spend = await client.post(
        f"/api/v1/accounts/{card['id']}/spend",
        headers={**auth(key), "Idempotency-Key": "k"},
        json={"amount": 10},
    )
    assert spend.status_code == 200
    assert spend.json()["balance"] == 140
    clock.now = START + timedelta(days=111)  # 61 days after the last activity
    again = await client.post(
        f"/api/v1/accounts/{card['id']}/spend",
        headers={**auth(key), "Idempotency-Key": "k2"},
        json={"amount": 10},
    )
    assert again.status_code == 409
    assert again.json()["error"]["details"]["balance"] == 0
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()  # the settle job scheduled by the last activity
    history = (await client.get(f"/api/v1/accounts/{card['id']}/history", headers=auth(key))).json()
    assert history["balance"] == 0
    assert sorted(e["amount"] for e in history["entries"] if e["kind"] == "expire") == [-100, -40]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_cached_balance_is_always_the_ledger_sum(
    seed: int,
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    clock: Clock,
) -> None:
    """Random purchases, returns, spends, adjustments and expiries: at every step the
    cached balance equals the rebuilt one, lots never go negative, and nothing overdraws."""
    import random

    rng = random.Random(seed)
    key = tenant["api_key"]
    config = {
        **PROGRAM,
        "pending_days": rng.choice([0, 3]),
        "expiry": {"kind": "rolling", "days": 20},
    }
    await client.patch(
        f"/api/v1/programs/{program['id']}", headers=auth(key), json={"config": config}
    )
    card = await open_card(client, key, program["id"])
    purchases: list[tuple[str, int]] = []
    assert runtime.worker is not None
    for step in range(25):
        action = rng.choice(["buy", "buy", "return", "spend", "adjust", "wait"])
        if action == "buy":
            amount = rng.randint(100, 5000)
            await _purchase(client, key, card["id"], f"p{step}", amount)
            purchases.append((f"p{step}", amount))
        elif action == "return" and purchases:
            external, amount = rng.choice(purchases)
            await _activity(
                client,
                key,
                account_id=card["id"],
                kind="return",
                amount=rng.randint(1, amount),
                currency="EUR",
                external_id=f"r{step}",
                original_external_id=external,
            )
        elif action == "spend":
            response = await client.post(
                f"/api/v1/accounts/{card['id']}/spend",
                headers={**auth(key), "Idempotency-Key": f"s{step}"},
                json={"amount": rng.randint(1, 300)},
            )
            assert response.status_code in (200, 409)
        elif action == "adjust":
            await client.post(
                f"/api/v1/accounts/{card['id']}/adjustments",
                headers={**auth(key), "Idempotency-Key": f"a{step}"},
                json={"amount": rng.randint(1, 50), "reason": "goodwill"},
            )
        else:
            clock.now += timedelta(days=rng.randint(1, 9))
            await runtime.worker.run_until_idle()
        rebuilt = await client.post(f"/api/v1/accounts/{card['id']}/rebuild", headers=auth(key))
        assert rebuilt.json()["changed"] is False, (step, action, rebuilt.json())
    history = (await client.get(f"/api/v1/accounts/{card['id']}/history", headers=auth(key))).json()
    assert all(e["remaining"] >= 0 for e in history["entries"])
    assert history["balance"] == sum(
        e["amount"] for e in history["entries"] if e["status"] == "posted"
    )


async def test_a_coupon_reward_hands_out_a_code_that_shows_in_the_wallet(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    campaign = await client.post(
        "/api/v1/campaigns",
        headers=auth(key),
        json={"name": "Free coffee", "kind": "free_item", "item_sku": "COF", "item_name": "Coffee"},
    )
    assert campaign.status_code == 201, campaign.text
    reward = await client.post(
        f"/api/v1/programs/{program['id']}/rewards",
        headers=auth(key),
        json={
            "name": "Coffee",
            "cost": 100,
            "kind": "coupon",
            "campaign_id": campaign.json()["id"],
        },
    )
    assert reward.status_code == 201, reward.text
    card = await open_card(client, key, program["id"], customer={"external_id": "cof"})
    await _purchase(client, key, card["id"], "p", 1000)  # 150 points
    taken = await client.post(
        f"/api/v1/accounts/{card['id']}/rewards/{reward.json()['id']}/redeem",
        headers={**auth(key), "Idempotency-Key": "coffee-1"},
    )
    assert taken.status_code == 200, taken.text
    code = taken.json()["code"]["code"]
    assert taken.json()["balance"] == 50
    wallet = (
        await client.get(f"/api/v1/customers/{card['customer_id']}/wallet", headers=auth(key))
    ).json()
    assert [c["code"] for c in wallet["coupons"]] == [code]
    assert wallet["gift_cards"] == []
    assert wallet["cards"][0]["balance"] == 50
    # the code works at the till, once
    first = await client.post(
        "/api/v1/redemptions",
        headers={**auth(key), "Idempotency-Key": "till-1"},
        json={"code": code, "customer_id": card["customer_id"]},
    )
    assert first.status_code in (200, 201), first.text
    second = await client.post(
        "/api/v1/redemptions",
        headers={**auth(key), "Idempotency-Key": "till-2"},
        json={"code": code, "customer_id": card["customer_id"]},
    )
    assert second.status_code >= 400
    assert second.json()["error"]["code"] == "usage_limit_reached"


async def test_refunds_give_points_back_to_the_lots_they_came_from(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    program: dict[str, Any],
    clock: Clock,
) -> None:
    key = tenant["api_key"]
    card = await open_card(client, key, program["id"])  # lot A: 50, expires day 30
    clock.now = START + timedelta(days=10)
    await _purchase(client, key, card["id"], "p", 1000)  # lot B: 100, expires day 40
    spent = await client.post(
        f"/api/v1/accounts/{card['id']}/spend",
        headers={**auth(key), "Idempotency-Key": "s"},
        json={"amount": 70},  # 50 from A, 20 from B
    )
    spend_id = spent.json()["entry"]["id"]
    url = f"/api/v1/accounts/{card['id']}/spend/{spend_id}/refund"
    part = await client.post(
        url, headers={**auth(key), "Idempotency-Key": "r1"}, json={"amount": 30}
    )
    assert part.status_code == 200, part.text
    assert part.json()["balance"] == 110
    rest = await client.post(url, headers={**auth(key), "Idempotency-Key": "r2"}, json={})
    assert rest.json()["entry"]["amount"] == 40
    assert rest.json()["balance"] == 150
    again = await client.post(
        url, headers={**auth(key), "Idempotency-Key": "r3"}, json={"amount": 1}
    )
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "refund_exceeds_spend"
    history = (await client.get(f"/api/v1/accounts/{card['id']}/history", headers=auth(key))).json()
    # each lot holds exactly what it had before the spend, with its own expiry
    lots = {e["rule"]: e["remaining"] for e in history["entries"] if e["kind"] == "earn"}
    assert lots == {"welcome": 50, "spend": 100}
    assert [x["amount"] for x in history["expiring"]] == [50, 100]
    rebuilt = await client.post(f"/api/v1/accounts/{card['id']}/rebuild", headers=auth(key))
    assert rebuilt.json()["changed"] is False


async def test_a_reward_cannot_hand_out_codes_of_another_business_s_campaign(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        other = await tenants.create_tenant(session, "Other café", runtime.clock())
        other_key = await tenants.create_api_key(
            session, other.id, name="other", now=runtime.clock()
        )
    theirs = await client.post(
        "/api/v1/campaigns",
        headers=auth(other_key.secret),
        json={"name": "Theirs", "kind": "free_item", "item_sku": "COF", "item_name": "Coffee"},
    )
    assert theirs.status_code == 201, theirs.text
    for campaign_id in (theirs.json()["id"], str(uuid.uuid4())):
        refused = await client.post(
            f"/api/v1/programs/{program['id']}/rewards",
            headers=auth(tenant["api_key"]),
            json={"name": "Coffee", "cost": 100, "kind": "coupon", "campaign_id": campaign_id},
        )
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"]["code"] == "campaign_not_found"
    listed = await client.get(
        f"/api/v1/programs/{program['id']}/rewards", headers=auth(tenant["api_key"])
    )
    assert listed.json() == []  # nothing was made


async def test_concurrent_retries_of_a_spend_an_adjustment_or_a_reward_post_once(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    program: dict[str, Any],
    database_url: str,
) -> None:
    """A till that retries at once (the same Idempotency-Key, racing): one entry, and
    every answer is that entry."""
    if not database_url.startswith("postgresql"):
        pytest.skip("parallel connections: PostgreSQL")
    key = tenant["api_key"]
    card = await open_card(client, key, program["id"])
    await _purchase(client, key, card["id"], "p", 4500)  # 500 points
    for path, body in (
        ("spend", {"amount": 30}),
        ("adjustments", {"amount": 7, "reason": "goodwill"}),
    ):

        async def post(path: str = path, body: dict[str, Any] = body) -> httpx.Response:
            return await client.post(
                f"/api/v1/accounts/{card['id']}/{path}",
                headers={**auth(key), "Idempotency-Key": f"same-{path}"},
                json=body,
            )

        responses = await asyncio.gather(*(post() for _ in range(12)))
        assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
        assert len({r.json()["entry"]["id"] for r in responses}) == 1
    reward = await client.post(
        f"/api/v1/programs/{program['id']}/rewards",
        headers=auth(key),
        json={"name": "Credit", "cost": 100, "kind": "credit", "credit_amount": 10},
    )
    assert reward.status_code == 201, reward.text
    redeemed = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/accounts/{card['id']}/rewards/{reward.json()['id']}/redeem",
                headers={**auth(key), "Idempotency-Key": "same-reward"},
            )
            for _ in range(12)
        )
    )
    assert {r.status_code for r in redeemed} == {200}, [r.text for r in redeemed]
    assert len({r.json()["entry"]["id"] for r in redeemed}) == 1
    account = (await client.get(f"/api/v1/accounts/{card['id']}", headers=auth(key))).json()
    assert account["balance"] == 500 - 30 + 7 - 100 + 10
