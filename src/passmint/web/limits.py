"""Request body limits by route class, enforced while the body streams in, and a cap on
how deeply a JSON body nests, checked on its bytes before anything parses it.

:class:`BodyLimits` is an ASGI layer outside the framework (outside the device fast path
too, when uvicorn serves the app). It refuses a ``Content-Length`` over the route class's
limit before reading a byte, counts the bytes of a body sent without one and answers
413 ``body_too_large`` as soon as they pass the limit, then, for classes whose bodies are
read as JSON, answers 400 ``json_too_deep`` for a body that nests deeper than allowed.
The application then receives the body it was sent, in one message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passmint.config import Settings
from passmint.errors import JsonTooDeep, PassmintError
from passmint.kit import jsondepth
from passmint.web.errors import JSON_MEDIA_TYPE, error_body


class BodyTooLarge(PassmintError):
    """The request body is larger than its route class allows (``details``: ``limit`` in
    bytes and ``route_class``)."""

    code = "body_too_large"
    status = 413


@dataclass(frozen=True, slots=True)
class BodyClass:
    """A kind of request body: its byte limit, and whether it is read as JSON."""

    name: str
    limit: int
    json: bool
    what: str  # for the API description


@dataclass(frozen=True, slots=True)
class Route:
    """The requests of a class: a path pattern and, optionally, the methods."""

    path: re.Pattern[str]
    body: BodyClass
    methods: frozenset[str] | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.methods is None or method in self.methods) and bool(self.path.match(path))


def route_classes(settings: Settings) -> tuple[list[Route], BodyClass]:
    """passmint's route classes (first match wins) and the class of every other request."""
    api = BodyClass("api", settings.max_body_api, True, "JSON bodies of the `/api/v1` API")
    images = BodyClass(
        "images", settings.max_body_images, False, "PNG uploads (`POST /api/v1/images`)"
    )
    imports = BodyClass(
        "imports", settings.max_body_imports, False, "CSV code imports (`…/codes/import`)"
    )
    devices = BodyClass("devices", settings.max_body_devices, True, "Apple devices (`/apple/v1/…`)")
    callbacks = BodyClass("callbacks", settings.max_body_callbacks, True, "Google Wallet callbacks")
    # Forms are not JSON: a certificate or key uploaded in a multipart form may hold bytes
    # that look like deep nesting (the admin app bounds the JSON its forms carry itself).
    forms = BodyClass("forms", settings.max_body_api, False, "admin app forms (`/admin/…`)")
    routes = [
        Route(re.compile(r"/api/v1/images\Z"), images, frozenset({"POST"})),
        Route(re.compile(r"/admin/designs/[^/]+/images/[a-z]+\Z"), images, frozenset({"POST"})),
        Route(re.compile(r"/api/v1/campaigns/[^/]+/codes/import\Z"), imports, frozenset({"POST"})),
        Route(re.compile(r"/admin/campaigns/[^/]+/import\Z"), imports, frozenset({"POST"})),
        Route(re.compile(r"/apple/"), devices),
        Route(re.compile(r"/google/callbacks\Z"), callbacks),
        Route(re.compile(r"/admin/"), forms),
    ]
    return routes, api


def describe_limits(settings: Settings) -> str:
    """The limits, as a paragraph of the API description (markdown)."""
    routes, default = route_classes(settings)
    classes = list(dict.fromkeys([route.body for route in routes] + [default]))  # each once
    listing = "; ".join(f"{body.what}: {_size(body.limit)}" for body in classes)
    return (
        f"\n**Limits.** Request bodies are limited by kind: {listing}. A larger body is "
        "refused while it arrives (a `Content-Length` over the limit before it is read) "
        "with a 413 `body_too_large` whose details give the `limit` in bytes. JSON bodies "
        f"may nest arrays and objects at most {settings.max_json_depth} deep: deeper is a "
        "400 `json_too_deep`.\n"
    )


def _size(limit: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit % factor == 0:
            return f"{limit // factor} {unit}"
    return f"{limit} bytes"


_SLASHES: Final = re.compile(r"/{2,}")


class BodyLimits:
    """The ASGI layer; see the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        routes, self.default = route_classes(settings)
        self.routes = tuple(routes)
        self.max_json_depth = settings.max_json_depth

    def body_class(self, method: str, path: str) -> BodyClass:
        if "//" in path:  # as CollapseSlashes will route it
            path = _SLASHES.sub("/", path)
        for route in self.routes:
            if route.matches(method, path):
                return route.body
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if not chunked and (length is None or length == b"0"):
            await self.app(scope, receive, send)  # no body (device polls: nearly all)
            return
        body_class = self.body_class(scope["method"], scope["path"])
        if length is not None and length.isdigit() and int(length) > body_class.limit:
            await _refuse(send, _too_large(body_class))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > body_class.limit:
                await _refuse(send, _too_large(body_class))
                return
            if chunk:
                chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if body_class.json and jsondepth.exceeds(body, self.max_json_depth):
            await _refuse(
                send,
                JsonTooDeep(
                    f"JSON bodies may nest arrays and objects at most {self.max_json_depth} "
                    "levels deep",
                    details={"max_depth": self.max_json_depth},
                ),
            )
            return
        await self.app(scope, _Replay(body, receive), send)


class _Replay:
    """``receive`` for the application: the body read above, then the real channel (for
    the disconnect a streaming response listens for)."""

    def __init__(self, body: bytes, receive: Receive) -> None:
        self.body: bytes | None = body
        self.receive = receive

    async def __call__(self) -> Message:
        if self.body is None:
            return await self.receive()
        message: Message = {"type": "http.request", "body": self.body, "more_body": False}
        self.body = None
        return message


def _too_large(body_class: BodyClass) -> BodyTooLarge:
    return BodyTooLarge(
        f"the request body is larger than the {_size(body_class.limit)} allowed for "
        f"{body_class.what}",
        details={"limit": body_class.limit, "route_class": body_class.name},
    )


async def _refuse(send: Send, error: PassmintError) -> None:
    payload: dict[str, Any] = error_body(error.code, error.message, error.details)
    content = json.dumps(payload).encode()
    headers = [
        (b"content-type", JSON_MEDIA_TYPE.encode()),
        (b"content-length", str(len(content)).encode()),
    ]
    if isinstance(error, BodyTooLarge):
        # The rest of the body is not read: the connection cannot carry another request.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
