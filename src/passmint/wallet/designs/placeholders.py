"""Safe ``{{ placeholder }}`` templating for pass designs.

The whole language::

    Points: {{ points }}                      a name
    Hello {{ customer.first_name }}           a dotted path through nested mappings
    {{ points | default: "0" }}               a default for a missing or null value
    {{ points | default: 0 }}                 ... which may be a number literal

Deliberately tiny, because templates are written by tenants and rendered on the server:

* No expressions, no calls, no other filters, no attribute access. A name is looked up
  in plain mappings only (``data["customer"]["first_name"]``), so ``{{ __class__ }}`` is
  just a key that is not there.
* Values are rendered only if they are plain data: text, numbers, booleans
  (``true``/``false``), dates and times (ISO-8601), decimals and UUIDs. ``None`` renders as
  the default or ``""``. A mapping, a list or any other object counts as missing, so no
  ``repr`` of an object can leak into a pass.
* When a template is *exactly* one placeholder and the value is a number, :func:`render`
  returns the number itself (not text), so Apple's ``numberStyle``/``currencyCode`` and
  Google's numeric balances work.

Text outside ``{{ ... }}`` is literal; a lone ``{`` or ``}}`` is literal too. A ``{{`` that
does not open a valid placeholder is a :class:`PlaceholderError` with its position.
Pure: no I/O, settings or clock. Parsed templates are cached.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar, Final, Literal
from uuid import UUID

from passmint.errors import PassmintError

__all__ = [
    "BUILTIN_NAMES",
    "Part",
    "Placeholder",
    "PlaceholderError",
    "Scalar",
    "has_placeholders",
    "json_texts",
    "lookup",
    "missing",
    "names",
    "parse",
    "parts",
    "percent_encode",
    "render",
    "render_json",
    "render_text",
    "sample_data",
    "suggest",
    "value_state",
]

BUILTIN_NAMES: Final = frozenset({"serial_number", "pass_id"})
"""Names every renderer can rely on: the caller always puts them in ``data``."""

Scalar = str | int | float
"""What a template renders to."""


class PlaceholderError(PassmintError):
    """A template has a malformed ``{{ ... }}``; ``position`` is the 0-based character offset."""

    code: ClassVar[str] = "invalid_placeholder"
    status: ClassVar[int] = 422

    def __init__(self, reason: str, *, template: str, position: int) -> None:
        self.reason = reason
        self.template = template
        self.position = position
        super().__init__(
            f"{reason} at position {position}",
            details={"reason": reason, "position": position, "template": template},
        )


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``{{ name | default: ... }}``; ``start``/``end`` delimit it in the template."""

    name: str
    default: Scalar | None
    start: int
    end: int


Part = str | Placeholder
"""Literal text or a placeholder."""

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME = rf"{_IDENT}(?:\.{_IDENT})*"
_QUOTED = r""""(?:[^"\\]|\\["'\\])*"|'(?:[^'\\]|\\["'\\])*'"""
_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"
_PLACEHOLDER = re.compile(
    rf"\{{\{{\s*(?P<name>{_NAME})\s*"
    rf"(?:\|\s*(?P<filter>{_IDENT})\s*(?::\s*(?P<arg>{_QUOTED}|{_NUMBER})\s*)?)?"
    r"\}\}",
    re.ASCII,
)
_NAME_START = re.compile(rf"\s*{_NAME}", re.ASCII)
_UNESCAPE = re.compile(r"\\(.)")
_IDENT_KEY = re.compile(_IDENT, re.ASCII)


def _diagnose(template: str, start: int) -> PlaceholderError:
    """Why the ``{{`` at ``start`` does not open a valid placeholder."""

    def error(reason: str, position: int = start) -> PlaceholderError:
        return PlaceholderError(reason, template=template, position=position)

    close = template.find("}}", start + 2)
    if close < 0:
        return error("unclosed placeholder: '{{' without a matching '}}'")
    inner = template[start + 2 : close]
    nested = inner.find("{{")
    if nested >= 0:
        return error("'{{' inside a placeholder", start + 2 + nested)
    if not inner.strip():
        return error("empty placeholder: write a name, like {{ points }}")
    name = _NAME_START.match(inner)
    offset = start + 2 + (len(inner) - len(inner.lstrip()))
    if name is None:
        return error(
            f"invalid name {inner.split()[0]!r}: use letters, digits and _ "
            "(dots for nested values, like customer.first_name)",
            offset,
        )
    rest = inner[name.end() :]
    if rest.strip().startswith("|"):
        filter_name = rest.strip()[1:].split(":", 1)[0].strip()
        if filter_name != "default":
            where = start + 2 + name.end() + rest.index("|")
            return error(f"unknown filter {filter_name!r}: only 'default' exists", where)
        return error('invalid default: write {{ name | default: "text" }} or a number')
    return error(
        'invalid placeholder: expected {{ name }} or {{ name | default: "text" }}',
        start + 2 + name.end(),
    )


def _literal(arg: str) -> Scalar:
    if arg[0] in "\"'":
        return _UNESCAPE.sub(lambda m: m.group(1), arg[1:-1])
    return float(arg) if "." in arg else int(arg)


@lru_cache(maxsize=8192)
def _parse(template: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    position = 0
    while True:
        start = template.find("{{", position)
        if start < 0:
            if position < len(template):
                parts.append(template[position:])
            return tuple(parts)
        if start > position:
            parts.append(template[position:start])
        match = _PLACEHOLDER.match(template, start)
        if match is None:
            raise _diagnose(template, start)
        arg = match["arg"]
        if match["filter"] is not None and (match["filter"] != "default" or arg is None):
            raise _diagnose(template, start)
        default = _literal(arg) if arg is not None else None
        parts.append(Placeholder(match["name"], default, start, match.end()))
        position = match.end()


def parse(template: str) -> list[Part]:
    """The template as literal text and placeholders, in order. Raises PlaceholderError."""
    return list(_parse(template))


def parts(template: str) -> tuple[Part, ...]:
    """:func:`parse`, as the parsed template itself: immutable, shared, so cheap to ask for
    again. Raises PlaceholderError."""
    return _parse(template)


def has_placeholders(template: str) -> bool:
    """Whether ``template`` holds at least one placeholder (raises on bad syntax)."""
    if "{{" not in template:
        return False  # only literal text: nothing to parse
    return any(isinstance(part, Placeholder) for part in _parse(template))


def names(template: str) -> set[str]:
    """Every name the template uses (``customer.first_name`` stays dotted)."""
    if "{{" not in template:
        return set()
    return {part.name for part in _parse(template) if isinstance(part, Placeholder)}


# -- values ---------------------------------------------------------------------------------

_MISSING: Final = object()


def lookup(data: Mapping[str, Any], name: str) -> object:
    """The value at a dotted ``name`` through nested mappings, or a private sentinel.

    Only ``Mapping`` lookups: never ``getattr``, indexing of sequences or calls.
    """
    node: object = data
    for key in name.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _scalar(value: object) -> Scalar | None:
    """Plain data as a scalar; None for null, missing and anything that is not plain data."""
    if value is None or value is _MISSING:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return str.__str__(value)  # a StrEnum or other str subclass: its plain text
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, UUID):
        return str(value)
    return None


def _is_missing(value: object) -> bool:
    """Absent, or present but not plain data (null is present: it renders as empty)."""
    return value is not None and _scalar(value) is None


def _resolve(placeholder: Placeholder, data: Mapping[str, Any]) -> Scalar:
    value = _scalar(lookup(data, placeholder.name))
    if value is not None:
        return value
    return placeholder.default if placeholder.default is not None else ""


def _text(value: Scalar) -> str:
    return value if isinstance(value, str) else str(value)


def render(template: str, data: Mapping[str, Any]) -> Scalar:
    """Fill the template from ``data``.

    A template that is exactly one placeholder whose value (or default) is a number
    returns that ``int``/``float`` unchanged; everything else renders as text. Missing
    names render as their default or ``""`` (see :func:`missing`).
    """
    parts = _parse(template)
    if len(parts) == 1 and isinstance(parts[0], Placeholder):
        return _resolve(parts[0], data)
    return render_text(template, data)


def render_text(
    template: str, data: Mapping[str, Any], *, escape: Callable[[str], str] | None = None
) -> str:
    """Fill the template as text; ``escape`` (if given) is applied to each filled-in value."""
    out: list[str] = []
    for part in _parse(template):
        if isinstance(part, str):
            out.append(part)
        else:
            value = _text(_resolve(part, data))
            out.append(escape(value) if escape is not None else value)
    return "".join(out)


ValueState = Literal["plain", "null", "absent", "unusable"]


def value_state(data: Mapping[str, Any], name: str) -> ValueState:
    """How ``data`` holds ``name``: a plain value, null (renders as the default or ``""``),
    nothing, or a value that is not plain data (a mapping, a list ...: renders as missing)."""
    value = lookup(data, name)
    if value is _MISSING:
        return "absent"
    if value is None:
        return "null"
    return "plain" if _scalar(value) is not None else "unusable"


def missing(template: str, data: Mapping[str, Any], *, include_defaulted: bool = False) -> set[str]:
    """Names the template uses that ``data`` lacks (or holds no plain value for).

    A name with a ``default`` is left out unless ``include_defaulted``: its absence was
    planned for. A null value is not missing (it renders as the default or ``""``).
    """
    return {
        part.name
        for part in _parse(template)
        if isinstance(part, Placeholder)
        and (include_defaulted or part.default is None)
        and _is_missing(lookup(data, part.name))
    }


def render_json(value: Any, data: Mapping[str, Any]) -> Any:
    """A copy of free JSON with every string rendered as text (keys are left alone)."""
    if isinstance(value, str):
        return render_text(value, data)
    if isinstance(value, list):
        return [render_json(item, data) for item in value]
    if isinstance(value, dict):
        return {key: render_json(item, data) for key, item in value.items()}
    return value


def json_texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, text) of every string in free JSON; ``path`` names ``value`` itself."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_texts(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            part = (
                f".{key}"
                if _IDENT_KEY.fullmatch(key)
                else f"[{json.dumps(key, ensure_ascii=False)}]"
            )
            yield from json_texts(item, path + part)


def _squash(name: str) -> str:
    return name.lower().replace("_", "")


def _abbreviates(name: str, candidate: str) -> bool:
    """``serial`` or ``serial_num`` for ``serial_number``: each word starts the candidate's
    word at the same place, the first one in full, and the candidate has more to it."""
    words, target = name.lower().split("_"), candidate.lower().split("_")
    return (
        len(name) >= 3
        and len(words) <= len(target)
        and words[0] == target[0]
        and all(t.startswith(w) and w for w, t in zip(words, target, strict=False))
        and name.lower() != candidate.lower()
    )


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The name of ``candidates`` that ``name`` most likely misspells, or None.

    Near misses only: the same letters in another case or without underscores
    (``serialNumber``), a small typo (``serial_numbr``, ``teir``, ``stamp``), or the first
    words of a longer name (``serial``, ``serial_num`` → ``serial_number``). A dotted name
    whose whole does not match is tried by its last part (``customer.name`` → ``name``).
    None when ``name`` is itself a candidate.
    """
    pool = sorted(set(candidates))
    if name in pool:
        return None
    squashed = _squash(name)
    for candidate in pool:
        if _squash(candidate) == squashed:
            return candidate
    if len(squashed) >= 4:  # swapped letters (teir → tier) are far apart for difflib
        for candidate in pool:
            if sorted(_squash(candidate)) == sorted(squashed):
                return candidate
    close = difflib.get_close_matches(name.lower(), pool, n=1, cutoff=0.8)
    if close:
        return close[0]
    longer = [candidate for candidate in pool if _abbreviates(name, candidate)]
    if longer:
        return min(longer, key=lambda candidate: (len(candidate), candidate))
    if "." in name:
        last = name.rsplit(".", 1)[1]
        return last if last in pool else suggest(last, pool)
    return None


_URL_SAFE: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of everything but unreserved characters.

    Used as the ``escape`` of :func:`render_text` for URLs, so a filled-in value can never
    add a path, query, fragment or scheme of its own.
    """
    return "".join(
        chr(byte) if byte in _URL_SAFE else f"%{byte:02X}"
        for byte in value.encode("utf-8", "surrogatepass")
    )


# -- sample data ----------------------------------------------------------------------------

SAMPLE_SERIAL: Final = "SAMPLE-0001"
SAMPLE_NUMBER: Final = 42
SAMPLE_DATE: Final = "2030-06-15T19:30:00+02:00"
_KIND_RANK: Final = {"text": 0, "number": 1, "date": 2}
_SAMPLES: Final[Mapping[str, Scalar]] = {"number": SAMPLE_NUMBER, "date": SAMPLE_DATE}


def _sample_text(name: str) -> str:
    words = name.rsplit(".", 1)[-1].replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "Sample"


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _merge(current, value)
        else:
            base[key] = value
    return base


def sample_data(
    uses: Iterable[tuple[str, str]], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Plausible data for every placeholder of ``uses``, (template, kind) pairs.

    ``kind`` is what a value filling the *whole* template must be: ``"number"`` (gets
    :data:`SAMPLE_NUMBER`), ``"date"`` (:data:`SAMPLE_DATE`, ISO-8601) or ``"text"``
    (the name made readable: ``customer.first_name`` → ``"First name"``). A placeholder
    inside longer text is text. Dotted names become nested mappings; ``overrides`` are
    merged on top, mapping by mapping. The built-ins are always present.
    """
    kinds: dict[str, str] = {}
    rank = _KIND_RANK
    for template, kind in uses:
        if "{{" not in template:
            continue  # literal text: no name
        parts = _parse(template)
        wanted = kind if len(parts) == 1 and isinstance(parts[0], Placeholder) else "text"
        for part in parts:
            if isinstance(part, Placeholder):
                name = part.name
                if rank[wanted] >= rank[kinds.get(name, "text")]:
                    kinds[name] = wanted
    data: dict[str, Any] = {"serial_number": SAMPLE_SERIAL, "pass_id": "pass_sample"}
    # Shorter names first: when both "customer" and "customer.name" are used, the nested
    # value wins (the mapping then renders as missing, which is true for such a design).
    for name in sorted(kinds, key=lambda n: (n.count("."), n)):
        kind = kinds[name]
        if "." not in name:
            node, last = data, name
        else:
            node = data
            *parents, last = name.split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
        if last not in node:
            node[last] = _SAMPLES[kind] if kind in _SAMPLES else _sample_text(name)
    return _merge(data, overrides) if overrides else data
