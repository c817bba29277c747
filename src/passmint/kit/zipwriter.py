"""A small, fast, deterministic ZIP writer for bundles made of many small entries.

``zipfile`` costs tens of microseconds per entry; pass bundles are rebuilt thousands of times
from the same images. Here an entry is encoded once (``ZipEntry``: local header + data) and
reused; writing an archive is concatenation plus the central directory. Timestamps are fixed
(1980-01-01) so identical inputs give identical archives.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_DOS_TIME = 0
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_UTF8_FLAG = 0x0800
MAX_ENTRIES = 0xFFFF
MAX_SIZE = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class ZipEntry:
    name: bytes
    method: int
    crc: int
    size: int
    compressed_size: int
    local: bytes  # local file header + (compressed) data

    @classmethod
    def make(cls, name: str, data: bytes, *, compress: bool | None = None) -> ZipEntry:
        """Encode one entry. By default text-like entries above 256 bytes are deflated."""
        raw_name = name.encode("utf-8")
        if compress is None:
            compress = len(data) > 256 and not name.lower().endswith(".png")
        payload = data
        method = 0
        if compress:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            deflated = compressor.compress(data) + compressor.flush()
            if len(deflated) < len(data):
                payload, method = deflated, 8
        if len(payload) > MAX_SIZE or len(data) > MAX_SIZE:
            raise ValueError(f"{name}: entries over 4 GiB are not supported")
        crc = zlib.crc32(data)
        header = _LOCAL.pack(
            0x04034B50,
            20,
            _UTF8_FLAG,
            method,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            len(payload),
            len(data),
            len(raw_name),
            0,
        )
        return cls(raw_name, method, crc, len(data), len(payload), header + raw_name + payload)


def write_zip(entries: Iterable[ZipEntry]) -> bytes:
    """The archive holding ``entries`` in order."""
    parts: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    count = 0
    for entry in entries:
        central.append(
            _CENTRAL.pack(
                0x02014B50,
                20,
                20,
                _UTF8_FLAG,
                entry.method,
                _DOS_TIME,
                _DOS_DATE,
                entry.crc,
                entry.compressed_size,
                entry.size,
                len(entry.name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + entry.name
        )
        parts.append(entry.local)
        offset += len(entry.local)
        count += 1
    if count > MAX_ENTRIES or offset > MAX_SIZE:
        raise ValueError("archive too large for a non-ZIP64 writer")
    directory = b"".join(central)
    end = _END.pack(0x06054B50, 0, 0, count, count, len(directory), offset, 0)
    return b"".join(parts) + directory + end
