"""Hostile text (issue 13, item 1): a NUL, another control character or a lone surrogate,
anywhere a client can put text, is a 400 ``invalid_text`` naming the field, never a 500
from the database; and the database itself never receives one, whoever writes it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from passmint.app import create_app
from passmint.db import UnstorableText
from passmint.kit.ids import uuid7
from passmint.models import Customer
from passmint.runtime import Runtime
from tests.service.conftest import PUBLIC_URL, auth
from tests.service.test_pass_cycle import apple_path, setup_pass, unzip

pytestmark = pytest.mark.anyio

NUL = "a\u0000b"


def assert_invalid_text(response: httpx.Response, field: str | None = None) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_text", error
    if field is not None:
        assert error["details"]["field"] == field, error


async def test_nul_in_the_issue_s_json_bodies_is_a_400_naming_the_field(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    headers = {**auth(tenant["api_key"]), "Content-Type": "application/json"}
    # exactly as found: the escape in the JSON text, posted raw
    customer = await client.post(
        "/api/v1/customers", headers=headers, content=b'{"name": "a\\u0000b"}'
    )
    assert_invalid_text(customer, "name")
    assert "U+0000" in customer.json()["error"]["message"]
    activity = await client.post(
        "/api/v1/activities",
        headers=headers,
        json={"card_number": "1234", "kind": "visit", "external_id": NUL},
    )
    assert_invalid_text(activity, "external_id")
    campaign = await client.post(
        "/api/v1/campaigns",
        headers=headers,
        json={"name": NUL, "kind": "discount", "percent_off_bp": 1000},
    )
    assert_invalid_text(campaign, "name")
    # the other controls, and a lone surrogate (a JSON escape that is half of a pair)
    for raw in (b'"a\\u0007b"', b'"a\\u0085b"', b'"a\\u007fb"', b'"a\\ud800b"', b'"a\\nb"'):
        answer = await client.post(
            "/api/v1/customers", headers=headers, content=b'{"name": ' + raw + b"}"
        )
        assert_invalid_text(answer, "name")
    # where free text makes sense, newlines and tabs are kept; NUL never is
    nested = {"external_id": "c1", "attributes": {"note": "line 1\n\tline 2", "k": [{"x": NUL}]}}
    refused = await client.post("/api/v1/customers", headers=headers, json=nested)
    assert_invalid_text(refused, "attributes.k[0].x")
    del nested["attributes"]["k"]  # type: ignore[attr-defined]
    kept = await client.post("/api/v1/customers", headers=headers, json=nested)
    assert kept.status_code == 200, kept.text
    assert kept.json()["attributes"]["note"] == "line 1\n\tline 2"


async def test_nul_in_passkit_paths_and_bodies_is_a_400_without_authentication(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: Any
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    serial = issued["serial_number"]
    pass_type = "pass.dev.passmint.demo"
    # as found: a plain-text 500 after seconds, without any authentication
    polled = await client.get(apple_path(f"devices/a%00b/registrations/{pass_type}"))
    assert_invalid_text(polled, "path.device_library_id")
    assert polled.headers["content-type"] == "application/json"
    tag = await client.get(
        apple_path(f"devices/d1/registrations/{pass_type}"), params={"passesUpdatedSince": NUL}
    )
    assert_invalid_text(tag, "query.passesUpdatedSince")
    fetched = await client.get(
        apple_path(f"passes/{pass_type}/a%00b"),
        headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"},
    )
    assert_invalid_text(fetched, "path.serial")
    registered = await client.post(
        apple_path(f"devices/a%00b/registrations/{pass_type}/{serial}"), json={"pushToken": "aa"}
    )
    assert_invalid_text(registered, "path.device_library_id")
    # the pushToken, with the pass's own token
    token = await authentication_token(client, issued)
    pushed = await client.post(
        apple_path(f"devices/d1/registrations/{pass_type}/{serial}"),
        headers={"Authorization": f"ApplePass {token}"},
        json={"pushToken": NUL},
    )
    assert_invalid_text(pushed, "pushToken")
    # a pass link, for customers
    link = await client.get("/p/a%00b")
    assert_invalid_text(link, "path.token")


async def authentication_token(client: httpx.AsyncClient, issued: dict[str, Any]) -> str:
    """The pass's ApplePass token, from its bundle as a device would read it."""
    bundle = await client.get(issued["urls"]["pkpass"].removeprefix(PUBLIC_URL))
    token: str = json.loads(unzip(bundle.content)["pass.json"])["authenticationToken"]
    return token


async def test_the_fast_path_and_the_routes_give_the_same_answer(
    runtime: Runtime, client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: Any
) -> None:
    """Device polls are answered outside the framework on PostgreSQL: what it refuses,
    it leaves to the routes, so a device gets one answer whichever serves it."""
    await setup_pass(client, tenant, dev_pki)
    pass_type = "pass.dev.passmint.demo"
    since = {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}
    hostile = [
        (apple_path(f"devices/a%00b/registrations/{pass_type}"), {}, {}),
        (apple_path(f"devices/{'d' * 256}/registrations/{pass_type}"), {}, {}),
        (apple_path("devices/d1/registrations/a%01b"), {}, {}),
        (apple_path(f"devices/d1/registrations/{pass_type}"), {"passesUpdatedSince": NUL}, {}),
        (apple_path(f"devices/d1/registrations/{pass_type}"), {"passesUpdatedSince": "9" * 65}, {}),
        (apple_path(f"passes/{pass_type}/a%00b"), {}, since),
        (apple_path(f"passes/{pass_type}/{'s' * 65}"), {}, since),
        (apple_path("passes/a%c2%85b/serial"), {}, since),
    ]
    routes_only = create_app(runtime=runtime, worker=False, migrate=False, fast_path=False)
    transport = httpx.ASGITransport(app=routes_only)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as routes:
        for path, params, headers in hostile:
            fast = await client.get(path, params=params, headers=headers)
            reference = await routes.get(path, params=params, headers=headers)
            assert 400 <= fast.status_code < 500, (path, fast.text)
            assert (fast.status_code, fast.content) == (reference.status_code, reference.content)


# -- every operation of the OpenAPI document -------------------------------------------------


@pytest.fixture
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def hostile(document: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """An instance of ``schema`` with NUL in every string a client chooses (identifiers,
    enums and dates stay valid, so the texts are what is refused)."""
    schema = resolve(document, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            branches = [resolve(document, s) for s in schema[key]]
            usable = [b for b in branches if b.get("type") != "null"]
            return hostile(document, usable[0], depth)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        instance = {
            name: hostile(document, sub, depth + 1)
            for name, sub in schema.get("properties", {}).items()
        }
        if not instance and schema.get("additionalProperties", True) is not False:
            instance = {"key": NUL}
        return instance
    if kind == "array":
        return [hostile(document, schema.get("items", {}), depth + 1)]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date":
            return "2000-01-01"
        if fmt == "date-time":
            return "2030-01-01T00:00:00Z"
        return NUL
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    return NUL


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, operation


def fill(path: str, operation: dict[str, Any], hostile_param: str | None = None) -> str:
    for param in operation.get("parameters", []):
        if param["in"] != "path":
            continue
        schema = param.get("schema", {})
        value = "a%00b" if param["name"] == hostile_param else (
            str(uuid.uuid4()) if schema.get("format") == "uuid" else "x"
        )  # fmt: skip
        path = path.replace("{" + param["name"] + "}", value)
    return path


@pytest.fixture
def api(client: httpx.AsyncClient, tenant: dict[str, str]) -> httpx.AsyncClient:
    client.headers.update(auth(tenant["api_key"]))
    return client


async def test_nul_anywhere_in_every_json_body_is_invalid_text(
    api: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    checked = 0
    for method, path, operation in operations(openapi):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content or not path.startswith("/api/"):
            continue  # devices and Google authenticate first (their NUL tests are above)
        body = hostile(openapi, content["application/json"]["schema"])
        if "\\u0000" not in json.dumps(body):
            continue  # no text in it (ids only)
        response = await api.request(method, fill(path, operation), json=body)
        assert response.status_code == 400, (method, path, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_text", (method, path, error)
        assert error["details"]["field"], (method, path, error)
        checked += 1
    assert checked >= 20


async def test_nul_in_every_path_and_query_parameter_is_invalid_text(
    api: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    checked = 0
    for method, path, operation in operations(openapi):
        for param in operation.get("parameters", []):
            if param["in"] == "path":
                url, params = fill(path, operation, hostile_param=param["name"]), {}
            elif (
                param["in"] == "query"
                and resolve(openapi, param["schema"]).get("type") != "integer"
            ):
                url, params = fill(path, operation), {param["name"]: NUL}
            else:
                continue
            response = await api.request(method, url, params=params)
            where = (method, path, param["name"])
            assert response.status_code == 400, (*where, response.text)
            error = response.json()["error"]
            assert error["code"] == "invalid_text", (*where, error)
            assert error["details"]["field"] == f"{param['in']}.{param['name']}", (*where, error)
            checked += 1
    assert checked >= 40


async def test_nul_in_an_imported_code_is_refused(
    api: httpx.AsyncClient,
) -> None:
    campaign = await api.post(
        "/api/v1/campaigns", json={"name": "Spring", "kind": "discount", "percent_off_bp": 1000}
    )
    assert campaign.status_code == 201, campaign.text
    imported = await api.post(
        f"/api/v1/campaigns/{campaign.json()['id']}/codes/import",
        headers={"Content-Type": "text/csv"},
        content=b"code\nSPRING\x00X\n",
    )
    assert imported.status_code == 400, imported.text


# -- behind the edge: the database never receives a NUL ---------------------------------------


async def test_the_database_refuses_nul_from_any_writer(
    runtime: Runtime, tenant: dict[str, str]
) -> None:
    """Code that skips the typed edge (a job, a script) still cannot store a NUL: not in a
    text column, not inside JSON, on SQLite (which would store it) as on PostgreSQL."""
    tenant_id = uuid.UUID(tenant["tenant_id"])

    async def store(name: str | None, attributes: dict[str, Any]) -> None:
        async with runtime.transaction() as session:
            now = runtime.clock()
            customer = Customer(id=uuid7(), tenant_id=tenant_id, created_at=now, updated_at=now)
            customer.name, customer.attributes = name, attributes
            session.add(customer)

    for name, attributes in ((NUL, {}), (None, {"k": NUL}), (None, {"k": "\ud800"})):
        with pytest.raises(UnstorableText):
            await store(name, attributes)
    await store("C:\\u0000", {"path": "C:\\u0000"})  # a backslash and a u: just text
