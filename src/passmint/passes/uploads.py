"""Images people upload from a browser: PNG, JPEG or WebP, converted to the PNG passes
carry. The pixel count is read from the header and bounded before anything is decoded
(a decompression bomb is refused unopened); the decode and conversion run off the event
loop (:mod:`kit.offload`)."""

from __future__ import annotations

import io
import warnings
from typing import Final

from PIL import Image, UnidentifiedImageError

from passmint.kit import offload
from passmint.passes.errors import InvalidInput
from passmint.passes.service import MAX_IMAGE_BYTES
from passmint.wallet.apple.images import MAX_PIXELS, ImageTooManyPixelsError

FORMATS: Final = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}


class UnsupportedImage(InvalidInput):
    code = "image_format_unsupported"


def _convert(data: bytes) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageTooManyPixelsError(
                    f"the image is {width}×{height} pixels; at most {MAX_PIXELS:,} pixels "
                    "are accepted (no pass image needs more)",
                    path="upload",
                )
            if image.format == "PNG":
                image.load()
                return data if image.mode in ("RGB", "RGBA", "P", "L", "LA") else _png(image)
            return _png(image)
    except UnidentifiedImageError:
        raise UnsupportedImage("this file is not a PNG, JPEG or WebP image") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UnsupportedImage("this image has too many pixels to open safely") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedImage(f"this image is damaged and cannot be read ({exc})") from None


def _png(image: Image.Image) -> bytes:
    converted = image.convert(
        "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
    )
    out = io.BytesIO()
    converted.save(out, format="PNG")
    return out.getvalue()


async def to_png(data: bytes) -> bytes:
    """The upload as PNG bytes; raises :class:`UnsupportedImage` or an image error."""
    if not data:
        raise UnsupportedImage("the file is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidInput(f"images are limited to {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return await offload.run(_convert, data)
