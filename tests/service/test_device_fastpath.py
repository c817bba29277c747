"""The device fast path (passes/apple/fastpath.py) on PostgreSQL: the 304 only while the
pass is unchanged, whatever its date caches and raw pool remember between requests."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from passmint.passes.apple import service
from passmint.runtime import Runtime
from tests.service.conftest import auth
from tests.service.test_pass_cycle import apple_path, setup_pass, unzip

pytestmark = pytest.mark.anyio


async def test_304_only_while_the_pass_is_unchanged(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if runtime.db.dialect != "postgresql":
        pytest.skip("the fast path serves PostgreSQL only")
    lookups = 0
    validator = service.validator_fast

    async def counted(*args: Any) -> Any:
        nonlocal lookups
        lookups += 1
        return await validator(*args)

    monkeypatch.setattr(service, "validator_fast", counted)
    issued = await setup_pass(client, tenant, dev_pki)
    bundle = await client.get(issued["urls"]["pkpass"].removeprefix("https://passes.example.test"))
    pass_json = json.loads(unzip(bundle.content)["pass.json"])
    path = apple_path(f"passes/{pass_json['passTypeIdentifier']}/{pass_json['serialNumber']}")
    headers = {"Authorization": f"ApplePass {pass_json['authenticationToken']}"}

    first = await client.get(path, headers=headers)
    assert first.status_code == 200
    modified = first.headers["last-modified"]
    for _ in range(3):  # the same validator again and again, as devices send it
        same = await client.get(path, headers={**headers, "If-Modified-Since": modified})
        assert same.status_code == 304
        assert same.headers["last-modified"] == modified
        assert same.content == b""
    assert lookups == 3  # answered by the fast path, not the framework

    # a wrong or missing token, or an unknown serial: the same 401, pass or no pass
    wrong = {"Authorization": "ApplePass " + "x" * 32, "If-Modified-Since": modified}
    unknown = apple_path(f"passes/{pass_json['passTypeIdentifier']}/no-such-serial")
    answers = [
        await client.get(path, headers=wrong),
        await client.get(path, headers={"If-Modified-Since": modified}),
        await client.get(unknown, headers={**headers, "If-Modified-Since": modified}),
    ]
    assert {r.status_code for r in answers} == {401}
    assert len({r.content for r in answers}) == 1

    # the pass changes: the validator cached above must now get the new pass, not a 304
    patched = await client.patch(
        f"/api/v1/passes/{issued['id']}",
        headers=auth(tenant["api_key"]),
        json={"data": {"points": 250}},
    )
    assert patched.status_code == 200, patched.text
    stale = await client.get(path, headers={**headers, "If-Modified-Since": modified})
    assert stale.status_code == 200
    assert stale.headers["last-modified"] != modified
    new_json = json.loads(unzip(stale.content)["pass.json"])
    assert new_json["storeCard"]["primaryFields"][0]["value"] == 250
    fresh = await client.get(
        path, headers={**headers, "If-Modified-Since": stale.headers["last-modified"]}
    )
    assert fresh.status_code == 304
    assert fresh.headers["last-modified"] == stale.headers["last-modified"]

    # an unparsable or zoneless date is no validator: the pass itself
    for since in ("garbage", "Sun, 01 Nov 2099 00:00:00 -0000"):
        sent = await client.get(path, headers={**headers, "If-Modified-Since": since})
        assert sent.status_code == 200, since


async def test_raw_pool_connections_come_back_clean(runtime: Runtime) -> None:
    """Released without asyncpg's reset query, a connection still drops an open transaction."""
    if runtime.db.dialect != "postgresql":
        pytest.skip("the raw pool is PostgreSQL only")
    pool = await runtime.db.raw_pool()
    async with pool.acquire() as conn:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        await conn.execute("BEGIN")  # left open on purpose
        assert conn.is_in_transaction()
    async with pool.acquire() as conn:  # the pool hands back its last released connection
        assert await conn.fetchval("SELECT pg_backend_pid()") == backend
        assert not conn.is_in_transaction()
