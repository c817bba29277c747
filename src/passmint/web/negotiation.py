"""Who is asking: a browser (HTML first in ``Accept``) or an API client (JSON)."""

from __future__ import annotations

_HTML = ("text/html", "application/xhtml+xml")
_JSON = ("application/json",)


def _quality(part: str) -> tuple[str, float]:
    media, *params = (p.strip() for p in part.split(";"))
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
    return media.lower(), quality


def prefers_html(accept: str | None) -> bool:
    """Whether ``Accept`` ranks HTML above JSON, as browsers' navigations do
    (``text/html,…,*/*;q=0.8``).

    On equal quality a type named outright beats a wildcard, then the type listed first
    wins; ``*/*`` alone, or no header, is an API client (JSON).
    """
    best: dict[str, tuple[float, int, int]] = {}  # kind -> (quality, specificity, -position)
    for position, part in enumerate((accept or "").split(",")):
        media, quality = _quality(part)
        if not media:
            continue
        for kind, types in (("html", _HTML), ("json", _JSON)):
            if media in types:
                specificity = 2
            elif media in ("*/*", types[0].split("/")[0] + "/*"):
                specificity = 0 if media == "*/*" else 1
            else:
                continue
            candidate = (quality, specificity, -position)
            # The most specific range that matches decides the quality (RFC 9110 §12.5.1).
            if kind not in best or candidate[1:2] > best[kind][1:2]:
                best[kind] = candidate
    html = best.get("html")
    if html is None or html[0] <= 0 or html[1] == 0:
        return False
    return html > best.get("json", (0.0, 0, 0))
