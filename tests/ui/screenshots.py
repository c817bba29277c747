"""``make screenshots``: a PNG of every screen of tests/ui/screens.py at desktop and phone
width, taken in Debian's chromium against a fresh ``passmint serve`` with the demo's data,
so a reviewer can look at every screen without setting anything up.

    python -m tests.ui.screenshots [--out screenshots] [--locale ar] [--only NAME ...]

Files are ``OUT/NAME-WIDTH.png`` (``NAME-WIDTH-LOCALE.png`` in another language than
English). A screen that logged a console error, a CSP violation or asked another host is
still photographed, and the run ends with status 1 listing what went wrong.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from playwright.sync_api import Browser, sync_playwright

from tests.ui import screens
from tests.ui.browser import INSTALL_HINT, UiPage, Width, launch, open_page
from tests.ui.screens import SCREENS, LogIn, Screen
from tests.ui.server import UiServer, running_server

WIDTHS: Final[tuple[Width, ...]] = ("desktop", "phone")


@dataclass
class Shots:
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # screens left out, and why
    problems: list[str] = field(default_factory=list)  # what went wrong on the screens


def file_name(screen: Screen, width: Width, locale: str) -> str:
    return f"{screen.name}-{width}{'' if locale == 'en' else '-' + locale}.png"


def take_screenshots(
    browser: Browser,
    server: UiServer,
    out: Path,
    chosen: Sequence[Screen] = SCREENS,
    *,
    log_in: LogIn | None,
    locale: str = "en",
    widths: Sequence[Width] = WIDTHS,
) -> Shots:
    """Photograph each screen of ``chosen`` at each width into ``out``. Screens behind the
    login are taken in one context per width that ``log_in`` logged in; without ``log_in``
    they are skipped."""
    shots = Shots()
    for screen in chosen:
        if screen.login and log_in is None:
            shots.skipped.append(f"{screen.name}: needs LOG_IN in tests/ui/screens.py")
    for width in widths:
        pages: dict[bool, UiPage] = {}  # by "logged in"
        try:
            for screen in chosen:
                if screen.login and log_in is None:
                    continue
                ui = pages.get(screen.login)
                if ui is None:
                    ui = pages[screen.login] = open_page(browser, server, width, locale)
                    if log_in is not None and screen.login:
                        log_in(ui)
                try:
                    ui.goto(screen.url_path(server), status=screen.status)
                    if screen.prepare is not None:
                        screen.prepare(ui.page)
                        ui.assert_clean()
                except AssertionError as problem:
                    shots.problems.append(f"{screen.name} ({width}): {problem}")
                shots.written.append(ui.screenshot(out / file_name(screen, width, locale)))
        finally:
            for opened in pages.values():
                opened.context.close()
    return shots


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.ui.screenshots",
        description="A PNG of every screen at desktop and phone width.",
    )
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="output folder")
    parser.add_argument("--locale", default="en", help="the browser's language (ar: RTL)")
    names = [s.name for s in SCREENS]
    parser.add_argument(
        "--only", action="append", choices=names, metavar="NAME", help="only this screen"
    )
    args = parser.parse_args(argv)
    executable = shutil.which("chromium")
    if executable is None:
        print(f"make screenshots needs Debian's chromium: {INSTALL_HINT}", file=sys.stderr)
        return 1
    chosen = [s for s in SCREENS if s.name in args.only] if args.only else list(SCREENS)
    out: Path = args.out
    if not args.only:  # a full run leaves no picture of a screen that is gone
        for stale in out.glob("*.png"):
            stale.unlink()
    with (
        tempfile.TemporaryDirectory(prefix="passmint-screenshots-") as tmp,
        running_server(Path(tmp)) as server,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright, executable)
        try:
            shots = take_screenshots(
                browser, server, out, chosen, log_in=screens.LOG_IN, locale=args.locale
            )
        finally:
            browser.close()
    for path in shots.written:
        print(f"wrote {path}")
    for reason in shots.skipped:
        print(f"skipped {reason}")
    for problem in shots.problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    return 1 if shots.problems else 0


if __name__ == "__main__":
    sys.exit(main())
