"""Apple credentials carry the chain their passes are signed with: an upload whose
certificate is issued by another intermediate than Apple's WWDR G4 (the one passmint ships)
must bring it along (``wwdr``, after the certificate in a PEM, or in the .p12) or is
refused; passes then verify against the intermediate's root."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from passmint.wallet.apple.devpki import DevPki
from tests.conftest import PassCheck
from tests.service.conftest import PUBLIC_URL, auth, cafe_template

pytestmark = pytest.mark.anyio


def _p12(pki: DevPki, *, with_intermediate: bool) -> dict[str, Any]:
    blob = pkcs12.serialize_key_and_certificates(
        b"pass",
        pki.pass_key,
        pki.pass_cert,
        [pki.wwdr] if with_intermediate else None,
        serialization.BestAvailableEncryption(b"keychain"),
    )
    return {"format": "p12", "certificate": base64.b64encode(blob).decode(), "password": "keychain"}


def _upload(pki: DevPki, kind: str) -> dict[str, Any]:
    files = {name: data.decode() for name, data in pki.files().items()}
    pem = {"certificate": files["pass-cert.pem"], "private_key": files["pass-key.pem"]}
    return {
        "pem": pem,
        "p12": _p12(pki, with_intermediate=False),
        "pem+wwdr": {**pem, "wwdr": files["wwdr.pem"]},
        "pem chain": {**pem, "certificate": files["pass-cert.pem"] + files["wwdr.pem"]},
        "pem chain, intermediate first": {
            **pem,
            "certificate": files["wwdr.pem"] + files["pass-cert.pem"],
        },
        "p12 chain": _p12(pki, with_intermediate=True),
    }[kind]


@pytest.mark.parametrize("kind", ["pem", "p12"])
async def test_a_certificate_without_its_intermediate_is_refused(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki, kind: str
) -> None:
    response = await client.put(
        "/api/v1/credentials/apple", headers=auth(tenant["api_key"]), json=_upload(dev_pki, kind)
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "wwdr_intermediate_missing"
    issuer = dev_pki.pass_cert.issuer.rfc4514_string()
    assert error["details"] == {"issuer": issuer}
    assert issuer in error["message"]
    assert "O=passmint test PKI" in error["message"]
    stored = await client.get("/api/v1/credentials/apple", headers=auth(tenant["api_key"]))
    assert stored.status_code == 409  # nothing was stored


@pytest.mark.parametrize(
    "kind", ["pem+wwdr", "pem chain", "pem chain, intermediate first", "p12 chain"]
)
async def test_the_chain_is_taken_from_the_upload(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    dev_pki: DevPki,
    check_pass: PassCheck,
    kind: str,
) -> None:
    key = tenant["api_key"]
    response = await client.put(
        "/api/v1/credentials/apple", headers=auth(key), json=_upload(dev_pki, kind)
    )
    assert response.status_code == 200, response.text
    chain = [link["subject"] for link in response.json()["chain"]]
    assert chain == [dev_pki.wwdr.subject.rfc4514_string()]
    template_id = await cafe_template(client, key, name="T")
    issued = await client.post(
        "/api/v1/passes",
        headers=auth(key),
        json={"template_id": template_id, "data": {"points": 1, "tier": "A"}},
    )
    assert issued.status_code == 201, issued.text
    download = await client.get(issued.json()["urls"]["pkpass"].removeprefix(PUBLIC_URL))
    assert download.status_code == 200
    check_pass(download.content)  # the WWDR-like intermediate is in the signature
