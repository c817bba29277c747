"""kit.text: which characters each kind of text refuses, and how the refusal reads."""

from __future__ import annotations

import json
import re
from typing import Annotated

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import ErrorDetails

from passmint.kit.text import LINE, MULTILINE, PEM, RULES, Line, Multiline, PemText

CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]


class Texts(BaseModel):
    line: Line = "x"
    free: Multiline = "x"
    pem: PemText = "x"
    short: Annotated[Line, Field(max_length=3)] | None = None
    keyed: Annotated[Line, Field(pattern=r"^[a-z]+$")] = "x"


def refused(field: str, value: object) -> list[ErrorDetails]:
    with pytest.raises(ValidationError) as caught:
        Texts.model_validate({field: value})
    return caught.value.errors()


@pytest.mark.parametrize("character", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_every_control_character_is_refused_where_it_makes_no_sense(character: str) -> None:
    value = f"a{character}b"
    [error] = refused("line", value)
    assert error["type"] == "string_pattern_mismatch"
    assert RULES[error["ctx"]["pattern"]] is LINE
    assert LINE.message(value).startswith(f"U+{ord(character):04X} ")
    if character in "\n\t":
        assert Texts.model_validate({"free": value, "pem": value}).free == value
    elif character == "\r":
        refused("free", value)
        assert Texts.model_validate({"pem": value}).pem == value
    else:
        refused("free", value)
        refused("pem", value)


def test_lone_surrogates_are_refused_but_pairs_are_characters() -> None:
    lone = json.loads('"a\\ud800b"')
    for field in ("line", "free", "pem", "short"):
        assert refused(field, lone)[0]["type"] == "string_unicode"
    assert LINE.problem(lone) == (1, "U+D800 (a lone surrogate)")
    pair = json.loads('"\\ud83d\\ude00"')  # one emoji
    assert Texts.model_validate({"line": pair}).line == "😀"


def test_values_are_strict_strings_and_keep_their_limits() -> None:
    assert refused("line", 5)[0]["type"] == "string_type"
    assert refused("short", "abcd")[0]["type"] == "string_too_long"
    # a field's own pattern replaces the rule: it refuses control characters itself
    assert refused("keyed", "a\x00")[0]["type"] == "string_pattern_mismatch"


@given(st.text())
def test_the_rules_agree_with_their_documented_patterns(value: str) -> None:
    for rule in (LINE, MULTILINE, PEM):
        documented = re.fullmatch(rule.pattern.replace("$", r"\Z"), value) is not None
        assert documented == (rule.problem(value) is None)


def test_the_json_schema_states_the_rule_and_the_field_s_own_pattern_wins() -> None:
    properties = Texts.model_json_schema()["properties"]
    assert properties["line"]["pattern"] == LINE.pattern
    assert properties["free"]["pattern"] == MULTILINE.pattern
    assert properties["short"]["anyOf"][0] == {
        "maxLength": 3,
        "pattern": LINE.pattern,
        "type": "string",
    }
    assert properties["keyed"]["pattern"] == "^[a-z]+$"
