"""The languages of an ``Accept-Language`` header, best first."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_TAGS", "ranked_tags"]

MAX_TAGS: Final = 20
"""Tags of a header looked at (a longer list is someone's mistake, or an attack)."""
_TAG: Final = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")


def ranked_tags(accept_language: str | None) -> list[str]:
    """The header's language tags (``fr-CA``) by quality, then by their order: those with
    ``q=0``, ``*``, malformed tags and qualities that are not numbers are left out; only
    the first :data:`MAX_TAGS` entries are read."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:MAX_TAGS]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        tag = tag.strip()
        if quality > 0 and len(tag) <= 35 and _TAG.fullmatch(tag):
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]
