"""The two requests devices make most, answered below the framework (spec §3, #2 and #3).

Every registered device polls ``GET …/registrations/{type}?passesUpdatedSince=`` after each
push and ``GET …/passes/{type}/{serial}`` with ``If-Modified-Since`` on every refresh; at
scale they are nearly all 204s and 304s. This ASGI layer answers those two GETs with one
indexed query on a raw driver connection, without routing, dependency injection or a
transaction, and passes everything else (and every 200 with a body) to the application.
It gives the same answers as the FastAPI routes, which remain the reference (and serve
SQLite, the embedded default).
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs, unquote

import structlog
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from passmint.kit.metrics import ROUTE_KEY
from passmint.passes.apple import service, webservice
from passmint.web import errors, ratelimit

if TYPE_CHECKING:
    from passmint.passes.host import ServiceHost

_PREFIX = "/apple/v1/"
# The templates of the routes in webservice.py that these requests would otherwise reach.
_LATEST_ROUTE = "/apple/v1/passes/{pass_type_id}/{serial}"
_SERIALS_ROUTE = "/apple/v1/devices/{device_library_id}/registrations/{pass_type_id}"
_ERROR_401 = json.dumps(
    {
        "error": {
            "code": "unauthorized",
            "message": "missing or wrong ApplePass token",
            "details": {},
        }
    }
).encode()

_ERROR_503 = json.dumps(
    errors.error_body(
        "database_unavailable",
        "the database cannot be reached right now; retry after the delay in Retry-After",
    )
).encode()
log = structlog.get_logger("passmint.apple.devices")


class DeviceFastPath:
    def __init__(self, app: ASGIApp, runtime: ServiceHost) -> None:
        self.app = app
        self.runtime = runtime
        # This process's counts even in production: a Redis round trip would cost more
        # than the poll it limits (see passmint.web.ratelimit).
        self.limiter = ratelimit.local(runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(_PREFIX)
            or self.runtime.db.dialect != "postgresql"
        ):
            await self.app(scope, receive, send)
            return
        parts = scope["path"][len(_PREFIX) :].split("/")
        if not _acceptable(parts, scope):  # the routes refuse it, with their answer
            await self.app(scope, receive, send)
            return
        try:
            if len(parts) == 3 and parts[0] == "passes":
                scope[ROUTE_KEY] = _LATEST_ROUTE  # for the request metrics, as the router would
                if await self._latest(scope, send, unquote(parts[1]), unquote(parts[2])):
                    return
            elif len(parts) == 4 and parts[0] == "devices" and parts[2] == "registrations":
                scope[ROUTE_KEY] = _SERIALS_ROUTE
                await self._serials(scope, send, unquote(parts[1]), unquote(parts[3]))
                return
        except Exception as exc:  # the one error handler's rule for an outage, out here too
            if not errors.database_unavailable(exc):
                raise
            log.warning("database unavailable", path=scope["path"], error=repr(exc))
            retry = str(errors.RETRY_AFTER_SECONDS).encode()
            await _respond(send, 503, _ERROR_503, b"application/json", [(b"retry-after", retry)])
            return
        await self.app(scope, receive, send)

    async def _latest(self, scope: Scope, send: Send, pass_type_id: str, serial: str) -> bool:
        """Answer 401 or 304 here; return False to let the app build the 200."""
        since = authorization = None
        for name, value in scope["headers"]:  # the last of repeated headers, as dict() would
            if name == b"if-modified-since":
                since = value
            elif name == b"authorization":
                authorization = value
        # No usable validator: the app answers (the pass, or its 401) without a read here first.
        if since is None or (since_at := _parse_http_date(since)) is None:
            return False
        ip = ratelimit.client_ip(scope)
        if await self._limited(send, "auth_failures", ip, count=False) or await self._limited(
            send, "pass_fetch", pass_type_id, serial
        ):
            return True
        found = await service.validator_fast(self.runtime.db.raw_pool(), pass_type_id, serial)
        header = authorization.decode("latin-1") if authorization is not None else ""
        expected = found[0] if found is not None else None
        if found is None or not service.token_matches(self.runtime.hasher, header, expected):
            if await self.limiter.count("auth_failures", ip):
                await _respond(send, 401, _ERROR_401, b"application/json")
            else:  # this failure went over the limit: a 429, as the routes answer
                await self._limited(send, "auth_failures", ip, count=False)
            return True
        if since_at < found[1]:
            return False
        await _respond(send, 304, b"", None, [(b"last-modified", _http_date(found[1]))])
        return True

    async def _serials(self, scope: Scope, send: Send, device: str, pass_type_id: str) -> None:
        if await self._limited(send, "device", device):
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        tag = query.get("passesUpdatedSince", [None])[0]
        pool = self.runtime.db.raw_pool()
        result = await service.updated_serials_fast(pool, device, pass_type_id, tag)
        if result is None:
            await _respond(send, 204, b"", None)
            return
        body = json.dumps(
            {"serialNumbers": result.serials, "lastUpdated": result.last_updated}
        ).encode()
        await _respond(send, 200, body, b"application/json")

    async def _limited(self, send: Send, name: str, *ids: str, count: bool = True) -> bool:
        """Answer 429 when the request goes over ``name``'s limit (or, ``count=False``, when
        the client already went over it): a failure the device retries with backoff."""
        try:
            if count:
                await self.limiter.hit(name, *ids)
            else:
                self.limiter.check(name, *ids)
        except ratelimit.RateLimited as exc:
            body = json.dumps(errors.error_body(exc.code, exc.message, exc.details)).encode()
            retry = [(b"retry-after", str(exc.retry_after).encode())]
            await _respond(send, 429, body, b"application/json", retry)
            return True
        return False


_PASS_TYPE_ID: Final = TypeAdapter(webservice.PassTypeId)
_SERIAL: Final = TypeAdapter(webservice.SerialNumber)
_DEVICE: Final = TypeAdapter(webservice.DeviceLibraryId)
_TAG: Final = TypeAdapter(webservice.UpdateTag)


def _acceptable(parts: list[str], scope: Scope) -> bool:
    """Whether the path and query hold what the routes' types accept (no control
    character, no value longer than its column): only then is it read here."""
    try:
        if len(parts) == 3 and parts[0] == "passes":
            _PASS_TYPE_ID.validate_python(unquote(parts[1]))
            _SERIAL.validate_python(unquote(parts[2]))
        elif len(parts) == 4 and parts[0] == "devices" and parts[2] == "registrations":
            _DEVICE.validate_python(unquote(parts[1]))
            _PASS_TYPE_ID.validate_python(unquote(parts[3]))
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            for tag in query.get("passesUpdatedSince", ()):
                _TAG.validate_python(tag)
    except ValidationError:
        return False
    return True


# Devices send back exactly the Last-Modified they were given, so the few distinct values
# in flight repeat on every poll: both conversions are pure, and remembering the recent
# ones keeps the email.utils parser and formatter off the hot path.
@lru_cache(maxsize=4096)
def _parse_http_date(value: bytes) -> datetime | None:
    return service.if_modified_since(value.decode("latin-1"))


@lru_cache(maxsize=4096)
def _http_date(moment: datetime) -> bytes:
    return format_datetime(moment, usegmt=True).encode()


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes | None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    headers.extend(extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
