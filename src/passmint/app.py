"""The composition root of the web application."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from passmint import __version__, logs
from passmint.admin import app as admin_app
from passmint.config import Settings, get_settings
from passmint.coupons import endpoints as coupon_endpoints
from passmint.coupons import tasks as _coupon_tasks  # noqa: F401 - registers jobs
from passmint.loyalty import endpoints as loyalty_endpoints
from passmint.loyalty import tasks as _loyalty_tasks  # noqa: F401 - registers jobs
from passmint.passes import endpoints as pass_endpoints
from passmint.passes import tasks as _pass_tasks  # noqa: F401 - registers jobs
from passmint.passes.apple import push as _push_tasks  # noqa: F401 - registers jobs
from passmint.passes.apple import webservice
from passmint.passes.apple.fastpath import DeviceFastPath
from passmint.passes.google import endpoints as google_endpoints
from passmint.passes.google import tasks as _google_tasks  # noqa: F401 - registers jobs
from passmint.passes.previews import endpoints as preview_endpoints
from passmint.public import endpoints as public_endpoints
from passmint.runtime import Runtime
from passmint.tenants import endpoints as tenant_endpoints
from passmint.tenants import tasks as _tenant_tasks  # noqa: F401 - registers jobs (email)
from passmint.web import docs, errors, observe
from passmint.web.limits import BodyLimits, describe_limits

_SLASHES = re.compile(r"/{2,}")


class CollapseSlashes:
    """``webServiceURL`` ending in ``/`` makes some devices call ``/apple//v1/…``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            scope = dict(scope)
            scope["path"] = _SLASHES.sub("/", scope["path"])
            scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    worker: bool = True,
    migrate: bool = True,
    fast_path: bool = True,
) -> FastAPI:
    """The ASGI app. ``worker`` runs the embedded worker in this process (embedded mode)."""
    runtime = runtime or Runtime(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not fast_path:  # served by uvicorn (_served): its signal handlers are in place
            logs.announce("web")
        await runtime.start(worker=worker, migrate=migrate)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="passmint",
        version=__version__,
        description=docs.DESCRIPTION + describe_limits(runtime.settings),
        lifespan=lifespan,
        docs_url=None,  # docs.install serves both from installed files, not a CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    errors.install(app, pages=public_endpoints.error_page)
    docs.install(app)
    app.include_router(pass_endpoints.router)
    app.include_router(preview_endpoints.router)
    app.include_router(tenant_endpoints.router)
    app.include_router(webservice.router)
    app.include_router(google_endpoints.router)
    app.include_router(coupon_endpoints.router)
    app.include_router(public_endpoints.router)
    app.include_router(loyalty_endpoints.router)
    app.include_router(observe.router)  # /metrics, /readyz
    admin_app.install(app)  # /admin: the staff's web app

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if fast_path:  # when served by uvicorn, _served() puts these outside the framework
        app.add_middleware(DeviceFastPath, runtime=runtime)
        app.add_middleware(CollapseSlashes)
        app.add_middleware(BodyLimits, settings=runtime.settings)
        app.add_middleware(observe.Observe)  # outermost: request ids and metrics
    return app


def register_jobs() -> None:
    """Importing the task modules registers their jobs (done above at import time)."""


def _served(app: FastAPI) -> ASGIApp:
    # Outermost, so device polls skip the framework's middleware stack entirely; body
    # limits outside even that (a body-less poll passes them at the cost of a header scan).
    runtime = app.state.runtime
    assert isinstance(runtime, Runtime)
    served = BodyLimits(DeviceFastPath(CollapseSlashes(app), runtime), runtime.settings)
    return observe.Observe(served)  # every request gets an id and is counted, device polls too


def web_app() -> ASGIApp:
    """uvicorn factory: web only (jobs run in `passmint worker` or go to Redis)."""
    return _served(create_app(_logged(), worker=False, migrate=False, fast_path=False))


def embedded_app() -> ASGIApp:
    """uvicorn factory: web and the in-process worker (embedded mode)."""
    return _served(create_app(_logged(), worker=True, migrate=False, fast_path=False))


def _logged() -> Settings:
    # A web process uvicorn spawns starts here: it logs the way `passmint serve` does.
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    return settings
