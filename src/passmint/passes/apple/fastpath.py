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
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from passmint.passes.apple import service

if TYPE_CHECKING:
    from passmint.passes.host import ServiceHost

_PREFIX = "/apple/v1/"
_ERROR_401 = json.dumps(
    {
        "error": {
            "code": "unauthorized",
            "message": "missing or wrong ApplePass token",
            "details": {},
        }
    }
).encode()


class DeviceFastPath:
    def __init__(self, app: ASGIApp, runtime: ServiceHost) -> None:
        self.app = app
        self.runtime = runtime

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
        if len(parts) == 3 and parts[0] == "passes":
            if await self._latest(scope, send, unquote(parts[1]), unquote(parts[2])):
                return
        elif len(parts) == 4 and parts[0] == "devices" and parts[2] == "registrations":
            await self._serials(scope, send, unquote(parts[1]), unquote(parts[3]))
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
        found = await service.validator_fast(self.runtime.db.raw_pool(), pass_type_id, serial)
        header = authorization.decode("latin-1") if authorization is not None else ""
        expected = found[0] if found is not None else None
        if found is None or not service.token_matches(self.runtime.hasher, header, expected):
            await _respond(send, 401, _ERROR_401, b"application/json")
            return True
        if since_at < found[1]:
            return False
        await _respond(send, 304, b"", None, [(b"last-modified", _http_date(found[1]))])
        return True

    async def _serials(self, scope: Scope, send: Send, device: str, pass_type_id: str) -> None:
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
