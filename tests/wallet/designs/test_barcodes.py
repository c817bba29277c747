"""Barcodes drawn for previews are real symbols: the SVG, rasterised here rectangle by
rectangle, scans back (zxing-cpp's reader) to the message's bytes in its encoding."""

from __future__ import annotations

import re

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from passmint.wallet.designs.barcodes import BarcodeError, Symbol, draw, zxing_format
from passmint.wallet.designs.schemas import BarcodeKind

_VIEWBOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')
_RECT = re.compile(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="#FFFFFF"/>')
_PATH = re.compile(r'<path d="([^"]*)"/>')
_BOX = re.compile(r"M(\d+(?:\.\d+)?) (\d+(?:\.\d+)?)h(\d+(?:\.\d+)?)v(\d+(?:\.\d+)?)h-\3Z")
SCALE = 4


def raster(symbol: Symbol) -> Image.Image:
    """The SVG drawn by hand: a white background, then every module of its path. Fails
    on anything else, so the test checks the SVG itself, not another rendering."""
    svg = symbol.svg
    size = _VIEWBOX.search(svg)
    assert size is not None
    width, height = int(size[1]), int(size[2])
    assert (width, height) == (symbol.width, symbol.height)
    image = Image.new("L", (width * SCALE, height * SCALE), 128)
    draw_ = ImageDraw.Draw(image)
    background = _RECT.search(svg)
    assert background is not None
    assert background.groups() == ("0", "0", str(width), str(height))
    draw_.rectangle((0, 0, width * SCALE - 1, height * SCALE - 1), fill=255)
    paths = _PATH.findall(svg)
    assert len(paths) == 1
    boxes = paths[0]
    assert _BOX.sub("", boxes) == ""  # only axis-aligned boxes
    for x, y, w, h in _BOX.findall(boxes):
        left, top = float(x) * SCALE, float(y) * SCALE
        draw_.rectangle(
            (left, top, left + float(w) * SCALE - 1, top + float(h) * SCALE - 1), fill=0
        )
    return image


@pytest.mark.parametrize("kind", ["qr", "pdf417", "aztec", "code128"])
@pytest.mark.parametrize(
    ("message", "encoding"),
    [("SAMPLE-0001", "iso-8859-1"), ("Café Lumen 42", "iso-8859-1"), ("CL-000123", "utf-8")],
)
def test_every_format_scans_back_to_its_message(
    kind: BarcodeKind, message: str, encoding: str
) -> None:
    symbol = draw(kind, message, encoding=encoding)
    assert symbol.svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox=')
    assert "<?xml" not in symbol.svg
    assert "id=" not in symbol.svg
    found = zxingcpp.read_barcode(
        raster(symbol), formats=zxingcpp.BarcodeFormats(zxing_format(kind))
    )
    assert found is not None, f"{kind} did not scan"
    assert found.format == zxing_format(kind)
    assert found.bytes == message.encode(encoding)


def test_the_same_message_draws_the_same_symbol() -> None:
    assert draw("qr", "SN-1") == draw("qr", "SN-1")
    assert draw("qr", "SN-1") != draw("qr", "SN-2")


@pytest.mark.parametrize(
    ("kind", "message", "encoding", "code"),
    [
        ("qr", "", "iso-8859-1", "barcode_message_empty"),
        ("qr", "مرحبا", "iso-8859-1", "barcode_message_not_encodable"),
        ("qr", "x" * 3000, "iso-8859-1", "barcode_message_too_long"),
        ("aztec", "x" * 4000, "iso-8859-1", "barcode_message_too_long"),
        ("code128", "x" * 200, "iso-8859-1", "barcode_message_too_long"),
    ],
)
def test_what_a_format_cannot_carry_is_a_coded_error(
    kind: BarcodeKind, message: str, encoding: str, code: str
) -> None:
    with pytest.raises(BarcodeError) as caught:
        draw(kind, message, encoding=encoding)
    assert caught.value.code == code
    assert "retval" not in caught.value.message
