"""Passes in wallets for the admin app's pass screens and dashboard: passes issued through the
API, phones that download and register them through Apple's web service, and Google's
save and delete callbacks as the verified callback records them."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

import httpx

from passmint.passes.events import EventKind, record
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.service.conftest import PUBLIC_URL, auth, cafe_design, put_apple_credentials

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
WALLET = "PassBook/1.0 CFNetwork/1568.100.1 Darwin/24.0.0"


async def issue_passes(
    http: httpx.AsyncClient, key: str, pki: DevPki, count: int = 1, *, external_id: str = "crm"
) -> list[dict[str, Any]]:
    """Apple credentials, a template and ``count`` passes (external ids ``crm-0`` …)."""
    await put_apple_credentials(http, key, pki)
    design = await cafe_design(http, key)
    template = await http.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "Lumen card", "style": "storeCard", "design": design},
    )
    assert template.status_code == 201, template.text
    issued = []
    for index in range(count):
        made = await http.post(
            "/api/v1/passes",
            headers=auth(key),
            json={
                "template_id": template.json()["id"],
                "data": {"points": 100 + index, "tier": "Silver", "name": f"Guest {index}"},
                "external_id": f"{external_id}-{index}",
            },
        )
        assert made.status_code == 201, made.text
        issued.append(made.json())
    return issued


async def pass_json(http: httpx.AsyncClient, issued: dict[str, Any]) -> dict[str, Any]:
    """Download the pass as an iPhone does (recorded as a download) and read its pass.json."""
    response = await http.get(
        issued["urls"]["pkpass"].removeprefix(PUBLIC_URL), headers={"User-Agent": IPHONE}
    )
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        found: dict[str, Any] = json.loads(archive.read("pass.json"))
    return found


def _registration(pj: dict[str, Any], device: str) -> str:
    return (
        f"/apple/v1/devices/{device}/registrations/{pj['passTypeIdentifier']}/{pj['serialNumber']}"
    )


async def register(http: httpx.AsyncClient, pj: dict[str, Any], device: str) -> None:
    """Wallet on ``device`` registers the pass for updates (as Wallet adds it)."""
    response = await http.post(
        _registration(pj, device),
        headers={"Authorization": f"ApplePass {pj['authenticationToken']}", "User-Agent": WALLET},
        json={"pushToken": uuid.uuid4().hex * 2},
    )
    assert response.status_code == 201, response.text


async def unregister(http: httpx.AsyncClient, pj: dict[str, Any], device: str) -> None:
    """Wallet on ``device`` unregisters the pass (it was removed there)."""
    response = await http.delete(
        _registration(pj, device),
        headers={"Authorization": f"ApplePass {pj['authenticationToken']}"},
    )
    assert response.status_code == 200, response.text


async def google_callback(
    runtime: Runtime, tenant_id: uuid.UUID, pass_id: str, *, saved: bool
) -> None:
    """What a verified Google save (or delete) callback records for the pass
    (passmint.passes.google.service.apply_callback)."""
    async with runtime.transaction() as session:
        await record(
            session,
            tenant_id=tenant_id,
            kind=EventKind.INSTALLED if saved else EventKind.UNINSTALLED,
            now=runtime.clock(),
            pass_id=uuid.UUID(pass_id),
            platform="google",
            data={"object_id": f"issuer.{pass_id}", "count": 1, "nonce": uuid.uuid4().hex},
        )
