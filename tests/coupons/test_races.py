"""Redemptions under real concurrency: PostgreSQL, 50 requests at once through the API, each
on its own pooled connection. Whatever the interleaving, no limit is ever crossed."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from passmint.models import CampaignCustomerUse, Code, Redemption
from passmint.runtime import Runtime
from tests.coupons.conftest import auth, make_campaign, make_codes, make_customer, redeem

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
ORDER = {"amount": 5000, "currency": "EUR"}
N = 50


async def storm(
    http: httpx.AsyncClient, key: str, bodies: list[dict[str, Any]], keys: list[str] | None = None
) -> list[httpx.Response]:
    keys = keys or [str(uuid.uuid4()) for _ in bodies]
    return list(
        await asyncio.gather(*(redeem(http, key, b, k) for b, k in zip(bodies, keys, strict=True)))
    )


def outcome(responses: list[httpx.Response]) -> Counter[str]:
    return Counter("ok" if r.status_code == 201 else r.json()["error"]["code"] for r in responses)


async def code_row(runtime: Runtime, text: str) -> Code:
    async with runtime.db.sessions() as session:
        return (await session.execute(select(Code).where(Code.code == text))).scalar_one()


async def redemption_count(runtime: Runtime, **where: Any) -> int:
    async with runtime.db.sessions() as session:
        query = select(func.count(Redemption.id)).filter_by(**where)
        return int((await session.execute(query)).scalar_one())


async def test_a_single_use_code_is_redeemed_once(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    [code] = await make_codes(client, key, campaign["id"], 1)
    responses = await storm(client, key, [{"code": code, "order": ORDER}] * N)
    assert outcome(responses) == {"ok": 1, "usage_limit_reached": N - 1}
    row = await code_row(runtime, code)
    assert row.used_count == 1
    assert await redemption_count(runtime, code_id=row.id) == 1


async def test_a_code_with_k_uses_is_redeemed_k_times(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    [code] = await make_codes(client, key, campaign["id"], 1, max_uses=7)
    responses = await storm(client, key, [{"code": code, "order": ORDER}] * N)
    assert outcome(responses) == {"ok": 7, "usage_limit_reached": N - 7}
    assert (await code_row(runtime, code)).used_count == 7


async def test_a_gift_card_is_never_overdrawn(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(
        client, key, kind="gift_card", percent_off_bp=None, initial_balance=10_000, currency="EUR"
    )
    [card] = await make_codes(client, key, campaign["id"], 1)
    amounts = [random.randint(100, 900) for _ in range(N)]
    responses = await storm(client, key, [{"code": card, "amount": a} for a in amounts])
    spent = sum(a for a, r in zip(amounts, responses, strict=True) if r.status_code == 201)
    assert set(outcome(responses)) <= {"ok", "insufficient_balance"}
    assert 0 < spent <= 10_000
    balance = (await code_row(runtime, card)).balance
    assert balance == 10_000 - spent
    assert balance is not None
    assert balance >= 0
    # no spend that fit the final balance was refused for want of it
    refused = [a for a, r in zip(amounts, responses, strict=True) if r.status_code != 201]
    assert all(a > 0 for a in refused)
    afters = sorted(r.json()["value"]["balance_after"] for r in responses if r.status_code == 201)
    assert afters[0] == balance
    assert len(set(afters)) == len(afters)  # each spend saw the one before it


async def test_the_per_customer_limit_holds(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    ada = await make_customer(runtime, tenant["tenant_id"])
    campaign = await make_campaign(client, key, rules={"per_customer_limit": 3})
    codes = await make_codes(client, key, campaign["id"], N)
    responses = await storm(
        client, key, [{"code": c, "customer_id": ada, "order": ORDER} for c in codes]
    )
    assert outcome(responses) == {"ok": 3, "conditions_not_met": N - 3}
    async with runtime.db.sessions() as session:
        used = (await session.execute(select(CampaignCustomerUse.used))).scalar_one()
    assert used == 3
    assert await redemption_count(runtime, campaign_id=uuid.UUID(campaign["id"])) == 3


async def test_the_campaign_total_limit_holds(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(client, key, rules={"total_limit": 9})
    codes = await make_codes(client, key, campaign["id"], N)
    responses = await storm(client, key, [{"code": c, "order": ORDER} for c in codes])
    assert outcome(responses) == {"ok": 9, "usage_limit_reached": N - 9}
    fetched = await client.get(f"/api/v1/campaigns/{campaign['id']}", headers=auth(key))
    assert fetched.json()["total_used"] == 9
    # codes that lost the race are untouched: nothing half-applied
    async with runtime.db.sessions() as session:
        used = (await session.execute(select(func.sum(Code.used_count)))).scalar_one()
    assert used == 9


async def test_one_idempotency_key_sent_many_times_redeems_once(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    [code] = await make_codes(client, key, campaign["id"], 1)
    body = {"code": code, "order": ORDER}
    # single-use: a retry judged anew would be told usage_limit_reached, not the result
    responses = await storm(client, key, [body] * 20, ["retry"] * 20)
    assert {r.status_code for r in responses} == {201}, [
        r.text for r in responses if r.status_code != 201
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    assert (await code_row(runtime, code)).used_count == 1


async def test_concurrent_partial_rollbacks_return_at_most_the_charge(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(
        client, key, kind="gift_card", percent_off_bp=None, initial_balance=5000, currency="EUR"
    )
    [card] = await make_codes(client, key, campaign["id"], 1)
    spent = await redeem(client, key, {"code": card, "amount": 1000})
    url = f"/api/v1/redemptions/{spent.json()['id']}/rollback"
    responses = await asyncio.gather(
        *(
            client.post(
                url, headers={**auth(key), "Idempotency-Key": f"rb-{i}"}, json={"amount": 75}
            )
            for i in range(30)
        )
    )
    codes = Counter("ok" if r.status_code == 200 else r.json()["error"]["code"] for r in responses)
    assert codes["ok"] == 13  # 13 x 75 = 975; a 14th would pass 1,000
    assert set(codes) <= {"ok", "invalid_rollback"}
    assert (await code_row(runtime, card)).balance == 4000 + 975


async def test_a_limit_set_during_a_storm_counts_exactly(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    """A total limit set while redemptions run: the rule change waits for those in flight and
    later ones wait for it (no deadlock), and the counter it starts from is exact."""
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    codes = await make_codes(client, key, campaign["id"], N)
    bodies = [{"code": c, "order": ORDER} for c in codes]
    first = asyncio.ensure_future(storm(client, key, bodies[:30]))
    await asyncio.sleep(0.15)
    patch = asyncio.ensure_future(
        client.patch(
            f"/api/v1/campaigns/{campaign['id']}",
            headers=auth(key),
            json={"rules": {"total_limit": 35}},
        )
    )
    await asyncio.sleep(0.02)
    second = await storm(client, key, bodies[30:])
    responses = [*await first, *second]
    assert (await patch).status_code == 200
    results = outcome(responses)
    assert set(results) <= {"ok", "usage_limit_reached"}
    committed = await redemption_count(runtime, campaign_id=uuid.UUID(campaign["id"]))
    assert committed == results["ok"]
    fetched = await client.get(f"/api/v1/campaigns/{campaign['id']}", headers=auth(key))
    assert fetched.json()["total_used"] == committed
    if results["usage_limit_reached"]:  # refusals only once the limit was reached
        assert committed >= 35


async def test_a_retry_that_lands_after_the_first_commit_gets_the_first_result(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    """The window between the API's replay check and the redeeming transaction: the first
    request commits in it and uses the single-use code up. The retry must not be judged
    anew (usage_limit_reached) but answered with the first redemption."""
    from passmint.coupons import redemptions
    from passmint.coupons.schemas import RedeemIn

    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    [code] = await make_codes(client, key, campaign["id"], 1)
    body = RedeemIn.model_validate({"code": code, "order": ORDER})
    results = []
    for _ in range(2):  # both skip the replay lookup, as the API's idempotency layer does
        async with runtime.transaction() as session:
            ctx = runtime.pass_context(session, uuid.UUID(tenant["tenant_id"]))
            results.append(
                (
                    await redemptions.redeem(ctx, body, idempotency_key="late-retry", replay=False)
                ).redemption
            )
    assert results[0].id == results[1].id
    assert (await code_row(runtime, code)).used_count == 1
