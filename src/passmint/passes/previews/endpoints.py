"""``POST /api/v1/previews``: the designer's live preview over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from passmint.passes.previews import service
from passmint.passes.previews.schemas import PreviewIn, PreviewOut
from passmint.tenants.scopes import Scope
from passmint.tenants.service import Principal
from passmint.web import ratelimit
from passmint.web.deps import RuntimeDep, pass_context, requires

router = APIRouter(prefix="/api/v1", tags=["templates"])

Previewer = Annotated[Principal, Depends(requires(Scope.TEMPLATES_READ, Scope.TEMPLATES_WRITE))]
"""Previews need ``templates:read`` or ``templates:write``."""


@router.post(
    "/previews",
    response_model=PreviewOut,
)
async def create_preview(
    body: PreviewIn, runtime: RuntimeDep, principal: Previewer
) -> JSONResponse:
    """Render a design as the designer holds it: the Apple pass.json (and as a phone in
    `language` shows it), the Google Wallet class and object, the barcode as an SVG symbol,
    the image URLs, and every problem with its JSON Pointer into `design`.

    A design with problems is still a 200: the problems are the answer (`valid` is false
    when one is an error, and such a design cannot be saved). Only a malformed request is
    a 4xx. Nothing is stored; identities are fake ones, so no credentials are needed.
    Counted against the `previews` rate limit per API key."""
    await ratelimit.shared(runtime).hit("previews", principal.actor_type, principal.actor_id)
    async with runtime.db.sessions() as session:
        result = await service.preview(
            pass_context(runtime, session, principal),
            style=body.style,
            design=body.design,
            sample_data=body.sample_data,
            language=body.language,
            template_id=body.template_id,
        )
    return JSONResponse(result.as_dict())
