"""Code patterns, generation and normalization (pure: no database)."""

from __future__ import annotations

import random
import re
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passmint.coupons.codes import (
    DEFAULT_CHARSET,
    NORMALIZE,
    PatternError,
    generate,
    normalize,
    parse_spec,
)


def seeded(seed: int) -> random.Random:
    return random.Random(seed)


def test_normalize_folds_case_separators_and_ambiguous_characters() -> None:
    assert normalize(" spring-7kq3 xh9d ") == "SPR1NG7KQ3XH9D"
    assert normalize("SPRING_7KQ3.XH9D") == "SPR1NG7KQ3XH9D"
    assert normalize("O0o") == "000"
    assert normalize("IiLl1") == "11111"
    for bad in ("", "   ", "---", "café", "A" * 65, "A;DROP", "x" * 500, "ÉTÉ"):
        assert normalize(bad) is None, bad


def test_default_charset_has_no_ambiguous_characters() -> None:
    assert not set("0O1IL") & set(DEFAULT_CHARSET)
    assert DEFAULT_CHARSET.translate(NORMALIZE) == DEFAULT_CHARSET


def test_pattern_with_prefix() -> None:
    spec = parse_spec(prefix="SPRING-", pattern="####-####", charset=None, length=None)
    assert spec.slots == 8
    assert spec.space == 31**8
    shown, normal = generate(spec, 200, secrets.token_bytes)
    assert len(shown) == len(normal) == 200
    for display, folded in zip(shown, normal, strict=True):
        assert re.fullmatch(r"SPRING-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", display), display
        assert normalize(display) == folded


def test_length_and_charset_representatives() -> None:
    spec = parse_spec(prefix=None, pattern=None, charset="abcO0", length=6)
    assert spec.pattern == "######"
    assert spec.charset == "abcO"  # 0 folds into O's class: one representative
    shown, normal = generate(spec, 50, secrets.token_bytes)
    assert all(set(s) <= set("abcO") and len(s) == 6 for s in shown)
    assert all(set(n) <= set("ABC0") for n in normal)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prefix": "SP RING"}, "prefix"),
        ({"prefix": "P" * 33}, "prefix"),
        ({"pattern": "####", "length": 4}, "length"),
        ({"length": 0}, "length"),
        ({"length": 65}, "length"),
        ({"pattern": "ABC-DEF"}, "pattern"),
        ({"pattern": "##?##"}, "pattern"),
        ({"pattern": "#" * 65}, "pattern"),
        ({"prefix": "P" * 30, "pattern": "#" * 40}, "pattern"),
        ({"charset": "AB-C"}, "charset"),
        ({"charset": "0Oo"}, "charset"),
        ({"charset": "é1"}, "charset"),
    ],
)
def test_unusable_specs_name_their_field(kwargs: dict[str, object], field: str) -> None:
    settings: dict[str, object] = {"prefix": None, "pattern": None, "charset": None, "length": None}
    settings.update(kwargs)
    with pytest.raises(PatternError) as caught:
        parse_spec(**settings)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_generation_is_uniform_and_uses_the_injected_randomness() -> None:
    spec = parse_spec(prefix=None, pattern=None, charset="ABCDEFG", length=4)
    first = generate(spec, 100, seeded(7).randbytes)
    assert first == generate(spec, 100, seeded(7).randbytes)
    shown, _ = generate(spec, 7000, seeded(1).randbytes)
    counts = dict.fromkeys("ABCDEFG", 0)
    for code in shown:
        for char in code:
            counts[char] += 1
    # 28,000 draws over 7 characters: each near 4,000 (rejection sampling, no modulo bias)
    assert all(3700 < n < 4300 for n in counts.values()), counts


def test_a_million_codes_are_cheap_to_draw() -> None:
    spec = parse_spec(prefix=None, pattern=None, charset=None, length=None)
    shown, normal = generate(spec, 200_000, secrets.token_bytes)
    assert len(set(normal)) == 200_000  # 31^10: a collision among 200,000 is ~2e-5 likely
    assert shown == normal  # the default charset is already normalized


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzOIL0123456789 -_.", max_size=80))
def test_normalize_is_idempotent(text: str) -> None:
    folded = normalize(text)
    if folded is not None:
        assert normalize(folded) == folded
        assert not set("OIL") & set(folded)
