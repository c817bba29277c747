"""Validating pass.json against Apple's rules (spec ``apple-wallet.md`` §1, §6, §7 checks 6–15).

:func:`validate_pass_json` reports *every* violation, never stopping at the first, each as a
:class:`~passmint.wallet.apple.problems.Problem` with a JSON path such as
``$.storeCard.primaryFields[1].textAlignment`` and a stable snake_case code (all codes and
their meaning: :data:`CODES`). It takes raw, possibly malformed dicts and never raises:

1. The typed model (:class:`~passmint.wallet.apple.model.PassJson`) reports wrong types and
   missing keys; Pydantic's error locations are mapped back onto the raw data's JSON paths.
2. The rules (here and in :mod:`.validation_rules`) walk the raw dict, tolerant of bad types.

Where a rule and the model report the same path, the rule's more specific problem wins; a
repeated (path, code) pair is reported once. Pure: no I/O, settings or clock.
"""

from __future__ import annotations

import base64
import codecs
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pydantic import ValidationError

from passmint.kit.jsonpath import child
from passmint.wallet.apple.model import (
    LEGACY_BARCODE_FORMATS,
    BarcodeFormat,
    FeaturedActionType,
    PassJson,
)
from passmint.wallet.apple.problems import InvalidPass, Problem, errors_only
from passmint.wallet.apple.styles import PassStyle, style_of
from passmint.wallet.apple.validation_rules import (
    CODES,
    FIELD_LIST_KEYS,
    ISO_4217_CODES,
    RULES,
    Report,
    Rule,
    as_list,
    check_date,
    fields_of,
    is_int,
    is_number,
    one_of,
    style_dicts,
    type_name,
    upcoming_entries,
)

__all__ = [
    "ALL_RULES",
    "CODES",
    "assert_valid",
    "localizable_strings",
    "validate_pass_json",
]

MAX_LOCATIONS = 10
MAX_BEACONS = 10
MAX_NFC_MESSAGE_BYTES = 64
MAX_REMOTE_IMAGE_BYTES = 2 * 1024 * 1024
MAX_FEATURED_ACTIONS = 2
SEMANTIC_DATE_TAGS = (
    "currentArrivalDate",
    "currentBoardingDate",
    "currentDepartureDate",
    "eventEndDate",
    "eventStartDate",
    "originalArrivalDate",
    "originalBoardingDate",
    "originalDepartureDate",
    "venueBoxOfficeOpenDate",
    "venueCloseDate",
    "venueDoorsOpenDate",
    "venueFanZoneOpenDate",
    "venueGatesOpenDate",
    "venueOpenDate",
    "venueParkingLotsOpenDate",
)
"""Semantic tags whose value is an ISO-8601 date."""

_UUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}", re.ASCII)
_BARCODE_FORMATS = frozenset(f.value for f in BarcodeFormat)
_RELEVANCE_NEEDS_LOCATIONS = (PassStyle.COUPON, PassStyle.STORE_CARD, PassStyle.GENERIC)


# -- rules of optional blocks: NFC, relevance, barcodes (§7 checks 11, 12, 15) ------


def _is_p256_spki(der: bytes) -> bool:
    try:
        key = load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)


def check_nfc(data: Mapping[str, Any], report: Report) -> None:
    """nfc.message ≤64 UTF-8 bytes; encryptionPublicKey is base64 (of a P-256 SPKI)."""
    if "nfc" not in data:
        return
    nfc = data["nfc"]
    if not isinstance(nfc, (dict, Mapping)):
        report.error("$.nfc", "invalid_type", f"nfc must be an object, not {type_name(nfc)}")
        return
    for key in ("message", "encryptionPublicKey"):
        if key not in nfc:
            report.error(child("$.nfc", key), "missing_required", key)
    message = nfc.get("message")
    # surrogatepass: a lone surrogate must be measured, not crash the validator.
    size = len(message.encode("utf-8", "surrogatepass")) if isinstance(message, str) else 0
    if size > MAX_NFC_MESSAGE_BYTES:
        report.error("$.nfc.message", "nfc_message_too_long", f"{size} bytes")
    encoded = nfc.get("encryptionPublicKey")
    if not isinstance(encoded, str):
        return
    try:
        der = base64.b64decode(encoded, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        der = b""
    if not der:
        report.error("$.nfc.encryptionPublicKey", "nfc_public_key_invalid")
    elif not _is_p256_spki(der):
        report.warn("$.nfc.encryptionPublicKey", "nfc_public_key_not_p256")


def check_coordinates(report: Report, path: str, item: Mapping[str, Any]) -> None:
    """latitude (±90) and longitude (±180) are present numbers in range."""
    for key, bound in (("latitude", 90), ("longitude", 180)):
        value = item.get(key)
        if key not in item:
            report.error(child(path, key), "missing_required", key)
        elif not is_number(value):
            report.error(child(path, key), "invalid_type", f"{key} must be a number")
        elif not -bound <= value <= bound:  # also true for NaN
            report.error(child(path, key), "coordinate_out_of_range", f"{key} {value}")


def _check_beacon(report: Report, path: str, beacon: Mapping[str, Any]) -> None:
    uuid = beacon.get("proximityUUID")
    if "proximityUUID" not in beacon:
        report.error(child(path, "proximityUUID"), "missing_required", "proximityUUID")
    elif isinstance(uuid, str) and not _UUID.fullmatch(uuid):
        report.error(child(path, "proximityUUID"), "beacon_uuid_invalid", repr(uuid))
    for key in ("major", "minor"):
        value = beacon.get(key)
        if key in beacon and not is_int(value):
            report.error(child(path, key), "invalid_type", f"{key} must be an integer")
        elif is_int(value) and not 0 <= value <= 65535:
            report.error(child(path, key), "beacon_value_out_of_range", f"{key} {value}")


def check_relevance(data: Mapping[str, Any], report: Report) -> None:
    """locations and beacons (≤10 each, well-formed), maxDistance > 0, store-style relevance."""
    for key, limit, code in (
        ("locations", MAX_LOCATIONS, "too_many_locations"),
        ("beacons", MAX_BEACONS, "too_many_beacons"),
    ):
        items = as_list(data.get(key))
        if len(items) > limit:
            report.error(child("$", key), code, f"{len(items)} given")
        for index, item in enumerate(items):
            path = child(child("$", key), index)
            if not isinstance(item, (dict, Mapping)):
                report.error(path, "invalid_type", "must be an object")
            elif key == "beacons":
                _check_beacon(report, path, item)
            else:
                check_coordinates(report, path, item)
                if "altitude" in item and not is_number(item["altitude"]):
                    report.error(child(path, "altitude"), "invalid_type", "must be a number")
    if "maxDistance" in data:
        distance = data["maxDistance"]
        if not is_number(distance):
            report.error("$.maxDistance", "invalid_type", "maxDistance is a number of metres")
        elif not distance > 0:  # written this way so NaN fails too
            report.error("$.maxDistance", "max_distance_not_positive", f"{distance}")
    style = style_of(data)
    if style in _RELEVANCE_NEEDS_LOCATIONS and not as_list(data.get("locations")):
        relevance = [k for k in ("relevantDate", "relevantDates", "beacons") if data.get(k)]
        if relevance:
            detail = f"a {style} with {', '.join(relevance)}"
            report.warn("$.locations", "relevance_requires_locations", detail)


def _check_barcode(report: Report, path: str, item: object, *, legacy: bool) -> None:
    if not isinstance(item, (dict, Mapping)):
        report.error(path, "invalid_type", "a barcode must be an object")
        return
    for key in ("format", "message", "messageEncoding"):
        if key not in item:
            report.error(child(path, key), "missing_required", key)
    fmt = item.get("format")
    if "format" in item and legacy and not one_of(fmt, LEGACY_BARCODE_FORMATS):
        report.error(child(path, "format"), "legacy_barcode_format_invalid", repr(fmt))
    elif "format" in item and not legacy and not one_of(fmt, _BARCODE_FORMATS):
        report.error(child(path, "format"), "barcode_format_invalid", repr(fmt))
    encoding = item.get("messageEncoding")
    if isinstance(encoding, str):
        try:
            codecs.lookup(encoding)
        except (LookupError, ValueError, TypeError):
            report.warn(child(path, "messageEncoding"), "barcode_encoding_unknown", repr(encoding))


def check_barcodes(data: Mapping[str, Any], report: Report) -> None:
    """barcodes entries and the legacy barcode: format enum, message and messageEncoding."""
    for index, item in enumerate(as_list(data.get("barcodes"))):
        _check_barcode(report, child("$.barcodes", index), item, legacy=False)
    if "barcode" in data:
        _check_barcode(report, "$.barcode", data["barcode"], legacy=True)


# -- iOS 18–27 additions --------------------------------------------------------------------


def check_featured_actions(data: Mapping[str, Any], report: Report) -> None:
    """featuredActions: at most 2; identifier and type; url, or placeIdentifier for ``place``."""
    actions = as_list(data.get("featuredActions"))
    if len(actions) > MAX_FEATURED_ACTIONS:
        report.error("$.featuredActions", "too_many_featured_actions", f"{len(actions)} given")
    for index, action in enumerate(actions):
        path = child("$.featuredActions", index)
        if not isinstance(action, (dict, Mapping)):
            report.error(path, "invalid_type", "a featured action must be an object")
            continue
        target = "placeIdentifier" if action.get("type") == FeaturedActionType.PLACE else "url"
        for key in ("identifier", "type", target):
            if key not in action:
                report.error(child(path, key), "missing_required", key)


def _check_remote_image(report: Report, path: str, remote: Mapping[str, Any]) -> None:
    for key in ("URL", "SHA256"):
        if key not in remote:
            report.error(child(path, key), "missing_required", key)
    url, size = remote.get("URL"), remote.get("size")
    if isinstance(url, str) and not url.lower().startswith("https://"):
        report.error(child(path, "URL"), "url_not_https", url)
    if is_int(size) and size > MAX_REMOTE_IMAGE_BYTES:
        report.error(child(path, "size"), "remote_image_too_large", f"{size} bytes")


def check_upcoming(data: Mapping[str, Any], report: Report) -> None:
    """upcomingPassInformation: identifiers unique, dates, remote images https and ≤2 MB."""
    seen: set[str] = set()
    for path, entry in upcoming_entries(data):
        for key in ("identifier", "name"):
            if key not in entry:
                report.error(child(path, key), "missing_required", key)
        identifier = entry.get("identifier")
        if isinstance(identifier, str) and identifier in seen:
            report.error(child(path, "identifier"), "upcoming_identifier_duplicate", identifier)
        elif isinstance(identifier, str):
            seen.add(identifier)
        info = entry.get("dateInformation")
        if isinstance(info, (dict, Mapping)) and "date" in info:
            check_date(report, child(child(path, "dateInformation"), "date"), info["date"])
        images = entry.get("images")
        for name in ("headerImage", "venueMap"):
            image = images.get(name) if isinstance(images, (dict, Mapping)) else None
            urls = as_list(image.get("URLs")) if isinstance(image, (dict, Mapping)) else []
            for index, remote in enumerate(urls):
                if isinstance(remote, (dict, Mapping)):
                    remote_path = child(child(child(child(path, "images"), name), "URLs"), index)
                    _check_remote_image(report, remote_path, remote)


def _check_semantic_tags(report: Report, path: str, semantics: object) -> None:
    if semantics is None or not isinstance(semantics, (dict, Mapping)):
        return
    for tag in SEMANTIC_DATE_TAGS:
        if tag in semantics:
            check_date(report, child(path, tag), semantics[tag])
    info = semantics.get("eventStartDateInfo")
    if isinstance(info, (dict, Mapping)) and "date" in info:
        check_date(report, child(child(path, "eventStartDateInfo"), "date"), info["date"])
    for tag in ("balance", "totalPrice"):
        amount = semantics.get(tag)
        code = amount.get("currencyCode") if isinstance(amount, (dict, Mapping)) else None
        if isinstance(code, str) and not one_of(code, ISO_4217_CODES):
            report.error(child(child(path, tag), "currencyCode"), "currency_code_invalid", code)
    for tag in ("departureLocation", "destinationLocation", "venueLocation"):
        location = semantics.get(tag)
        if isinstance(location, (dict, Mapping)):
            check_coordinates(report, child(path, tag), location)


def check_semantics(data: Mapping[str, Any], report: Report) -> None:
    """Semantic tags at pass level, on fields and on upcoming entries: dates, money, places."""
    _check_semantic_tags(report, "$.semantics", data.get("semantics"))
    containers = [(path, sd) for _, path, sd in style_dicts(data)]
    containers += list(upcoming_entries(data))
    for path, container in containers:
        if path.startswith("$.upcomingPassInformation"):
            _check_semantic_tags(report, child(path, "semantics"), container.get("semantics"))
        for list_key in FIELD_LIST_KEYS:
            items = container.get(list_key)
            if not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                # Few fields carry semantics: the others cost a lookup, and no path.
                semantics = item.get("semantics") if isinstance(item, (dict, Mapping)) else None
                if semantics is not None and isinstance(semantics, (dict, Mapping)):
                    where = child(child(child(path, list_key), index), "semantics")
                    _check_semantic_tags(report, where, semantics)


ALL_RULES: tuple[Rule, ...] = (
    *RULES,
    check_nfc,
    check_relevance,
    check_barcodes,
    check_featured_actions,
    check_upcoming,
    check_semantics,
)
"""Every rule, in the order their problems are reported."""


# -- Pydantic errors as problems ----------------------------------------------------------------


def _code_for(error_type: str) -> str:
    if error_type == "missing":
        return "missing_required"
    if error_type in ("enum", "literal_error"):
        return "invalid_enum"
    if error_type.endswith("_type") or error_type == "is_instance_of":
        return "invalid_type"
    return "invalid_value"


def _loc_to_path(data: object, loc: Sequence[int | str], error_type: str) -> str:
    """Follow Pydantic's location through the raw data, dropping the tags it adds for unions.

    ``('storeCard', 'primaryFields', 0, 'value', 'str')`` becomes
    ``$.storeCard.primaryFields[0].value``: ``'str'`` names a union member, not a key. A key
    absent from the data is kept only as the last part of a ``missing`` error.
    """
    path, node = "$", data
    for index, part in enumerate(loc):
        found, value = _descend(node, part)
        if found:
            path, node = child(path, part), value
        elif error_type == "missing" and index == len(loc) - 1 and isinstance(part, str):
            path = child(path, part)
    return path


def _descend(node: object, part: int | str) -> tuple[bool, object]:
    if isinstance(node, (dict, Mapping)) and isinstance(part, str) and part in node:
        return True, node[part]
    if isinstance(node, list) and is_int(part) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def _model_problems(data: Mapping[str, Any]) -> list[Problem]:
    try:
        PassJson.model_validate(dict(data))
    except ValidationError as exc:
        return [
            Problem(_loc_to_path(data, err["loc"], err["type"]), _code_for(err["type"]), err["msg"])
            for err in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
    return []


# -- public API ------------------------------------------------------------------------------


def validate_pass_json(
    data: Mapping[str, Any], *, strings: Mapping[str, Mapping[str, str]] | None = None
) -> list[Problem]:
    """Every problem of a pass.json mapping (errors and warnings), in a stable order.

    ``strings`` are the pass's parsed tables by bundle path (``{"fr.lproj/pass.strings":
    {key: text}}``, see :func:`~passmint.wallet.apple.strings.strings_tables`): a
    ``changeMessage`` that is one of their keys needs ``%@`` in each translation instead of
    in itself. Without them every changeMessage must contain ``%@``.

    Never raises, whatever the input: a non-object is one ``invalid_type`` problem at ``$``.
    """
    raw: object = data  # typed as a mapping, but callers pass whatever JSON they parsed
    if not isinstance(raw, (dict, Mapping)):
        return [Problem("$", "invalid_type", f"pass.json must be an object, not {type_name(raw)}")]
    report = Report(strings=strings or {})
    for rule in ALL_RULES:
        rule(data, report)
    covered = {problem.path for problem in report.problems}
    model = [problem for problem in _model_problems(data) if problem.path not in covered]
    seen: set[tuple[str, str]] = set()
    problems: list[Problem] = []
    for problem in (*model, *report.problems):
        if (problem.path, problem.code) not in seen:
            seen.add((problem.path, problem.code))
            problems.append(problem)
    return problems


def assert_valid(
    data: Mapping[str, Any], *, strings: Mapping[str, Mapping[str, str]] | None = None
) -> None:
    """Raise :class:`InvalidPass` with the error-severity problems, if there are any."""
    errors = errors_only(validate_pass_json(data, strings=strings))
    if errors:
        raise InvalidPass(errors)


def localizable_strings(data: Mapping[str, Any]) -> dict[str, str]:
    """JSON path → string of every value Wallet looks up in ``pass.strings``.

    That is organizationName, description, logoText, eventLogoText; per field its label,
    string value (not a date), attributedValue and changeMessage; relevantText of locations
    and beacons; altText of barcodes; and the name and fields of upcoming entries.
    Values of the wrong type are skipped.
    """
    found: dict[str, str] = {}
    raw: object = data
    if not isinstance(raw, (dict, Mapping)):
        return found

    def take(path: str, container: Mapping[str, Any], key: str) -> None:
        value = container.get(key)
        if isinstance(value, str):
            found[child(path, key)] = value

    for key in ("organizationName", "description", "logoText", "eventLogoText"):
        take("$", data, key)
    for list_key, text_key in (
        ("locations", "relevantText"),
        ("beacons", "relevantText"),
        ("barcodes", "altText"),
    ):
        for index, item in enumerate(as_list(data.get(list_key))):
            if isinstance(item, (dict, Mapping)):
                take(child(child("$", list_key), index), item, text_key)
    if isinstance(data.get("barcode"), (dict, Mapping)):
        take("$.barcode", data["barcode"], "altText")
    containers = [(path, sd) for _, path, sd in style_dicts(data)]
    for path, entry in upcoming_entries(data):
        take(path, entry, "name")
        containers.append((path, entry))
    for path, container in containers:
        for ref in fields_of(path, container, None):
            for key in ("label", "attributedValue", "changeMessage"):
                take(ref.path, ref.field, key)
            if "dateStyle" not in ref.field and "timeStyle" not in ref.field:
                take(ref.path, ref.field, "value")
    return found
