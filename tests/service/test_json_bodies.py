"""A JSON body sent without ``Content-Type: application/json`` (``curl -d`` sends a form type)
is a 415 that names the header, on every operation that reads JSON (issue 12, item 2)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest

from passmint.wallet.apple.devpki import DevPki
from tests.service.conftest import auth
from tests.service.test_pass_cycle import register_devices, setup_pass

pytestmark = pytest.mark.anyio

FORM = "application/x-www-form-urlencoded"


def json_body_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        # the API's; the device and callback protocols read their JSON bodies themselves
        if path.startswith("/api/")
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


async def test_curl_form_body_is_415_naming_the_header(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    body = json.dumps({"name": "Loyalty", "style": "storeCard", "design": {}})
    response = await client.post(
        "/api/v1/templates",
        headers={**auth(tenant["api_key"]), "Content-Type": FORM},
        content=body,
    )
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["message"] == (
        f"send the body as JSON with the header Content-Type: application/json (got {FORM})"
    )
    assert error["details"] == {"content_type": FORM, "expected": "application/json"}


async def test_body_without_content_type_is_415(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/programs", headers=auth(tenant["api_key"]), content=b'{"name": "Points"}'
    )
    assert "content-type" not in response.request.headers
    assert response.status_code == 415, response.text
    assert response.json()["error"]["message"].endswith("(got no Content-Type)")


async def test_every_json_body_operation_answers_and_documents_415(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = json_body_operations(document)
    assert len(operations) >= 20  # templates, passes, credentials, loyalty, coupons...
    for method, path, operation in operations:
        assert operation["responses"]["415"]["content"]["application/json"]["schema"]
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        response = await client.request(
            method.upper(),
            url,
            headers={**auth(tenant["api_key"]), "Content-Type": "text/plain"},
            content=b"{}",
        )
        assert response.status_code == 415, (method, path, response.text)
        assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_operations_with_other_bodies_keep_them(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """The PNG upload, the CSV import, devices and Google callbacks read their own bodies."""
    document = (await client.get("/openapi.json")).json()
    json_paths = {path for _, path, _ in json_body_operations(document)}
    for raw in ("/api/v1/images", "/api/v1/campaigns/{campaign_id}/codes/import"):
        assert raw not in json_paths
        assert "415" not in next(iter(document["paths"][raw].values()))["responses"]
    issued = await setup_pass(client, tenant, dev_pki)  # uploads images as image/png
    await register_devices(client, issued, {"device-1": "ab" * 32})  # application/json, 201
    not_json = await client.post(
        "/google/callbacks", headers={"Content-Type": FORM}, content=b"signedMessage=x"
    )
    assert not_json.status_code == 400  # its own verdict on the body, not a 415
    assert not_json.json()["error"]["code"] == "invalid_callback"
