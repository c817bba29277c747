"""Request bodies are bounded by route class while they stream in, and JSON nesting is
capped before anything parses it (issue 13, items 3 and 5)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from passmint.app import _served, create_app
from passmint.config import Settings
from passmint.models import Pass
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.service.conftest import PUBLIC_URL, auth
from tests.service.test_pass_cycle import apple_path, setup_pass

pytestmark = pytest.mark.anyio
MIB = 1024 * 1024


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


class Chunks:
    """A streamed request body that counts how much of it the server pulled."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk = chunk
        self.count = count
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


async def test_nested_json_on_the_device_log_is_a_400_without_authentication(
    client: httpx.AsyncClient,
) -> None:
    """The issue's reproduction: 100,000 levels on /apple/v1/log answered 500
    (RecursionError) after 4 s; now a 400 before any parsing, from a body of 8 KiB at
    most, so the nesting that still fits is refused too."""
    for body in (nested(4000), b'{"logs": ' + nested(33) + b"}"):
        error = refused(await client.post(apple_path("log"), content=body), 400, "json_too_deep")
        assert error["details"] == {"max_depth": 32}
    deeper = await client.post(apple_path("log"), content=nested(100_000))
    refused(deeper, 413, "body_too_large")
    fine = await client.post(apple_path("log"), json={"logs": [["nested", ["a", "bit"]]]})
    assert fine.status_code == 200


async def test_every_json_body_has_the_same_depth_guard(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    """FastAPI parses with the json module too: any JSON operation, with or without a
    Content-Type (FastAPI reads a body without one as JSON), and bodies routes parse
    themselves."""
    key = tenant["api_key"]
    deep = b'{"name": "x", "attributes": {"a": ' + nested(40) + b"}}"
    for headers in ({"Content-Type": "application/json"}, {}):
        response = await client.post(
            "/api/v1/customers", headers={**auth(key), **headers}, content=deep
        )
        refused(response, 400, "json_too_deep")
    # Nesting inside a JSON string is parsed by the route: the same guard applies there.
    inner = json.dumps({"signedMessage": nested(5000).decode()})
    callback = await client.post(
        "/google/callbacks", headers={"Content-Type": "application/json"}, content=inner
    )
    refused(callback, 400, "invalid_callback")
    credentials = await client.put(
        "/api/v1/credentials/google",
        headers=auth(key),
        json={"issuer_id": "3388000000012345678", "service_account": nested(5000).decode()},
    )
    refused(credentials, 400, "invalid_google_credentials")
    # Brackets inside strings are text, not nesting.
    text = await client.post(
        "/api/v1/customers", headers=auth(key), json={"name": "[" * 100, "attributes": {}}
    )
    assert text.status_code in (200, 201), text.text


async def test_a_50_mb_pass_data_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """The issue's reproduction: a 50 MB ``data`` was stored (RSS 386 MB)."""
    issued = await setup_pass(client, tenant, dev_pki)
    body = (
        b'{"template_id": "' + issued["template_id"].encode() + b'", "data": {"note": "'
        + b"x" * (50 * MIB) + b'"}}'
    )  # fmt: skip
    response = await client.post("/api/v1/passes", headers=auth(tenant["api_key"]), content=body)
    error = refused(response, 413, "body_too_large")
    assert error["details"] == {"limit": MIB, "route_class": "api"}
    patch = await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=auth(tenant["api_key"]), content=body
    )
    refused(patch, 413, "body_too_large")
    async with runtime.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Pass)) == 1


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient,
) -> None:
    body = Chunks(b"x" * 1024, 100)
    response = await client.post(
        "/api/v1/customers",
        headers={"Content-Length": str(100 * 1024 * 1024), "Content-Type": "application/json"},
        content=body,
    )
    refused(response, 413, "body_too_large")
    assert body.pulled == 0


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(
    client: httpx.AsyncClient,
) -> None:
    """The issue: log bodies were read whole before the 413. A chunked 6.4 MB body is
    refused once its first 8 KiB have arrived."""
    body = Chunks(b"x" * (64 * 1024), 100)
    response = await client.post(apple_path("log"), content=body)
    error = refused(response, 413, "body_too_large")
    assert error["details"] == {"limit": 8 * 1024, "route_class": "devices"}
    assert body.pulled == 1
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize(
    ("method", "path", "content_type", "route_class", "limit"),
    [
        ("POST", "/api/v1/images", "image/png", "images", 10 * MIB),
        ("POST", "/api/v1/campaigns/{id}/codes/import", "text/csv", "imports", 32 * MIB),
        ("POST", "/apple/v1/devices/d/registrations/pass.x/s", "application/json", "devices", 8192),
        ("POST", "/apple//v1/log", "application/json", "devices", 8 * 1024),
        ("POST", "/google/callbacks", "application/json", "callbacks", 64 * 1024),
        ("PUT", "/api/v1/credentials/apple", "application/json", "api", MIB),
        ("GET", "/api/v1/programs", "application/json", "api", MIB),
    ],
)
async def test_each_route_class_has_its_limit(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    method: str,
    path: str,
    content_type: str,
    route_class: str,
    limit: int,
) -> None:
    url = path.replace("{id}", "0190a5f2-0000-7000-8000-000000000000")
    headers = {**auth(tenant["api_key"]), "Content-Type": content_type}
    over = await client.request(method, url, headers=headers, content=b" " * (limit + 1))
    error = refused(over, 413, "body_too_large")
    assert error["details"] == {"limit": limit, "route_class": route_class}
    at = await client.request(method, url, headers=headers, content=b" " * limit)
    assert at.status_code != 413


async def test_limits_are_settings_and_in_the_api_description(settings: Settings) -> None:
    custom = Runtime(settings.model_copy(update={"max_body_devices": 2048, "max_json_depth": 8}))
    await custom.start(worker=False, migrate=False)
    try:
        app = create_app(runtime=custom, worker=False, migrate=False)
        document = app.openapi()
        imports = "/api/v1/campaigns/{campaign_id}/codes/import"
        for path, method in (("/api/v1/passes", "post"), (imports, "post")):
            assert "413" in document["paths"][path][method]["responses"]
        assert "413" not in document["paths"]["/api/v1/programs"]["get"]["responses"]
        description = document["info"]["description"]
        assert "**Limits.**" in description
        for text in ("(`POST /api/v1/images`): 10 MiB", "(`/apple/v1/…`): 2 KiB", "at most 8 deep"):
            assert text in description
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL
        ) as http:
            log = await http.post(apple_path("log"), content=b" " * 2049)
            assert refused(log, 413, "body_too_large")["details"]["limit"] == 2048
            deep = await http.post(apple_path("log"), content=b'{"logs": ' + nested(8) + b"}")
            assert refused(deep, 400, "json_too_deep")["details"] == {"max_depth": 8}
    finally:
        await custom.stop()


async def test_the_served_app_puts_the_limits_outside_the_device_fast_path(
    runtime: Runtime,
) -> None:
    """uvicorn serves ``_served(app)``: the limits come before the fast path, which comes
    before the framework."""
    app = _served(create_app(runtime=runtime, worker=False, migrate=False, fast_path=False))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL
    ) as http:
        poll = await http.get(apple_path("devices/d/registrations/pass.x"))
        assert poll.status_code == 204
        with_body = await http.request(
            "GET", apple_path("devices/d/registrations/pass.x"), content=b" " * 9000
        )
        refused(with_body, 413, "body_too_large")
        refused(await http.post(apple_path("log"), content=nested(4000)), 400, "json_too_deep")
