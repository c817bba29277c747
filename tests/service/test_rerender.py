"""A new template version re-renders every pass of the template, in segments of chained
batches, and each changed pass is pushed, tagged and logged exactly once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select

from passmint.models import Event, OutboxJob, Pass
from passmint.passes import repository
from passmint.passes import service as pass_service
from passmint.passes.apple.credentials import require_credential
from passmint.passes.service import RERENDER_JOB, content_hash
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from passmint.wallet.designs.schemas import TemplateDesign
from passmint.worker.outbox import enqueue
from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import auth
from tests.service.test_pass_cycle import apple_path, register_devices, setup_pass

pytestmark = pytest.mark.anyio


async def issue_many(
    client: httpx.AsyncClient, key: str, template_id: str, count: int
) -> list[dict[str, Any]]:
    issued = []
    for i in range(count):
        response = await client.post(
            "/api/v1/passes",
            headers=auth(key),
            json={"template_id": template_id, "data": {"points": i, "tier": "A", "name": f"N{i}"}},
        )
        assert response.status_code == 201, response.text
        issued.append({**response.json(), "template_id": template_id})
    return issued


async def patch_design(client: httpx.AsyncClient, key: str, template_id: str, change: bool) -> None:
    design = (await client.get(f"/api/v1/templates/{template_id}", headers=auth(key))).json()[
        "design"
    ]
    if change:
        design["fields"]["secondary"].append({"key": "promo", "label": "PROMO", "value": "2x"})
    patched = await client.patch(
        f"/api/v1/templates/{template_id}", headers=auth(key), json={"design": design}
    )
    assert patched.status_code == 200, patched.text


async def test_every_pass_of_a_large_template_is_rerendered_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Batches of 2 in 3 segments over 10 live passes and a voided one: every live pass
    gets version 2 and one ``updated`` event; each registered device one push; the device
    finds its serial among those updated since its tag."""
    monkeypatch.setattr(pass_service, "RERENDER_BATCH", 2)
    monkeypatch.setattr(pass_service, "RERENDER_CHAINS", 3)
    key = tenant["api_key"]
    first = await setup_pass(client, tenant, dev_pki)
    passes = [first, *await issue_many(client, key, first["template_id"], 10)]
    voided = passes.pop()
    assert (await client.post(f"/api/v1/passes/{voided['id']}/void", headers=auth(key))).is_success
    tokens = {p["serial_number"]: f"{i:02x}" * 32 for i, p in enumerate(passes[:4])}
    registered = {}
    for i, issued in enumerate(passes[:4]):
        registered[issued["serial_number"]] = await register_devices(
            client, issued, {f"dev-{i}": tokens[issued["serial_number"]]}
        )
    pass_type = registered[first["serial_number"]]["passTypeIdentifier"]
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    tag = (await client.get(apple_path(f"devices/dev-0/registrations/{pass_type}"))).json()[
        "lastUpdated"
    ]

    await patch_design(client, key, first["template_id"], change=True)
    await runtime.worker.run_until_idle()

    assert sorted(r.token for r in apns.wait_for(4)) == sorted(tokens.values())
    for issued in passes:
        current = (await client.get(f"/api/v1/passes/{issued['id']}", headers=auth(key))).json()
        assert (current["version"], current["template_version"]) == (2, 2), issued["id"]
    still = (await client.get(f"/api/v1/passes/{voided['id']}", headers=auth(key))).json()
    assert still["version"] == 2  # voiding changed it once; the template change did not
    since = await client.get(
        apple_path(f"devices/dev-0/registrations/{pass_type}"), params={"passesUpdatedSince": tag}
    )
    assert since.json()["serialNumbers"] == [first["serial_number"]]
    async with runtime.db.sessions() as session:
        updated = (
            await session.execute(
                select(Event.pass_id, func.count())
                .where(Event.kind == "updated", Event.data["reason"].as_string() == "template")
                .group_by(Event.pass_id)
            )
        ).all()
        batches = await session.scalar(select(func.count()).where(OutboxJob.name == RERENDER_JOB))
    assert sorted(str(p) for p, n in updated if n == 1) == sorted(p["id"] for p in passes)
    assert len(updated) == len(passes)
    # a plan; segments of 4, 4 and 2 passes, each taking two batches (the open-ended last
    # segment looks once more, for passes issued meanwhile)
    assert batches == 1 + 3 + 3


async def test_a_new_version_that_renders_the_same_pass_pushes_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
) -> None:
    key = tenant["api_key"]
    issued = await setup_pass(client, tenant, dev_pki)
    await register_devices(client, issued, {"dev-a": "ab" * 32})
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    await patch_design(client, key, issued["template_id"], change=False)
    await runtime.worker.run_until_idle()
    current = (await client.get(f"/api/v1/passes/{issued['id']}", headers=auth(key))).json()
    assert (current["version"], current["template_version"]) == (1, 2)
    assert apns.requests == []
    async with runtime.db.sessions() as session:
        updated = await session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "updated")
        )
    assert updated == 0


async def test_segments_cover_every_pass_once(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """Only the template's live passes count: a voided one and another template's are not
    in any segment."""
    key = tenant["api_key"]
    first = await setup_pass(client, tenant, dev_pki)
    more = await issue_many(client, key, first["template_id"], 11)
    assert (
        await client.post(f"/api/v1/passes/{more[-1]['id']}/void", headers=auth(key))
    ).is_success
    other = await setup_pass(client, tenant, dev_pki)
    await issue_many(client, key, other["template_id"], 3)
    tenant_id, template_id = uuid.UUID(tenant["tenant_id"]), uuid.UUID(first["template_id"])
    async with runtime.db.sessions() as session:
        ids = list(
            (
                await session.execute(
                    select(Pass.id)
                    .where(Pass.template_id == template_id, Pass.status != "voided")
                    .order_by(Pass.id)
                )
            ).scalars()
        )
        cases = {
            (parts, least): await repository.segment_bounds(
                session, tenant_id, template_id, parts, least
            )
            for parts, least in [(3, 1), (4, 3), (2, 6), (5, 11), (1, 1), (20, 1)]
        }
    assert len(ids) == 11
    assert cases[(3, 1)] == [ids[3], ids[7]]  # segments of 4, 4 and 3
    assert cases[(4, 3)] == [ids[2], ids[5], ids[8]]  # 3, 3, 3 and 2
    assert cases[(2, 6)] == [ids[5]]  # 6 and 5
    assert cases[(5, 11)] == []  # one segment: fewer passes than a batch
    assert cases[(1, 1)] == []
    assert cases[(20, 1)] == ids[:-1]  # one pass each


async def test_a_rerender_job_from_before_segments_still_runs(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """Jobs already in an outbox when this version is deployed: ``after: null`` plans, a
    cursor goes on to the end."""
    key = tenant["api_key"]
    first = await setup_pass(client, tenant, dev_pki)
    passes = [first, *await issue_many(client, key, first["template_id"], 2)]
    await patch_design(client, key, first["template_id"], change=True)
    async with runtime.db.sessions() as session, session.begin():  # the new job: undone
        await session.execute(delete(OutboxJob))
    base = {"tenant_id": tenant["tenant_id"], "template_id": first["template_id"]}
    async with runtime.transaction() as session:
        await enqueue(session, RERENDER_JOB, {**base, "after": passes[0]["id"]},
                      now=runtime.clock())  # fmt: skip
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    versions = [
        (await client.get(f"/api/v1/passes/{p['id']}", headers=auth(key))).json()["version"]
        for p in passes
    ]
    assert versions == [1, 2, 2]
    async with runtime.transaction() as session:
        await enqueue(session, RERENDER_JOB, {**base, "after": None}, now=runtime.clock())
    await runtime.worker.run_until_idle()
    first_now = (await client.get(f"/api/v1/passes/{first['id']}", headers=auth(key))).json()
    assert first_now["version"] == 2


def test_the_content_hash_is_the_hash_of_the_pass_and_its_files() -> None:
    """Hashing the files' JSON once per version must give the bytes the whole document
    gives, or every pass would look changed (and be pushed) after an upgrade."""
    pass_json = {
        "organizationName": "Café Zoë",
        "description": "بطاقة",
        "serialNumber": "s.1",
        "storeCard": {"primaryFields": [{"key": "p", "value": 5}]},
        "voided": False,
    }
    files = {"icon.png": "ab" * 32, "logo@2x.png": "cd" * 32, "he.lproj/pass.strings": "ef" * 32}
    files_json = json.dumps(files, sort_keys=True, ensure_ascii=False)
    expected = hashlib.sha256(
        json.dumps([pass_json, files], sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    assert content_hash(pass_json, files_json) == expected


async def test_a_slow_batch_of_an_older_version_never_renders_a_pass_back(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two saves in quick succession (v2, v3): a v2 batch that stalls after reading the
    template, while v3 and its batch commit, must leave the pass at v3."""
    if runtime.db.dialect != "postgresql":
        pytest.skip("concurrent write transactions: PostgreSQL (SQLite runs them in turn)")
    key = tenant["api_key"]
    issued = await setup_pass(client, tenant, dev_pki)
    tenant_id, template_id = uuid.UUID(tenant["tenant_id"]), uuid.UUID(issued["template_id"])
    await patch_design(client, key, issued["template_id"], change=True)  # v2, job not run
    stalled, go_on = asyncio.Event(), asyncio.Event()
    real = require_credential
    calls = 0

    async def slow_first_call(session: Any, owner: uuid.UUID) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            stalled.set()
            await go_on.wait()
        return await real(session, owner)

    monkeypatch.setattr(pass_service, "require_credential", slow_first_call)

    async def batch() -> None:
        async with runtime.transaction() as session:
            ctx = runtime.pass_context(session, tenant_id)
            await pass_service.rerender_template_batch(ctx, template_id, None)

    old = asyncio.ensure_future(batch())
    await stalled.wait()
    design = (await client.get(f"/api/v1/templates/{template_id}", headers=auth(key))).json()
    async with runtime.transaction() as session:  # v3 commits while the v2 batch waits
        await pass_service.update_template(
            runtime.pass_context(session, tenant_id), template_id, name=None,
            design=TemplateDesign.model_validate({**design["design"], "description": "v3"}),
        )  # fmt: skip
    new = asyncio.ensure_future(batch())
    await asyncio.sleep(0.3)  # the v3 batch runs, or waits for the rows the v2 batch holds
    go_on.set()
    await asyncio.gather(old, new)
    async with runtime.db.sessions() as session:
        template_version, version = (
            await session.execute(select(Pass.template_version, Pass.version))
        ).one()
    assert template_version == 3
    assert version in (2, 3)  # one or two renderings, never one back to v2 after v3


async def test_a_pass_issued_while_a_version_commits_gets_that_version(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """Issuing waits for a new version that is committing (and a new version waits for a
    pass being issued), so no pass is rendered with a version its re-render has passed."""
    if runtime.db.dialect != "postgresql":
        pytest.skip("concurrent write transactions: PostgreSQL (SQLite runs them in turn)")
    key = tenant["api_key"]
    first = await setup_pass(client, tenant, dev_pki)
    tenant_id, template_id = uuid.UUID(tenant["tenant_id"]), uuid.UUID(first["template_id"])
    design = (await client.get(f"/api/v1/templates/{template_id}", headers=auth(key))).json()
    async with runtime.transaction() as session:
        await pass_service.update_template(
            runtime.pass_context(session, tenant_id), template_id, name=None,
            design=TemplateDesign.model_validate({**design["design"], "description": "v2"}),
        )  # fmt: skip
        issuing = asyncio.ensure_future(
            client.post(
                "/api/v1/passes",
                headers=auth(key),
                json={"template_id": str(template_id), "data": {"points": 1}},
            )
        )
        await asyncio.sleep(0.3)
        waited = not issuing.done()
    issued = await issuing
    assert waited
    assert issued.status_code == 201, issued.text
    assert issued.json()["version"] == 1
    current = (await client.get(f"/api/v1/passes/{issued.json()['id']}", headers=auth(key))).json()
    assert current["template_version"] == 2
