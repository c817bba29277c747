"""One error handler: every client error becomes ``{"error": {code, message, details}}``, or,
for a browser on a page address, the page that ``install``'s ``pages`` renders."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import asyncpg
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from passmint import logs
from passmint.errors import PassmintError
from passmint.kit import jsonobject
from passmint.kit.text import INVALID_TEXT, PEM, RULES

log = structlog.get_logger("passmint.web")

ErrorPages = Callable[[Request, int], Response | None]
"""Renders the error ``status`` as a page for ``request``, or ``None`` to answer JSON."""

JSON_MEDIA_TYPE = "application/json"


class UnsupportedMediaType(PassmintError):
    """A body the operation reads as JSON came without ``Content-Type: application/json``
    (``curl -d`` sends ``application/x-www-form-urlencoded``)."""

    code = "unsupported_media_type"
    status = 415


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
"""The JSON Schema of every error body, for the OpenAPI document."""


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _not_json(request: Request, exc: RequestValidationError) -> UnsupportedMediaType | None:
    """FastAPI hands a JSON-body operation the raw bytes when the content type is not JSON,
    which then fails as "Input should be a valid dictionary": name the header instead."""
    if not isinstance(exc.body, bytes | bytearray):
        return None
    if not any(tuple(err.get("loc", ()))[:1] == ("body",) for err in exc.errors()):
        return None
    sent = request.headers.get("content-type")
    return UnsupportedMediaType(
        f"send the body as JSON with the header Content-Type: {JSON_MEDIA_TYPE} "
        f"(got {sent or 'no Content-Type'})",
        details={"content_type": sent, "expected": JSON_MEDIA_TYPE},
    )


CODED_PROBLEMS: Final = frozenset({INVALID_TEXT, *jsonobject.LIMIT_CODES})
"""Validation problems answered as a 400 with their own code instead of a 422
``invalid_request``: text with a character it may not hold, a JSON object over a limit."""


def _printable(part: object) -> str:
    """A path part as text without the control characters it may hold (a refused key)."""
    text = str(part)
    return text if PEM.problem(text) is None else text.encode("unicode_escape").decode()


def _problem(err: Mapping[str, Any]) -> dict[str, Any]:
    path = ".".join(_printable(p) for p in err.get("loc", ()) if p not in ("body", "[key]"))
    context = err.get("ctx") or {}
    if not isinstance(context, Mapping):
        context = {}
    inner = context.get("at")
    if inner:  # a place inside a JSON object (kit.jsonobject)
        inner = _printable(inner)
        path = f"{path}{'' if inner.startswith('[') else '.'}{inner}" if path else inner
    kind = str(err.get("type", ""))
    message = str(err.get("msg", ""))
    value = err.get("input")
    rule = RULES.get(context.get("pattern", "")) if kind == "string_pattern_mismatch" else None
    if rule is not None and isinstance(value, str):  # a kit.text type refused a character
        kind, message = INVALID_TEXT, rule.message(value)
    elif kind == "string_unicode":
        kind, message = INVALID_TEXT, "a lone surrogate (half of a UTF-16 pair) is not text"
    elif kind not in CODED_PROBLEMS and isinstance(value, str) and PEM.problem(value):
        # Whatever else is wrong with it (its own pattern, a length, a UUID), a value that
        # holds a character no text may hold is refused for that: one answer everywhere.
        kind, message = INVALID_TEXT, PEM.message(value).replace(" in a PEM block", "")
    problem: dict[str, Any] = {"path": path, "message": message, "type": kind}
    if "limit" in context and kind in jsonobject.LIMIT_CODES:
        problem["limit"] = context["limit"]
    return problem


def validation_error(errors: Sequence[Mapping[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Status and body of a request that failed validation: a 422 ``invalid_request``
    listing every problem, or a 400 with the code of the first coded problem
    (``invalid_text``, ``json_too_many_keys`` ...) and ``details.field`` naming its place."""
    problems = [_problem(err) for err in errors]
    coded = next((p for p in problems if p["type"] in CODED_PROBLEMS), None)
    if coded is not None:
        return 400, error_body(
            coded["type"],
            f"{coded['path'] or 'request'}: {coded['message']}",
            {"field": coded["path"], "problems": problems},
        )
    first = problems[0] if problems else {"path": "", "message": "invalid request"}
    return 422, error_body(
        "invalid_request",
        f"{first['path'] or 'request'}: {first['message']}",
        {"problems": problems},
    )


RETRY_AFTER_SECONDS: Final = 5
_DATABASE_ERRORS: Final = (SQLAlchemyError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot take the request now, through no fault of the request: it
    refuses or drops connections, is shutting down or starting up, the pool is exhausted,
    or (SQLite) another writer held the lock past the busy timeout. Clients should retry."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig  # the driver's error, as SQLAlchemy wrapped it
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        | asyncpg.CannotConnectNowError
        | asyncpg.TooManyConnectionsError
        | asyncpg.AdminShutdownError,
    ):
        return True
    # Connecting fails with the socket's own error (refused, unreachable, DNS, timeout),
    # unwrapped: it is the database's only when the driver raised it.
    return isinstance(exc, OSError) and _raised_by_driver(exc)


_DRIVERS: Final = ("asyncpg", "sqlalchemy", "aiosqlite")


def _raised_by_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(_DRIVERS):
            return True
        tb = tb.tb_next
    return False


def install(app: FastAPI, *, pages: ErrorPages | None = None) -> None:
    def respond(
        request: Request,
        status: int,
        body: dict[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        page = pages(request, status) if pages is not None else None
        if page is not None:
            return page
        if pages is not None:  # the same address may answer a page to a browser
            headers = {**(headers or {}), "Vary": "Accept"}
        return JSONResponse(body, status_code=status, headers=dict(headers or {}))

    def domain(request: Request, exc: PassmintError) -> Response:
        return respond(
            request,
            exc.status,
            error_body(exc.code, exc.message, _jsonable(exc.details)),
            headers=getattr(exc, "headers", None),  # e.g. a 429's Retry-After
        )

    @app.exception_handler(PassmintError)
    async def domain_error(request: Request, exc: PassmintError) -> Response:
        return domain(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        unsupported = _not_json(request, exc)
        if unsupported is not None:
            return domain(request, unsupported)
        status, body = validation_error(exc.errors())
        return respond(request, status, body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return respond(
            request, exc.status_code, error_body(code, str(exc.detail)), headers=exc.headers
        )

    async def database_error(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            raise exc  # a bug, not an outage: the handler below logs it and answers 500
        log.warning(
            "database unavailable", path=request.url.path, error=f"{type(exc).__name__}: {exc}"
        )
        return respond(
            request,
            503,
            error_body(
                "database_unavailable",
                "the database cannot be reached right now; retry after the delay in Retry-After",
            ),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for kind in _DATABASE_ERRORS:
        app.add_exception_handler(kind, database_error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # The last resort may run outside the layer that binds the request's log context.
        rid = logs.request_id(request.scope)
        # A plain traceback, no locals (passmint.logs): microseconds, not seconds per error.
        log.exception("unhandled error", path=request.url.path, request_id=rid)
        logs.mark_logged(exc)
        response = respond(
            request,
            500,
            error_body("internal_error", "an unexpected error occurred; it has been logged"),
        )
        if rid is not None:
            response.headers["X-Request-ID"] = rid
        return response
