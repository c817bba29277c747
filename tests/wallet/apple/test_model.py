"""The pass.json model: golden passes of every style round-trip, types are kept, keys survive."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import ValidationError

from passmint.wallet.apple.model import (
    Barcode,
    BarcodeFormat,
    DataDetectorType,
    DateStyle,
    EventType,
    PassField,
    PassJson,
    PassStructure,
    RelevantDateEntry,
    TextAlignment,
)
from passmint.wallet.apple.problems import InvalidPass
from passmint.wallet.apple.styles import PassStyle, TransitType

JSON = dict[str, Any]

NFC_PUBLIC_KEY = base64.b64encode(
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
).decode()


def _identity(serial: str, description: str) -> JSON:
    return {
        "formatVersion": 1,
        "passTypeIdentifier": "pass.com.example.passmint",
        "serialNumber": serial,
        "teamIdentifier": "ABCDE12345",
        "organizationName": "Example Org",
        "description": description,
        "backgroundColor": "rgb(20, 30, 40)",
        "foregroundColor": "rgb(255, 255, 255)",
        "labelColor": "rgb(200,200,200)",
    }


def boarding_pass_air() -> JSON:
    """An airline boarding pass with iOS 26 semantic boarding-pass data."""
    return {
        **_identity("BP-AIR-1", "Boarding pass LHR to MPM"),
        "webServiceURL": "https://wallet.example.com/apple/",
        "authenticationToken": "0123456789abcdef0123",
        "groupingIdentifier": "trip-42",
        "expirationDate": "2026-07-02T12:00:00Z",
        "relevantDates": [
            {"startDate": "2026-07-01T06:00:00+01:00", "endDate": "2026-07-01T12:30:00+01:00"}
        ],
        "locations": [{"latitude": 51.47, "longitude": -0.4543, "relevantText": "Gate B7"}],
        "maxDistance": 500,
        "preferredStyleSchemes": ["semanticBoardingPass", "boardingPass"],
        "changeSeatURL": "https://air.example.com/seat",
        "upgradeURL": "https://air.example.com/upgrade",
        "transitProviderPhoneNumber": "+44 20 7946 0000",
        "barcodes": [
            {
                "format": "PKBarcodeFormatPDF417",
                "message": "M1LOVELACE/ADA EK8VX2Q LHRMPMEX 0123 182Y014A0042 100",
                "messageEncoding": "iso-8859-1",
                "altText": "K8VX2Q",
            }
        ],
        "semantics": {
            "airlineCode": "EX",
            "flightCode": "EX123",
            "flightNumber": 123,
            "departureAirportCode": "LHR",
            "destinationAirportCode": "MPM",
            "departureLocation": {"latitude": 51.47, "longitude": -0.4543},
            "originalDepartureDate": "2026-07-01T09:30:00+01:00",
            "passengerName": {"givenName": "Ada", "familyName": "Lovelace"},
            "seats": [{"seatNumber": "14A", "seatRow": "14"}],
            "passengerCapabilities": ["PKPassengerCapabilityPriorityBoarding"],
            "ticketFareClass": "Business",
            "boardingZone": "2",
        },
        "boardingPass": {
            "transitType": "PKTransitTypeAir",
            "headerFields": [
                {"key": "gate", "label": "GATE", "value": "B7", "changeMessage": "Gate %@"}
            ],
            "primaryFields": [
                {"key": "origin", "label": "London", "value": "LHR"},
                {"key": "destination", "label": "Maputo", "value": "MPM"},
            ],
            "secondaryFields": [
                {"key": "passenger", "label": "PASSENGER", "value": "Ada Lovelace"}
            ],
            "auxiliaryFields": [
                {
                    "key": "seat",
                    "label": "SEAT",
                    "value": "14A",
                    "textAlignment": "PKTextAlignmentRight",
                },
                {
                    "key": "boards",
                    "label": "BOARDS",
                    "value": "2026-07-01T09:00:00+01:00",
                    "dateStyle": "PKDateStyleNone",
                    "timeStyle": "PKDateStyleShort",
                },
            ],
            "backFields": [
                {
                    "key": "terms",
                    "label": "Terms",
                    "value": "See https://air.example.com/terms",
                    "dataDetectorTypes": ["PKDataDetectorTypeLink"],
                }
            ],
        },
    }


def boarding_pass_train() -> JSON:
    """A rail ticket, with the legacy singular barcode beside ``barcodes``."""
    return {
        **_identity("BP-TRAIN-1", "Train ticket"),
        "relevantDate": "2026-05-03T07:15+02:00",
        "barcodes": [
            {"format": "PKBarcodeFormatAztec", "message": "TRAIN-1", "messageEncoding": "utf-8"}
        ],
        "barcode": {
            "format": "PKBarcodeFormatQR",
            "message": "TRAIN-1",
            "messageEncoding": "iso-8859-1",
        },
        "semantics": {
            "carNumber": "7",
            "departureStationName": "Milano Centrale",
            "destinationStationName": "Roma Termini",
            "departurePlatform": "12",
            "duration": 11700,
        },
        "boardingPass": {
            "transitType": "PKTransitTypeTrain",
            "headerFields": [{"key": "car", "label": "CAR", "value": 7}],
            "primaryFields": [
                {"key": "from", "label": "Milano", "value": "MI"},
                {"key": "to", "label": "Roma", "value": "RM"},
            ],
            "secondaryFields": [{"key": "coach", "label": "COACH", "value": "7"}],
            "auxiliaryFields": [{"key": "seatNo", "label": "SEAT", "value": "42"}],
        },
    }


def poster_event_ticket() -> JSON:
    """An iOS 18 poster event ticket with event-guide links and upcoming events."""
    return {
        **_identity("EVT-1", "Final: Lions v Tigers"),
        "preferredStyleSchemes": ["posterEventTicket", "eventTicket"],
        "eventLogoText": "Lions",
        "footerBackgroundColor": "rgb(10,10,10)",
        "suppressHeaderDarkening": True,
        "useAutomaticColors": False,
        "groupingIdentifier": "season-2026",
        "auxiliaryStoreIdentifiers": [1234567890],
        "bagPolicyURL": "https://stadium.example.com/bags",
        "orderFoodURL": "https://stadium.example.com/food",
        "parkingInformationURL": "https://stadium.example.com/parking",
        "directionsInformationURL": "https://stadium.example.com/directions",
        "contactVenueEmail": "info@stadium.example.com",
        "contactVenuePhoneNumber": "+1 555 0100",
        "contactVenueWebsite": "https://stadium.example.com",
        "merchandiseURL": "https://stadium.example.com/shop",
        "transitInformationURL": "https://stadium.example.com/transit",
        "accessibilityURL": "https://stadium.example.com/access",
        "addOnURL": "https://stadium.example.com/add-ons",
        "purchaseParkingURL": "https://stadium.example.com/buy-parking",
        "sellURL": "https://tickets.example.com/sell",
        "transferURL": "https://tickets.example.com/transfer",
        "relevantDates": [
            {"relevantDate": "2026-09-12T18:00:00-04:00", "date": "2026-09-12T18:00:00-04:00"}
        ],
        "beacons": [
            {"proximityUUID": "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0", "major": 1, "minor": 65535}
        ],
        "locations": [{"latitude": 40, "longitude": -74, "altitude": 12.5}],
        "semantics": {
            "eventName": "Final",
            "eventType": "PKEventTypeSports",
            "venueName": "Example Stadium",
            "venueRegionName": "Example City",
            "venueRoom": "North Stand",
            "homeTeamAbbreviation": "LIO",
            "awayTeamAbbreviation": "TIG",
            "eventStartDate": "2026-09-12T19:30:00-04:00",
            "eventStartDateInfo": {
                "date": "2026-09-12T19:30:00-04:00",
                "timeZone": "America/New_York",
            },
            "venueLocation": {"latitude": 40.0, "longitude": -74.0},
            "seats": [
                {
                    "seatSection": "N",
                    "seatRow": "12",
                    "seatNumber": "4",
                    "seatSectionColor": "rgb(0,0,255)",
                }
            ],
            "admissionLevel": "General",
            "tailgatingAllowed": True,
            "totalPrice": {"amount": "85.00", "currencyCode": "USD"},
            "wifiAccess": [{"ssid": "Stadium", "password": "welcome"}],
        },
        "upcomingPassInformation": [
            {
                "type": "event",
                "identifier": "match-2",
                "name": "Lions v Bears",
                "isActive": False,
                "dateInformation": {
                    "date": "2026-09-19T19:30:00-04:00",
                    "timeZone": "America/New_York",
                },
                "URLs": {"bagPolicyURL": "https://stadium.example.com/bags"},
                "images": {
                    "headerImage": {
                        "URLs": [
                            {
                                "URL": "https://cdn.example.com/h.png",
                                "SHA256": "ab" * 32,
                                "scale": 2,
                                "size": 1024,
                            }
                        ]
                    },
                    "venueMap": {"reuseExisting": True},
                },
                "backFields": [{"key": "gates", "label": "Gates", "value": "18:00"}],
                "semantics": {"venuePlaceID": "I1234", "eventName": "Lions v Bears"},
            }
        ],
        "eventTicket": {
            "headerFields": [{"key": "date", "label": "DATE", "value": "Sep 12"}],
            "primaryFields": [{"key": "event", "label": "EVENT", "value": "Final"}],
            "secondaryFields": [
                {"key": "section", "label": "SECTION", "value": "N"},
                {"key": "row", "label": "ROW", "value": 12},
            ],
            "auxiliaryFields": [
                {"key": "seatNumber", "label": "SEAT", "value": 4, "row": 0},
                {"key": "gate", "label": "GATE", "value": "3", "row": 1},
            ],
            "additionalInfoFields": [{"key": "parking", "label": "Parking", "value": "Lot C"}],
            "backFields": [{"key": "policy", "label": "Policy", "value": "No re-entry."}],
        },
    }


def nfc_store_card() -> JSON:
    """An NFC loyalty card with an iOS 27 posterGeneric layout and featured actions."""
    return {
        **_identity("CARD-1", "Example loyalty card"),
        "logoText": "Example Coffee",
        "sharingProhibited": True,
        "associatedStoreIdentifiers": [1234567890],
        "appLaunchURL": "examplecoffee://card/1",
        "userInfo": {"customer": 42, "tags": ["gold", None], "nested": {"x": 1.5}},
        "nfc": {
            "message": "card:1:4711",
            "encryptionPublicKey": NFC_PUBLIC_KEY,
            "requiresAuthentication": False,
        },
        "locations": [{"latitude": 48.1371, "longitude": 11.5754, "relevantText": "Coffee nearby"}],
        "barcodes": [
            {
                "format": "PKBarcodeFormatCode128",
                "message": "4711",
                "messageEncoding": "iso-8859-1",
                "altText": "4711",
            }
        ],
        "semantics": {"balance": {"amount": "12.50", "currencyCode": "EUR"}},
        "storeCard": {
            "headerFields": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": 120,
                    "changeMessage": "You have %@ points",
                }
            ],
            "primaryFields": [
                {
                    "key": "balance",
                    "label": "BALANCE",
                    "value": 12.5,
                    "currencyCode": "EUR",
                    "changeMessage": "Balance is now %@",
                }
            ],
            "secondaryFields": [
                {"key": "member", "label": "MEMBER", "value": "Ada Lovelace"},
                {"key": "tier", "label": "TIER", "value": "Gold"},
            ],
            "auxiliaryFields": [
                {
                    "key": "since",
                    "label": "SINCE",
                    "value": "2020-01-01T00:00Z",
                    "dateStyle": "PKDateStyleMedium",
                    "timeStyle": "PKDateStyleNone",
                },
                {
                    "key": "share",
                    "label": "SHARE",
                    "value": 0.25,
                    "numberStyle": "PKNumberStylePercent",
                },
            ],
            "backFields": [
                {
                    "key": "web",
                    "label": "Website",
                    "value": "example.com",
                    "attributedValue": "<a href='https://example.com'>example.com</a>",
                }
            ],
        },
        "posterGeneric": {
            "headerFields": [{"key": "points", "label": "POINTS", "value": 120}],
            "primaryFields": [{"key": "member", "label": "MEMBER", "value": "Ada Lovelace"}],
            "footerFields": [
                {"key": "tier", "label": "TIER", "value": "Gold"},
                {"key": "since", "label": "SINCE", "value": "2020"},
            ],
            "additionalInfoFields": [{"key": "perks", "label": "Perks", "value": "Free refills"}],
        },
        "featuredActions": [
            {"identifier": "topUp", "type": "addToBalance", "url": "https://example.com/top-up"},
            {"identifier": "shop", "type": "place", "placeIdentifier": "I63A1B2C3"},
        ],
    }


def coupon() -> JSON:
    """A coupon: relevant by date *and* location, with a QR and a Code128 fallback."""
    return {
        **_identity("COUPON-1", "10% off"),
        "expirationDate": "2026-12-31T23:59:59.999+01:00",
        "relevantDate": "2026-06-01T09:00+0100",
        "locations": [{"latitude": -33.8688, "longitude": 151.2093}],
        "voided": False,
        "barcodes": [
            {"format": "PKBarcodeFormatQR", "message": "SAVE10", "messageEncoding": "iso-8859-1"},
            {
                "format": "PKBarcodeFormatCode128",
                "message": "SAVE10",
                "messageEncoding": "iso-8859-1",
            },
        ],
        "coupon": {
            "primaryFields": [{"key": "offer", "label": "OFFER", "value": "10% off"}],
            "secondaryFields": [{"key": "code", "label": "CODE", "value": "SAVE10"}],
            "auxiliaryFields": [
                {
                    "key": "expires",
                    "label": "EXPIRES",
                    "value": "2026-12-31T23:59Z",
                    "dateStyle": "PKDateStyleShort",
                    "timeStyle": "PKDateStyleNone",
                    "isRelative": True,
                }
            ],
            "backFields": [{"key": "fine", "label": "Terms", "value": "One per visit."}],
        },
    }


def generic_pass() -> JSON:
    """A generic membership pass: 4 + 4 fields below a non-square barcode."""
    fields = [{"key": f"s{i}", "label": f"S{i}", "value": i} for i in range(4)]
    aux = [{"key": f"a{i}", "label": f"A{i}", "value": f"v{i}"} for i in range(4)]
    return {
        **_identity("GEN-1", "Gym membership"),
        "logoText": "Gym",
        "barcodes": [
            {"format": "PKBarcodeFormatPDF417", "message": "GEN-1", "messageEncoding": "iso-8859-1"}
        ],
        "generic": {
            "headerFields": [{"key": "level", "label": "LEVEL", "value": "Gold"}],
            "primaryFields": [{"key": "name", "label": "NAME", "value": "Ada Lovelace"}],
            "secondaryFields": fields,
            "auxiliaryFields": aux,
            "backFields": [
                {
                    "key": "phone",
                    "label": "Phone",
                    "value": "+44 20 7946 0000",
                    "ignoresTimeZone": True,
                }
            ],
        },
    }


GOLDEN = {
    "boarding_pass_air": boarding_pass_air,
    "boarding_pass_train": boarding_pass_train,
    "poster_event_ticket": poster_event_ticket,
    "nfc_store_card": nfc_store_card,
    "coupon": coupon,
    "generic": generic_pass,
}
"""Valid passes of every style (fresh dicts on each call); also used by the validator tests."""

GOLDEN_STYLES = {
    "boarding_pass_air": PassStyle.BOARDING_PASS,
    "boarding_pass_train": PassStyle.BOARDING_PASS,
    "poster_event_ticket": PassStyle.EVENT_TICKET,
    "nfc_store_card": PassStyle.STORE_CARD,
    "coupon": PassStyle.COUPON,
    "generic": PassStyle.GENERIC,
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_passes_round_trip_unchanged(name: str) -> None:
    data = GOLDEN[name]()
    model = PassJson.from_dict(data)
    assert model.to_dict() == data
    assert PassJson.model_validate(model.to_dict()) == model


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_style_and_style_dict(name: str) -> None:
    model = PassJson.from_dict(GOLDEN[name]())
    assert model.style is GOLDEN_STYLES[name]
    assert model.style_dict is getattr(
        model,
        {
            PassStyle.BOARDING_PASS: "boarding_pass",
            PassStyle.COUPON: "coupon",
            PassStyle.EVENT_TICKET: "event_ticket",
            PassStyle.GENERIC: "generic",
            PassStyle.STORE_CARD: "store_card",
        }[model.style],
    )


def test_all_fields_lists_every_field_with_its_json_path() -> None:
    model = PassJson.from_dict(nfc_store_card())
    paths = [path for path, _ in model.all_fields()]
    assert paths[:3] == [
        "$.storeCard.headerFields[0]",
        "$.storeCard.primaryFields[0]",
        "$.storeCard.secondaryFields[0]",
    ]
    assert "$.storeCard.backFields[0]" in paths
    assert paths[-3:] == [
        "$.posterGeneric.additionalInfoFields[0]",
        "$.posterGeneric.footerFields[0]",
        "$.posterGeneric.footerFields[1]",
    ]
    fields = dict(model.all_fields())
    assert fields["$.storeCard.primaryFields[0]"].key == "balance"
    assert fields["$.posterGeneric.additionalInfoFields[0]"].value == "Free refills"
    assert len(paths) == 7 + 5


def test_numbers_keep_their_json_type() -> None:
    data = nfc_store_card()
    model = PassJson.from_dict(data)
    header = model.style_dict.header_fields
    primary = model.style_dict.primary_fields
    assert header is not None
    assert primary is not None
    assert type(header[0].value) is int
    assert type(primary[0].value) is float
    out = model.to_dict()
    assert type(out["storeCard"]["headerFields"][0]["value"]) is int
    event = PassJson.from_dict(poster_event_ticket()).to_dict()
    assert type(event["locations"][0]["latitude"]) is int
    assert type(event["locations"][0]["altitude"]) is float


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("formatVersion",), True),
        (("storeCard", "primaryFields", 0, "value"), True),
        (("storeCard", "primaryFields", 0, "value"), {"amount": 1}),
        (("locations", 0, "latitude"), "48.1"),
        (("sharingProhibited",), "yes"),
        (("storeCard", "primaryFields", 0, "textAlignment"), "PKTextAlignmentJustified"),
        (("barcodes", 0, "format"), "PKBarcodeFormatDataMatrix"),
        (("serialNumber",), 42),
    ],
)
def test_wrong_types_are_rejected(path: tuple[str | int, ...], value: object) -> None:
    data = nfc_store_card()
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ValidationError):
        PassJson.from_dict(data)


def test_unknown_keys_survive_at_every_level() -> None:
    data = nfc_store_card()
    data["futureKey"] = {"a": [1, 2]}
    data["storeCard"]["futureList"] = ["x"]
    data["storeCard"]["primaryFields"][0]["futureOption"] = 3
    data["semantics"]["futureTag"] = "y"
    assert PassJson.from_dict(data).to_dict() == data


def test_snake_case_construction_serializes_with_apple_spelling() -> None:
    model = PassJson(
        pass_type_identifier="pass.com.example.x",
        serial_number="S1",
        team_identifier="TEAM",
        organization_name="Org",
        description="Desc",
        web_service_url="https://example.com/",
        authentication_token="a" * 16,
        app_launch_url="app://x",
        associated_store_identifiers=[1],
        barcodes=[Barcode(format=BarcodeFormat.QR, message="m")],
        relevant_dates=[RelevantDateEntry(date="2026-01-01T10:00Z")],
        store_card=PassStructure(
            primary_fields=[
                PassField(
                    key="k",
                    value=1,
                    text_alignment=TextAlignment.CENTER,
                    date_style=DateStyle.SHORT,
                )
            ],
            back_fields=[PassField(key="b", value="v", data_detector_types=[])],
        ),
    )
    assert model.to_dict() == {
        "formatVersion": 1,
        "passTypeIdentifier": "pass.com.example.x",
        "serialNumber": "S1",
        "teamIdentifier": "TEAM",
        "organizationName": "Org",
        "description": "Desc",
        "webServiceURL": "https://example.com/",
        "authenticationToken": "a" * 16,
        "appLaunchURL": "app://x",
        "associatedStoreIdentifiers": [1],
        "barcodes": [
            {"format": "PKBarcodeFormatQR", "message": "m", "messageEncoding": "iso-8859-1"}
        ],
        "relevantDates": [{"date": "2026-01-01T10:00Z", "relevantDate": "2026-01-01T10:00Z"}],
        "storeCard": {
            "primaryFields": [
                {
                    "key": "k",
                    "value": 1,
                    "textAlignment": "PKTextAlignmentCenter",
                    "dateStyle": "PKDateStyleShort",
                }
            ],
            "backFields": [{"key": "b", "value": "v", "dataDetectorTypes": []}],
        },
    }


@pytest.mark.parametrize(
    "entry",
    [{"relevantDate": "2026-01-01T10:00Z"}, {"date": "2026-01-01T10:00Z"}],
)
def test_single_relevant_date_is_written_under_both_names(entry: dict[str, str]) -> None:
    data = {**boarding_pass_train(), "relevantDates": [entry]}
    out = PassJson.from_dict(data).to_dict()
    assert out["relevantDates"] == [
        {"relevantDate": "2026-01-01T10:00Z", "date": "2026-01-01T10:00Z"}
    ]
    interval = {"startDate": "2026-01-01T10:00Z", "endDate": "2026-01-01T11:00Z"}
    data["relevantDates"] = [interval]
    assert PassJson.from_dict(data).to_dict()["relevantDates"] == [interval]


def test_single_relevant_date_both_names_without_aliases() -> None:
    entry = RelevantDateEntry(relevant_date="2026-01-01T10:00Z")
    dumped = entry.model_dump(by_alias=False, exclude_none=True)
    assert dumped == {"relevant_date": "2026-01-01T10:00Z", "date": "2026-01-01T10:00Z"}


def test_acronym_aliases() -> None:
    model = PassJson.from_dict(poster_event_ticket())
    assert model.bag_policy_url == "https://stadium.example.com/bags"
    assert model.transfer_url == "https://tickets.example.com/transfer"
    assert model.beacons is not None
    assert model.beacons[0].proximity_uuid.startswith("E2C56DB5")
    upcoming = model.upcoming_pass_information
    assert upcoming is not None
    assert upcoming[0].urls is not None
    assert upcoming[0].urls.bag_policy_url == "https://stadium.example.com/bags"
    assert upcoming[0].semantics is not None
    assert upcoming[0].semantics.venue_place_id == "I1234"
    images = upcoming[0].images
    assert images is not None
    assert images.header_image is not None
    assert images.header_image.urls is not None
    assert images.header_image.urls[0].sha256 == "ab" * 32
    semantics = model.semantics
    assert semantics is not None
    assert semantics.event_type is EventType.SPORTS
    air = PassJson.from_dict(
        {**boarding_pass_air(), "semantics": {"artistIDs": ["1"], "passengerServiceSSRs": ["WCHR"]}}
    )
    assert air.semantics is not None
    assert air.semantics.artist_ids == ["1"]
    assert air.semantics.passenger_service_ssrs == ["WCHR"]
    assert air.change_seat_url == "https://air.example.com/seat"


def test_enums_are_str_enums() -> None:
    model = PassJson.from_dict(boarding_pass_air())
    structure = model.style_dict
    assert structure.transit_type is TransitType.AIR
    assert structure.back_fields is not None
    assert structure.back_fields[0].data_detector_types == [DataDetectorType.LINK]
    assert isinstance(TextAlignment.RIGHT, str)
    assert TextAlignment("PKTextAlignmentRight") is TextAlignment.RIGHT


def test_user_info_keeps_any_json_including_nulls() -> None:
    model = PassJson.from_dict(nfc_store_card())
    assert model.user_info == {"customer": 42, "tags": ["gold", None], "nested": {"x": 1.5}}
    assert model.to_dict()["userInfo"]["tags"] == ["gold", None]


@pytest.mark.parametrize(
    ("styles", "code"),
    [((), "style_missing"), (("coupon", "storeCard"), "style_multiple")],
)
def test_style_needs_exactly_one_legacy_style(styles: tuple[str, ...], code: str) -> None:
    data = copy.deepcopy(nfc_store_card())
    del data["storeCard"]
    for style in styles:
        data[style] = {}
    model = PassJson.from_dict(data)
    with pytest.raises(InvalidPass) as caught:
        _ = model.style
    assert [p.code for p in caught.value.problems] == [code]
