"""Code patterns, generation and normalization. Pure: randomness is passed in.

A code is what a customer types or a scanner reads (``SPRING-7KQ3-XH9D``). Before any
uniqueness check or lookup it is *normalized*: upper case, separators (space, ``-``, ``_``,
``.``) dropped, and the characters people confuse folded (``O`` → ``0``, ``I`` and ``L`` →
``1``), so ``spring 7kq3 xh9d`` finds the same code. Generated codes draw from a charset
without those characters by default.

A pattern is text where ``#`` stands for one random charset character and anything else
(letters, digits, ``-``) is literal: ``####-####``. Without a pattern a code is ``length``
random characters. A prefix is prepended to either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat

DEFAULT_CHARSET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
DEFAULT_LENGTH = 10
MAX_CODE_LENGTH = 64
MAX_PREFIX_LENGTH = 32
MAX_PATTERN_LENGTH = 64
MAX_INPUT_LENGTH = 200  # what a client may send as a code before normalization
SEPARATORS = " -_."
SLOT = "#"

_FOLD = {"O": "0", "I": "1", "L": "1"}
_TABLE: dict[int, int | None] = {ord(c): None for c in SEPARATORS}
for _lower in "abcdefghijklmnopqrstuvwxyz":
    _TABLE[ord(_lower)] = ord(_FOLD.get(_lower.upper(), _lower.upper()))
for _upper, _folded in _FOLD.items():
    _TABLE[ord(_upper)] = ord(_folded)
NORMALIZE = _TABLE
_NORMALIZED = re.compile(r"[A-Z0-9]{1,64}")
_LITERAL = re.compile(r"[A-Za-z0-9\-]*")

RandomBytes = Callable[[int], bytes]


class PatternError(ValueError):
    """A pattern, prefix, charset or length that cannot make codes; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normalize(text: str) -> str | None:
    """The normalized form of a code, or None when it cannot be one (empty, too long,
    characters other than letters, digits and separators)."""
    if len(text) > MAX_INPUT_LENGTH:
        return None
    folded = text.strip().translate(NORMALIZE)
    return folded if _NORMALIZED.fullmatch(folded) else None


@dataclass(frozen=True)
class CodeSpec:
    """How a batch's codes look: ``prefix`` + ``pattern`` with ``#`` filled from ``charset``
    (one representative per normalized character)."""

    prefix: str
    pattern: str
    charset: str

    @property
    def slots(self) -> int:
        return self.pattern.count(SLOT)

    @property
    def space(self) -> int:
        """How many distinct normalized codes the spec can make."""
        return int(len(self.charset) ** self.slots)

    def parts(self) -> list[str | int]:
        """Literal text and runs of slots, in order: ``A##-#`` → ``["A", 2, "-", 1]``."""
        out: list[str | int] = [self.prefix] if self.prefix else []
        for match in re.finditer(r"#+|[^#]+", self.pattern):
            piece = match.group()
            out.append(len(piece) if piece[0] == SLOT else piece)
        return out


def parse_spec(
    *,
    prefix: str | None,
    pattern: str | None,
    charset: str | None,
    length: int | None,
) -> CodeSpec:
    """Validate a batch's code settings; raise :class:`PatternError` naming the field."""
    prefix = prefix or ""
    if len(prefix) > MAX_PREFIX_LENGTH or not _LITERAL.fullmatch(prefix):
        raise PatternError(
            "prefix",
            f"a prefix is up to {MAX_PREFIX_LENGTH} letters, digits and dashes",
        )
    if pattern is not None and length is not None:
        raise PatternError("length", "give a pattern or a length, not both")
    if pattern is None:
        count = DEFAULT_LENGTH if length is None else length
        if not 1 <= count <= MAX_CODE_LENGTH:
            raise PatternError("length", f"length must be 1 to {MAX_CODE_LENGTH}")
        pattern = SLOT * count
    if (
        not pattern
        or len(pattern) > MAX_PATTERN_LENGTH
        or not _LITERAL.fullmatch(pattern.replace(SLOT, ""))
    ):
        raise PatternError(
            "pattern",
            "a pattern is up to 64 characters: # for a random character, letters, digits "
            "and dashes as they are",
        )
    if SLOT not in pattern:
        raise PatternError("pattern", "a pattern needs at least one # (a random character)")
    chars = DEFAULT_CHARSET if charset is None else charset
    representatives: dict[str, str] = {}
    for char in chars:
        folded = normalize(char)
        if folded is None or len(folded) != 1:
            raise PatternError("charset", "a charset holds letters and digits only")
        representatives.setdefault(folded, char)
    if len(representatives) < 2:
        raise PatternError(
            "charset", "a charset needs at least two distinct characters (O=0 and I=L=1)"
        )
    spec = CodeSpec(prefix=prefix, pattern=pattern, charset="".join(representatives.values()))
    if len((prefix + pattern).translate(NORMALIZE)) > MAX_CODE_LENGTH:
        raise PatternError(
            "pattern", f"codes would be longer than {MAX_CODE_LENGTH} characters once normalized"
        )
    return spec


def _random_text(charset: str, count: int, random_bytes: RandomBytes) -> str:
    """``count`` characters drawn uniformly from ``charset`` (rejection sampling on bytes,
    so no character is likelier than another)."""
    size = len(charset)
    limit = 256 - 256 % size
    table = bytes(ord(charset[b % size]) if b < limit else 0 for b in range(256))
    rejected = bytes(range(limit, 256))
    chunks: list[str] = []
    have = 0
    while have < count:
        want = count - have
        raw = random_bytes(want * 256 // limit + 64)
        text = raw.translate(table, rejected).decode("ascii")[:want]
        chunks.append(text)
        have += len(text)
    return "".join(chunks)


def generate(spec: CodeSpec, count: int, random_bytes: RandomBytes) -> tuple[list[str], list[str]]:
    """``count`` random codes of ``spec``: their display forms and their normalized forms,
    index by index. Duplicates are possible; callers dedupe."""
    if count <= 0:
        return [], []
    slots = spec.slots
    text = _random_text(spec.charset, count * slots, random_bytes)
    folded = text.translate(NORMALIZE)
    end = count * slots
    shown: list[Iterable[str]] = []
    normal: list[Iterable[str]] = []
    offset = 0
    for part in spec.parts():
        if isinstance(part, str):
            shown.append(repeat(part, count))
            normal.append(repeat(part.translate(NORMALIZE), count))
            continue
        stop = offset + part
        shown.append([text[i : i + part] for i in range(offset, end, slots)])
        normal.append([folded[i : i + part] for i in range(offset, end, slots)])
        offset = stop
    return (
        list(map("".join, zip(*shown, strict=False))),
        list(map("".join, zip(*normal, strict=False))),
    )
