"""Every status an operation can answer, in the OpenAPI document, with its error codes.

The statuses come from the mechanisms every request goes through, decided by the
operation's shape: any input can be refused (400 text and JSON checks, 422 malformed
payloads), a body can be too large (413) or not JSON (415), a bearer-authenticated
operation can be unauthenticated (401) or out of scope or over a quota (403), a path with
ids can name nothing (404), a write can conflict (409, idempotency keys included), any
request can be throttled (429) or meet a database outage (503). The error codes listed for
each status are the domain errors' codes (every :class:`~passmint.errors.PassmintError`
subclass the app has imported) plus the codes the shared handlers answer with.
"""

from __future__ import annotations

from typing import Any, Final

from passmint.errors import PassmintError
from passmint.web.errors import ERROR_SCHEMA, JSON_MEDIA_TYPE

# Codes answered by the shared plumbing rather than by a domain error class.
HANDLER_CODES: Final[dict[int, tuple[str, ...]]] = {
    400: ("invalid_text", "json_too_deep"),
    404: ("not_found",),
    405: ("method_not_allowed",),
    413: ("body_too_large",),
    415: ("unsupported_media_type",),
    422: ("invalid_request",),
    429: ("rate_limited",),
    503: ("database_unavailable",),
}

WHY: Final[dict[int, str]] = {
    400: "Bad input: a text with control characters, a free-form object over one of its "
    "limits, JSON nested too deep, a value the operation's rules refuse",
    401: "No API key, or one that is unknown or revoked (Apple's web service: no or a wrong "
    "`ApplePass` token)",
    403: "The API key lacks the operation's scope, or a quota of the tenant is reached",
    404: "Nothing with that id in this tenant (in the path, or referred to by the request)",
    409: "A conflict with what is stored (an idempotency key reused with another body, a "
    "state that forbids the change, missing credentials)",
    413: "The body is larger than its kind allows (see **Limits** above; `details.limit` in bytes)",
    415: "The body was not sent as JSON (`Content-Type: application/json`)",
    422: "The request does not match the operation's schema",
    429: "Too many requests: wait for `Retry-After` seconds",
    405: "The path does not take this method",
    502: "A server this operation depends on (Google's signing keys) did not answer usably",
    503: "The database is unavailable: retry after `Retry-After` seconds",
}

RETRY_AFTER: Final[dict[str, Any]] = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}
"""The header of a 429 and a 503."""

# Operations that wait on another server before they can answer.
UPSTREAM: Final = frozenset({"/google/callbacks"})

_WRITES: Final = frozenset({"post", "put", "patch", "delete"})


def _subclasses(cls: type[PassmintError]) -> list[type[PassmintError]]:
    found: list[type[PassmintError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def error_codes() -> dict[int, list[str]]:
    """Every documented error code by its HTTP status."""
    by_status: dict[int, set[str]] = {}
    for cls in _subclasses(PassmintError):
        if not cls.http:
            continue  # an operator tool's error (backups), imported by the CLI
        by_status.setdefault(cls.status, set()).add(cls.code)
    for status, codes in HANDLER_CODES.items():
        by_status.setdefault(status, set()).update(codes)
    return {status: sorted(codes) for status, codes in by_status.items()}


def statuses_of(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The statuses the shared mechanisms can give this operation."""
    statuses = {429, 503}
    has_input = bool(operation.get("parameters")) or "requestBody" in operation
    if has_input:
        statuses |= {400, 422}
    if "requestBody" in operation:
        statuses.add(413)
        content = operation["requestBody"].get("content", {})
        if JSON_MEDIA_TYPE in content and path.startswith("/api/"):
            statuses.add(415)  # devices and callbacks read their JSON bodies themselves
    if operation.get("security"):
        statuses |= {401, 403}
    elif path.startswith(("/apple/v1/devices/", "/apple/v1/passes/")):
        statuses.add(401)  # Apple's web service: the pass's ApplePass token
    if has_input:  # an id in the path, the query or the body may name nothing
        statuses.add(404)
    if method in _WRITES or path.startswith("/api/v1/credentials/"):
        statuses.add(409)
    if path in UPSTREAM:
        statuses.add(502)
    return statuses


def document_errors(schema: dict[str, Any]) -> None:
    """Add each operation's error statuses (those it does not document itself) with the
    error body and the codes of that status."""
    codes = error_codes()
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method not in _WRITES | {"get", "head"}:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses_of(path, method, operation)):
                listed = ", ".join(f"`{code}`" for code in codes.get(status, []))
                entry = responses.setdefault(str(status), {"description": WHY[status]})
                if entry.get("description") == "Validation Error":  # FastAPI's own 422
                    entry["description"] = WHY[status]
                # the one error body, not FastAPI's HTTPValidationError
                entry["content"] = {JSON_MEDIA_TYPE: {"schema": ERROR_SCHEMA}}
                if status in (429, 503):
                    entry.setdefault("headers", RETRY_AFTER)
                if listed and "Error codes:" not in entry["description"]:
                    text = entry["description"].rstrip(". ")
                    entry["description"] = f"{text}. Error codes: {listed}."
