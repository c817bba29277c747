"""``GET /p/{token}/answers/{n}``, the link behind each survey answer on the back of a pass
(issue 14): a thank-you page in the visitor's language that offers the other answers;
unknown tokens, surveys and numbers are 404 pages (JSON for API clients) and hostile
input never a 5xx; under the public pages' per-address rate limit."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from passmint.app import create_app
from passmint.models import Event, SurveyAnswer
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import PUBLIC_URL, make_settings
from tests.service.test_pages import BROWSER, assert_page
from tests.service.test_surveys import issue_with_survey, set_survey, token_of

pytestmark = pytest.mark.anyio


async def counts(runtime: Runtime, pass_id: str) -> tuple[int, int]:
    """(answers stored, survey events) of the pass."""
    async with runtime.db.sessions() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(SurveyAnswer)
            .where(SurveyAnswer.pass_id == uuid.UUID(pass_id))
        )
        events = await session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.pass_id == uuid.UUID(pass_id), Event.kind == "survey_answered")
        )
    return int(rows or 0), int(events or 0)


def offered(page: httpx.Response) -> list[tuple[str, str]]:
    """The other answers the page links to: (URL, text)."""
    return re.findall(
        r'<li><a href="([^"]+)" rel="nofollow" dir="auto">([^<]*)</a></li>', page.text
    )


@pytest.fixture
async def issued(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> dict[str, Any]:
    (made,) = await issue_with_survey(client, runtime, tenant, dev_pki)
    return made


async def test_a_tap_thanks_and_offers_the_other_answers(
    client: httpx.AsyncClient, runtime: Runtime, issued: dict[str, Any]
) -> None:
    token = token_of(issued)
    page = await client.get(f"/p/{token}/answers/2", headers=BROWSER)
    assert assert_page(page, 200) == "Thank you"
    assert '<p dir="auto">How was your visit, Ada?</p>' in page.text
    assert "<p>Your answer: <strong><bdi>OK</bdi></strong></p>" in page.text
    assert '<h2 id="change">Change my answer</h2>' in page.text
    base = f"/p/{token}/answers"
    assert offered(page) == [(f"{base}/1", "Great"), (f"{base}/3", "Not good")]
    assert page.headers["referrer-policy"] == "no-referrer"  # the token stays in the page
    assert page.headers["cache-control"] == "no-store"
    assert "Accept-Language" in page.headers["vary"]
    assert await counts(runtime, issued["id"]) == (1, 1)

    again = await client.get(f"/p/{token}/answers/2", headers=BROWSER)  # a second tap
    assert again.text == page.text
    assert await counts(runtime, issued["id"]) == (1, 1)

    changed = await client.get(offered(page)[1][0], headers=BROWSER)
    assert "<bdi>Not good</bdi>" in changed.text
    assert offered(changed) == [(f"{base}/1", "Great"), (f"{base}/2", "OK")]
    assert await counts(runtime, issued["id"]) == (1, 2)


@pytest.mark.parametrize(
    ("accept_language", "lang", "title", "question", "answer"),
    [
        ("ar", "ar", "شكرًا لك", "كيف كانت زيارتك يا Ada؟", "رائعة"),
        ("fr-CA,fr;q=0.9", "fr", "Merci", "Comment s&#x27;est passée votre visite, Ada ?", "Super"),
        # pages in English, the design's own Finnish for its texts
        ("fi-FI,fi;q=0.9,en;q=0.5", "en", "Thank you", "Millainen käyntisi oli, Ada?", "Loistava"),
        ("he", "he", "תודה", "How was your visit, Ada?", "Great"),  # no Hebrew in the design
    ],
)
async def test_the_page_speaks_the_visitors_language(
    client: httpx.AsyncClient,
    issued: dict[str, Any],
    accept_language: str,
    lang: str,
    title: str,
    question: str,
    answer: str,
) -> None:
    page = await client.get(
        f"/p/{token_of(issued)}/answers/1",
        headers={**BROWSER, "Accept-Language": accept_language},
    )
    assert assert_page(page, 200, lang) == title
    assert f'<p dir="auto">{question}</p>' in page.text
    assert f"<bdi>{answer}</bdi>" in page.text


async def test_the_businesss_texts_are_escaped(
    client: httpx.AsyncClient, runtime: Runtime, issued: dict[str, Any]
) -> None:
    hostile = {
        "question": '<script>alert("q")</script> & {{ name }}',
        "answers": ['<img src=x onerror="alert(1)">', "</a><a href='//evil.example'>"],
    }
    await set_survey(runtime, issued["template_id"], hostile)
    page = await client.get(f"/p/{token_of(issued)}/answers/2", headers=BROWSER)
    assert page.status_code == 200
    assert "<script" not in page.text
    assert "<img" not in page.text
    assert "evil.example'>" not in page.text
    assert "&lt;script&gt;alert(&quot;q&quot;)&lt;/script&gt; &amp; Ada" in page.text
    assert "<bdi>&lt;/a&gt;&lt;a href=&#x27;//evil.example&#x27;&gt;</bdi>" in page.text
    assert offered(page)[0][1] == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"


@pytest.mark.parametrize(
    "number",
    ["0", "-1", "4", "99999999999999999999", "1.0", "abc", "%D9%A3", "+1", "1e0", " 1", "9" * 2000],
)
async def test_numbers_the_survey_does_not_have(
    client: httpx.AsyncClient, runtime: Runtime, issued: dict[str, Any], number: str
) -> None:
    path = f"/p/{token_of(issued)}/answers/{number}"
    page = await client.get(path, headers=BROWSER)
    assert assert_page(page, 404) == "This answer cannot be recorded"
    json = await client.get(path, headers={"Accept": "application/json"})
    assert json.status_code == 404
    assert json.json()["error"]["code"] == "answer_not_found"
    assert await counts(runtime, issued["id"]) == (0, 0)


async def test_a_nul_in_the_number_is_invalid_text(
    client: httpx.AsyncClient, issued: dict[str, Any]
) -> None:
    response = await client.get(f"/p/{token_of(issued)}/answers/1%00")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_text"


async def test_a_design_without_survey(
    client: httpx.AsyncClient, runtime: Runtime, issued: dict[str, Any]
) -> None:
    await set_survey(runtime, issued["template_id"], None)
    path = f"/p/{token_of(issued)}/answers/1"
    french = await client.get(path, headers={**BROWSER, "Accept-Language": "fr"})
    assert assert_page(french, 404, "fr") == "Cette réponse ne peut pas être enregistrée"
    json = await client.get(path)
    assert json.status_code == 404
    assert json.json()["error"]["code"] == "survey_not_found"
    assert await counts(runtime, issued["id"]) == (0, 0)


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 500, "%C3%A9"])
async def test_an_unknown_token_is_the_card_link_page(
    client: httpx.AsyncClient, token: str
) -> None:
    page = await client.get(f"/p/{token}/answers/1", headers=BROWSER)
    assert assert_page(page, 404) == "This card link is not valid"
    json = await client.get(f"/p/{token}/answers/1")
    assert json.status_code == 404
    assert json.json()["error"]["code"] == "pass_not_found"


async def test_answers_are_documented_with_the_public_pages(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/p/{token}/answers/{number}"]["get"]
    assert operation["tags"] == ["public"]
    assert {"200", "404", "429"} <= set(operation["responses"])
    assert "text/html" in operation["responses"]["200"]["content"]


async def test_answers_count_against_the_public_rate_limit(
    database_url: str, tmp_path: Path, apns: FakeApns
) -> None:
    settings = make_settings(database_url, tmp_path, apns, rate_limits={"public": "3/minute"})
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=False)
    try:
        app = create_app(runtime=runtime, worker=False, migrate=False)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            path = f"/p/{'t' * 32}/answers/1"
            assert [(await http.get(path)).status_code for _ in range(3)] == [404] * 3
            refused = await http.get(path)
            assert refused.status_code == 429
            assert refused.json()["error"]["details"]["limit"] == "public"
    finally:
        await runtime.stop()
