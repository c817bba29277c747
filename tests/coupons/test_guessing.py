"""Guessing coupon codes pays nothing (issue 13, item 11): a till's key is no oracle, misses
are rate-limited per key and per address (then every code, valid or not, gets 429), a burst
of them is recorded in the tenant's event log, and patterns must leave 1,000 times the
space of the codes made from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from passmint.app import create_app
from passmint.config import Settings
from passmint.models import Event
from passmint.runtime import Runtime
from passmint.tenants.scopes import Scope
from tests.coupons.conftest import auth, make_campaign, make_codes, pos_key, redeem
from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import PUBLIC_URL, make_settings

pytestmark = pytest.mark.anyio
ORDER = {"amount": 4550, "currency": "EUR"}
LIMITS = {"coupon_misses": "5/minute", "guess_alarm": "3/hour", "coupon_attempts": "40/minute"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, apns: FakeApns) -> Settings:
    return make_settings(database_url, tmp_path, apns, rate_limits=LIMITS)


def from_address(runtime: Runtime, address: str) -> httpx.AsyncClient:
    app = create_app(runtime=runtime, worker=False, migrate=False)
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)


async def validate(http: httpx.AsyncClient, key: str, code: str) -> httpx.Response:
    return await http.post(
        "/api/v1/validations", headers=auth(key), json={"code": code, "order": ORDER}
    )


async def test_a_till_key_is_no_oracle(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    """The issue's reproduction: a key that only redeems learned, for free, which codes
    are valid and what they are worth. It now redeems only; a till that previews gets the
    validations:write scope, and a key that reads coupons may validate too."""
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    [code] = await make_codes(client, key, campaign["id"], 1)
    till = await pos_key(runtime, tenant["tenant_id"])
    denied = await validate(client, till, code)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "insufficient_scope"
    assert "validations:write" in denied.json()["error"]["message"]
    previewing = await pos_key(runtime, tenant["tenant_id"], Scope.VALIDATIONS_WRITE)
    assert (await validate(client, previewing, code)).json()["valid"] is True
    assert (await validate(client, key, code)).json()["valid"] is True
    assert (await redeem(client, till, {"code": code, "order": ORDER})).status_code == 201


async def test_misses_are_limited_then_no_code_is_told_apart(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    """code_not_found vs usage_limit_reached vs a valid answer told an attacker which codes
    exist. Past five misses a key gets 429 for every code, valid or not, on validations
    and redemptions alike; another key from another address is not affected."""
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    [valid, spent] = await make_codes(client, key, campaign["id"], 2)
    assert (await redeem(client, key, {"code": spent, "order": ORDER})).status_code == 201
    guesser = await pos_key(runtime, tenant["tenant_id"], Scope.VALIDATIONS_WRITE)
    honest = await pos_key(runtime, tenant["tenant_id"], Scope.VALIDATIONS_WRITE)
    async with from_address(runtime, "198.51.100.40") as attacker:
        for n in range(5):
            miss = await validate(attacker, guesser, f"GUESS{n:05d}")
            assert miss.json()["error"]["code"] == "code_not_found"
        for code in (valid, spent, "GUESS99999"):
            for answer in (
                await validate(attacker, guesser, code),
                await redeem(attacker, guesser, {"code": code, "order": ORDER}),
            ):
                assert answer.status_code == 429, answer.text
                assert answer.json()["error"]["code"] == "rate_limited"
                assert answer.json()["error"]["details"]["limit"] == "coupon_misses"
                assert int(answer.headers["retry-after"]) >= 1
        # the address is over its misses too, whichever key it uses
        assert (await validate(attacker, honest, valid)).status_code == 429
    async with from_address(runtime, "198.51.100.41") as till:
        assert (await validate(till, honest, valid)).json()["valid"] is True
        used_up = await validate(till, honest, spent)
        assert used_up.json()["error"]["code"] == "usage_limit_reached"


async def test_redemption_misses_count_too(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    till = await pos_key(runtime, tenant["tenant_id"])
    async with from_address(runtime, "198.51.100.42") as attacker:
        for n in range(5):
            miss = await redeem(attacker, till, {"code": f"GUESS{n:05d}", "order": ORDER})
            assert miss.json()["error"]["code"] == "code_not_found"
        over = await redeem(attacker, till, {"code": "GUESS00009", "order": ORDER})
        assert over.status_code == 429


async def test_a_burst_of_misses_is_recorded_once_per_window(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    """The tenant's alarm: a key's (and an address's) misses past guess_alarm are one
    code_guessing event each in the event log, not one per further miss."""
    till = await pos_key(runtime, tenant["tenant_id"], Scope.VALIDATIONS_WRITE)
    async with from_address(runtime, "198.51.100.43") as attacker:
        for n in range(5):
            await validate(attacker, till, f"GUESS{n:05d}")
    async with runtime.db.sessions() as session:
        events = (
            (await session.execute(select(Event).where(Event.kind == "code_guessing")))
            .scalars()
            .all()
        )
    assert sorted(e.data["by"] for e in events) == ["address", "api_key"]
    assert {str(e.tenant_id) for e in events} == {tenant["tenant_id"]}
    assert {e.data["client"] for e in events} == {"198.51.100.43"}
    assert {e.data["limit"] for e in events} == {"3 per 1 hour"}
    assert len({e.data["api_key_id"] for e in events}) == 1


@pytest.mark.parametrize(
    ("batches", "refused"),
    [
        ([1000], None),  # 10^6 = 1,000 × 1,000: just enough
        ([1001], {"requested": 1001, "earlier": 0, "needed": 1_001_000}),
        ([1000, 1], {"requested": 1, "earlier": 1000, "needed": 1_001_000}),
    ],
)
async def test_patterns_leave_a_thousand_times_the_codes(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    batches: list[int],
    refused: dict[str, Any] | None,
) -> None:
    """A batch whose pattern's space is under 1,000 times the codes made from it (with the
    tenant's earlier batches of that pattern) is refused: any guess hits a code with a
    probability of 1/1,000 at most."""
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    body: dict[str, Any] = {"pattern": "######", "charset": "0123456789"}
    url = f"/api/v1/campaigns/{campaign['id']}/batches"
    answers = [
        await client.post(url, headers=auth(key), json={**body, "count": n}) for n in batches
    ]
    if refused is None:
        assert [a.status_code for a in answers] == [201] * len(batches)
        return
    *made, last = answers
    assert [a.status_code for a in made] == [201] * len(made)
    assert last.status_code == 400, last.text
    error = last.json()["error"]
    assert error["code"] == "pattern_space_too_small"
    assert "1,000 times" in error["message"]
    assert error["details"] == {
        "field": "pattern",
        "possible": 1_000_000,
        "factor": 1000,
        **refused,
    }
