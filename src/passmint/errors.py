"""The error base every domain error derives from.

Each error carries a machine-readable ``code`` (a documented, stable string), an HTTP
``status`` that transport code may use, and ``details`` for structured context. The CLI
prints ``code: message``; the API (later) renders ``{"error": {code, message, details}}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from passmint.kit import jsonobject
from passmint.kit.text import INVALID_TEXT


class PassmintError(Exception):
    """Base of all errors a client or operator can cause."""

    code: ClassVar[str] = "passmint_error"
    status: ClassVar[int] = 400
    http: ClassVar[bool] = True
    """False for the errors of an operator's tool that no request can meet (backups):
    the API document leaves their codes out."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidText(PassmintError):
    """Text holding a character it may not hold (NUL, another control character, a lone
    surrogate): see :mod:`passmint.kit.text`."""

    code = INVALID_TEXT
    status = 400


class JsonTooManyKeys(PassmintError):
    code = jsonobject.TOO_MANY_KEYS
    status = 400


class JsonTooDeep(PassmintError):
    """JSON nested deeper than allowed: a body, before it is parsed (``details.max_depth``,
    :mod:`passmint.web.limits`), or a value such as pass ``data`` (:mod:`kit.jsonobject`)."""

    code = jsonobject.TOO_DEEP
    status = 400


class JsonKeyTooLong(PassmintError):
    code = jsonobject.KEY_TOO_LONG
    status = 400


class JsonTooLarge(PassmintError):
    code = jsonobject.TOO_LARGE
    status = 400


class InvalidJsonValue(PassmintError):
    code = jsonobject.INVALID_VALUE
    status = 400


_JSON_ERRORS: dict[str, type[PassmintError]] = {
    error.code: error
    for error in (
        InvalidText,
        JsonTooManyKeys,
        JsonTooDeep,
        JsonKeyTooLong,
        JsonTooLarge,
        InvalidJsonValue,
    )
}


def check_json_object(value: object, limits: jsonobject.JsonLimits, field: str) -> None:
    """:meth:`JsonLimits.check` for service code (a merged ``data``): the error names the
    limit in its code and ``field`` (with the path inside it) in its details."""
    try:
        limits.check(value)
    except jsonobject.JsonProblem as problem:
        where = f"{field}.{problem.at}" if problem.at else field
        details: dict[str, Any] = {"field": where}
        if problem.limit is not None:
            details["limit"] = problem.limit
        raise _JSON_ERRORS[problem.code](f"{where}: {problem.message}", details=details) from None
