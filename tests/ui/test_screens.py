"""Every screen of the registry (tests/ui/screens.py) at desktop and phone width, in English
and Arabic: it loads with the status it should, without a console error, a CSP violation or
a request to another host, and axe-core finds no serious or critical violation; and the
core of ``make screenshots``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from PIL import Image
from playwright.sync_api import Browser

from tests.ui import screens
from tests.ui.browser import UiPage
from tests.ui.screens import SCREENS, Screen, screen
from tests.ui.screenshots import take_screenshots
from tests.ui.server import UiServer

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam


# The session cookies of a login per server and language, kept for the next screen's fresh
# context: logging in through the form (two pages waited on until the network is idle, and
# a password hash) took over half of each screen's time. The login form has tests of its own.
_SESSIONS: dict[tuple[str, str], list[Any]] = {}


def _logged_in(ui: UiPage, log_in: screens.LogIn) -> None:
    key = (ui.server.base_url, ui.locale)
    cookies = _SESSIONS.get(key)
    if cookies is not None:
        ui.context.add_cookies(cast("list[SetCookieParam]", cookies))
        return
    log_in(ui)
    _SESSIONS[key] = list(ui.context.cookies())


@pytest.mark.parametrize("screen", SCREENS, ids=[s.name for s in SCREENS])
def test_every_screen_loads_cleanly_and_passes_axe(screen: Screen, ui_page: UiPage) -> None:
    if screen.login:
        if screens.LOG_IN is None:
            pytest.skip(f"{screen.name} needs a login and tests/ui/screens.py has no LOG_IN yet")
        _logged_in(ui_page, screens.LOG_IN)
    ui_page.goto(screen.url_path(ui_page.server), status=screen.status)
    if screen.login:  # not the login form in its place: the session held
        assert "/admin/login" not in ui_page.page.url, ui_page.page.url
    if screen.prepare is not None:
        screen.prepare(ui_page.page)
        ui_page.assert_clean()
    ui_page.assert_accessible(disable_rules=screen.axe_disable)


# ``make screenshots`` serves SQLite.
SQLITE_ONLY = pytest.mark.parametrize("ui_server", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_the_screenshots_take_each_screen_at_desktop_and_phone_width(
    browser: Browser, ui_server: UiServer, tmp_path: Path
) -> None:
    logged_in: list[str] = []
    behind_login = Screen("behind-login", "/p/{pass_token}", login=True)
    without = take_screenshots(browser, ui_server, tmp_path, [behind_login], log_in=None)
    assert without.written == []
    assert without.problems == []
    assert without.skipped == ["behind-login: needs LOG_IN in tests/ui/screens.py"]

    shots = take_screenshots(
        browser,
        ui_server,
        tmp_path,
        [screen("home"), behind_login],
        log_in=lambda ui: logged_in.append(ui.width),
    )
    assert shots.problems == []
    assert shots.skipped == []
    assert logged_in == ["desktop", "phone"]  # once per width, before the first such screen
    assert [p.name for p in shots.written] == [
        "home-desktop.png",
        "behind-login-desktop.png",
        "home-phone.png",
        "behind-login-phone.png",
    ]
    for path in shots.written:
        with Image.open(path) as image:
            assert image.format == "PNG"
            width = 1280 if "desktop" in path.name else 390
            assert image.width == width
            assert image.height >= (800 if width == 1280 else 844)


@SQLITE_ONLY
def test_a_screen_that_goes_wrong_is_photographed_and_reported(
    browser: Browser, ui_server: UiServer, tmp_path: Path
) -> None:
    wrong = Screen("wrong-status", "/no/such/page")  # answers 404, registered as 200
    shots = take_screenshots(browser, ui_server, tmp_path, [wrong], log_in=None, locale="ar")
    assert [p.name for p in shots.written] == [
        "wrong-status-desktop-ar.png",
        "wrong-status-phone-ar.png",
    ]
    assert len(shots.problems) == 2
    assert "wrong-status (desktop): /no/such/page: 404, expected 200" in shots.problems[0]
