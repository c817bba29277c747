"""kit.jsonobject: the four limits of a free-form JSON object, each with its code."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ValidationError

from passmint.kit.jsonobject import (
    INVALID_VALUE,
    KEY_TOO_LONG,
    TOO_DEEP,
    TOO_LARGE,
    TOO_MANY_KEYS,
    JsonLimits,
    JsonProblem,
)
from passmint.kit.text import INVALID_TEXT

LIMITS = JsonLimits(max_keys=10, max_depth=3, max_key_length=8, max_bytes=200)


class Holder(BaseModel):
    data: Annotated[dict[str, Any], LIMITS]


def problem(value: object) -> JsonProblem:
    with pytest.raises(JsonProblem) as caught:
        LIMITS.check(value)
    return caught.value


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_within_the_limits_it_passes() -> None:
    LIMITS.check({"a": 1, "b": [1, 2.5, None, True, "x\ny"], "c": {"d": {}}})


def test_keys_are_counted_in_all_objects() -> None:
    assert problem({f"k{i}": i for i in range(11)}).code == TOO_MANY_KEYS
    spread = {"a": {f"k{i}": 0 for i in range(6)}, "b": {f"k{i}": 0 for i in range(3)}}
    found = problem(spread)
    assert (found.code, found.limit) == (TOO_MANY_KEYS, 10)


def test_depth_counts_objects_and_arrays() -> None:
    LIMITS.check(nested(3))
    assert problem(nested(4)).code == TOO_DEEP
    found = problem({"a": [[{"b": 1}]]})
    assert (found.code, found.at) == (TOO_DEEP, "a[0][0]")


def test_long_keys_and_large_objects() -> None:
    assert problem({"k" * 9: 1}).code == KEY_TOO_LONG
    assert problem({"k": "x" * 200}).code == TOO_LARGE
    assert problem({"k": "é" * 120}).code == TOO_LARGE  # bytes, not characters
    assert problem({"k": [0] * 1_000_000}).code == TOO_LARGE  # refused before walking it


def test_texts_and_numbers_inside() -> None:
    found = problem({"a": [{"b": "x\x00y"}]})
    assert (found.code, found.at) == (INVALID_TEXT, "a[0].b")
    assert problem({"a\tb": 1}).code == INVALID_TEXT  # keys are one line
    assert problem({"a": math.nan}).code == INVALID_VALUE
    assert problem({"a": math.inf}).code == INVALID_VALUE
    assert problem([1]).code == INVALID_VALUE


def test_as_a_pydantic_type_the_error_carries_its_code_place_and_limit() -> None:
    with pytest.raises(ValidationError) as caught:
        Holder.model_validate({"data": {"a": nested(4)}})
    [error] = caught.value.errors()
    assert error["type"] == TOO_DEEP
    assert error["ctx"] == {"at": "a.k.k", "problem": "nests deeper than 3 levels", "limit": 3}
    schema = Holder.model_json_schema()["properties"]["data"]
    assert schema["maxProperties"] == 10
    assert schema["x-limits"] == {
        "max_keys": 10,
        "max_depth": 3,
        "max_key_length": 8,
        "max_bytes": 200,
    }
    assert "10 keys" in LIMITS.summary
    assert json.dumps(schema)  # documented as plain JSON
