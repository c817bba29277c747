"""What every admin response carries and every admin write must show.

- **Headers:** a Content-Security-Policy that allows scripts, styles and everything else from
  this origin only: no inline script or style, no ``eval`` (behaviour lives in the static
  files; colours a design picks are applied through the CSS object model by admin.js), no
  framing; ``nosniff``; a same-origin referrer; no caching of pages that show data.
- **CSRF:** a write (any method but GET/HEAD/OPTIONS) carries the session's token in the
  ``csrf_token`` form field or the ``X-CSRF-Token`` header (HTMX sends it). Before login
  (the login, invitation and reset forms) the token is a random value in an HttpOnly cookie
  that the form repeats (double submit). A browser that says the request came from another
  site (``Sec-Fetch-Site: cross-site``) is refused whatever it carries.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from starlette.requests import Request

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
PRE_SESSION_COOKIE: Final = "pm_csrf"
FIELD: Final = "csrf_token"
HEADER: Final = "x-csrf-token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def cross_site(request: Request) -> bool:
    return request.headers.get("sec-fetch-site") == "cross-site"


async def presented_token(request: Request) -> str:
    """The token a write carries: the header (HTMX) or the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FIELD)
        if isinstance(value, str):
            return value
    return ""


def tokens_match(expected: str | None, presented: str) -> bool:
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
