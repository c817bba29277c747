"""Google Wallet through the service: credentials, sync to a real REST + OAuth peer, save
links, callbacks, messages and the landing page, for every vertical, on both databases."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import select

from passmint.config import Settings
from passmint.models import Event, GoogleCredential, OutboxJob
from passmint.passes import service as pass_service
from passmint.passes.google import tasks as google_tasks
from passmint.passes.service import PUSH_JOB
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from passmint.wallet.apple.styles import PassStyle
from tests.conftest import PassCheck
from tests.fixtures.apns_server import FakeApns
from tests.fixtures.google_server import FakeGoogleWallet
from tests.passes.google import discovery
from tests.service.conftest import (
    PUBLIC_URL,
    auth,
    cafe_template,
    google_settings,
    put_apple_credentials,
)
from tests.service.test_loyalty import PROGRAM
from tests.service.test_pass_cycle import register_devices
from tests.wallet.designs.test_render_apple import ASSETS
from tests.wallet.google.test_render import CASES

pytestmark = pytest.mark.anyio
ISSUER = "3388000000012345678"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
ANDROID = "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"

# What a PATCH changes per case, and a text the object at Google must then contain.
CHANGES: dict[str, tuple[dict[str, Any], str]] = {
    "cafe": ({"points": 175}, '"int": 175'),
    "gift_card": ({"balance": 1000}, '"micros": "10000000"'),
    "coupon": ({"code": "LUNCH-2026-ZZ9"}, "LUNCH-2026-ZZ9"),
    "concert": ({"holder": "Katherine Johnson"}, "Katherine Johnson"),
    "gym": ({"plan": "Platinum"}, "Platinum"),
    "flight": ({"seat": "2A"}, '"2A"'),
    "train": ({"seat": "61"}, '"61"'),
}


@pytest.fixture
def google_peer() -> Iterator[FakeGoogleWallet]:
    with FakeGoogleWallet(discovery(), issuer_id=ISSUER) as peer:
        yield peer


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, apns: FakeApns, google_peer: FakeGoogleWallet
) -> Settings:
    return google_settings(
        database_url, tmp_path, apns, google_peer, google_origins=["https://shop.example"]
    )


@pytest.fixture
async def issuer(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    dev_pki: DevPki,
    google_peer: FakeGoogleWallet,
) -> dict[str, Any]:
    """A tenant with Apple credentials and a Google issuer; returns the key file."""
    await put_apple_credentials(client, tenant["api_key"], dev_pki)
    key_file = google_peer.new_service_account()
    response = await client.put(
        "/api/v1/credentials/google",
        headers=auth(tenant["api_key"]),
        json={"issuer_id": ISSUER, "service_account": key_file},
    )
    assert response.status_code == 200, response.text
    return key_file


async def _images(client: httpx.AsyncClient, api_key: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name, data in ASSETS.items():
        response = await client.post(
            "/api/v1/images",
            headers={**auth(api_key), "Content-Type": "image/png"},
            content=data,
        )
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    return ids


def _with_images(design: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    design = copy.deepcopy(design)
    design["images"] = {k: ids[v] for k, v in design["images"].items()}
    if "localized_images" in design:
        design["localized_images"] = {
            lang: {k: ids[v] for k, v in images.items()}
            for lang, images in design["localized_images"].items()
        }
    return design


def _case(case: str) -> tuple[PassStyle, dict[str, Any], dict[str, Any]]:
    """A render test case made issuable: data for every date field, Apple's name type."""
    style, design, data, _ = copy.deepcopy(CASES[case])
    if case == "gym":
        data["valid_until"] = "2027-06-30T00:00:00+02:00"
    if case == "train":
        design["semantics"]["passengerName"] = {"givenName": "{{ passenger }}"}
    return style, design, data


async def _template(
    client: httpx.AsyncClient, api_key: str, case: str, name: str = "t"
) -> tuple[str, PassStyle, dict[str, Any]]:
    style, design, data = _case(case)
    ids = await _images(client, api_key)
    response = await client.post(
        "/api/v1/templates",
        headers=auth(api_key),
        json={"name": name, "style": style.value, "design": _with_images(design, ids)},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], style, data


async def _issue(
    client: httpx.AsyncClient, api_key: str, template_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/passes", headers=auth(api_key), json={"template_id": template_id, "data": data}
    )
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def _synced_cafe_pass(
    client: httpx.AsyncClient, runtime: Runtime, api_key: str
) -> dict[str, Any]:
    """A cafe pass issued and synced to Google (the worker has run until idle)."""
    template_id, _, data = await _template(client, api_key, "cafe")
    issued = await _issue(client, api_key, template_id, data)
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    return issued


def _decode_link(url: str, key_file: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    prefix = "https://pay.google.com/gp/v/save/"
    assert url.startswith(prefix)
    token = url[len(prefix) :]
    assert len(token) <= 1800
    key = load_pem_private_key(key_file["private_key"].encode(), password=None)
    assert isinstance(key, RSAPrivateKey)
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], audience="google")
    return jwt.get_unverified_header(token), claims


async def _events(runtime: Runtime, kind: str) -> list[Event]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(select(Event).where(Event.kind == kind))
        return list(rows.scalars())


@pytest.mark.parametrize("case", sorted(CASES))
async def test_whole_cycle_per_vertical(
    case: str,
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    issuer: dict[str, Any],
    google_peer: FakeGoogleWallet,
) -> None:
    api_key = tenant["api_key"]
    vertical = CASES[case][3]
    template_id, _, data = await _template(client, api_key, case)

    # 1. issue
    response = await client.post(
        "/api/v1/passes", headers=auth(api_key), json={"template_id": template_id, "data": data}
    )
    assert response.status_code == 201, response.text
    issued = response.json()
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()

    # 2. the class and the object are at Google, valid against the discovery schema
    class_id = f"{ISSUER}.pm-{uuid.UUID(template_id).hex}"
    object_id = f"{ISSUER}.pm-{issued['serial_number']}"
    stored_class = google_peer.get(f"{vertical.value}Class", class_id)
    stored_object = google_peer.get(f"{vertical.value}Object", object_id)
    assert stored_class is not None
    assert stored_object is not None
    if vertical.value != "generic":  # GenericClass has no review
        assert stored_class["reviewStatus"] == "UNDER_REVIEW"
    assert stored_class["callbackOptions"] == {"url": f"{PUBLIC_URL}/google/callbacks"}
    assert discovery().validate(vertical.class_schema, stored_class) == []
    assert discovery().validate(vertical.object_schema, stored_object) == []
    if vertical.value != "generic":
        assert stored_object["state"] == "ACTIVE"
    images = [v for v in json.dumps(stored_class).split('"') if v.startswith(f"{PUBLIC_URL}/i/")]
    for url in images:  # every image Google would fetch is served
        image = await client.get(url.removeprefix(PUBLIC_URL))
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"

    # 3. the save link is a valid RS256 save JWT with the key's kid
    header, claims = _decode_link(issued["urls"]["google"], issuer)
    assert header["kid"] == issuer["private_key_id"]
    assert claims["typ"] == "savetowallet"
    assert claims["iss"] == issuer["client_email"]
    assert claims["origins"] == ["https://shop.example"]
    assert isinstance(claims["iat"], int)
    objects = claims["payload"][vertical.jwt_objects_key]
    assert [o["id"] for o in objects] == [object_id]
    for body in objects:
        skinny = set(body) <= {"id", "classId"}  # a reference: inserted through REST first
        assert discovery().validate(vertical.object_schema, body, partial=skinny) == []

    # 4. a PATCH of the pass's data reaches the object
    patch, needle = CHANGES[case]
    response = await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=auth(api_key), json={"data": patch}
    )
    assert response.status_code == 200, response.text
    await runtime.worker.run_until_idle()
    updated = google_peer.get(f"{vertical.value}Object", object_id)
    assert updated is not None
    assert needle in json.dumps(updated, ensure_ascii=False)
    assert discovery().validate(vertical.object_schema, updated) == []
    patches = [r for r in google_peer.requests if r.method == "PATCH" and object_id in r.path]
    assert len(patches) == 1

    # 5. a signed save callback marks the pass installed (platform google)
    message = google_peer.signer.message(
        classId=class_id, objectId=object_id, nonce=f"n-{uuid.uuid4()}"
    )
    response = await client.post("/google/callbacks", content=google_peer.signer.body(message))
    assert response.status_code == 200, response.text
    installed = await _events(runtime, "installed")
    assert [(e.pass_id, e.platform) for e in installed] == [(uuid.UUID(issued["id"]), "google")]
    shown = await client.get(f"/api/v1/passes/{issued['id']}", headers=auth(api_key))
    assert shown.json()["status"] == "installed"

    # voiding makes the object INACTIVE (generic objects keep their state field too)
    response = await client.post(f"/api/v1/passes/{issued['id']}/void", headers=auth(api_key))
    assert response.status_code == 200
    await runtime.worker.run_until_idle()
    voided = google_peer.get(f"{vertical.value}Object", object_id)
    assert voided is not None
    assert voided["state"] == "INACTIVE"


async def test_one_template_shows_the_same_fields_on_both_wallets(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    issuer: dict[str, Any],
    google_peer: FakeGoogleWallet,
) -> None:
    api_key = tenant["api_key"]
    issued = await _synced_cafe_pass(client, runtime, api_key)
    pkpass = await client.get(issued["urls"]["pkpass"].removeprefix(PUBLIC_URL))
    assert pkpass.status_code == 200
    with zipfile.ZipFile(io.BytesIO(pkpass.content)) as bundle:
        pass_json = json.loads(bundle.read("pass.json"))
    apple: dict[str, str] = {}
    for area in ("headerFields", "primaryFields", "secondaryFields", "auxiliaryFields"):
        for item in pass_json["storeCard"].get(area, []):
            apple[item["key"]] = str(item["value"])
    obj = google_peer.get("loyaltyObject", f"{ISSUER}.pm-{issued['serial_number']}")
    assert obj is not None
    google: dict[str, str] = {m["id"]: m["body"] for m in obj.get("textModulesData", [])}
    points = obj["loyaltyPoints"]["balance"]
    google[pass_json["storeCard"]["primaryFields"][0]["key"]] = str(next(iter(points.values())))
    shown_on_apple = set(apple)
    assert shown_on_apple <= set(google) | {"points"}
    for key in shown_on_apple & set(google):
        assert apple[key] == google[key], key
    assert pass_json["barcodes"][0]["message"] == obj["barcode"]["value"]


async def test_credentials_are_checked_and_never_shown(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    google_peer: FakeGoogleWallet,
) -> None:
    api_key = tenant["api_key"]
    key_file = google_peer.new_service_account()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"issuer_id": "abc", "service_account": key_file}, "issuer_id"),
        ({"issuer_id": "", "service_account": key_file}, "issuer_id"),
        ({"issuer_id": ISSUER, "service_account": "{not json"}, "service_account"),
        (
            {"issuer_id": ISSUER, "service_account": {**key_file, "private_key": "garbage"}},
            "service_account.private_key",
        ),
        (
            {"issuer_id": ISSUER, "service_account": {**key_file, "client_email": "nobody"}},
            "service_account.client_email",
        ),
        (
            {"issuer_id": ISSUER, "service_account": {**key_file, "type": "user"}},
            "service_account.type",
        ),
    ]
    for body, field in cases:
        response = await client.put("/api/v1/credentials/google", headers=auth(api_key), json=body)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_google_credentials"
        assert error["details"]["field"] == field
        assert "PRIVATE KEY" not in response.text
    missing = await client.get("/api/v1/credentials/google", headers=auth(api_key))
    assert missing.status_code == 409
    assert missing.json()["error"]["code"] == "google_credentials_missing"

    ok = await client.put(
        "/api/v1/credentials/google",
        headers=auth(api_key),
        json={"issuer_id": ISSUER, "service_account": json.dumps(key_file)},
    )
    assert ok.status_code == 200, ok.text
    shown = await client.get("/api/v1/credentials/google", headers=auth(api_key))
    assert shown.json()["client_email"] == key_file["client_email"]
    assert "private_key" not in shown.text.replace("private_key_id", "")
    async with runtime.db.sessions() as session:
        stored = (await session.execute(select(GoogleCredential))).scalar_one()
    assert key_file["private_key"].encode()[40:80] not in stored.service_account_enc


async def test_callbacks_are_verified_deduplicated_and_keys_cached(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    issuer: dict[str, Any],
    google_peer: FakeGoogleWallet,
) -> None:
    api_key = tenant["api_key"]
    template_id, _, data = await _template(client, api_key, "cafe")
    issued = await _issue(client, api_key, template_id, data)
    signer = google_peer.signer
    ids = {
        "classId": f"{ISSUER}.pm-{uuid.UUID(template_id).hex}",
        "objectId": f"{ISSUER}.pm-{issued['serial_number']}",
    }
    # a callback for a pass saved from its link before the sync job ran still finds it
    first = signer.body(signer.message(**ids, nonce="nonce-1"))
    assert (await client.post("/google/callbacks", content=first)).status_code == 200
    assert google_peer.root_key_fetches == 1
    replay = await client.post("/google/callbacks", content=first)
    assert replay.status_code == 200
    assert replay.json() == {"status": "duplicate"}

    forged = json.loads(signer.body(signer.message(**ids, nonce="nonce-2")))
    forged["signedMessage"] = forged["signedMessage"].replace('"save"', '"del"')
    bad = await client.post("/google/callbacks", json=forged)
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["reason"] == "bad_message_signature"

    expired = signer.body(
        signer.message(**ids, nonce="nonce-3", expTimeMillis=signer.now_ms - 1000)
    )
    assert (await client.post("/google/callbacks", content=expired)).status_code == 400
    other = signer.body(signer.message(**ids, nonce="nonce-4"), recipient="1234")
    assert (await client.post("/google/callbacks", content=other)).status_code == 400
    stranger = signer.body(
        signer.message(classId="999.c", objectId="999.o", nonce="nonce-5"), recipient="999"
    )
    assert (await client.post("/google/callbacks", content=stranger)).status_code == 400
    assert (await client.post("/google/callbacks", content=b"{}")).status_code == 400

    assert google_peer.root_key_fetches == 1  # forged requests never fetch keys
    installed = await _events(runtime, "installed")
    assert [e.pass_id for e in installed] == [uuid.UUID(issued["id"])]
    assert await _events(runtime, "uninstalled") == []

    deleted = signer.body(signer.message(**ids, eventType="del", nonce="nonce-6"))
    assert (await client.post("/google/callbacks", content=deleted)).status_code == 200
    uninstalled = await _events(runtime, "uninstalled")
    assert [(e.pass_id, e.platform) for e in uninstalled] == [(uuid.UUID(issued["id"]), "google")]


async def test_messages_and_balance_changes_share_the_24h_budget(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    issuer: dict[str, Any],
    google_peer: FakeGoogleWallet,
) -> None:
    api_key = tenant["api_key"]
    issued = await _synced_cafe_pass(client, runtime, api_key)
    assert runtime.worker is not None
    object_id = f"{ISSUER}.pm-{issued['serial_number']}"
    url = f"/api/v1/passes/{issued['id']}"

    # a balance change notifies (NOTIFY_ON_UPDATE) ...
    await client.patch(url, headers=auth(api_key), json={"data": {"points": 200}})
    await runtime.worker.run_until_idle()
    assert google_peer.notify_count(object_id) == 1
    # ... a change of another field does not
    await client.patch(url, headers=auth(api_key), json={"data": {"name": "Ada L."}})
    await runtime.worker.run_until_idle()
    assert google_peer.notify_count(object_id) == 1

    for n in range(3):
        response = await client.post(
            f"{url}/messages",
            headers={**auth(api_key), "Idempotency-Key": f"m-{n}"},
            json={"header": "Double points", "body": f"Today only ({n})"},
        )
        assert response.status_code == 200, response.text
        await runtime.worker.run_until_idle()
    types = [m["messageType"] for m in google_peer.messages("loyaltyObject", object_id)]
    assert types == ["TEXT_AND_NOTIFY", "TEXT_AND_NOTIFY", "TEXT"]
    # the budget is spent: the next balance change updates quietly
    await client.patch(url, headers=auth(api_key), json={"data": {"points": 250}})
    await runtime.worker.run_until_idle()
    assert google_peer.notify_count(object_id) == 1
    assert google_peer.quota_rejections == 0  # we never went over Google's quota

    bad = await client.post(
        f"{url}/messages", headers=auth(api_key), json={"header": " ", "body": "x"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"


async def test_api_writes_do_not_wait_for_google(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    issuer: dict[str, Any],
    google_peer: FakeGoogleWallet,
) -> None:
    """The sync job holds no transaction while Google answers. On SQLite, whose writers
    share one lock, a sync job that held its transaction would make this PATCH wait for
    Google. The pass changes while its older body is on the way, so the job sends it again."""
    api_key = tenant["api_key"]
    issued = await _synced_cafe_pass(client, runtime, api_key)
    assert runtime.worker is not None
    object_id = f"{ISSUER}.pm-{issued['serial_number']}"
    url = f"/api/v1/passes/{issued['id']}"
    assert (await client.patch(url, headers=auth(api_key), json={"data": {"points": 7}})).is_success
    pushed_before = len(await _events(runtime, "pushed"))
    sent_before = len(google_peer.requests)
    google_peer.response_delay = 1.5
    syncing = asyncio.ensure_future(runtime.worker.run_until_idle())
    await asyncio.to_thread(google_peer.wait_for, sent_before + 1)  # the PATCH is at Google
    again = await client.patch(url, headers=auth(api_key), json={"data": {"points": 8}})
    assert again.status_code == 200
    # the PATCH committed while the sync job still waited for Google's answer
    assert len(await _events(runtime, "pushed")) == pushed_before
    google_peer.response_delay = 0.0
    await syncing
    await runtime.worker.run_until_idle()
    stored = google_peer.get("loyaltyObject", object_id)
    assert stored is not None
    assert stored["loyaltyPoints"]["balance"] == {"int": 8}
    async with runtime.db.sessions() as session:
        jobs = (await session.execute(select(OutboxJob))).scalars().all()
    resent = [j for j in jobs if j.name == "google.sync_passes" and j.payload.get("force")]
    assert [j.payload for j in resent] == [
        {"tenant_id": tenant["tenant_id"], "pass_ids": [issued["id"]], "force": True}
    ]  # the older body may have reached Google last: the current one was sent again
    assert all(j.done_at is not None for j in resent)
    assert all(j.failed_at is None and j.last_error is None for j in jobs)
    assert google_peer.internal_errors == []


async def test_google_failures_are_retried_with_backoff(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    issuer: dict[str, Any],
    google_peer: FakeGoogleWallet,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(google_tasks, "RETRY_DELAY", timedelta(0))
    api_key = tenant["api_key"]
    template_id, _, data = await _template(client, api_key, "cafe")
    google_peer.fail(503, times=1, path_contains="loyaltyObject", method="POST")
    issued = await _issue(client, api_key, template_id, data)
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    object_id = f"{ISSUER}.pm-{issued['serial_number']}"
    assert google_peer.get("loyaltyObject", object_id) is not None
    statuses = [
        r.status for r in google_peer.requests if r.method == "POST" and r.path.endswith("Object")
    ]
    assert statuses == [503, 200]

    # a revoked token is replaced once, transparently
    google_peer.revoke_tokens()
    grants = google_peer.token_grants
    await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=auth(api_key), json={"data": {"points": 1}}
    )
    await runtime.worker.run_until_idle()
    assert google_peer.token_grants == grants + 1
    stored = google_peer.get("loyaltyObject", object_id)
    assert stored is not None
    assert stored["loyaltyPoints"]["balance"] == {"int": 1}

    # a body Google rejects shows on the credential instead of being retried forever
    google_peer.fail(400, times=5, path_contains=object_id, message="Invalid resource")
    await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=auth(api_key), json={"data": {"points": 2}}
    )
    await runtime.worker.run_until_idle()
    shown = (await client.get("/api/v1/credentials/google", headers=auth(api_key))).json()
    assert "Invalid resource" in shown["last_error"]


async def test_long_passes_get_a_reference_link_once_inserted(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    issuer: dict[str, Any],
    google_peer: FakeGoogleWallet,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(google_tasks, "RETRY_DELAY", timedelta(0))
    api_key = tenant["api_key"]
    template_id, _, data = await _template(client, api_key, "cafe")
    data = {**data, "name": "Ada " + "L" * 1500}
    response = await client.post(
        "/api/v1/passes", headers=auth(api_key), json={"template_id": template_id, "data": data}
    )
    issued = response.json()
    object_id = f"{ISSUER}.pm-{issued['serial_number']}"
    # the object was inserted through REST before the link was handed out
    assert google_peer.get("loyaltyObject", object_id) is not None
    _, claims = _decode_link(issued["urls"]["google"], issuer)
    assert claims["payload"]["loyaltyObjects"] == [
        {"id": object_id, "classId": f"{ISSUER}.pm-{uuid.UUID(template_id).hex}"}
    ]
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    fetched = (await client.get(f"/api/v1/passes/{issued['id']}", headers=auth(api_key))).json()
    assert fetched["urls"]["google"].startswith("https://pay.google.com/gp/v/save/")
    # the sync job found nothing left to send
    writes = [r for r in google_peer.requests if object_id in r.path or r.path.endswith("Object")]
    assert len(writes) == 1

    # when Google is down at issue time, the pass is issued without a link, which
    # appears once the sync job has inserted the object
    google_peer.fail(503, times=3, path_contains="loyaltyObject")
    response = await client.post(
        "/api/v1/passes", headers=auth(api_key), json={"template_id": template_id, "data": data}
    )
    assert response.status_code == 201
    later = response.json()
    assert later["urls"]["google"] is None
    await runtime.worker.run_until_idle()
    fetched = (await client.get(f"/api/v1/passes/{later['id']}", headers=auth(api_key))).json()
    assert fetched["urls"]["google"] is not None


async def test_designs_google_cannot_show_are_refused_when_saved(
    client: httpx.AsyncClient, tenant: dict[str, str], issuer: dict[str, Any]
) -> None:
    api_key = tenant["api_key"]
    style, design, _ = _case("flight")
    ids = await _images(client, api_key)
    design = _with_images(design, ids)
    del design["semantics"]["airlineCode"]
    response = await client.post(
        "/api/v1/templates",
        headers=auth(api_key),
        json={"name": "flight", "style": style.value, "design": design},
    )
    assert response.status_code == 422, response.text
    problems = response.json()["error"]["details"]["problems"]
    assert any(p["code"] == "google_flight_field_missing" for p in problems)
    design["semantics"]["airlineCode"] = "AL"
    design["locations"] = [{"latitude": 48.0 + i / 100, "longitude": 2.0} for i in range(11)]
    response = await client.post(
        "/api/v1/templates",
        headers=auth(api_key),
        json={"name": "flight", "style": style.value, "design": design},
    )
    assert response.status_code == 422
    assert "locations" in response.text


async def test_landing_page_offers_the_right_wallet(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    issuer: dict[str, Any],
) -> None:
    api_key = tenant["api_key"]
    template_id, _, data = await _template(client, api_key, "cafe")
    issued = await _issue(client, api_key, template_id, data)
    landing = issued["urls"]["landing"].removeprefix(PUBLIC_URL)

    iphone = await client.get(landing, headers={"User-Agent": IPHONE})
    assert iphone.status_code == 200
    # The page's secret URL never leaves in a Referer; its one stylesheet is allowed by hash.
    assert iphone.headers["referrer-policy"] == "no-referrer"
    assert iphone.headers["x-content-type-options"] == "nosniff"
    style = iphone.text.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in iphone.headers["content-security-policy"]
    assert 'data-wallet="apple"' in iphone.text
    assert 'data-wallet="google"' not in iphone.text
    assert "<svg" not in iphone.text

    android = await client.get(landing, headers={"User-Agent": ANDROID})
    assert 'data-wallet="google"' in android.text
    assert 'data-wallet="apple"' not in android.text
    assert "https://pay.google.com/gp/v/save/" in android.text

    desktop = await client.get(
        landing, headers={"User-Agent": DESKTOP, "Accept-Language": "ar;q=0.9, en;q=0.5"}
    )
    assert 'data-wallet="apple"' in desktop.text
    assert 'data-wallet="google"' in desktop.text
    assert "<svg" in desktop.text
    assert f'data-qr="{issued["urls"]["landing"]}"' in desktop.text
    assert 'dir="rtl"' in desktop.text
    assert "Café Lumen" in desktop.text

    assert (await client.get("/p/not-a-token", headers={"User-Agent": IPHONE})).status_code == 404
    missing = await client.get(f"/i/{uuid.uuid4()}.png")
    assert missing.status_code == 404


async def test_objects_turn_expired_at_google_when_the_pass_expires(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    issuer: dict[str, Any],
    google_peer: FakeGoogleWallet,
) -> None:
    api_key = tenant["api_key"]
    template_id, _, data = await _template(client, api_key, "cafe")
    now = runtime.clock()
    expires = (now + timedelta(hours=2)).replace(microsecond=0)
    issued = await _issue(client, api_key, template_id, {**data, "expires_at": expires.isoformat()})
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    object_id = f"{ISSUER}.pm-{issued['serial_number']}"
    stored = google_peer.get("loyaltyObject", object_id)
    assert stored is not None
    assert stored["state"] == "ACTIVE"
    # extended before it ran out: the sync of that change schedules the new expiry
    later = (now + timedelta(hours=4)).replace(microsecond=0)
    patched = await client.patch(
        f"/api/v1/passes/{issued['id']}",
        headers=auth(api_key),
        json={"data": {"expires_at": later.isoformat()}},
    )
    assert patched.status_code == 200
    await runtime.worker.run_until_idle()
    runtime.clock = lambda: now + timedelta(hours=3)
    await runtime.worker.run_until_idle()
    stored = google_peer.get("loyaltyObject", object_id)
    assert stored is not None
    assert stored["state"] == "ACTIVE"
    runtime.clock = lambda: now + timedelta(hours=5)
    await runtime.worker.run_until_idle()
    stored = google_peer.get("loyaltyObject", object_id)
    assert stored is not None
    assert stored["state"] == "EXPIRED"


# -- a tenant with Google credentials only -------------------------------------------------


@pytest.fixture
async def google_only(
    client: httpx.AsyncClient, tenant: dict[str, str], google_peer: FakeGoogleWallet
) -> dict[str, Any]:
    """A tenant with a Google issuer and no Apple credentials; returns the key file."""
    key_file = google_peer.new_service_account()
    response = await client.put(
        "/api/v1/credentials/google",
        headers=auth(tenant["api_key"]),
        json={"issuer_id": ISSUER, "service_account": key_file},
    )
    assert response.status_code == 200, response.text
    return key_file


async def _push_jobs(runtime: Runtime) -> list[OutboxJob]:
    async with runtime.db.sessions() as session:
        query = select(OutboxJob).where(OutboxJob.name == PUSH_JOB)
        return list((await session.execute(query)).scalars())


async def test_a_google_only_tenant_issues_google_passes(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    google_only: dict[str, Any],
    google_peer: FakeGoogleWallet,
    apns: FakeApns,
) -> None:
    api_key = tenant["api_key"]
    template_id, _, data = await _template(client, api_key, "cafe")
    issued = await _issue(client, api_key, template_id, data)
    assert issued["urls"]["pkpass"] is None
    _, claims = _decode_link(issued["urls"]["google"], google_only)
    object_id = f"{ISSUER}.pm-{issued['serial_number']}"
    assert [o["id"] for o in claims["payload"]["loyaltyObjects"]] == [object_id]
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    assert google_peer.get("loyaltyObject", object_id) is not None

    # no .pkpass: a 409 with a code, in JSON
    landing = issued["urls"]["landing"].removeprefix(PUBLIC_URL)
    pkpass = await client.get(f"{landing}.pkpass", headers={"Accept": "application/json"})
    assert pkpass.status_code == 409
    assert pkpass.json()["error"]["code"] == "apple_pass_unavailable"

    # the landing page offers Google Wallet only, on every platform
    for agent in (IPHONE, ANDROID, DESKTOP):
        page = await client.get(landing, headers={"User-Agent": agent})
        assert page.status_code == 200
        assert 'data-wallet="google"' in page.text, agent
        assert 'data-wallet="apple"' not in page.text, agent
        assert ".pkpass" not in page.text, agent

    # a data change and a new template version re-render the pass and reach Google
    patched = await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=auth(api_key), json={"data": {"points": 175}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    assert patched.json()["urls"]["pkpass"] is None
    await runtime.worker.run_until_idle()
    stored = google_peer.get("loyaltyObject", object_id)
    assert stored is not None
    assert '"int": 175' in json.dumps(stored)
    template = (await client.get(f"/api/v1/templates/{template_id}", headers=auth(api_key))).json()
    design = {**template["design"], "description": "Café Lumen card, new edition"}
    saved = await client.patch(
        f"/api/v1/templates/{template_id}", headers=auth(api_key), json={"design": design}
    )
    assert saved.status_code == 200, saved.text
    await runtime.worker.run_until_idle()
    shown = (await client.get(f"/api/v1/passes/{issued['id']}", headers=auth(api_key))).json()
    assert (shown["template_version"], shown["version"]) == (2, 3)
    # no Apple device can hold it: nothing to push, and the Apple web service knows no pass
    assert await _push_jobs(runtime) == []
    assert apns.requests == []
    unknown = await client.get(
        f"/apple/v1/passes/pass.passmint.unassigned/{issued['serial_number']}",
        headers={"Authorization": "ApplePass whatever"},
    )
    assert unknown.status_code == 401


async def test_google_only_passes_become_apple_passes_when_apple_credentials_arrive(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    google_only: dict[str, Any],
    dev_pki: DevPki,
    apns: FakeApns,
    check_pass: PassCheck,
) -> None:
    api_key = tenant["api_key"]
    template_id, _, data = await _template(client, api_key, "cafe")
    issued = await _issue(client, api_key, template_id, data)
    assert issued["urls"]["pkpass"] is None
    await put_apple_credentials(client, api_key, dev_pki)

    shown = (await client.get(f"/api/v1/passes/{issued['id']}", headers=auth(api_key))).json()
    assert shown["urls"]["pkpass"] == f"{issued['urls']['landing']}.pkpass"
    assert shown["urls"]["google"] is not None
    download = await client.get(shown["urls"]["pkpass"].removeprefix(PUBLIC_URL))
    assert download.status_code == 200, download.text
    check_pass(download.content)
    pass_json = await register_devices(client, shown, {"iphone-1": "ab" * 32})
    assert pass_json["passTypeIdentifier"] == "pass.dev.passmint.demo"
    assert pass_json["serialNumber"] == issued["serial_number"]
    iphone = await client.get(
        issued["urls"]["landing"].removeprefix(PUBLIC_URL), headers={"User-Agent": IPHONE}
    )
    assert 'data-wallet="apple"' in iphone.text

    patched = await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=auth(api_key), json={"data": {"points": 9}}
    )
    assert patched.status_code == 200, patched.text
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    assert [r.token for r in apns.wait_for(1)] == ["ab" * 32]
    serials = await client.get(
        f"/apple/v1/devices/iphone-1/registrations/{pass_json['passTypeIdentifier']}"
    )
    assert serials.json()["serialNumbers"] == [issued["serial_number"]]

    # and new passes are Apple passes from the start
    second = await _issue(client, api_key, template_id, data)
    assert second["urls"]["pkpass"] is not None


async def test_a_pass_issued_while_apple_credentials_arrive_gets_them(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    google_only: dict[str, Any],
    dev_pki: DevPki,
) -> None:
    """A Google-only pass issued in a transaction that commits after the Apple credentials'
    upload began still becomes an Apple pass (the upload waits for it)."""
    if runtime.db.dialect != "postgresql":
        pytest.skip("concurrent write transactions: PostgreSQL (SQLite runs them in turn)")
    api_key = tenant["api_key"]
    template_id, _, data = await _template(client, api_key, "cafe")
    issued, commit = asyncio.Event(), asyncio.Event()

    async def issue() -> uuid.UUID:
        async with runtime.transaction() as session:
            ctx = runtime.pass_context(session, uuid.UUID(tenant["tenant_id"]))
            pass_ = await pass_service.issue_pass(
                ctx, template_id=uuid.UUID(template_id), data=data, external_id=None
            )
            issued.set()
            await commit.wait()
        return pass_.id

    pending = asyncio.ensure_future(issue())
    await issued.wait()
    upload = asyncio.ensure_future(put_apple_credentials(client, api_key, dev_pki))
    await asyncio.sleep(0.3)
    assert not upload.done()  # it waits for the pass issued without a pass type
    commit.set()
    pass_id = await pending
    await upload
    shown = (await client.get(f"/api/v1/passes/{pass_id}", headers=auth(api_key))).json()
    assert shown["urls"]["pkpass"] is not None


async def test_a_loyalty_card_opens_for_a_google_only_tenant(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    google_only: dict[str, Any],
    google_peer: FakeGoogleWallet,
) -> None:
    api_key = tenant["api_key"]
    program = await client.post(
        "/api/v1/programs",
        headers=auth(api_key),
        json={
            "name": "Café points",
            "template_id": await cafe_template(client, api_key),
            "config": PROGRAM,
        },
    )
    assert program.status_code == 201, program.text
    card = await client.post(
        f"/api/v1/programs/{program.json()['id']}/accounts",
        headers=auth(api_key),
        json={"customer": {"name": "Ada Lovelace", "email": "ada@example.com"}},
    )
    assert card.status_code == 201, card.text
    urls = card.json()["pass_urls"]
    assert urls["pkpass"] is None
    assert urls["google"].startswith("https://pay.google.com/gp/v/save/")
    assert runtime.worker is not None
    await runtime.worker.run_until_idle()
    pass_ = await client.get(f"/api/v1/passes/{card.json()['pass_id']}", headers=auth(api_key))
    object_id = f"{ISSUER}.pm-{pass_.json()['serial_number']}"
    assert google_peer.get("loyaltyObject", object_id) is not None


async def test_a_tenant_without_wallet_credentials_is_told_both_options(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    api_key = tenant["api_key"]
    template_id, _, data = await _template(client, api_key, "cafe")
    response = await client.post(
        "/api/v1/passes", headers=auth(api_key), json={"template_id": template_id, "data": data}
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "apple_credentials_missing"
    assert "/api/v1/credentials/apple" in error["message"]
    assert "/api/v1/credentials/google" in error["message"]
    assert error["details"]["options"] == [
        "/api/v1/credentials/apple",
        "/api/v1/credentials/google",
    ]


async def test_credentials_warn_when_google_cannot_fetch_the_images(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    google_peer: FakeGoogleWallet,
) -> None:
    body = {"issuer_id": ISSUER, "service_account": google_peer.new_service_account()}
    put = await client.put("/api/v1/credentials/google", headers=auth(tenant["api_key"]), json=body)
    assert put.status_code == 200, put.text
    assert put.json()["warnings"] == []  # the tests' public URL is https
    runtime.settings.public_url = "http://127.0.0.1:8000"
    put = await client.put("/api/v1/credentials/google", headers=auth(tenant["api_key"]), json=body)
    [warning] = put.json()["warnings"]
    assert warning["code"] == "public_url_not_https"
    assert "http://127.0.0.1:8000" in warning["message"]
