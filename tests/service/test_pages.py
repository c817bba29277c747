"""A browser gets a page, an API client JSON: at ``/``, for a pass link that is not valid and
for an unknown address (issue 12, item 10)."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

pytestmark = pytest.mark.anyio

BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "*/*;q=0.8",
    "Accept-Language": "en-GB,en;q=0.9",
}
API_CLIENTS = [{"Accept": "application/json"}, {"Accept": "*/*"}, {}]


def assert_page(response: httpx.Response, status: int, lang: str = "en") -> str:
    """A self-contained page: HTML, no script, its one style allowed by hash, a language."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert f'<html lang="{lang}" dir="{"rtl" if lang in ("ar", "he") else "ltr"}">' in text
    assert '<meta name="viewport" content="width=device-width,initial-scale=1">' in text
    assert "<script" not in text
    assert not re.search(r"\son\w+=", text)  # no event-handler attributes
    assert not re.search(r"(src|href)=\"(https?:)?//", text)  # nothing from another host
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'none';")
    (style,) = re.findall(r"<style>(.*?)</style>", text, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert "script-src" not in csp
    assert "Accept" in response.headers["vary"]
    heading = re.search(r"<h1>(.*?)</h1>", text)
    assert heading is not None
    assert f"<title>{heading[1]}</title>" in text
    return heading[1]


async def test_home_page_for_browsers(client: httpx.AsyncClient) -> None:
    page = await client.get("/", headers=BROWSER)
    assert assert_page(page, 200) == "passmint"
    assert "Apple Wallet and Google Wallet passes" in page.text
    assert '<a href="/docs">API documentation</a>' in page.text
    german = await client.get("/", headers={**BROWSER, "Accept-Language": "de-DE,de;q=0.9"})
    assert_page(german, 200, "de")
    assert ">API-Dokumentation</a>" in german.text


@pytest.mark.parametrize("headers", API_CLIENTS)
async def test_home_is_json_for_api_clients(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "/api/v1" in error["message"]
    assert "/openapi.json" in error["message"]
    assert "Accept" in response.headers["vary"]


@pytest.mark.parametrize("path", ["/p/not-a-real-token", "/p/not-a-real-token.pkpass"])
async def test_bad_card_link_in_a_browser(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path, headers=BROWSER)
    assert assert_page(page, 404) == "This card link is not valid"
    assert "not-a-real-token" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    french = await client.get(path, headers={**BROWSER, "Accept-Language": "fr-CA,fr;q=0.9"})
    assert assert_page(french, 404, "fr") == "Ce lien de carte n&#x27;est pas valide"
    arabic = await client.get(path, headers={**BROWSER, "Accept-Language": "ar"})
    assert assert_page(arabic, 404, "ar") == "رابط البطاقة هذا غير صالح"


@pytest.mark.parametrize("headers", API_CLIENTS)
@pytest.mark.parametrize("path", ["/p/not-a-real-token", "/p/not-a-real-token.pkpass"])
async def test_bad_card_link_for_api_clients(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> None:
    response = await client.get(path, headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "pass_not_found"


async def test_unknown_address(client: httpx.AsyncClient) -> None:
    page = await client.get("/no/such/page", headers={**BROWSER, "Accept-Language": "he"})
    assert assert_page(page, 404, "he") == "הדף לא נמצא"
    english = await client.get("/no/such/page", headers=BROWSER)
    assert assert_page(english, 404) == "Page not found"
    for headers in API_CLIENTS:
        response = await client.get("/no/such/page", headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/apple/v1/nothing", "/google/nothing"])
async def test_api_addresses_answer_json_even_to_browsers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers=BROWSER)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
