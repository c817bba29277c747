"""Loose types (issue 13, item 8) and unbounded JSON objects (item 5, the schema half):
money, points and counts are JSON integers, dates ISO strings; a pass's ``data`` and a
customer's ``attributes`` have key-count, depth, key-length and size limits, each a 400
with its own code, documented in the OpenAPI document."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.service.conftest import auth
from tests.service.test_hostile_text import operations, resolve
from tests.service.test_pass_cycle import setup_pass

pytestmark = pytest.mark.anyio


def problems(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {p["path"]: p["type"] for p in response.json()["error"]["details"]["problems"]}


async def test_amounts_are_integers_and_birthdays_iso_dates(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    headers = auth(tenant["api_key"])
    visit = {"card_number": "1234", "kind": "purchase", "currency": "EUR", "external_id": "a1"}
    for amount in ("100", True, 100.0):  # all three were taken for 100 (or 1)
        refused = await client.post(
            "/api/v1/activities", headers=headers, json={**visit, "amount": amount}
        )
        assert problems(refused)["amount"] == "int_type"
    for birthday in (-7.7e-75, 638_000_000, "638000000", "19900310"):
        refused = await client.post(
            "/api/v1/customers", headers=headers, json={"external_id": "c1", "birthday": birthday}
        )
        assert problems(refused)["birthday"] == "date_format"
    naive = await client.post(
        "/api/v1/activities",
        headers=headers,
        json={**visit, "amount": 100, "occurred_at": "2026-03-10T14:30:00"},
    )
    assert problems(naive)["occurred_at"] == "timezone_aware"
    kept = await client.post(
        "/api/v1/customers", headers=headers, json={"external_id": "c1", "birthday": "1990-03-10"}
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["birthday"] == "1990-03-10"


def wrongly_typed(
    document: dict[str, Any], schema: dict[str, Any], path: str
) -> tuple[Any, list[str]]:
    """An instance of ``schema`` whose integers are numeric strings and whose dates are
    numbers, and the paths of those values."""
    schema = resolve(document, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            usable = [s for s in schema[key] if resolve(document, s).get("type") != "null"]
            return wrongly_typed(document, usable[0], path)
    if "const" in schema:
        return schema["const"], []
    if "enum" in schema:
        return schema["enum"][0], []
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "object" or "properties" in schema:
        instance, paths = {}, []
        for name, sub in schema.get("properties", {}).items():
            instance[name], found = wrongly_typed(document, sub, f"{path}.{name}".lstrip("."))
            paths += found
        return instance, paths
    if kind == "array":
        item, found = wrongly_typed(document, schema.get("items", {}), f"{path}.0")
        return [item], found
    if kind == "integer":
        return "1", [path]
    if kind == "string" and fmt in ("date", "date-time"):
        return 1_700_000_000, [path]
    if kind == "string" and fmt == "uuid":
        return str(uuid.uuid4()), []
    return {"string": "x", "number": 1.5, "boolean": True}.get(str(kind), "x"), []


async def test_every_integer_and_date_of_every_body_is_strict(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    document = (await client.get("/openapi.json")).json()
    client.headers.update(auth(tenant["api_key"]))
    checked = 0
    for method, path, operation in operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        body, strict = wrongly_typed(document, content["application/json"]["schema"], "")
        if not strict:
            continue
        url = path
        for param in operation.get("parameters", []):
            if param["in"] == "path":
                url = url.replace("{" + param["name"] + "}", str(uuid.uuid4()))
        found = problems(await client.request(method, url, json=body))
        for field in strict:
            assert any(p == field or p.startswith(f"{field}.") for p in found), (
                method, path, field, found,
            )  # fmt: skip
            checked += 1
    assert checked >= 40


# -- data and attributes -----------------------------------------------------------------------


def coded(response: httpx.Response, code: str, field: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]["field"]) == (code, field), error


async def test_pass_data_has_limits_each_with_its_code(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    headers = auth(tenant["api_key"])
    template_id = str(uuid.uuid4())  # refused before it is looked up

    async def issue(data: dict[str, Any]) -> httpx.Response:
        body = {"template_id": template_id, "data": data}
        return await client.post("/api/v1/passes", headers=headers, json=body)

    coded(await issue({f"k{i}": i for i in range(1001)}), "json_too_many_keys", "data")
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(8):
        deep = {"k": deep}
    coded(await issue(deep), "json_too_deep", "data.k.k.k.k.k.k.k.k")
    coded(await issue({"k" * 129: 1}), "json_key_too_long", "data")
    coded(await issue({"notes": "x" * 70_000}), "json_too_large", "data")
    found = await issue({f"k{i}": i for i in range(1001)})
    assert found.json()["error"]["details"]["problems"][0]["limit"] == 1000


async def test_patches_cannot_grow_data_past_the_limits(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: Any
) -> None:
    issued = await setup_pass(client, tenant, dev_pki, **{f"a{i}": i for i in range(600)})
    patch = {f"b{i}": i for i in range(600)}
    grown = await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=auth(tenant["api_key"]), json={"data": patch}
    )
    coded(grown, "json_too_many_keys", "data")
    # null removes a key: 300 go, 300 come, 600 stay within the limit
    removed = {**{f"a{i}": None for i in range(300)}, **{f"b{i}": i for i in range(300)}}
    swapped = await client.patch(
        f"/api/v1/passes/{issued['id']}", headers=auth(tenant["api_key"]), json={"data": removed}
    )
    assert swapped.status_code == 200, swapped.text


async def test_customer_attributes_have_limits_and_merges_keep_them(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    headers = auth(tenant["api_key"])

    async def upsert(attributes: dict[str, Any]) -> httpx.Response:
        body = {"external_id": "c1", "attributes": attributes}
        return await client.post("/api/v1/customers", headers=headers, json=body)

    coded(await upsert({f"k{i}": i for i in range(201)}), "json_too_many_keys", "attributes")
    coded(await upsert({"a": [[[[[[{}]]]]]]}), "json_too_deep", "attributes.a[0][0][0][0][0]")
    assert (await upsert({f"a{i}": i for i in range(150)})).status_code == 200
    coded(await upsert({f"b{i}": i for i in range(150)}), "json_too_many_keys", "attributes")


async def test_the_limits_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    for schema, field, keys in (
        ("PassCreate", "data", 1000),
        ("PassPatch", "data", 1000),
        ("CustomerIn", "attributes", 200),
    ):
        documented = schemas[schema]["properties"][field]
        assert documented["maxProperties"] == keys
        assert documented["x-limits"]["max_keys"] == keys
        assert set(documented["x-limits"]) == {
            "max_keys",
            "max_depth",
            "max_key_length",
            "max_bytes",
        }
        assert f"{keys} keys" in documented["description"]
