"""The designer's preview, without a database: every problem at its JSON Pointer in the
design, half-typed designs still rendered, languages and the wallets' renderings."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from passmint.wallet.apple.problems import Severity
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs import usage
from passmint.wallet.designs.gallery import gallery
from passmint.wallet.designs.preview import (
    PREVIEW_ISSUER,
    PREVIEW_PASS_TYPE,
    Preview,
    PreviewAsset,
    ProblemSource,
    pointer,
    render_preview,
    text_direction,
)
from passmint.wallet.designs.salvage import MISSING_ASSET, salvage

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BASE = "https://passes.example.test/i"
ASSETS = {
    "icon": PreviewAsset(f"{BASE}/icon.png", f"{BASE}/icon.png", 300, 300),
    "logo": PreviewAsset(f"{BASE}/logo.png", f"{BASE}/logo.png", 480, 150),
    "logo_ar": PreviewAsset(f"{BASE}/logo_ar.png", f"{BASE}/logo_ar.png", 480, 150),
    "strip": PreviewAsset(f"{BASE}/strip.png", f"{BASE}/strip.png", 1125, 369),
    "tiny": PreviewAsset(f"{BASE}/tiny.png", f"{BASE}/tiny.png", 300, 100),
}
SAMPLE = {"points": 120, "tier": "Gold", "name": "Ada"}


def design() -> dict[str, Any]:
    return {
        "organization_name": "Café Lumen",
        "description": "Café Lumen loyalty card",
        "logo_text": "Café Lumen",
        "colors": {"background": "#3c2314", "foreground": "#fff4e6", "label": "#e6be96"},
        "images": {"icon": "icon", "logo": "logo", "strip": "strip"},
        "localized_images": {"ar": {"logo": "logo_ar"}},
        "fields": {
            "header": [{"key": "tier", "label": "TIER", "value": "{{ tier }}"}],
            "primary": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": "{{ points }}",
                    "change_message": "You have %@ points",
                }
            ],
            "secondary": [{"key": "member", "label": "MEMBER", "value": "{{ name }}"}],
        },
        "barcode": {"format": "qr", "message": "{{ serial_number }}", "alt_text": "MEMBER"},
        "localizations": {
            "fr": {
                "TIER": "NIVEAU",
                "POINTS": "POINTS",
                "MEMBER": "MEMBRE",
                "You have %@ points": "Vous avez %@ points",
            },
            "ar": {
                "TIER": "المستوى",
                "POINTS": "النقاط",
                "MEMBER": "العضو",
                "You have %@ points": "لديك %@ نقطة",
            },
        },
    }


def preview(raw: dict[str, Any], **options: Any) -> Preview:
    options.setdefault("sample_data", SAMPLE)
    options.setdefault("assets", ASSETS)
    return render_preview(raw, options.pop("style", PassStyle.STORE_CARD), now=NOW, **options)


def at(result: Preview, path: str) -> dict[str, tuple[Severity, ProblemSource]]:
    """The problems at one JSON Pointer: code → (severity, source)."""
    return {p.code: (p.severity, p.source) for p in result.problems if p.path == path}


def test_a_clean_design_renders_both_wallets_with_no_problem() -> None:
    result = preview(design())
    assert result.problems == ()
    assert result.valid
    assert result.pass_json is not None
    assert result.pass_json["passTypeIdentifier"] == PREVIEW_PASS_TYPE
    assert result.pass_json["storeCard"]["primaryFields"][0]["value"] == 120
    assert result.google_vertical == "loyalty"
    assert result.google_class is not None
    assert result.google_object is not None
    assert result.google_class["id"].startswith(f"{PREVIEW_ISSUER}.")
    assert result.google_object["loyaltyPoints"]["balance"] == {"int": 120}
    assert result.images == {
        "icon": f"{BASE}/icon.png",
        "logo": f"{BASE}/logo.png",
        "strip": f"{BASE}/strip.png",
    }
    assert result.barcode is not None
    assert result.barcode.message == "SAMPLE-0001"
    assert result.barcode_svg is not None
    assert result.barcode_svg.startswith("<svg ")
    assert result.languages == ("fr", "ar")
    assert result.sample_data["points"] == 120


def test_the_web_service_is_in_pass_json_where_the_renderer_puts_it() -> None:
    url = "http://localhost:8000/apple"
    result = preview(design(), web_service_url=url)
    assert result.pass_json is not None
    keys = list(result.pass_json)
    assert keys[keys.index("teamIdentifier") + 1 : keys.index("teamIdentifier") + 3] == [
        "webServiceURL",
        "authenticationToken",
    ]
    assert result.pass_json["webServiceURL"] == url
    # the server's own URL is not the design's problem
    assert result.problems == ()


def test_a_bad_colour_is_at_its_colour_and_the_rest_still_renders() -> None:
    raw = design()
    raw["colors"]["background"] = "#12"
    result = preview(raw)
    assert at(result, "/colors/background") == {
        "invalid_color": (Severity.ERROR, ProblemSource.DESIGN)
    }
    assert not result.valid
    assert result.pass_json is not None
    assert "backgroundColor" not in result.pass_json
    assert result.pass_json["foregroundColor"] == "rgb(255, 244, 230)"


def test_an_unknown_placeholder_is_at_its_field_with_a_suggestion() -> None:
    raw = design()
    raw["fields"]["primary"][0]["value"] = "{{ pionts }}"
    result = preview(raw)
    problems = [p for p in result.problems if p.path == "/fields/primary/0/value"]
    assert [(p.code, p.severity, p.source) for p in problems] == [
        ("placeholder_unknown", Severity.WARNING, ProblemSource.PLACEHOLDERS)
    ]
    assert "did you mean {{ points }}?" in problems[0].message
    assert result.valid  # a warning does not stop a save


def test_names_the_programs_fill_do_not_warn() -> None:
    raw = design()
    raw["fields"]["secondary"].append(
        {"key": "next", "label": "NEXT", "value": "{{ next_reward }}"}
    )
    lacking = preview(raw)
    assert "placeholder_unknown" in at(lacking, "/fields/secondary/1/value")
    program = usage.Provider("program 'Café'", frozenset({"points", "tier", "next_reward"}))
    assert at(preview(raw, providers=[program]), "/fields/secondary/1/value") == {}


def test_a_malformed_placeholder_is_an_error_and_its_text_shows_as_typed() -> None:
    raw = design()
    raw["fields"]["secondary"][0]["value"] = "Hello {{ name"
    result = preview(raw)
    assert at(result, "/fields/secondary/0/value") == {
        "invalid_placeholder": (Severity.ERROR, ProblemSource.DESIGN)
    }
    assert result.pass_json is not None
    shown = result.pass_json["storeCard"]["secondaryFields"][0]["value"]
    assert shown.replace("\u200b", "") == "Hello {{ name"


def test_a_missing_icon_is_at_images_icon() -> None:
    raw = design()
    del raw["images"]["icon"]
    result = preview(raw)
    assert at(result, "/images/icon") == {
        "missing_required": (Severity.ERROR, ProblemSource.DESIGN)
    }
    assert "icon" not in result.images
    assert result.pass_json is not None  # the rest renders


def test_images_unknown_or_too_small_are_at_their_slot() -> None:
    raw = design()
    raw["images"]["logo"] = "not-uploaded"
    raw["images"]["strip"] = "tiny"
    result = preview(raw)
    assert at(result, "/images/logo") == {"asset_not_found": (Severity.ERROR, ProblemSource.IMAGES)}
    assert at(result, "/images/strip") == {
        "image_too_small": (Severity.ERROR, ProblemSource.IMAGES)
    }
    assert "1125×369" in next(p.message for p in result.problems if p.path == "/images/strip")
    raw["localized_images"]["ar"]["logo"] = "gone"
    assert "asset_not_found" in at(preview(raw), "/localized_images/ar/logo")


def test_pass_json_problems_come_back_to_the_design_field() -> None:
    raw = design()
    raw["fields"]["primary"][0]["change_message"] = "Points changed"
    result = preview(raw)
    problems = at(result, "/fields/primary/0/change_message")
    assert problems == {"change_message_placeholder": (Severity.ERROR, ProblemSource.APPLE)}
    raw = design()
    raw["fields"]["secondary"] += [{"key": f"f{i}", "label": "X", "value": "x"} for i in range(4)]
    assert at(preview(raw), "/fields/secondary") == {
        "too_many_fields": (Severity.ERROR, ProblemSource.APPLE),
        "google_card_row_too_long": (Severity.WARNING, ProblemSource.GOOGLE),
    }


def test_style_rules_are_at_their_key() -> None:
    raw = design()
    raw["transit_type"] = "air"
    assert "transit_type_not_allowed" in at(preview(raw), "/transit_type")
    boarding = design()
    del boarding["images"]["strip"]
    assert "transit_type_missing" in at(
        preview(boarding, style=PassStyle.BOARDING_PASS), "/transit_type"
    )


def test_too_long_texts_warn_where_they_come_from() -> None:
    raw = design()
    raw["fields"]["secondary"][0]["label"] = "MEMBER OF THE CAFÉ LUMEN FRIENDS CIRCLE"
    raw["organization_name"] = "Café Lumen Roasters & Bakery"
    raw["localizations"]["fr"]["MEMBRE"] = "x"  # an unused key only warns
    result = preview(raw)
    long_label = at(result, "/fields/secondary/0/label")
    assert long_label["google_text_too_long"] == (Severity.WARNING, ProblemSource.GOOGLE)
    assert "google_text_too_long" in at(result, "/organization_name")
    # a translation that is too long is at its entry in the translations
    raw = design()
    raw["localizations"]["fr"]["MEMBER"] = "MEMBRE DU CERCLE DES AMIS DU CAFÉ LUMEN"
    assert "google_text_too_long" in at(preview(raw), "/localizations/fr/MEMBER")


def test_a_barcode_the_format_cannot_carry_is_at_its_message() -> None:
    raw = design()
    raw["barcode"] = {"format": "qr", "message": "x" * 3000}
    result = preview(raw)
    assert at(result, "/barcode/message") == {
        "barcode_message_too_long": (Severity.ERROR, ProblemSource.BARCODE)
    }
    assert result.barcode is not None
    assert result.barcode.svg is None
    raw["barcode"] = {"format": "code128", "message": "{{ name }}"}
    result = preview(raw, sample_data={**SAMPLE, "name": "أحمد"})
    assert "barcode_message_not_encodable" in at(result, "/barcode/message")


def test_a_language_shows_its_translations_and_images_and_direction() -> None:
    result = preview(design(), language="ar")
    assert result.language == "ar"
    assert result.direction == "rtl"
    assert result.localized_pass_json is not None
    assert result.pass_json is not None
    fields = result.localized_pass_json["storeCard"]
    assert fields["headerFields"][0]["label"] == "المستوى"
    assert fields["primaryFields"][0]["changeMessage"] == "لديك %@ نقطة"
    assert result.localized_pass_json["barcodes"][0]["altText"] == "العضو"
    assert result.barcode is not None
    assert result.barcode.alt_text == "العضو"
    # pass.json itself stays what the phone gets: the source texts and the strings files
    assert result.pass_json["storeCard"]["headerFields"][0]["label"] == "TIER"
    assert result.strings is not None
    assert result.strings["TIER"] == "المستوى"
    assert result.images["logo"] == f"{BASE}/logo_ar.png"
    french = preview(design(), language="fr")
    assert french.direction == "ltr"
    assert french.images["logo"] == f"{BASE}/logo.png"


def test_a_language_the_design_lacks_warns_and_shows_its_own_texts() -> None:
    result = preview(design(), language="fi")
    assert result.language is None
    assert at(result, "/localizations") == {
        "preview_language_unknown": (Severity.WARNING, ProblemSource.PREVIEW)
    }
    assert result.localized_pass_json == result.pass_json


def test_images_google_cannot_fetch_warn_once_and_are_stood_in() -> None:
    local = {k: PreviewAsset(f"http://localhost:8000/i/{k}.png", None, 1125, 1125) for k in ASSETS}
    result = preview(design(), assets=local)
    assert at(result, "/images") == {
        "google_images_not_https": (Severity.WARNING, ProblemSource.GOOGLE)
    }
    assert result.valid
    assert result.google_class is not None
    assert result.google_class["programLogo"]["sourceUri"]["uri"].startswith("https://")
    assert result.images["icon"] == "http://localhost:8000/i/icon.png"


def test_hostile_text_is_data() -> None:
    raw = design()
    raw["organization_name"] = "<script>alert(1)</script>"
    result = preview(raw)
    assert result.pass_json is not None
    assert result.pass_json["organizationName"] == "<script>alert(1)</script>"
    assert result.barcode_svg is not None
    assert "<script" not in result.barcode_svg


def test_a_design_with_nothing_to_render_returns_only_its_problems() -> None:
    result = preview({"fields": "none", "barcode": 3})
    codes = {(p.path, p.code) for p in result.problems}
    assert ("/organization_name", "missing_required") in codes
    assert ("/images", "missing_required") in codes
    assert ("/fields", "invalid_type") in codes
    assert result.pass_json is not None  # rendered from stand-ins: the editor keeps a card


def test_salvage_keeps_what_validates_and_reports_everything() -> None:
    raw = design()
    raw["fields"]["secondary"][0]["key"] = "bad key"
    raw["fields"]["secondary"].append({"key": "ok", "value": "{{ tier }}"})
    raw["locations"] = [{"latitude": 1.0, "longitude": 2.0}] * 12
    raw["colour"] = "red"
    before = copy.deepcopy(raw)
    salvaged = salvage(raw)
    assert raw == before  # the caller's design is not changed
    assert salvaged.design is not None
    secondary = salvaged.design.fields.secondary
    assert [f.key for f in secondary] == ["salvaged_secondary_0", "ok"]  # indices kept
    assert len(salvaged.design.locations) == 10
    assert {p.path for p in salvaged.problems} == {
        "fields.secondary[0].key",
        "locations",
        "colour",
    }
    empty = salvage({})
    assert empty.design is not None
    assert empty.design.images.icon == MISSING_ASSET


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("fields.primary[0].value", "/fields/primary/0/value"),
        ('localizations["pt-BR"]', "/localizations/pt-BR"),
        ('localizations.fr["a/b~c"]', "/localizations/fr/a~1b~0c"),
        ("colors.background", "/colors/background"),
        ("$", ""),
        ("$.storeCard.primaryFields[0]", ""),
        ("icon@2x.png", ""),
    ],
)
def test_design_paths_become_json_pointers(path: str, expected: str) -> None:
    assert pointer(path) == expected


def test_direction_of_languages_and_of_texts() -> None:
    assert text_direction("ar") == "rtl"
    assert text_direction("he") == "rtl"
    assert text_direction("pt-BR") == "ltr"
    assert text_direction("xx-unknown") == "ltr"
    assert text_direction(None, "مقهى لومن") == "rtl"
    assert text_direction(None, "12 Café") == "ltr"


def test_as_dict_is_the_endpoint_body() -> None:
    body = preview(design(), language="fr").as_dict()
    assert body["valid"] is True
    assert body["language"] == "fr"
    assert body["barcode"]["format"] == "qr"
    assert set(body) == {
        "valid",
        "style",
        "language",
        "direction",
        "languages",
        "pass_json",
        "localized_pass_json",
        "strings",
        "google_vertical",
        "google_class",
        "google_object",
        "barcode",
        "images",
        "sample_data",
        "problems",
    }


def test_translations_beyond_what_a_pass_carries_are_left_out() -> None:
    raw = design()
    tags = [f"en-{a}{b}" for a in "ABCDEFGHIJKLMNOPQRSTU" for b in "ABCDEFGHIJKLMNOPQRSTU"]
    raw["localizations"] = {tag: {f"text {i}": "x" for i in range(460)} for tag in tags}
    result = preview(raw, language="en-AB")
    assert at(result, "/localizations") == {
        "too_many_translations": (Severity.ERROR, ProblemSource.DESIGN),
        "preview_language_unknown": (Severity.WARNING, ProblemSource.PREVIEW),
    }
    assert result.pass_json is not None
    assert result.strings is None


def test_a_large_sample_bounds_the_suggestions() -> None:
    raw = design()
    raw["fields"]["back"] = [
        {"key": f"f{i}", "value": " ".join(f"{{{{ nam{i}_{j} }}}}" for j in range(10))}
        for i in range(30)
    ]
    sample = {**SAMPLE, **{f"nam{i}_{j}x": "v" for i in range(30) for j in range(10)}}
    result = preview(raw, sample_data=sample)
    unknown = [p for p in result.problems if p.code == "placeholder_unknown"]
    assert len(unknown) == 300  # one per placeholder
    suggested = [p for p in unknown if "did you mean" in p.message]
    assert 0 < len(suggested) <= 50


def test_errors_come_first_and_the_list_is_bounded() -> None:
    raw = design()
    raw["fields"]["back"] = [
        {"key": f"b{i}", "value": f"{{{{ unknown_{i} }}}}"} for i in range(600)
    ]
    raw["colors"]["label"] = "not a colour"
    result = preview(raw)
    assert len(result.problems) == 501
    assert result.problems[0].path == "/colors/label"
    assert result.problems[-1].code == "more_problems"
    assert result.problems[-1].severity is Severity.WARNING
    assert not result.valid
    many = design()
    many["fields"]["back"] = [{"key": "bad key", "value": "x"} for _ in range(1200)]
    cut = preview(many)
    assert at(cut, "/fields") == {
        "too_many_fields_to_preview": (Severity.ERROR, ProblemSource.DESIGN)
    }
    assert cut.problems[-1].code == "more_problems"
    assert cut.problems[-1].severity is Severity.ERROR


def test_numbers_no_wallet_keeps_are_problems_not_failures() -> None:
    raw = design()
    raw["fields"]["primary"][0]["value"] = 10**400
    raw["max_distance"] = -(2**60)
    result = preview(raw, sample_data={**SAMPLE, "points": 10**300})
    assert at(result, "/fields/primary/0/value") == {
        "number_too_large": (Severity.ERROR, ProblemSource.DESIGN)
    }
    assert "number_too_large" in at(result, "/max_distance")
    assert "sample_number_too_large" in at(result, "")
    assert result.google_object is not None


_ODD = [
    None,
    True,
    0,
    -1,
    10**300,
    1.5,
    "",
    "{{",
    "{{ a }}",
    "}}",
    "#fff",
    "left",
    [],
    {},
    [1, "a"],
    {"a": 1},
    "not a date",
    "ar",
    "qr",
    "https://x",
    "a/b~c",
    "%@",
]


def _mutated(node: Any, rng: random.Random) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            roll = rng.random()
            if roll < 0.08:
                continue
            out[key] = rng.choice(_ODD) if roll < 0.2 else _mutated(value, rng)
        if rng.random() < 0.1:
            out[rng.choice(["zz", "key", "value", "label", "format", "fr"])] = rng.choice(_ODD)
        return out
    if isinstance(node, list):
        return [_mutated(item, rng) for item in node if rng.random() > 0.05]
    if isinstance(node, str) and rng.random() < 0.2:
        return rng.choice([node + "{{", node * 3, "", "{{ " + node[:5] + " }}"])
    return node


@pytest.mark.parametrize("seed", range(4))
def test_any_mangled_design_gives_problems_never_an_exception(seed: int) -> None:
    rng = random.Random(seed)
    styles = list(PassStyle)
    for starter in gallery():
        for _ in range(25):
            raw = _mutated(copy.deepcopy(dict(starter.design)), rng)
            style = rng.choice(styles) if rng.random() < 0.3 else starter.style
            sample = _mutated(dict(starter.sample_data), rng)
            result = render_preview(
                raw,
                style,
                now=NOW,
                sample_data=sample,
                language=rng.choice([None, "fr", "ar", "xx"]),
            )
            body = json.dumps(result.as_dict(), allow_nan=False)
            assert json.loads(body)["valid"] == result.valid
