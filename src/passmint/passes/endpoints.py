"""HTTP API of templates, images, passes and Apple credentials (``/api/v1``)."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from passmint.kit import lengths
from passmint.kit.text import Line
from passmint.models import Pass, Template, TemplateVersion
from passmint.passes import service
from passmint.passes.apple import credentials as apple_credentials
from passmint.passes.apple.credentials import ApnsKeyInput
from passmint.passes.errors import InvalidInput
from passmint.passes.google import service as google_service
from passmint.passes.host import ServiceHost
from passmint.passes.schemas import (
    AppleCredentialsIn,
    ImageOut,
    MessageIn,
    Page,
    PassCreate,
    PassOut,
    PassPatch,
    PassUrls,
    PassWarning,
    TemplateCreate,
    TemplateOut,
    TemplatePatch,
    TemplatePlaceholder,
    TemplateWarning,
)
from passmint.tenants.service import Principal
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.schemas import TemplateDesign
from passmint.web.deps import (
    CredentialsRead,
    CredentialsWrite,
    PassesRead,
    PassesWrite,
    RuntimeDep,
    TemplatesRead,
    TemplatesWrite,
    pass_context,
)
from passmint.web.docs import read_body
from passmint.web.idempotency import IdempotencyKey, run_idempotent

router = APIRouter(prefix="/api/v1")

Cursor = Annotated[Line, Field(max_length=64, description="`next_cursor` of the previous page.")]


def encode_cursor(last: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    if not cursor:
        return None
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidInput("cursor is not one this API returned") from None


async def template_outs(
    ctx: service.PassContext, rows: Sequence[tuple[Template, TemplateVersion]]
) -> list[TemplateOut]:
    providers = await service.data_providers(ctx, [template.id for template, _ in rows])
    out: list[TemplateOut] = []
    for template, version in rows:
        found, warnings = service.template_placeholders(
            ctx, version, providers.get(template.id, [])
        )
        out.append(
            TemplateOut(
                id=template.id,
                name=template.name,
                style=PassStyle(template.style),
                version=template.version,
                design=version.design,
                placeholders=[
                    TemplatePlaceholder(
                        name=p.name, source=p.source, paths=list(p.paths), required=p.required
                    )
                    for p in found
                ],
                warnings=[
                    TemplateWarning(
                        code=w.code,
                        path=path,
                        placeholder=w.placeholder,
                        message=w.message,
                        suggestion=w.suggestion,
                    )
                    for w in warnings
                    for path in w.paths
                ],
                created_at=template.created_at,
                updated_at=template.updated_at,
            )
        )
    return out


async def template_out(
    ctx: service.PassContext, template: Template, version: TemplateVersion
) -> TemplateOut:
    return (await template_outs(ctx, [(template, version)]))[0]


async def pass_outs(ctx: service.PassContext, passes: Sequence[Pass]) -> list[PassOut]:
    base = ctx.public_url
    google = await google_service.save_urls(ctx, passes)
    warnings = await service.data_warnings(ctx, passes)
    return [
        PassOut(
            id=pass_.id,
            template_id=pass_.template_id,
            template_version=pass_.template_version,
            serial_number=pass_.serial_number,
            external_id=pass_.external_id,
            status=pass_.status,
            version=pass_.version,
            data=pass_.data,
            urls=PassUrls(
                pkpass=(
                    f"{base}/p/{pass_.download_token}.pkpass"
                    if service.offers_apple(pass_)
                    else None
                ),
                landing=f"{base}/p/{pass_.download_token}",
                google=google[pass_.id],
            ),
            warnings=[
                PassWarning(
                    code=w.code,
                    placeholder=w.placeholder,
                    paths=list(w.paths),
                    message=w.message,
                    suggestion=w.suggestion,
                )
                for w in warnings[pass_.id]
            ],
            created_at=pass_.created_at,
            last_modified=pass_.last_modified,
        )
        for pass_ in passes
    ]


async def pass_out(ctx: service.PassContext, pass_: Pass) -> PassOut:
    return (await pass_outs(ctx, [pass_]))[0]


@router.post(
    "/images",
    status_code=201,
    response_model=ImageOut,
    tags=["templates"],
    openapi_extra=read_body("image/png", {"type": "string", "format": "binary"}),
)
async def upload_image(
    request: Request, runtime: RuntimeDep, principal: TemplatesWrite
) -> ImageOut:
    """Upload a PNG (the raw body, ``Content-Type: image/png``); designs refer to its id."""
    image = await service.check_image(await request.body())  # decoded before the write lock
    async with runtime.transaction() as session:
        asset = await service.upload_image(pass_context(runtime, session, principal), image)
        return ImageOut(id=asset.id, sha256=asset.sha256, width=asset.width, height=asset.height)


@router.post("/templates", status_code=201, response_model=TemplateOut, tags=["templates"])
async def create_template(
    body: TemplateCreate,
    runtime: RuntimeDep,
    principal: TemplatesWrite,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A template and its first version. The response lists the design's placeholders
    and warns about names no known source provides (``{{ serial }}``: did you mean
    ``serial_number``?); a malformed placeholder is refused with its path."""
    compiled = await _compiled(runtime, principal, body.style, body.design)

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        template, version = await service.create_template(
            ctx, name=body.name, style=body.style, design=body.design, compiled=compiled
        )
        return 201, (await template_out(ctx, template, version)).model_dump(mode="json")

    return await run_idempotent(
        runtime,
        principal,
        idempotency_key,
        "POST /templates",
        body.model_dump(mode="json"),
        operation,
    )


@router.get("/templates", response_model=Page[TemplateOut], tags=["templates"])
async def list_templates(
    runtime: RuntimeDep,
    principal: TemplatesRead,
    cursor: Cursor | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TemplateOut]:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        rows = await service.list_templates(ctx, decode_cursor(cursor), limit)
        items = await template_outs(ctx, rows)
    return Page[TemplateOut](
        items=items,
        next_cursor=encode_cursor(rows[-1][0].id) if len(rows) == limit else None,
    )


@router.get("/templates/{template_id}", response_model=TemplateOut, tags=["templates"])
async def get_template(
    template_id: uuid.UUID, runtime: RuntimeDep, principal: TemplatesRead
) -> TemplateOut:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        template, version = await service.get_template(ctx, template_id)
        return await template_out(ctx, template, version)


@router.patch("/templates/{template_id}", response_model=TemplateOut, tags=["templates"])
async def patch_template(
    template_id: uuid.UUID, body: TemplatePatch, runtime: RuntimeDep, principal: TemplatesWrite
) -> TemplateOut:
    """A new design makes a new version; every pass is re-rendered and pushed. Placeholders
    and warnings are those of the new version, checked against the loyalty programs the
    template backs."""
    compiled = None
    if body.design is not None:
        async with runtime.db.sessions() as session:
            template, _ = await service.get_template(
                pass_context(runtime, session, principal), template_id
            )
        style = PassStyle(template.style)  # a template keeps its style
        compiled = await _compiled(runtime, principal, style, body.design)
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        template, version = await service.update_template(
            ctx, template_id, name=body.name, design=body.design, compiled=compiled
        )
        return await template_out(ctx, template, version)


async def _compiled(
    runtime: ServiceHost, principal: Principal, style: PassStyle, design: TemplateDesign
) -> service.CompiledDesign:
    """The design's images rendered before the write transaction opens (it holds SQLite's
    one write lock), off the event loop: reading them is all this needs a session for."""
    async with runtime.db.sessions() as session:
        assets = await service.design_assets(pass_context(runtime, session, principal), design)
    return await service.compile_design(style, design, assets)


@router.post("/passes", status_code=201, response_model=PassOut, tags=["passes"])
async def create_pass(
    body: PassCreate,
    runtime: RuntimeDep,
    principal: PassesWrite,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        pass_ = await service.issue_pass(
            ctx, template_id=body.template_id, data=body.data, external_id=body.external_id
        )
        return 201, (await pass_out(ctx, pass_)).model_dump(mode="json")

    return await run_idempotent(
        runtime, principal, idempotency_key, "POST /passes", body.model_dump(mode="json"), operation
    )


@router.get("/passes", response_model=Page[PassOut], tags=["passes"])
async def list_passes(
    runtime: RuntimeDep,
    principal: PassesRead,
    template_id: uuid.UUID | None = None,
    external_id: Annotated[Line, Field(max_length=lengths.EXTERNAL_ID)] | None = None,
    cursor: Cursor | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[PassOut]:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        rows = await service.list_passes(
            ctx,
            template_id=template_id,
            external_id=external_id,
            after=decode_cursor(cursor),
            limit=limit,
        )
        items = await pass_outs(ctx, rows)
    return Page[PassOut](
        items=items, next_cursor=encode_cursor(rows[-1].id) if len(rows) == limit else None
    )


@router.get("/passes/{pass_id}", response_model=PassOut, tags=["passes"])
async def get_pass(pass_id: uuid.UUID, runtime: RuntimeDep, principal: PassesRead) -> PassOut:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        return await pass_out(ctx, await service.get_pass(ctx, pass_id))


@router.patch("/passes/{pass_id}", response_model=PassOut, tags=["passes"])
async def patch_pass(
    pass_id: uuid.UUID, body: PassPatch, runtime: RuntimeDep, principal: PassesWrite
) -> PassOut:
    """Merge data; the version moves only if the rendered pass changes, then devices are
    pushed."""
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        return await pass_out(ctx, await service.update_pass(ctx, pass_id, body.data))


@router.post("/passes/{pass_id}/void", response_model=PassOut, tags=["passes"])
async def void_pass(pass_id: uuid.UUID, runtime: RuntimeDep, principal: PassesWrite) -> PassOut:
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        return await pass_out(ctx, await service.void_pass(ctx, pass_id))


@router.post("/passes/{pass_id}/messages", response_model=PassOut, tags=["passes"])
async def send_message(
    pass_id: uuid.UUID,
    body: MessageIn,
    runtime: RuntimeDep,
    principal: PassesWrite,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A lock-screen message: Google's addMessage (TEXT_AND_NOTIFY up to 3 per pass per
    24 h, then TEXT) and the pass's ``message`` data for Apple designs that show it."""

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        pass_ = await service.send_message(ctx, pass_id, body.header, body.body)
        return 200, (await pass_out(ctx, pass_)).model_dump(mode="json")

    return await run_idempotent(
        runtime,
        principal,
        idempotency_key,
        f"POST /passes/{pass_id}/messages",
        body.model_dump(mode="json"),
        operation,
    )


@router.put("/credentials/apple", tags=["credentials"])
async def put_apple_credentials(
    body: AppleCredentialsIn, runtime: RuntimeDep, principal: CredentialsWrite
) -> dict[str, Any]:
    """Store the Pass Type ID certificate and key (encrypted) and the APNs auth."""
    if body.format == "p12":
        try:
            certificate = base64.b64decode(body.certificate, validate=True)
        except (ValueError, binascii.Error):
            raise InvalidInput("certificate: a .p12 must be sent as base64") from None
    else:
        certificate = body.certificate.encode()
    apns = None
    if body.apns.auth == "token":
        assert hasattr(body.apns, "key_p8")
        apns = ApnsKeyInput(body.apns.key_p8.encode(), body.apns.key_id, body.apns.team_id)
    async with runtime.transaction() as session:
        now = runtime.clock()
        credential = await apple_credentials.put_credentials(
            session,
            runtime.box,
            principal.tenant_id,
            now=now,
            certificate=certificate,
            private_key=body.private_key.encode() if body.private_key else None,
            password=body.password,
            p12=body.format == "p12",
            wwdr=body.wwdr.encode() if body.wwdr else None,
            apns_key=apns,
        )
        return apple_credentials.describe(credential, now)


@router.get("/credentials/apple", tags=["credentials"])
async def get_apple_credentials(runtime: RuntimeDep, principal: CredentialsRead) -> dict[str, Any]:
    """Ids, expiry dates and the last APNs error; never key material."""
    async with runtime.db.sessions() as session:
        credential = await apple_credentials.require_credential(session, principal.tenant_id)
        return apple_credentials.describe(credential, runtime.clock())
