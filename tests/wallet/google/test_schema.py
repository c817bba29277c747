from __future__ import annotations

from typing import Any

import pytest

from passmint.wallet.google.schema import load_discovery
from tests.passes.google import discovery


def loyalty_object(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "3388000000012345678.obj-1",
        "classId": "3388000000012345678.cafe",
        "state": "ACTIVE",
        "barcode": {"type": "QR_CODE", "value": "SN-1", "alternateText": "SN-1"},
        "loyaltyPoints": {"label": "Points", "balance": {"int": 120}},
    }
    body.update(changes)
    return body


def codes(problems: list[Any]) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in problems}


def test_a_valid_object_has_no_problems() -> None:
    assert discovery().validate("LoyaltyObject", loyalty_object()) == []


def test_the_document_is_google_api_python_clients() -> None:
    disco = discovery()
    assert disco.revision
    assert disco.required("LoyaltyClass") == [
        "id",
        "issuerName",
        "programLogo",
        "programName",
        "reviewStatus",
    ]
    assert disco.required("GenericObject") == ["cardTitle", "classId", "header", "id"]
    # conditional wording is not "Required."
    assert "activationStatus" not in disco.required("TransitObject")
    assert disco.required("TransitObject") == ["classId", "id", "state", "tripType"]


def test_unknown_property_is_rejected() -> None:
    body = loyalty_object(foo=1, barcode={"type": "QR_CODE", "value": "x", "colour": "red"})
    assert codes(discovery().validate("LoyaltyObject", body)) == {
        ("$.foo", "unknown_property"),
        ("$.barcode.colour", "unknown_property"),
    }


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"state": 1}, "$.state"),
        ({"loyaltyPoints": {"balance": {"int": "120"}}}, "$.loyaltyPoints.balance.int"),
        ({"loyaltyPoints": {"balance": {"double": True}}}, "$.loyaltyPoints.balance.double"),
        ({"textModulesData": {"id": "a"}}, "$.textModulesData"),
        ({"barcode": "QR"}, "$.barcode"),
        ({"disableExpirationNotification": "yes"}, "$.disableExpirationNotification"),
    ],
)
def test_wrong_types_are_rejected(changes: dict[str, Any], path: str) -> None:
    assert codes(discovery().validate("LoyaltyObject", loyalty_object(**changes))) == {
        (path, "invalid_type")
    }


def test_int32_range_and_int64_strings() -> None:
    too_big = loyalty_object(loyaltyPoints={"balance": {"int": 2**31}})
    assert codes(discovery().validate("LoyaltyObject", too_big)) == {
        ("$.loyaltyPoints.balance.int", "out_of_range")
    }
    gift = {
        "id": "1.a",
        "classId": "1.b",
        "state": "ACTIVE",
        "cardNumber": "42",
        "balance": {"currencyCode": "EUR", "micros": "25000000"},
    }
    assert discovery().validate("GiftCardObject", gift) == []
    gift["balance"] = {"currencyCode": "EUR", "micros": 25000000}
    assert codes(discovery().validate("GiftCardObject", gift)) == {
        ("$.balance.micros", "invalid_type")
    }
    gift["balance"] = {"currencyCode": "EUR", "micros": "25.5"}
    assert codes(discovery().validate("GiftCardObject", gift)) == {
        ("$.balance.micros", "invalid_format")
    }


@pytest.mark.parametrize(
    ("changes", "path", "code"),
    [
        ({"state": "active"}, "$.state", "deprecated_enum"),
        ({"state": "ACTIVATED"}, "$.state", "invalid_enum"),
        ({"state": "STATE_UNSPECIFIED"}, "$.state", "unspecified_enum"),
        ({"barcode": {"type": "qrCode", "value": "x"}}, "$.barcode.type", "deprecated_enum"),
        ({"barcode": {"type": "PDF417", "value": "x"}}, "$.barcode.type", "deprecated_enum"),
        ({"barcode": {"type": "QR", "value": "x"}}, "$.barcode.type", "invalid_enum"),
    ],
)
def test_only_canonical_enum_values_pass(changes: dict[str, Any], path: str, code: str) -> None:
    assert codes(discovery().validate("LoyaltyObject", loyalty_object(**changes))) == {(path, code)}


def test_deprecated_properties_are_rejected() -> None:
    body = loyalty_object(
        kind="walletobjects#loyaltyObject",
        infoModuleData={"showLastUpdateTime": True},
        locations=[{"latitude": 1.0, "longitude": 2.0}],
    )
    assert codes(discovery().validate("LoyaltyObject", body)) == {
        ("$.kind", "deprecated_property"),
        ("$.infoModuleData", "deprecated_property"),
        ("$.locations", "deprecated_property"),
    }


def test_missing_required_fields_are_flagged_unless_partial() -> None:
    body = loyalty_object()
    del body["classId"], body["state"]
    assert codes(discovery().validate("LoyaltyObject", body)) == {
        ("$.classId", "missing_required"),
        ("$.state", "missing_required"),
    }
    assert discovery().validate("LoyaltyObject", body, partial=True) == []
    # nested: a flight class needs flightHeader, origin ...
    flight = {"id": "1.f", "issuerName": "Aero", "reviewStatus": "UNDER_REVIEW"}
    assert codes(discovery().validate("FlightClass", flight)) == {
        ("$.flightHeader", "missing_required"),
        ("$.origin", "missing_required"),
        ("$.destination", "missing_required"),
        ("$.localScheduledDepartureDateTime", "missing_required"),
    }


def test_unknown_schema_and_bad_document() -> None:
    with pytest.raises(KeyError):
        discovery().validate("NoSuchClass", {})
    with pytest.raises(ValueError, match="schemas"):
        load_discovery({"name": "walletobjects"})
    tiny = load_discovery({"schemas": {"A": {"id": "A", "type": "object", "properties": {}}}})
    assert codes(tiny.validate("A", {"x": 1})) == {("$.x", "unknown_property")}


def test_required_is_a_sentence_of_its_own_and_never_inherited() -> None:
    doc = {
        "schemas": {
            "A": {
                "id": "A",
                "type": "object",
                "properties": {
                    "x": {"type": "string", "description": "Required. The x."},
                    "y": {"type": "string", "description": "The y. Required."},
                    "z": {"type": "string", "description": "Required if x is set."},
                    "b": {"$ref": "B"},
                },
            },
            "B": {
                "id": "B",
                "type": "object",
                "properties": {"w": {"type": "integer", "description": "Required. The w."}},
            },
        }
    }
    disco = load_discovery(doc)
    assert disco.required("A") == ["x", "y"]
    assert codes(disco.validate("A", {"b": {}})) == {
        ("$.x", "missing_required"),
        ("$.y", "missing_required"),
        ("$.b.w", "missing_required"),
    }
    assert disco.validate("A", {"x": "1", "y": "2"}) == []
