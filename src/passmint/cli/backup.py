"""``passmint backup`` and ``passmint restore``: a whole installation in one archive."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from passmint.cli.common import fail_on_errors, write_private_file
from passmint.config import Settings, get_settings
from passmint.db import Database, run_migrations
from passmint.kit.clock import utcnow
from passmint.kit.crypto import parse_master_key
from passmint.ops.backup import (
    Archive,
    MasterKeyMismatch,
    MasterKeyMissing,
    key_fingerprint,
    read_archive,
    restore_backup,
    write_backup,
)
from passmint.runtime import master_key_file


@fail_on_errors
def backup(
    file: Annotated[Path, typer.Argument(help="The archive to write (.tar.gz).")],
) -> None:
    """Write every table (images included) and the master key file into FILE.

    The database is read in one snapshot, so the server may keep running. FILE is created
    with mode 0600: it holds the master key when that is a file in the data directory.
    """
    settings = get_settings()
    if settings.secret_key:
        master, key_file = parse_master_key(settings.secret_key), None
    else:
        path = master_key_file(settings)
        if not path.exists():
            raise MasterKeyMissing(
                f"no master key: PASSMINT_SECRET_KEY is unset and {path} does not exist"
            )
        key_file = path.read_bytes()
        master = parse_master_key(key_file.decode())

    async def run() -> None:
        db = Database(settings.resolved_database_url())
        try:
            summary = await write_backup(
                db, file, master_key=master, key_file=key_file, now=utcnow()
            )
        finally:
            await db.dispose()
        typer.echo(
            f"wrote {file}: {len(summary.tables)} tables, {summary.rows} rows, "
            f"schema revision {summary.revision}"
        )

    asyncio.run(run())
    if key_file is not None:
        typer.echo(
            f"warning: {file} holds the master key: whoever has it can read every stored "
            "secret. Keep it as safe as the key (it is readable by its owner only).",
            err=True,
        )
    else:
        typer.echo(
            "note: the master key is PASSMINT_SECRET_KEY, which is not in the archive: "
            "keep it with the archive (restore checks that it is the same key).",
            err=True,
        )


@fail_on_errors
def restore(
    file: Annotated[Path, typer.Argument(help="An archive written by `passmint backup`.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace the data of a database that is not empty (and its key)."
        ),
    ] = False,
) -> None:
    """Restore FILE into the configured database, and its master key into the data directory.

    The database is migrated first and must then be at the archive's schema revision;
    one that holds data is refused unless --force. Stop the servers and workers first.
    """
    settings = get_settings()
    archive = read_archive(file)
    key_to_write = _master_key_to_write(settings, archive, force=force)
    url = settings.resolved_database_url()
    run_migrations(url)

    async def run() -> None:
        db = Database(url)
        try:
            summary = await restore_backup(db, archive, force=force)
        finally:
            await db.dispose()
        typer.echo(
            f"restored {file}: {summary.tables} tables, {summary.rows} rows, "
            f"schema revision {summary.revision}"
        )

    asyncio.run(run())
    if key_to_write is not None:
        path = master_key_file(settings)
        write_private_file(path, key_to_write, private=True)
        typer.echo(f"wrote the master key to {path}")


def _master_key_to_write(settings: Settings, archive: Archive, *, force: bool) -> bytes | None:
    """The archive's key file when it must be written to the data directory; refuses a
    master key in use that is not the archive's (its secrets would not decrypt)."""
    if archive.key_file is not None and (
        key_fingerprint(parse_master_key(archive.key_file.decode())) != archive.key_fingerprint
    ):
        raise MasterKeyMismatch("the archive's key file does not match its manifest")
    if settings.secret_key:
        if key_fingerprint(parse_master_key(settings.secret_key)) != archive.key_fingerprint:
            raise MasterKeyMismatch(
                "PASSMINT_SECRET_KEY is not the master key this archive was made with: "
                "set it to that key"
                + (", or unset it to use the key file in the archive" if archive.key_file else "")
            )
        return None
    path = master_key_file(settings)
    if path.exists():
        if key_fingerprint(parse_master_key(path.read_text())) == archive.key_fingerprint:
            return None
        if archive.key_file is None:
            raise MasterKeyMismatch(
                f"{path} is not the master key this archive was made with, which was "
                "PASSMINT_SECRET_KEY: set PASSMINT_SECRET_KEY to it"
            )
        if not force:
            raise MasterKeyMismatch(
                f"{path} holds another master key than the archive's: "
                "pass --force to replace it (with the database's data)"
            )
        return archive.key_file
    if archive.key_file is None:
        raise MasterKeyMissing(
            "the archive was made with PASSMINT_SECRET_KEY, which it does not hold: "
            "set PASSMINT_SECRET_KEY to that key"
        )
    return archive.key_file
