"""The designer's form ⇄ design mapping, and the pure pieces of the preview."""

from __future__ import annotations

from passmint.admin import designform, previewmodel
from passmint.passes import versions


def test_a_form_becomes_the_design_it_shows() -> None:
    form = {
        "organization_name": " Café Lumen ",
        "description": "Loyalty card",
        "colors.background": "#3c2314",
        "colors.foreground": "",
        "images.icon": "0b0e6f52-6f0f-4d0e-9f3e-2f1f0a1b2c3d",
        "fields.primary.0.label": "POINTS",
        "fields.primary.0.value": "{{ points }}",
        "fields.primary.0.key": "points",
        "fields.back.1.label": "Terms",
        "fields.back.1.value": "No cash value",
        "fields.back.0.label": "Hours",
        "fields.back.0.value": "8-18",
        "barcode.format": "qr",
        "barcode.message": "{{ card_number }}",
        "locations.0.latitude": "51.5",
        "locations.0.longitude": "-0,12",
        "locations.0.relevant_text": "Coffee nearby",
        "locations.1.latitude": "",
        "locations.1.longitude": "",
        "languages": "fr ar",
        "l10n.0.source": "POINTS",
        "l10n.0.fr": "POINTS",
        "l10n.0.ar": "النقاط",
        "sharing_prohibited": "on",
    }
    design, problems = designform.design_from_form(form)
    assert problems == []
    assert design["organization_name"] == "Café Lumen"
    assert design["colors"] == {"background": "#3c2314"}
    assert design["fields"]["primary"] == [
        {"key": "points", "label": "POINTS", "value": "{{ points }}"}
    ]
    assert [f["label"] for f in design["fields"]["back"]] == ["Hours", "Terms"]
    assert [f["key"] for f in design["fields"]["back"]] == ["hours", "terms"]
    assert design["barcode"] == {"format": "qr", "message": "{{ card_number }}"}
    assert design["locations"] == [
        {"latitude": 51.5, "longitude": -0.12, "relevant_text": "Coffee nearby"}
    ]
    assert design["localizations"] == {"fr": {"POINTS": "POINTS"}, "ar": {"POINTS": "النقاط"}}
    assert design["sharing_prohibited"] is True


def test_what_cannot_be_read_is_a_problem_at_its_control() -> None:
    design, problems = designform.design_from_form(
        {"locations.0.latitude": "north", "locations.0.longitude": "2", "semantics": "{nope"}
    )
    paths = {p.path for p in problems}
    assert paths == {"/locations/0/latitude", "/semantics"}
    assert design["locations"][0]["latitude"] == "north"  # kept, so the form shows it
    assert designform.flat(problems)["locations.0.latitude"] == ["'north' is not a number"]
    assert designform.control_name("/fields/primary/0/value") == "fields.primary.0.value"
    assert designform.control_id("fields.primary.0.value") == "f-fields-primary-0-value"


def test_no_barcode_and_hostile_indices_are_ignored() -> None:
    design, _ = designform.design_from_form(
        {"barcode.format": "none", "fields.primary.x.label": "A", "fields.primary.99999.label": "B"}
    )
    assert "barcode" not in design
    assert design["fields"] == {}


def test_contrast_ratio_follows_wcag() -> None:
    assert round(previewmodel.contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(previewmodel.contrast_ratio("#777777", "#ffffff"), 2) == 4.48
    assert previewmodel.css_color("rgb(60, 35, 20)") == "#3c2314"
    assert previewmodel.css_color("#FFF") == "#ffffff"
    assert previewmodel.css_color("red; background:url(x)") is None


def test_the_apple_preview_reads_the_pass_json_by_style() -> None:
    # localized_pass_json: the renderer has put the label in the preview's language
    pass_json = {
        "organizationName": "Café",
        "backgroundColor": "rgb(60, 35, 20)",
        "storeCard": {
            "primaryFields": [{"key": "points", "label": "النقاط", "value": 120}],
            "backFields": [{"key": "terms", "label": "Terms", "value": "None"}],
        },
        "barcodes": [{"format": "PKBarcodeFormatQR", "message": "X", "altText": "X"}],
    }
    shown = previewmodel.apple(pass_json, {"strip": "/i/s.png"}, "<svg/>")
    assert shown.style == "storeCard"
    assert shown.paint == {"--pass-bg": "#3c2314"}
    assert shown.areas["primary"][0].label == "النقاط"
    assert shown.areas["primary"][0].value == "120"
    assert shown.strip == "/i/s.png"
    assert shown.barcode_kind == "qr"


def test_differences_between_versions_name_each_changed_leaf() -> None:
    before = {"organization_name": "A", "fields": {"primary": [{"label": "P", "value": "1"}]}}
    after = {
        "organization_name": "B",
        "fields": {"primary": [{"label": "P", "value": "1"}, {"label": "Q", "value": "2"}]},
        "colors": {"background": "#000000"},
    }
    changes = {(c.path, c.before, c.after) for c in versions.differences(before, after)}
    assert changes == {
        ("/organization_name", "A", "B"),
        ("/fields/primary/1/label", None, "Q"),
        ("/fields/primary/1/value", None, "2"),
        ("/colors/background", None, "#000000"),
    }


def test_fields_without_keys_get_unique_ones_from_their_labels() -> None:
    design, _ = designform.design_from_form(
        {
            "fields.primary.0.label": "Next reward",
            "fields.primary.0.key": "next_reward",
            "fields.secondary.0.label": "NEXT REWARD",
            "fields.secondary.1.label": "ملاحظة",
            "fields.secondary.1.value": "x",
        }
    )
    keys = [f["key"] for f in design["fields"]["secondary"]]
    assert keys == ["next_reward_2", "secondary_2"]


def test_beacons_come_from_their_rows() -> None:
    design, problems = designform.design_from_form(
        {
            "beacons.0.proximity_uuid": "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0",
            "beacons.0.major": "1",
            "beacons.0.minor": "seven",
            "beacons.0.relevant_text": "Welcome in",
            "beacons.1.proximity_uuid": "",
        }
    )
    assert design["beacons"] == [
        {
            "proximity_uuid": "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0",
            "major": 1,
            "minor": "seven",
            "relevant_text": "Welcome in",
        }
    ]
    assert [p.path for p in problems] == ["/beacons/0/minor"]


def test_json_nested_past_the_limit_is_a_problem_not_a_crash() -> None:
    _, problems = designform.design_from_form({"semantics": "[" * 200_000})
    assert [p.path for p in problems] == ["/semantics"]
    assert "deeper" in problems[0].message
