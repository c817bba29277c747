"""Apple's pass.json rules on the raw mapping: plumbing, the problem codes and the structural
rules (spec §1, §7 checks 6–10 and 13–15). The rules for optional blocks (NFC, relevance,
barcodes, iOS 18–27 additions) and the public API live in :mod:`.validation`.

Every rule walks the untrusted data defensively: a value of the wrong type is skipped (its
type error is reported by the Pydantic pass in :mod:`.validation`, or here as
``invalid_type`` where the rule needs the shape), so one bad key never hides the others and
nothing here raises. Pure: no I/O, settings or clock. :data:`CODES` lists every code.

Severity choices that are ours, not Apple's (Apple documents no failure for them):

* boardingPass secondary/auxiliary fields beyond 5: a *warning*. Apple gives no number; 5
  comes from vendor documentation.
* ``dateStyle`` without ``timeStyle`` (or the reverse): a *warning*. The spec asks for both,
  but Wallet renders the missing one with its default, which makes a valid date-only field.
* ``http://localhost`` / ``127.0.0.1`` web service: a *warning* (works only in device
  developer mode); any other non-https URL is an error.
* ``relevance_requires_locations``, ``attributed_value_markup``, ``barcode_encoding_unknown``
  and ``nfc_public_key_not_p256``: warnings, because Wallet degrades instead of refusing.

Field keys must be unique within each style dictionary. The legacy dictionary and
``posterGeneric`` are two renderings of the same pass, so they may share keys.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from passmint.kit.jsonpath import child
from passmint.wallet.apple.model import SQUARE_BARCODE_FORMATS
from passmint.wallet.apple.problems import Problem, Severity
from passmint.wallet.apple.styles import STYLE_KEYS, PassStyle, TransitType, style_of

CODES: dict[str, str] = {
    # Shape (also produced from Pydantic errors).
    "missing_required": "a required key is missing",
    "invalid_type": "the value has the wrong JSON type",
    "invalid_enum": "the value is not one of the allowed names",
    "invalid_value": "the value is not valid",
    "empty_string": "the string must not be empty",
    # Identity and style (§7 checks 6, 7).
    "format_version_invalid": "formatVersion must be the integer 1",
    "pass_type_identifier_prefix": "passTypeIdentifier must be 'pass.' + a reverse-DNS name",
    "style_missing": "one legacy style key is required",
    "style_multiple": "only one legacy style key is allowed",
    "poster_without_legacy_style": "posterGeneric needs a legacy style dictionary beside it",
    "transit_type_missing": "boardingPass requires transitType",
    "transit_type_invalid": "transitType must be a PKTransitType name",
    "transit_type_forbidden": "transitType is only allowed on boardingPass",
    # Fields (§7 checks 8, 9).
    "field_key_duplicate": "field keys must be unique",
    "text_alignment_not_allowed": "textAlignment is not allowed on primary or back fields",
    "row_not_allowed": "row is only allowed on eventTicket auxiliaryFields",
    "row_invalid": "row must be 0 or 1",
    "data_detector_types_not_allowed": "dataDetectorTypes is only allowed on backFields",
    "change_message_placeholder": (
        "changeMessage (or each translation of it) must contain %@ or no notification is shown"
    ),
    "date_style_pair": "give both dateStyle and timeStyle (warning)",
    "number_style_requires_number": "numberStyle needs a numeric value",
    "currency_code_requires_number": "currencyCode needs a numeric value",
    "currency_code_invalid": "not an active ISO 4217 currency code",
    "attributed_value_markup": "attributedValue supports only <a href> links (warning)",
    "too_many_fields": "more fields than the style shows",
    # Dates and colours (§7 checks 10, 13).
    "date_invalid": "not an ISO-8601 date with hh:mm and a time zone",
    "relevant_dates_interval_order": "endDate must be after startDate",
    "relevant_dates_interval_too_long": "a relevantDates interval may span at most 24 hours",
    "relevant_dates_entry_empty": "needs startDate and endDate, or relevantDate/date",
    "color_invalid": "colours must be rgb(r, g, b) with components 0–255",
    # Web service and apps (§7 checks 14, 15).
    "authentication_token_missing": "webServiceURL requires authenticationToken",
    "web_service_url_missing": "authenticationToken requires webServiceURL",
    "web_service_url_invalid": "webServiceURL is not an absolute URL",
    "web_service_url_not_https": "webServiceURL must use https",
    "web_service_url_insecure": "plain http works only on a device in developer mode (warning)",
    "authentication_token_too_short": "authenticationToken must be at least 16 characters",
    "app_launch_url_requires_store_identifiers": (
        "appLaunchURL requires a non-empty associatedStoreIdentifiers array of integers"
    ),
    "grouping_identifier_not_allowed": "groupingIdentifier is only for eventTicket/boardingPass",
    # NFC, relevance, barcodes (§7 checks 11, 12, 15).
    "nfc_message_too_long": "nfc.message may be at most 64 bytes in UTF-8",
    "nfc_public_key_invalid": "encryptionPublicKey must be base64",
    "nfc_public_key_not_p256": "encryptionPublicKey should be a P-256 SPKI (warning)",
    "too_many_locations": "at most 10 locations are used",
    "too_many_beacons": "at most 10 beacons are used",
    "coordinate_out_of_range": "latitude must be within ±90 and longitude within ±180",
    "beacon_uuid_invalid": "proximityUUID must be a UUID",
    "beacon_value_out_of_range": "major and minor must be within 0..65535",
    "max_distance_not_positive": "maxDistance must be greater than 0",
    "relevance_requires_locations": "this style needs locations to use relevance (warning)",
    "barcode_format_invalid": "unknown barcode format",
    "legacy_barcode_format_invalid": "the legacy barcode supports only QR, PDF417 and Aztec",
    "barcode_encoding_unknown": "messageEncoding is not a known character set (warning)",
    # iOS 18–27 additions.
    "too_many_featured_actions": "at most 2 featured actions are shown",
    "upcoming_identifier_duplicate": "upcoming entry identifiers must be unique",
    "url_not_https": "remote images must use https",
    "remote_image_too_large": "remote images may be at most 2 MB",
}
"""Every problem code the pass.json validator reports, with what it means."""

POSTER_GENERIC = "posterGeneric"
FIELD_LIST_KEYS: tuple[str, ...] = (
    "headerFields",
    "primaryFields",
    "secondaryFields",
    "auxiliaryFields",
    "backFields",
    "additionalInfoFields",
    "footerFields",
)
REQUIRED_STRINGS = (
    "passTypeIdentifier",
    "serialNumber",
    "teamIdentifier",
    "organizationName",
    "description",
)
COLOR_KEYS = (
    "backgroundColor",
    "foregroundColor",
    "labelColor",
    "footerBackgroundColor",
    "stripColor",
)
MIN_TOKEN_LENGTH = 16
MAX_RELEVANT_INTERVAL = timedelta(hours=24)

_ISO_4217_TABLE = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD
    IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL
    MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN
    PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES
    VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER
    ZAR ZMW ZWG
"""
ISO_4217_CODES = frozenset(_ISO_4217_TABLE.split())
"""Active ISO 4217 codes (2025; ANG and BGN kept while they are still legal tender)."""

# ISO-8601 as Wallet reads it: a full date, hours and minutes at least, and a zone.
_ISO_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)",
    re.ASCII,
)
_RGB = re.compile(r"rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)", re.ASCII)
_TAG = re.compile(r"<\s*/?\s*([A-Za-z][A-Za-z0-9]*)")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_TRANSIT_TYPES = frozenset(t.value for t in TransitType)
_FIELD_RULE_KEYS = frozenset(
    {
        "textAlignment",
        "row",
        "dataDetectorTypes",
        "changeMessage",
        "dateStyle",
        "timeStyle",
        "numberStyle",
        "currencyCode",
        "attributedValue",
    }
)
"""The keys of a field that the rules after its key and value look at."""
_STYLE_PATHS: dict[str, str] = {key: child("$", key) for key in (*STYLE_KEYS, POSTER_GENERIC)}
"""Style key → its JSON path (``$.storeCard``), every legacy style, then posterGeneric."""


# -- plumbing --------------------------------------------------------------------------------


@dataclass(slots=True)
class Report:
    """Collects problems; the message is the code's meaning plus an optional detail.

    ``strings`` are the pass's parsed ``xx.lproj/pass.strings`` tables by bundle path, for
    the rules that must look a value up in them (a ``changeMessage`` that is a key).
    """

    problems: list[Problem] = field(default_factory=list)
    strings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    _tables: list[tuple[str, Mapping[str, str]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def tables(self) -> list[tuple[str, Mapping[str, str]]]:
        """``strings`` as (bundle path, table), sorted by path (sorted once per report)."""
        if self._tables is None:
            self._tables = sorted(self.strings.items())
        return self._tables

    def error(self, path: str, code: str, detail: str = "") -> None:
        """Record a violation Wallet refuses or mis-renders."""
        self._add(path, code, detail, Severity.ERROR)

    def warn(self, path: str, code: str, detail: str = "") -> None:
        """Record something Wallet tolerates but that is probably not what was meant."""
        self._add(path, code, detail, Severity.WARNING)

    def _add(self, path: str, code: str, detail: str, severity: Severity) -> None:
        meaning = CODES[code].removesuffix(" (warning)")
        message = f"{meaning}: {detail}" if detail else meaning
        self.problems.append(Problem(path, code, message, severity))


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer (``bool`` is an ``int`` subclass in Python, but not in JSON)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number (int or float, never bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def one_of(value: object, options: frozenset[str]) -> bool:
    """``value in options`` that cannot raise on unhashable JSON (arrays, objects)."""
    return isinstance(value, str) and value in options


def type_name(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (dict, Mapping)):
        return "object"
    return "array" if isinstance(value, list | tuple) else type(value).__name__


def parse_iso_datetime(value: object) -> datetime | None:
    """An aware datetime from an ISO-8601 string with at least hh:mm and a zone, else None."""
    match = _ISO_DATETIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = timedelta(0)
    if zone != "Z":
        digits = zone[1:].replace(":", "")
        if int(digits[2:] or 0) >= 60:
            return None
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        offset = -offset if zone[0] == "-" else offset
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=timezone(offset),
        )
    except (ValueError, OverflowError):  # 2025-02-30, offsets of 24 h or more ...
        return None


def as_list(value: object) -> list[Any]:
    """``value`` if it is a JSON array, else an empty list (the type error is reported once)."""
    return value if isinstance(value, list) else []


def style_dicts(data: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(style key, path, dict) of every style dictionary that is an object, poster last."""
    for key, path in _STYLE_PATHS.items():
        value = data.get(key)
        if value is not None and isinstance(value, (dict, Mapping)):
            yield key, path, value


def upcoming_entries(data: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, entry) of every upcomingPassInformation entry that is an object."""
    for index, entry in enumerate(as_list(data.get("upcomingPassInformation"))):
        if isinstance(entry, (dict, Mapping)):
            yield child("$.upcomingPassInformation", index), entry


@dataclass(slots=True)
class FieldRef:
    """One field dictionary found in a style dictionary or an upcoming entry: the
    ``index``-th of ``list_key`` in the container at ``base``."""

    style: str | None  # None for upcoming pass information entries
    list_key: str
    base: str
    index: int
    field: Mapping[str, Any]

    @property
    def path(self) -> str:
        """The field's JSON path, written when asked for (most fields have no problem)."""
        return f"{child(self.base, self.list_key)}[{self.index}]"


def fields_of(path: str, container: Mapping[str, Any], style: str | None) -> Iterator[FieldRef]:
    """Every field object in the field lists of ``container`` (a style dict or entry)."""
    for list_key in FIELD_LIST_KEYS:
        items = container.get(list_key)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if isinstance(item, (dict, Mapping)):
                yield FieldRef(style, list_key, path, index, item)


# -- identity and style (§7 checks 6 and 7) -------------------------------------------------


def check_required_keys(data: Mapping[str, Any], report: Report) -> None:
    """formatVersion is the integer 1; the identity strings are present and non-empty."""
    if "formatVersion" not in data:
        report.error("$.formatVersion", "missing_required", "formatVersion")
    elif not (is_int(data["formatVersion"]) and data["formatVersion"] == 1):
        found = reprlib.repr(data["formatVersion"])
        report.error("$.formatVersion", "format_version_invalid", f"found {found}")
    for key in REQUIRED_STRINGS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            continue  # the usual case
        path = child("$", key)
        if key not in data:
            report.error(path, "missing_required", key)
        elif not isinstance(value, str):
            report.error(path, "invalid_type", f"{key} must be a string, not {type_name(value)}")
        else:
            report.error(path, "empty_string", key)
    identifier = data.get("passTypeIdentifier")
    prefixed = isinstance(identifier, str) and identifier.startswith("pass.") and identifier[5:]
    if isinstance(identifier, str) and identifier.strip() and not prefixed:
        report.error("$.passTypeIdentifier", "pass_type_identifier_prefix", repr(identifier))


def check_styles(data: Mapping[str, Any], report: Report) -> None:
    """Exactly one legacy style; posterGeneric only beside one; transitType on boardingPass."""
    legacy = [key for key in STYLE_KEYS if key in data]
    if not legacy:
        report.error("$", "style_missing", f"one of {', '.join(STYLE_KEYS)}")
    elif len(legacy) > 1:
        report.error("$", "style_multiple", f"found {', '.join(legacy)}")
    if POSTER_GENERIC in data and not legacy:
        report.error("$.posterGeneric", "poster_without_legacy_style")
    for key in (*legacy, *([POSTER_GENERIC] if POSTER_GENERIC in data else [])):
        value, path = data[key], _STYLE_PATHS.get(key) or child("$", key)
        if not isinstance(value, (dict, Mapping)):
            report.error(path, "invalid_type", f"{key} must be an object, not {type_name(value)}")
            continue
        boarding = key == PassStyle.BOARDING_PASS
        if boarding and "transitType" not in value:
            report.error(child(path, "transitType"), "transit_type_missing")
        elif boarding and not one_of(value["transitType"], _TRANSIT_TYPES):
            detail = ", ".join(sorted(_TRANSIT_TYPES))
            report.error(child(path, "transitType"), "transit_type_invalid", detail)
        elif not boarding and "transitType" in value:
            report.error(child(path, "transitType"), "transit_type_forbidden", f"found on {key}")
        for list_key in FIELD_LIST_KEYS:
            items = value.get(list_key, [])
            if not isinstance(items, list):
                report.error(child(path, list_key), "invalid_type", f"{list_key} must be an array")
                continue
            for index, item in enumerate(items):
                if not isinstance(item, (dict, Mapping)):
                    item_path = child(child(path, list_key), index)
                    report.error(item_path, "invalid_type", "a field must be an object")


# -- fields (§7 checks 8 and 9) -------------------------------------------------------------


def _check_field(ref: FieldRef, report: Report) -> None:
    f = ref.field
    # Paths are written only for a problem (ref.path): most fields have none.
    key, value = f.get("key"), f.get("value")
    if type(key) is str and key:
        pass  # the usual case
    elif "key" not in f:
        report.error(child(ref.path, "key"), "missing_required", "key")
    elif not isinstance(key, str):
        report.error(
            child(ref.path, "key"), "invalid_type", f"key must be a string, not {type_name(key)}"
        )
    elif not key:
        report.error(child(ref.path, "key"), "empty_string", "key")
    if type(value) is str or type(value) is int or type(value) is float:
        pass  # the usual case
    elif "value" not in f:
        report.error(child(ref.path, "value"), "missing_required", "value")
    elif not (isinstance(value, str) or is_number(value)):
        detail = f"value must be a string or a number, not {type_name(value)}"
        report.error(child(ref.path, "value"), "invalid_type", detail)
    if f.keys().isdisjoint(_FIELD_RULE_KEYS):
        return  # a plain field: none of the rules below applies
    if "textAlignment" in f and ref.list_key in ("primaryFields", "backFields"):
        report.error(child(ref.path, "textAlignment"), "text_alignment_not_allowed", ref.list_key)
    if "row" in f and (ref.style != PassStyle.EVENT_TICKET or ref.list_key != "auxiliaryFields"):
        report.error(child(ref.path, "row"), "row_not_allowed", f"found on {ref.list_key}")
    elif "row" in f and not (is_int(f["row"]) and f["row"] in (0, 1)):
        report.error(child(ref.path, "row"), "row_invalid", repr(f["row"]))
    if "dataDetectorTypes" in f and ref.list_key != "backFields":
        report.error(child(ref.path, "dataDetectorTypes"), "data_detector_types_not_allowed")
    message = f.get("changeMessage")
    if isinstance(message, str):
        _check_change_message(ref, message, report)
    has_date, has_time = "dateStyle" in f, "timeStyle" in f
    if has_date != has_time:
        missing = "timeStyle" if has_date else "dateStyle"
        report.warn(child(ref.path, missing), "date_style_pair", f"Wallet defaults {missing}")
    if (has_date or has_time) and "value" in f and parse_iso_datetime(value) is None:
        report.error(child(ref.path, "value"), "date_invalid", "dateStyle/timeStyle make it a date")
    for name, code in (
        ("numberStyle", "number_style_requires_number"),
        ("currencyCode", "currency_code_requires_number"),
    ):
        if name in f and "value" in f and not is_number(value):
            report.error(child(ref.path, name), code, f"value is a {type_name(value)}")
    currency = f.get("currencyCode")
    if isinstance(currency, str) and not one_of(currency, ISO_4217_CODES):
        report.error(child(ref.path, "currencyCode"), "currency_code_invalid", repr(currency))
    attributed = f.get("attributedValue")
    if isinstance(attributed, str):
        tags = {tag.lower() for tag in _TAG.findall(attributed)} - {"a"}
        if tags:
            detail = f"Wallet ignores {', '.join(sorted(tags))}"
            report.warn(child(ref.path, "attributedValue"), "attributed_value_markup", detail)


def _check_change_message(ref: FieldRef, message: str, report: Report) -> None:
    """``%@`` in the message, or, when it is a key of the strings tables, in every translation.

    Apple's changeMessage is a localizable format string: Wallet looks it up in the
    pass.strings of the device's language and formats the translation. A table without the
    key falls back to the text itself; that missing key is check 17's error.
    """
    translations = {file: table[message] for file, table in report.tables() if message in table}
    if not translations:
        if "%@" not in message:
            report.error(
                child(ref.path, "changeMessage"), "change_message_placeholder", repr(message)
            )
        return
    lacking = [
        f"{file.partition('.lproj/')[0]} ({file}: {text!r})"
        for file, text in translations.items()
        if "%@" not in text
    ]
    if lacking:
        detail = f"the translation of the key {message!r} lacks %@ in {', '.join(lacking)}"
        report.error(child(ref.path, "changeMessage"), "change_message_placeholder", detail)


def check_fields(data: Mapping[str, Any], report: Report) -> None:
    """Per-field rules, and unique keys within each style dictionary or upcoming entry."""
    containers: list[tuple[str | None, str, Mapping[str, Any]]] = list(style_dicts(data))
    containers += [(None, path, entry) for path, entry in upcoming_entries(data)]
    for style, path, container in containers:
        seen: dict[str, FieldRef] = {}
        for ref in fields_of(path, container, style):
            _check_field(ref, report)
            key = ref.field.get("key")
            if isinstance(key, str) and key in seen:
                first = seen[key].path
                report.error(
                    child(ref.path, "key"), "field_key_duplicate", f"{key!r} is at {first}"
                )
            elif isinstance(key, str):
                seen[key] = ref


def _limit(
    report: Report, base: str, key: str, count: int, maximum: int, *, warn: bool = False
) -> None:
    """``too_many_fields`` at ``key`` of the style dictionary at ``base`` over ``maximum``."""
    if count > maximum:
        detail = f"{count} found, at most {maximum} are shown"
        (report.warn if warn else report.error)(child(base, key), "too_many_fields", detail)


def _length(value: object) -> int:
    """``len(as_list(value))``."""
    return len(value) if isinstance(value, list) else 0


def _first_barcode_format(data: Mapping[str, Any]) -> object:
    barcodes = as_list(data.get("barcodes"))
    first = barcodes[0] if barcodes else data.get("barcode")
    return first.get("format") if isinstance(first, (dict, Mapping)) else None


def check_field_limits(data: Mapping[str, Any], report: Report) -> None:
    """Front-of-pass field counts per style (spec §1 table; back fields are unlimited)."""
    for style, path, sd in style_dicts(data):
        count = {key: _length(sd.get(key)) for key in FIELD_LIST_KEYS}
        if style == POSTER_GENERIC:
            _limit(report, path, "headerFields", count["headerFields"], 1)
            _limit(report, path, "primaryFields", count["primaryFields"], 4)
            _limit(report, path, "footerFields", count["footerFields"], 2)
            continue
        _limit(report, path, "headerFields", count["headerFields"], 3)
        primary_max = 2 if style == PassStyle.BOARDING_PASS else 1
        _limit(report, path, "primaryFields", count["primaryFields"], primary_max)
        secondary, auxiliary = count["secondaryFields"], count["auxiliaryFields"]
        if style == PassStyle.BOARDING_PASS:
            # Apple gives no number for boarding passes; 5 is what vendors document.
            _limit(report, path, "secondaryFields", secondary, 5, warn=True)
            _limit(report, path, "auxiliaryFields", auxiliary, 5, warn=True)
        elif style in (PassStyle.COUPON, PassStyle.STORE_CARD) or (
            style == PassStyle.GENERIC
            and one_of(_first_barcode_format(data), SQUARE_BARCODE_FORMATS)
        ):
            # One row of four, shared: report on the list holding the first field that won't fit.
            where = "secondaryFields" if secondary > 4 else "auxiliaryFields"
            _limit(report, path, where, secondary + auxiliary, 4)
        elif style == PassStyle.EVENT_TICKET:
            _limit(report, path, "secondaryFields", secondary, 4)
            rows = [
                f.get("row")
                for f in as_list(sd.get("auxiliaryFields"))
                if isinstance(f, (dict, Mapping))
            ]
            second_row = sum(1 for row in rows if is_int(row) and row == 1)
            _limit(report, path, "auxiliaryFields", auxiliary - second_row, 4)
            _limit(report, path, "auxiliaryFields", second_row, 4)
        else:
            _limit(report, path, "secondaryFields", secondary, 4)
            _limit(report, path, "auxiliaryFields", auxiliary, 4)


# -- dates and colours (§7 checks 10 and 13) ------------------------------------------------


def check_date(report: Report, path: str, value: object) -> datetime | None:
    """Report a string that is not a usable ISO-8601 date (non-strings are type errors)."""
    if not isinstance(value, str):
        return None
    parsed = parse_iso_datetime(value)
    if parsed is None:
        report.error(path, "date_invalid", repr(value))
    return parsed


def check_dates(data: Mapping[str, Any], report: Report) -> None:
    """expirationDate, relevantDate and relevantDates (intervals ≤24 h, end after start)."""
    for key in ("expirationDate", "relevantDate"):
        if key in data:
            check_date(report, child("$", key), data[key])
    for index, entry in enumerate(as_list(data.get("relevantDates"))):
        path = child("$.relevantDates", index)
        if not isinstance(entry, (dict, Mapping)):
            report.error(path, "invalid_type", "a relevantDates entry must be an object")
        elif "startDate" in entry or "endDate" in entry:
            for key in ("startDate", "endDate"):
                if key not in entry:
                    report.error(child(path, key), "missing_required", f"an interval needs {key}")
            start = check_date(report, child(path, "startDate"), entry.get("startDate"))
            end = check_date(report, child(path, "endDate"), entry.get("endDate"))
            if start is not None and end is not None and end <= start:
                report.error(path, "relevant_dates_interval_order")
            elif start is not None and end is not None and end - start > MAX_RELEVANT_INTERVAL:
                report.error(path, "relevant_dates_interval_too_long", f"{end - start} long")
        elif "relevantDate" in entry or "date" in entry:
            for key in ("relevantDate", "date"):
                if key in entry:
                    check_date(report, child(path, key), entry[key])
        else:
            report.error(path, "relevant_dates_entry_empty")


def check_colors(data: Mapping[str, Any], report: Report) -> None:
    """Colours are CSS rgb() triplets with components 0–255 (no hex, no names)."""
    for key in COLOR_KEYS:
        value = data.get(key)
        if isinstance(value, str):
            match = _RGB.fullmatch(value.strip())
            if match is None or max(map(int, match.groups())) > 255:
                report.error(child("$", key), "color_invalid", repr(value))


# -- web service and apps (§7 checks 14 and 15) ---------------------------------------------


def _scheme_and_host(url: str) -> tuple[str, str | None]:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), parts.hostname
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return "", None


def check_web_service(data: Mapping[str, Any], report: Report) -> None:
    """webServiceURL ⇔ authenticationToken; https only; token ≥16 characters."""
    if "webServiceURL" in data and "authenticationToken" not in data:
        report.error("$.authenticationToken", "authentication_token_missing")
    if "authenticationToken" in data and "webServiceURL" not in data:
        report.error("$.webServiceURL", "web_service_url_missing")
    url = data.get("webServiceURL")
    if isinstance(url, str):
        scheme, host = _scheme_and_host(url)
        if not host:
            report.error("$.webServiceURL", "web_service_url_invalid", repr(url))
        elif scheme == "http" and host in _LOCAL_HOSTS:
            report.warn("$.webServiceURL", "web_service_url_insecure", url)
        elif scheme != "https":
            report.error("$.webServiceURL", "web_service_url_not_https", url)
    token = data.get("authenticationToken")
    if isinstance(token, str) and len(token) < MIN_TOKEN_LENGTH:
        report.error("$.authenticationToken", "authentication_token_too_short", f"{len(token)}")


def check_apps(data: Mapping[str, Any], report: Report) -> None:
    """Store identifiers are integers; appLaunchURL needs them; groupingIdentifier placement."""
    for key in ("associatedStoreIdentifiers", "auxiliaryStoreIdentifiers"):
        for index, item in enumerate(as_list(data.get(key))):
            if not is_int(item):
                detail = f"store identifiers are integers, not {type_name(item)}"
                report.error(child(child("$", key), index), "invalid_type", detail)
    if "appLaunchURL" in data:
        ids = as_list(data.get("associatedStoreIdentifiers"))
        if not ids or not all(is_int(item) for item in ids):
            report.error(
                "$.associatedStoreIdentifiers", "app_launch_url_requires_store_identifiers"
            )
    style = style_of(data)
    if "groupingIdentifier" in data and style not in (
        None,
        PassStyle.EVENT_TICKET,
        PassStyle.BOARDING_PASS,
    ):
        report.error("$.groupingIdentifier", "grouping_identifier_not_allowed", f"found on {style}")


Rule = Callable[[Mapping[str, Any], Report], None]

RULES: tuple[Rule, ...] = (
    check_required_keys,
    check_styles,
    check_fields,
    check_field_limits,
    check_colors,
    check_dates,
    check_web_service,
    check_apps,
)
"""The structural rules of this module; :mod:`.validation` adds those of optional blocks."""
