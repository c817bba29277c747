"""The device fast path (passes/apple/fastpath.py) on PostgreSQL: the 304 only while the
pass is unchanged, whatever its date caches remember between requests; and the lean pool
of raw connections it reads through (db.ReadPool)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

import asyncpg
import httpx
import pytest

from passmint.db import ReadPool
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


async def test_read_pool_shares_few_connections(postgres_url: str) -> None:
    pool = ReadPool(postgres_url, 2)
    try:
        rows = await asyncio.gather(
            *(
                pool.fetchrow("SELECT pg_backend_pid(), pg_sleep(0.02), $1::int", i)
                for i in range(12)
            )
        )
        assert [row[2] for row in rows] == list(range(12))
        assert len({row[0] for row in rows}) <= 2
        assert [r[0] for r in await pool.fetch("SELECT generate_series(1, 3)")] == [1, 2, 3]
    finally:
        await pool.close()
    with pytest.raises(RuntimeError):
        await pool.fetchrow("SELECT 1")


async def test_read_pool_replaces_what_it_cannot_reuse(postgres_url: str) -> None:
    pool = ReadPool(postgres_url, 1)
    try:
        # a connection given back inside a transaction is dropped, not reused
        async with pool.acquire() as conn:
            first = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("BEGIN")
        async with pool.acquire() as conn:
            second = await conn.fetchval("SELECT pg_backend_pid()")
            assert not conn.is_in_transaction()
        assert second != first

        # a query cancelled mid-way: its connection is replaced, the next answer is right
        slow = asyncio.ensure_future(pool.fetchrow("SELECT pg_sleep(5), pg_backend_pid()"))
        await asyncio.sleep(0.2)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        row = await asyncio.wait_for(pool.fetchrow("SELECT 7, pg_backend_pid()"), 5)
        assert row[0] == 7
        assert row[1] != second

        # the server ends the connection: that query fails, the next one reconnects
        pid = (await pool.fetchrow("SELECT pg_backend_pid()"))[0]
        other = await asyncpg.connect(postgres_url)
        try:
            await other.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await other.close()
        with contextlib.suppress(Exception):  # depends on when the client sees the FATAL
            await pool.fetchrow("SELECT 1")
        row = await asyncio.wait_for(pool.fetchrow("SELECT pg_backend_pid()"), 5)
        assert row[0] != pid

        # an error PostgreSQL answers with keeps the connection
        with pytest.raises(asyncpg.DivisionByZeroError):
            await pool.fetchrow("SELECT 1 / 0")
        assert (await pool.fetchrow("SELECT pg_backend_pid()"))[0] == row[0]
    finally:
        await pool.close()


async def test_read_pool_gives_its_slot_back_when_it_cannot_connect() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pool = ReadPool(f"postgresql://postgres@127.0.0.1:{port}/none", 2)
    for _ in range(5):  # more attempts than slots: each fails, none waits forever
        with pytest.raises(ConnectionRefusedError):
            await asyncio.wait_for(pool.fetchrow("SELECT 1"), 10)
    await pool.close()
