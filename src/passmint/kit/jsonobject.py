"""Free-form JSON objects with limits: a pass's ``data``, a customer's ``attributes``.

Such an object is stored whole and read back on every render, so its shape is bounded as
it comes in: how many keys it has in all (nested objects included), how deeply objects and
arrays nest, how long a key is, and how large it is as compact JSON. Its texts follow
:mod:`passmint.kit.text` (keys are one line, string values may hold newlines and tabs) and
its numbers are finite. Each limit has its code, so a client can tell which one it hit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Final

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from passmint.kit.text import INVALID_TEXT, LINE, MULTILINE

TOO_MANY_KEYS: Final = "json_too_many_keys"
TOO_DEEP: Final = "json_too_deep"
KEY_TOO_LONG: Final = "json_key_too_long"
TOO_LARGE: Final = "json_too_large"
LIMIT_CODES: Final = frozenset({TOO_MANY_KEYS, TOO_DEEP, KEY_TOO_LONG, TOO_LARGE})
"""The codes of the four limits; with ``invalid_text`` and ``invalid_json_value``, every
code :meth:`JsonLimits.check` raises."""
INVALID_VALUE: Final = "invalid_json_value"


class JsonProblem(ValueError):
    """What is wrong with a JSON object: ``code`` names the limit or rule, ``at`` is the
    dotted path inside the object (``""`` for the object itself)."""

    def __init__(self, code: str, message: str, at: str, limit: int | None = None) -> None:
        super().__init__(f"{at}: {message}" if at else message)
        self.code = code
        self.message = message
        self.at = at
        self.limit = limit


def _child(at: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{at}[{part}]"
    return f"{at}.{part}" if at else part


@dataclass(frozen=True)
class JsonLimits:
    """Limits of one kind of JSON object; use it as ``Annotated[dict[str, Any], LIMITS]``."""

    max_keys: int
    """Keys of all the objects in it, nested ones included."""
    max_depth: int
    """Levels of objects and arrays: ``{"a": 1}`` is 1 deep, ``{"a": [1]}`` 2."""
    max_key_length: int
    max_bytes: int
    """Size as compact UTF-8 JSON."""

    @property
    def summary(self) -> str:
        """The limits in words, for field descriptions."""
        return (
            f"At most {self.max_keys} keys in all (nested objects included), "
            f"{self.max_depth} levels deep, keys of up to {self.max_key_length} characters "
            f"and {self.max_bytes // 1024} KiB as compact JSON; texts hold no control "
            "characters but newlines and tabs."
        )

    def check(self, value: object) -> None:
        """Raise :class:`JsonProblem` for the first limit or rule ``value`` breaks."""
        if not isinstance(value, dict):
            raise JsonProblem(INVALID_VALUE, "must be a JSON object", "")
        keys = 0
        size = 0  # a lower bound of the compact JSON's size: stops early on a huge input
        stack: list[tuple[object, int, str, str | int | None]] = [(value, 1, "", None)]
        while stack and size <= self.max_bytes:
            node, depth, parent, part = stack.pop()
            at = parent if part is None else _child(parent, part)
            if isinstance(node, dict | list) and depth > self.max_depth:
                raise JsonProblem(
                    TOO_DEEP, f"nests deeper than {self.max_depth} levels", at, self.max_depth
                )
            if isinstance(node, dict):
                keys += len(node)
                if keys > self.max_keys:
                    raise JsonProblem(
                        TOO_MANY_KEYS,
                        f"has more than {self.max_keys} keys in all",
                        at,
                        self.max_keys,
                    )
                for key, item in node.items():
                    if not isinstance(key, str):
                        raise JsonProblem(INVALID_VALUE, "keys are strings", at)
                    if len(key) > self.max_key_length:
                        raise JsonProblem(
                            KEY_TOO_LONG,
                            f"key {key[:20]!r}… is longer than {self.max_key_length} characters",
                            at,
                            self.max_key_length,
                        )
                    _text(key, at, key=True)
                    size += len(key) + 4
                    stack.append((item, depth + 1, at, key))
            elif isinstance(node, list):
                size += 2 + len(node)  # every item takes a character and a comma at least
                if size <= self.max_bytes:
                    stack.extend((item, depth + 1, at, i) for i, item in enumerate(node))
            elif isinstance(node, str):
                _text(node, at, key=False)
                size += len(node) + 2
            elif isinstance(node, float) and not math.isfinite(node):
                raise JsonProblem(INVALID_VALUE, "numbers are finite", at)
            elif node is None or isinstance(node, bool | int | float):
                size += 1
            else:
                raise JsonProblem(INVALID_VALUE, f"{type(node).__name__} is not JSON", at)
        if size > self.max_bytes or _json_size(value) > self.max_bytes:
            raise JsonProblem(
                TOO_LARGE,
                f"is larger than {self.max_bytes} bytes as compact JSON",
                "",
                self.max_bytes,
            )

    def _validate(self, value: dict[str, Any]) -> dict[str, Any]:
        try:
            self.check(value)
        except JsonProblem as problem:
            context: dict[str, Any] = {"at": problem.at, "problem": problem.message}
            if problem.limit is not None:
                context["limit"] = problem.limit
            # the error handler adds ``at`` to the field's path
            raise PydanticCustomError(problem.code, "{problem}", context) from None
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["maxProperties"] = self.max_keys
        json_schema["x-limits"] = {
            "max_keys": self.max_keys,
            "max_depth": self.max_depth,
            "max_key_length": self.max_key_length,
            "max_bytes": self.max_bytes,
        }
        return json_schema


def _text(value: str, at: str, *, key: bool) -> None:
    problem = (LINE if key else MULTILINE).problem(value)
    if problem is not None:
        position, character = problem
        what = f"key {value[:40]!r}" if key else "text"
        raise JsonProblem(INVALID_TEXT, f"{character} at position {position} in a {what}", at)


def _json_size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


PASS_DATA: Final = JsonLimits(max_keys=1000, max_depth=8, max_key_length=128, max_bytes=64 * 1024)
"""A pass's ``data``: the values of its template's placeholders."""

ATTRIBUTES: Final = JsonLimits(max_keys=200, max_depth=6, max_key_length=128, max_bytes=16 * 1024)
"""A customer's ``attributes``."""

DETAILS: Final = JsonLimits(max_keys=100, max_depth=4, max_key_length=128, max_bytes=8 * 1024)
"""A small free-form object: one line item of an activity."""
