"""How deeply a JSON text nests, measured on its bytes before anything parses it.

The standard json module recurses once per ``[`` or ``{``: a body of a few thousand
brackets raises RecursionError (a 500) instead of a parse error, and every level of a
parsed document costs whatever walks it afterwards. :func:`exceeds` answers "deeper than
N?" at C speed (one regular expression drops the strings, one ``translate`` keeps the
brackets), so callers refuse such texts before parsing; :func:`loads` does both.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any, Final

MAX_DEPTH: Final = 32
"""Nesting allowed by default: far above what any of passmint's bodies needs."""

# A JSON string: a quote, runs of ordinary bytes and escapes, a quote (unrolled, so the
# engine loops in C over each run instead of once per byte).
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS: Final = b"[]{}"
_OTHERS: Final = bytes(b for b in range(256) if b not in _BRACKETS)
# Openers become +1 and closers -1 (0xFF as a signed byte); everything else is deleted.
_STEPS: Final = bytes.maketrans(_BRACKETS, b"\x01\xff\x01\xff")


class TooDeep(ValueError):
    """The text nests deeper than allowed (a ValueError, like json's own errors)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


def exceeds(text: bytes | bytearray | str, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` in ``text``.

    Brackets inside strings do not count. Malformed text is measured as far as it goes
    (the parser refuses it anyway); the answer is never "fine" for text the json module
    would recurse into more than ``limit`` times.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # too few openers to nest that deep, wherever they are
    steps = _STRING.sub(b"", data).translate(_STEPS, _OTHERS)
    if b"\x01" * (limit + 1) in steps:
        return True  # the usual attack, a run of openers: found without counting
    return max(accumulate(array("b", steps)), default=0) > limit


def loads(text: bytes | bytearray | str, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` that first refuses text nested deeper than ``limit`` (:class:`TooDeep`).

    Raises ValueError for text that is not JSON (json's own errors and UnicodeDecodeError
    are ValueErrors too) and TypeError, as json does, for what is not text at all.
    """
    if not isinstance(text, str | bytes | bytearray):
        raise TypeError(f"JSON text must be str or bytes, not {type(text).__name__}")
    if exceeds(text, limit):
        raise TooDeep(limit)
    return json.loads(text)
