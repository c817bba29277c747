"""What operators see of a web process: a request id on every request and its log lines,
request metrics (the outermost ASGI layer, so the device fast path is counted too),
``/metrics`` for Prometheus and ``/readyz`` for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
import hmac
import itertools
import os
import re
import secrets
import time
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Final

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passmint import health, logs
from passmint.config import Settings
from passmint.errors import PassmintError
from passmint.kit import metrics
from passmint.web.deps import RuntimeDep

REQUEST_ID_HEADER: Final = b"x-request-id"
# An incoming id is kept when it looks like an id (UUIDs, hex, trace ids), never when it
# could smuggle anything into a log line or a header.
_SANE_ID: Final = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:;=+/@-]{0,127}")


_sequence = itertools.count()
_process: tuple[int, str] = (0, "")


def _new_id() -> str:
    """32 hex digits, unique: a random tag of the process and a counter (a tenth of the
    cost of a uuid4, which reads the system's random source every time)."""
    global _process
    pid, tag = _process
    if pid != os.getpid():
        pid, tag = _process = (os.getpid(), secrets.token_hex(10))
    return f"{tag}{next(_sequence) & 0xFFFFFFFFFFFF:012x}"


class Observe:
    """The outermost ASGI layer: takes the request's ``X-Request-ID`` when it is sane or
    makes one, binds it to every log line of the request (structlog contextvars), sends it
    back in the answer's header, and counts the request by route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                incoming = value
                break
        if incoming is not None and _SANE_ID.fullmatch(incoming):
            rid = incoming.decode("ascii")
        else:
            rid = _new_id()
        header = (REQUEST_ID_HEADER, rid.encode("ascii"))
        scope[logs.REQUEST_ID_KEY] = rid
        status = 500  # what the server answers when the application raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if not any(name == REQUEST_ID_HEADER for name, _ in headers):
                    message = {**message, "headers": [*headers, header]}
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            route = scope.get("route")
            template = getattr(route, "path", None) or scope.get(metrics.ROUTE_KEY)
            metrics.observe_request(
                scope["method"],
                template if isinstance(template, str) else metrics.UNMATCHED,
                status,
                time.perf_counter() - started,
            )


class MetricsForbidden(PassmintError):
    """``/metrics`` is for the networks in ``PASSMINT_METRICS_ALLOW`` (loopback by default)
    and for the bearer of ``PASSMINT_METRICS_TOKEN``."""

    code = "metrics_forbidden"
    status = 403


def _client_ip(request: Request) -> IPv4Address | IPv6Address | None:
    if request.client is None:
        return None
    try:
        address = ip_address(request.client.host)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def may_read_metrics(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token
    if token is not None:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), expected):
            return True
    address = _client_ip(request)
    return address is not None and any(address in net for net in settings.metrics_allow)


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics_endpoint(request: Request, runtime: RuntimeDep) -> Response:
    if not may_read_metrics(request, runtime.settings):
        raise MetricsForbidden(
            "metrics are readable from the networks of PASSMINT_METRICS_ALLOW or with "
            "the bearer token PASSMINT_METRICS_TOKEN"
        )
    body, content_type = await asyncio.to_thread(metrics.render)  # reads files: off the loop
    return Response(body, headers={"Content-Type": content_type})


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready to serve: the database answers with the schema this code expects, and Redis
    answers when it is configured. 200 or 503, naming each check."""
    checks = await health.readiness(runtime.db.engine, runtime.settings.redis_url)
    ready = all(check.ok for check in checks)
    body: dict[str, Any] = {
        "status": "ready" if ready else "unavailable",
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    return JSONResponse(body, status_code=200 if ready else 503)
