"""The admin app's gettext catalogs: messages.pot holds every text the sources mark (a text
added without ``make messages`` fails here), each language's catalog translates every one of
them (every plural form, no fuzzy entry, the same placeholders), compiles, and the pages and
:class:`~passmint.admin.i18n.Texts` speak it: Arabic right to left, dates and numbers in the
locale's conventions."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from babel import Locale, numbers
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from passmint.admin import gallerytexts, i18n, loyaltyform
from passmint.admin.i18n import Texts
from passmint.wallet.designs.gallery import gallery
from tests.admin.conftest import AdminClient

ROOT = Path(__file__).resolve().parents[2]
POT = i18n.LOCALE_DIR / "messages.pot"
PLURALS = {"ru": 3, "fi": 2, "nl": 2, "ar": 6}
"""How many plural forms each language has (CLDR, as Babel writes them into Plural-Forms)."""
LANGUAGES = sorted(PLURALS)
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%@")
RUN = (
    "Run `make messages`, then translate the new entries of "
    "src/passmint/admin/locale/<lang>/LC_MESSAGES/messages.po."
)


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


@cache
def _template() -> Catalog:
    return _read(POT)


@cache
def _catalog(lang: str) -> Catalog:
    return _read(i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", locale=lang)


Key = str | tuple[str, ...]


def _entries(catalog: Catalog) -> Iterator[Message]:
    return (message for message in catalog if message.id)


def _key(message: Message) -> Key:
    """A message's id: its msgid, or (msgid, msgid_plural)."""
    if isinstance(message.id, (tuple, list)):
        return tuple(str(part) for part in message.id)
    return str(message.id)


def _sources(message: Message) -> tuple[str, ...]:
    key = _key(message)
    return key if isinstance(key, tuple) else (key,)


def _forms(message: Message) -> tuple[str, ...]:
    """Its translation: the msgstr, or every msgstr[n]."""
    if isinstance(message.string, (tuple, list)):
        return tuple(str(form or "") for form in message.string)
    return (str(message.string or ""),)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _names(placeholders: set[str]) -> list[str]:
    """``%(name)s`` → ``name`` (``%@``, an Apple placeholder kept as it is, has none)."""
    return [p[2:].split(")")[0] for p in placeholders if p != "%@"]


def _walked(dirpath: str) -> bool:
    """The folders extraction looks into (as pybabel's): not hidden ones, nor node_modules."""
    name = Path(dirpath).name
    return not name.startswith((".", "_")) and name != "node_modules"


def _extracted() -> set[Key]:
    """What ``make messages`` would extract now (babel.cfg, the default keywords: ``_``,
    ``gettext``, ``ngettext`` and ``N_``), as a catalog's ids."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS, directory_filter=_walked
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return {_key(message) for message in _entries(catalog)}


def test_messages_pot_is_up_to_date_with_the_sources() -> None:
    extracted = _extracted()
    stored = {_key(message) for message in _entries(_template())}
    assert len(stored) > 500, "messages.pot looks empty"
    new = sorted(map(str, extracted - stored))
    gone = sorted(map(str, stored - extracted))
    assert not new, f"{len(new)} text(s) are not in messages.pot, e.g. {new[:5]}. {RUN}"
    assert not gone, (
        f"{len(gone)} text(s) of messages.pot are gone from the sources, e.g. {gone[:5]}. {RUN}"
    )


def test_the_gallerys_texts_are_marked_for_the_catalogs() -> None:
    """designs.html translates each starter's name and description (``_(s.name)``), which
    extraction cannot see: gallerytexts lists them."""
    shown = tuple(text for starter in gallery() for text in (starter.name, starter.description))
    assert shown == gallerytexts.STARTER_TEXTS


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalog_has_the_languages_plural_forms(lang: str) -> None:
    catalog = _catalog(lang)
    assert catalog.num_plurals == PLURALS[lang]
    assert catalog.plural_forms == Catalog(locale=lang).plural_forms


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_is_translated(lang: str) -> None:
    catalog = _catalog(lang)
    translated = {_key(message): message for message in _entries(catalog)}
    problems: list[str] = []
    for source in _entries(_template()):
        key = _key(source)
        name = repr(_sources(source)[0])
        message = translated.get(key)
        if message is None:
            problems.append(f"{name} is missing (or has another plural msgid)")
            continue
        if message.fuzzy:
            problems.append(f"{name} is fuzzy")
        forms = _forms(message)
        if isinstance(key, tuple) and len(forms) != PLURALS[lang]:
            problems.append(f"{name} has {len(forms)} plural forms, not {PLURALS[lang]}")
        if any(not form.strip() for form in forms):
            problems.append(f"{name} is not translated (or one of its plural forms is empty)")
    extra = set(translated) - {_key(message) for message in _entries(_template())}
    problems += [f"{key!r} is not in messages.pot" for key in extra]
    assert not problems, f"{lang}: {len(problems)} problem(s): {problems[:10]}. {RUN}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_sources_placeholders(lang: str) -> None:
    problems: list[str] = []
    for message in _entries(_catalog(lang)):
        expected = set().union(*(_placeholders(source) for source in _sources(message)))
        for text in _forms(message):
            if _placeholders(text) != expected:
                problems.append(
                    f"{text!r} has {sorted(_placeholders(text))}, not {sorted(expected)}"
                )
            elif message.python_format:
                try:
                    text % dict.fromkeys(_names(expected), 1)
                except (ValueError, TypeError, KeyError) as error:
                    problems.append(f"{text!r} cannot be formatted: {error}")
    assert not problems, f"{lang}: {problems[:10]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalog_compiles(lang: str) -> None:
    catalog = _catalog(lang)
    assert not list(catalog.check()), "babel's checks (python-format, plural count) fail"
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    assert buffer.getvalue()
    i18n.translations.cache_clear()
    compiled = i18n.translations(lang)
    assert compiled.gettext("Log in") == _forms(catalog["Log in"])[0]
    assert compiled.gettext("Log in") != "Log in"


def test_plural_forms_follow_each_languages_rules() -> None:
    day = ("%(num)s day left", "%(num)s days left")
    russian = Texts("ru")
    assert [russian.ngettext(*day, n) for n in (1, 3, 5, 21, 112)] == [
        "остался 1 день",
        "осталось 3 дня",
        "осталось 5 дней",
        "остался 21 день",
        "осталось 112 дней",
    ]
    arabic = Texts("ar")
    shown = [arabic.ngettext(*day, n) for n in (0, 1, 2, 3, 11, 100)]
    assert shown[2].endswith("يومان")
    assert shown[3].endswith("أيام")
    assert shown[4].endswith("يومًا")
    for lang in LANGUAGES:
        texts = Texts(lang)
        for message in _entries(_catalog(lang)):
            key = _key(message)
            if isinstance(key, tuple):
                values = dict.fromkeys(_names(_placeholders(key[1])), "x")
                values.pop("num", None)
                for n in (0, 1, 2, 3, 11, 21, 100, 101):
                    assert str(n) in texts.ngettext(key[0], key[1], n, **values), (lang, key, n)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_texts_render_dates_and_numbers_in_the_locale(lang: str) -> None:
    texts = Texts(lang)
    locale = Locale.parse(lang)
    assert texts.lang == lang
    assert texts.dir == ("rtl" if lang == "ar" else "ltr")
    group, decimal = numbers.get_group_symbol(locale), numbers.get_decimal_symbol(locale)
    assert texts.number(1234567.5) == f"1{group}234{group}567{decimal}5"
    money = texts.money(1250, "EUR")
    assert "€" in money
    assert f"12{decimal}50" in money
    march = locale.months["format"]["wide"][3]
    assert march in texts.format_date(date(2026, 3, 5), "long")
    moment = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
    assert texts.format_datetime(moment) != Texts("en").format_datetime(moment)
    assert texts.format_datetime(None) == ""
    assert texts.format_date(None) == ""
    assert "25" in texts.percent(0.25)
    assert "%" in texts.percent(0.25)
    ago = texts.ago(moment - timedelta(days=3), moment)
    assert "3" in ago
    assert ago != Texts("en").ago(moment - timedelta(days=3), moment)
    assert texts.gettext("Log in") != "Log in"
    assert texts.gettext("Card %(number)s", number="A-1").endswith("A-1")


def test_a_decimals_message_names_its_unit_only_when_there_is_one() -> None:
    """A tier's multiplier in percent has no unit: its message must not start with a blank."""
    russian = Texts("ru")
    with pytest.raises(loyaltyform.Unreadable) as percent:
        loyaltyform.decimal_units(russian, "150.125", loyaltyform.PERCENT_DIGITS)
    assert percent.value.message == "Используйте не более 2 знаков после запятой."
    with pytest.raises(loyaltyform.Unreadable) as euros:
        loyaltyform.money(russian, "12.505", "EUR")
    assert euros.value.message == "Суммы в EUR могут иметь не более 2 знаков после запятой."


@pytest.mark.anyio
async def test_the_login_page_in_arabic_reads_right_to_left(browser_client: AdminClient) -> None:
    page = await browser_client.get("/admin/login", headers={"Accept-Language": "ar"})
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text
    title = re.search(r"<title>(.*?)</title>", page.text, re.S)
    assert title is not None
    assert title.group(1).strip() == f"{_forms(_catalog('ar')['Log in'])[0]} · passmint"
    assert re.search(r"[\u0600-\u06ff]", title.group(1))
    assert "Log in to passmint" not in page.text
    assert _forms(_catalog("ar")["Log in to passmint"])[0] in page.text
