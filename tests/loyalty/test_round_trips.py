"""The money paths read what their invariants need and no more (issue 15): a POS activity
reads its card once, a replay too, a capped rule adds its usage; a spend reads the card,
then its lots and its key; what each writes goes out in one flush at commit (one UPDATE
of the card), and replays write nothing. Counted on the engine, on SQLite and PostgreSQL
alike: a statement that sneaks back into these paths fails here, long before a benchmark
shows it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.fixtures.statements import statements
from tests.service.conftest import auth, create_program, open_card

pytestmark = pytest.mark.anyio

CONFIG: dict[str, Any] = {
    "earn_rules": [
        {"key": "spend", "trigger": "purchase", "points": 10, "per_amount": 100, "currency": "EUR"},
        {"key": "visit", "trigger": "visit", "points": 5, "daily_cap": 10},
    ],
    "tiers": [
        {"key": "member", "name": "Member", "threshold": 0},
        {"key": "silver", "name": "Silver", "threshold": 100_000},
    ],
    "tier_policy": {"metric": "calendar", "period": "year", "grace_days": 30},
    "expiry": {"kind": "rolling", "days": 365},
}


def selects(seen: list[str]) -> list[str]:
    return [s for s in seen if s.upper().startswith("SELECT")]


async def _card(client: httpx.AsyncClient, key: str, dev_pki: DevPki) -> dict[str, Any]:
    program = await create_program(client, key, dev_pki, CONFIG, name="Points")
    return await open_card(client, key, program["id"])


async def test_activities_and_spends_read_once_and_write_in_one_flush(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    key = tenant["api_key"]
    made = await _card(client, key, dev_pki)
    card = made["id"]
    purchase = {"account_id": card, "kind": "purchase", "amount": 2500, "currency": "EUR"}

    with statements(runtime) as seen:
        posted = await client.post(
            "/api/v1/activities", headers=auth(key), json={**purchase, "external_id": "p-1"}
        )
    assert posted.status_code == 201, posted.text
    assert len(selects(seen)) == 1, selects(seen)  # the card, its program, the replay
    assert sum(s.startswith("UPDATE accounts") for s in seen) == 1, seen
    assert posted.json()["balance"] == 250

    with statements(runtime) as seen:
        again = await client.post(
            "/api/v1/activities", headers=auth(key), json={**purchase, "external_id": "p-1"}
        )
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is True
    assert len(selects(seen)) == 1, selects(seen)
    assert not [s for s in seen if s.startswith(("INSERT", "UPDATE"))], seen

    with statements(runtime) as seen:
        visit = await client.post(
            "/api/v1/activities",
            headers=auth(key),
            json={"account_id": card, "kind": "visit", "external_id": "v-1"},
        )
    assert visit.status_code == 201, visit.text
    assert len(selects(seen)) == 2, selects(seen)  # and the capped rule's usage

    with statements(runtime) as seen:  # scanned: the number is found in the same statement
        scanned = await client.post(
            "/api/v1/activities",
            headers=auth(key),
            json={
                **purchase,
                "account_id": None,
                "card_number": made["number"],
                "external_id": "p-2",
            },
        )
    assert scanned.status_code == 201, scanned.text
    assert len(selects(seen)) == 1, selects(seen)

    spend = {**auth(key), "Idempotency-Key": "s-1"}
    with statements(runtime) as seen:
        spent = await client.post(
            f"/api/v1/accounts/{card}/spend", headers=spend, json={"amount": 40}
        )
    assert spent.status_code == 200, spent.text
    assert len(selects(seen)) == 2, selects(seen)  # the card; then its lots and the key
    assert sum(s.startswith("UPDATE accounts") for s in seen) == 1, seen
    assert spent.json()["balance"] == 250 + 5 + 250 - 40

    with statements(runtime) as seen:
        replayed = await client.post(
            f"/api/v1/accounts/{card}/spend", headers=spend, json={"amount": 40}
        )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == spent.json()
    # the card, its key; then the card again for its balance (the session holds an
    # unchanged object weakly, and nothing else held it)
    assert len(selects(seen)) == 3, selects(seen)
    assert not [s for s in seen if s.startswith(("INSERT", "UPDATE"))], seen
