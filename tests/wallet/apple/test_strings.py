"""Apple .strings parsing and writing, and check 17 over lproj folders."""

from __future__ import annotations

import codecs
import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from passmint.wallet.apple.problems import Problem, Severity, errors_only
from passmint.wallet.apple.strings import (
    StringsError,
    canonical_lproj_name,
    check_localizations,
    dump_strings,
    localize_bundle_files,
    parse_strings,
    strings_tables,
)

# --- helpers ------------------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def codes(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in problems}


def strings(**pairs: str) -> bytes:
    return dump_strings(pairs)


MIXED = {
    "greeting": "Hello, world",
    "ar": "مرحبا بالعالم",
    "he": "שלום עולם",
    "zh": "你好，世界",
    "ja": "ポイント残高",
    "ko": "포인트",
    "emoji": "🎟️ 1 × ticket",
    "mixed.rtl": "Points: ١٢٣ نقطة (abc)",
}

# --- parsing ------------------------------------------------------------------------------


def test_parse_basic_pairs_in_order() -> None:
    data = b'"b" = "two";\n"a" = "one";\n'
    parsed = parse_strings(data)
    assert parsed == {"b": "two", "a": "one"}
    assert list(parsed) == ["b", "a"]


def test_parse_empty_and_comment_only_files() -> None:
    assert parse_strings(b"") == {}
    assert parse_strings(b"  /* nothing */\n// here\n") == {}


def test_parse_comments() -> None:
    data = b"""/* Header
       spanning "lines" = "no"; */
    "a" = /* inline */ "1"; // trailing "b" = "2";
    // "c" = "3";
    "d"/**/=/**/"4";
    """
    assert parse_strings(data) == {"a": "1", "d": "4"}


def test_parse_unquoted_and_shorthand() -> None:
    data = b'label.points = value_1-2.3;\n"same";\nbare;'
    assert parse_strings(data) == {"label.points": "value_1-2.3", "same": "same", "bare": "bare"}


def test_parse_escapes() -> None:
    data = rb'"k\"ey" = "q\" b\\ n\n t\t r\r s\' u\u00e9 U\U00E9 pair\UD83D\uDE00 nul\U0000";'
    assert parse_strings(data) == {
        'k"ey': "q\" b\\ n\n t\t r\r s' u\u00e9 U\u00e9 pair\U0001f600 nul\x00"
    }


def test_parse_raw_newlines_inside_values() -> None:
    assert parse_strings(b'"a" = "one\ntwo";') == {"a": "one\ntwo"}


def test_parse_comment_markers_inside_strings_are_text() -> None:
    assert parse_strings(b'"url" = "https://x.test/*y*/";') == {"url": "https://x.test/*y*/"}


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-8", b""),
    ],
)
def test_parse_encodings(encoding: str, bom: bytes) -> None:
    text = "".join(f'"{k}" = "{v}";\n' for k, v in MIXED.items())
    assert parse_strings(bom + text.encode(encoding)) == MIXED


def test_parse_utf16_errors_have_positions() -> None:
    data = codecs.BOM_UTF16_LE + '"a" = "b";\n"c'.encode("utf-16-le") + b"\x00"
    with pytest.raises(StringsError, match="UTF-16-LE") as caught:
        parse_strings(data)
    assert (caught.value.line, caught.value.column) == (2, 3)


@pytest.mark.parametrize(
    ("data", "line", "column", "reason"),
    [
        (b'"a" = "b"', 1, 10, "expected ';'"),
        (b'"a" = "b";\n"c" "d";', 2, 5, "expected '=' or ';'"),
        (b'"a" = "b";\n\n  "c" = "d', 3, 9, "unterminated string"),
        (b'"a" = "b";\n/* open', 2, 1, "unterminated /* comment"),
        (b'"a" = "\\q";', 1, 8, "unknown escape \\q"),
        (b'"a" = "\\', 1, 8, "backslash at the end"),
        (b'"a" = "\\U12";', 1, 8, "four hex digits"),
        (b'"a" = "\\uD800";', 1, 8, "without its low half"),
        (b'"a" = "\\uD800\\u0041";', 1, 8, "without its low half"),
        (b'"a" = "\\uDC00";', 1, 8, "lone low surrogate"),
        (b'"a" = "1";\n"b" = "2";\n"a" = "3";', 3, 1, "duplicate key 'a'"),
        (b'"a" = ;', 1, 7, "expected a value"),
        (b'= "x";', 1, 1, "expected a key"),
        (b'"a" = ("x");', 1, 7, "expected a value"),
        (b'"a" = "b";\n"\xc3\xa9" = "\xff";', 2, 8, "invalid UTF-8"),
        (b'"\xc3\xa9t\xc3\xa9" = "b" x', 1, 13, "expected ';'"),  # 13 characters, 15 bytes
    ],
)
def test_parse_errors_name_path_line_and_column(
    data: bytes, line: int, column: int, reason: str
) -> None:
    with pytest.raises(StringsError) as caught:
        parse_strings(data, path="fr.lproj/pass.strings")
    error = caught.value
    assert reason in error.message
    assert (error.path, error.line, error.column) == ("fr.lproj/pass.strings", line, column)
    assert error.message.startswith(f"fr.lproj/pass.strings, line {line}, column {column}: ")
    assert error.code == "invalid_strings"
    assert error.status == 422
    assert error.details["line"] == line


def test_parse_refuses_bomless_utf16() -> None:
    with pytest.raises(StringsError, match="byte-order mark"):
        parse_strings('"a" = "b";'.encode("utf-16-le"))


# --- writing ------------------------------------------------------------------------------


def test_dump_format_and_order() -> None:
    assert dump_strings({"z": "last?", "a": "first?"}) == b'"z" = "last?";\n"a" = "first?";\n'
    assert dump_strings({}) == b""


def test_dump_escapes() -> None:
    out = dump_strings({'q"k': 'a"b\\c\nd\te\rf\x01g\x7f'})
    assert out == b'"q\\"k" = "a\\"b\\\\c\\nd\\te\\rf\\U0001g\\U007F";\n'


def test_dump_is_utf8_without_bom() -> None:
    out = dump_strings(MIXED)
    assert not out.startswith(codecs.BOM_UTF8)
    assert "שלום עולם".encode() in out
    assert out.decode("utf-8")


def test_dump_is_deterministic() -> None:
    assert dump_strings(dict(MIXED)) == dump_strings(dict(MIXED))


def test_dump_refuses_lone_surrogates() -> None:
    with pytest.raises(StringsError, match="surrogate"):
        dump_strings({"a": "\ud800"})


def test_rtl_and_cjk_round_trip_through_utf8_and_utf16() -> None:
    dumped = dump_strings(MIXED)
    assert parse_strings(dumped) == MIXED
    assert list(parse_strings(dumped)) == list(MIXED)
    as_utf16 = codecs.BOM_UTF16_LE + dumped.decode().encode("utf-16-le")
    assert parse_strings(as_utf16) == MIXED


@given(st.dictionaries(st.text(), st.text(), max_size=12))
def test_parse_dump_round_trip(pairs: dict[str, str]) -> None:
    assert parse_strings(dump_strings(pairs)) == pairs


# --- language folders ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("fr", "fr"),
        ("fil", "fil"),
        ("en-GB", "en-GB"),
        ("en-gb", "en-GB"),
        ("pt_BR", "pt_BR"),
        ("zh-Hans", "zh-Hans"),
        ("zh-hant-TW", "zh-Hant-TW"),
        ("sr_Latn", "sr_Latn"),
        ("es-419", "es-419"),
        ("English", None),
        ("Base", None),
        ("e", None),
        ("fr-", None),
        ("en-GBR", None),
        ("es-41", None),
        ("zh-Hans-", None),
        ("fr/../x", None),
    ],
)
def test_canonical_lproj_name(tag: str, canonical: str | None) -> None:
    assert canonical_lproj_name(tag) == canonical


def test_localize_bundle_files() -> None:
    files = localize_bundle_files({"fr": {"a": "b"}, "zh-Hans": {"a": "中"}})
    assert list(files) == ["fr.lproj/pass.strings", "zh-Hans.lproj/pass.strings"]
    assert parse_strings(files["zh-Hans.lproj/pass.strings"]) == {"a": "中"}
    assert check_localizations(files, None) == []


def test_localize_bundle_files_refuses_bad_tags() -> None:
    with pytest.raises(StringsError, match="not a language tag") as caught:
        localize_bundle_files({"french": {}})
    assert caught.value.path == "french.lproj"
    assert caught.value.line is None
    with pytest.raises(StringsError, match="same locale"):
        localize_bundle_files({"pt-BR": {}, "pt_BR": {}})


# --- check 17 -----------------------------------------------------------------------------


def test_check_no_lproj_is_fine() -> None:
    pass_json = {"description": "label.points", "storeCard": {}}
    assert check_localizations({"pass.json": b"{}", "icon.png": png(29, 29)}, pass_json) == []


def test_check_consistent_bundle_is_clean() -> None:
    files = {
        "en.lproj/pass.strings": strings(points="Points"),
        "fr.lproj/pass.strings": strings(points="Points"),
        "fr.lproj/logo.png": png(160, 50),
        "en.lproj/logo.png": png(160, 50),
    }
    pass_json = {"storeCard": {"primaryFields": [{"key": "p", "label": "points", "value": 3}]}}
    assert check_localizations(files, pass_json) == []


def test_check_folder_names() -> None:
    files = {
        "English.lproj/pass.strings": b"",
        "en-us.lproj/pass.strings": b"",
        "pt_BR.lproj/pass.strings": b"",
        "pt-BR.lproj/pass.strings": b"",
        "zh-Hans.lproj/pass.strings": b"",
    }
    problems = check_localizations(files, None)
    assert codes(problems) == {
        ("English.lproj", "lproj_invalid_name"),
        ("en-us.lproj", "lproj_noncanonical_name"),
        ("pt_BR.lproj", "lproj_duplicate_locale"),
    }
    assert codes(errors_only(problems)) == {("English.lproj", "lproj_invalid_name")}
    assert "'en-US'" in next(p.message for p in problems if p.code == "lproj_noncanonical_name")


def test_check_unparseable_strings() -> None:
    files = {
        "en.lproj/pass.strings": strings(a="A"),
        "fr.lproj/pass.strings": b'"a" = "A";\n"b" = oops',
    }
    problems = check_localizations(files, {"description": "a"})
    assert codes(problems) == {("fr.lproj/pass.strings", "strings_invalid")}
    assert "line 2, column 11" in problems[0].message


def test_check_missing_keys_per_folder() -> None:
    files = {
        "de.lproj/pass.strings": strings(a="A", b="B", c="C"),
        "en.lproj/pass.strings": strings(a="A", b="B"),
        "fr.lproj/pass.strings": strings(a="A", d="D"),
    }
    problems = check_localizations(files, None)
    assert codes(problems) == {
        ("de.lproj/pass.strings", "strings_missing_keys"),
        ("en.lproj/pass.strings", "strings_missing_keys"),
        ("fr.lproj/pass.strings", "strings_missing_keys"),
    }
    by_path = {p.path: p.message for p in problems}
    assert "'d'" in by_path["de.lproj/pass.strings"]
    assert "'c', 'd'" in by_path["en.lproj/pass.strings"]
    assert "'b', 'c'" in by_path["fr.lproj/pass.strings"]


def test_check_folder_without_strings_file() -> None:
    files = {"en.lproj/pass.strings": strings(a="A"), "fr.lproj/logo.png": png(160, 50)}
    problems = check_localizations(files, None)
    assert ("fr.lproj/pass.strings", "strings_missing_file") in codes(problems)


def test_check_pass_json_keys_present_everywhere() -> None:
    files = {
        "en.lproj/pass.strings": strings(title="Title", org="Org", **{"field.label": "L"}),
        "fr.lproj/pass.strings": strings(title="Titre"),
    }
    pass_json: dict[str, Any] = {
        "organizationName": "org",
        "description": "title",
        "coupon": {"backFields": [{"key": "k", "label": "field.label", "value": "x"}]},
    }
    problems = check_localizations(files, pass_json)
    assert codes(problems) == {
        ("fr.lproj/pass.strings", "strings_missing_keys"),
        ("fr.lproj/pass.strings", "strings_missing_pass_json_key"),
    }
    messages = [p.message for p in problems if p.code == "strings_missing_pass_json_key"]
    assert len(messages) == 2
    assert any("$.organizationName" in m and "'org'" in m for m in messages)
    assert any("$.coupon.backFields[0].label" in m for m in messages)


@pytest.mark.parametrize(
    ("pass_json", "json_path"),
    [
        ({"description": "pass.description"}, "$.description"),
        ({"logoText": "logo_text"}, "$.logoText"),
        (
            {"eventTicket": {"primaryFields": [{"key": "a", "value": "event.name"}]}},
            "$.eventTicket.primaryFields[0].value",
        ),
        (
            {
                "storeCard": {
                    "backFields": [{"key": "a", "value": 1, "changeMessage": "msg.changed"}]
                }
            },
            "$.storeCard.backFields[0].changeMessage",
        ),
        (
            {"generic": {"auxiliaryFields": [{"key": "a", "value": 1, "attributedValue": "a.b"}]}},
            "$.generic.auxiliaryFields[0].attributedValue",
        ),
        (
            {"locations": [{"latitude": 1, "longitude": 2, "relevantText": "near.store"}]},
            "$.locations[0].relevantText",
        ),
        (
            {"beacons": [{"proximityUUID": "x", "relevantText": "near_beacon"}]},
            "$.beacons[0].relevantText",
        ),
        (
            {"barcodes": [{"format": "PKBarcodeFormatQR", "altText": "barcode.alt"}]},
            "$.barcodes[0].altText",
        ),
        ({"barcode": {"altText": "barcode.alt"}}, "$.barcode.altText"),
    ],
)
def test_check_value_that_looks_like_a_forgotten_key(
    pass_json: dict[str, Any], json_path: str
) -> None:
    files = {"en.lproj/pass.strings": strings(other="x")}
    problems = check_localizations(files, pass_json)
    assert codes(problems) == {(json_path, "strings_key_not_localized")}
    assert problems[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    "value", ["Points balance", "Café", "3.50", "label", "https://x.test/a", "a@b.test", "ends."]
)
def test_check_ordinary_values_are_not_taken_for_keys(value: str) -> None:
    files = {"en.lproj/pass.strings": strings(other="x")}
    assert check_localizations(files, {"description": value}) == []


def test_check_key_like_values_without_lproj_are_fine() -> None:
    assert check_localizations({}, {"description": "pass.description"}) == []


def test_check_localized_image_sizes_must_match() -> None:
    files = {
        "de.lproj/pass.strings": b"",
        "en.lproj/pass.strings": b"",
        "fr.lproj/pass.strings": b"",
        "de.lproj/logo.png": png(160, 50),
        "en.lproj/logo.png": png(160, 50),
        "fr.lproj/logo.png": png(150, 50),
        "fr.lproj/logo@2x.png": png(320, 100),
        "en.lproj/logo@2x.png": png(320, 100),
        "de.lproj/logo@2x.png": png(300, 100),
    }
    problems = check_localizations(files, None)
    assert codes(problems) == {
        ("fr.lproj/logo.png", "lproj_image_size_mismatch"),
        ("de.lproj/logo@2x.png", "lproj_image_size_mismatch"),
    }
    assert "160×50 px" in next(p.message for p in problems if p.path == "fr.lproj/logo.png")


def test_check_localized_image_missing_in_a_folder_is_a_warning() -> None:
    files = {
        "en.lproj/pass.strings": b"",
        "fr.lproj/pass.strings": b"",
        "en.lproj/strip.png": png(375, 123),
        "en.lproj/thumbnail.png": b"not a png",  # check_images reports it, not this check
    }
    problems = check_localizations(files, None)
    assert codes(problems) == {("fr.lproj/strip.png", "lproj_image_missing")}
    assert problems[0].severity is Severity.WARNING


def test_check_top_level_strings_file_is_ignored_by_wallet() -> None:
    problems = check_localizations({"pass.strings": strings(a="b")}, None)
    assert codes(problems) == {("pass.strings", "strings_outside_lproj")}
    assert problems[0].severity is Severity.WARNING


def test_strings_tables_parse_every_lproj_table_and_skip_broken_ones() -> None:
    files = {
        "fr.lproj/pass.strings": codecs.BOM_UTF16_LE + '"A" = "Bonjour %@";'.encode("utf-16-le"),
        "de.lproj/pass.strings": b'"A" = "Hallo %@";',
        "es.lproj/pass.strings": b'"A" = ',  # unreadable: check 17 reports it
        "pass.strings": b'"A" = "ignored";',
        "fr.lproj/logo.png": b"",
        "nested/fr.lproj/pass.strings": b'"A" = "x";',
    }
    assert strings_tables(files) == {
        "de.lproj/pass.strings": {"A": "Hallo %@"},
        "fr.lproj/pass.strings": {"A": "Bonjour %@"},
    }
