from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passmint.wallet.designs import placeholders
from passmint.wallet.designs.placeholders import Placeholder, PlaceholderError


class Tier(StrEnum):
    GOLD = "Gold"


def test_parse_splits_text_and_placeholders() -> None:
    parts = placeholders.parse("Hi {{ customer.first_name }}, {{points|default: 0}} pts")
    assert parts == [
        "Hi ",
        Placeholder("customer.first_name", None, 3, 28),
        ", ",
        Placeholder("points", 0, 30, 51),
        " pts",
    ]
    assert placeholders.names("{{ a }}{{ b.c }}{{ a }}") == {"a", "b.c"}
    assert not placeholders.has_placeholders("plain { text } with }} braces")


def test_whole_placeholder_keeps_numbers() -> None:
    assert placeholders.render("{{ points }}", {"points": 120}) == 120
    assert placeholders.render("{{ balance }}", {"balance": 12.5}) == 12.5
    assert placeholders.render(" {{ points }}", {"points": 120}) == " 120"
    assert placeholders.render("{{ points }} pts", {"points": 120}) == "120 pts"
    # A bool is not a number, and a non-finite float is not plain data.
    assert placeholders.render("{{ vip }}", {"vip": True}) == "true"
    assert placeholders.render("{{ x | default: 0 }}", {"x": float("nan")}) == 0


def test_dotted_names_walk_nested_mappings() -> None:
    data = {"customer": {"first_name": "Ada", "address": {"city": "Lyon"}}}
    assert placeholders.render("{{ customer.first_name }}", data) == "Ada"
    assert placeholders.render("{{ customer.address.city }}", data) == "Lyon"
    assert placeholders.render("[{{ customer.last_name }}]", data) == "[]"
    assert placeholders.render("[{{ customer.first_name.x }}]", data) == "[]"


def test_defaults_fill_missing_and_null_values() -> None:
    template = '{{ tier | default: "Bronze" }}'
    assert placeholders.render(template, {}) == "Bronze"
    assert placeholders.render(template, {"tier": None}) == "Bronze"
    assert placeholders.render(template, {"tier": ""}) == ""
    assert placeholders.render(template, {"tier": Tier.GOLD}) == "Gold"
    assert placeholders.render("{{ points | default: 0 }}", {}) == 0
    assert placeholders.render("{{ rate | default: -1.5 }}", {}) == -1.5
    assert placeholders.render("{{ p | default: '0' }}", {}) == "0"
    assert placeholders.render(r'{{ q | default: "say \"hi\" }}" }}', {}) == 'say "hi" }}'
    assert placeholders.render("{{ name }}", {"name": None}) == ""


def test_plain_values_render_as_text() -> None:
    data: dict[str, Any] = {
        "at": datetime(2026, 5, 1, 20, 0, tzinfo=UTC),
        "day": date(2026, 5, 1),
        "amount": Decimal("12.50"),
        "id": UUID("12345678-1234-5678-1234-567812345678"),
    }
    text = "{{ at }}|{{ day }}|{{ amount }}|{{ id }}"
    assert placeholders.render(text, data) == (
        "2026-05-01T20:00:00+00:00|2026-05-01|12.50|12345678-1234-5678-1234-567812345678"
    )


def test_missing_reports_absent_names() -> None:
    template = '{{ a }} {{ b.c }} {{ d | default: "x" }} {{ e }} {{ f }}'
    data = {"b": {}, "e": None, "f": {"nested": 1}}
    assert placeholders.missing(template, data) == {"a", "b.c", "f"}
    assert placeholders.missing(template, data, include_defaulted=True) == {"a", "b.c", "d", "f"}
    assert placeholders.missing("no placeholders", {}) == set()


@pytest.mark.parametrize(
    ("template", "position", "reason"),
    [
        ("Hello {{ name", 6, "unclosed placeholder"),
        ("{{ }}", 0, "empty placeholder"),
        ("ab {{ 1abc }}", 6, "invalid name '1abc'"),
        ("a {{ x | upper }}", 7, "unknown filter 'upper'"),
        ("{{ x | default }}", 0, "invalid default"),
        ("{{ x | default: bare }}", 0, "invalid default"),
        ("{{ x y }}", 4, "invalid placeholder"),
        ("{{ a {{ b }} }}", 5, "'{{' inside a placeholder"),
        ("{{ __import__('os').system('id') }}", 13, "invalid placeholder"),
        ("{{ a[0] }}", 4, "invalid placeholder"),
    ],
)
def test_syntax_errors_carry_the_position(template: str, position: int, reason: str) -> None:
    with pytest.raises(PlaceholderError) as caught:
        placeholders.render(template, {})
    error = caught.value
    assert (error.position, error.code, error.status) == (position, "invalid_placeholder", 422)
    assert reason in error.reason
    assert error.details == {"reason": error.reason, "position": position, "template": template}
    assert f"at position {position}" in str(error)


class Exploding:
    """Any attribute access or conversion would be a bug: values are never introspected."""

    def __str__(self) -> str:
        raise AssertionError("str() called on a pass data value")

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"attribute {name} looked up")


def test_no_code_execution_or_attribute_access() -> None:
    data: dict[str, Any] = {"obj": Exploding(), "items": [1, 2], "text": "abc"}
    assert placeholders.render("[{{ __class__ }}]", data) == "[]"
    assert placeholders.missing("{{ __class__ }}", data) == {"__class__"}
    assert placeholders.render("[{{ obj }}]", data) == "[]"
    assert placeholders.render("[{{ obj.__dict__ }}]", data) == "[]"
    assert placeholders.render("[{{ items }}{{ items.__len__ }}]", data) == "[]"
    assert placeholders.render("[{{ text.upper }}]", data) == "[]"
    assert placeholders.missing("{{ obj }} {{ items }}", data) == {"obj", "items"}


def test_escape_applies_to_filled_values_only() -> None:
    template = "https://x.example/c/{{ id }}?a=1"
    rendered = placeholders.render_text(
        template, {"id": "a b/../?é#"}, escape=placeholders.percent_encode
    )
    assert rendered == "https://x.example/c/a%20b%2F..%2F%3F%C3%A9%23?a=1"


def test_json_helpers_render_strings_and_name_their_paths() -> None:
    value = {"balance": {"amount": "{{ b }}", "n": 3}, "odd key": ["{{ c }}", True]}
    assert placeholders.render_json(value, {"b": 5, "c": "x"}) == {
        "balance": {"amount": "5", "n": 3},
        "odd key": ["x", True],
    }
    assert list(placeholders.json_texts(value, "semantics")) == [
        ("semantics.balance.amount", "{{ b }}"),
        ('semantics["odd key"][0]', "{{ c }}"),
    ]


def test_sample_data_follows_the_expected_kind() -> None:
    data = placeholders.sample_data(
        [
            ("{{ points }}", "number"),
            ("{{ joined_at }}", "date"),
            ("Since {{ since }}", "date"),
            ("{{ customer.first_name }}", "text"),
            ("{{ customer }}", "text"),
        ],
        overrides={"customer": {"last_name": "Lovelace"}},
    )
    assert data["points"] == placeholders.SAMPLE_NUMBER
    assert data["joined_at"] == placeholders.SAMPLE_DATE
    assert data["since"] == "Since"
    assert data["customer"] == {"first_name": "First name", "last_name": "Lovelace"}
    assert data["serial_number"] == placeholders.SAMPLE_SERIAL
    assert set(placeholders.BUILTIN_NAMES) <= set(data)


@given(st.text().filter(lambda text: "{{" not in text))
def test_text_without_placeholders_renders_unchanged(text: str) -> None:
    assert placeholders.render(text, {}) == text
    assert placeholders.parse(text) == ([text] if text else [])


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), st.integers()))
def test_every_name_renders_its_number(data: dict[str, int]) -> None:
    for name, value in data.items():
        assert placeholders.render(f"{{{{ {name} }}}}", data) == value
        assert placeholders.render(f"<{{{{{name}}}}}>", data) == f"<{value}>"
