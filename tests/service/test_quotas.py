"""Per-tenant quotas (issue 13, item 9): one key made 93 batches and 5,831,802 codes in ten
minutes. Codes, passes, templates and uploaded images are counted as they are created and
refused past the tenant's limit with a 403 ``quota_exceeded`` naming the quota; the count
holds under concurrent requests; a tenant may have limits of its own."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from passmint.config import Settings
from passmint.models import Code, Pass, TenantQuota
from passmint.runtime import Runtime
from tests.fixtures.apns_server import FakeApns
from tests.fixtures.cli import Done, invoke
from tests.fixtures.images import png
from tests.service.conftest import auth, cafe_design, make_settings, put_apple_credentials

pytestmark = pytest.mark.anyio
QUOTAS = {"quota_codes": 30, "quota_passes": 6, "quota_templates": 1, "quota_images": 3}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, apns: FakeApns) -> Settings:
    return make_settings(database_url, tmp_path, apns, **QUOTAS)


def exceeded(response: httpx.Response, **details: Any) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"] == details


async def counted(runtime: Runtime, tenant_id: str) -> dict[str, int]:
    async with runtime.db.sessions() as session:
        rows = (
            await session.execute(
                select(TenantQuota).where(TenantQuota.tenant_id == uuid.UUID(tenant_id))
            )
        ).scalars()
        return {row.kind: row.used for row in rows}


async def test_codes_are_counted_and_refused_past_the_quota(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    campaign = await client.post(
        "/api/v1/campaigns", headers=auth(key), json={"name": "Spring", "kind": "discount",
                                                       "percent_off_bp": 1000},
    )  # fmt: skip
    batches = f"/api/v1/campaigns/{campaign.json()['id']}/batches"
    assert (await client.post(batches, headers=auth(key), json={"count": 25})).status_code == 201
    refused = await client.post(batches, headers=auth(key), json={"count": 10})
    exceeded(refused, quota="codes", limit=30, used=25, requested=10)
    imported = await client.post(
        f"/api/v1/campaigns/{campaign.json()['id']}/codes/import",
        headers={**auth(key), "Content-Type": "text/csv"},
        content=b"code\n" + b"".join(f"IMPORTED{n}\n".encode() for n in range(5)),
    )
    assert imported.status_code == 201, imported.text
    # a publication in a campaign without free codes makes one: none left
    other = await client.post(
        "/api/v1/campaigns", headers=auth(key), json={"name": "Later", "kind": "discount",
                                                       "percent_off_bp": 500},
    )  # fmt: skip
    published = await client.post(
        f"/api/v1/campaigns/{other.json()['id']}/publications", headers=auth(key), json={}
    )
    exceeded(published, quota="codes", limit=30, used=30, requested=1)
    assert (await counted(runtime, tenant["tenant_id"]))["codes"] == 30
    async with runtime.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Code)) == 30


async def test_templates_and_images(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    design = await cafe_design(client, key)  # two images
    again = await client.post(
        "/api/v1/images",
        headers={**auth(key), "Content-Type": "image/png"},
        content=png(87, 87),
    )
    assert again.status_code == 201  # the same image again: stored once, counted once
    third = await client.post(
        "/api/v1/images", headers={**auth(key), "Content-Type": "image/png"}, content=png(90, 90)
    )
    assert third.status_code == 201
    fourth = await client.post(
        "/api/v1/images", headers={**auth(key), "Content-Type": "image/png"}, content=png(91, 91)
    )
    exceeded(fourth, quota="images", limit=3, used=3, requested=1)
    body = {"name": "Loyalty", "style": "storeCard", "design": design}
    assert (await client.post("/api/v1/templates", headers=auth(key), json=body)).status_code == 201
    second = await client.post("/api/v1/templates", headers=auth(key), json=body)
    exceeded(second, quota="templates", limit=1, used=1, requested=1)
    assert await counted(runtime, tenant["tenant_id"]) == {"images": 3, "templates": 1}


async def make_template(client: httpx.AsyncClient, key: str, pki: Any) -> str:
    await put_apple_credentials(client, key, pki)
    design = await cafe_design(client, key)
    template = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "Loyalty", "style": "storeCard", "design": design},
    )
    assert template.status_code == 201, template.text
    return str(template.json()["id"])


async def issue(client: httpx.AsyncClient, key: str, template_id: str, n: int) -> httpx.Response:
    return await client.post(
        "/api/v1/passes",
        headers=auth(key),
        json={"template_id": template_id, "data": {"points": n}, "external_id": f"crm-{n}"},
    )


async def test_concurrent_passes_never_pass_the_quota(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: Any
) -> None:
    """Twelve requests at once with room for six: six passes, six 403s, on PostgreSQL with
    parallel transactions too (each is judged at commit against the committed count)."""
    key = tenant["api_key"]
    template_id = await make_template(client, key, dev_pki)
    answers = await asyncio.gather(*(issue(client, key, template_id, n) for n in range(12)))
    assert sorted(a.status_code for a in answers) == [201] * 6 + [403] * 6
    for answer in answers:
        if answer.status_code == 403:
            error = answer.json()["error"]
            assert (error["code"], error["details"]["quota"]) == ("quota_exceeded", "passes")
    async with runtime.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Pass)) == 6
    assert (await counted(runtime, tenant["tenant_id"]))["passes"] == 6


def test_a_tenant_gets_limits_of_its_own(tmp_path: Path) -> None:
    """``passmint tenants quota``: show the quotas, set one of the tenant's own, go back."""
    env: dict[str, str | None] = {
        "PASSMINT_DATA_DIR": str(tmp_path),
        "PASSMINT_SECRET_KEY": "f" * 43,
        "PASSMINT_QUOTA_PASSES": "500",
        "PASSMINT_DATABASE_URL": None,
        "PASSMINT_REDIS_URL": None,
    }

    def passmint(*args: str) -> Done:
        return invoke(env, *args)

    created = json.loads(passmint("tenants", "create", "Shop", "--json").stdout)
    tenant = created["tenant_id"]
    shown = json.loads(passmint("tenants", "quota", tenant, "--json").stdout)
    assert shown["passes"] == {"used": 0, "limit": 500, "own": False}
    assert passmint("tenants", "quota", tenant, "passes", "2000000").returncode == 0
    shown = json.loads(passmint("tenants", "quota", tenant, "--json").stdout)
    assert shown["passes"] == {"used": 0, "limit": 2_000_000, "own": True}
    assert passmint("tenants", "quota", tenant, "passes", "default").returncode == 0
    shown = json.loads(passmint("tenants", "quota", tenant, "--json").stdout)
    assert shown["passes"] == {"used": 0, "limit": 500, "own": False}
    unknown = passmint("tenants", "quota", str(uuid.uuid4()), "--json")
    assert unknown.returncode == 1
    assert "no tenant" in unknown.stderr
    assert passmint("tenants", "quota", tenant, "coins", "5").returncode == 2


async def test_own_limits_apply(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: Any
) -> None:
    from passmint.tenants import quotas

    key = tenant["api_key"]
    template_id = await make_template(client, key, dev_pki)
    async with runtime.transaction() as session:
        await quotas.set_limit(session, uuid.UUID(tenant["tenant_id"]), quotas.Quota.PASSES, 1)
    assert (await issue(client, key, template_id, 1)).status_code == 201
    exceeded(await issue(client, key, template_id, 2), quota="passes", limit=1, used=1, requested=1)


def test_the_migration_counts_what_tenants_store(tmp_path: Path) -> None:
    """Tenants that stored rows before quotas existed start from what they store: uploaded
    images (assets with a size), not a template's rendered files."""
    import sqlite3

    from alembic import command
    from alembic.config import Config

    from passmint.db import MIGRATIONS

    path = tmp_path / "old.db"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = f"sqlite:///{path}"
    command.upgrade(config, "0007")
    tenant = uuid.uuid4()
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES (?, 'Old', '2026-01-01')",
            (tenant.hex,),
        )
        for n, width in enumerate((87, 480, None)):
            db.execute(
                "INSERT INTO assets (id, tenant_id, sha256, content_type, width, height, data, "
                "created_at) VALUES (?, ?, ?, 'image/png', ?, ?, x'00', '2026-01-01')",
                (uuid.uuid4().hex, tenant.hex, f"{n:064d}", width, width),
            )
        db.execute(
            "INSERT INTO templates (id, tenant_id, name, style, version, created_at, updated_at) "
            "VALUES (?, ?, 'Card', 'storeCard', 1, '2026-01-01', '2026-01-01')",
            (uuid.uuid4().hex, tenant.hex),
        )
    command.upgrade(config, "head")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT kind, used, limit_override FROM tenant_quotas").fetchall()
    assert sorted(rows) == [("images", 2, None), ("templates", 1, None)]
