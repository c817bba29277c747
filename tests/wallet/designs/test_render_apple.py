from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest

from passmint.wallet.apple.bundle import PassTemplate
from passmint.wallet.apple.images import ImageTooSmallError
from passmint.wallet.apple.problems import Problem, Severity, errors_only
from passmint.wallet.apple.signing import ManifestSigner
from passmint.wallet.apple.strings import parse_strings
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.apple.validation import validate_pass_json
from passmint.wallet.designs.render_apple import (
    DesignError,
    assert_valid_design,
    field_keys_with_change_messages,
    make_sample_data,
    placeholder_names,
    render_files,
    render_pass_json,
    validate_design,
)
from passmint.wallet.designs.schemas import (
    TemplateDesign,
    color_apple,
    color_hex,
    parse_design,
)
from tests.conftest import PassCheck
from tests.fixtures.images import png

ASSETS: dict[str, bytes] = {
    "icon": png(300, 300),
    "logo": png(480, 150, (200, 80, 40, 255)),
    "strip": png(1125, 432, (20, 60, 110, 255)),
    "background": png(540, 660, (90, 20, 90, 255)),
    "thumbnail": png(270, 270),
    "footer": png(858, 45),
    "logo_ar": png(480, 150, (10, 150, 90, 255)),
    "tiny": png(40, 40),
}
BASE_IMAGES = {"icon": "icon", "logo": "logo"}


def cafe() -> dict[str, Any]:
    return {
        "organization_name": "Café Lumen",
        "description": "Café Lumen loyalty card",
        "logo_text": "Café Lumen",
        "colors": {"background": "#1d3557", "foreground": "#fff", "label": "rgb(168,218,220)"},
        "images": {**BASE_IMAGES, "strip": "strip"},
        "localized_images": {"ar": {"logo": "logo_ar"}},
        "fields": {
            "header": [{"key": "tier", "label": "TIER", "value": '{{ tier | default: "Bronze" }}'}],
            "primary": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": "{{ points }}",
                    "number_style": "decimal",
                    "change_message": "You now have %@ points",
                }
            ],
            "secondary": [
                {"key": "member", "label": "MEMBER", "value": "{{ customer.first_name }}"},
                {
                    "key": "next_reward",
                    "label": "NEXT REWARD",
                    "value": "{{ points_to_reward }} points to go",
                    "text_alignment": "right",
                },
            ],
            "back": [
                {
                    "key": "since",
                    "label": "Member since",
                    "value": "{{ customer.joined_at }}",
                    "date_style": "medium",
                    "time_style": "none",
                },
                {"key": "phone", "label": "Call us", "value": "+33 1 23 45 67 89"}
                | {"data_detectors": ["phone_number"]},
            ],
        },
        "barcode": {"format": "qr", "alt_text": "{{ serial_number }}"},
        "locations": [
            {"latitude": 48.8566, "longitude": 2.3522, "relevant_text": "Coffee time?"},
            {"latitude": 45.764, "longitude": 4.8357},
        ],
        "max_distance": 150,
        "links": [
            {"label": "Terms", "url": "https://cafe.example/terms"},
            {"label": "My card", "url": "https://cafe.example/cards/{{ pass_id }}"},
        ],
        "localizations": {
            "fr": {"POINTS": "POINTS", "MEMBER": "MEMBRE", "Terms": "Conditions"},
            "ar": {
                "POINTS": "النقاط",
                "MEMBER": "العضو",
                "TIER": "المستوى",
                "Terms": "الشروط",
                "You now have %@ points": "لديك الآن %@ نقطة",
            },
        },
        "expiration_date": "{{ expires_at }}",
        "user_info": {"customer_id": "{{ customer.id }}"},
    }


def gift_card() -> dict[str, Any]:
    return {
        "organization_name": "Café Lumen",
        "description": "Café Lumen gift card",
        "gift_card": True,
        "colors": {"background": "#264653", "foreground": "#ffffff"},
        "images": {**BASE_IMAGES, "strip": "strip"},
        "fields": {
            "primary": [
                {
                    "key": "balance",
                    "label": "BALANCE",
                    "value": "{{ balance }}",
                    "currency_code": "EUR",
                    "change_message": "Your balance is now %@",
                }
            ],
            "secondary": [{"key": "card", "label": "CARD", "value": "{{ card_number }}"}],
        },
        "barcode": {"format": "pdf417", "message": "{{ card_number }}"},
        "semantics": {"balance": {"amount": "{{ balance }}", "currencyCode": "EUR"}},
    }


def coupon() -> dict[str, Any]:
    return {
        "organization_name": "Bistro Nord",
        "description": "20% off your next lunch",
        "colors": {"background": "#e63946", "foreground": "#f1faee", "label": "#f1faee"},
        "images": {**BASE_IMAGES, "strip": "strip"},
        "fields": {
            "primary": [
                {"key": "off", "label": "OFF", "value": "{{ discount }}", "number_style": "percent"}
            ],
            "secondary": [{"key": "offer", "label": "OFFER", "value": "Lunch menu"}],
            "auxiliary": [
                {
                    "key": "expires",
                    "label": "EXPIRES",
                    "value": "{{ expires_at }}",
                    "date_style": "short",
                    "time_style": "none",
                    "is_relative": True,
                }
            ],
        },
        "barcode": {"format": "code128", "message": "{{ code }}", "alt_text": "{{ code }}"},
        "expiration_date": "{{ expires_at }}",
        "locations": [{"latitude": 50.6292, "longitude": 3.0573}],
    }


def concert() -> dict[str, Any]:
    return {
        "organization_name": "Salle Pleyel",
        "description": "Concert ticket",
        "colors": {"background": "#111111", "foreground": "#ffffff", "label": "#bbbbbb"},
        "images": {**BASE_IMAGES, "background": "background", "thumbnail": "thumbnail"},
        "fields": {
            "header": [
                {
                    "key": "date",
                    "label": "DATE",
                    "value": "{{ event.starts_at }}",
                    "date_style": "short",
                    "time_style": "short",
                }
            ],
            "primary": [{"key": "event", "label": "EVENT", "value": "{{ event.name }}"}],
            "secondary": [
                {"key": "section", "label": "SECTION", "value": "{{ seat.section }}"},
                {"key": "row", "label": "ROW", "value": "{{ seat.row }}"},
                {"key": "seat", "label": "SEAT", "value": "{{ seat.number }}"},
            ],
            "auxiliary": [
                {"key": "doors", "label": "DOORS", "value": "19:00"},
                {"key": "holder", "label": "HOLDER", "value": "{{ holder }}", "row": 1},
            ],
        },
        "barcode": {"format": "qr", "message": "{{ ticket_code }}"},
        "relevant_date": "{{ event.starts_at }}",
        "grouping_identifier": "{{ event.id }}",
        "semantics": {
            "eventName": "{{ event.name }}",
            "venueName": "Salle Pleyel",
            "eventStartDate": "{{ event.starts_at }}",
        },
        "sharing_prohibited": True,
    }


def gym() -> dict[str, Any]:
    return {
        "organization_name": "Forge Gym",
        "description": "Membership card",
        "colors": {"background": "#2a9d8f", "foreground": "#ffffff"},
        "images": {**BASE_IMAGES, "thumbnail": "thumbnail"},
        "fields": {
            "primary": [{"key": "name", "label": "MEMBER", "value": "{{ member.name }}"}],
            "secondary": [{"key": "plan", "label": "PLAN", "value": "{{ plan }}"}],
            "auxiliary": [
                {
                    "key": "valid",
                    "label": "VALID UNTIL",
                    "value": "{{ valid_until }}",
                    "date_style": "medium",
                    "time_style": "none",
                }
            ],
        },
        "barcode": {"format": "aztec", "message": "{{ member.id }}"},
    }


def boarding(transit: str) -> dict[str, Any]:
    return {
        "organization_name": "Aero Lumen" if transit == "air" else "Rail Lumen",
        "description": "Boarding pass",
        "transit_type": transit,
        "colors": {"background": "#023047", "foreground": "#ffffff", "label": "#8ecae6"},
        "images": {**BASE_IMAGES, "footer": "footer"},
        "fields": {
            "header": [{"key": "gate", "label": "GATE", "value": "{{ gate }}"}],
            "primary": [
                {"key": "from", "label": "{{ origin.city }}", "value": "{{ origin.code }}"},
                {"key": "to", "label": "{{ destination.city }}", "value": "{{ destination.code }}"},
            ],
            "secondary": [{"key": "passenger", "label": "PASSENGER", "value": "{{ passenger }}"}],
            "auxiliary": [
                {"key": "seat", "label": "SEAT", "value": "{{ seat }}"},
                {
                    "key": "departs",
                    "label": "DEPARTS",
                    "value": "{{ departs_at }}",
                    "date_style": "none",
                    "time_style": "short",
                },
            ],
        },
        "barcode": {"format": "pdf417", "message": "{{ booking.reference }}"},
        "relevant_date": "{{ departs_at }}",
        "grouping_identifier": "{{ booking.reference }}",
    }


CASES: dict[str, tuple[PassStyle, dict[str, Any], dict[str, Any]]] = {
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
    ),
    "gift_card": (
        PassStyle.STORE_CARD,
        gift_card(),
        {"balance": 25.5, "card_number": "6006 4912 3456"},
    ),
    "coupon": (
        PassStyle.COUPON,
        coupon(),
        {"discount": 0.2, "code": "LUNCH-2026-XK4", "expires_at": "2026-12-31T14:30:00Z"},
    ),
    "concert": (
        PassStyle.EVENT_TICKET,
        concert(),
        {
            "event": {"name": "Night of Strings", "starts_at": "2026-12-05T20:00:00+01:00"}
            | {"id": "evt_42"},
            "seat": {"section": "B", "row": "12", "number": 7},
            "holder": "Grace Hopper",
            "ticket_code": "TKT-7781",
        },
    ),
    "gym": (
        PassStyle.GENERIC,
        gym(),
        {"member": {"name": "Alan", "id": "M-1001"}, "plan": "Premium"}
        | {"valid_until": "2027-01-31T00:00:00Z"},
    ),
    "flight": (
        PassStyle.BOARDING_PASS,
        boarding("air"),
        {
            "gate": "F32",
            "origin": {"city": "Paris", "code": "CDG"},
            "destination": {"city": "Lisbon", "code": "LIS"},
            "passenger": "Ada Lovelace",
            "seat": "14C",
            "departs_at": "2026-12-20T07:45:00+01:00",
            "booking": {"reference": "M1LOVELACE/ADA  XK4P2Q CDGLISTP 0444 354Y014C0042 100"},
        },
    ),
    "train": (
        PassStyle.BOARDING_PASS,
        boarding("PKTransitTypeTrain"),
        {
            "gate": "Voie 4",
            "origin": {"city": "Lyon", "code": "LYS"},
            "destination": {"city": "Marseille", "code": "MRS"},
            "passenger": "Alan Turing",
            "seat": "Car 5, 63",
            "departs_at": "2026-12-21T10:04:00+01:00",
            "booking": {"reference": "TGV-6171-QW7"},
        },
    ),
}


def render(name: str, **options: Any) -> dict[str, Any]:
    style, raw, data = CASES[name]
    return render_pass_json(
        parse_design(raw),
        style,
        data,
        serial_number=f"SN-{name}",
        pass_type_identifier="pass.dev.passmint.demo",
        team_identifier="PASSMINT01",
        **options,
    )


def codes(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in problems}


@pytest.mark.parametrize("name", list(CASES))
def test_every_style_renders_a_valid_signed_pass(
    name: str, signer: ManifestSigner, check_pass: PassCheck, now: datetime
) -> None:
    style, raw, _ = CASES[name]
    design = parse_design(raw)
    assert errors_only(validate_design(design, style, assets=ASSETS)) == []
    pass_json = render(
        name,
        web_service_url="https://passes.example/apple",
        authentication_token="tok-0123456789abcdef",
    )
    assert errors_only(validate_pass_json(pass_json)) == []
    files = render_files(design, style, ASSETS)
    assert {"icon.png", "icon@2x.png", "icon@3x.png", "logo@3x.png"} <= set(files)
    report = check_pass(PassTemplate(pass_json, files).build(signer, signing_time=now))
    assert report.ok


def test_cafe_pass_json_keeps_numbers_and_maps_the_vocabulary() -> None:
    pass_json = render("cafe")
    assert list(pass_json)[:4] == [
        "formatVersion",
        "passTypeIdentifier",
        "serialNumber",
        "teamIdentifier",
    ]
    card = pass_json["storeCard"]
    assert card["headerFields"] == [{"key": "tier", "label": "TIER", "value": "Gold"}]
    assert card["primaryFields"][0] == {
        "key": "points",
        "label": "POINTS",
        "value": 120,
        "changeMessage": "You now have %@ points",
        "numberStyle": "PKNumberStyleDecimal",
    }
    assert card["secondaryFields"][0]["value"] == "Ada"
    assert card["secondaryFields"][1]["value"] == "30 points to go"
    assert card["secondaryFields"][1]["textAlignment"] == "PKTextAlignmentRight"
    assert card["backFields"][0]["dateStyle"] == "PKDateStyleMedium"
    assert card["backFields"][1]["dataDetectorTypes"] == ["PKDataDetectorTypePhoneNumber"]
    assert (pass_json["backgroundColor"], pass_json["foregroundColor"]) == (
        "rgb(29, 53, 87)",
        "rgb(255, 255, 255)",
    )
    assert pass_json["labelColor"] == "rgb(168, 218, 220)"
    barcode = {"format": "PKBarcodeFormatQR", "message": "SN-cafe"}
    assert pass_json["barcodes"] == [
        barcode | {"messageEncoding": "iso-8859-1", "altText": "SN-cafe"}
    ]
    assert pass_json["barcode"] == pass_json["barcodes"][0]
    assert pass_json["locations"][0] == {
        "latitude": 48.8566,
        "longitude": 2.3522,
        "relevantText": "Coffee time?",
    }
    assert pass_json["maxDistance"] == 150
    assert pass_json["expirationDate"] == "2027-12-31T23:59:00+01:00"
    assert pass_json["userInfo"] == {"customer_id": ""}  # customer.id is not in the data
    assert render("cafe") == pass_json  # deterministic
    assert json.dumps(render("cafe")) == json.dumps(pass_json)


def test_gift_card_and_coupon_specifics() -> None:
    gift = render("gift_card")
    assert gift["storeCard"]["primaryFields"][0]["value"] == 25.5
    assert gift["storeCard"]["primaryFields"][0]["currencyCode"] == "EUR"
    assert gift["semantics"] == {"balance": {"amount": "25.5", "currencyCode": "EUR"}}
    assert gift["barcodes"][0]["format"] == "PKBarcodeFormatPDF417"
    files = render_files(parse_design(gift_card()), PassStyle.STORE_CARD, ASSETS)
    assert files["strip@3x.png"][16:24] == (1125).to_bytes(4) + (432).to_bytes(4)  # 375×144 pt
    plain = render_files(parse_design(cafe()), PassStyle.STORE_CARD, ASSETS)
    assert plain["strip@3x.png"][16:24] == (1125).to_bytes(4) + (369).to_bytes(4)  # 375×123

    offer = render("coupon")
    assert offer["coupon"]["primaryFields"][0]["value"] == 0.2
    assert offer["barcodes"] == [
        {
            "format": "PKBarcodeFormatCode128",
            "message": "LUNCH-2026-XK4",
            "messageEncoding": "iso-8859-1",
            "altText": "LUNCH-2026-XK4",
        }
    ]
    assert "barcode" not in offer  # the legacy key cannot hold Code 128


def test_event_and_boarding_specifics() -> None:
    ticket = render("concert")
    assert ticket["eventTicket"]["auxiliaryFields"][1]["row"] == 1
    assert ticket["eventTicket"]["secondaryFields"][2]["value"] == 7
    assert ticket["relevantDate"] == "2026-12-05T20:00:00+01:00"
    assert ticket["relevantDates"] == [
        {"relevantDate": "2026-12-05T20:00:00+01:00", "date": "2026-12-05T20:00:00+01:00"}
    ]
    assert ticket["groupingIdentifier"] == "evt_42"
    assert ticket["sharingProhibited"] is True
    assert ticket["semantics"]["eventName"] == "Night of Strings"
    assert render("flight")["boardingPass"]["transitType"] == "PKTransitTypeAir"
    assert render("train")["boardingPass"]["transitType"] == "PKTransitTypeTrain"
    assert render("flight")["boardingPass"]["primaryFields"][1] == {
        "key": "to",
        "label": "Lisbon",
        "value": "LIS",
    }


def test_options_voided_expiration_override_and_extra() -> None:
    pass_json = render(
        "cafe",
        voided=True,
        expiration_date=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        extra={"sharingProhibited": True, "appLaunchURL": "cafe://card"},
    )
    assert pass_json["voided"] is True
    assert pass_json["expirationDate"] == "2026-01-01T12:00:00+00:00"
    assert pass_json["appLaunchURL"] == "cafe://card"
    assert "voided" not in render("cafe")


def test_colour_helpers() -> None:
    assert color_apple("#1D3557") == "rgb(29, 53, 87)"
    assert color_apple("#fff") == "rgb(255, 255, 255)"
    assert color_apple(" rgb( 1 ,2, 3 ) ") == "rgb(1, 2, 3)"
    assert color_hex("rgb(29, 53, 87)") == "#1d3557"
    assert color_hex("#ABC") == "#aabbcc"
    for bad in ("#12", "rgb(256, 0, 0)", "red", "#12345g"):
        with pytest.raises(ValueError, match="not a colour"):
            color_apple(bad)


def test_links_are_escaped_and_urls_percent_encoded() -> None:
    raw = cafe() | {
        "links": [
            {"label": "Terms & <Conditions>", "url": "https://x.example/t?a=1&b='2'"},
            {"label": "Card of {{ name }}", "url": "https://x.example/c/{{ id }}", "key": "card"},
        ]
    }
    data = {"name": "<b>O'Brien</b>", "id": "a b/../?x#y"}
    pass_json = render_pass_json(
        parse_design(raw),
        PassStyle.STORE_CARD,
        data,
        serial_number="SN-1",
        pass_type_identifier="pass.dev.passmint.demo",
        team_identifier="PASSMINT01",
    )
    terms, card = pass_json["storeCard"]["backFields"][-2:]
    assert terms == {
        "key": "link_1",
        "value": "https://x.example/t?a=1&b='2'",
        "attributedValue": (
            "<a href='https://x.example/t?a=1&amp;b=&#x27;2&#x27;'>"
            "Terms &amp; &lt;Conditions&gt;</a>"
        ),
    }
    assert card["key"] == "card"
    assert card["value"] == "https://x.example/c/a%20b%2F..%2F%3Fx%23y"
    assert card["attributedValue"] == (
        "<a href='https://x.example/c/a%20b%2F..%2F%3Fx%23y'>"
        "Card of &lt;b&gt;O&#x27;Brien&lt;/b&gt;</a>"
    )
    links = ("$.storeCard.backFields[2]", "$.storeCard.backFields[3]")
    assert not [p for p in validate_pass_json(pass_json) if p.path.startswith(links)]


def test_localizations_give_every_folder_the_same_keys() -> None:
    design = parse_design(cafe())
    files = render_files(design, PassStyle.STORE_CARD, ASSETS)
    assert {"ar.lproj/logo.png", "ar.lproj/logo@2x.png", "ar.lproj/logo@3x.png"} <= set(files)
    fr = parse_strings(files["fr.lproj/pass.strings"])
    ar = parse_strings(files["ar.lproj/pass.strings"])
    assert fr.keys() == ar.keys()
    assert ar["POINTS"] == "النقاط"
    assert fr["TIER"] == "TIER"  # no French translation: the source text
    assert ar["You now have %@ points"] == "لديك الآن %@ نقطة"
    anchor = "<a href='https://cafe.example/terms'>Terms</a>"
    assert fr[anchor] == "<a href='https://cafe.example/terms'>Conditions</a>"
    assert ar[anchor] == "<a href='https://cafe.example/terms'>الشروط</a>"
    problems = validate_design(design, PassStyle.STORE_CARD, assets=ASSETS)
    assert codes(problems) >= {("localizations.fr", "localization_missing")}
    assert all(p.severity is Severity.WARNING for p in problems)


def test_design_introspection() -> None:
    design = parse_design(cafe())
    assert placeholder_names(design) == {
        "tier",
        "points",
        "customer.first_name",
        "customer.joined_at",
        "customer.id",
        "points_to_reward",
        "serial_number",
        "pass_id",
        "expires_at",
    }
    assert field_keys_with_change_messages(design) == {"points": "You now have %@ points"}
    sample = make_sample_data(design)
    assert sample["points"] == 42
    assert sample["customer"]["joined_at"] == "2030-06-15T19:30:00+02:00"
    assert sample["customer"]["first_name"] == "First name"
    assert sample["expires_at"] == "2030-06-15T19:30:00+02:00"
    assert sample["points_to_reward"] == "Points to reward"


def design_with(**changes: Any) -> TemplateDesign:
    return parse_design(cafe() | changes)


def test_schema_errors_have_clear_paths() -> None:
    raw = cafe()
    raw["locations"] = [{"latitude": 1.0, "longitude": 2.0}] * 11
    raw["fields"]["primary"][0]["lable"] = "oops"
    raw["fields"]["secondary"][0]["value"] = "{{ customer.first_name"
    raw["colors"]["background"] = "#12"
    raw["barcode"]["format"] = "qr-code"
    raw["links"][0]["url"] = "javascript:alert(1)"
    raw["localizations"]["pt_BR"] = {}
    raw["colour"] = "red"
    with pytest.raises(DesignError) as caught:
        parse_design(raw)
    error = caught.value
    assert (error.code, error.status) == ("invalid_design", 422)
    assert codes(error.problems) == {
        ("locations", "too_many_items"),
        ("fields.primary[0].lable", "unknown_key"),
        ("fields.secondary[0].value", "invalid_placeholder"),
        ("colors.background", "invalid_color"),
        ("barcode.format", "invalid_enum"),
        ("links[0].url", "invalid_link_url"),
        ("localizations.pt_BR", "invalid_language_tag"),
        ("colour", "unknown_key"),
    }
    by_path = {p.path: p.message for p in error.problems}
    assert "at position 0" in by_path["fields.secondary[0].value"]
    assert "'pt-BR'" in by_path["localizations.pt_BR"]
    assert error.details["problems"][0].keys() == {"path", "code", "message", "severity"}


def test_schema_rejects_formats_that_conflict_and_bad_json_placeholders() -> None:
    raw = cafe()
    raw["fields"]["primary"][0]["date_style"] = "short"
    raw["semantics"] = {"balance": {"amount": "{{ }}"}}
    with pytest.raises(DesignError) as caught:
        parse_design(raw)
    assert codes(caught.value.problems) == {
        ("fields.primary[0]", "design_conflicting_formats"),
        ("semantics", "invalid_placeholder"),
    }
    assert "semantics.balance.amount" in caught.value.problems[1].message


def test_change_message_without_placeholder_after_rendering() -> None:
    raw = cafe()
    raw["fields"]["primary"][0]["change_message"] = "Points: {{ points }}"
    problems = validate_design(parse_design(raw), PassStyle.STORE_CARD)
    [problem] = [p for p in problems if p.code == "change_message_placeholder"]
    assert problem.path == "fields.primary[0].change_message"
    assert "'Points: 42'" in problem.message
    assert "$.storeCard.primaryFields[0].changeMessage" in problem.message


def test_a_change_message_may_be_a_localization_key() -> None:
    raw = cafe()
    raw["fields"]["primary"][0]["change_message"] = "POINTS_CHANGED"
    raw["localizations"]["fr"]["POINTS_CHANGED"] = "Vous avez maintenant %@ points"
    raw["localizations"]["ar"]["POINTS_CHANGED"] = "لديك الآن %@ نقطة"
    problems = validate_design(parse_design(raw), PassStyle.STORE_CARD)
    assert not [p for p in problems if p.code == "change_message_placeholder"]

    raw["localizations"]["fr"]["POINTS_CHANGED"] = "Vos points ont changé"
    problems = validate_design(parse_design(raw), PassStyle.STORE_CARD)
    found = {p.path for p in errors_only(problems) if p.code == "change_message_placeholder"}
    assert "localizations.fr.POINTS_CHANGED" in found
    assert "localizations.ar.POINTS_CHANGED" not in found


def test_style_rules_are_reported_on_the_design() -> None:
    missing_transit = boarding("air")
    del missing_transit["transit_type"]
    problems = validate_design(parse_design(missing_transit), PassStyle.BOARDING_PASS)
    assert ("transit_type", "transit_type_missing") in codes(problems)

    raw = cafe()
    raw["fields"]["primary"][0]["text_alignment"] = "center"
    raw["fields"]["primary"].append({"key": "extra", "value": "x"})
    raw["fields"]["secondary"][0]["row"] = 1
    raw["links"][0]["key"] = "points"
    raw["transit_type"] = "bus"
    raw["localizations"]["fr"]["You now have %@ points"] = "Vous avez des points"
    raw["localizations"]["fr"]["Unknown"] = "Inconnu"
    problems = validate_design(parse_design(raw), PassStyle.COUPON)
    found = codes(errors_only(problems))
    assert found >= {
        ("fields.primary[0].text_alignment", "text_alignment_not_allowed"),
        ("fields.primary", "too_many_fields"),
        ("fields.secondary[0].row", "row_not_allowed"),
        ("links[0].key", "field_key_duplicate"),
        ("transit_type", "transit_type_not_allowed"),
        ('localizations.fr["You now have %@ points"]', "change_message_placeholder"),
    }
    assert ("localizations.fr.Unknown", "localization_key_unused") in codes(problems)

    generic = gym()
    generic["images"]["strip"] = "strip"
    generic["gift_card"] = True
    found = codes(validate_design(parse_design(generic), PassStyle.GENERIC))
    assert found >= {
        ("images.strip", "image_not_supported_by_style"),
        ("gift_card", "gift_card_not_allowed"),
    }
    ticket = concert()
    ticket["images"]["strip"] = "strip"
    found = codes(validate_design(parse_design(ticket), PassStyle.EVENT_TICKET))
    assert ("images.strip", "image_strip_with_background") in found


def test_assets_are_checked_when_given() -> None:
    raw = cafe()
    raw["images"]["strip"] = "no-such-asset"
    raw["localized_images"]["ar"]["logo"] = "missing-too"
    design = parse_design(raw)
    with pytest.raises(DesignError) as caught:
        render_files(design, PassStyle.STORE_CARD, ASSETS)
    assert codes(caught.value.problems) == {
        ("images.strip", "asset_not_found"),
        ("localized_images.ar.logo", "asset_not_found"),
    }
    problems = validate_design(design, PassStyle.STORE_CARD, assets=ASSETS)
    assert ("images.strip", "asset_not_found") in codes(problems)
    assert validate_design(design, PassStyle.STORE_CARD) == validate_design(
        design, PassStyle.STORE_CARD, assets=None
    )

    small = design_with(images={"icon": "icon", "logo": "tiny"})
    with pytest.raises(ImageTooSmallError):
        render_files(small, PassStyle.STORE_CARD, ASSETS)
    problems = validate_design(small, PassStyle.STORE_CARD, assets=ASSETS)
    [problem] = [p for p in problems if p.code == "image_too_small"]
    assert problem.path == "images.logo"
    assert "logo.png" in problem.message


def test_assert_valid_design_raises_errors_and_returns_warnings() -> None:
    warnings = assert_valid_design(parse_design(cafe()), PassStyle.STORE_CARD)
    assert all(p.severity is Severity.WARNING for p in warnings)
    with pytest.raises(DesignError) as caught:
        assert_valid_design(parse_design(cafe()), PassStyle.BOARDING_PASS)
    assert codes(caught.value.problems) >= {
        ("transit_type", "transit_type_missing"),
        ("images.strip", "image_not_supported_by_style"),
    }
    assert all(p.severity is Severity.ERROR for p in caught.value.problems)


def test_sample_data_overrides_are_used_for_validation() -> None:
    design = parse_design(cafe())
    problems = validate_design(design, PassStyle.STORE_CARD, sample_data={"points": "many"})
    assert ("fields.primary[0].number_style", "number_style_requires_number") in codes(problems)


def test_short_and_long_transit_names_and_json_schema() -> None:
    assert parse_design(boarding("Boat")).transit_type == "PKTransitTypeBoat"
    schema = TemplateDesign.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["organization_name", "description", "images"]
    assert "air" in schema["properties"]["transit_type"]["anyOf"][0]["enum"]
    assert schema["$defs"]["DesignField"]["properties"]["value"]["description"]
    assert schema["examples"][0]["organization_name"] == "Café Lumen"
    parse_design(schema["examples"][0])


def test_pkpass_contains_the_rendered_files(
    signer: ManifestSigner, check_pass: PassCheck, now: datetime
) -> None:
    design = parse_design(cafe())
    files = render_files(design, PassStyle.STORE_CARD, ASSETS)
    data = PassTemplate(render("cafe"), files).build(signer, signing_time=now)
    check_pass(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        pass_json = json.loads(archive.read("pass.json"))
    assert {"fr.lproj/pass.strings", "ar.lproj/pass.strings", "strip@2x.png"} <= names
    assert pass_json["storeCard"]["primaryFields"][0]["value"] == 120


def test_design_round_trips_through_json() -> None:
    design = parse_design(cafe())
    stored = json.loads(json.dumps(design.model_dump(mode="json")))
    assert parse_design(stored) == design
    assert parse_design(design.model_dump(mode="json", exclude_none=True)) == design


def test_beacons_and_misplaced_grouping_identifier() -> None:
    uuid = "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0"
    raw = cafe() | {
        "beacons": [{"proximity_uuid": uuid, "major": 1, "relevant_text": "Hi {{ tier }}"}],
        "grouping_identifier": "{{ tier }}",
    }
    design = parse_design(raw)
    pass_json = render_pass_json(
        design,
        PassStyle.STORE_CARD,
        {"tier": "Gold"},
        serial_number="SN-1",
        pass_type_identifier="pass.dev.passmint.demo",
        team_identifier="PASSMINT01",
    )
    assert pass_json["beacons"] == [{"proximityUUID": uuid, "major": 1, "relevantText": "Hi Gold"}]
    problems = validate_design(design, PassStyle.STORE_CARD)
    assert ("grouping_identifier", "grouping_identifier_not_allowed") in codes(problems)
    with pytest.raises(DesignError) as caught:
        parse_design(raw | {"beacons": [{"proximity_uuid": "nope", "major": 70000}]})
    assert codes(caught.value.problems) == {
        ("beacons[0].proximity_uuid", "invalid_format"),
        ("beacons[0].major", "invalid_value"),
    }
