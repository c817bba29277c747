"""One error handler: every client error becomes ``{"error": {code, message, details}}``, or,
for a browser on a page address, the page that ``install``'s ``pages`` renders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from passmint.errors import PassmintError

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
            request, exc.status, error_body(exc.code, exc.message, _jsonable(exc.details))
        )

    @app.exception_handler(PassmintError)
    async def domain_error(request: Request, exc: PassmintError) -> Response:
        return domain(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        unsupported = _not_json(request, exc)
        if unsupported is not None:
            return domain(request, unsupported)
        problems = [
            {
                "path": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in exc.errors()
        ]
        first = problems[0] if problems else {"path": "", "message": "invalid request"}
        return respond(
            request,
            422,
            error_body(
                "invalid_request",
                f"{first['path'] or 'request'}: {first['message']}",
                {"problems": problems},
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return respond(
            request, exc.status_code, error_body(code, str(exc.detail)), headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path)
        return respond(
            request,
            500,
            error_body("internal_error", "an unexpected error occurred; it has been logged"),
        )
