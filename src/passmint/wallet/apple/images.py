"""Pass images: Apple's size table, rendering of the @1x/@2x/@3x set, and bundle checks.

Pure: bytes in, bytes and values out. Sizes are in points; @2x and @3x are double and
triple in pixels (spec `apple-wallet.md` §2 "Images", check 16).

Poster assets of iOS 18 event tickets (``artwork``, ``primaryLogo``, ``secondaryLogo``,
``venueMap``) have no point size Apple documents for bundle images, so passmint treats
them as pass-through: they must be PNGs, their densities must agree, and they are allowed
on ``eventTicket`` only (the legacy dict a poster ticket always carries); they are never
resized.

Untrusted PNGs are decoded only after their IHDR header has been read by hand: an image
with more than :data:`MAX_PIXELS` pixels is refused before Pillow allocates anything, so a
tiny zlib bomb cannot exhaust memory (and Pillow's own bomb warning never fires). The
limit follows from the size table: a source needs no more than its slot at @3x.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from PIL import Image

from passmint.errors import PassmintError
from passmint.wallet.apple.problems import Problem, Severity, errors_only
from passmint.wallet.apple.styles import PassStyle

__all__ = [
    "IMAGE_SPECS",
    "MAX_PIXELS",
    "Fit",
    "ImageCorruptError",
    "ImageError",
    "ImageNotPngError",
    "ImageNotSupportedError",
    "ImageSpec",
    "ImageTooManyPixelsError",
    "ImageTooSmallError",
    "check_images",
    "check_png",
    "needed_source",
    "png_size",
    "point_size",
    "prepare_images",
    "render_image_set",
    "supported_images",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# zlib level 6 (Pillow's default). Measured on gradient art at pass sizes: level 9 and
# optimize=True (which is level 9 here) save under 2 % of the bytes and take 2-4x longer.
_COMPRESS_LEVEL = 6

SCALES = (1, 2, 3)


# --- errors -------------------------------------------------------------------------------


class ImageError(PassmintError):
    """An image cannot be used in a pass; ``problems`` lists every reason, one per file."""

    code: ClassVar[str] = "invalid_image"
    status: ClassVar[int] = 422

    def __init__(
        self, message: str, *, path: str = "", problems: Sequence[Problem] | None = None
    ) -> None:
        self.problems: list[Problem] = (
            list(problems) if problems is not None else [Problem(path, self.code, message)]
        )
        super().__init__(
            message,
            details={
                "problems": [
                    {
                        "path": p.path,
                        "code": p.code,
                        "message": p.message,
                        "severity": p.severity.value,
                    }
                    for p in self.problems
                ]
            },
        )


class ImageNotPngError(ImageError):
    """The file is not a PNG (for example a JPEG renamed ``.png``)."""

    code = "image_not_png"


class ImageCorruptError(ImageError):
    """The file starts like a PNG but Pillow cannot decode it."""

    code = "image_corrupt"


class ImageTooManyPixelsError(ImageError):
    """The header announces more than :data:`MAX_PIXELS` pixels (a possible bomb)."""

    code = "image_too_many_pixels"


class ImageTooSmallError(ImageError):
    """The source is too small for the @3x rendering (or an icon is under 29×29 pt)."""

    code = "image_too_small"


class ImageNotSupportedError(ImageError):
    """The pass style does not show this image (or the name is not an Apple image)."""

    code = "image_not_supported_by_style"


_ERROR_BY_CODE: dict[str, type[ImageError]] = {
    cls.code: cls
    for cls in (
        ImageNotPngError,
        ImageCorruptError,
        ImageTooManyPixelsError,
        ImageTooSmallError,
        ImageNotSupportedError,
    )
}


# --- the size table -----------------------------------------------------------------------


class Fit(StrEnum):
    """How a high-resolution source is turned into the image's point size."""

    EXACT = "exact"
    """Scale to cover the box, then centre-crop to it."""
    MAX = "max"
    """Keep the aspect ratio and fit inside the box (one side touches it)."""
    THUMBNAIL = "thumbnail"
    """Like MAX, with the aspect ratio first clamped (by centre-crop) to 2:3..3:2."""
    AS_IS = "as_is"
    """No documented size: never resized, only checked."""


_ALL_STYLES = frozenset(PassStyle)


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One bundle image Apple knows. ``points`` is (width, height); None = no size rule."""

    name: str
    styles: frozenset[PassStyle]
    fit: Fit
    points: tuple[int, int] | None
    needs_nfc: bool = False


IMAGE_SPECS: Mapping[str, ImageSpec] = {
    spec.name: spec
    for spec in (
        ImageSpec("icon", _ALL_STYLES, Fit.EXACT, (29, 29)),
        ImageSpec("logo", _ALL_STYLES, Fit.MAX, (160, 50)),
        # The strip height depends on the style: see point_size().
        ImageSpec(
            "strip",
            frozenset({PassStyle.COUPON, PassStyle.STORE_CARD, PassStyle.EVENT_TICKET}),
            Fit.EXACT,
            (375, 123),
        ),
        ImageSpec("background", frozenset({PassStyle.EVENT_TICKET}), Fit.EXACT, (180, 220)),
        ImageSpec(
            "thumbnail",
            frozenset({PassStyle.EVENT_TICKET, PassStyle.GENERIC}),
            Fit.THUMBNAIL,
            (90, 90),
        ),
        ImageSpec("footer", frozenset({PassStyle.BOARDING_PASS}), Fit.MAX, (286, 15)),
        ImageSpec(
            "personalizationLogo",
            frozenset({PassStyle.STORE_CARD}),
            Fit.EXACT,
            (150, 40),
            needs_nfc=True,
        ),
        *(
            ImageSpec(poster, frozenset({PassStyle.EVENT_TICKET}), Fit.AS_IS, None)
            for poster in ("artwork", "primaryLogo", "secondaryLogo", "venueMap")
        ),
    )
}
"""Every image name Apple reads from a bundle, in the order the spec lists them."""

_STRIP_POINTS: Mapping[PassStyle, tuple[int, int]] = {
    PassStyle.EVENT_TICKET: (375, 98),
    PassStyle.COUPON: (375, 144),
    PassStyle.STORE_CARD: (375, 123),
}
_GIFT_CARD_STRIP = (375, 144)
_THUMBNAIL_MIN_ASPECT = (2, 3)
_THUMBNAIL_MAX_ASPECT = (3, 2)


def _largest_side() -> int:
    boxes = [spec.points for spec in IMAGE_SPECS.values() if spec.points is not None]
    boxes += [*_STRIP_POINTS.values(), _GIFT_CARD_STRIP]
    return max(max(box) for box in boxes) * max(SCALES)


LARGEST_SIDE = _largest_side()
"""The longest side of any image at @3x, in pixels (a strip: 375 pt, 1,125 px)."""

MAX_PIXELS = (2 * LARGEST_SIDE) ** 2
"""Largest source accepted (width × height), checked from the header before decoding:
a square twice the longest @3x side (2,250 × 2,250 px, about 5 megapixels), which covers
every slot with room to crop, in any aspect ratio. Decoded, that is at most 20 MB of
8-bit RGBA (Pillow reads 16-bit colour as 8-bit), and a fraction of a second of work."""


def point_size(name: str, style: PassStyle, *, gift_card: bool = False) -> tuple[int, int] | None:
    """The (width, height) in points of ``name`` on ``style``: exact, or the maximum box.

    None for poster assets (no documented size). Raises KeyError for unknown names.
    """
    spec = IMAGE_SPECS[name]
    if name == "strip":
        if gift_card and style is PassStyle.STORE_CARD:
            return _GIFT_CARD_STRIP
        return _STRIP_POINTS.get(style, spec.points)
    return spec.points


def supported_images(style: PassStyle, *, nfc: bool = False) -> tuple[str, ...]:
    """The image names Wallet shows on ``style`` (personalizationLogo only with NFC)."""
    known = _SUPPORTED.get((style, nfc))
    return known if known is not None else _supported(style, nfc=nfc)


def _supported(style: PassStyle, *, nfc: bool) -> tuple[str, ...]:
    return tuple(
        spec.name
        for spec in IMAGE_SPECS.values()
        if style in spec.styles and (nfc or not spec.needs_nfc)
    )


_SUPPORTED: Mapping[tuple[PassStyle, bool], tuple[str, ...]] = {
    (style, nfc): _supported(style, nfc=nfc) for style in PassStyle for nfc in (False, True)
}


def _not_supported_message(path: str, name: str, style: PassStyle, *, nfc: bool) -> str:
    supported = ", ".join(supported_images(style, nfc=nfc))
    spec = IMAGE_SPECS.get(name)
    if spec is None:
        return f"{path}: {name!r} is not an Apple Wallet image; {style} supports: {supported}"
    if spec.needs_nfc and style in spec.styles:
        return (
            f"{path}: {name} is only used by {style} passes with NFC; {style} supports: {supported}"
        )
    return f"{path}: {style} passes do not show a {name}; {style} supports: {supported}"


# --- decoding -----------------------------------------------------------------------------

_OTHER_FORMATS: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"GIF8", 0, "GIF"),
    (b"WEBP", 8, "WebP"),
    (b"ftyp", 4, "HEIF/HEIC"),
    (b"BM", 0, "BMP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"<svg", 0, "SVG"),
    (b"<?xml", 0, "XML/SVG"),
)


def _sniff(data: bytes) -> str | None:
    for magic, offset, label in _OTHER_FORMATS:
        if data[offset : offset + len(magic)] == magic:
            return label
    return None


def _header_size(path: str, data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, read by hand before any decoding."""
    if not data.startswith(PNG_SIGNATURE):
        other = _sniff(data)
        looks = f" (it looks like {other})" if other else ""
        raise ImageNotPngError(f"{path} is not a PNG file{looks}", path=path)
    # The PNG spec requires IHDR to be the first chunk, 13 bytes long.
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageCorruptError(f"{path} is a damaged PNG: no IHDR header", path=path)
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        raise ImageCorruptError(f"{path} is a damaged PNG: size {width}×{height}", path=path)
    if width * height > MAX_PIXELS:
        error = ImageTooManyPixelsError(
            f"{path} is {width}×{height} px ({width * height:,} pixels); at most "
            f"{MAX_PIXELS:,} are accepted (no pass image needs more than {LARGEST_SIDE:,} px "
            "on a side): scale it down",
            path=path,
        )
        error.details.update(max_pixels=MAX_PIXELS, width=width, height=height)
        raise error
    return width, height


def _open(path: str, data: bytes, *, decode: bool) -> Image.Image:
    """Open ``data`` as a PNG; with ``decode`` also decode every pixel (catches truncation)."""
    size = _header_size(path, data)
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        if decode:
            image.load()
    # Pillow signals malformed input with many exception types (OSError, SyntaxError,
    # ValueError, struct.error, zlib.error...); any of them means "not a usable PNG".
    except Exception as exc:
        raise ImageCorruptError(f"{path} is a damaged PNG: {exc}", path=path) from exc
    if image.size != size:  # pragma: no cover - Pillow reads the same IHDR
        raise ImageCorruptError(f"{path} is a damaged PNG: inconsistent header", path=path)
    return image


def png_size(data: bytes, *, path: str = "image.png") -> tuple[int, int]:
    """The pixel size of a PNG from its header (no pixel decoding). Raises ImageError."""
    return _open(path, data, decode=False).size


def check_png(data: bytes, *, path: str = "image.png") -> tuple[int, int]:
    """The pixel size of a PNG whose every pixel decodes: a truncated or damaged file is
    refused here (ImageCorruptError), as is one over :data:`MAX_PIXELS`. Raises ImageError.
    """
    with _open(path, data, decode=True) as image:
        return image.size


# --- rendering ----------------------------------------------------------------------------


def _target_points(
    spec: ImageSpec, box: tuple[int, int], source: tuple[int, int]
) -> tuple[int, int]:
    """The @1x point size a source of pixel size ``source`` becomes."""
    if spec.fit is Fit.EXACT:
        return box
    width, height = source
    if spec.fit is Fit.THUMBNAIL:
        # Clamp the aspect ratio first: Wallet crops thumbnails outside 2:3..3:2 anyway,
        # and cropping here keeps the subject centred in a predictable way.
        (lo_w, lo_h), (hi_w, hi_h) = _THUMBNAIL_MIN_ASPECT, _THUMBNAIL_MAX_ASPECT
        if width * hi_h > height * hi_w:
            width, height = hi_w, hi_h
        elif width * lo_h < height * lo_w:
            width, height = lo_w, lo_h
    box_w, box_h = box
    # Integer maths with floor: never exceeds the box, and a source exactly 3× the box
    # (or a pixel short of it on the free side) still qualifies for @3x.
    if width * box_h >= height * box_w:
        return box_w, max(1, height * box_w // width)
    return max(1, width * box_h // height), box_h


def needed_source(
    name: str, style: PassStyle, source: tuple[int, int], *, gift_card: bool = False
) -> tuple[int, int] | None:
    """The smallest pixel size :func:`render_image_set` accepts for a source of ``source``'s
    aspect ratio as ``name`` on ``style`` (its @3x rendering), from the size alone: what a
    preview checks against an upload's stored size without decoding it. None when the image
    has no documented size; KeyError for names Apple does not know."""
    box = point_size(name, style, gift_card=gift_card)
    if box is None:
        return None
    target = _target_points(IMAGE_SPECS[name], box, source)
    return target[0] * max(SCALES), target[1] * max(SCALES)


def _crop_box(
    source: tuple[int, int], target: tuple[int, int]
) -> tuple[float, float, float, float]:
    """The centred region of ``source`` with the aspect ratio of ``target``."""
    (sw, sh), (tw, th) = source, target
    if sw * th > sh * tw:
        crop_w = sh * tw / th
        left = (sw - crop_w) / 2
        return (left, 0.0, left + crop_w, float(sh))
    crop_h = sw * th / tw
    top = (sh - crop_h) / 2
    return (0.0, top, float(sw), top + crop_h)


def _normalise_mode(image: Image.Image) -> Image.Image:
    """A mode Pillow can resample well, keeping alpha when the source has any."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Pillow clips (not scales) 16-bit grey to 8 bits; scale by hand instead.
        return image.convert("I").point(lambda v: v / 257).convert("L")
    if "transparency" in image.info or image.mode in ("PA", "RGBa", "La"):
        return image.convert("RGBA")
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _encode(image: Image.Image, icc_profile: bytes | None) -> bytes:
    # A fresh info dict: only what we pass explicitly is written, so no text, time or
    # other metadata chunks make the output vary.
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=_COMPRESS_LEVEL, icc_profile=icc_profile)
    return buffer.getvalue()


def _density_name(name: str, scale: int) -> str:
    return f"{name}.png" if scale == 1 else f"{name}@{scale}x.png"


def render_image_set(
    name: str,
    source: bytes,
    style: PassStyle,
    *,
    gift_card: bool = False,
    nfc: bool = False,
) -> dict[str, bytes]:
    """Render a high-resolution PNG ``source`` into ``name.png``, ``@2x`` and ``@3x``.

    Exact-size images (icon, strip, background, personalizationLogo) are scaled to cover
    their box and centre-cropped; logo and footer keep their aspect ratio and fit inside
    their maximum box; a thumbnail keeps its aspect ratio clamped to 2:3..3:2 inside 90×90.
    Output is deterministic (same bytes for the same input) and keeps alpha and the ICC
    profile. ``gift_card`` selects the taller store-card strip; ``nfc`` allows
    personalizationLogo.

    Raises ImageNotSupportedError, ImageNotPngError, ImageCorruptError,
    ImageTooManyPixelsError, ImageTooSmallError (message gives the needed pixel size), or
    ImageError for poster assets (never resized).
    """
    return _render(name, source, style, gift_card=gift_card, nfc=nfc, path=f"{name}.png")


def _render(
    name: str, source: bytes, style: PassStyle, *, gift_card: bool, nfc: bool, path: str
) -> dict[str, bytes]:
    spec = IMAGE_SPECS.get(name)
    if spec is None or style not in spec.styles or (spec.needs_nfc and not nfc):
        raise ImageNotSupportedError(_not_supported_message(path, name, style, nfc=nfc), path=path)
    box = point_size(name, style, gift_card=gift_card)
    if box is None:
        raise ImageError(
            f"{path}: {name} has no documented size, so passmint does not resize it; "
            f"supply {name}.png, {name}@2x.png and {name}@3x.png yourself",
            path=path,
        )
    image = _open(path, source, decode=True)
    target = _target_points(spec, box, image.size)
    needed = (target[0] * 3, target[1] * 3)
    if image.width < needed[0] or image.height < needed[1]:
        raise ImageTooSmallError(
            f"{path} is {image.width}×{image.height} px; a {target[0]}×{target[1]} pt "
            f"{name} needs a source of at least {needed[0]}×{needed[1]} px for @3x",
            path=path,
        )
    icc = image.info.get("icc_profile")
    base = _normalise_mode(image)
    crop = _crop_box(base.size, target)
    return {
        _density_name(name, scale): _encode(
            base.resize(
                (target[0] * scale, target[1] * scale),
                Image.Resampling.LANCZOS,
                box=crop,
                # Pre-shrinks huge sources by whole factors first: much faster, and at 3×
                # the final size the difference is invisible.
                reducing_gap=3.0,
            ),
            icc if isinstance(icc, bytes) else None,
        )
        for scale in SCALES
    }


# --- bundle file names --------------------------------------------------------------------

_IMAGE_PATH = re.compile(
    r"^(?:(?P<folder>[^/]+\.lproj)/)?(?P<name>[A-Za-z]+)(?:@(?P<scale>[23])x)?\.png$"
)


@dataclass(frozen=True, slots=True)
class _ImagePath:
    folder: str  # "" for top level, else "fr.lproj"
    name: str
    scale: int


def _parse_path(path: str) -> _ImagePath | None:
    match = _IMAGE_PATH.match(path)
    if match is None:
        return None
    return _ImagePath(match["folder"] or "", match["name"], int(match["scale"] or 1))


def _is_png_name(path: str) -> bool:
    return path.lower().endswith(".png") and not path.endswith("/")


# --- checks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Density:
    path: str
    scale: int
    width: int
    height: int


def _fmt(value: float) -> str:
    return f"{value:g}"


def _check_densities(densities: list[_Density]) -> list[Problem]:
    """@2x/@3x exactly 2×/3× the @1x; without @1x, @2x and @3x must agree with each other."""
    problems: list[Problem] = []
    ref = densities[0]  # lowest scale present
    for d in densities[1:]:
        if (
            d.width * ref.scale != ref.width * d.scale
            or d.height * ref.scale != ref.height * d.scale
        ):
            want_w, want_h = ref.width * d.scale / ref.scale, ref.height * d.scale / ref.scale
            problems.append(
                Problem(
                    d.path,
                    "image_density_mismatch",
                    f"{d.path} is {d.width}×{d.height} px; @{d.scale}x must be "
                    f"{_fmt(want_w)}×{_fmt(want_h)} px to match {ref.path} "
                    f"({ref.width}×{ref.height} px)",
                )
            )
    return problems


def _check_size(name: str, ref: _Density, style: PassStyle | None) -> list[Problem]:
    """Point-size rules; ``ref`` is the lowest density present, its size / scale = points."""
    pw, ph = ref.width / ref.scale, ref.height / ref.scale
    size = f"{_fmt(pw)}×{_fmt(ph)} pt ({ref.width}×{ref.height} px at @{ref.scale}x)"
    problems: list[Problem] = []
    if name == "icon" and (pw < 29 or ph < 29):
        problems.append(
            Problem(
                ref.path,
                "image_too_small",
                f"{ref.path} is {size}; the icon must be at least 29×29 pt",
            )
        )
    elif name in ("logo", "footer"):
        box_w, box_h = IMAGE_SPECS[name].points or (0, 0)
        if pw > box_w or ph > box_h:
            problems.append(
                Problem(
                    ref.path,
                    "image_too_large",
                    f"{ref.path} is {size}; a {name} must fit in {box_w}×{box_h} pt",
                )
            )
    elif name == "thumbnail":
        if not (2 * ph <= 3 * pw and 2 * pw <= 3 * ph):
            problems.append(
                Problem(
                    ref.path,
                    "image_bad_aspect",
                    f"{ref.path} is {size}; a thumbnail's aspect ratio must be 2:3 to 3:2",
                )
            )
        if pw > 90 or ph > 90:
            problems.append(
                Problem(
                    ref.path,
                    "image_too_large",
                    f"{ref.path} is {size}; Wallet shows thumbnails at most 90×90 pt",
                    Severity.WARNING,
                )
            )
    elif name in ("strip", "background", "personalizationLogo"):
        if name == "strip":
            # Without a style (or gift-card flag) every documented strip size is fine.
            strip = _STRIP_POINTS.get(style) if style is not None else None
            expected = {strip} if strip is not None else set(_STRIP_POINTS.values())
            if style is PassStyle.STORE_CARD or style is None:
                expected.add(_GIFT_CARD_STRIP)
        else:
            expected = {IMAGE_SPECS[name].points or (0, 0)}
        if (pw, ph) not in expected:
            sizes = " or ".join(f"{w}×{h}" for w, h in sorted(expected))
            problems.append(
                Problem(
                    ref.path,
                    "image_unexpected_size",
                    f"{ref.path} is {size}; Wallet expects {sizes} pt and will scale or crop it",
                    Severity.WARNING,
                )
            )
    return problems


def _probe(path: str, data: bytes) -> tuple[int, int] | Problem:
    try:
        return _open(path, data, decode=True).size
    except ImageError as exc:
        return exc.problems[0]


def check_images(
    files: Mapping[str, bytes], style: PassStyle | None, *, nfc: bool = False
) -> list[Problem]:
    """Check 16 over a bundle's files (every zip entry; only ``.png`` names are looked at).

    Reports, with the file name as path: ``image_not_png``, ``image_corrupt``,
    ``image_too_many_pixels``, ``image_density_mismatch``, ``image_missing_icon``,
    ``image_too_small`` (icon under 29×29 pt), ``image_too_large`` (logo over 160×50 pt,
    footer over 286×15 pt; a warning for a thumbnail over 90×90 pt), ``image_bad_aspect``
    (thumbnail outside 2:3..3:2), ``image_not_supported_by_style``,
    ``image_strip_with_background`` (eventTicket), and warnings ``image_unknown`` (a name
    Wallet ignores), ``image_unexpected_size`` (strip, background, personalizationLogo not
    at Apple's size) and ``image_missing_density`` (an icon without all three densities).
    Localized images in ``xx.lproj/`` follow the same rules. With ``style`` None the
    style-dependent rules are skipped.
    """
    problems: list[Problem] = []
    groups: dict[tuple[str, str], list[_Density]] = {}
    for path in sorted(files):
        if not _is_png_name(path):
            continue
        probed = _probe(path, files[path])
        if isinstance(probed, Problem):
            problems.append(probed)
            continue
        parsed = _parse_path(path)
        if parsed is None or parsed.name not in IMAGE_SPECS:
            problems.append(
                Problem(
                    path,
                    "image_unknown",
                    f"{path} is not an Apple Wallet image name "
                    f"({', '.join(IMAGE_SPECS)}, optionally @2x/@3x, at the top level or "
                    "in an xx.lproj folder); Wallet ignores it",
                    Severity.WARNING,
                )
            )
            continue
        groups.setdefault((parsed.folder, parsed.name), []).append(
            _Density(path, parsed.scale, *probed)
        )

    for (_, name), densities in sorted(groups.items()):
        densities.sort(key=lambda d: d.scale)
        spec = IMAGE_SPECS[name]
        if style is not None and (style not in spec.styles or (spec.needs_nfc and not nfc)):
            problems.extend(
                Problem(
                    d.path,
                    "image_not_supported_by_style",
                    _not_supported_message(d.path, name, style, nfc=nfc),
                )
                for d in densities
            )
            continue
        problems.extend(_check_densities(densities))
        problems.extend(_check_size(name, densities[0], style))

    top_icon = groups.get(("", "icon"))
    if top_icon is None:
        # A top-level icon that failed to decode is already reported above.
        if not any(_is_top_level_icon(p.path) for p in errors_only(problems)):
            problems.append(
                Problem(
                    "icon.png",
                    "image_missing_icon",
                    "the bundle has no top-level icon.png (or icon@2x/@3x.png); "
                    "iOS silently refuses passes without an icon",
                )
            )
    elif len(top_icon) < len(SCALES):
        missing = [_density_name("icon", s) for s in SCALES if s not in {d.scale for d in top_icon}]
        problems.append(
            Problem(
                top_icon[0].path,
                "image_missing_density",
                f"the icon has no {', '.join(missing)}; Wallet will scale another density",
                Severity.WARNING,
            )
        )

    if style is PassStyle.EVENT_TICKET:
        strips = [d.path for (_, n), ds in sorted(groups.items()) if n == "strip" for d in ds]
        others = [
            d.path
            for (_, n), ds in sorted(groups.items())
            if n in ("background", "thumbnail")
            for d in ds
        ]
        if strips and others:
            problems.append(
                Problem(
                    strips[0],
                    "image_strip_with_background",
                    f"an eventTicket takes a strip or a background/thumbnail, not both: "
                    f"{', '.join(strips)} with {', '.join(others)}",
                )
            )
    return problems


# --- model folder → bundle ----------------------------------------------------------------


def _is_top_level_icon(path: str) -> bool:
    parsed = _parse_path(path)
    return parsed is not None and parsed.folder == "" and parsed.name == "icon"


def prepare_images(
    files: Mapping[str, bytes],
    style: PassStyle,
    *,
    gift_card: bool = False,
    nfc: bool = False,
) -> dict[str, bytes]:
    """Turn the PNGs of a ``.pass`` model folder into the bundle's image files.

    ``files`` maps relative paths (``icon.png``, ``logo@2x.png``, ``fr.lproj/strip.png``)
    to bytes. Names not ending in ``.png`` (``fr.lproj/pass.strings``...) are not images:
    they are returned unchanged, so callers may pass a whole model folder. Where only
    ``name.png`` is given, it is the high-resolution source and is rendered to the three
    densities as by :func:`render_image_set` (so it must be large enough for @3x); where
    densities are given, they pass through unchanged. Poster assets always
    pass through. The result must then pass :func:`check_images` without errors.

    Raises ImageError whose ``problems`` list every problem (the specific subclass when
    there is exactly one).
    """
    problems: list[Problem] = []
    output: dict[str, bytes] = {}
    groups: dict[tuple[str, str], dict[int, str]] = {}
    for path in sorted(files):
        if not _is_png_name(path):
            output[path] = files[path]
            continue
        parsed = _parse_path(path)
        if parsed is None or parsed.name not in IMAGE_SPECS:
            problems.append(
                Problem(
                    path,
                    "image_unknown",
                    f"{path} is not an Apple Wallet image name; expected one of "
                    f"{', '.join(supported_images(style, nfc=nfc))} (optionally @2x/@3x, "
                    "at the top level or in an xx.lproj folder)",
                )
            )
            continue
        groups.setdefault((parsed.folder, parsed.name), {})[parsed.scale] = path

    failed: list[str] = []
    for (folder, name), by_scale in sorted(groups.items()):
        spec = IMAGE_SPECS[name]
        paths = [by_scale[s] for s in sorted(by_scale)]
        if style not in spec.styles or (spec.needs_nfc and not nfc):
            problems.extend(
                Problem(
                    p, ImageNotSupportedError.code, _not_supported_message(p, name, style, nfc=nfc)
                )
                for p in paths
            )
            failed.extend(paths)
            continue
        box = point_size(name, style, gift_card=gift_card)
        if set(by_scale) == {1} and box is not None:
            # A lone name.png is the high-resolution source: it must be large enough for
            # @3x, or the @2x/@3x renditions would be upscaled blur.
            path = by_scale[1]
            try:
                rendered = _render(
                    name, files[path], style, gift_card=gift_card, nfc=nfc, path=path
                )
                prefix = f"{folder}/" if folder else ""
                output.update({prefix + key: data for key, data in rendered.items()})
                continue
            except ImageError as exc:
                problems.extend(exc.problems)
                failed.append(path)
                continue
        output.update({p: files[p] for p in paths})

    icon_failed = any(_is_top_level_icon(p) for p in failed)
    problems.extend(
        problem
        for problem in errors_only(check_images(output, style, nfc=nfc))
        # A broken icon is already reported; "missing icon" would only repeat it.
        if not (icon_failed and problem.code == "image_missing_icon")
    )

    if len(problems) == 1:
        only = problems[0]
        raise _ERROR_BY_CODE.get(only.code, ImageError)(only.message, problems=problems)
    if problems:
        listing = "; ".join(p.message for p in problems)
        raise ImageError(f"{len(problems)} image problems: {listing}", problems=problems)
    return output
