"""Localization: Apple ``.strings`` files and the ``xx.lproj`` folders of a bundle.

Pure: bytes in, values out. Spec: `apple-wallet.md` §2 "Localization" and check 17.

The ``.strings`` grammar accepted here is the subset of Apple's old-style property-list
"strings" format that pass tools write::

    /* block comment */  // line comment
    "key" = "value";
    unquoted.key-1 = unquoted_value;
    "shorthand";          // value equals the key, as Apple's parser allows

Quoted strings take the escapes ``\\" \\' \\\\ \\n \\t \\r`` and ``\\UXXXX``/``\\uXXXX``
(four hex digits; a UTF-16 surrogate pair may be written as two such escapes). Anything
else, duplicate keys included, is refused: an ambiguous translation file is a bug
to show the author, not something to guess about.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from passmint.errors import PassmintError
from passmint.wallet.apple.images import ImageError, png_size
from passmint.wallet.apple.problems import Problem, Severity
from passmint.wallet.apple.styles import PassStyle

__all__ = [
    "StringsError",
    "canonical_lproj_name",
    "check_localizations",
    "dump_strings",
    "localize_bundle_files",
    "parse_strings",
    "strings_tables",
]


class StringsError(PassmintError):
    """A ``pass.strings`` file (or a language folder name) is malformed.

    ``path``, ``line`` and ``column`` (1-based, columns in characters) locate the error;
    line and column are None when the problem is not inside the text.
    """

    code: ClassVar[str] = "invalid_strings"
    status: ClassVar[int] = 422

    def __init__(
        self, reason: str, *, path: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.reason = reason
        where = f"{path}, line {line}, column {column}" if line is not None else path
        super().__init__(
            f"{where}: {reason}",
            details={"path": path, "line": line, "column": column, "reason": reason},
        )


# --- decoding -----------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _decode(data: bytes, path: str) -> str:
    """UTF-16 with a BOM (LE or BE), else UTF-8 with or without a BOM."""
    encoding, body = "utf-8", data
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, body = name, data[len(bom) :]
            break
    else:
        if b"\x00" in data:
            # Apple recommends UTF-16; without a BOM its byte order is a guess we refuse.
            raise StringsError(
                "contains NUL bytes: UTF-16 without a byte-order mark? "
                "Save it as UTF-8 or as UTF-16 with a BOM",
                path=path,
            )
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        prefix = body[: exc.start].decode(encoding, errors="replace")
        line, column = _line_col(prefix, len(prefix))
        raise StringsError(
            f"invalid {encoding.upper()} ({exc.reason})", path=path, line=line, column=column
        ) from exc


# --- parsing ------------------------------------------------------------------------------

# Whitespace and complete comments; an unterminated /* is left for the caller to report.
_SKIP = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)
_UNQUOTED = re.compile(r"[A-Za-z0-9_.\-]+")
_PLAIN = re.compile(r'[^"\\]+')
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_SIMPLE_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.pos = 0

    def fail(self, reason: str, pos: int | None = None) -> StringsError:
        line, column = _line_col(self.text, self.pos if pos is None else pos)
        return StringsError(reason, path=self.path, line=line, column=column)

    def skip(self) -> None:
        match = _SKIP.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos
        if self.text.startswith("/*", self.pos):
            raise self.fail("unterminated /* comment")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def string(self, what: str) -> str:
        if self.peek() == '"':
            return self.quoted()
        match = _UNQUOTED.match(self.text, self.pos)
        if match is None:
            found = repr(self.peek()) if self.peek() else "end of file"
            raise self.fail(f'expected {what} (a "quoted" or unquoted string), found {found}')
        self.pos = match.end()
        return match.group()

    def quoted(self) -> str:
        start = self.pos
        self.pos += 1
        parts: list[str] = []
        while True:
            match = _PLAIN.match(self.text, self.pos)
            if match:
                parts.append(match.group())
                self.pos = match.end()
            char = self.peek()
            if char == '"':
                self.pos += 1
                return "".join(parts)
            if not char:
                raise self.fail("unterminated string (opened here)", start)
            parts.append(self.escape())

    def escape(self) -> str:
        start = self.pos
        self.pos += 1  # the backslash
        char = self.peek()
        if char in _SIMPLE_ESCAPES and char:
            self.pos += 1
            return _SIMPLE_ESCAPES[char]
        if char in ("u", "U"):
            unit = self.hex4(start)
            if 0xDC00 <= unit <= 0xDFFF:
                raise self.fail(f"lone low surrogate \\U{unit:04X}", start)
            if 0xD800 <= unit <= 0xDBFF:
                # A character outside the BMP written as a UTF-16 surrogate pair.
                low_start = self.pos
                if self.text[self.pos : self.pos + 2] not in ("\\u", "\\U"):
                    raise self.fail(f"high surrogate \\U{unit:04X} without its low half", start)
                self.pos += 1
                low = self.hex4(low_start)
                if not 0xDC00 <= low <= 0xDFFF:
                    raise self.fail(f"high surrogate \\U{unit:04X} without its low half", start)
                return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
            return chr(unit)
        what = f"unknown escape \\{char}" if char else "a backslash at the end of the file"
        raise self.fail(f"{what}; use \\\" \\' \\\\ \\n \\t \\r or \\UXXXX", start)

    def hex4(self, start: int) -> int:
        self.pos += 1  # the u or U
        match = _HEX4.match(self.text, self.pos)
        if match is None:
            raise self.fail("\\U must be followed by exactly four hex digits", start)
        self.pos = match.end()
        return int(match.group(), 16)

    def parse(self) -> dict[str, str]:
        pairs: dict[str, str] = {}
        self.skip()
        while self.pos < len(self.text):
            key_pos = self.pos
            key = self.string("a key")
            self.skip()
            has_value = self.peek() == "="
            if has_value:
                self.pos += 1
                self.skip()
                value = self.string("a value")
                self.skip()
            else:
                value = key  # Apple's `"key";` shorthand
            if self.peek() != ";":
                found = repr(self.peek()) if self.peek() else "end of file"
                expected = "';'" if has_value else "'=' or ';'"
                raise self.fail(f"expected {expected} after {key!r}, found {found}")
            self.pos += 1
            if key in pairs:
                raise self.fail(f"duplicate key {key!r}", key_pos)
            pairs[key] = value
            self.skip()
        return pairs


def parse_strings(data: bytes, *, path: str = "pass.strings") -> dict[str, str]:
    """Parse an Apple ``.strings`` file into {key: value}, in file order.

    Accepts UTF-16 with a BOM (little or big endian) and UTF-8 with or without a BOM.
    Raises StringsError naming ``path``, the line and the column.
    """
    return _Parser(_decode(data, path), path).parse()


def strings_tables(files: Mapping[str, bytes]) -> dict[str, dict[str, str]]:
    """The parsed ``xx.lproj/pass.strings`` of a bundle's files, by path, in path order.

    A file that does not parse is left out: :func:`check_localizations` reports it.
    """
    tables: dict[str, dict[str, str]] = {}
    for path in sorted(files):
        folder, _, name = path.partition("/")
        if folder.endswith(".lproj") and name == "pass.strings":
            try:
                tables[path] = parse_strings(files[path], path=path)
            except StringsError:
                continue
    return tables


# --- writing ------------------------------------------------------------------------------

_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f\ud800-\udfff]')
_WRITE_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _WRITE_ESCAPES:
        return _WRITE_ESCAPES[char]
    if 0xD800 <= ord(char) <= 0xDFFF:
        raise StringsError(
            f"lone surrogate U+{ord(char):04X} cannot be encoded", path="pass.strings"
        )
    # Other control characters would be invisible (or break lines) in the file.
    return f"\\U{ord(char):04X}"


def _quote(value: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, value) + '"'


def dump_strings(pairs: Mapping[str, str]) -> bytes:
    """Serialise ``pairs`` as a ``.strings`` file, one ``"key" = "value";`` per line.

    Keys keep the mapping's order, so equal input gives equal bytes. The encoding is UTF-8
    without a BOM: Apple's guide recommends UTF-16, but Wallet reads pass.strings with
    Core Foundation's property-list parser, which detects UTF-8 (passkit-generator has
    shipped UTF-8 files for years), and UTF-8 is half the size for Latin text and
    readable in diffs. Quotes, backslashes and control characters are escaped, so
    ``parse_strings(dump_strings(x)) == x``.
    """
    return "".join(f"{_quote(k)} = {_quote(v)};\n" for k, v in pairs.items()).encode()


# --- language folders ---------------------------------------------------------------------

_TAG = re.compile(
    r"^(?P<language>[A-Za-z]{2,3})"
    r"(?:[-_](?P<script>[A-Za-z]{4}))?"
    r"(?:[-_](?P<region>[A-Za-z]{2}|[0-9]{3}))?$"
)


def canonical_lproj_name(tag: str) -> str | None:
    """The canonical casing of a language tag (``zh-hans`` → ``zh-Hans``), or None if invalid.

    The separator is kept: Apple's own bundles use both ``pt-BR`` and ``pt_BR`` and
    Foundation resolves either to the same locale, so an underscore is accepted as is.
    """
    match = _TAG.match(tag)
    if match is None:
        return None
    out = match["language"].lower()
    rest = tag[len(match["language"]) :]
    if match["script"]:
        out += rest[0] + match["script"].title()
        rest = rest[5:]
    if match["region"]:
        out += rest[0] + match["region"].upper()
    return out


def _locale_identity(tag: str) -> str:
    return tag.lower().replace("_", "-")


def localize_bundle_files(strings_by_lang: Mapping[str, Mapping[str, str]]) -> dict[str, bytes]:
    """``{"fr": {...}}`` → ``{"fr.lproj/pass.strings": bytes}`` (see :func:`dump_strings`).

    Raises StringsError for a language that is not a valid tag or names a locale twice.
    """
    files: dict[str, bytes] = {}
    seen: dict[str, str] = {}
    for lang, pairs in strings_by_lang.items():
        folder = f"{lang}.lproj"
        if canonical_lproj_name(lang) is None:
            raise StringsError(
                f"{lang!r} is not a language tag like fr, pt-BR, zh-Hans or es-419", path=folder
            )
        identity = _locale_identity(lang)
        if identity in seen:
            raise StringsError(f"{lang!r} is the same locale as {seen[identity]!r}", path=folder)
        seen[identity] = lang
        files[f"{folder}/pass.strings"] = dump_strings(pairs)
    return files


# --- pass.json strings --------------------------------------------------------------------

_TOP_LEVEL_TEXT = ("organizationName", "description", "logoText", "eventLogoText")
_FIELD_TEXT = ("label", "value", "attributedValue", "changeMessage")
_STYLE_DICTS = (*(s.value for s in PassStyle), "posterGeneric")


def _localizable_strings(pass_json: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(JSON path, value) of every string Wallet looks up in pass.strings."""
    for key in _TOP_LEVEL_TEXT:
        if isinstance(pass_json.get(key), str):
            yield f"$.{key}", pass_json[key]
    for style in _STYLE_DICTS:
        body = pass_json.get(style)
        if not isinstance(body, Mapping):
            continue
        for group, fields in body.items():
            # headerFields, primaryFields, ... additionalInfoFields, footerFields
            if not (group.endswith("Fields") and isinstance(fields, list)):
                continue
            for index, field in enumerate(fields):
                if not isinstance(field, Mapping):
                    continue
                for key in _FIELD_TEXT:
                    if isinstance(field.get(key), str):
                        yield f"$.{style}.{group}[{index}].{key}", field[key]
    for array in ("locations", "beacons"):
        items = pass_json.get(array)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, Mapping) and isinstance(item.get("relevantText"), str):
                    yield f"$.{array}[{index}].relevantText", item["relevantText"]
    barcode = pass_json.get("barcode")
    if isinstance(barcode, Mapping) and isinstance(barcode.get("altText"), str):
        yield "$.barcode.altText", barcode["altText"]
    barcodes = pass_json.get("barcodes")
    if isinstance(barcodes, list):
        for index, item in enumerate(barcodes):
            if isinstance(item, Mapping) and isinstance(item.get("altText"), str):
                yield f"$.barcodes[{index}].altText", item["altText"]


# A value such as "label.points" or "welcome_message": letters first, dot- or
# underscore-separated words, no spaces. Such values are almost always forgotten keys.
_LOOKS_LIKE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)+$")


# --- check 17 -----------------------------------------------------------------------------


def _list(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _check_folder_names(folders: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for folder in folders:
        tag = folder.removesuffix(".lproj")
        canonical = canonical_lproj_name(tag)
        if canonical is None:
            problems.append(
                Problem(
                    folder,
                    "lproj_invalid_name",
                    f"{folder}: {tag!r} is not a language tag (language of 2-3 letters, "
                    "optional Script, optional REGION or 3-digit area: fr, pt-BR, zh-Hans, "
                    "es-419); Wallet will never use this folder",
                )
            )
            continue
        if canonical != tag:
            problems.append(
                Problem(
                    folder,
                    "lproj_noncanonical_name",
                    f"{folder}: write the tag as {canonical!r}",
                    Severity.WARNING,
                )
            )
        identity = _locale_identity(tag)
        if identity in seen:
            problems.append(
                Problem(
                    folder,
                    "lproj_duplicate_locale",
                    f"{folder} is the same locale as {seen[identity]}; which one Wallet "
                    "uses is undefined",
                    Severity.WARNING,
                )
            )
        else:
            seen[identity] = folder
    return problems


def _check_images(folders: list[str], files: Mapping[str, bytes]) -> list[Problem]:
    """Same localized image names everywhere (warning) and the same pixel sizes (error)."""
    sizes: dict[str, dict[str, tuple[int, int]]] = {}
    for path, data in files.items():
        folder, _, name = path.partition("/")
        if folder in folders and name.lower().endswith(".png") and "/" not in name:
            try:
                sizes.setdefault(name, {})[folder] = png_size(data, path=path)
            except ImageError:
                continue  # check_images reports unreadable images
    problems: list[Problem] = []
    for name, by_folder in sorted(sizes.items()):
        holders = sorted(by_folder)
        for folder in folders:
            if folder not in by_folder:
                problems.append(
                    Problem(
                        f"{folder}/{name}",
                        "lproj_image_missing",
                        f"{folder} has no {name} although {', '.join(holders)} do; this "
                        "language falls back to the top-level image, if any",
                        Severity.WARNING,
                    )
                )
        counts = Counter(by_folder[f] for f in holders)
        if len(counts) > 1:
            # The most common size is taken as intended; a tie goes to the first folder
            # (max keeps the first of equal keys, and the order is first appearance).
            in_order = list(dict.fromkeys(by_folder[f] for f in holders))
            reference = max(in_order, key=counts.__getitem__)
            for folder in holders:
                width, height = by_folder[folder]
                if (width, height) != reference:
                    problems.append(
                        Problem(
                            f"{folder}/{name}",
                            "lproj_image_size_mismatch",
                            f"{folder}/{name} is {width}×{height} px but "
                            f"{reference[0]}×{reference[1]} px in the other folders; "
                            "localized images must share one resolution",
                        )
                    )
    return problems


def check_localizations(
    files: Mapping[str, bytes], pass_json: Mapping[str, Any] | None
) -> list[Problem]:
    """Check 17 over a bundle's files and its parsed pass.json (None if unreadable).

    Problem codes: ``lproj_invalid_name`` (not a language tag), ``lproj_noncanonical_name``
    and ``lproj_duplicate_locale`` (warnings), ``strings_invalid`` (does not parse; the
    message has line and column), ``strings_missing_file`` (a folder without pass.strings
    while others have keys), ``strings_missing_keys`` (keys other folders define),
    ``strings_missing_pass_json_key`` (a pass.json value used as a key is missing in this
    folder; the message gives the pass.json path), ``strings_key_not_localized`` (warning:
    a pass.json value that looks like a key but is in no pass.strings),
    ``strings_outside_lproj`` (warning: a top-level pass.strings Wallet ignores),
    ``lproj_image_missing`` (warning) and ``lproj_image_size_mismatch``.
    """
    problems: list[Problem] = []
    folders = sorted(
        {path.partition("/")[0] for path in files if path.partition("/")[0].endswith(".lproj")}
    )
    if "pass.strings" in files:
        problems.append(
            Problem(
                "pass.strings",
                "strings_outside_lproj",
                "Wallet reads pass.strings only inside an xx.lproj folder; this one is ignored",
                Severity.WARNING,
            )
        )
    problems.extend(_check_folder_names(folders))

    parsed: dict[str, dict[str, str]] = {}
    for folder in folders:
        path = f"{folder}/pass.strings"
        if path not in files:
            continue
        try:
            parsed[folder] = parse_strings(files[path], path=path)
        except StringsError as exc:
            problems.append(Problem(path, "strings_invalid", exc.message))

    all_keys: set[str] = set().union(*parsed.values()) if parsed else set()
    unreadable = {f for f in folders if f"{f}/pass.strings" in files and f not in parsed}
    if all_keys:
        for folder in folders:
            path = f"{folder}/pass.strings"
            if folder in unreadable:
                continue
            if folder not in parsed:
                problems.append(
                    Problem(
                        path,
                        "strings_missing_file",
                        f"{folder} has no pass.strings but other folders define "
                        f"{len(all_keys)} key(s)",
                    )
                )
                continue
            missing = sorted(all_keys - parsed[folder].keys())
            if missing:
                problems.append(
                    Problem(
                        path,
                        "strings_missing_keys",
                        f"{path} lacks {len(missing)} key(s) other folders define: "
                        f"{_list(missing)}",
                    )
                )

    if pass_json is not None and folders:
        for json_path, value in _localizable_strings(pass_json):
            if value in all_keys:
                for folder in folders:
                    if folder in unreadable or value in parsed.get(folder, {}):
                        continue
                    path = f"{folder}/pass.strings"
                    problems.append(
                        Problem(
                            path,
                            "strings_missing_pass_json_key",
                            f"{path} has no {value!r}, which pass.json uses at {json_path}",
                        )
                    )
            elif _LOOKS_LIKE_KEY.match(value) and not unreadable:
                problems.append(
                    Problem(
                        json_path,
                        "strings_key_not_localized",
                        f"{json_path} is {value!r}, which looks like a localization key "
                        "but is in no pass.strings; Wallet will show it verbatim",
                        Severity.WARNING,
                    )
                )

    problems.extend(_check_images(folders, files))
    return problems
