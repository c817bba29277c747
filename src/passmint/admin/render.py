"""Rendering admin pages: one Jinja2 environment (autoescaped: user text is always text),
the visitor's language, the security headers, and static files addressed by their content
hash so browsers may keep them for a year."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from passmint import __version__
from passmint.admin import i18n, security

TEMPLATES: Final = Path(__file__).parent / "templates"
STATIC: Final = Path(__file__).parent / "static"
STATIC_URL: Final = "/admin/static"
HTMX_CONFIG: Final = json.dumps(
    {
        # htmx would otherwise add an inline <style> (refused by the CSP) and may evaluate
        # attribute code; pages here need neither.
        "includeIndicatorStyles": False,
        "allowEval": False,
        "allowScriptTags": False,
        "selfRequestsOnly": True,
        "historyCacheSize": 0,
        # A 422 answer is a form or slot with its problem marked: shown like a success.
        # Other errors swap nothing; admin.js says what happened (#request-error).
        "responseHandling": [
            {"code": "204", "swap": False},
            {"code": "[23]..", "swap": True},
            {"code": "422", "swap": True, "error": False},
            {"code": "[45]..", "swap": False, "error": True},
        ],
    }
)


@cache
def static_url(name: str) -> str:
    """``/admin/static/<name>?v=<hash>``: a new URL whenever the file changes."""
    path = STATIC / name
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except FileNotFoundError:
        digest = __version__
    return f"{STATIC_URL}/{name}?v={digest}"


def shown(value: object) -> str:
    """A design value as people read it: text as it is, anything else as JSON (not
    escaped to ASCII: "Café", not "Caf\\u00e9"); autoescaping still applies."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shown"] = shown
    env.globals.update(
        static=static_url,
        languages=i18n.LANGUAGES,
        htmx_config=HTMX_CONFIG,
        version=__version__,
    )
    return env


def texts_for(request: Request) -> i18n.Texts:
    cached = getattr(request.state, "texts", None)
    if isinstance(cached, i18n.Texts):
        return cached
    texts = i18n.Texts(
        i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
    )
    request.state.texts = texts
    return texts


def render_text(request: Request, template_name: str, /, **context: Any) -> str:
    texts = texts_for(request)
    values: dict[str, Any] = {
        "request": request,
        "lang": texts.lang,
        "dir": texts.dir,
        "t": texts,
        "path": request.url.path,
        **texts.functions(),
        **context,
    }
    return environment().get_template(template_name).render(values)


def page(
    request: Request,
    template_name: str,
    /,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    body = render_text(request, template_name, **context)
    response = HTMLResponse(body, status_code=status_code, headers=security.HEADERS)
    response.headers["Content-Language"] = texts_for(request).lang
    response.headers["Vary"] = "Accept-Language, Cookie, HX-Request"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
