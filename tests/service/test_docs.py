"""The API docs work offline and can call the API: Swagger UI and Redoc come from this server,
and the OpenAPI document declares the API key as a bearer scheme (issue 12, item 9)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio


class Resources(HTMLParser):
    """The URLs a page loads (scripts, stylesheets, images...) and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "spec-url", "data-openapi-url"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        if any(name.startswith("on") for name in values):  # onload="..." is a script too
            self.inline_scripts += 1


def same_origin(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//")


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "javascript"}),
        ("/redoc", {"redoc.standalone.js": "javascript"}),
    ],
)
async def test_docs_load_only_same_origin_assets(
    client: httpx.AsyncClient, page: str, assets: dict[str, str]
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self';" in csp  # no inline script, no other host
    parsed = Resources()
    parsed.feed(response.text)
    assert parsed.inline_scripts == 0
    assert parsed.urls
    assert all(same_origin(url) for url in parsed.urls), parsed.urls
    assert "/openapi.json" in parsed.urls
    loaded = {url.rsplit("/", 1)[-1]: url for url in parsed.urls}
    for name, content_type in assets.items():
        asset = await client.get(loaded[name])
        assert asset.status_code == 200, name
        assert content_type in asset.headers["content-type"], (name, asset.headers)
        assert len(asset.content) > 50_000, name  # the real bundle, not a stub
    for url in parsed.urls:
        assert (await client.get(url)).status_code == 200, url


async def test_swagger_starts_from_a_same_origin_script(client: httpx.AsyncClient) -> None:
    init = await client.get("/docs/assets/swagger-init.js")
    assert init.status_code == 200
    assert "javascript" in init.headers["content-type"]
    assert "SwaggerUIBundle(" in init.text
    assert "validatorUrl: null" in init.text  # the default badge is an image from elsewhere
    assert not re.search(r"https?://", init.text)


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


async def test_openapi_declares_bearer_auth_on_api_operations_only(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"apiKey": {**schemes["apiKey"], "type": "http", "scheme": "bearer"}}
    for method, path, operation in operations(document):
        if path.startswith("/api/v1/"):
            assert operation.get("security") == [{"apiKey": []}], (method, path)
        else:  # devices (ApplePass), Google callbacks, public pages and images
            assert "security" not in operation, (method, path)
    description = document["info"]["description"]
    assert "Authorize" in description
    assert "passmint tenants create" in description


async def test_a_request_made_the_way_swagger_makes_it_works(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    """Authorize, then Try it out: Swagger UI sends the pasted key per the operation's
    security scheme and the body prefilled from the schema's example as JSON."""
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/api-keys"]["post"]
    ((name, _),) = operation["security"][0].items()
    scheme = document["components"]["securitySchemes"][name]
    authorization = {"Authorization": f"Bearer {tenant['api_key']}"}
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    properties = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
    example = {
        key: value["examples"][0] for key, value in properties.items() if "examples" in value
    }
    created = await client.post(
        "/api/v1/api-keys",
        headers={**authorization, "Accept": "application/json"},
        json=example,
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == example["name"]
    listed = await client.get("/api/v1/api-keys", headers={**authorization, "Accept": "*/*"})
    assert listed.status_code == 200, listed.text
    assert len(listed.json()) == 2
    anonymous = await client.get("/api/v1/api-keys", headers={"Accept": "*/*"})
    assert anonymous.status_code == 401
