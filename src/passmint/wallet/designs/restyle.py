"""A design carried over to another pass style: what the new style cannot show is left out,
and what it needs and the design lacks is given its neutral default.

The style is a template's, not its design's (a pass's style never changes on the phone), so
changing it makes a new template (:func:`passmint.passes.previews.copy_template`); this
module decides what of the design goes along. Pure: JSON in, JSON out.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from passmint.wallet.apple.images import supported_images
from passmint.wallet.apple.styles import PassStyle, TransitType

__all__ = ["Restyled", "restyle"]


@dataclass(frozen=True, slots=True)
class Restyled:
    """The design for the new style, and the design paths (JSON Pointers) of what was left
    out or filled in on the way."""

    design: dict[str, Any]
    dropped: tuple[str, ...] = ()
    added: tuple[str, ...] = field(default=())


def restyle(design: Mapping[str, Any], style: PassStyle) -> Restyled:
    """``design`` (a stored design's JSON) for ``style``: images of slots the style has no
    room for, the gift-card flag off a store card, the transit type off a boarding pass and
    auxiliary rows off an event ticket are left out; a boarding pass without a transit type
    gets the generic one. Everything else (texts, fields, colours, barcode, places, links,
    translations) is kept as it is."""
    out: dict[str, Any] = copy.deepcopy(dict(design))
    dropped: list[str] = []
    added: list[str] = []
    room = set(supported_images(style))
    images = out.get("images")
    if isinstance(images, dict):
        for name in [n for n in images if n not in room]:
            dropped.append(f"/images/{name}")
            del images[name]
    localized = out.get("localized_images")
    if isinstance(localized, dict):
        for language, table in list(localized.items()):
            if not isinstance(table, dict):
                continue
            for name in [n for n in table if n not in room]:
                dropped.append(f"/localized_images/{_escape(language)}/{name}")
                del table[name]
            if not table:
                del localized[language]
        if not localized:
            del out["localized_images"]
    if style is not PassStyle.STORE_CARD and out.get("gift_card"):
        dropped.append("/gift_card")
        del out["gift_card"]
    if style is PassStyle.BOARDING_PASS:
        if not out.get("transit_type"):
            out["transit_type"] = TransitType.GENERIC.value
            added.append("/transit_type")
    elif "transit_type" in out:
        dropped.append("/transit_type")
        del out["transit_type"]
    if style is not PassStyle.EVENT_TICKET:
        fields = out.get("fields")
        rows = fields.get("auxiliary") if isinstance(fields, dict) else None
        for index, item in enumerate(rows if isinstance(rows, list) else []):
            if isinstance(item, dict) and "row" in item:
                dropped.append(f"/fields/auxiliary/{index}/row")
                del item["row"]
    return Restyled(out, tuple(dropped), tuple(added))


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")
