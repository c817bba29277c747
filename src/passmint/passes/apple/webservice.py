"""The PassKit web service, mounted at ``{PASSMINT_PUBLIC_URL}/apple`` (spec §3).

Status codes follow Apple exactly: 201 new registration, 200 repeat; 204 when a device has
nothing to fetch; 304 when the pass did not change since ``If-Modified-Since``; 401 for a
missing or wrong ``ApplePass`` token and for unknown passes alike.
"""

from __future__ import annotations

import json
import time
from collections import deque
from email.utils import format_datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from passmint.errors import PassmintError
from passmint.passes import service as pass_service
from passmint.passes.apple import service
from passmint.passes.apple.service import BadRequest
from passmint.wallet.apple.bundle import PKPASS_MIME
from passmint.web.deps import RuntimeDep, tenant_pass_context

router = APIRouter(prefix="/apple/v1", tags=["apple web service"])
log = structlog.get_logger("passmint.apple.devices")
MAX_LOG_ENTRIES = 20
MAX_LOG_CHARS = 1000
MAX_LOG_BODY = 1024 * 1024


class LogTooLarge(PassmintError):
    code = "payload_too_large"
    status = 413


Authorization = Annotated[str | None, Header()]


@router.post("/devices/{device_library_id}/registrations/{pass_type_id}/{serial}")
async def register(
    device_library_id: str,
    pass_type_id: str,
    serial: str,
    request: Request,
    runtime: RuntimeDep,
    authorization: Authorization = None,
) -> Response:
    async with runtime.transaction() as session:
        pass_ = await service.authorized_pass(
            session, runtime.hasher, pass_type_id, serial, authorization
        )
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest('the body must be JSON: {"pushToken": "…"}') from None
        token = body.get("pushToken") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise BadRequest("pushToken is missing or not a string")
        created = await service.register(
            session,
            pass_,
            device_library_id=device_library_id,
            push_token=token.strip(),
            user_agent=request.headers.get("user-agent"),
            now=runtime.clock(),
        )
    return Response(status_code=201 if created else 200)


@router.get("/devices/{device_library_id}/registrations/{pass_type_id}")
async def updated_serials(
    device_library_id: str,
    pass_type_id: str,
    runtime: RuntimeDep,
    passesUpdatedSince: str | None = None,
) -> Response:
    async with runtime.db.reads.connect() as conn:
        result = await service.updated_serials(
            conn, device_library_id, pass_type_id, passesUpdatedSince
        )
    if result is None:
        return Response(status_code=204)
    return JSONResponse({"serialNumbers": result.serials, "lastUpdated": result.last_updated})


@router.delete("/devices/{device_library_id}/registrations/{pass_type_id}/{serial}")
async def unregister(
    device_library_id: str,
    pass_type_id: str,
    serial: str,
    runtime: RuntimeDep,
    authorization: Authorization = None,
) -> Response:
    async with runtime.transaction() as session:
        pass_ = await service.authorized_pass(
            session, runtime.hasher, pass_type_id, serial, authorization
        )
        await service.unregister(
            session, pass_, device_library_id=device_library_id, now=runtime.clock()
        )
    return Response(status_code=200)


@router.get("/passes/{pass_type_id}/{serial}")
async def latest_pass(
    pass_type_id: str,
    serial: str,
    request: Request,
    runtime: RuntimeDep,
    authorization: Authorization = None,
) -> Response:
    async with runtime.db.reads.connect() as conn:
        found = await service.authorize(conn, runtime.hasher, pass_type_id, serial, authorization)
    last_modified = format_datetime(found.last_modified, usegmt=True)
    since = service.if_modified_since(request.headers.get("if-modified-since", ""))
    if since is not None and since >= found.last_modified:
        return Response(status_code=304, headers={"Last-Modified": last_modified})
    async with runtime.transaction() as session:
        pass_ = await service.pass_for_download(session, found)
        last_modified = format_datetime(pass_.last_modified, usegmt=True)
        ctx = tenant_pass_context(runtime, session, pass_.tenant_id)
        data = await pass_service.download(
            ctx, pass_, user_agent=request.headers.get("user-agent"), via="webservice"
        )
    return Response(
        data,
        media_type=PKPASS_MIME,
        headers={"Last-Modified": last_modified, "Cache-Control": "no-cache"},
    )


class LogLimiter:
    """Per-client token bucket for the device log endpoint (it keeps nothing unbounded)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.hits: dict[str, deque[float]] = {}

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        window = self.hits.setdefault(client, deque())
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        if len(self.hits) > 10_000:  # forget idle clients instead of growing forever
            for key in [k for k, v in self.hits.items() if not v or now - v[-1] > 60]:
                del self.hits[key]
        return True


@router.post("/log")
async def device_log(request: Request, runtime: RuntimeDep) -> Response:
    per_minute = runtime.settings.log_requests_per_minute
    limiter = runtime.cache("device-log-limiter", lambda: LogLimiter(per_minute))
    client = request.client.host if request.client else "unknown"
    if not limiter.allow(client):
        return Response(status_code=200)  # the device does not retry logs: drop quietly
    body = await request.body()
    if len(body) > MAX_LOG_BODY:
        raise LogTooLarge(f"log bodies are limited to {MAX_LOG_BODY // 1024} KB")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest('the body must be JSON: {"logs": ["…"]}') from None
    logs = payload.get("logs") if isinstance(payload, dict) else None
    if not isinstance(logs, list):
        raise BadRequest("logs must be a list of strings")
    for entry in logs[:MAX_LOG_ENTRIES]:
        log.info("device log", client=client, message=str(entry)[:MAX_LOG_CHARS])
    return Response(status_code=200)
