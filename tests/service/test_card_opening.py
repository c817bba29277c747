"""Opening a loyalty card with its pass, on both databases: the pass is issued once, in the
opening transaction, with the card's welcome points and tier progress in it; one card per
customer and program; the audit log records the card and its pass as before; issuing and
opening read what they need once (counted on the engine); the tenant's Google credential is
read once per transaction and never outlives it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from passmint.models import Customer, Pass
from passmint.passes.google import credentials as google_credentials
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.fixtures.google_server import FakeGoogleWallet
from tests.fixtures.statements import statements
from tests.passes.google import discovery
from tests.service.conftest import auth, create_program, post_card

pytestmark = pytest.mark.anyio
ISSUER = "3388000000012345678"
PROGRAM: dict[str, Any] = {
    "currency": {"code": "points", "name": "point", "plural": "points"},
    "earn_rules": [
        {"key": "visit", "trigger": "visit", "points": 5},
        {"key": "welcome", "trigger": "enrollment", "points": 50},
    ],
    "tiers": [
        {"key": "member", "name": "Member", "threshold": 0},
        {"key": "silver", "name": "Silver", "threshold": 500},
    ],
    "tier_policy": {"metric": "calendar", "period": "year", "grace_days": 5},
}


@pytest.fixture
def google_peer() -> Iterator[FakeGoogleWallet]:
    with FakeGoogleWallet(discovery(), issuer_id=ISSUER) as peer:
        yield peer


@pytest.fixture
async def program(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki
) -> dict[str, Any]:
    return await create_program(client, tenant["api_key"], dev_pki, PROGRAM)


def tables_read(seen: list[str]) -> list[str]:
    """The first table each SELECT reads."""
    return [s.split(" FROM ", 1)[1].split()[0] for s in seen if s.upper().startswith("SELECT")]


async def test_the_pass_is_issued_once_with_the_welcome_points_and_tier_progress(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    opened = await post_card(client, key, program["id"])
    assert opened.status_code == 201, opened.text
    card = opened.json()
    assert card["balance"] == 50
    assert card["tier"] == "member"
    assert card["pass_urls"]["pkpass"].endswith(".pkpass")
    # no render job has run: this is the pass as the opening transaction issued it
    issued = (await client.get(f"/api/v1/passes/{card['pass_id']}", headers=auth(key))).json()
    assert issued["version"] == 1
    assert issued["external_id"] == card["id"]
    data = issued["data"]
    assert data["points"] == 50
    assert data["currency_name"] == "points"
    assert data["card_number"] == card["number"]
    assert data["referral_code"] == card["referral_code"]
    assert data["tier"] == "Member"
    assert data["next_tier"] == "Silver"
    assert data["points_to_next_tier"] == 450  # the welcome points qualify
    async with runtime.db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Pass).where(Pass.external_id == card["id"])
        )
    assert count == 1


async def test_a_customer_gets_one_card_per_program(
    client: httpx.AsyncClient, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    first = await post_card(
        client, key, program["id"], customer={"external_id": "c-1", "email": "c1@example.test"}
    )
    assert first.status_code == 201, first.text
    for customer in ({"external_id": "c-1"}, {"email": "c1@example.test"}):
        again = await post_card(client, key, program["id"], customer=customer)
        assert again.status_code == 409, again.text
        error = again.json()["error"]
        assert error["code"] == "account_exists"
        assert error["details"] == {"account_id": first.json()["id"]}
    other = await post_card(client, key, program["id"], customer={"external_id": "c-2"})
    assert other.status_code == 201, other.text
    assert other.json()["customer_id"] != first.json()["customer_id"]


async def test_the_card_and_its_pass_are_audited(
    client: httpx.AsyncClient, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    opened = await post_card(client, key, program["id"], customer={"external_id": "audited"})
    assert opened.status_code == 201, opened.text
    card = opened.json()
    listed = await client.get("/api/v1/audit-events", headers=auth(key), params={"limit": 100})
    assert listed.status_code == 200, listed.text
    mine = [
        e
        for e in listed.json()["items"]
        if e["operation"] == "POST /api/v1/programs/{program_id}/accounts"
    ]
    by_action = {e["action"]: e for e in mine}
    assert sorted(e["action"] for e in mine) == [
        "account.created",
        "customer.created",
        "ledger_entry.created",  # the welcome points
        "pass.created",
    ]
    account = by_action["account.created"]
    assert account["object_id"] == card["id"]
    assert account["summary"]["after"]["pass_id"] == card["pass_id"]
    assert account["summary"]["after"]["balance"] == 50
    issued = by_action["pass.created"]
    assert issued["object_id"] == card["pass_id"]
    assert issued["summary"]["after"]["update_tag"] > 0  # the tag taken at commit
    assert issued["summary"]["after"]["auth_token_hash"] == "[redacted]"


async def test_the_google_credential_is_read_once_per_transaction(
    runtime: Runtime, tenant: dict[str, str], google_peer: FakeGoogleWallet
) -> None:
    tenant_id = uuid.UUID(tenant["tenant_id"])
    reads: list[str] = []

    def count(*args: Any) -> None:
        if "FROM google_credentials" in args[2]:
            reads.append(args[2])

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    async with runtime.db.sessions() as session:
        async with session.begin():
            assert await google_credentials.transaction_credential(session, tenant_id) is None
            now = runtime.clock()
            session.add(
                Customer(tenant_id=tenant_id, attributes={}, created_at=now, updated_at=now)
            )
            await session.flush()  # a flush's own inner transaction forgets nothing
            assert await google_credentials.transaction_credential(session, tenant_id) is None
            assert len(reads) == 1
        async with runtime.transaction() as other:
            await google_credentials.put_credentials(
                other,
                runtime.box,
                tenant_id,
                now=runtime.clock(),
                issuer_id=ISSUER,
                service_account=google_peer.new_service_account(),
            )
        async with session.begin():  # a new transaction of the same session reads again
            found = await google_credentials.transaction_credential(session, tenant_id)
            assert found is not None
            assert found.issuer_id == ISSUER
            assert len(reads) == 3  # and put_credentials read it in its own
    async with runtime.transaction() as session:  # stored in this transaction: known at once
        assert await google_credentials.transaction_credential(session, tenant_id) is not None
        stored = await google_credentials.put_credentials(
            session,
            runtime.box,
            tenant_id,
            now=runtime.clock(),
            issuer_id="3388000000000000001",
            service_account=google_peer.new_service_account(),
        )
        known = await google_credentials.transaction_credential(session, tenant_id)
        assert known is stored
        assert known.issuer_id == "3388000000000000001"
    event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)


async def test_issuing_and_opening_read_what_they_need_once(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], program: dict[str, Any]
) -> None:
    key = tenant["api_key"]
    with statements(runtime) as seen:
        issued = await client.post(
            "/api/v1/passes",
            headers=auth(key),
            json={"template_id": program["template_id"], "data": {"points": 1}},
        )
    assert issued.status_code == 201, issued.text
    # the template with its version and the wallet credentials; the quota's count
    assert tables_read(seen) == ["templates", "tenant_quotas"], seen
    assert sum(s.startswith("INSERT INTO passes") for s in seen) == 1, seen
    assert sum(s.startswith("UPDATE passes") for s in seen) == 1, seen  # its update tag
    with statements(runtime) as seen:
        opened = await post_card(client, key, program["id"])
    assert opened.status_code == 201, opened.text
    # the program, its rewards (the pass shows the next one), then the pass's reads
    assert tables_read(seen) == ["programs", "rewards", "templates", "tenant_quotas"], seen
    assert sum(s.startswith("UPDATE accounts") for s in seen) == 1, seen  # its pass
    with statements(runtime) as seen:
        opened = await post_card(client, key, program["id"], customer={"external_id": "new"})
    assert opened.status_code == 201, opened.text
    # a customer created now is not searched for a card
    assert tables_read(seen) == [
        "programs",
        "customers",
        "rewards",
        "templates",
        "tenant_quotas",
    ], seen
