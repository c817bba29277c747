"""Browser tests: a real ``passmint serve`` with the demo's data (on SQLite, and on a scratch
PostgreSQL database when PASSMINT_TEST_POSTGRES_URL is set), Debian's chromium through
Playwright, and pages at desktop and phone width in English or Arabic that fail the test
on a console error, a CSP violation or a request to another host.

``ui_server`` lives for the whole run (one server per backend) and ``browser`` for the
package's tests: tests share the demo tenant, so a test that changes data makes its own
objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.ops.conftest import postgres_base
from tests.service.conftest import _run_id, _worker_id
from tests.ui.browser import UiPage, Width, launch, open_page, require_chromium
from tests.ui.server import UiServer, running_server, scratch_postgres


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def ui_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiServer]:
    """``passmint serve`` (embedded worker) with the demo seeded by ``passmint demo
    --seed-only``: ``ui_server.demo`` holds its tenant, API key, program and cards."""
    workdir = tmp_path_factory.mktemp(f"ui-{request.param}")
    if request.param == "sqlite":
        with running_server(workdir) as server:
            yield server
        return
    base = postgres_base(request.config)
    name = f"passmint_ui_{_run_id()}_{_worker_id(request.config)}"
    with scratch_postgres(base, name) as url, running_server(workdir, url) as server:
        yield server


@pytest.fixture(scope="package")
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """Headless Debian chromium; a skip without it, a failure when services are required.

    Package scope, not session: while Playwright's sync API is started, ``asyncio.run`` and
    async tests cannot run in this process (see ``tests.ui.server.in_thread``), so it stops
    before a test of another package runs in this worker."""
    executable = require_chromium(request.config)
    with sync_playwright() as playwright:
        chromium = launch(playwright, executable)
        yield chromium
        chromium.close()


class NewPage(Protocol):
    def __call__(self, width: Width = "desktop", locale: str = "en") -> UiPage: ...


@pytest.fixture
def new_page(browser: Browser, ui_server: UiServer) -> Iterator[NewPage]:
    """Opens a watched page in a fresh context (its own cookies) of ``width`` and
    ``locale``; every context is closed after the test, which fails on anything a page did
    wrong that the test did not check yet."""
    opened: list[UiPage] = []

    def make(width: Width = "desktop", locale: str = "en") -> UiPage:
        ui = open_page(browser, ui_server, width, locale)
        opened.append(ui)
        return ui

    yield make
    left: list[str] = []
    for ui in opened:
        left += ui.watch.take()
        ui.context.close()
    assert not left, "\n".join(left)


@pytest.fixture
def desktop_page(new_page: NewPage) -> UiPage:
    """A watched page at 1280×800, in English."""
    return new_page("desktop")


@pytest.fixture
def phone_page(new_page: NewPage) -> UiPage:
    """A watched page at 390×844 (touch, an Android phone's user agent), in English."""
    return new_page("phone")


@pytest.fixture(
    params=[("desktop", "en"), ("phone", "en"), ("desktop", "ar"), ("phone", "ar")],
    ids=["desktop-en", "phone-en", "desktop-ar", "phone-ar"],
)
def ui_page(request: pytest.FixtureRequest, new_page: NewPage, ui_server: UiServer) -> UiPage:
    """A watched page at each width, in English and in Arabic (right to left): a test that
    takes it runs four times on SQLite. Layout, languages and accessibility do not depend
    on the database: on PostgreSQL it runs once, at desktop width in English (CI time)."""
    width, locale = request.param
    if ui_server.backend == "postgresql" and (width, locale) != ("desktop", "en"):
        pytest.skip("widths and languages run on SQLite; PostgreSQL runs desktop-en")
    return new_page(width, locale)
