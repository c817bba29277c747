"""The error base every domain error derives from.

Each error carries a machine-readable ``code`` (a documented, stable string), an HTTP
``status`` that transport code may use, and ``details`` for structured context. The CLI
prints ``code: message``; the API (later) renders ``{"error": {code, message, details}}``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PassmintError(Exception):
    """Base of all errors a client or operator can cause."""

    code: ClassVar[str] = "passmint_error"
    status: ClassVar[int] = 400

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
