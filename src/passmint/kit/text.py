"""The text the service accepts: one validated string type for bodies, paths and query strings.

PostgreSQL cannot store U+0000 (a text column refuses it, JSONB refuses its ``\\u0000``
escape) and no field of this API has a use for control characters: a client that sends one
gets a 400 ``invalid_text`` naming the field, never a 500 from the database. The rules:

- :data:`Line`: NUL, every other C0 control (tab and newline included), DEL and the C1
  controls (U+0080-U+009F) are refused, and so are lone surrogates (a JSON ``"\\ud800"``
  escape that is not half of a pair: it is no character and cannot be encoded).
- :data:`Multiline`: free text (a message, a back-field value, a translation) may also hold
  ``\\n`` and ``\\t``.
- :data:`PemText`: key and certificate blocks may also hold ``\\r`` (files saved on Windows).

Each is a strict ``str`` (no coercion) whose schema ``pattern`` states the rule: Pydantic
checks it in Rust with the field's other constraints, and the OpenAPI document shows it.
A lone surrogate fails before any pattern (Pydantic's ``string_unicode``); the error
handler answers both as ``invalid_text``. Give the length where the type is used:
``Annotated[Line, Field(max_length=lengths.NAME)]``, inside the union for an optional
field (``Annotated[...] | None``). A field's own ``pattern`` replaces the rule, so it must
refuse control characters itself (``tests/kit/test_text.py`` checks the API's patterns).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Final

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, PydanticCustomError

INVALID_TEXT: Final = "invalid_text"
"""The code (and the Pydantic error type) of text holding a character it may not hold."""

# C0 controls, DEL, C1 controls and the surrogate block; ``allowed`` takes some back out.
_CONTROLS: Final = "\\x00-\\x1f\\x7f-\\x9f"
_SURROGATES: Final = "\\ud800-\\udfff"


def _refused(allowed: str) -> re.Pattern[str]:
    kept = "".join(re.escape(c) for c in allowed)
    if not kept:
        return re.compile(f"[{_CONTROLS}{_SURROGATES}]")
    return re.compile(f"(?![{kept}])[{_CONTROLS}{_SURROGATES}]")


def _json_schema_pattern(allowed: str) -> str:
    """The same rule as an ECMA-262 pattern for the OpenAPI document (surrogates left out:
    JSON Schema patterns cannot name them)."""
    groups: list[list[int]] = []
    for code in (*range(0x20), *range(0x7F, 0xA0)):
        if chr(code) in allowed:
            continue
        if groups and groups[-1][-1] == code - 1:
            groups[-1].append(code)
        else:
            groups.append([code])
    return "^[^" + "".join(_ecma_range(g[0], g[-1]) for g in groups) + "]*$"


def _ecma_range(start: int, end: int) -> str:
    return f"\\u{start:04x}" if start == end else f"\\u{start:04x}-\\u{end:04x}"


class TextRule:
    """Annotated metadata that refuses the characters a kind of text may not hold."""

    def __init__(self, name: str, allowed: str = "") -> None:
        self.name = name
        self.allowed = allowed
        self._refused = _refused(allowed)
        self.pattern = _json_schema_pattern(allowed)

    def __repr__(self) -> str:
        return f"TextRule({self.name!r})"

    def problem(self, value: str) -> tuple[int, str] | None:
        """(position, description) of the first character refused in ``value``, or None."""
        found = self._refused.search(value)
        if found is None:
            return None
        return found.start(), describe(found.group())

    def check(self, value: str) -> str:
        """``value``, or a Pydantic ``invalid_text`` error (for validators of their own)."""
        problem = self.problem(value)
        if problem is not None:
            raise PydanticCustomError(INVALID_TEXT, self.message(value), {"kind": self.name})
        return value

    def message(self, value: str) -> str:
        """Why ``value`` is refused (for a value :meth:`problem` finds a problem in)."""
        problem = self.problem(value)
        if problem is None:
            return f"not allowed in {self.name}"
        position, character = problem
        return f"{character} at position {position} is not allowed in {self.name}"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        # The rule is the string schema's pattern, checked in Rust like a length: the field's
        # other constraints join the same schema (and a field's own ``pattern``, stricter,
        # replaces it). The error handler turns its pattern error into ``invalid_text``.
        schema = handler(source)
        if schema.get("type") != "str":
            raise TypeError(f"{self!r} applies to str, not {source!r}")
        return {**schema, "strict": True, "pattern": self.pattern}


def describe(character: str) -> str:
    """``U+0000 (NULL)``: how an error message names a refused character."""
    code = ord(character)
    if 0xD800 <= code <= 0xDFFF:
        return f"U+{code:04X} (a lone surrogate)"
    name = unicodedata.name(character, "") or _CONTROL_NAMES.get(code, "a control character")
    return f"U+{code:04X} ({name})"


_CONTROL_NAMES: Final = {0x00: "NULL", 0x09: "TAB", 0x0A: "LINE FEED", 0x0D: "CARRIAGE RETURN"}

LINE: Final = TextRule("a line of text")
MULTILINE: Final = TextRule("text", allowed="\n\t")
PEM: Final = TextRule("a PEM block", allowed="\n\r\t")

Line = Annotated[str, LINE]
"""One line of text: no control characters (not even tab or newline), no lone surrogates."""

Multiline = Annotated[str, MULTILINE]
"""Free text: like :data:`Line`, but newlines and tabs are kept."""

PemText = Annotated[str, PEM]
"""A PEM (or base64) block: like :data:`Multiline`, and ``\\r`` too."""


RULES: Final = {rule.pattern: rule for rule in (LINE, MULTILINE, PEM)}
"""The rules by the pattern their schemas carry (to explain a pattern error)."""
