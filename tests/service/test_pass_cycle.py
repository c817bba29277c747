"""The pass service end to end, in process, on SQLite and PostgreSQL: the iPhone cycle,
the PassKit web service's status codes, push results, and the event log."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from passmint.models import Device, Event, Pass, Registration
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.conftest import PassCheck
from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import auth, cafe_design, put_apple_credentials

pytestmark = pytest.mark.anyio
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
WALLET = "PassBook/1.0 CFNetwork/1568.100.1 Darwin/24.0.0"


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


async def setup_pass(
    client: httpx.AsyncClient, tenant: dict[str, str], pki: DevPki, **data: Any
) -> dict[str, Any]:
    key = tenant["api_key"]
    await put_apple_credentials(client, key, pki)
    design = await cafe_design(client, key)
    template = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "Loyalty", "style": "storeCard", "design": design},
    )
    assert template.status_code == 201, template.text
    issued = await client.post(
        "/api/v1/passes",
        headers=auth(key),
        json={
            "template_id": template.json()["id"],
            "data": {"points": 100, "tier": "Silver", "name": "Ada", **data},
            "external_id": "crm-1",
        },
    )
    assert issued.status_code == 201, issued.text
    body: dict[str, Any] = issued.json()
    body["template_id"] = template.json()["id"]
    return body


def apple_path(path: str) -> str:
    return f"/apple/v1/{path}"


async def register_devices(
    client: httpx.AsyncClient, issued: dict[str, Any], devices: dict[str, str]
) -> dict[str, Any]:
    """Download the pass as a phone does and register each device (id → push token);
    returns the downloaded pass.json."""
    data = (
        await client.get(issued["urls"]["pkpass"].removeprefix("https://passes.example.test"))
    ).content
    pj: dict[str, Any] = json.loads(unzip(data)["pass.json"])
    headers = {"Authorization": f"ApplePass {pj['authenticationToken']}"}
    for device, token in devices.items():
        url = apple_path(
            f"devices/{device}/registrations/{pj['passTypeIdentifier']}/{pj['serialNumber']}"
        )
        registered = await client.post(url, headers=headers, json={"pushToken": token})
        assert registered.status_code == 201
    return pj


async def test_iphone_cycle(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
    check_pass: PassCheck,
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    assert issued["urls"]["pkpass"].startswith("https://passes.example.test/p/")

    # 1. download the pass
    download = await client.get(
        issued["urls"]["pkpass"].removeprefix("https://passes.example.test"),
        headers={"User-Agent": IPHONE},
    )
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/vnd.apple.pkpass"
    report = check_pass(download.content)
    pass_json = report.pass_json
    assert pass_json is not None
    assert pass_json["webServiceURL"] == "https://passes.example.test/apple/"
    token = pass_json["authenticationToken"]
    assert len(token) >= 16
    serial, pass_type = pass_json["serialNumber"], pass_json["passTypeIdentifier"]
    assert pass_json["storeCard"]["primaryFields"][0]["value"] == 100
    headers = {"Authorization": f"ApplePass {token}", "User-Agent": WALLET}

    # 2. register with a push token (201, then 200 on repeat)
    reg = apple_path(f"devices/dev-lib-1/registrations/{pass_type}/{serial}")
    push_token = "ab" * 32
    first = await client.post(reg, headers=headers, json={"pushToken": push_token})
    assert first.status_code == 201, first.text
    again = await client.post(reg, headers=headers, json={"pushToken": push_token})
    assert again.status_code == 200

    listing = await client.get(apple_path(f"devices/dev-lib-1/registrations/{pass_type}"))
    assert listing.status_code == 200
    tag = listing.json()["lastUpdated"]
    assert listing.json()["serialNumbers"] == [serial]
    assert isinstance(tag, str)
    unchanged = await client.get(
        apple_path(f"devices/dev-lib-1/registrations/{pass_type}"),
        params={"passesUpdatedSince": tag},
    )
    assert unchanged.status_code == 204

    # 3. the business PATCHes the pass's data
    patched = await client.patch(
        f"/api/v1/passes/{issued['id']}",
        headers=auth(tenant["api_key"]),
        json={"data": {"points": 250}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2

    # 4. the APNs server receives the push for that token
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    pushes = apns.wait_for(1)
    assert pushes[0].token == push_token
    assert pushes[0].headers["apns-topic"] == pass_type
    assert pushes[0].body == b"{}"
    assert pushes[0].http_version == "2"

    # 5. serials updated since the tag, with a new tag
    updated = await client.get(
        apple_path(f"devices/dev-lib-1/registrations/{pass_type}"),
        params={"passesUpdatedSince": tag},
    )
    assert updated.status_code == 200
    assert updated.json()["serialNumbers"] == [serial]
    assert int(updated.json()["lastUpdated"]) > int(tag)

    # 6. download the new pass: changed field and its change message
    latest = await client.get(apple_path(f"passes/{pass_type}/{serial}"), headers=headers)
    assert latest.status_code == 200
    assert latest.headers["content-type"] == "application/vnd.apple.pkpass"
    new_json = json.loads(unzip(latest.content)["pass.json"])
    primary = new_json["storeCard"]["primaryFields"][0]
    assert primary["value"] == 250
    assert "%@" in primary["changeMessage"]
    assert new_json["serialNumber"] == serial
    assert new_json["authenticationToken"] == token
    check_pass(latest.content)
    not_modified = await client.get(
        apple_path(f"passes/{pass_type}/{serial}"),
        headers={**headers, "If-Modified-Since": latest.headers["last-modified"]},
    )
    assert not_modified.status_code == 304
    assert not_modified.content == b""

    # 7. unregister; afterwards the device gets 204
    gone = await client.delete(reg, headers=headers)
    assert gone.status_code == 200
    after = await client.get(apple_path(f"devices/dev-lib-1/registrations/{pass_type}"))
    assert after.status_code == 204

    async with runtime.db.sessions() as session:
        kinds = list(
            (await session.execute(select(Event.kind).order_by(Event.created_at))).scalars()
        )
        assert await session.scalar(select(func.count()).select_from(Device)) == 0
    for kind in ("issued", "downloaded", "registered", "updated", "pushed", "unregistered"):
        assert kind in kinds, kinds


async def test_patch_that_renders_the_same_does_not_bump(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    same = await client.patch(
        f"/api/v1/passes/{issued['id']}",
        headers=auth(tenant["api_key"]),
        json={"data": {"points": 100, "unused_key": "x"}},
    )
    assert same.status_code == 200
    assert same.json()["version"] == 1
    async with runtime.db.sessions() as session:
        pending = await session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "updated")
        )
    assert pending == 0


async def test_web_service_auth_and_bad_input(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    serial = issued["serial_number"]
    pass_type = "pass.dev.passmint.demo"
    reg = apple_path(f"devices/d1/registrations/{pass_type}/{serial}")
    assert (await client.post(reg, json={"pushToken": "aa"})).status_code == 401
    wrong = {"Authorization": "ApplePass " + "x" * 32}
    assert (await client.post(reg, headers=wrong, json={"pushToken": "aa"})).status_code == 401
    assert (await client.delete(reg, headers=wrong)).status_code == 401
    assert (
        await client.get(apple_path(f"passes/{pass_type}/{serial}"), headers=wrong)
    ).status_code == 401
    unknown = apple_path(f"devices/d1/registrations/{pass_type}/no-such-serial")
    assert (await client.post(unknown, headers=wrong, json={"pushToken": "aa"})).status_code == 401
    other_type = apple_path(f"passes/pass.unknown.type/{serial}")
    assert (await client.get(other_type, headers=wrong)).status_code == 401
    # an unknown device gets 204, never 400/404
    assert (
        await client.get(apple_path(f"devices/nobody/registrations/{pass_type}"))
    ).status_code == 204
    garbage = {"passesUpdatedSince": "garbage"}
    nobody = apple_path(f"devices/nobody/registrations/{pass_type}")
    assert (await client.get(nobody, params=garbage)).status_code == 204
    # the log endpoint needs no auth; it keeps the first entries, cut short (the body
    # itself is bounded by PASSMINT_MAX_BODY_DEVICES: see tests/service/test_body_limits.py)
    assert (
        await client.post(apple_path("log"), json={"logs": ["x" * 5000] + ["y"] * 100})
    ).status_code == 200
    assert (await client.post(apple_path("log"), content=b"not json")).status_code == 400


async def test_malformed_registration_body_is_400_and_changes_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    check_pass: PassCheck,
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    data = (
        await client.get(issued["urls"]["pkpass"].removeprefix("https://passes.example.test"))
    ).content
    pass_json = json.loads(unzip(data)["pass.json"])
    headers = {"Authorization": f"ApplePass {pass_json['authenticationToken']}"}
    reg = apple_path(
        f"devices/d1/registrations/{pass_json['passTypeIdentifier']}/{pass_json['serialNumber']}"
    )
    for body in (b"{", b"[]", b'{"pushToken": 5}', b'{"other": "x"}'):
        response = await client.post(reg, headers=headers, content=body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_body"
    async with runtime.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Registration)) == 0


async def test_trailing_slash_and_dotted_serial_routes(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    await setup_pass(client, tenant, dev_pki)
    response = await client.get("/apple//v1/devices/a.b.c/registrations/pass.dev.passmint.demo")
    assert response.status_code == 204
    dotted = await client.get(
        "/apple/v1/passes/pass.dev.passmint.demo/serial.with.dots",
        headers={"Authorization": "ApplePass " + "y" * 20},
    )
    assert dotted.status_code == 401


async def test_push_410_removes_the_registration_and_results_are_recorded(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    await register_devices(client, issued, {"d-live": "aa" * 32, "d-dead": "bb" * 32})
    apns.fail("bb" * 32, 410, "Unregistered")
    await client.patch(
        f"/api/v1/passes/{issued['id']}",
        headers=auth(tenant["api_key"]),
        json={"data": {"points": 7}},
    )
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    async with runtime.db.sessions() as session:
        remaining = await session.scalar(select(func.count()).select_from(Registration))
        results = list(
            (await session.execute(select(Event.data).where(Event.kind == "pushed"))).scalars()
        )
    assert remaining == 1
    assert sorted(r["status"] for r in results) == [200, 410]


async def test_api_writes_do_not_wait_for_apns(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
) -> None:
    """The push job holds no transaction while APNs answers. On SQLite, whose writers share
    one lock, a push job that held its transaction would make this PATCH wait for APNs."""
    issued = await setup_pass(client, tenant, dev_pki)
    await register_devices(client, issued, {"d-1": "ab" * 32})
    key = auth(tenant["api_key"])
    patched = await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=key, json={"data": {"points": 7}}
    )
    assert patched.status_code == 200
    apns.response_delay = 1.5
    assert runtime.worker is not None
    pushing = asyncio.ensure_future(runtime.worker.run_until_idle())
    await asyncio.to_thread(apns.wait_for, 1)  # the push is at APNs, its answer 1.5 s away
    again = await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=key, json={"data": {"points": 8}}
    )
    assert again.status_code == 200
    async with runtime.db.sessions() as session:
        pushed_meanwhile = await session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "pushed")
        )
    assert pushed_meanwhile == 0  # the PATCH committed while the first push was still out
    apns.response_delay = 0.0
    await pushing
    await runtime.worker.run_until_idle()
    async with runtime.db.sessions() as session:
        results = list(
            (await session.execute(select(Event.data).where(Event.kind == "pushed"))).scalars()
        )
    assert [r["status"] for r in results] == [200, 200]


async def test_tenants_are_isolated(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    from passmint.tenants import service as tenants

    async with runtime.transaction() as session:
        other = await tenants.create_tenant(session, "Other", runtime.clock())
        key = await tenants.create_api_key(session, other.id, name="k", now=runtime.clock())
    for method, url in (
        ("GET", f"/api/v1/passes/{issued['id']}"),
        ("GET", f"/api/v1/templates/{issued['template_id']}"),
    ):
        response = await client.request(method, url, headers=auth(key.secret))
        assert response.status_code == 404
    patch = await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=auth(key.secret), json={"data": {"points": 1}}
    )
    assert patch.status_code == 404
    listing = await client.get("/api/v1/passes", headers=auth(key.secret))
    assert listing.json()["items"] == []
    assert (await client.get("/api/v1/passes", headers=auth("pm_bad_key"))).status_code == 401
    assert (await client.get("/api/v1/passes")).status_code == 401


async def test_idempotent_pass_creation(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    body = {"template_id": issued["template_id"], "data": {"points": 1, "tier": "A", "name": "B"}}
    headers = {**auth(tenant["api_key"]), "Idempotency-Key": "order-42"}
    first = await client.post("/api/v1/passes", headers=headers, json=body)
    second = await client.post("/api/v1/passes", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    conflict = await client.post(
        "/api/v1/passes", headers=headers, json={**body, "external_id": "x"}
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_key_reused"


async def test_last_modified_is_rfc7231_and_strictly_increasing(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    seen = []
    for points in (1, 2, 3):
        await client.patch(
            f"/api/v1/passes/{issued['id']}",
            headers=auth(tenant["api_key"]),
            json={"data": {"points": points}},
        )
        async with runtime.db.sessions() as session:
            p = await session.get(Pass, __import__("uuid").UUID(issued["id"]))
            assert p is not None
            seen.append(p.last_modified)
    assert seen == sorted(set(seen))
    assert format_datetime(seen[0], usegmt=True).endswith("GMT")


async def test_one_push_per_device_for_all_its_changed_passes(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
) -> None:
    """A template change re-renders a device's two passes in one batch: the device is
    pushed once (it then asks for every serial updated since its tag), and both
    registrations record the push."""
    key = tenant["api_key"]
    first = await setup_pass(client, tenant, dev_pki)
    second = (
        await client.post(
            "/api/v1/passes",
            headers=auth(key),
            json={
                "template_id": first["template_id"],
                "data": {"points": 5, "tier": "X", "name": "B"},
            },
        )
    ).json()
    for issued in (first, second):
        download = await client.get(
            issued["urls"]["pkpass"].removeprefix("https://passes.example.test")
        )
        pass_json = json.loads(unzip(download.content)["pass.json"])
        registered = await client.post(
            apple_path(
                f"devices/one-device/registrations/{pass_json['passTypeIdentifier']}/"
                f"{pass_json['serialNumber']}"
            ),
            headers={"Authorization": f"ApplePass {pass_json['authenticationToken']}"},
            json={"pushToken": "ef" * 32},
        )
        assert registered.status_code == 201
    design = await cafe_design(client, key)
    design["description"] = "Café Lumen card, new look"
    patched = await client.patch(
        f"/api/v1/templates/{first['template_id']}", headers=auth(key), json={"design": design}
    )
    assert patched.status_code == 200, patched.text
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    assert [r.token for r in apns.requests] == ["ef" * 32]
    async with runtime.db.sessions() as session:
        pushed = await session.execute(select(Event).where(Event.kind == "pushed"))
        assert len(list(pushed.scalars())) == 2
