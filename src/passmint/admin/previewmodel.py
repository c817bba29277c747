"""What the preview shows, read off what the renderers produced: the Apple ``pass.json``
laid out by its style, and the Google Wallet class and object as the Wallet app arranges
them (the renderers have already put the texts in the chosen language)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from passmint.wallet.apple.styles import PassStyle

_RGB: Final = re.compile(r"rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)")
TRANSIT_ICONS: Final = {
    "PKTransitTypeAir": "✈",
    "PKTransitTypeBoat": "⛴",
    "PKTransitTypeBus": "🚌",
    "PKTransitTypeTrain": "🚆",
    "PKTransitTypeGeneric": "→",
}


def css_color(value: object) -> str | None:
    """``rgb(r, g, b)`` (pass.json) or ``#rrggbb`` as ``#rrggbb``; anything else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return value.lower()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        return "#" + "".join(c * 2 for c in value[1:]).lower()
    if match := _RGB.fullmatch(value):
        parts = [min(255, int(p)) for p in match.groups()]
        return "#" + "".join(f"{p:02x}" for p in parts)
    return None


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def luminance(color: str) -> float:
        channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@dataclass(frozen=True, slots=True)
class ShownField:
    key: str
    label: str
    value: str
    link: bool = False  # a back-of-pass link: ``value`` is its text


_ANCHOR: Final = re.compile(r'\A<a href="[^"]*">(.*)</a>\Z', re.DOTALL)


@dataclass(slots=True)
class ApplePreview:
    style: str
    paint: dict[str, str]
    organization: str
    logo_text: str
    logo: str | None
    strip: str | None
    thumbnail: str | None
    background: str | None
    footer: str | None
    transit_icon: str | None
    areas: dict[str, list[ShownField]] = field(default_factory=dict)
    barcode_svg: str | None = None
    barcode_kind: str = ""
    barcode_alt: str = ""
    voided: bool = False


@dataclass(slots=True)
class GooglePreview:
    title: str
    issuer: str
    color: str | None
    logo: str | None
    hero: str | None
    rows: list[ShownField]
    barcode_svg: str | None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _fields(entries: object) -> list[ShownField]:
    shown: list[ShownField] = []
    if not isinstance(entries, list):
        return shown
    for entry in entries:
        if isinstance(entry, Mapping):
            attributed = entry.get("attributedValue")
            anchor = _ANCHOR.match(attributed) if isinstance(attributed, str) else None
            value = html.unescape(anchor.group(1)) if anchor else entry.get("value")
            shown.append(
                ShownField(
                    key=str(entry.get("key", "")),
                    label=_text(entry.get("label")),
                    value=_text(value),
                    link=anchor is not None,
                )
            )
    return shown


def apple(
    pass_json: Mapping[str, Any],
    images: Mapping[str, str],
    barcode_svg: str | None,
) -> ApplePreview:
    """``images``: slot → URL of the design's image."""
    style = next((s.value for s in PassStyle if s.value in pass_json), PassStyle.GENERIC.value)
    body = pass_json.get(style) or {}
    paint = {
        name: color
        for name, key in (
            ("--pass-bg", "backgroundColor"),
            ("--pass-fg", "foregroundColor"),
            ("--pass-label", "labelColor"),
        )
        if (color := css_color(pass_json.get(key)))
    }
    barcodes = pass_json.get("barcodes") or []
    first = barcodes[0] if barcodes and isinstance(barcodes[0], Mapping) else {}
    kind = str(first.get("format", "")).removeprefix("PKBarcodeFormat").lower()
    strip = images.get("strip") if style in ("storeCard", "coupon", "eventTicket") else None
    background = images.get("background") if style == "eventTicket" and not strip else None
    if background:
        paint["background-image"] = background
    preview = ApplePreview(
        style=style,
        paint=paint,
        organization=_text(pass_json.get("organizationName")),
        logo_text=_text(pass_json.get("logoText")),
        logo=images.get("logo"),
        strip=strip,
        thumbnail=images.get("thumbnail") if style in ("eventTicket", "generic") else None,
        background=background,
        footer=images.get("footer") if style == "boardingPass" else None,
        transit_icon=TRANSIT_ICONS.get(str(body.get("transitType")))
        if style == "boardingPass"
        else None,
        barcode_svg=barcode_svg,
        barcode_kind=kind,
        barcode_alt=_text(first.get("altText")),
        voided=bool(pass_json.get("voided")),
    )
    for area in ("header", "primary", "secondary", "auxiliary", "back"):
        preview.areas[area] = _fields(body.get(f"{area}Fields"))
    return preview


def _localized(value: object) -> str:
    if isinstance(value, Mapping):
        default = value.get("defaultValue")
        if isinstance(default, Mapping):
            return str(default.get("value", ""))
        return str(value.get("value", ""))
    return "" if value is None else str(value)


def _image_uri(value: object) -> str | None:
    if isinstance(value, Mapping):
        source = value.get("sourceUri")
        if isinstance(source, Mapping) and isinstance(source.get("uri"), str):
            return str(source["uri"])
    return None


def google(
    klass: Mapping[str, Any],
    obj: Mapping[str, Any],
    barcode_svg: str | None,
    *,
    local_images: Mapping[str, str],
) -> GooglePreview:
    """The card as the Google Wallet app shows it. Images point at this server's copies
    (``local_images``: the public image URL → the same image's path here)."""

    def local(uri: str | None) -> str | None:
        if uri is None:
            return None
        return local_images.get(uri, uri if uri.startswith("/") else None)

    title = next(
        (
            _localized(source.get(key))
            for source in (obj, klass)
            for key in ("cardTitle", "programName", "eventName", "localizedIssuerName", "header")
            if source.get(key)
        ),
        "",
    )
    rows: list[ShownField] = []
    points = obj.get("loyaltyPoints")
    if isinstance(points, Mapping):
        balance = points.get("balance") or {}
        value = next((str(v) for v in balance.values()), "") if isinstance(balance, Mapping) else ""
        rows.append(ShownField("points", _localized(points.get("label")), value))
    for key in ("header", "subheader"):
        if obj.get(key) and key != "header":
            rows.append(ShownField(key, "", _localized(obj.get(key))))
    for module in obj.get("textModulesData") or []:
        if isinstance(module, Mapping):
            rows.append(
                ShownField(
                    str(module.get("id", "")),
                    str(module.get("header", "")),
                    str(module.get("body", "")),
                )
            )
    logo = _image_uri(klass.get("programLogo") or klass.get("logo") or obj.get("logo"))
    hero = _image_uri(klass.get("heroImage") or obj.get("heroImage"))
    color = css_color(klass.get("hexBackgroundColor") or obj.get("hexBackgroundColor"))
    return GooglePreview(
        title=title,
        issuer=str(klass.get("issuerName", "")),
        color=color,
        logo=local(logo),
        hero=local(hero),
        rows=rows,
        barcode_svg=barcode_svg,
    )
