"""The REST API around passes: templates and versions, credentials, voiding, bad input."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import select

from passmint.models import AppleCredential
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.fixtures.apns_server import FakeApns
from tests.fixtures.images import jpeg, png
from tests.service.conftest import auth, cafe_design, put_apple_credentials
from tests.service.test_pass_cycle import register_devices, setup_pass, unzip

pytestmark = pytest.mark.anyio


async def test_template_patch_rerenders_and_pushes_every_pass(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
) -> None:
    key = tenant["api_key"]
    first = await setup_pass(client, tenant, dev_pki)
    second = (
        await client.post(
            "/api/v1/passes",
            headers=auth(key),
            json={
                "template_id": first["template_id"],
                "data": {"points": 5, "tier": "A", "name": "B"},
            },
        )
    ).json()
    await register_devices(client, first, {"dev-a": "aa" * 32})
    await register_devices(client, second, {"dev-b": "bb" * 32})
    template = (
        await client.get(f"/api/v1/templates/{first['template_id']}", headers=auth(key))
    ).json()
    design = template["design"]
    design["fields"]["secondary"].append(
        {"key": "promo", "label": "PROMO", "value": "Double points"}
    )
    patched = await client.patch(
        f"/api/v1/templates/{first['template_id']}", headers=auth(key), json={"design": design}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    assert sorted(r.token for r in apns.wait_for(2)) == ["aa" * 32, "bb" * 32]
    for issued in (first, second):
        current = (await client.get(f"/api/v1/passes/{issued['id']}", headers=auth(key))).json()
        assert current["template_version"] == 2
        assert current["version"] == 2
        data = (
            await client.get(current["urls"]["pkpass"].removeprefix("https://passes.example.test"))
        ).content
        fields = json.loads(unzip(data)["pass.json"])["storeCard"]["secondaryFields"]
        assert fields[-1]["value"] == "Double points"


async def test_void(client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    voided = await client.post(
        f"/api/v1/passes/{issued['id']}/void", headers=auth(tenant["api_key"])
    )
    assert voided.status_code == 200
    assert voided.json()["status"] == "voided"
    data = (
        await client.get(issued["urls"]["pkpass"].removeprefix("https://passes.example.test"))
    ).content
    assert json.loads(unzip(data)["pass.json"])["voided"] is True
    again = await client.patch(
        f"/api/v1/passes/{issued['id']}",
        headers=auth(tenant["api_key"]),
        json={"data": {"points": 1}},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "pass_voided"


async def test_credentials_are_encrypted_and_never_shown(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    described = await put_apple_credentials(client, tenant["api_key"], dev_pki)
    assert described["pass_type_id"] == "pass.dev.passmint.demo"
    assert described["team_id"] == "PASSMINT01"
    text = json.dumps(described)
    assert "PRIVATE KEY" not in text
    got = await client.get("/api/v1/credentials/apple", headers=auth(tenant["api_key"]))
    assert got.status_code == 200
    assert "PRIVATE KEY" not in got.text
    assert got.json()["certificate_expires_at"]
    async with runtime.db.sessions() as session:
        row = (await session.execute(select(AppleCredential))).scalar_one()
    assert b"PRIVATE KEY" not in row.private_key_enc
    assert dev_pki.files()["pass-key.pem"][40:80] not in row.private_key_enc


async def test_credentials_from_p12_and_token_auth_push(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
) -> None:
    blob = pkcs12.serialize_key_and_certificates(
        b"pass",
        dev_pki.pass_key,
        dev_pki.pass_cert,
        [dev_pki.wwdr],
        serialization.BestAvailableEncryption(b"keychain"),
    )
    apns_key = ec.generate_private_key(ec.SECP256R1())
    p8 = apns_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    response = await client.put(
        "/api/v1/credentials/apple",
        headers=auth(tenant["api_key"]),
        json={
            "format": "p12",
            "certificate": base64.b64encode(blob).decode(),
            "password": "keychain",
            "apns": {
                "auth": "token",
                "key_p8": p8,
                "key_id": "ABCDE12345",
                "team_id": "PASSMINT01",
            },
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["apns"] == {
        "auth": "token",
        "key_id": "ABCDE12345",
        "team_id": "PASSMINT01",
        "last_error": None,
        "last_error_at": None,
    }
    # a token-auth APNs peer that knows our key
    token_apns = FakeApns(
        auth="token", token_public_keys={"ABCDE12345": apns_key.public_key()}, team_id="PASSMINT01"
    )
    token_apns.start()
    runtime.settings.apns_url = token_apns.base_url
    runtime.settings.apns_ca_file = token_apns.ca_file
    try:
        await token_push(client, runtime, tenant, token_apns)
    finally:
        token_apns.stop()


async def token_push(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], token_apns: FakeApns
) -> None:
    design = await cafe_design(client, tenant["api_key"])
    template = (
        await client.post(
            "/api/v1/templates",
            headers=auth(tenant["api_key"]),
            json={"name": "T", "style": "storeCard", "design": design},
        )
    ).json()
    issued = (
        await client.post(
            "/api/v1/passes",
            headers=auth(tenant["api_key"]),
            json={"template_id": template["id"], "data": {"points": 1, "tier": "A", "name": "N"}},
        )
    ).json()
    await register_devices(client, issued, {"dev-token": "cd" * 32})
    await client.patch(
        f"/api/v1/passes/{issued['id']}",
        headers=auth(tenant["api_key"]),
        json={"data": {"points": 2}},
    )
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    push = token_apns.wait_for(1)[0]
    assert push.headers["authorization"].startswith("bearer ")
    assert push.token == "cd" * 32


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"certificate": "not a pem", "private_key": "x"}, 400, "invalid_certificate"),
        ({"format": "p12", "certificate": "!!!"}, 400, "invalid_input"),
        ({"certificate": "x"}, 400, None),
        ({"nonsense": 1}, 422, "invalid_request"),
    ],
)
async def test_bad_credentials(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    response = await client.put(
        "/api/v1/credentials/apple", headers=auth(tenant["api_key"]), json=body
    )
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error"]["code"] == code


async def test_wrong_p12_password_names_the_problem(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    blob = pkcs12.serialize_key_and_certificates(
        b"p",
        dev_pki.pass_key,
        dev_pki.pass_cert,
        None,
        serialization.BestAvailableEncryption(b"right"),
    )
    response = await client.put(
        "/api/v1/credentials/apple",
        headers=auth(tenant["api_key"]),
        json={"format": "p12", "certificate": base64.b64encode(blob).decode(), "password": "wrong"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wrong_password"


async def test_issuing_needs_credentials(client: httpx.AsyncClient, tenant: dict[str, str]) -> None:
    design = await cafe_design(client, tenant["api_key"])
    template = await client.post(
        "/api/v1/templates",
        headers=auth(tenant["api_key"]),
        json={"name": "T", "style": "storeCard", "design": design},
    )
    assert template.status_code == 201
    issued = await client.post(
        "/api/v1/passes",
        headers=auth(tenant["api_key"]),
        json={"template_id": template.json()["id"], "data": {}},
    )
    assert issued.status_code == 409
    assert issued.json()["error"]["code"] == "apple_credentials_missing"


async def test_bad_designs_and_images_are_rejected_when_saved(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    not_png = await client.post(
        "/api/v1/images", headers={**auth(key), "Content-Type": "image/png"}, content=jpeg(100, 100)
    )
    assert not_png.status_code == 422
    assert not_png.json()["error"]["code"].startswith("image_")
    design = await cafe_design(client, key)
    design["fields"]["primary"][0]["change_message"] = "no placeholder"
    bad = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "T", "style": "storeCard", "design": design},
    )
    assert bad.status_code == 422
    problems = bad.json()["error"]["details"]["problems"]
    assert any("fields.primary[0]" in p["path"] for p in problems)
    design = await cafe_design(client, key)
    design["images"]["icon"] = "00000000-0000-0000-0000-000000000000"
    missing = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "T", "style": "storeCard", "design": design},
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "image_not_found"
    design = await cafe_design(client, key)
    design["locations"] = [{"latitude": 1, "longitude": 1}] * 11
    many = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "T", "style": "storeCard", "design": design},
    )
    assert many.status_code == 422
    small = await client.post(
        "/api/v1/images", headers={**auth(key), "Content-Type": "image/png"}, content=png(10, 10)
    )
    design = await cafe_design(client, key)
    design["images"]["icon"] = small.json()["id"]
    tiny = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "T", "style": "storeCard", "design": design},
    )
    assert tiny.status_code == 422
    assert "87×87" in tiny.text


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/v1/passes/not-a-uuid", None),
        ("PATCH", "/api/v1/passes/00000000-0000-0000-0000-000000000000", {"data": 5}),
        ("POST", "/api/v1/passes", {"template_id": "nope"}),
        ("POST", "/api/v1/templates", {"name": "", "style": "bogus", "design": {}}),
        ("GET", "/api/v1/passes?cursor=@@@", None),
        ("GET", "/api/v1/passes?limit=100000", None),
    ],
)
async def test_malformed_requests_get_4xx_with_a_code(
    client: httpx.AsyncClient, tenant: dict[str, str], method: str, url: str, body: Any
) -> None:
    response = await client.request(method, url, headers=auth(tenant["api_key"]), json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"]


async def test_lists_paginate_with_a_cursor(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    for i in range(4):
        await client.post(
            "/api/v1/passes",
            headers=auth(tenant["api_key"]),
            json={
                "template_id": issued["template_id"],
                "data": {"points": i, "tier": "A", "name": "N"},
                "external_id": f"ext-{i}",
            },
        )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/api/v1/passes", headers=auth(tenant["api_key"]), params=params)
        ).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5
    by_ext = await client.get(
        "/api/v1/passes", headers=auth(tenant["api_key"]), params={"external_id": "ext-2"}
    )
    assert [p["external_id"] for p in by_ext.json()["items"]] == ["ext-2"]
    _ = io, zipfile


async def test_api_keys_scopes_and_revocation(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    admin = auth(tenant["api_key"])
    created = await client.post(
        "/api/v1/api-keys", headers=admin, json={"name": "POS", "scopes": ["passes:read"]}
    )
    assert created.status_code == 201, created.text
    pos_key = created.json()["api_key"]
    assert created.json()["scopes"] == ["passes:read"]
    listing = await client.get("/api/v1/api-keys", headers=admin)
    assert all("api_key" not in key for key in listing.json())
    assert pos_key.split("_", 2)[2] not in listing.text
    assert {k["name"] for k in listing.json()} == {"test", "POS"}
    assert (await client.get("/api/v1/passes", headers=auth(pos_key))).status_code == 200
    forbidden = await client.post("/api/v1/passes", headers=auth(pos_key), json={})
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "insufficient_scope"
    revoked = await client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    after = await client.get("/api/v1/passes", headers=auth(pos_key))
    assert after.status_code == 401
    again = await client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=admin)
    assert again.status_code == 404


async def test_apns_credential_errors_show_on_the_credential(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    apns: FakeApns,
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    await register_devices(client, issued, {"dev-x": "ef" * 32})
    apns.fail("ef" * 32, 403, "BadCertificateEnvironment")
    await client.patch(
        f"/api/v1/passes/{issued['id']}",
        headers=auth(tenant["api_key"]),
        json={"data": {"points": 9}},
    )
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    described = await client.get("/api/v1/credentials/apple", headers=auth(tenant["api_key"]))
    assert described.json()["apns"]["last_error"] == "403 BadCertificateEnvironment"
    assert described.json()["apns"]["last_error_at"]
