"""The PassKit web service, mounted at ``{PASSMINT_PUBLIC_URL}/apple`` (spec §3).

Status codes follow Apple exactly: 201 new registration, 200 repeat; 204 when a device has
nothing to fetch; 304 when the pass did not change since ``If-Modified-Since``; 401 for a
missing or wrong ``ApplePass`` token and for unknown passes alike.
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Annotated, Final

import structlog
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from passmint.errors import InvalidText
from passmint.kit import jsondepth, lengths
from passmint.kit.text import LINE, Line
from passmint.passes import service as pass_service
from passmint.passes.apple import service
from passmint.passes.apple.service import BadRequest
from passmint.wallet.apple.bundle import PKPASS_MIME
from passmint.web import ratelimit
from passmint.web.deps import RuntimeDep, tenant_pass_context
from passmint.web.docs import read_body

# Rate limits per device, per pass and per address: a 429 with Retry-After, a failure the
# device retries with backoff (spec §3) like any other.
router = APIRouter(
    prefix="/apple/v1",
    tags=["apple web service"],
    dependencies=[Depends(ratelimit.passkit)],
)
log = structlog.get_logger("passmint.apple.devices")
MAX_LOG_ENTRIES = 20
MAX_LOG_CHARS = 1000


Authorization = Annotated[str | None, Header()]

# What devices put in the paths and the query, typed once: the device fast path checks its
# requests with the same types and leaves any they refuse to these routes to answer.
DeviceLibraryId = Annotated[Line, Field(max_length=lengths.DEVICE_LIBRARY_ID)]
PassTypeId = Annotated[Line, Field(max_length=lengths.PASS_TYPE_ID)]
SerialNumber = Annotated[Line, Field(max_length=lengths.SERIAL_NUMBER)]
UpdateTag = Annotated[Line, Field(max_length=64)]


_REGISTRATION_BODY: Final = read_body(
    "application/json",
    {"type": "object", "required": ["pushToken"], "properties": {"pushToken": {"type": "string"}}},
)
_LOG_BODY: Final = read_body(
    "application/json",
    {
        "type": "object",
        "required": ["logs"],
        "properties": {"logs": {"type": "array", "items": {"type": "string"}}},
    },
)


@router.post(
    "/devices/{device_library_id}/registrations/{pass_type_id}/{serial}",
    status_code=201,
    response_class=Response,
    responses={200: {"description": "The device was registered for this pass already."}},
    openapi_extra=_REGISTRATION_BODY,
)
async def register(
    device_library_id: DeviceLibraryId,
    pass_type_id: PassTypeId,
    serial: SerialNumber,
    request: Request,
    runtime: RuntimeDep,
    authorization: Authorization = None,
) -> Response:
    async with runtime.transaction() as session:
        pass_ = await service.authorized_pass(
            session, runtime.hasher, pass_type_id, serial, authorization
        )
        body = _json_body(
            await request.body(), runtime.settings.max_json_depth, '{"pushToken": "…"}'
        )
        token = body.get("pushToken") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise BadRequest("pushToken is missing or not a string")
        if LINE.problem(token.strip()) is not None:
            raise InvalidText(
                f"pushToken: {LINE.message(token.strip())}", details={"field": "pushToken"}
            )
        created = await service.register(
            session,
            pass_,
            device_library_id=device_library_id,
            push_token=token.strip(),
            user_agent=request.headers.get("user-agent"),
            now=runtime.clock(),
            limits=service.RegistrationLimits(
                devices_per_pass=runtime.settings.max_devices_per_pass,
                passes_per_device=runtime.settings.max_passes_per_device,
            ),
        )
    return Response(status_code=201 if created else 200)


def _json_body(body: bytes, max_depth: int, shape: str) -> object:
    """The body as JSON, nested no deeper than the setting allows (the body-limit layer
    already refused deeper ones; this keeps the route safe on its own)."""
    try:
        return jsondepth.loads(body, max_depth)
    except ValueError:  # not JSON, not UTF-8, or too deep
        raise BadRequest(f"the body must be JSON: {shape}") from None


@router.get(
    "/devices/{device_library_id}/registrations/{pass_type_id}",
    responses={204: {"description": "No pass of this type changed for the device."}},
)
async def updated_serials(
    device_library_id: DeviceLibraryId,
    pass_type_id: PassTypeId,
    runtime: RuntimeDep,
    passesUpdatedSince: UpdateTag | None = None,
) -> Response:
    async with runtime.db.reads.connect() as conn:
        result = await service.updated_serials(
            conn, device_library_id, pass_type_id, passesUpdatedSince
        )
    if result is None:
        return Response(status_code=204)
    return JSONResponse({"serialNumbers": result.serials, "lastUpdated": result.last_updated})


@router.delete(
    "/devices/{device_library_id}/registrations/{pass_type_id}/{serial}", response_class=Response
)
async def unregister(
    device_library_id: DeviceLibraryId,
    pass_type_id: PassTypeId,
    serial: SerialNumber,
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


@router.get(
    "/passes/{pass_type_id}/{serial}",
    responses={304: {"description": "Not modified since `If-Modified-Since`."}},
)
async def latest_pass(
    pass_type_id: PassTypeId,
    serial: SerialNumber,
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


@router.post("/log", response_class=Response, openapi_extra=_LOG_BODY)
async def device_log(request: Request, runtime: RuntimeDep) -> Response:
    client = request.client.host if request.client else "unknown"
    # PASSMINT_LOG_REQUESTS_PER_MINUTE per address (the "device_log" rate limit)
    if not await ratelimit.shared(runtime).allowed(
        "device_log", ratelimit.client_ip(request.scope)
    ):
        return Response(status_code=200)  # the device does not retry logs: drop quietly
    # The body-limit layer bounds the body (PASSMINT_MAX_BODY_DEVICES) as it streams in.
    payload = _json_body(await request.body(), runtime.settings.max_json_depth, '{"logs": ["…"]}')
    logs = payload.get("logs") if isinstance(payload, dict) else None
    if not isinstance(logs, list):
        raise BadRequest("logs must be a list of strings")
    for entry in logs[:MAX_LOG_ENTRIES]:
        log.info("device log", client=client, message=str(entry)[:MAX_LOG_CHARS])
    return Response(status_code=200)
