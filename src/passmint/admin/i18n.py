"""The admin app's languages: gettext catalogs (``locale/<lang>/LC_MESSAGES/messages.po``,
compiled in memory at first use), the visitor's language from their choice or
``Accept-Language``, and dates and numbers in that language's conventions (Babel)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from passmint.kit.acceptlanguage import ranked_tags

LOCALE_DIR: Final = Path(__file__).parent / "locale"
LANGUAGES: Final[dict[str, str]] = {
    "en": "English",
    "ru": "Русский",
    "fi": "Suomi",
    "nl": "Nederlands",
    "ar": "العربية",
}
"""The languages the admin app speaks, each named in itself (the language picker)."""
DEFAULT: Final = "en"
RTL: Final = frozenset({"ar"})
COOKIE: Final = "pm_lang"


@cache
def translations(lang: str) -> Translations:
    """The compiled catalog of ``lang`` (English is the source: an empty catalog)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not po.is_file():
        return Translations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The language a visitor reads: the one they picked (cookie), else the first of their
    ``Accept-Language`` the app speaks (by quality, ``ru-RU`` as ``ru``), else English."""
    if chosen in LANGUAGES:
        return chosen
    for tag in ranked_tags(accept_language):
        primary = tag.lower().split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT


class Texts:
    """What templates and handlers use to speak the visitor's language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self.locale = Locale.parse(self.lang)
        self._t = translations(self.lang)
        self.dir = "rtl" if self.lang in RTL else "ltr"

    def gettext(self, message: str, /, **values: Any) -> str:
        text = self._t.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        text = self._t.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    def number(self, value: int | float) -> str:
        return numbers.format_decimal(value, locale=self.locale)

    def money(self, minor: int, currency: str, exponent: int = 2) -> str:
        return numbers.format_currency(minor / 10**exponent, currency, locale=self.locale)

    def percent(self, value: float) -> str:
        return numbers.format_percent(value, locale=self.locale)

    def format_datetime(self, value: datetime | None, fmt: str = "medium") -> str:
        return "" if value is None else dates.format_datetime(value, fmt, locale=self.locale)

    def format_date(self, value: date | datetime | None, fmt: str = "medium") -> str:
        return "" if value is None else dates.format_date(value, fmt, locale=self.locale)

    def ago(self, value: datetime, now: datetime) -> str:
        return dates.format_timedelta(value - now, add_direction=True, locale=self.locale)

    def functions(self) -> dict[str, Callable[..., Any]]:
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "fmt_number": self.number,
            "fmt_money": self.money,
            "fmt_percent": self.percent,
            "fmt_datetime": self.format_datetime,
            "fmt_date": self.format_date,
        }
