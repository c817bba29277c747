"""The gallery of starter designs a designer begins from.

Seven designs, one JSON file each beside this module (``1-cafe-stamp-card.json`` ...),
each valid for Apple Wallet and Google Wallet with no problem at all (the tests render
every one to a signed bundle and to Google's class and object): a café stamp card, a
retail points card with tiers, a percentage coupon, a gift card with a balance, an event
ticket, a membership card and a boarding pass. A starter holds its style, the program
kind it suits, the design, sample data for every placeholder it uses, and its art.

The design names its images ``starter:<name>`` (``starter:icon`` ...): the pictures are
drawn here with Pillow, at the size each slot of the style needs (:meth:`Starter.images`),
and :meth:`Starter.design_with` puts the ids of the uploaded copies in their place. The
drawing is deterministic, so the same starter always gives the same bytes (an upload of
them again is the stored image). Pure: no I/O besides reading the package's own files.
"""

from __future__ import annotations

import copy
import io
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any, Final

from PIL import Image, ImageDraw

from passmint.wallet.apple.images import IMAGE_SPECS, Fit, point_size
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.schemas import ImageName

__all__ = ["ASSET_PREFIX", "Art", "ProgramKind", "Starter", "gallery", "starter"]

ASSET_PREFIX: Final = "starter:"
"""How a starter's design names its images: ``starter:icon``."""
_SCALE: Final = 3  # @3x
_SUPERSAMPLE: Final = 2  # drawn larger, then scaled down: smooth edges without antialiasing


class ProgramKind(StrEnum):
    """What a starter suits: a loyalty program's currency (stamps, points), a coupon or
    gift-card campaign, an event, a membership or a trip."""

    STAMPS = "stamps"
    POINTS = "points"
    COUPON = "coupon"
    GIFT = "gift"
    EVENT = "event"
    MEMBERSHIP = "membership"
    TRANSIT = "transit"


@dataclass(frozen=True, slots=True)
class Art:
    """How a starter's pictures look: a motif (``cup``, ``star``, ``tag``, ``gift``,
    ``ticket``, ``shield``, ``plane``) and three colours (#rrggbb)."""

    motif: str
    background: str
    accent: str
    light: str


@dataclass(frozen=True, slots=True)
class Starter:
    """One starter design; ``design`` is the design's JSON with ``starter:<name>`` images."""

    slug: str
    name: str
    description: str
    program_kind: ProgramKind
    style: PassStyle
    design: Mapping[str, Any]
    sample_data: Mapping[str, Any]
    art: Art

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of its translations."""
        return tuple(self.design.get("localizations", {}))

    def image_names(self) -> dict[str, str]:
        """``starter:<name>`` id → image name, for every image the design uses."""
        found: dict[str, str] = {}
        images: dict[str, str] = dict(self.design.get("images", {}))
        for table in self.design.get("localized_images", {}).values():
            images.update(table)
        for name, asset in images.items():
            if asset.startswith(ASSET_PREFIX):
                found[asset] = name
        return found

    def images(self) -> dict[str, bytes]:
        """``starter:<name>`` id → PNG bytes, each at least as large as its slot at @3x."""
        return dict(_images(self.slug))

    def design_with(self, assets: Mapping[str, str]) -> dict[str, Any]:
        """A copy of the design whose ``starter:<name>`` ids are replaced by ``assets``
        (``starter:<name>`` → uploaded asset id); raises KeyError for one not given."""
        design = copy.deepcopy(dict(self.design))
        design["images"] = {k: assets[v] for k, v in design["images"].items()}
        if "localized_images" in design:
            design["localized_images"] = {
                lang: {k: assets[v] for k, v in table.items()}
                for lang, table in design["localized_images"].items()
            }
        return design


def _read(name: str) -> Starter:
    raw = json.loads(files(__package__).joinpath(name).read_text(encoding="utf-8"))
    return Starter(
        slug=raw["slug"],
        name=raw["name"],
        description=raw["description"],
        program_kind=ProgramKind(raw["program_kind"]),
        style=PassStyle(raw["style"]),
        design=raw["design"],
        sample_data=raw["sample_data"],
        art=Art(**raw["art"]),
    )


@cache
def gallery() -> tuple[Starter, ...]:
    """Every starter, in the gallery's order (read once per process)."""
    names = sorted(p.name for p in files(__package__).iterdir() if p.name.endswith(".json"))
    return tuple(_read(name) for name in names)


def starter(slug: str) -> Starter:
    """The starter with this slug; KeyError when there is none."""
    for item in gallery():
        if item.slug == slug:
            return item
    raise KeyError(slug)


# -- drawing --------------------------------------------------------------------------------

Box = tuple[float, float, float, float]
Colour = tuple[int, int, int, int]


def _rgb(value: str, alpha: int = 255) -> Colour:
    text = value.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16), alpha


def _mix(base: Colour, other: Colour, share: float) -> Colour:
    """``other`` laid over ``base`` at ``share`` opacity, as an opaque colour."""
    r, g, b = (round(x + (y - x) * share) for x, y in zip(base[:3], other[:3], strict=True))
    return r, g, b, 255


def _size(name: str, style: PassStyle, gift_card: bool) -> tuple[int, int]:
    """The pixel size to draw ``name`` at: its slot at @3x (a maximum box filled)."""
    box = point_size(name, style, gift_card=gift_card)
    assert box is not None
    return box[0] * _SCALE, box[1] * _SCALE


def _cup(draw: ImageDraw.ImageDraw, b: Box, fill: Colour, hole: Colour) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    draw.rounded_rectangle(
        (x0 + w * 0.18, y0 + h * 0.38, x0 + w * 0.7, y0 + h * 0.86), radius=w * 0.08, fill=fill
    )
    draw.ellipse(
        (x0 + w * 0.6, y0 + h * 0.46, x0 + w * 0.86, y0 + h * 0.72),
        outline=fill,
        width=max(2, round(w * 0.06)),
    )
    for i in range(3):
        sx = x0 + w * (0.3 + 0.13 * i)
        draw.line((sx, y0 + h * 0.14, sx, y0 + h * 0.3), fill=fill, width=max(2, round(w * 0.04)))


def _star(draw: ImageDraw.ImageDraw, b: Box, fill: Colour, hole: Colour) -> None:
    x0, y0, x1, y1 = b
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, min(x1 - x0, y1 - y0) * 0.42
    points = [
        (
            cx + (r if i % 2 == 0 else r * 0.42) * math.sin(i * math.pi / 5),
            cy - (r if i % 2 == 0 else r * 0.42) * math.cos(i * math.pi / 5),
        )
        for i in range(10)
    ]
    draw.polygon(points, fill=fill)


def _polygons(
    draw: ImageDraw.ImageDraw, b: Box, fill: Colour, *shapes: tuple[tuple[float, float], ...]
) -> None:
    """Each shape, its corners given as shares of the box's width and height."""
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    for corners in shapes:
        draw.polygon([(x0 + w * x, y0 + h * y) for x, y in corners], fill=fill)


def _tag(draw: ImageDraw.ImageDraw, b: Box, fill: Colour, hole: Colour) -> None:
    _polygons(draw, b, fill, ((0.15, 0.5), (0.4, 0.2), (0.85, 0.2), (0.85, 0.8), (0.4, 0.8)))
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    radius = w * 0.06
    cx, cy = x0 + w * 0.36, y0 + h * 0.5
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=hole)


def _gift(draw: ImageDraw.ImageDraw, b: Box, fill: Colour, hole: Colour) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    draw.rectangle((x0 + w * 0.2, y0 + h * 0.4, x0 + w * 0.8, y0 + h * 0.85), fill=fill)
    draw.rectangle((x0 + w * 0.15, y0 + h * 0.3, x0 + w * 0.85, y0 + h * 0.42), fill=fill)
    draw.ellipse(
        (x0 + w * 0.3, y0 + h * 0.12, x0 + w * 0.5, y0 + h * 0.32),
        outline=fill,
        width=max(2, round(w * 0.05)),
    )
    draw.ellipse(
        (x0 + w * 0.5, y0 + h * 0.12, x0 + w * 0.7, y0 + h * 0.32),
        outline=fill,
        width=max(2, round(w * 0.05)),
    )


def _ticket(draw: ImageDraw.ImageDraw, b: Box, fill: Colour, hole: Colour) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    draw.rounded_rectangle(
        (x0 + w * 0.12, y0 + h * 0.28, x0 + w * 0.88, y0 + h * 0.72), radius=w * 0.05, fill=fill
    )
    notch = h * 0.08
    for cx in (x0 + w * 0.12, x0 + w * 0.88):
        draw.ellipse(
            (cx - notch, y0 + h * 0.5 - notch, cx + notch, y0 + h * 0.5 + notch), fill=hole
        )


def _shield(draw: ImageDraw.ImageDraw, b: Box, fill: Colour, hole: Colour) -> None:
    shield = ((0.5, 0.12), (0.82, 0.25), (0.76, 0.62), (0.5, 0.88), (0.24, 0.62), (0.18, 0.25))
    _polygons(draw, b, fill, shield)


def _plane(draw: ImageDraw.ImageDraw, b: Box, fill: Colour, hole: Colour) -> None:
    _polygons(
        draw,
        b,
        fill,
        ((0.12, 0.5), (0.88, 0.42), (0.9, 0.5), (0.88, 0.58)),  # the body
        ((0.42, 0.47), (0.6, 0.15), (0.68, 0.15), (0.6, 0.47)),  # the wings
        ((0.42, 0.53), (0.6, 0.85), (0.68, 0.85), (0.6, 0.53)),
        ((0.14, 0.5), (0.2, 0.3), (0.26, 0.3), (0.24, 0.5)),  # the tail
    )


_MOTIFS: Final[Mapping[str, Callable[[ImageDraw.ImageDraw, Box, Colour, Colour], None]]] = {
    "cup": _cup,
    "star": _star,
    "tag": _tag,
    "gift": _gift,
    "ticket": _ticket,
    "shield": _shield,
    "plane": _plane,
}


def _picture(name: str, size: tuple[int, int], art: Art) -> bytes:
    """One image: the motif on the background colour (the logo on transparency, the
    strip, background and footer as a band of repeated motifs)."""
    width, height = size[0] * _SUPERSAMPLE, size[1] * _SUPERSAMPLE
    motif = _MOTIFS[art.motif]
    clear = (0, 0, 0, 0)
    background, accent, light = _rgb(art.background), _rgb(art.accent), _rgb(art.light)
    if name == ImageName.LOGO:
        image = Image.new("RGBA", (width, height), clear)
        draw = ImageDraw.Draw(image)
        motif(draw, (0, 0, height, height), light, clear)
        bar = height * 0.14
        for i, share in enumerate((0.9, 0.62)):
            top = height * (0.3 + 0.28 * i)
            right = height * 1.15 + (width - height * 1.3) * share
            draw.rounded_rectangle(
                (height * 1.15, top, right, top + bar), radius=bar / 2, fill=light
            )
    elif name in (ImageName.ICON, ImageName.THUMBNAIL):
        image = Image.new("RGBA", (width, height), background)
        draw = ImageDraw.Draw(image)
        inset = width * 0.08
        draw.ellipse((inset, inset, width - inset, height - inset), fill=accent)
        box = (inset * 2, inset * 2, width - inset * 2, height - inset * 2)
        motif(draw, box, background, accent)
    else:
        image = Image.new("RGBA", (width, height), background)
        draw = ImageDraw.Draw(image)
        step = max(round(height * 0.6), width // 14)
        tint = _mix(background, accent, 0.3)
        for index, left in enumerate(range(-step // 2, width, step)):
            top = (height - step) / 2 + (step * 0.3 if index % 2 else -step * 0.3)
            motif(draw, (left, top, left + step, top + step), tint, background)
    smooth = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    smooth.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


@cache
def _images(slug: str) -> tuple[tuple[str, bytes], ...]:
    item = starter(slug)
    gift_card = bool(item.design.get("gift_card", False))
    out: list[tuple[str, bytes]] = []
    for asset, name in sorted(item.image_names().items()):
        spec = IMAGE_SPECS[name]
        size = _size(name, item.style, gift_card)
        if spec.fit is Fit.THUMBNAIL:
            size = (size[0], size[0])  # square: inside 2:3..3:2
        out.append((asset, _picture(name, size, item.art)))
    return tuple(out)
