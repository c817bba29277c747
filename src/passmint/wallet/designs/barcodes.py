"""A pass's barcode drawn as a real, scannable symbol (SVG) with zxing-cpp's writer.

The symbol encodes what the phone's would: the message's bytes in the barcode's
``messageEncoding`` (Wallet converts the text with that character set and encodes the
bytes; no ECI designator is added), in the same format (QR, PDF417, Aztec, Code 128). A
message the format cannot carry (too long, a character Code 128 lacks, a character the
encoding lacks) is a :class:`BarcodeError` whose ``code`` says which, so a preview can show
the problem next to the barcode's message instead of a symbol that scans wrong.

The SVG holds only rectangles (no text, no script): it is safe to inline in a page. Its
``viewBox`` is in modules, so it scales to any size; ``shape-rendering="crispEdges"``
keeps the modules sharp. Drawing is pure and deterministic, so symbols are memoized.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import zxingcpp

from passmint.wallet.designs.schemas import BarcodeKind

__all__ = ["BarcodeError", "Symbol", "draw", "zxing_format"]

_FORMATS: Final = {
    "qr": zxingcpp.BarcodeFormat.QRCode,
    "pdf417": zxingcpp.BarcodeFormat.PDF417,
    "aztec": zxingcpp.BarcodeFormat.Aztec,
    "code128": zxingcpp.BarcodeFormat.Code128,
}
_SVG_START = re.compile(r'<svg\s+width="(\d+)"\s+height="(\d+)"[^>]*>')
_DESC = re.compile(r"\s*<desc>[^<]*</desc>")


class BarcodeError(ValueError):
    """The message cannot be drawn in this format: ``code`` is
    ``barcode_message_empty``, ``barcode_message_not_encodable`` (a character the
    encoding lacks), ``barcode_message_too_long`` or ``barcode_message_invalid`` (a
    character the format cannot carry)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Symbol:
    """A drawn barcode: ``svg`` is ``width`` × ``height`` modules, quiet zone included."""

    format: BarcodeKind
    svg: str
    width: int
    height: int


def zxing_format(kind: BarcodeKind) -> zxingcpp.BarcodeFormat:
    """zxing-cpp's format for a design's barcode kind."""
    return _FORMATS[kind]


def draw(kind: BarcodeKind, message: str, *, encoding: str = "iso-8859-1") -> Symbol:
    """The symbol Wallet would show for ``message`` in ``kind``; raises :class:`BarcodeError`
    (or LookupError for an unknown ``encoding``: the design schema refuses those)."""
    if not message:
        raise BarcodeError("barcode_message_empty", "the barcode message renders empty")
    try:
        data = message.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = message[exc.start : exc.end]
        raise BarcodeError(
            "barcode_message_not_encodable",
            f"{bad!r} cannot be written in {encoding}, the barcode's encoding: choose an "
            "encoding that has it (utf-8) or leave it out of the message",
        ) from None
    except (LookupError, UnicodeError) as exc:  # a codec that is not a text encoding (rot13)
        raise BarcodeError(
            "barcode_message_not_encodable",
            f"{encoding} cannot write this message as bytes ({exc}): use utf-8 or iso-8859-1",
        ) from None
    return _draw(kind, data)


@lru_cache(maxsize=256)
def _draw(kind: BarcodeKind, data: bytes) -> Symbol:
    try:
        barcode = zxingcpp.create_barcode(data, _FORMATS[kind])
    except (ValueError, RuntimeError) as exc:
        reason = str(exc)
        code = "barcode_message_too_long" if "too long" in reason else "barcode_message_invalid"
        detail = reason.split(": ", 1)[-1].split(" (retval", 1)[0]
        raise BarcodeError(code, f"{kind} cannot encode this message: {detail}") from None
    return _tidy(kind, zxingcpp.write_barcode_to_svg(barcode, add_hrt=False))


def _tidy(kind: BarcodeKind, raw: str) -> Symbol:
    """The writer's document as an element for a page: no XML prolog, DOCTYPE or id, a
    viewBox in modules, crisp edges."""
    match = _SVG_START.search(raw)
    if match is None:  # pragma: no cover - the writer's output always starts this way
        raise BarcodeError("barcode_message_invalid", f"{kind}: the barcode writer failed")
    width, height = int(match[1]), int(match[2])
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" shape-rendering="crispEdges">'
    )
    # no id: a page may show several symbols, and ids must be unique in a page
    body = _DESC.sub("", raw[match.end() :]).replace(' id="barcode"', "").strip()
    return Symbol(kind, f"{head}\n{body}", width, height)
