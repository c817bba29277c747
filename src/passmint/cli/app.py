"""Composition of the Typer application: one sub-app per domain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from passmint.cli import apple, backup, demo, servedemo, server, users
from passmint.cli.common import fail_on_errors, write_private_file
from passmint.kit.clock import utcnow
from passmint.wallet.apple.devpki import DEFAULT_PASS_TYPE_ID, DEFAULT_TEAM_ID, generate_dev_pki

app = typer.Typer(
    name="passmint",
    help="passmint: wallet passes and the loyalty programs behind them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(apple.app, name="apple")
app.command("serve")(server.serve)
app.command("demo")(servedemo.demo)
app.command("worker")(server.worker)
app.command("migrate")(server.migrate)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.add_typer(server.tenants, name="tenants")
app.add_typer(users.app, name="users")
apple.app.command("demo")(demo.demo)


@app.command("dev-certs")
@fail_on_errors
def dev_certs(
    directory: Annotated[Path, typer.Argument(help="Where to write the test PKI.")],
    pass_type_id: Annotated[
        str, typer.Option("--pass-type-id", help="Pass type identifier (pass.…).")
    ] = DEFAULT_PASS_TYPE_ID,
    team_id: Annotated[str, typer.Option("--team-id", help="Team identifier (the OU).")] = (
        DEFAULT_TEAM_ID
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write a throwaway test PKI: ca.pem, wwdr.pem, pass-cert.pem, pass-key.pem.

    Passes signed with it verify against ca.pem (``passmint apple verify --ca``), never on a
    phone: use Apple's Pass Type ID certificate for real passes.
    """
    if not pass_type_id.startswith("pass."):
        raise typer.BadParameter("must start with 'pass.'", param_hint="--pass-type-id")
    if not team_id or not team_id.isalnum():
        raise typer.BadParameter("must be letters and digits", param_hint="--team-id")
    files = generate_dev_pki(now=utcnow(), pass_type_id=pass_type_id, team_id=team_id).files()
    existing = [name for name in files if (directory / name).exists()]
    if existing and not force:
        raise typer.BadParameter(
            f"{', '.join(existing)} already exist in {directory}: pass --force to replace them"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_private_file(directory / name, data, private=name.endswith("key.pem"))
    typer.echo(f"wrote {', '.join(files)} to {directory} for {pass_type_id} (team {team_id})")


@app.command("doctor")
def doctor(
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (default: PASSMINT_DATABASE_URL or SQLite).")
    ] = None,
    redis_url: Annotated[
        str | None, typer.Option(help="Redis URL (default: PASSMINT_REDIS_URL; skipped if unset).")
    ] = None,
) -> None:
    """Check that the database (and Redis, when configured) answer."""
    import asyncio

    from passmint.config import get_settings
    from passmint.health import check_database, check_redis

    settings = get_settings()
    db_url = database_url or settings.resolved_database_url()
    r_url = redis_url or settings.redis_url

    async def run() -> list[tuple[str, bool, str]]:
        results = [await check_database(db_url)]
        if r_url:
            results.append(await check_redis(r_url))
        return [(c.name, c.ok, c.detail) for c in results]

    results = asyncio.run(run())
    for name, ok, detail in results:
        typer.echo(f"{name}: {'ok' if ok else 'FAILED'}: {detail}")
    raise typer.Exit(0 if all(ok for _, ok, _ in results) else 1)
