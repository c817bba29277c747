"""Backups of a whole installation: every table, portable between SQLite and PostgreSQL.

An archive is a gzipped tar, readable with any tar tool:

``manifest.json``
    the format, passmint's version, the schema revision (Alembic), the database it came
    from, the tables with their files, columns and row counts, and the master key's
    fingerprint.
``tables/NNN-<table>.jsonl``
    one JSON array per row, the columns in the manifest's order, the tables numbered in
    dependency order (a table after every table it references).
``secret.key``
    the master key, when it is a file in the data directory (``PASSMINT_SECRET_KEY`` is
    external: the archive then holds only its fingerprint, to check it at restore).

Values are written by column type, so that a dump of one database loads into the other:
UUIDs as text, datetimes and dates in ISO 8601 (UTC), binary columns in base64, JSON
columns as their JSON text (``null`` is SQL NULL, ``"null"`` a JSON null). Images live in
the ``assets`` table and rendered passes in ``pass_bundles``: both are in the archive.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import tarfile
import tempfile
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
    and_,
    bindparam,
    cast,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from passmint import __version__
from passmint.db import MIGRATIONS, WRITE_OPTION, Database
from passmint.errors import PassmintError
from passmint.kit.crypto import derive_key
from passmint.models import Base

FORMAT = "passmint-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
KEY_MEMBER = "secret.key"
BATCH = 1000


class BackupError(PassmintError):
    """An error of ``passmint backup`` and ``passmint restore`` (never an HTTP answer)."""

    http = False


class ArchiveInvalid(BackupError):
    """The file is not a passmint backup, or it is damaged."""

    code = "backup_invalid"


class RevisionMismatch(BackupError):
    """The archive's schema revision is not this passmint's (or the database's)."""

    code = "backup_revision_mismatch"
    status = 409


class DatabaseNotEmpty(BackupError):
    """Restore refuses to mix an archive into a database that holds data."""

    code = "restore_database_not_empty"
    status = 409


class MasterKeyMismatch(BackupError):
    """The master key this installation uses is not the one the archive was made with."""

    code = "backup_master_key_mismatch"
    status = 409


class MasterKeyMissing(BackupError):
    """No master key to archive, or none to restore with."""

    code = "backup_master_key_missing"


class UnsupportedColumn(BackupError):
    """A column of a type that backups do not know how to write (add it to ``_KINDS``)."""

    code = "backup_unsupported_column"
    status = 500


def key_fingerprint(master: bytes) -> str:
    """Tells two master keys apart without revealing either (a key derived for this only)."""
    return derive_key(master, "passmint backup fingerprint").hex()[:32]


def head_revision() -> str:
    """The newest schema revision this passmint knows."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


# -- values by column type -----------------------------------------------------------------

# JSON for loading: None is SQL NULL (a JSON null is passed as JSON.NULL), so both survive.
_JSON_LOAD = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _kind(column: Column[Any]) -> str:
    kind: TypeEngine[Any] = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    for base, name in _KINDS:
        if isinstance(kind, base):
            return name
    raise UnsupportedColumn(
        f"no backup codec for {column.table.name}.{column.name} ({kind!r})",
        details={"column": f"{column.table.name}.{column.name}"},
    )


_KINDS: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (JSON, "json"),
    (DateTime, "datetime"),
    (Date, "date"),
    (Uuid, "uuid"),
    (LargeBinary, "bytes"),
    (Boolean, "plain"),
    (Integer, "plain"),
    (Float, "plain"),
    (String, "plain"),
)


def _json_value(value: str) -> Any:
    loaded = json.loads(value)
    return JSON.NULL if loaded is None else loaded


_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "json": str,  # selected as its text
    "datetime": datetime.isoformat,
    "date": date.isoformat,
    "uuid": str,
    "bytes": lambda value: base64.b64encode(value).decode("ascii"),
    "plain": lambda value: value,
}
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "json": _json_value,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "uuid": uuid.UUID,
    "bytes": base64.b64decode,
    "plain": lambda value: value,
}


# -- backup --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableDump:
    name: str
    file: str
    columns: list[str]
    rows: int


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    revision: str
    tables: list[TableDump]
    key_included: bool

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)


async def write_backup(
    db: Database, path: Path, *, master_key: bytes, key_file: bytes | None, now: datetime
) -> BackupSummary:
    """Write the database (one consistent snapshot) and, when ``key_file`` holds the master
    key file's bytes, the key into a new archive at ``path``, created with mode 0600.
    ``master_key`` is the key in use, whose fingerprint goes into the manifest."""
    tables = Base.metadata.sorted_tables
    dumps: list[tuple[TableDump, IO[bytes]]] = []
    engine = db.engine
    if db.dialect == "postgresql":  # one snapshot for every table
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    try:
        async with engine.connect() as conn, conn.begin():
            revision = await conn.run_sync(_current_revision)
            head = head_revision()
            if revision != head:
                raise RevisionMismatch(
                    f"the database is at schema revision {revision}, this passmint at "
                    f"{head}: run `passmint migrate` first",
                    details={"database": revision, "passmint": head},
                )
            for number, table in enumerate(tables, start=1):
                handle = tempfile.TemporaryFile(dir=path.parent)  # noqa: SIM115 - closed below
                dump = TableDump(
                    name=table.name,
                    file=f"tables/{number:03d}-{table.name}.jsonl",
                    columns=[column.name for column in table.columns],
                    rows=await _dump_table(conn, table, handle),
                )
                dumps.append((dump, handle))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "passmint": __version__,
            "created_at": now.isoformat(),
            "revision": revision,
            "database": db.dialect,
            "master_key": {
                "in_archive": key_file is not None,
                "fingerprint": key_fingerprint(master_key),
            },
            "tables": [vars(dump) for dump, _ in dumps],
        }
        _write_archive(path, manifest, key_file, dumps, now)
    finally:
        for _, data in dumps:
            data.close()
    return BackupSummary(path, revision, [dump for dump, _ in dumps], key_file is not None)


async def _dump_table(conn: AsyncConnection, table: Table, out: IO[bytes]) -> int:
    kinds = [_kind(column) for column in table.columns]
    encoders = [_ENCODERS[kind] for kind in kinds]
    selected = [
        cast(column, Text).label(column.name) if kind == "json" else column
        for column, kind in zip(table.columns, kinds, strict=True)
    ]
    query = select(*selected).order_by(*table.primary_key.columns)
    rows = 0
    result = await conn.stream(query)
    async for partition in result.partitions(BATCH):
        lines = []
        for row in partition:
            values = [
                None if value is None else encode(value)
                for value, encode in zip(row, encoders, strict=True)
            ]
            lines.append(json.dumps(values, ensure_ascii=False, separators=(",", ":")))
        out.write(("\n".join(lines) + "\n").encode())
        rows += len(lines)
    return rows


def _write_archive(
    path: Path,
    manifest: dict[str, Any],
    key_file: bytes | None,
    dumps: list[tuple[TableDump, IO[bytes]]],
    now: datetime,
) -> None:
    """The archive, written beside ``path`` (mode 0600 from the start) and renamed onto it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:

            def add(name: str, size: int, data: IO[bytes]) -> None:
                info = tarfile.TarInfo(name)
                info.size = size
                info.mode = 0o600
                info.mtime = int(now.timestamp())
                tar.addfile(info, data)

            encoded = json.dumps(manifest, indent=2).encode()
            add(MANIFEST, len(encoded), io.BytesIO(encoded))
            if key_file is not None:
                add(KEY_MEMBER, len(key_file), io.BytesIO(key_file))
            for dump, data in dumps:
                size = data.tell()
                data.seek(0)
                add(dump.file, size, data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- restore -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archive:
    """What an archive says about itself, read before anything is restored."""

    path: Path
    manifest: dict[str, Any]
    key_file: bytes | None

    @property
    def revision(self) -> str:
        return str(self.manifest["revision"])

    @property
    def key_fingerprint(self) -> str:
        return str(self.manifest["master_key"]["fingerprint"])


def read_archive(path: Path) -> Archive:
    """The manifest and the key file of the archive at ``path`` (``ArchiveInvalid`` when it
    is not a passmint backup of this format)."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            manifest = json.loads(_member(tar, MANIFEST))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ArchiveInvalid(f"{path} is not a passmint backup")
            if manifest.get("format_version") != FORMAT_VERSION:
                raise ArchiveInvalid(
                    f"{path} is a backup of format {manifest.get('format_version')}; "
                    f"this passmint reads format {FORMAT_VERSION}"
                )
            in_archive = manifest["master_key"]["in_archive"]
            key_file = _member(tar, KEY_MEMBER) if in_archive else None
    except (*_DAMAGED, TypeError) as exc:
        raise ArchiveInvalid(f"{path} is not a readable passmint backup: {exc}") from exc
    return Archive(path, manifest, key_file)


# What a damaged or foreign archive raises while it is read (a missing file is an OSError).
_DAMAGED = (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, ValueError, KeyError)


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    if handle is None:
        raise ArchiveInvalid(f"{name} in the archive is not a file")
    return handle.read()


@dataclass(frozen=True)
class RestoreSummary:
    revision: str
    rows: int
    tables: int
    sequences: int


async def restore_backup(db: Database, archive: Archive, *, force: bool) -> RestoreSummary:
    """Load ``archive`` into the database at ``db`` (migrated to this passmint's schema) in
    one transaction: refused when the revisions differ, or when the database holds data
    and not ``force`` (which deletes that data first); tables in dependency order, then
    PostgreSQL's sequences moved past the restored values."""
    manifest = archive.manifest
    head = head_revision()
    if archive.revision != head:
        raise RevisionMismatch(
            f"the archive is at schema revision {archive.revision}, this passmint at "
            f"{head}: restore it with the passmint version that wrote it",
            details={"archive": archive.revision, "passmint": head},
        )
    dumped = {entry["name"]: entry for entry in manifest["tables"]}
    tables = Base.metadata.sorted_tables
    _check_tables(dumped, tables)
    rows = 0
    engine = db.engine.execution_options(**{WRITE_OPTION: True})  # BEGIN IMMEDIATE on SQLite
    with tarfile.open(archive.path, "r:gz") as tar:
        async with engine.connect() as conn, conn.begin():
            revision = await conn.run_sync(_current_revision)
            if revision != archive.revision:
                raise RevisionMismatch(
                    f"the database is at schema revision {revision}, the archive at "
                    f"{archive.revision}: run `passmint migrate` first",
                    details={"database": revision, "archive": archive.revision},
                )
            filled = [table.name for table in tables if await _has_rows(conn, table)]
            if filled and not force:
                raise DatabaseNotEmpty(
                    f"the database holds data ({', '.join(filled[:5])}"
                    f"{', …' if len(filled) > 5 else ''}): restore into an empty database, "
                    "or pass --force to replace everything in it",
                    details={"tables": filled},
                )
            if filled:
                await _clear(conn, tables)
            for table in tables:
                entry = dumped[table.name]
                try:
                    source = tar.extractfile(entry["file"])
                    if source is None:
                        raise ArchiveInvalid(f"{entry['file']} in the archive is not a file")
                    loaded = await _load_table(conn, table, entry["columns"], source)
                except _DAMAGED as exc:
                    raise ArchiveInvalid(f"{entry['file']} is damaged: {exc}") from exc
                if loaded != entry["rows"]:
                    raise ArchiveInvalid(
                        f"{entry['file']} holds {loaded} rows, the manifest says {entry['rows']}"
                    )
                rows += loaded
            sequences = await _reset_sequences(conn) if db.dialect == "postgresql" else 0
    return RestoreSummary(archive.revision, rows, len(tables), sequences)


def _check_tables(dumped: dict[str, dict[str, Any]], tables: list[Table]) -> None:
    names = {table.name for table in tables}
    if set(dumped) != names:
        raise ArchiveInvalid(
            "the archive's tables are not this schema's",
            details={
                "missing": sorted(names - set(dumped)),
                "unknown": sorted(set(dumped) - names),
            },
        )
    for table in tables:
        if set(dumped[table.name]["columns"]) != set(table.columns.keys()):
            raise ArchiveInvalid(f"the archive's columns of {table.name} are not this schema's")


async def _has_rows(conn: AsyncConnection, table: Table) -> bool:
    found = await conn.execute(select(literal(1)).select_from(table).limit(1))
    return found.first() is not None


async def _clear(conn: AsyncConnection, tables: list[Table]) -> None:
    if conn.dialect.name == "postgresql":
        names = ", ".join(conn.dialect.identifier_preparer.quote(t.name) for t in tables)
        await conn.execute(text(f"TRUNCATE {names}"))
        return
    for table in reversed(tables):
        await conn.execute(table.delete())


async def _load_table(
    conn: AsyncConnection, table: Table, columns: list[str], source: IO[bytes]
) -> int:
    """Insert the rows of one table file in batches. A column referencing its own table
    (a reversal's entry, a referrer's card) is filled by an update once every row is in,
    so the rows' order never matters."""
    kinds = [_kind(table.c[name]) for name in columns]
    decoders = [_DECODERS[kind] for kind in kinds]
    params = [f"v{index}" for index in range(len(columns))]
    insert = table.insert().values(
        {
            name: bindparam(param, type_=_JSON_LOAD if kind == "json" else table.c[name].type)
            for name, param, kind in zip(columns, params, kinds, strict=True)
        }
    )
    self_refs = {fk.parent.name for fk in table.foreign_keys if fk.column.table is table}
    deferred = [i for i, name in enumerate(columns) if name in self_refs]
    keys = [columns.index(column.name) for column in table.primary_key.columns]
    updates: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    count = 0
    for line in io.TextIOWrapper(source, encoding="utf-8"):
        if not line.strip():
            continue
        raw = json.loads(line)
        if len(raw) != len(columns):
            raise ArchiveInvalid(f"a row of {table.name} has {len(raw)} values, not {len(columns)}")
        values = [
            None if value is None else decode(value)
            for value, decode in zip(raw, decoders, strict=True)
        ]
        if any(values[i] is not None for i in deferred):
            updates.append(
                {f"k{i}": values[i] for i in keys} | {f"d{i}": values[i] for i in deferred}
            )
            for i in deferred:
                values[i] = None
        batch.append(dict(zip(params, values, strict=True)))
        count += 1
        if len(batch) >= BATCH:
            await conn.execute(insert, batch)
            batch = []
    if batch:
        await conn.execute(insert, batch)
    if updates:
        update = (
            table.update()
            .where(and_(*(table.c[columns[i]] == bindparam(f"k{i}") for i in keys)))
            .values({columns[i]: bindparam(f"d{i}") for i in deferred})
        )
        for start in range(0, len(updates), BATCH):
            await conn.execute(update, updates[start : start + BATCH])
    return count


async def _reset_sequences(conn: AsyncConnection) -> int:
    """Move every sequence owned by a column past the largest restored value, so that the
    next row gets a new number; the count of sequences set."""
    owned = await conn.execute(
        text(
            "SELECT table_name, column_name, "
            "pg_get_serial_sequence(quote_ident(table_name), column_name) AS sequence "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL"
        )
    )
    quote = conn.dialect.identifier_preparer.quote
    count = 0
    for table_name, column_name, sequence in owned.all():
        column, table = quote(column_name), quote(table_name)  # names the catalog gave
        setval = "SELECT setval(:sequence, COALESCE(MAX({c}), 1), MAX({c}) IS NOT NULL) FROM {t}"
        await conn.execute(text(setval.format(c=column, t=table)), {"sequence": sequence})
        count += 1
    return count


__all__ = [
    "Archive",
    "ArchiveInvalid",
    "BackupError",
    "BackupSummary",
    "DatabaseNotEmpty",
    "MasterKeyMismatch",
    "MasterKeyMissing",
    "RestoreSummary",
    "RevisionMismatch",
    "UnsupportedColumn",
    "head_revision",
    "key_fingerprint",
    "read_archive",
    "restore_backup",
    "write_backup",
]
