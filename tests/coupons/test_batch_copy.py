"""Generated codes go in by COPY when the pattern is sparse; a COPY that meets a taken code
is rolled back to its savepoint and redone by the conflict-skipping INSERT, so a batch still
ends with exactly its count of codes no other holds (on SQLite the INSERT does it all)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from passmint.coupons import batches
from passmint.runtime import Runtime
from tests.coupons.conftest import auth, make_campaign

pytestmark = pytest.mark.anyio

BODY = {"pattern": "##", "charset": "ABCDEFGHJKMNPQRSTUVWXYZ23456789"}  # 31² = 961 codes


async def all_codes(client: httpx.AsyncClient, key: str, campaign_id: str) -> list[str]:
    codes: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get(
                f"/api/v1/campaigns/{campaign_id}/codes", headers=auth(key), params=params
            )
        ).json()
        codes.extend(item["code"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return codes


@pytest.fixture
def crowded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pattern filled far past the guessing rule, with every chunk tried by COPY first:
    the COPY meets taken codes every time."""
    monkeypatch.setattr(batches, "MIN_SPACE_FACTOR", 1)
    monkeypatch.setattr(batches, "COPY_BELOW_COLLISIONS", float("inf"))


@pytest.mark.usefixtures("crowded")
async def test_a_copy_that_meets_taken_codes_is_redone(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    url = f"/api/v1/campaigns/{campaign['id']}/batches"
    first = await client.post(url, headers=auth(key), json={**BODY, "count": 400})
    second = await client.post(url, headers=auth(key), json={**BODY, "count": 300})
    assert first.status_code == second.status_code == 201, second.text
    assert (second.json()["status"], second.json()["inserted"]) == ("ready", 300)
    codes = await all_codes(client, key, campaign["id"])
    assert len(codes) == len(set(codes)) == 700
    # The last 261 codes of the space: 16 rounds of draws cannot find them all.
    full = await client.post(url, headers=auth(key), json={**BODY, "count": 261})
    assert full.status_code == 409, full.text
    assert full.json()["error"]["code"] == "code_space_exhausted"
    assert len(await all_codes(client, key, campaign["id"])) == 700  # rolled back


@pytest.mark.usefixtures("crowded")
async def test_chunks_by_jobs_meet_taken_codes(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batches, "SYNC_LIMIT", 100)
    monkeypatch.setattr(batches, "CHUNK", 250)
    key = tenant["api_key"]
    campaign = await make_campaign(client, key)
    url = f"/api/v1/campaigns/{campaign['id']}/batches"
    assert (await client.post(url, headers=auth(key), json={**BODY, "count": 100})).is_success
    response = await client.post(url, headers=auth(key), json={**BODY, "count": 500})
    assert response.status_code == 202, response.text
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    done = (await client.get(f"{url}/{response.json()['id']}", headers=auth(key))).json()
    assert (done["status"], done["inserted"]) == ("ready", 500)
    codes = await all_codes(client, key, campaign["id"])
    assert len(codes) == len(set(codes)) == 600


async def test_imported_codes_keep_their_own_values(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    """An import goes in by COPY with a value per row where rows differ."""
    key = tenant["api_key"]
    campaign = await make_campaign(
        client, key, kind="gift_card", percent_off_bp=None, initial_balance=2000, currency="EUR"
    )
    rows = [
        f"CARD-{i:04d},{1000 + i},{i % 3 + 1},2027-0{i % 9 + 1}-01T12:00:00+02:00"
        for i in range(50)
    ]
    response = await client.post(
        f"/api/v1/campaigns/{campaign['id']}/codes/import",
        headers={**auth(key), "Content-Type": "text/csv"},
        content=("code,balance,max_uses,expires_at\n" + "\n".join(rows) + "\n").encode(),
    )
    assert response.status_code == 201, response.text
    listed = (
        await client.get(
            f"/api/v1/campaigns/{campaign['id']}/codes", headers=auth(key), params={"limit": 100}
        )
    ).json()["items"]
    got = {item["code"]: (item["balance"], item["max_uses"], item["expires_at"]) for item in listed}
    assert got == {
        f"CARD-{i:04d}": (1000 + i, i % 3 + 1, f"2027-0{i % 9 + 1}-01T10:00:00Z") for i in range(50)
    }
