"""What a design's placeholders need (usage) and the near-miss suggestions behind it."""

from __future__ import annotations

from typing import Any

import pytest

from passmint.wallet.designs import placeholders
from passmint.wallet.designs.schemas import TemplateDesign, parse_design
from passmint.wallet.designs.usage import (
    DataWarning,
    DesignWarning,
    Provider,
    Source,
    check_data,
    check_design,
    data_names,
    uses,
)

MESSAGES = frozenset({"message", "message_header"})
PROGRAM = Provider(
    "program 'Stamps'",
    frozenset({"points", "stamps", "tier", "next_tier", "points_to_next_tier", "name"}),
)


def design(**changes: Any) -> TemplateDesign:
    raw: dict[str, Any] = {
        "organization_name": "Café Lumen",
        "description": "Card of {{ name }}",
        "images": {"icon": "icon"},
        "fields": {
            "header": [{"key": "tier", "label": "TIER", "value": '{{ tier | default: "-" }}'}],
            "primary": [{"key": "points", "label": "POINTS", "value": "{{ points }}"}],
            "back": [{"key": "n", "label": "{{ name }}", "value": "{{ name }} {{ name }}"}],
        },
        "barcode": {"format": "qr", "message": "{{ serial_number }}"},
    }
    return parse_design(raw | changes)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("serial", "serial_number"),
        ("SERIAL", "serial_number"),
        ("serialNumber", "serial_number"),
        ("Serial_Number", "serial_number"),
        ("serial_numbr", "serial_number"),
        ("serial_num", "serial_number"),
        ("passId", "pass_id"),
        ("customer.serial", "serial_number"),
        ("serial_number", None),  # itself
        ("number", None),  # not the first word
        ("id", None),
        ("tier", None),
        ("points", None),
        ("sn", None),
    ],
)
def test_suggest_finds_near_misses_of_the_built_ins(name: str, expected: str | None) -> None:
    assert placeholders.suggest(name, placeholders.BUILTIN_NAMES) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("stamp", "stamps"),
        ("teir", "tier"),
        ("pionts", "points"),
        ("next", "next_tier"),
        ("customer.name", "name"),
        ("customer.first_name", None),
        ("balance", None),
    ],
)
def test_suggest_among_a_programs_fields(name: str, expected: str | None) -> None:
    assert placeholders.suggest(name, PROGRAM.names) == expected


def test_value_state_tells_absent_null_and_unusable_values() -> None:
    data = {"a": 1, "b": None, "c": {"d": "x"}, "e": [1], "f": float("inf"), "g": ""}
    assert placeholders.value_state(data, "a") == "plain"
    assert placeholders.value_state(data, "g") == "plain"
    assert placeholders.value_state(data, "c.d") == "plain"
    assert placeholders.value_state(data, "b") == "null"
    assert placeholders.value_state(data, "z") == "absent"
    assert placeholders.value_state(data, "c.z") == "absent"
    assert placeholders.value_state(data, "a.b") == "absent"
    for name in ("c", "e", "f"):
        assert placeholders.value_state(data, name) == "unusable"


def test_uses_lists_names_with_paths_and_defaults() -> None:
    found = {use.name: use for use in uses(design())}
    assert list(found) == ["name", "tier", "points", "serial_number"]
    assert found["name"].paths == ("description", "fields.back[0].label", "fields.back[0].value")
    assert found["tier"].paths == ("fields.header[0].value",)
    assert found["tier"].required_paths == ()
    assert not found["tier"].required
    assert found["points"].required


def test_check_design_without_providers_warns_only_about_near_misses() -> None:
    found, warnings = check_design(
        design(barcode={"format": "qr", "message": "{{ serial }}", "alt_text": "{{ mesage }}"}),
        later=MESSAGES,
    )
    assert {p.name: p.source for p in found} == {
        "name": Source.DATA,
        "tier": Source.DATA,
        "points": Source.DATA,
        "serial": Source.DATA,
        "mesage": Source.DATA,
    }
    assert [(w.placeholder, w.paths, w.suggestion) for w in warnings] == [
        ("serial", ("barcode.message",), "serial_number"),
        ("mesage", ("barcode.alt_text",), "message"),
    ]
    assert all(isinstance(w, DesignWarning) and w.code == "placeholder_unknown" for w in warnings)
    _, clean = check_design(design(), later=MESSAGES)
    assert clean == []


def test_check_design_with_providers_warns_about_every_name_they_lack() -> None:
    other = Provider("program 'Points'", PROGRAM.names - {"stamps"})
    found, warnings = check_design(
        design(description="{{ stamps }} {{ message }} {{ pass_id }}"),
        later=MESSAGES,
        providers=[PROGRAM, other],
    )
    sources = {p.name: p.source for p in found}
    assert sources == {
        "stamps": Source.DATA,  # one program lacks it
        "message": Source.MESSAGE,
        "pass_id": Source.BUILT_IN,
        "tier": Source.PROGRAM,
        "points": Source.PROGRAM,
        "name": Source.PROGRAM,
        "serial_number": Source.BUILT_IN,
    }
    assert [(w.placeholder, w.message) for w in warnings] == [
        (
            "stamps",
            "program 'Points' does not provide {{ stamps }}: it renders empty on the passes "
            "it writes",
        )
    ]

    _, defaulted = check_design(
        design(description='{{ level | default: "Member" }}'), providers=[PROGRAM]
    )
    assert [w.message for w in defaulted] == [
        "program 'Stamps' does not provide {{ level }}: it always renders its default on "
        "the passes it writes"
    ]


def test_check_data_reports_missing_and_unusable_values() -> None:
    subject = design(
        description="{{ customer.first_name }} {{ message }}",
        fields={"primary": [{"key": "p", "label": "P", "value": "{{ points }} {{ extra }}"}]},
    )
    data: dict[str, Any] = {
        "Points": 1,
        "extra": ["x"],
        "customer": {"firstname": "Ada"},
        "serial_number": "S",
    }
    warnings = check_data(subject, data, later=MESSAGES)
    assert all(isinstance(w, DataWarning) for w in warnings)
    assert [(w.code, w.placeholder, w.paths, w.suggestion) for w in warnings] == [
        ("placeholder_missing", "customer.first_name", ("description",), "customer.firstname"),
        ("placeholder_missing", "points", ("fields.primary[0].value",), "Points"),
        ("placeholder_unusable_value", "extra", ("fields.primary[0].value",), None),
    ]
    assert warnings[2].message == (
        "data 'extra' is a list; only text, numbers, booleans and dates fill a placeholder, "
        "so {{ extra }} renders empty"
    )
    complete = {"points": 1, "extra": 0, "customer": {"first_name": None}, "serial_number": "S"}
    assert check_data(subject, complete, later=MESSAGES) == []


def test_data_names_walk_nested_mappings() -> None:
    names = list(data_names({"a": 1, "b": {"c": {"d": 2}, "e": [{"f": 3}]}}))
    assert names == ["a", "b", "b.c", "b.e", "b.c.d"]
