"""Structured problems reported by the validators and the verifier."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from passmint.errors import PassmintError


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One violation.

    ``path`` locates it: a JSON path into pass.json (``$.storeCard.primaryFields[0].key``),
    or a file inside the bundle (``icon@2x.png``, ``fr.lproj/pass.strings``), or a
    bundle-level aspect (``signature``, ``manifest.json``).
    ``code`` is a stable snake_case identifier tests and clients can match on.
    """

    path: str
    code: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        tag = "" if self.severity is Severity.ERROR else f" [{self.severity}]"
        return f"{self.path}: {self.message} ({self.code}){tag}"


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]


class InvalidPass(PassmintError):
    """The pass (pass.json, images, localizations or bundle) breaks Apple's rules."""

    code = "invalid_pass"
    status = 422

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        listing = "; ".join(str(p) for p in problems[:20])
        more = f" (+{len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(
            f"{len(problems)} problem(s): {listing}{more}",
            details={
                "problems": [
                    {
                        "path": p.path,
                        "code": p.code,
                        "message": p.message,
                        "severity": p.severity.value,
                    }
                    for p in problems
                ]
            },
        )
