"""The pages module and the Accept negotiation behind the pages browsers get."""

from __future__ import annotations

import pytest

from passmint.public import landing, pages
from passmint.web.negotiation import prefers_html


def test_pages_speak_every_language_of_the_landing_page() -> None:
    assert set(pages.TEXTS) >= set(landing.TEXTS)
    for lang, texts in pages.TEXTS.items():
        assert texts.keys() == pages.TEXTS["en"].keys(), lang
        for page in pages.Page:
            html = pages.render(page, accept_language=lang, links=[("docs", "/docs")])
            assert f'lang="{lang}"' in html


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8", True),
        ("text/html", True),
        ("text/html, application/json", True),
        ("application/json;q=0.5, text/html", True),
        ("*/*, text/html", True),  # named outright beats the wildcard
        ("application/json", False),
        ("application/json, text/html", False),  # equal quality: the first listed
        ("text/html;q=0.5, application/json", False),
        ("text/html;q=0", False),
        ("*/*", False),
        ("", False),
        (None, False),
        ("image/png,image/*;q=0.8,*/*;q=0.5", False),  # a browser fetching an image
    ],
)
def test_prefers_html(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html
