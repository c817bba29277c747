"""The preview does each piece of work once: the checks share one walk of the design's
texts, the Google design checks run once, and problem paths are written only for the
problems found. What the shared work gives is what each check gives on its own."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from passmint.kit.jsonpath import child
from passmint.wallet.apple.problems import Problem
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.apple.validation import validate_pass_json
from passmint.wallet.apple.validation_rules import FieldRef, Report, fields_of
from passmint.wallet.designs import placeholders, preview, usage
from passmint.wallet.designs.gallery import gallery
from passmint.wallet.designs.preview import PreviewAsset, render_preview
from passmint.wallet.designs.render_apple import (
    localization_tables,
    make_sample_data,
    render_pass_json,
    validate_rendered,
)
from passmint.wallet.designs.schemas import (
    DesignError,
    DesignText,
    TemplateDesign,
    child_path,
    design_path,
    parse_design,
)
from passmint.wallet.google.render import (
    render_class,
    render_object,
    validate_design_for_google,
)
from passmint.wallet.google.textlimits import check_lengths

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ISSUER = "1234567890"
URLS = {name: f"https://img.example/{name}.png" for name in ("icon", "logo", "strip")}


def starters() -> list[tuple[str, PassStyle, TemplateDesign, dict[str, Any]]]:
    return [
        (item.slug, item.style, parse_design(item.design), dict(item.sample_data))
        for item in gallery()
    ]


def busy_design() -> dict[str, Any]:
    """A design with a problem for most checks, at paths that need quoting."""
    return {
        "organization_name": "An organization name longer than Google shows",
        "description": "A card",
        "colors": {"background": "#123456"},
        "images": {"icon": "icon", "logo": "logo", "strip": "strip"},
        "localized_images": {"pt-BR": {"logo": "no_such_asset"}},
        "fields": {
            "header": [{"key": "tier", "label": "TIER", "value": "{{ tier }}"}],
            "primary": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": "{{ pionts }}",
                    "change_message": "Points changed",
                }
            ],
            "secondary": [
                {"key": f"s{i}", "label": f"LABEL {i}", "value": f"value {i}"} for i in range(4)
            ],
            "back": [{"key": f"b{i}", "value": f"back {i}"} for i in range(8)],
        },
        "links": [{"label": "A link label too long for Google", "url": "http://x.example/"}],
        "localizations": {
            "pt-BR": {
                "TIER": "NÍVEL",
                "Points changed": "Pontos mudaram",
                "not a text of the design": "x",
                "LABEL 0": "Um rótulo traduzido longo demais para o Google",
            },
            "de": {"TIER": "STUFE"},
        },
    }


ASSETS = {
    name: PreviewAsset(url, url, 1125, 1125) for name, url in URLS.items() if name != "strip"
} | {"strip": PreviewAsset(URLS["strip"], URLS["strip"], 300, 100)}


# -- one walk of the texts, shared ---------------------------------------------------------


@pytest.mark.parametrize(("slug", "style", "design", "sample"), starters())
def test_the_shared_text_walk_gives_what_each_check_finds_alone(
    slug: str, style: PassStyle, design: TemplateDesign, sample: dict[str, Any]
) -> None:
    texts = list(design.texts())
    assert all(isinstance(text, DesignText) for text in texts)
    assert make_sample_data(design, sample, texts=texts) == make_sample_data(design, sample)
    assert usage.uses(design, texts=texts) == usage.uses(design)
    data = make_sample_data(design, sample)
    pass_json = render_pass_json(
        design,
        style,
        data,
        serial_number="S1",
        pass_type_identifier="pass.a.b",
        team_identifier="T",
    )
    shared = validate_rendered(
        design, style, pass_json, tables=localization_tables(design), texts=texts
    )
    assert shared == validate_rendered(design, style, pass_json)


def test_text_paths_are_design_paths() -> None:
    design = parse_design(busy_design() | {"barcode": {"format": "qr", "alt_text": "{{ a }}"}})
    texts = list(design.texts())
    for text in texts:
        parts: list[str | int] = []
        for piece in text.path.replace("[", ".[").split("."):
            parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
        assert design_path(*parts) == text.path
    assert "fields.secondary[3].value" in {text.path for text in texts}
    assert "links[0].url" in {text.path for text in texts}


def test_a_preview_walks_the_texts_and_checks_for_google_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: dict[str, int] = {}

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(TemplateDesign, "texts", counted("texts", TemplateDesign.texts))
    for name in ("validate_design_for_google", "render_class", "validate_rendered"):
        monkeypatch.setattr(preview, name, counted(name, getattr(preview, name)))
    result = render_preview(busy_design(), PassStyle.STORE_CARD, now=NOW, assets=ASSETS)
    assert result.google_class is not None
    assert result.problems
    assert calls == {
        "texts": 1,
        "validate_design_for_google": 1,
        "render_class": 1,
        "validate_rendered": 1,
    }


# -- Google: the design checks once -------------------------------------------------------


@pytest.mark.parametrize(("slug", "style", "design", "sample"), starters())
def test_a_class_rendered_with_the_checks_given_is_the_class(
    slug: str, style: PassStyle, design: TemplateDesign, sample: dict[str, Any]
) -> None:
    options: dict[str, Any] = {"issuer_id": ISSUER, "class_id": f"{ISSUER}.c", "image_urls": URLS}
    checked = validate_design_for_google(design, style)
    assert render_class(design, style, checked=checked, **options) == render_class(
        design, style, **options
    )


def test_a_class_rendered_with_errors_given_raises_them() -> None:
    design = parse_design(busy_design())
    options: dict[str, Any] = {"issuer_id": ISSUER, "class_id": f"{ISSUER}.c", "image_urls": URLS}
    error = Problem("locations", "google_too_many_locations", "too many")
    with pytest.raises(DesignError) as raised:
        render_class(design, PassStyle.STORE_CARD, checked=[error], **options)
    assert raised.value.problems == [error]
    boarding = validate_design_for_google(design, PassStyle.BOARDING_PASS)
    with pytest.raises(DesignError) as again:
        render_class(design, PassStyle.BOARDING_PASS, checked=boarding, **options)
    assert [p.code for p in again.value.problems] == ["transit_type_missing"]


def test_the_first_hidden_text_module_and_long_rows_are_at_their_paths() -> None:
    design = parse_design(busy_design())
    found = {(p.path, p.code) for p in validate_design_for_google(design, PassStyle.COUPON)}
    # a coupon shows every field as a text module: header, primary, 4 secondary, 8 back
    assert ("fields.back[4]", "google_too_many_text_modules") in found
    assert ("fields.secondary", "google_card_row_too_long") in found
    assert ("links[0].url", "google_link_not_https") in found


def test_long_texts_are_at_their_design_paths_and_translations() -> None:
    design = parse_design(busy_design())
    style = PassStyle.STORE_CARD
    data = make_sample_data(design)
    class_body = render_class(
        design, style, issuer_id=ISSUER, class_id=f"{ISSUER}.c", image_urls=URLS
    )
    object_body = render_object(
        design,
        style,
        data,
        issuer_id=ISSUER,
        class_id=f"{ISSUER}.c",
        object_id=f"{ISSUER}.o",
        serial_number="S1",
        image_urls=URLS,
        voided=False,
        now=NOW,
    )
    found = [p.path for p in check_lengths(design, class_body, object_body)]
    assert found == [
        "organization_name",
        'localizations["pt-BR"]["LABEL 0"]',
        "links[0].label",
    ]


# -- paths written for problems only, as design_path writes them ----------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("fields", "primary", 0, "value"), "fields.primary[0].value"),
        (("localizations", "pt-BR", "MEMBER"), 'localizations["pt-BR"].MEMBER'),
        (("localizations", "fr", "TIER NAME"), 'localizations.fr["TIER NAME"]'),
        (("user_info", "é"), 'user_info["é"]'),  # identifiers are ASCII here
        (("user_info", "_a1"), "user_info._a1"),
        (("user_info", "1a"), 'user_info["1a"]'),
        (("user_info", ""), 'user_info[""]'),
        (("user_info", "class"), "user_info.class"),
    ],
)
def test_design_paths(parts: tuple[str | int, ...], expected: str) -> None:
    assert design_path(*parts) == expected
    base = design_path(*parts[:-1])
    assert child_path(base, parts[-1]) == expected
    assert child(f"${'.' + base if base else ''}", parts[-1]) == f"$.{expected}"


def test_field_refs_write_their_path_when_asked() -> None:
    card = {"primaryFields": [{"key": "a", "value": 1}, "not a field", {"key": "b"}]}
    refs = list(fields_of("$.storeCard", card, "storeCard"))
    assert [(ref.index, ref.path) for ref in refs] == [
        (0, "$.storeCard.primaryFields[0]"),
        (2, "$.storeCard.primaryFields[2]"),
    ]
    assert refs[1] == FieldRef("storeCard", "primaryFields", "$.storeCard", 2, {"key": "b"})


def test_field_problems_are_at_their_paths() -> None:
    base = {
        "formatVersion": 1,
        "passTypeIdentifier": "pass.a.b",
        "serialNumber": "1",
        "teamIdentifier": "T",
        "organizationName": "O",
        "description": "D",
    }
    data = base | {
        "storeCard": {
            "headerFields": [{"key": "a", "value": "x"}],
            "backFields": [
                {"key": "b", "value": "y"},
                {"key": "a", "value": 1, "changeMessage": "Now %@"},
                {"key": "c", "value": "z", "changeMessage": "Changed"},
                {"key": "d", "value": "w", "semantics": {"eventStartDate": "soon"}},
            ],
        }
    }
    strings = {"fr.lproj/pass.strings": {"Now %@": "Maintenant"}}
    found = [(p.path, p.code, p.message) for p in validate_pass_json(data, strings=strings)]
    assert [(path, code) for path, code, _ in found] == [
        ("$.storeCard.backFields[1].changeMessage", "change_message_placeholder"),
        ("$.storeCard.backFields[1].key", "field_key_duplicate"),
        ("$.storeCard.backFields[2].changeMessage", "change_message_placeholder"),
        ("$.storeCard.backFields[3].semantics.eventStartDate", "date_invalid"),
    ]
    assert found[1][2].endswith("'a' is at $.storeCard.headerFields[0]")
    assert "fr (fr.lproj/pass.strings: 'Maintenant')" in found[0][2]


def test_a_report_sorts_its_tables_once() -> None:
    report = Report(strings={"ru.lproj/pass.strings": {}, "nl.lproj/pass.strings": {}})
    assert [name for name, _ in report.tables()] == [
        "nl.lproj/pass.strings",
        "ru.lproj/pass.strings",
    ]
    assert report.tables() is report.tables()


def test_preview_problems_point_into_the_design() -> None:
    sample = {"points": 1, "tier": "Gold"}
    result = render_preview(
        busy_design(), PassStyle.STORE_CARD, now=NOW, assets=ASSETS, sample_data=sample
    )
    found = {(p.path, p.code) for p in result.problems}
    assert found >= {
        ("/localized_images/pt-BR/logo", "asset_not_found"),
        ("/images/strip", "image_too_small"),
        ("/localizations/pt-BR/not a text of the design", "localization_key_unused"),
        ("/localizations/pt-BR/Points changed", "change_message_placeholder"),
        ("/localizations/de", "localization_missing"),
        ("/fields/primary/0/change_message", "change_message_placeholder"),
        ("/organization_name", "google_text_too_long"),
        ("/fields/primary/0/value", "placeholder_unknown"),
    }


# -- scans and copies -----------------------------------------------------------------------


def test_many_languages_name_how_many_texts_they_translate() -> None:
    raw = busy_design()
    tags = [f"en-{a}{b}" for a in "ABCDEFGHIJK" for b in "ABCDEFGHIJK"]
    raw["localizations"] = {tag: {"TIER": "x", "LABEL 0": "y"} for tag in tags}
    result = render_preview(raw, PassStyle.STORE_CARD, now=NOW, assets=ASSETS)
    [problem] = [p for p in result.problems if p.code == "too_many_translations"]
    # 121 with texts, and pt-BR with an image only
    assert problem.message.startswith("122 languages and 2 translated texts are more")


def test_numbers_beyond_two_to_the_53_are_found_anywhere() -> None:
    raw = busy_design()
    raw["user_info"] = {"a": [1, {"b": -(2**60)}], "c": 2**53, "d": True, "e": 1.5e300}
    result = render_preview(
        raw,
        PassStyle.STORE_CARD,
        now=NOW,
        assets=ASSETS,
        sample_data={"tier": [0, 2**64], "points": 2**53},
    )
    assert ("/user_info/a/1/b", "number_too_large") in {(p.path, p.code) for p in result.problems}
    assert not [p for p in result.problems if p.path == "/user_info/c"]
    [sample] = [p for p in result.problems if p.code == "sample_number_too_large"]
    assert sample.message.endswith("(tier[1])")


def test_the_localized_pass_json_is_a_copy() -> None:
    raw = busy_design()
    result = render_preview(raw, PassStyle.STORE_CARD, now=NOW, assets=ASSETS, language="de")
    assert result.pass_json is not None
    assert result.localized_pass_json is not None
    assert result.localized_pass_json["storeCard"]["headerFields"][0]["label"] == "STUFE"
    assert result.pass_json["storeCard"]["headerFields"][0]["label"] == "TIER"
    before = copy.deepcopy(result.pass_json)
    result.localized_pass_json["storeCard"]["backFields"].clear()
    assert result.pass_json == before


def test_the_parsed_template_is_shared_and_literal_text_is_not_parsed() -> None:
    template = "Hi {{ name | default: 'you' }}, {{ points }}"
    assert placeholders.parts(template) == tuple(placeholders.parse(template))
    assert placeholders.parts(template) is placeholders.parts(template)
    assert placeholders.names(template) == {"name", "points"}
    assert placeholders.has_placeholders(template)
    for literal in ("", "Points", "a { b } c }}"):
        assert placeholders.names(literal) == set()
        assert not placeholders.has_placeholders(literal)
    with pytest.raises(placeholders.PlaceholderError):
        placeholders.has_placeholders("{{ unclosed")
