"""Mounting the admin app on the web application: its routers, its static files (the
project's own and the pinned vendor builds, with the same security headers), and the
pages its errors become."""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from passmint.admin import (
    auth,
    campaigns,
    customers,
    dashboard,
    designcopy,
    designer,
    designimages,
    issue,
    login,
    passes,
    programs,
    security,
    settings,
)
from passmint.admin.render import STATIC, STATIC_URL
from passmint.errors import PassmintError


class _Static(StaticFiles):
    """Static files with the admin's headers; versioned URLs are cached for a year."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                for name, value in security.HEADERS.items():
                    if name != "Cache-Control":
                        headers.append((name.lower().encode(), value.encode()))
                cache = (
                    "public, max-age=31536000, immutable"
                    if scope.get("query_string")
                    else "no-cache"
                )
                headers.append((b"cache-control", cache.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, sending)


def install(app: FastAPI) -> None:
    app.include_router(login.router)
    app.include_router(designer.router)
    app.include_router(designimages.router)
    app.include_router(designcopy.router)
    app.include_router(issue.router)
    app.include_router(settings.router)
    app.include_router(campaigns.router)
    app.include_router(programs.router)
    app.include_router(customers.router)
    app.include_router(dashboard.router)
    app.include_router(passes.router)
    app.mount(STATIC_URL, _Static(directory=STATIC, check_dir=False), name="admin-static")
    app.add_exception_handler(auth.AdminRefusal, _refused)
    # Domain errors under /admin become admin pages (a handler's or a dependency's, such as
    # a role without the scope); elsewhere the API's handler answers as before.
    api_handler = app.exception_handlers.get(PassmintError)

    async def domain_error(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/admin") and isinstance(exc, PassmintError):
            return auth.refusal_of(request, exc).response(request)
        assert api_handler is not None
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(PassmintError, domain_error)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, auth.AdminRefusal)
    return exc.response(request)
