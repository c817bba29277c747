"""Customer-facing pages: the pass download, its landing page, survey answers, template
images, the server's home page and the pages browsers get for errors."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from passmint.errors import PassmintError
from passmint.kit.text import Line
from passmint.kit.useragent import parse_user_agent
from passmint.passes import service as pass_service
from passmint.passes import surveys
from passmint.passes.google import service as google_service
from passmint.public.landing import Landing
from passmint.public.landing import render as render_landing
from passmint.public.landing import security_headers as landing_headers
from passmint.public.pages import HEADERS as PAGE_HEADERS
from passmint.public.pages import Page, preferred_language, render_answered
from passmint.public.pages import render as render_page
from passmint.wallet.apple.bundle import PKPASS_MIME
from passmint.web import ratelimit
from passmint.web.deps import RuntimeDep, tenant_pass_context
from passmint.web.negotiation import prefers_html

# Per client address: pass links, landing pages, images (a 429 with Retry-After beyond it).
router = APIRouter(tags=["public"], dependencies=[Depends(ratelimit.per_ip("public"))])

Token = Line
"""A pass link's token; one of another length is simply unknown (404)."""

MACHINE_PATHS = ("/api/", "/apple/", "/google/", "/docs/assets/", "/openapi.json")
"""Addresses only programs call: their errors stay JSON whatever ``Accept`` says."""


class NoResource(PassmintError):
    """Nothing at this address for an API client."""

    code = "not_found"
    status = 404


def _page(
    request: Request, page: Page, status: int, links: Sequence[tuple[str, str]] = ()
) -> Response:
    body = render_page(page, accept_language=request.headers.get("accept-language"), links=links)
    return HTMLResponse(body, status_code=status, headers=dict(PAGE_HEADERS))


def error_page(request: Request, status: int) -> Response | None:
    """The error page a browser gets for a 404 or a failure on a page address (a pass
    link, ``/``, a mistyped URL); ``None`` (JSON) for API clients and API addresses."""
    if (status != 404 and status < 500) or not prefers_html(request.headers.get("accept")):
        return None
    root = request.scope.get("root_path", "")
    path = request.url.path.removeprefix(root) if root else request.url.path
    if path.startswith(MACHINE_PATHS):
        return None
    if status == 404:
        return _page(
            request, Page.CARD_LINK_INVALID if path.startswith("/p/") else Page.NOT_FOUND, status
        )
    return _page(request, Page.ERROR, status)


@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    """What this server is, for a browser; API clients get a 404 that points at the API."""
    if not prefers_html(request.headers.get("accept")):
        raise NoResource(
            "nothing here: the API is under /api/v1, described at /openapi.json "
            "(and at /docs in a browser)"
        )
    root = request.scope.get("root_path", "")
    return _page(request, Page.HOME, 200, links=[("docs", f"{root}/docs")])


@router.get("/p/{token}.pkpass", response_class=Response)
async def download(token: Token, request: Request, runtime: RuntimeDep) -> Response:
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
async def landing(token: Token, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The pass's page: Apple Wallet on iPhones, Google Wallet on Android, both and a QR
    code on desktops; in the visitor's language."""
    user_agent = request.headers.get("user-agent")
    platform = parse_user_agent(user_agent).platform
    async with runtime.db.sessions() as session:
        pass_ = await pass_service.pass_by_download_token(session, token)  # 404 if unknown
        ctx = tenant_pass_context(runtime, session, pass_.tenant_id)
        info = await pass_service.landing_info(ctx, pass_)
        # iPhones get Google Wallet only when the pass is not an Apple pass
        shows_google = pass_.status != "voided" and (platform != "ios" or not info.apple)
        google_url = (
            (await google_service.save_urls(ctx, [pass_]))[pass_.id] if shows_google else None
        )
    base = runtime.settings.public_url.rstrip("/")
    page = render_landing(
        Landing(
            page_url=f"{base}/p/{token}",
            pkpass_url=f"{base}/p/{token}.pkpass" if info.apple else None,
            google_url=google_url,
            organization=info.organization,
            description=info.description,
            background=info.background,
            foreground=info.foreground,
            voided=pass_.status == "voided",
        ),
        user_agent=user_agent,
        accept_language=request.headers.get("accept-language"),
    )
    return HTMLResponse(
        page,
        headers={
            **landing_headers(page),
            "Cache-Control": "no-store",
            "Vary": "User-Agent, Accept-Language",
        },
    )


MAX_ANSWER_DIGITS = 3
"""An answer number longer than this is no answer (a design has a handful)."""


def _answer_number(text: str) -> int:
    """The 1-based number of ``/answers/{number}``; 0 (no answer) for anything but a few
    ASCII digits (``-1``, ``1.0``, ``٣``, twenty nines)."""
    if 0 < len(text) <= MAX_ANSWER_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return 0


@router.get("/p/{token}/answers/{number}", response_class=HTMLResponse)
async def survey_answer(
    token: Token, number: Line, request: Request, runtime: RuntimeDep
) -> HTMLResponse:
    """A customer's answer to the survey on the back of their pass: each answer is a link
    here (n from 1). Recorded, or replacing the pass's earlier answer; the same answer
    again changes nothing. Answers with a thank-you page in the visitor's language that
    offers the other answers. A number the survey does not have: a 404 (a page for
    browsers; ``survey_not_found`` or ``answer_not_found`` for API clients)."""
    accept_language = request.headers.get("accept-language")
    try:
        async with runtime.transaction() as session:
            pass_ = await pass_service.pass_by_download_token(session, token)  # 404 if unknown
            ctx = tenant_pass_context(runtime, session, pass_.tenant_id)
            answered = await surveys.answer(
                ctx, pass_, _answer_number(number), preferred_language(accept_language)
            )
            download_token = pass_.download_token
    except (surveys.SurveyNotFound, surveys.AnswerNotFound):
        if not prefers_html(request.headers.get("accept")):
            raise
        body = render_page(Page.ANSWER_UNAVAILABLE, accept_language=accept_language)
        return HTMLResponse(body, status_code=404, headers=dict(PAGE_HEADERS))
    root = request.scope.get("root_path", "")
    base = f"{root}/p/{download_token}/answers"
    others = [
        (text, f"{base}/{n}") for n, text in enumerate(answered.answers, 1) if n != answered.number
    ]
    page = render_answered(
        accept_language=accept_language,
        question=answered.question,
        answer=answered.answer,
        others=others,
    )
    return HTMLResponse(page, headers=dict(PAGE_HEADERS))


@router.get("/i/{asset_id}.png", response_class=Response)
async def image(asset_id: uuid.UUID, runtime: RuntimeDep) -> Response:
    """A template image, public because Google Wallet fetches it; immutable by id."""
    async with runtime.db.sessions() as session:
        asset = await pass_service.public_image(session, asset_id)
    return Response(
        asset.data,
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
