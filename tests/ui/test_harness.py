"""The browser harness catches what it is there to catch: console errors, CSP violations,
requests to other hosts, accessibility violations; and a missing chromium is a skip, or a
failure when CI requires every service."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from tests.ui import browser as harness
from tests.ui.axe import assert_accessible, violations
from tests.ui.browser import UiPage

# What the harness catches happens in the browser: one backend is enough.
SQLITE_ONLY = pytest.mark.parametrize("ui_server", ["sqlite"], indirect=True)


@pytest.fixture
def bare_page(browser: Browser) -> Iterator[Page]:
    """A page without a server, for markup set by the test."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


@SQLITE_ONLY
def test_a_console_error_fails_the_page(desktop_page: UiPage) -> None:
    desktop_page.goto("/")
    desktop_page.page.evaluate("console.error('something broke')")
    with pytest.raises(AssertionError, match=r"console error .*something broke"):
        desktop_page.assert_clean()


@SQLITE_ONLY
def test_an_uncaught_script_error_fails_the_page(desktop_page: UiPage) -> None:
    desktop_page.goto("/")
    desktop_page.page.evaluate("setTimeout(() => { throw new Error('unhandled') })")
    desktop_page.page.wait_for_timeout(200)
    with pytest.raises(AssertionError, match="uncaught error: unhandled"):
        desktop_page.assert_clean()


@SQLITE_ONLY
def test_a_csp_violation_fails_the_page(desktop_page: UiPage) -> None:
    desktop_page.goto("/")  # default-src 'none': an image is refused
    desktop_page.page.evaluate(
        "() => { const img = document.createElement('img'); img.src = '/i/x.png';"
        " document.body.append(img); }"
    )
    desktop_page.page.wait_for_timeout(200)
    with pytest.raises(AssertionError, match="CSP violation: img-src blocked http://127"):
        desktop_page.assert_clean()


@SQLITE_ONLY
def test_a_request_to_another_host_is_refused_and_fails_the_page(desktop_page: UiPage) -> None:
    with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_CLIENT"):
        desktop_page.page.goto("https://cdn.example.com/htmx.min.js")
    refused = re.escape("request to another host: GET https://cdn.example.com/htmx.min.js")
    with pytest.raises(AssertionError, match=refused):
        desktop_page.assert_clean()


@SQLITE_ONLY
def test_a_404_page_is_not_a_console_error_when_it_is_expected(desktop_page: UiPage) -> None:
    desktop_page.goto("/no/such/page", status=404)
    with pytest.raises(AssertionError, match="/no/such/page: 404, expected 200"):
        desktop_page.goto("/no/such/page")


@SQLITE_ONLY
def test_an_expected_error_status_of_a_request_is_pardoned_and_only_that(
    desktop_page: UiPage,
) -> None:
    desktop_page.goto("/docs")  # connect-src 'self': the page may call the API
    url = desktop_page.server.url("/api/v1/passes")
    page = desktop_page.page
    fetch = "url => fetch(url).then(r => r.status)"
    with page.expect_console_message(lambda message: "status of 401" in message.text):
        assert page.evaluate(fetch, url) == 401  # no API key
    desktop_page.watch.pardon_status(url, 403)  # not what it answered
    with pytest.raises(AssertionError, match="status of 401"):
        desktop_page.assert_clean()
    with page.expect_console_message(lambda message: "status of 401" in message.text):
        assert page.evaluate(fetch, url) == 401
    desktop_page.watch.pardon_status(url, 401)
    desktop_page.assert_clean()


def test_axe_lists_each_serious_violation_with_its_elements(bare_page: Page) -> None:
    bare_page.set_content(
        '<html lang="en"><title>t</title><main><img src="data:,">'
        '<button id="mute"></button></main></html>'
    )
    found = {v["id"]: v for v in violations(bare_page)}
    assert set(found) == {"image-alt", "button-name"}
    with pytest.raises(AssertionError) as failed:
        assert_accessible(bare_page)
    message = str(failed.value)
    assert "image-alt (critical): Images must have alternative text" in message
    assert "button-name (critical)" in message
    assert "  - #mute: Fix any of the following:" in message
    assert_accessible(bare_page, disable_rules=("image-alt", "button-name"))


def test_axe_lets_moderate_violations_pass(bare_page: Page) -> None:
    bare_page.set_content('<html lang="en"><title>t</title><body><p>no landmark</p></html>')
    moderate = violations(bare_page, impacts=frozenset({"moderate"}))
    assert "region" in {v["id"] for v in moderate}  # content outside any landmark
    assert violations(bare_page) == []
    assert_accessible(bare_page)


@pytest.mark.parametrize("required", [False, True])
def test_a_missing_chromium_skips_or_fails_when_services_are_required(
    required: bool, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(request.config, "require_services", required, raising=False)
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome, match="chromium is not installed"):
        harness.require_chromium(request.config)
