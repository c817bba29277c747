from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from passmint.wallet.apple.problems import Severity
from passmint.wallet.apple.styles import PassStyle, TransitType
from passmint.wallet.designs.schemas import DesignError, DesignLocation, color_hex, parse_design
from passmint.wallet.google.render import (
    money,
    object_state,
    render_class,
    render_object,
    validate_design_for_google,
)
from passmint.wallet.google.verticals import Vertical, vertical_for
from tests.passes.google import discovery
from tests.wallet.designs.test_render_apple import (
    boarding,
    cafe,
    concert,
    coupon,
    gift_card,
    gym,
)

ISSUER = "3388000000012345678"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BASE = "https://passmint.example/google/images/tv_1"
IMAGE_URLS = {
    name: f"{BASE}/{name}.png"
    for name in ("icon", "logo", "strip", "background", "thumbnail", "footer")
}


def flight() -> dict[str, Any]:
    design = boarding("air")
    design["semantics"] = {
        "airlineCode": "AL",
        "flightNumber": 444,
        "departureAirportCode": "CDG",
        "destinationAirportCode": "LIS",
        "originalDepartureDate": "2026-12-20T07:45:00+01:00",
        "passengerName": {"givenName": "{{ first_name }}", "familyName": "{{ last_name }}"},
        "confirmationNumber": "{{ booking.code }}",
    }
    design["localizations"] = {"pt": {"PASSENGER": "PASSAGEIRO", "SEAT": "LUGAR"}}
    return design


def train() -> dict[str, Any]:
    design = boarding("train")
    design["semantics"] = {"passengerName": "{{ passenger }}"}
    design["localizations"] = {"fr": {"PASSENGER": "PASSAGER"}, "de": {"SEAT": "SITZ"}}
    return design


def offer() -> dict[str, Any]:
    design = coupon()
    design["localizations"] = {"nl": {"OFFER": "AANBOD", "Lunch menu": "Lunchmenu"}}
    return design


def ticket() -> dict[str, Any]:
    design = concert()
    design["links"] = [{"label": "Venue", "url": "https://pleyel.example/plan"}]
    design["localizations"] = {"fr": {"SECTION": "SECTION", "ROW": "RANG", "Venue": "Salle"}}
    return design


def membership() -> dict[str, Any]:
    design = gym()
    design["localizations"] = {"es": {"PLAN": "PLAN", "MEMBER": "SOCIO"}}
    return design


def gift() -> dict[str, Any]:
    design = gift_card()
    design["localizations"] = {"fr": {"CARD": "CARTE"}}
    return design


CASES: dict[str, tuple[PassStyle, dict[str, Any], dict[str, Any], Vertical]] = {
    "cafe": (
        PassStyle.STORE_CARD,
        cafe(),
        {
            "points": 120,
            "tier": "Gold",
            "points_to_reward": 30,
            "customer": {"first_name": "Ada", "joined_at": "2024-03-01T09:00:00+01:00"},
            "expires_at": "2027-12-31T23:59:00+01:00",
            "pass_id": "pass_01",
        },
        Vertical.LOYALTY,
    ),
    "gift_card": (
        PassStyle.STORE_CARD,
        gift(),
        {"balance": 2550, "currency": "EUR", "card_number": "6006 4912 3456", "pin": "1234"},
        Vertical.GIFT_CARD,
    ),
    "coupon": (
        PassStyle.COUPON,
        offer(),
        {"discount": 0.2, "code": "LUNCH-2026-XK4", "expires_at": "2026-12-31T14:30:00Z"},
        Vertical.OFFER,
    ),
    "concert": (
        PassStyle.EVENT_TICKET,
        ticket(),
        {
            "event": {"name": "Night of Strings", "starts_at": "2026-12-05T20:00:00+01:00"},
            "seat": {"section": "B", "row": "12", "number": 7},
            "holder": "Grace Hopper",
            "ticket_code": "TKT-7781",
        },
        Vertical.EVENT_TICKET,
    ),
    "gym": (
        PassStyle.GENERIC,
        membership(),
        {"member": {"name": "Alan", "id": "M-1001"}, "plan": "Premium"},
        Vertical.GENERIC,
    ),
    "flight": (
        PassStyle.BOARDING_PASS,
        flight(),
        {
            "gate": "F32",
            "origin": {"city": "Paris", "code": "CDG"},
            "destination": {"city": "Lisbon", "code": "LIS"},
            "first_name": "Ada",
            "last_name": "Lovelace",
            "passenger": "Ada Lovelace",
            "seat": "14C",
            "departs_at": "2026-12-20T07:45:00+01:00",
            "booking": {"reference": "M1LOVELACE/ADA  XK4P2Q", "code": "XK4P2Q"},
        },
        Vertical.FLIGHT,
    ),
    "train": (
        PassStyle.BOARDING_PASS,
        train(),
        {
            "gate": "Voie 4",
            "origin": {"city": "Lyon", "code": "LYS"},
            "destination": {"city": "Marseille", "code": "MRS"},
            "passenger": "Alan Turing",
            "seat": "Car 5, 63",
            "departs_at": "2026-12-21T10:04:00+01:00",
            "booking": {"reference": "TGV-6171-QW7"},
        },
        Vertical.TRANSIT,
    ),
}


def klass(name: str) -> dict[str, Any]:
    style, raw, _, _ = CASES[name]
    return render_class(
        parse_design(raw),
        style,
        issuer_id=ISSUER,
        class_id=f"{ISSUER}.tpl_{name}.v1",
        image_urls=IMAGE_URLS,
    )


def obj(name: str, **options: Any) -> dict[str, Any]:
    style, raw, data, _ = CASES[name]
    options.setdefault("voided", False)
    options.setdefault("now", NOW)
    return render_object(
        parse_design(raw),
        style,
        data,
        issuer_id=ISSUER,
        class_id=f"{ISSUER}.tpl_{name}.v1",
        object_id=f"{ISSUER}.pass-{name}_01",
        serial_number=f"SN-{name}",
        image_urls=IMAGE_URLS,
        **options,
    )


def walk(value: object) -> list[tuple[str, object]]:
    """(key, value) of every entry of nested JSON."""
    found: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((key, item))
            found += walk(item)
    elif isinstance(value, list):
        for item in value:
            found += walk(item)
    return found


@pytest.mark.parametrize("name", list(CASES))
def test_every_vertical_validates_against_the_discovery_document(name: str) -> None:
    style, raw, _, vertical = CASES[name]
    design = parse_design(raw)
    assert vertical_for(style, gift_card=design.gift_card, transit_type=design.transit_type) is (
        vertical
    )
    assert [p for p in validate_design_for_google(design, style) if p.severity == "error"] == []
    body_class, body_object = klass(name), obj(name)
    assert discovery().validate(vertical.class_schema, body_class) == []
    assert discovery().validate(vertical.object_schema, body_object) == []
    assert body_object["classId"] == body_class["id"]
    assert body_object["id"] == f"{ISSUER}.pass-{name}_01"
    assert body_object.get("state", "ACTIVE") == "ACTIVE"
    # barcodes mapped, colours as #rrggbb, images as https URLs from passmint
    barcode = body_object["barcode"]
    assert barcode["type"] in {"QR_CODE", "PDF_417", "AZTEC", "CODE_128"}
    assert barcode["value"]
    colours = [v for k, v in walk([body_class, body_object]) if k == "hexBackgroundColor"]
    assert colours
    assert set(colours) == {color_hex(raw["colors"]["background"])}
    uris = [v for k, v in walk([body_class, body_object]) if k == "sourceUri"]
    assert uris
    assert all(isinstance(u, dict) and u["uri"].startswith(f"{BASE}/") for u in uris)
    # every language of the design appears wherever a text is translated
    languages = set(design.localizations)
    translated = [v for k, v in walk([body_class, body_object]) if k == "translatedValues"]
    assert translated
    for values in translated:
        assert isinstance(values, list)
        assert {v["language"] for v in values} == languages
    # merchantLocations <= 10 and never the deprecated `locations`
    assert len(body_class.get("merchantLocations", [])) <= 10
    assert "locations" not in body_class
    assert "infoModuleData" not in body_object


def test_loyalty_specifics() -> None:
    body_class, body_object = klass("cafe"), obj("cafe")
    assert body_class["programName"] == "Café Lumen"
    assert body_class["reviewStatus"] == "UNDER_REVIEW"
    assert body_class["merchantLocations"] == [
        {"latitude": 48.8566, "longitude": 2.3522},
        {"latitude": 45.764, "longitude": 4.8357},
    ]
    assert body_object["loyaltyPoints"]["balance"] == {"int": 120}
    assert body_object["loyaltyPoints"]["label"] == "POINTS"
    header = next(m for m in body_object["textModulesData"] if m["id"] == "member")
    assert header["localizedHeader"]["translatedValues"] == [
        {"language": "fr", "value": "MEMBRE"},
        {"language": "ar", "value": "العضو"},
    ]
    assert body_object["linksModuleData"]["uris"][1]["uri"] == (
        "https://cafe.example/cards/pass_01"
    )
    assert body_object["validTimeInterval"] == {"end": {"date": "2027-12-31T23:59:00+01:00"}}
    rows = body_class["classTemplateInfo"]["cardTemplateOverride"]["cardRowTemplateInfos"]
    assert rows[0] == {
        "oneItem": {
            "item": {"firstValue": {"fields": [{"fieldPath": "object.textModulesData['tier']"}]}}
        }
    }
    assert set(rows[1]) == {"twoItems"}
    keys = {m["id"] for m in body_object["textModulesData"]}
    assert keys == {"tier", "member", "next_reward", "since", "phone"}


def test_secondary_loyalty_points_and_money_balances() -> None:
    raw = cafe()
    raw["fields"]["primary"].append(
        {"key": "credit", "label": "CREDIT", "value": "{{ credit }}", "currency_code": "EUR"}
    )
    style, _, data, _ = CASES["cafe"]
    body = render_object(
        parse_design(raw),
        style,
        {**data, "credit": 1999},
        issuer_id=ISSUER,
        class_id=f"{ISSUER}.c",
        object_id=f"{ISSUER}.o",
        serial_number="SN",
        image_urls=IMAGE_URLS,
        voided=False,
        now=NOW,
    )
    assert body["secondaryLoyaltyPoints"]["balance"] == {
        "money": {"currencyCode": "EUR", "micros": "19990000"}
    }
    assert discovery().validate("LoyaltyObject", body) == []


def test_gift_card_money_in_micros() -> None:
    body = obj("gift_card")
    assert body["balance"] == {"currencyCode": "EUR", "micros": "25500000"}
    assert body["cardNumber"] == "6006 4912 3456"
    assert body["pin"] == "1234"
    assert body["balanceUpdateTime"] == {"date": "2026-11-01T12:00:00+00:00"}
    assert "balance" not in {m["id"] for m in body.get("textModulesData", [])}


@pytest.mark.parametrize(
    ("minor", "currency", "micros"),
    [
        (2500, "EUR", "25000000"),
        (500, "JPY", "500000000"),
        (1234, "BHD", "1234000"),
        (0, "USD", "0"),
    ],
)
def test_money(minor: int, currency: str, micros: str) -> None:
    assert money(minor, currency) == {"currencyCode": currency, "micros": micros}


def test_money_rejects_non_integers_and_bad_codes() -> None:
    with pytest.raises(TypeError):
        money(25.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ISO 4217"):
        money(1, "eur")


def test_gift_card_balance_must_be_minor_units() -> None:
    style, raw, data, _ = CASES["gift_card"]
    with pytest.raises(DesignError) as caught:
        render_object(
            parse_design(raw),
            style,
            {**data, "balance": 25.5},
            issuer_id=ISSUER,
            class_id=f"{ISSUER}.c",
            object_id=f"{ISSUER}.o",
            serial_number="SN",
            image_urls=IMAGE_URLS,
            voided=False,
            now=NOW,
        )
    assert caught.value.problems[0].code == "google_balance_invalid"


def test_offer_event_generic_flight_transit_specifics() -> None:
    offer_class = klass("coupon")
    assert offer_class["provider"] == "Bistro Nord"
    assert offer_class["title"] == "20% off your next lunch"
    assert offer_class["redemptionChannel"] == "INSTORE"
    offer_object = obj("coupon")
    assert offer_object["barcode"] == {
        "type": "CODE_128",
        "value": "LUNCH-2026-XK4",
        "alternateText": "LUNCH-2026-XK4",
    }
    event_class = klass("concert")
    assert event_class["eventName"]["defaultValue"]["value"] == "Concert ticket"
    assert obj("concert")["hexBackgroundColor"] == "#111111"
    generic = obj("gym")
    assert generic["cardTitle"]["defaultValue"] == {"language": "en", "value": "Forge Gym"}
    assert generic["header"]["defaultValue"]["value"] == "Alan"
    assert generic["subheader"]["translatedValues"] == [{"language": "es", "value": "SOCIO"}]
    assert generic["barcode"]["type"] == "AZTEC"
    flight_class = klass("flight")
    assert flight_class["flightHeader"] == {
        "carrier": {
            "carrierIataCode": "AL",
            "airlineLogo": flight_class["flightHeader"]["carrier"]["airlineLogo"],
        },
        "flightNumber": "444",
    }
    assert flight_class["localScheduledDepartureDateTime"] == "2026-12-20T07:45:00"
    assert flight_class["origin"] == {"airportIataCode": "CDG"}
    flight_object = obj("flight")
    assert flight_object["passengerName"] == "Ada Lovelace"
    assert flight_object["reservationInfo"] == {"confirmationCode": "XK4P2Q"}
    assert flight_object["barcode"]["type"] == "PDF_417"
    transit_class = klass("train")
    assert transit_class["transitType"] == "RAIL"
    assert transit_class["logo"]["sourceUri"]["uri"] == f"{BASE}/logo.png"
    transit_object = obj("train")
    assert transit_object["tripType"] == "ONE_WAY"
    assert transit_object["passengerNames"] == "Alan Turing"


@pytest.mark.parametrize(
    ("transit", "expected"),
    [("bus", "BUS"), ("boat", "FERRY"), ("generic", "OTHER"), ("train", "RAIL")],
)
def test_transit_types(transit: str, expected: str) -> None:
    raw = boarding(transit)
    body = render_class(
        parse_design(raw),
        PassStyle.BOARDING_PASS,
        issuer_id=ISSUER,
        class_id=f"{ISSUER}.t",
        image_urls=IMAGE_URLS,
    )
    assert body["transitType"] == expected
    assert discovery().validate("TransitClass", body) == []


@pytest.mark.parametrize("name", list(CASES))
def test_object_states(name: str) -> None:
    _, _, _, vertical = CASES[name]
    voided = obj(name, voided=True)
    assert voided["state"] == "INACTIVE"
    expired = obj(name, expires_at=NOW - timedelta(seconds=1))
    assert expired["state"] == "EXPIRED"
    assert expired["validTimeInterval"] == {"end": {"date": "2026-11-01T11:59:59+00:00"}}
    later = obj(name, expires_at=NOW + timedelta(days=1))
    assert later["state"] == "ACTIVE"
    for body in (voided, expired, later):
        assert discovery().validate(vertical.object_schema, body) == []


def test_design_expiry_expires_the_object() -> None:
    after = datetime(2027, 1, 1, tzinfo=UTC)
    assert obj("coupon", now=after)["state"] == "EXPIRED"
    assert object_state(voided=True, now=after, expires_at=None) == "INACTIVE"
    naive = datetime(2020, 1, 1)  # noqa: DTZ001 - a local time cannot be compared
    assert object_state(voided=False, now=after, expires_at=naive) == "ACTIVE"


def test_eleven_locations_are_reported_when_the_template_is_saved() -> None:
    design = parse_design(cafe())
    places = [DesignLocation(latitude=48.0 + i / 100, longitude=2.0) for i in range(11)]
    too_many = design.model_copy(update={"locations": places})
    problems = validate_design_for_google(too_many, PassStyle.STORE_CARD)
    assert [(p.path, p.code, p.severity) for p in problems] == [
        ("locations", "google_too_many_locations", Severity.ERROR)
    ]
    with pytest.raises(DesignError) as caught:
        render_class(
            too_many,
            PassStyle.STORE_CARD,
            issuer_id=ISSUER,
            class_id=f"{ISSUER}.c",
            image_urls=IMAGE_URLS,
        )
    assert caught.value.problems[0].path == "locations"


def test_flight_needs_its_static_semantics() -> None:
    raw = boarding("air")
    raw["semantics"] = {"airlineCode": "AL", "flightNumber": "{{ number }}"}
    raw["barcode"]["format"] = "code128"
    problems = validate_design_for_google(parse_design(raw), PassStyle.BOARDING_PASS)
    found = {(p.path, p.code, p.severity) for p in problems}
    assert found == {
        ("semantics.flightNumber", "google_flight_field_missing", Severity.ERROR),
        ("semantics.departureAirportCode", "google_flight_field_missing", Severity.ERROR),
        ("semantics.destinationAirportCode", "google_flight_field_missing", Severity.ERROR),
        ("semantics.originalDepartureDate", "google_flight_field_missing", Severity.ERROR),
        ("semantics.passengerName", "google_passenger_name_from_data", Severity.WARNING),
        ("barcode.format", "google_barcode_not_supported", Severity.WARNING),
    }


def test_other_design_warnings() -> None:
    raw = gym()
    raw["organization_name"] = "{{ club }}"
    raw["fields"]["secondary"] = [
        {"key": f"s{i}", "label": f"S{i}", "value": str(i)} for i in range(4)
    ]
    raw["fields"]["back"] = [{"key": f"b{i}", "value": str(i)} for i in range(8)]
    raw["links"] = [{"label": "Site", "url": "http://forge.example"}]
    problems = validate_design_for_google(parse_design(raw), PassStyle.GENERIC)
    assert {(p.path, p.code) for p in problems} == {
        ("organization_name", "google_class_text_has_placeholders"),
        ("fields.secondary", "google_card_row_too_long"),
        ("fields.back[5]", "google_too_many_text_modules"),
        ("links[0].url", "google_link_not_https"),
    }
    assert all(p.severity is Severity.WARNING for p in problems)
    missing = boarding("air")
    del missing["transit_type"]
    problems = validate_design_for_google(parse_design(missing), PassStyle.BOARDING_PASS)
    assert [p.code for p in problems] == ["transit_type_missing"]


def test_ids_review_status_and_image_urls_are_checked() -> None:
    design, style = parse_design(cafe()), PassStyle.STORE_CARD
    common: dict[str, Any] = {"issuer_id": ISSUER, "image_urls": IMAGE_URLS}
    for bad in ("other.cafe", f"{ISSUER}.bad id", f"{ISSUER}.", "cafe"):
        with pytest.raises(ValueError, match="class id"):
            render_class(design, style, class_id=bad, **common)
    with pytest.raises(ValueError, match="reviewStatus"):
        render_class(design, style, class_id=f"{ISSUER}.c", review_status="APPROVED", **common)
    draft = render_class(design, style, class_id=f"{ISSUER}.c", review_status="DRAFT", **common)
    assert draft["reviewStatus"] == "DRAFT"
    with pytest.raises(ValueError, match="https"):
        render_class(
            design,
            style,
            class_id=f"{ISSUER}.c",
            issuer_id=ISSUER,
            image_urls={"logo": "http://passmint.example/logo.png"},
        )
    with pytest.raises(ValueError, match="aware"):
        obj("cafe", now=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_qr_codes_with_non_ascii_values_render_as_utf8() -> None:
    raw = cafe()
    raw["barcode"] = {"format": "qr", "message": "Café {{ serial_number }}"}
    style, _, data, _ = CASES["cafe"]
    body = render_object(
        parse_design(raw),
        style,
        data,
        issuer_id=ISSUER,
        class_id=f"{ISSUER}.c",
        object_id=f"{ISSUER}.o",
        serial_number="SN-1",
        image_urls=IMAGE_URLS,
        voided=False,
        now=NOW,
    )
    assert body["barcode"] == {"type": "QR_CODE", "value": "Café SN-1", "renderEncoding": "UTF_8"}
    assert discovery().validate("LoyaltyObject", body) == []


def test_vertical_names() -> None:
    assert Vertical.GIFT_CARD.class_resource == "giftCardClass"
    assert Vertical.GIFT_CARD.object_schema == "GiftCardObject"
    assert Vertical.EVENT_TICKET.jwt_objects_key == "eventTicketObjects"
    assert vertical_for(PassStyle.BOARDING_PASS, transit_type=TransitType.AIR) is Vertical.FLIGHT
    assert vertical_for(PassStyle.BOARDING_PASS, transit_type=TransitType.BUS) is (Vertical.TRANSIT)
    assert vertical_for(PassStyle.STORE_CARD, gift_card=True) is Vertical.GIFT_CARD
    assert {v.class_schema for v in Vertical} <= set(discovery().schemas)
    assert {v.object_schema for v in Vertical} <= set(discovery().schemas)
