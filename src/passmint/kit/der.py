"""A minimal DER (X.690) encoder and reader.

Enough for CMS SignedData: the signer assembles its output from pre-encoded parts (so the
per-pass cost is one digest and one private-key operation), and the verifier walks any
signature it is handed. Certificates themselves are parsed by ``cryptography``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

# Universal tags.
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31


class DerError(ValueError):
    """Malformed DER input."""


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + length(len(content)) + content


def seq(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    """DER SET OF: elements sorted by their encodings (X.690 §11.6)."""
    return tlv(SET, b"".join(sorted(parts)))


def integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)  # room for the sign bit
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def octet_string(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def null() -> bytes:
    return b"\x05\x00"


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2:
        raise DerError(f"an OID needs two arcs: {dotted!r}")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OID, bytes(body))


def explicit(number: int, content: bytes) -> bytes:
    """A context-specific constructed tag ``[number]`` around already-encoded content."""
    return tlv(0xA0 | number, content)


def signing_time(moment: datetime) -> bytes:
    """CMS Time: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5652 §11.3)."""
    moment = moment.astimezone(UTC)
    if 1950 <= moment.year < 2050:
        return tlv(UTC_TIME, moment.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return tlv(GENERALIZED_TIME, moment.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


@dataclass(frozen=True, slots=True)
class Node:
    """One decoded TLV: ``raw`` is the whole encoding, ``content`` the value octets."""

    tag: int
    raw: bytes
    content: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def children(self) -> list[Node]:
        if not self.constructed:
            raise DerError(f"tag 0x{self.tag:02x} is primitive")
        return list(iter_nodes(self.content))

    def as_int(self) -> int:
        self.expect(INTEGER)
        return int.from_bytes(self.content, "big", signed=True)

    def as_oid(self) -> str:
        self.expect(OID)
        if not self.content:
            raise DerError("empty OID")
        arcs: list[int] = []
        value = 0
        for byte in self.content:
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                arcs.append(value)
                value = 0
        first = arcs[0]
        head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
        return ".".join(str(a) for a in head + arcs[1:])

    def as_time(self) -> datetime:
        text = self.content.decode("ascii", "replace")
        if self.tag == UTC_TIME:
            parsed = datetime.strptime(text, "%y%m%d%H%M%SZ")  # noqa: DTZ007 - Z is UTC
        elif self.tag == GENERALIZED_TIME:
            parsed = datetime.strptime(text, "%Y%m%d%H%M%SZ")  # noqa: DTZ007 - Z is UTC
        else:
            raise DerError(f"tag 0x{self.tag:02x} is not a time")
        return parsed.replace(tzinfo=UTC)

    def expect(self, tag: int) -> Node:
        if self.tag != tag:
            raise DerError(f"expected tag 0x{tag:02x}, found 0x{self.tag:02x}")
        return self


def read(data: bytes, offset: int = 0) -> tuple[Node, int]:
    """Decode one TLV at ``offset``; return it and the offset after it."""
    if offset + 2 > len(data):
        raise DerError("truncated DER header")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not used in CMS")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        size = first
    elif first == 0x80:
        raise DerError("indefinite length is not DER")
    else:
        count = first & 0x7F
        if count > 4 or pos + count > len(data):
            raise DerError("bad DER length")
        size = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + size
    if end > len(data):
        raise DerError("DER value runs past the end of the data")
    return Node(tag, data[offset:end], data[pos:end]), end


def parse(data: bytes) -> Node:
    """Decode exactly one TLV that spans all of ``data``."""
    node, end = read(data)
    if end != len(data):
        raise DerError(f"{len(data) - end} trailing byte(s) after DER value")
    return node


def iter_nodes(data: bytes) -> Iterator[Node]:
    offset = 0
    while offset < len(data):
        node, offset = read(data, offset)
        yield node
