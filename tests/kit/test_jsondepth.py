"""The JSON nesting pre-scan: it counts what json would recurse into, nothing else."""

from __future__ import annotations

import json

import pytest

from passmint.kit.jsondepth import TooDeep, exceeds, loads


def depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@pytest.mark.parametrize(
    "value",
    [
        {},
        [[], [[]], {"a": [{"b": []}]}],
        {"text": "[[[[{{{{", "quote": 'say "[[[" \\ ]]', "a": [[["x"]]]},
        [{"é": "ünïcode [ {"}, [[[1, 2.5, None, True]]]],
        [[[], [], [[[]]]], [[[[]]]]],
    ],
)
def test_depth_is_what_json_nests(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)
    actual = depth(value)
    for data in (text, text.encode()):
        assert not exceeds(data, actual)
        assert exceeds(data, actual - 1) == (actual > 0)


def test_deep_texts_are_refused_before_parsing() -> None:
    assert exceeds(b"[" * 100_000, 32)  # unclosed: json would recurse all the same
    assert exceeds(b"[{}," * 10 + b'{"a":' * 40, 32)
    with pytest.raises(TooDeep, match="32 levels"):
        loads(b"[" * 5000 + b"]" * 5000)
    assert loads(b"[" * 32 + b"]" * 32, 32) is not None
    with pytest.raises(ValueError, match="Expecting"):
        loads(b"[1,")
    with pytest.raises(TypeError):
        loads(5)  # type: ignore[arg-type]
