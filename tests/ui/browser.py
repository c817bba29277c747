"""Debian's chromium through Playwright, and pages that watch what they do.

Every page opened here fails its test on a console error (Chromium logs Content-Security-
Policy violations as console errors, and an init script logs every
``securitypolicyviolation`` event too), on an uncaught script error, and on any request to
a host other than the server's, which is aborted (the machine's network is closed, and a
page of passmint must load nothing from elsewhere).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Route
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Response as PageResponse

from tests.ops.conftest import services_required
from tests.ui.axe import assert_accessible
from tests.ui.server import UiServer

# Without these, a headless Chromium keeps calling Google's hosts, which a closed network
# answers slowly or never.
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

INSTALL_HINT: Final = "install Debian's chromium (apt-get install chromium)"

Width = Literal["desktop", "phone"]


@dataclass(frozen=True)
class Viewport:
    width: int
    height: int
    mobile: bool


VIEWPORTS: Final[dict[Width, Viewport]] = {
    "desktop": Viewport(1280, 800, mobile=False),
    "phone": Viewport(390, 844, mobile=True),
}

# Logs what the page's Content-Security-Policy blocked, whatever Chromium logs itself.
_CSP_LISTENER: Final = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(
    `CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || "inline code"}` +
    ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""


def require_chromium(config: pytest.Config) -> str:
    """The path of Debian's chromium; a skip without it, a failure when services are
    required (CI sets PASSMINT_REQUIRE_SERVICES=1)."""
    executable = shutil.which("chromium")
    if executable is None:
        if services_required(config):
            pytest.fail(f"chromium is not installed but services are required: {INSTALL_HINT}")
        pytest.skip(f"chromium is not installed: {INSTALL_HINT}")
    return executable


def launch(playwright: Playwright, executable: str) -> Browser:
    """A headless Debian chromium (never a browser Playwright downloads)."""
    return playwright.chromium.launch(
        executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
    )


def phone_user_agent(browser: Browser) -> str:
    """An Android phone's Chrome of this browser's version: pages that adapt to the
    platform (a pass's landing page) show what a phone gets."""
    return (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{browser.version} Mobile Safari/537.36"
    )


@dataclass
class Watch:
    """What went wrong in a browser context: console errors, uncaught errors, and requests
    to other hosts (aborted)."""

    host: str  # 127.0.0.1:PORT
    problems: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error ({where}): {message.text}")

    def on_page_error(self, error: PlaywrightError) -> None:
        self.problems.append(f"uncaught error: {error.message}")

    def on_route(self, route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != self.host:
            self.problems.append(f"request to another host: {route.request.method} {url.geturl()}")
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def pardon_status(self, url: str, status: int) -> None:
        """Drop the console error Chromium logs for a response of ``url`` with an error
        ``status`` the test expects (a 404 page, a form answered 403 or 422 through HTMX)."""
        expected = (
            f"console error ({url}): Failed to load resource: "
            f"the server responded with a status of {status} "
        )
        self.problems = [p for p in self.problems if not p.startswith(expected)]

    def take(self) -> list[str]:
        """The problems seen since the last call."""
        found, self.problems = self.problems, []
        return found


def watch(context: BrowserContext, host: str) -> Watch:
    """Record the problems of every page of ``context``, and block other hosts."""
    seen = Watch(host)
    context.add_init_script(_CSP_LISTENER)
    context.route("**/*", seen.on_route)
    context.on("console", seen.on_console)
    context.on("weberror", lambda error: seen.on_page_error(error.error))
    return seen


@dataclass
class UiPage:
    """A watched page of a browser context against ``server``."""

    page: Page
    server: UiServer
    watch: Watch
    width: Width
    locale: str

    @property
    def context(self) -> BrowserContext:
        return self.page.context

    def goto(self, path: str, *, status: int = 200) -> PageResponse:
        """Load ``path`` of the server, wait until the network is idle, and check the status
        and that nothing went wrong."""
        response = self.page.goto(self.server.url(path), wait_until="networkidle")
        assert response is not None, path
        if response.status >= 400:  # the page's own status, which the next line checks
            self.watch.pardon_status(response.url, response.status)
        assert response.status == status, f"{path}: {response.status}, expected {status}"
        self.assert_clean()
        return response

    def assert_clean(self) -> None:
        """No console error, CSP violation, uncaught error or foreign request so far."""
        problems = self.watch.take()
        assert not problems, f"{self.page.url} ({self.width}, {self.locale}):\n" + "\n".join(
            problems
        )

    def assert_accessible(
        self, *, disable_rules: tuple[str, ...] = (), only_rules: tuple[str, ...] = ()
    ) -> None:
        """axe-core finds no serious or critical violation on the page as it is now
        (``disable_rules``: rules not run, each with its reason; ``only_rules``: run these)."""
        assert_accessible(self.page, disable_rules=disable_rules, only_rules=only_rules)

    def screenshot(self, path: Path) -> Path:
        return screenshot(self.page, path)


def screenshot(page: Page, path: Path) -> Path:
    """A PNG of the whole page (not only the viewport) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


def open_page(
    browser: Browser, server: UiServer, width: Width = "desktop", locale: str = "en"
) -> UiPage:
    """A page in a new context of ``width`` (desktop 1280×800, phone 390×844 with touch) whose
    browser asks for ``locale`` (``Accept-Language``, ``navigator.language``); close it with
    ``ui.context.close()``."""
    viewport = VIEWPORTS[width]
    context = browser.new_context(
        base_url=server.base_url,
        viewport={"width": viewport.width, "height": viewport.height},
        is_mobile=viewport.mobile,
        has_touch=viewport.mobile,
        user_agent=phone_user_agent(browser) if viewport.mobile else None,
        locale=locale,
        service_workers="block",
    )
    seen = watch(context, server.host)
    return UiPage(context.new_page(), server, seen, width, locale)
