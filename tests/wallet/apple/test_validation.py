"""pass.json validation: every rule reports its exact path and code, all at once, never raising."""

from __future__ import annotations

import base64
import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passmint.kit.jsonpath import child
from passmint.wallet.apple.problems import InvalidPass, Problem, Severity
from passmint.wallet.apple.styles import style_of
from passmint.wallet.apple.validation import (
    CODES,
    assert_valid,
    localizable_strings,
    validate_pass_json,
)
from tests.wallet.apple.test_model import GOLDEN

JSON = dict[str, Any]
DELETE = object()
Ops = dict[str, object]
E, W = Severity.ERROR, Severity.WARNING
BASES: dict[str, Callable[[], JSON]] = {
    "air": GOLDEN["boarding_pass_air"],
    "train": GOLDEN["boarding_pass_train"],
    "event": GOLDEN["poster_event_ticket"],
    "card": GOLDEN["nfc_store_card"],
    "coupon": GOLDEN["coupon"],
    "generic": GOLDEN["generic"],
}


def _parts(dotted: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in dotted.split(".")]


def _json_path(dotted: str) -> str:
    path = "$"
    for part in _parts(dotted):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def apply(data: JSON, ops: Ops) -> JSON:
    """Set (or, with DELETE, remove) the value at each dotted path; index len(list) appends."""
    for dotted, value in ops.items():
        *parents, last = _parts(dotted)
        node: Any = data
        for part in parents:
            node = node[part]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(value)
        else:
            node[last] = value
    return data


def case(base: str, ops: Ops, code: str, at: str | None = None, severity: Severity = E) -> Any:
    """One rule case: apply ``ops`` to a golden pass, expect ``code`` at ``at`` (by default
    the JSON path of the first operation)."""
    first = next(iter(ops))
    path = at if at is not None else _json_path(first)
    return pytest.param(base, ops, path, code, severity, id=f"{code}-{base}-{first}")


def found(problems: Sequence[Problem]) -> set[tuple[str, str, Severity]]:
    return {(p.path, p.code, p.severity) for p in problems}


def fld(key: str, **extra: object) -> JSON:
    return {"key": key, "label": key.upper(), "value": key, **extra}


def fields(prefix: str, count: int, **extra: object) -> list[JSON]:
    return [fld(f"{prefix}{i}", **extra) for i in range(count)]


def interval(start: str, end: str) -> list[JSON]:
    return [{"startDate": start, "endDate": end}]


SC, ET, BP, PG = "storeCard", "eventTicket", "boardingPass", "posterGeneric"
P0, S0 = f"{SC}.primaryFields.0", f"{SC}.secondaryFields.0"
UP = "upcomingPassInformation.0"
IMG = f"{UP}.images.headerImage.URLs.0"
UUID = "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0"
BAD_KEY = base64.b64encode(b"not a key").decode()
ACTION = {"identifier": "c", "type": "call", "url": "tel:1"}

CASES = [
    # §7 check 6: identity
    case("card", {"formatVersion": DELETE}, "missing_required"),
    case("card", {"formatVersion": True}, "format_version_invalid"),
    case("card", {"formatVersion": 2}, "format_version_invalid"),
    case("card", {"formatVersion": "1"}, "format_version_invalid"),
    case("card", {"formatVersion": 1.0}, "format_version_invalid"),
    case("card", {"serialNumber": DELETE}, "missing_required"),
    case("air", {"teamIdentifier": DELETE}, "missing_required"),
    case("card", {"organizationName": ""}, "empty_string"),
    case("card", {"teamIdentifier": "  "}, "empty_string"),
    case("card", {"description": 5}, "invalid_type"),
    case("card", {"passTypeIdentifier": "com.x"}, "pass_type_identifier_prefix"),
    case("card", {"passTypeIdentifier": "pass."}, "pass_type_identifier_prefix"),
    # §7 check 7: styles
    case("coupon", {"coupon": DELETE}, "style_missing", at="$"),
    case("card", {"coupon": {}}, "style_multiple", at="$"),
    case("card", {SC: DELETE}, "poster_without_legacy_style", at="$.posterGeneric"),
    case("card", {SC: [1]}, "invalid_type"),
    case("card", {f"{SC}.primaryFields": {"key": "x"}}, "invalid_type"),
    case("card", {f"{SC}.backFields.1": "text"}, "invalid_type"),
    case("air", {f"{BP}.transitType": DELETE}, "transit_type_missing"),
    case("train", {f"{BP}.transitType": "PKTransitTypeRocket"}, "transit_type_invalid"),
    case("card", {f"{SC}.transitType": "PKTransitTypeAir"}, "transit_type_forbidden"),
    case("card", {f"{PG}.transitType": "PKTransitTypeAir"}, "transit_type_forbidden"),
    # §7 check 8: fields
    case(
        "card",
        {f"{SC}.backFields.1": fld("points")},
        "field_key_duplicate",
        at="$.storeCard.backFields[1].key",
    ),
    case("card", {f"{PG}.footerFields.1.key": "tier"}, "field_key_duplicate"),
    case("card", {f"{S0}.key": DELETE}, "missing_required"),
    case("card", {f"{S0}.key": ""}, "empty_string"),
    case("card", {f"{S0}.value": DELETE}, "missing_required"),
    case("card", {f"{S0}.value": False}, "invalid_type"),
    case("card", {f"{S0}.value": {"a": 1}}, "invalid_type"),
    case("card", {f"{P0}.textAlignment": "PKTextAlignmentLeft"}, "text_alignment_not_allowed"),
    case(
        "air",
        {f"{BP}.backFields.0.textAlignment": "PKTextAlignmentLeft"},
        "text_alignment_not_allowed",
    ),
    case("card", {f"{SC}.auxiliaryFields.1.row": 1}, "row_not_allowed"),
    case("event", {f"{ET}.secondaryFields.0.row": 0}, "row_not_allowed"),
    case("event", {f"{ET}.auxiliaryFields.0.row": 2}, "row_invalid"),
    case("event", {f"{ET}.auxiliaryFields.0.row": True}, "row_invalid"),
    case("card", {f"{S0}.dataDetectorTypes": []}, "data_detector_types_not_allowed"),
    # §7 check 9: change messages, numbers, currencies
    case("card", {f"{S0}.changeMessage": "Tier changed"}, "change_message_placeholder"),
    case("card", {f"{S0}.numberStyle": "PKNumberStyleDecimal"}, "number_style_requires_number"),
    case("card", {f"{S0}.currencyCode": "EUR"}, "currency_code_requires_number"),
    case("card", {f"{P0}.currencyCode": "XYZ"}, "currency_code_invalid"),
    case("card", {f"{P0}.currencyCode": "eur"}, "currency_code_invalid"),
    case(
        "card",
        {f"{SC}.backFields.0.attributedValue": "<b>bold</b>"},
        "attributed_value_markup",
        severity=W,
    ),
    # §7 check 10: dates
    case(
        "card",
        {f"{S0}.dateStyle": "PKDateStyleShort", f"{S0}.value": "2026-01-01T10:00Z"},
        "date_style_pair",
        at="$.storeCard.secondaryFields[0].timeStyle",
        severity=W,
    ),
    case("card", {f"{SC}.auxiliaryFields.0.value": "tomorrow"}, "date_invalid"),
    case("card", {f"{SC}.auxiliaryFields.0.value": "2026-01-01T10:00"}, "date_invalid"),
    case("card", {f"{SC}.auxiliaryFields.0.value": "2026-01-01"}, "date_invalid"),
    case("card", {f"{SC}.auxiliaryFields.0.value": 5}, "date_invalid"),
    case("coupon", {"expirationDate": "2026-13-01T10:00Z"}, "date_invalid"),
    case("coupon", {"expirationDate": "2026-01-01T10:00+25:00"}, "date_invalid"),
    case("coupon", {"relevantDate": "2026-06-01"}, "date_invalid"),
    case(
        "air",
        {"relevantDates": interval("2026-07-01T00:00Z", "2026-07-02T00:01Z")},
        "relevant_dates_interval_too_long",
        at="$.relevantDates[0]",
    ),
    case(
        "air",
        {"relevantDates": interval("2026-07-01T10:00Z", "2026-07-01T10:00Z")},
        "relevant_dates_interval_order",
        at="$.relevantDates[0]",
    ),
    case(
        "air",
        {"relevantDates": interval("2026-07-01T10:00+02:00", "2026-07-01T07:30Z")},
        "relevant_dates_interval_order",
        at="$.relevantDates[0]",
    ),
    case("air", {"relevantDates.0.endDate": DELETE}, "missing_required"),
    case("air", {"relevantDates.0.startDate": "now"}, "date_invalid"),
    case("event", {"relevantDates.0": {}}, "relevant_dates_entry_empty"),
    case("event", {"relevantDates.0": "2026-01-01T10:00Z"}, "invalid_type"),
    case("event", {"relevantDates.0.date": "soon"}, "date_invalid"),
    # §7 check 11: locations, beacons, maxDistance
    case("card", {"locations": [{"latitude": 1, "longitude": 2}] * 11}, "too_many_locations"),
    case("card", {"locations.0.latitude": 90.5}, "coordinate_out_of_range"),
    case("card", {"locations.0.longitude": -181}, "coordinate_out_of_range"),
    case("card", {"locations.0.latitude": "48.1"}, "invalid_type"),
    case("card", {"locations.0.longitude": DELETE}, "missing_required"),
    case("event", {"beacons": [{"proximityUUID": UUID}] * 11}, "too_many_beacons"),
    case("event", {"beacons.0.proximityUUID": "not-a-uuid"}, "beacon_uuid_invalid"),
    case("event", {"beacons.0.proximityUUID": DELETE}, "missing_required"),
    case("event", {"beacons.0.major": 65536}, "beacon_value_out_of_range"),
    case("event", {"beacons.0.minor": -1}, "beacon_value_out_of_range"),
    case("event", {"beacons.0.minor": 1.5}, "invalid_type"),
    case("air", {"maxDistance": 0}, "max_distance_not_positive"),
    case("air", {"maxDistance": -5.5}, "max_distance_not_positive"),
    case("air", {"maxDistance": math.nan}, "max_distance_not_positive"),
    case("air", {"maxDistance": "10"}, "invalid_type"),
    case("coupon", {"locations": DELETE}, "relevance_requires_locations", severity=W),
    case(
        "card",
        {"locations": [], "beacons": [{"proximityUUID": UUID}]},
        "relevance_requires_locations",
        at="$.locations",
        severity=W,
    ),
    # §7 check 12: barcodes
    case("card", {"barcodes.0.format": "PKBarcodeFormatDataMatrix"}, "barcode_format_invalid"),
    case("card", {"barcodes.0.format": DELETE}, "missing_required"),
    case("card", {"barcodes.0.message": DELETE}, "missing_required"),
    case("coupon", {"barcodes.1.messageEncoding": DELETE}, "missing_required"),
    case(
        "card", {"barcodes.0.messageEncoding": "klingon-8"}, "barcode_encoding_unknown", severity=W
    ),
    case("card", {"barcodes.0": "4711"}, "invalid_type"),
    case("train", {"barcode.format": "PKBarcodeFormatCode128"}, "legacy_barcode_format_invalid"),
    case("train", {"barcode.messageEncoding": DELETE}, "missing_required"),
    # §7 check 13: colours
    case("card", {"backgroundColor": "#ff0000"}, "color_invalid"),
    case("card", {"foregroundColor": "rgb(256, 0, 0)"}, "color_invalid"),
    case("card", {"labelColor": "rgba(0, 0, 0, 1)"}, "color_invalid"),
    case("event", {"footerBackgroundColor": "red"}, "color_invalid"),
    case("card", {"stripColor": "rgb(1,2)"}, "color_invalid"),
    # §7 check 14: web service
    case("air", {"authenticationToken": DELETE}, "authentication_token_missing"),
    case("air", {"webServiceURL": DELETE}, "web_service_url_missing"),
    case("air", {"webServiceURL": "http://example.com/"}, "web_service_url_not_https"),
    case("air", {"webServiceURL": "ftp://example.com/"}, "web_service_url_not_https"),
    case("air", {"webServiceURL": "/apple/"}, "web_service_url_invalid"),
    case("air", {"webServiceURL": "https://[::1/"}, "web_service_url_invalid"),
    case(
        "air",
        {"webServiceURL": "http://localhost:8000/apple/"},
        "web_service_url_insecure",
        severity=W,
    ),
    case(
        "air", {"webServiceURL": "http://127.0.0.1:8000/"}, "web_service_url_insecure", severity=W
    ),
    case("air", {"authenticationToken": "x" * 15}, "authentication_token_too_short"),
    # §7 check 15: apps, grouping, NFC
    case(
        "card", {"associatedStoreIdentifiers": DELETE}, "app_launch_url_requires_store_identifiers"
    ),
    case("card", {"associatedStoreIdentifiers": []}, "app_launch_url_requires_store_identifiers"),
    case(
        "card",
        {"associatedStoreIdentifiers": ["123"]},
        "invalid_type",
        at="$.associatedStoreIdentifiers[0]",
    ),
    case("event", {"auxiliaryStoreIdentifiers.0": True}, "invalid_type"),
    case("card", {"groupingIdentifier": "g"}, "grouping_identifier_not_allowed"),
    case("coupon", {"groupingIdentifier": "g"}, "grouping_identifier_not_allowed"),
    case("card", {"nfc.message": "x" * 65}, "nfc_message_too_long"),
    case("card", {"nfc.message": "€" * 22}, "nfc_message_too_long"),
    case("card", {"nfc.message": "\ud800" * 22}, "nfc_message_too_long"),
    case("card", {"nfc.encryptionPublicKey": "ключ"}, "nfc_public_key_invalid"),
    case("card", {"nfc.message": DELETE}, "missing_required"),
    case("card", {"nfc.encryptionPublicKey": DELETE}, "missing_required"),
    case("card", {"nfc.encryptionPublicKey": "not base64!"}, "nfc_public_key_invalid"),
    case("card", {"nfc.encryptionPublicKey": ""}, "nfc_public_key_invalid"),
    case("card", {"nfc.encryptionPublicKey": BAD_KEY}, "nfc_public_key_not_p256", severity=W),
    case("card", {"nfc": "card:1"}, "invalid_type"),
    # field limits per style
    case("card", {f"{SC}.headerFields": fields("h", 4)}, "too_many_fields"),
    case(
        "card",
        {f"{SC}.primaryFields.1": fld("p2")},
        "too_many_fields",
        at="$.storeCard.primaryFields",
    ),
    case(
        "air",
        {f"{BP}.primaryFields.2": fld("via")},
        "too_many_fields",
        at="$.boardingPass.primaryFields",
    ),
    case(
        "card",
        {f"{SC}.auxiliaryFields.2": fld("x")},
        "too_many_fields",
        at="$.storeCard.auxiliaryFields",
    ),
    case("coupon", {"coupon.secondaryFields": fields("s", 5)}, "too_many_fields"),
    case("event", {f"{ET}.secondaryFields": fields("s", 5)}, "too_many_fields"),
    case("event", {f"{ET}.auxiliaryFields": fields("a", 5)}, "too_many_fields"),
    case("event", {f"{ET}.auxiliaryFields": fields("a", 5, row=1)}, "too_many_fields"),
    case(
        "generic",
        {"generic.secondaryFields.4": fld("s4")},
        "too_many_fields",
        at="$.generic.secondaryFields",
    ),
    case(
        "generic",
        {"barcodes.0.format": "PKBarcodeFormatQR"},
        "too_many_fields",
        at="$.generic.auxiliaryFields",
    ),
    case(
        "generic",
        {"barcodes": DELETE, "barcode": {"format": "PKBarcodeFormatAztec", "message": "m"}},
        "too_many_fields",
        at="$.generic.auxiliaryFields",
    ),
    case("air", {f"{BP}.secondaryFields": fields("s", 6)}, "too_many_fields", severity=W),
    case(
        "card",
        {f"{PG}.headerFields.1": fld("h2")},
        "too_many_fields",
        at="$.posterGeneric.headerFields",
    ),
    case("card", {f"{PG}.primaryFields": fields("p", 5)}, "too_many_fields"),
    case(
        "card",
        {f"{PG}.footerFields.2": fld("f3")},
        "too_many_fields",
        at="$.posterGeneric.footerFields",
    ),
    # iOS 18–27 keys
    case(
        "card", {"featuredActions.2": ACTION}, "too_many_featured_actions", at="$.featuredActions"
    ),
    case("card", {"featuredActions.0.url": DELETE}, "missing_required"),
    case("card", {"featuredActions.1.placeIdentifier": DELETE}, "missing_required"),
    case("card", {"featuredActions.0.type": "dance"}, "invalid_enum"),
    case("event", {"preferredStyleSchemes.0": "posterTicket"}, "invalid_enum"),
    case(
        "event",
        {"upcomingPassInformation.1": {"identifier": "match-2", "name": "x"}},
        "upcoming_identifier_duplicate",
        at="$.upcomingPassInformation[1].identifier",
    ),
    case("event", {f"{UP}.name": DELETE}, "missing_required"),
    case("event", {f"{UP}.dateInformation.date": "TBA"}, "date_invalid"),
    case("event", {f"{IMG}.URL": "http://cdn.example.com/h.png"}, "url_not_https"),
    case("event", {f"{IMG}.size": 3_000_000}, "remote_image_too_large"),
    case("event", {f"{UP}.backFields.0.changeMessage": "x"}, "change_message_placeholder"),
    # semantics
    case("event", {"semantics.eventStartDate": "soon"}, "date_invalid"),
    case("event", {"semantics.eventStartDateInfo.date": "2026-09-12"}, "date_invalid"),
    case("event", {"semantics.totalPrice.currencyCode": "XX"}, "currency_code_invalid"),
    case("event", {"semantics.venueLocation.latitude": 100}, "coordinate_out_of_range"),
    case("event", {"semantics.eventType": "PKEventTypeRave"}, "invalid_enum"),
    case(
        "card",
        {f"{P0}.semantics": {"eventEndDate": "later"}},
        "date_invalid",
        at="$.storeCard.primaryFields[0].semantics.eventEndDate",
    ),
    # types reported by the model only (union tags stripped from the path)
    case("card", {f"{P0}.label": 5}, "invalid_type"),
    case("card", {f"{P0}.attributedValue": {"a": 1}}, "invalid_type"),
    case("coupon", {"voided": "yes"}, "invalid_type"),
    case(
        "air", {f"{BP}.auxiliaryFields.0.textAlignment": "PKTextAlignmentJustified"}, "invalid_enum"
    ),
    case("card", {"barcodes": {"format": "PKBarcodeFormatQR"}}, "invalid_type"),
    case("coupon", {"userInfo": {1, 2}}, "invalid_value"),
    case("card", {"semantics.seats": {"a b": 1}}, "invalid_type"),
]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_passes_have_no_problems(name: str) -> None:
    data = GOLDEN[name]()
    assert validate_pass_json(data) == []
    assert style_of(data) is not None
    assert_valid(data)


@pytest.mark.parametrize(("base", "ops", "path", "code", "severity"), CASES)
def test_each_rule_reports_path_and_code(
    base: str, ops: Ops, path: str, code: str, severity: Severity
) -> None:
    problems = validate_pass_json(apply(BASES[base](), ops))
    assert (path, code, severity) in found(problems), problems
    assert code in CODES


def test_every_code_is_exercised() -> None:
    assert {param.values[3] for param in CASES} == set(CODES)


@pytest.mark.parametrize(
    ("base", "ops"),
    [
        ("card", {f"{S0}.textAlignment": "PKTextAlignmentCenter"}),
        ("event", {f"{ET}.auxiliaryFields": fields("a", 4) + fields("b", 4, row=1)}),
        ("card", {"backgroundColor": " rgb( 0 , 0 , 0 ) "}),
        ("card", {"nfc.message": "x" * 64}),
        ("coupon", {"expirationDate": "2026-12-31T23:59:59,5-03"}),
        ("air", {"relevantDates": interval("2026-07-01T00:00Z", "2026-07-02T00:00Z")}),
        ("air", {"maxDistance": 0.5}),
        ("generic", {"barcodes.0.format": "PKBarcodeFormatEAN13"}),
        ("card", {f"{PG}.primaryFields.0.key": "balance"}),
        ("card", {"featuredActions": []}),
    ],
)
def test_valid_edge_cases_have_no_problems(base: str, ops: Ops) -> None:
    assert validate_pass_json(apply(BASES[base](), ops)) == []


def test_localhost_web_service_is_only_a_warning() -> None:
    data = apply(BASES["air"](), {"webServiceURL": "http://localhost:8000/"})
    problems = validate_pass_json(data)
    assert [p.severity for p in problems] == [W]
    assert_valid(data)


def test_many_violations_are_reported_at_once() -> None:
    data = apply(
        BASES["event"](),
        {
            "formatVersion": False,
            "serialNumber": "",
            "passTypeIdentifier": "com.example",
            "coupon": {},
            "backgroundColor": "#000",
            "webServiceURL": "http://example.com",
            "expirationDate": "2026-01-01",
            "relevantDates.0": {"startDate": "2026-01-01T00:00Z", "endDate": "2026-01-03T00:00Z"},
            "beacons.0.major": 70000,
            "maxDistance": -1,
            "barcode": {"format": "PKBarcodeFormatCode128", "message": "m"},
            "nfc": {"message": "m" * 65, "encryptionPublicKey": "%%%"},
            f"{ET}.primaryFields.0.textAlignment": "PKTextAlignmentLeft",
            f"{ET}.secondaryFields.1.key": "date",
            f"{ET}.backFields.0.changeMessage": "changed",
            f"{ET}.auxiliaryFields.1.row": 3,
            f"{ET}.headerFields.0.numberStyle": "PKNumberStyleDecimal",
            f"{ET}.transitType": "PKTransitTypeBus",
            "semantics.totalPrice.currencyCode": "EURO",
        },
    )
    expected = {
        ("$.formatVersion", "format_version_invalid"),
        ("$.serialNumber", "empty_string"),
        ("$.passTypeIdentifier", "pass_type_identifier_prefix"),
        ("$", "style_multiple"),
        ("$.backgroundColor", "color_invalid"),
        ("$.webServiceURL", "web_service_url_not_https"),
        ("$.authenticationToken", "authentication_token_missing"),
        ("$.expirationDate", "date_invalid"),
        ("$.relevantDates[0]", "relevant_dates_interval_too_long"),
        ("$.beacons[0].major", "beacon_value_out_of_range"),
        ("$.maxDistance", "max_distance_not_positive"),
        ("$.barcode.format", "legacy_barcode_format_invalid"),
        ("$.barcode.messageEncoding", "missing_required"),
        ("$.nfc.message", "nfc_message_too_long"),
        ("$.nfc.encryptionPublicKey", "nfc_public_key_invalid"),
        ("$.eventTicket.primaryFields[0].textAlignment", "text_alignment_not_allowed"),
        ("$.eventTicket.secondaryFields[1].key", "field_key_duplicate"),
        ("$.eventTicket.backFields[0].changeMessage", "change_message_placeholder"),
        ("$.eventTicket.auxiliaryFields[1].row", "row_invalid"),
        ("$.eventTicket.headerFields[0].numberStyle", "number_style_requires_number"),
        ("$.eventTicket.transitType", "transit_type_forbidden"),
        ("$.semantics.totalPrice.currencyCode", "currency_code_invalid"),
    }
    problems = validate_pass_json(data)
    assert expected <= {(p.path, p.code) for p in problems}
    with pytest.raises(InvalidPass) as caught:
        assert_valid(data)
    assert all(p.severity is E for p in caught.value.problems)
    assert expected <= {(p.path, p.code) for p in caught.value.problems}


def test_problems_are_deduplicated_and_rules_win_over_types() -> None:
    data = apply(BASES["train"](), {f"{BP}.transitType": ["PKTransitTypeTrain"]})
    problems = validate_pass_json(data)
    at_transit = [p.code for p in problems if p.path == "$.boardingPass.transitType"]
    assert at_transit == ["transit_type_invalid"]
    pairs = [(p.path, p.code) for p in problems]
    assert len(pairs) == len(set(pairs))


def test_paths_quote_keys_that_are_not_identifiers() -> None:
    assert child("$", "storeCard") == "$.storeCard"
    assert child("$.barcodes", 2) == "$.barcodes[2]"
    assert child("$.userInfo", "a b") == '$.userInfo["a b"]'


@pytest.mark.parametrize("data", [[], "pass", 1, None, True])
def test_non_object_input_is_one_problem(data: Any) -> None:
    problems = validate_pass_json(data)
    assert [(p.path, p.code) for p in problems] == [("$", "invalid_type")]
    assert localizable_strings(data) == {}


def test_localizable_strings() -> None:
    strings = localizable_strings(BASES["card"]())
    assert strings["$.organizationName"] == "Example Org"
    assert strings["$.description"] == "Example loyalty card"
    assert strings["$.logoText"] == "Example Coffee"
    assert strings["$.locations[0].relevantText"] == "Coffee nearby"
    assert strings["$.barcodes[0].altText"] == "4711"
    assert strings["$.storeCard.headerFields[0].label"] == "POINTS"
    assert strings["$.storeCard.headerFields[0].changeMessage"] == "You have %@ points"
    assert strings["$.storeCard.secondaryFields[1].value"] == "Gold"
    assert strings["$.storeCard.backFields[0].attributedValue"].startswith("<a href")
    assert strings["$.posterGeneric.footerFields[0].label"] == "TIER"
    # Numbers and dates are formatted by Wallet, not looked up in pass.strings.
    assert "$.storeCard.headerFields[0].value" not in strings
    assert "$.storeCard.auxiliaryFields[0].value" not in strings
    assert "$.storeCard.auxiliaryFields[0].label" in strings
    event = localizable_strings(BASES["event"]())
    assert event["$.eventLogoText"] == "Lions"
    assert event["$.upcomingPassInformation[0].name"] == "Lions v Bears"
    assert event["$.upcomingPassInformation[0].backFields[0].label"] == "Gates"
    train = localizable_strings(apply(BASES["train"](), {"barcode.altText": "T1"}))
    assert train["$.barcode.altText"] == "T1"
    assert all(isinstance(value, str) for value in train.values())


# -- never raises ----------------------------------------------------------------------------


def _keys_of(value: object, into: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            into.add(key)
            _keys_of(item, into)
    elif isinstance(value, list):
        for item in value:
            _keys_of(item, into)
    return into


KNOWN_KEYS = sorted(set[str]().union(*(_keys_of(make(), set()) for make in GOLDEN.values())))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["pass.x", "rgb(1,2,3)", "2026-01-01T10:00Z", "PKBarcodeFormatQR", "%@"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=40,
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_never_raises(data: Any) -> None:
    problems = validate_pass_json(data)
    assert all(isinstance(p, Problem) and p.path.startswith("$") for p in problems)
    pairs = [(p.path, p.code) for p in problems]
    assert len(pairs) == len(set(pairs))
    assert all(p.code in CODES for p in problems)
    assert all(isinstance(v, str) for v in localizable_strings(data).values())


@FUZZ
@given(JSON_VALUES)
def test_never_raises_on_arbitrary_json(data: Any) -> None:
    _check_never_raises(data)


@FUZZ
@given(st.sampled_from(sorted(GOLDEN)), st.data())
def test_never_raises_on_mutated_golden_passes(name: str, draw: st.DataObject) -> None:
    data = copy.deepcopy(GOLDEN[name]())
    for _ in range(draw.draw(st.integers(min_value=1, max_value=4))):
        node: Any = data
        while True:
            if isinstance(node, dict) and node:
                key: str | int = draw.draw(st.sampled_from(sorted(node)))
            elif isinstance(node, list) and node:
                key = draw.draw(st.integers(min_value=0, max_value=len(node) - 1))
            else:
                break
            if draw.draw(st.booleans()) or not isinstance(node[key], dict | list):
                node[key] = draw.draw(JSON_VALUES)
                break
            node = node[key]
    _check_never_raises(data)


# -- changeMessage as a localization key ------------------------------------------------------


def _loans_card(message: str = "LOANS_CHANGED") -> JSON:
    return apply(BASES["card"](), {f"{S0}.changeMessage": message})


def test_change_message_key_translated_with_the_placeholder_everywhere_is_valid() -> None:
    strings = {
        "en.lproj/pass.strings": {"LOANS_CHANGED": "You now have %@ loans"},
        "fr.lproj/pass.strings": {"LOANS_CHANGED": "Vous avez maintenant %@ prêts"},
    }
    problems = validate_pass_json(_loans_card(), strings=strings)
    assert "change_message_placeholder" not in {p.code for p in problems}
    assert_valid(_loans_card(), strings=strings)


def test_change_message_key_whose_translation_lacks_the_placeholder_names_the_language() -> None:
    strings = {
        "de.lproj/pass.strings": {"LOANS_CHANGED": "Ausleihen geändert"},
        "en.lproj/pass.strings": {"LOANS_CHANGED": "You now have %@ loans"},
        "fr.lproj/pass.strings": {"LOANS_CHANGED": "Prêts modifiés"},
    }
    [problem] = [
        p
        for p in validate_pass_json(_loans_card(), strings=strings)
        if p.code == "change_message_placeholder"
    ]
    assert problem.path == "$.storeCard.secondaryFields[0].changeMessage"
    assert problem.severity is E
    assert "de (de.lproj/pass.strings: 'Ausleihen geändert')" in problem.message
    assert "fr (fr.lproj/pass.strings: 'Prêts modifiés')" in problem.message
    assert "en.lproj" not in problem.message


def test_change_message_in_no_strings_table_still_needs_the_placeholder() -> None:
    strings = {"fr.lproj/pass.strings": {"OTHER_KEY": "Autre %@"}}
    for tables in (strings, None):
        problems = validate_pass_json(_loans_card(), strings=tables)
        assert (
            "$.storeCard.secondaryFields[0].changeMessage",
            "change_message_placeholder",
            E,
        ) in (found(problems))
    ok = validate_pass_json(_loans_card("Loans: %@"), strings=strings)
    assert "change_message_placeholder" not in {p.code for p in ok}


def test_a_key_with_the_placeholder_must_keep_it_in_its_translations() -> None:
    strings = {"fr.lproj/pass.strings": {"Loans: %@": "Prêts"}}
    problems = validate_pass_json(_loans_card("Loans: %@"), strings=strings)
    assert any(
        p.code == "change_message_placeholder" and "fr (fr.lproj/pass.strings" in p.message
        for p in problems
    )
