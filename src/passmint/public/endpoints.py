"""Customer-facing pages: the pass download and its landing page."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from passmint.passes import service as pass_service
from passmint.passes.apple.bundle import PKPASS_MIME
from passmint.web.deps import RuntimeDep, tenant_pass_context

router = APIRouter(tags=["public"])


@router.get("/p/{token}.pkpass", response_class=Response)
async def download(token: str, request: Request, runtime: RuntimeDep) -> Response:
    """The signed pass; the URL is the secret (unguessable, per pass)."""
    async with runtime.transaction() as session:
        pass_ = await pass_service.pass_by_download_token(session, token)
        ctx = tenant_pass_context(runtime, session, pass_.tenant_id)
        data = await pass_service.download(
            ctx, pass_, user_agent=request.headers.get("user-agent"), via="link"
        )
    return Response(
        data,
        media_type=PKPASS_MIME,
        headers={
            "Content-Disposition": f'attachment; filename="{pass_.serial_number}.pkpass"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/p/{token}", response_class=HTMLResponse)
async def landing(token: str, runtime: RuntimeDep) -> HTMLResponse:
    async with runtime.db.sessions() as session:
        await pass_service.pass_by_download_token(session, token)  # 404 for unknown links
    link = html.escape(f"/p/{token}.pkpass")
    return HTMLResponse(
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        "<title>Your pass</title><main style='font-family:system-ui;text-align:center;"
        "padding:3rem 1rem'><h1>Your pass</h1>"
        f"<p><a href='{link}' style='display:inline-block;padding:.8rem 1.4rem;"
        "background:#000;color:#fff;border-radius:.6rem;text-decoration:none'>"
        "Add to Apple Wallet</a></p></main></html>"
    )
