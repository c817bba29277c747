"""The API documentation: Swagger UI at ``/docs`` and Redoc at ``/redoc``, both served from
this server (the ``fastapi-offline`` package ships their files), so they work offline and
the pages load nothing from another host; and the OpenAPI document's additions (every
error status of each operation, :mod:`passmint.web.openapi_errors`)."""

from __future__ import annotations

import html
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from passmint.web.errors import JSON_MEDIA_TYPE
from passmint.web.openapi_errors import document_errors

ASSETS: Final = "/docs/assets"

DESCRIPTION: Final = f"""\
Wallet passes and the loyalty programs behind them.

**Authorize.** Every `/api/v1` operation takes a tenant's API key as a bearer token,
`Authorization: Bearer pm_…`. Press **Authorize**, paste the key that `passmint demo` or
`passmint tenants create NAME` printed (the `pm_…` value alone, without `Bearer`), and
**Try it out** sends it. A key carries scopes; a key without the operation's scope is a 403.

**Bodies.** Operations that take JSON need `Content-Type: {JSON_MEDIA_TYPE}` (`curl -d`
sends a form type: add `-H 'Content-Type: {JSON_MEDIA_TYPE}'`); another type is a 415
`unsupported_media_type`. Errors are `{{"error": {{"code", "message", "details"}}}}`.
"""

_SECURITY_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# Both renderers set styles from script and fetch the document from this origin; Redoc
# also runs its search in a worker made from a blob.
_SWAGGER_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_REDOC_CSP: Final = _SWAGGER_CSP + "; worker-src blob:"


def read_body(media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` of an operation that reads its body itself (an image, a CSV file,
    a device's or Google's JSON): the body it expects, for the OpenAPI document."""
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


def _page(title: str, head: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title>{head}</head><body>{body}</body></html>"
    )


def swagger_page(title: str, root: str, openapi_url: str) -> str:
    assets = html.escape(root + ASSETS)
    return _page(
        title,
        f'<link rel="stylesheet" href="{assets}/swagger-ui.css">'
        # passmint's own: Swagger UI's colours with legible (WCAG AA) contrast
        f'<link rel="stylesheet" href="{assets}/swagger-contrast.css">',
        f'<div id="swagger-ui" data-openapi-url="{html.escape(root + openapi_url)}"></div>'
        f'<script src="{assets}/swagger-ui-bundle.js"></script>'
        f'<script src="{assets}/swagger-init.js"></script>',
    )


def redoc_page(title: str, root: str, openapi_url: str) -> str:
    return _page(
        title,
        "",
        f'<redoc spec-url="{html.escape(root + openapi_url)}"></redoc>'
        f'<script src="{html.escape(root + ASSETS)}/redoc.standalone.js"></script>',
    )


def install(app: FastAPI) -> None:
    """``/docs``, ``/redoc`` and their assets; the app is made with both URLs ``None``."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(
        ASSETS,
        StaticFiles(packages=[("fastapi_offline", "static"), ("passmint.web", "static")]),
        name="docs-assets",
    )

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(
            swagger_page(f"{app.title} API", root, openapi_url),
            headers={**_SECURITY_HEADERS, "Content-Security-Policy": _SWAGGER_CSP},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(
            redoc_page(f"{app.title} API", root, openapi_url),
            headers={**_SECURITY_HEADERS, "Content-Security-Policy": _REDOC_CSP},
        )

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # also caches it as app.openapi_schema
        document_errors(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
