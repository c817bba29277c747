from __future__ import annotations

import io
import zipfile

from passmint.kit.zipwriter import ZipEntry, write_zip


def test_archive_reads_back_with_zipfile() -> None:
    files = {
        "pass.json": b'{"a": 1}' * 100,
        "icon.png": b"\x89PNG" + bytes(range(256)) * 3,
        "ar.lproj/pass.strings": '"POINTS" = "النقاط";'.encode(),
        "é.png": b"x",
    }
    data = write_zip(ZipEntry.make(n, d) for n, d in files.items())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == list(files)
        for name, content in files.items():
            assert archive.read(name) == content
        infos = {i.filename: i for i in archive.infolist()}
    assert infos["pass.json"].compress_type == zipfile.ZIP_DEFLATED
    assert infos["icon.png"].compress_type == zipfile.ZIP_STORED


def test_output_is_deterministic() -> None:
    entries = [ZipEntry.make("a.json", b"{}" * 500), ZipEntry.make("b", b"1")]
    assert write_zip(entries) == write_zip(entries)


def test_incompressible_data_is_stored() -> None:
    import os

    entry = ZipEntry.make("noise.json", os.urandom(4096))
    assert entry.method == 0


def test_empty_archive() -> None:
    with zipfile.ZipFile(io.BytesIO(write_zip([]))) as archive:
        assert archive.namelist() == []
