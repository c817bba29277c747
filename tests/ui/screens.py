"""The registry of passmint's screens: what ``make screenshots`` photographs (at desktop and
phone width) and what tests/ui/test_screens.py loads, checks for console errors, CSP
violations and foreign requests, and scans with axe, at each width in English and Arabic.

A new screen is one more :class:`Screen` in :data:`SCREENS`. A screen behind the admin
app's login sets ``login=True``: it is reached after :data:`LOG_IN` has logged the page in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from playwright.sync_api import Page

from tests.ui import demo_campaign, demo_loyalty
from tests.ui.browser import UiPage
from tests.ui.server import UiServer

LogIn = Callable[[UiPage], None]
"""Logs a fresh page in (``page.server.demo`` has the demo's data); it leaves the page on any
screen, since each screen is loaded afterwards."""


@dataclass(frozen=True)
class Screen:
    name: str  # the file name: screenshots/NAME-desktop.png and NAME-phone.png
    path: str | Callable[[UiServer], str]  # a str is formatted with ``UiServer.values()``
    login: bool = False  # reached after LOG_IN
    status: int = 200  # what the page answers (a 404 page is a screen too)
    prepare: Callable[[Page], None] | None = None  # after loading: open a dialog, fill a form
    axe_disable: tuple[str, ...] = ()  # axe rules not run here; say why beside the screen

    def url_path(self, server: UiServer) -> str:
        if isinstance(self.path, str):
            return self.path.format_map(server.values())
        return self.path(server)


SCREENS: Final[tuple[Screen, ...]] = (
    Screen("home", "/"),
    Screen("card-link-invalid", "/p/this-link-was-cut-short", status=404),
    Screen("pass-landing", "/p/{pass_token}"),
    Screen("survey-answered", "/p/{pass_token}/answers/1"),
    # Swagger UI draws each operation's summary as a button holding the copy-link button:
    # its markup, not ours to change (its colours are: web/static/swagger-contrast.css).
    Screen("api-docs", "/docs", axe_disable=("nested-interactive",)),
    # The admin app
    Screen("admin-login", "/admin/login"),
    Screen("admin-home", "/admin/", login=True),
    Screen("admin-passes", "/admin/passes", login=True),
    Screen("admin-pass", "/admin/passes/{pass_id}", login=True),
    Screen("admin-designs", "/admin/designs", login=True),
    Screen("admin-designer", "/admin/designs/{template_id}", login=True),
    Screen(
        "admin-designer-style",
        "/admin/designs/{template_id}",
        login=True,
        prepare=lambda page: page.locator("details.restyle summary").click(),
    ),
    Screen("admin-versions", "/admin/designs/{template_id}/versions", login=True),
    Screen("admin-campaigns", "/admin/campaigns", login=True),
    Screen("admin-campaign-new", "/admin/campaigns/new", login=True),
    Screen("admin-campaign", demo_campaign.campaign_path, login=True),
    Screen(
        "admin-campaign-redemptions",
        demo_campaign.redemptions_path,
        login=True,
        prepare=lambda page: page.locator("details.rollback summary").first.click(),
    ),
    Screen("admin-programs", "/admin/programs", login=True),
    Screen("admin-program-new", "/admin/programs/new", login=True),
    Screen(  # with a new earn rule row, as the add button makes it
        "admin-program",
        "/admin/programs/{program_id}",
        login=True,
        prepare=lambda page: page.locator('[data-add-row="list-earn_rules"]').click(),
    ),
    Screen("admin-customers", "/admin/customers?q=example.com", login=True),
    Screen("admin-customer", demo_loyalty.customer_path, login=True),
    Screen("admin-card", "/admin/customers/cards/{account_id}", login=True),
    Screen("admin-settings", "/admin/settings", login=True),
    Screen("admin-settings-credentials", "/admin/settings/credentials", login=True),
    Screen("admin-settings-api-keys", "/admin/settings/api-keys", login=True),
    Screen("admin-settings-users", "/admin/settings/users", login=True),
    Screen("admin-settings-account", "/admin/settings/account", login=True),
    Screen("admin-settings-audit", "/admin/settings/audit", login=True),
)


def log_in(ui: UiPage, next_page: str = "/admin/") -> None:
    """The admin app's login form, as the demo's owner; it leads to ``next_page``."""
    ui.goto(f"/admin/login?next={next_page}")
    form = ui.page.locator("form[action='/admin/login']")  # any language
    form.locator("input[name=email]").fill(ui.server.demo["admin_email"])
    form.locator("input[name=password]").fill(ui.server.demo["admin_password"])
    form.locator("button[type=submit]").click()
    ui.page.wait_for_url("**/admin/**", wait_until="networkidle")


LOG_IN: LogIn | None = log_in
"""How a page logs in before a ``login=True`` screen: the admin app's login form as the demo's
owner. Until it is set, such screens are skipped by the tests and left out of the screenshots,
each saying so."""


def screen(name: str) -> Screen:
    """The registered screen called ``name``."""
    found = [s for s in SCREENS if s.name == name]
    assert found, f"no screen {name!r} in tests/ui/screens.py"
    return found[0]
