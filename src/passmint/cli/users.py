"""``passmint users``: the staff who log in to the admin app (the first owner of a tenant,
and a look at who is in one)."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from passmint.cli.common import fail_on_errors
from passmint.config import get_settings
from passmint.db import run_migrations
from passmint.tenants.roles import Role, describe, parse_role

T = TypeVar("T")

app = typer.Typer(help="Staff users who log in to the admin app.", no_args_is_help=True)

ROLES_HELP = "; ".join(f"{role.value}: {describe(role)}" for role in Role)


def _tenant_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a tenant id", param_hint="--tenant") from None


def _run(work: Callable[..., Awaitable[T]], *, migrate: bool = True) -> T:
    """Run ``work(ctx)`` in one transaction against the configured database (migrated
    first, unless a step before did)."""
    from passmint.runtime import Runtime
    from passmint.web.deps import staff_context

    async def run() -> T:
        runtime = Runtime(get_settings())
        if migrate:
            await asyncio.to_thread(run_migrations, runtime.db.url)
        try:
            async with runtime.transaction() as session:
                return await work(staff_context(runtime, session))
        finally:
            await runtime.stop()

    return asyncio.run(run())


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise typer.BadParameter(
            "no terminal to ask for the password on: pass it with --password-stdin",
            param_hint="--password-stdin",
        )
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@app.command("create")
@fail_on_errors
def create(
    email: Annotated[str, typer.Argument(help="The user's email address (their login).")],
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant's id.")],
    role: Annotated[str, typer.Option("--role", help=f"The role. {ROLES_HELP}")] = "owner",
    name: Annotated[
        str | None, typer.Option("--name", help="Their name (default: the email's local part).")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make EMAIL a member of a tenant (the first owner, typically). A new user gets a
    password (asked for, hidden, or read from stdin); an existing one keeps theirs."""
    from passmint.tenants import accounts, members
    from passmint.tenants.accounts import StaffContext

    tenant_id = _tenant_id(tenant)
    chosen = parse_role(role)
    address = accounts.normalize_email(email)

    async def exists(ctx: StaffContext) -> bool:
        return await accounts.find_user(ctx, address) is not None

    password = None if _run(exists) else _read_password(password_stdin)
    if password is not None:
        accounts.check_password(password, address)

    async def add(ctx: StaffContext) -> tuple[members.Member, bool]:
        return await members.add_member(
            ctx, tenant_id, email=address, role=chosen, name=name, password=password
        )

    member, created = _run(add, migrate=False)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "user_id": str(member.user_id),
                    "email": member.email,
                    "tenant_id": str(tenant_id),
                    "role": member.role.value,
                    "created": created,
                }
            )
        )
        return
    what = "new user" if created else "existing user, password unchanged"
    typer.echo(f"{member.email} ({what}) is now {member.role.value} of tenant {tenant_id}")
    typer.echo(f"log in at {get_settings().public_url.rstrip('/')}/admin")


@app.command("list")
@fail_on_errors
def list_users(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The members of a tenant with their roles."""
    from passmint.tenants import members
    from passmint.tenants.accounts import StaffContext

    tenant_id = _tenant_id(tenant)

    async def load(ctx: StaffContext) -> list[members.Member]:
        return await members.members(ctx, tenant_id)

    found = _run(load)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "user_id": str(m.user_id),
                        "email": m.email,
                        "name": m.name,
                        "role": m.role.value,
                        "totp": m.totp_enabled,
                        "disabled": m.disabled,
                        "last_login_at": m.last_login_at.isoformat() if m.last_login_at else None,
                    }
                    for m in found
                ]
            )
        )
        return
    if not found:
        typer.echo("no members yet: passmint users create EMAIL --tenant … --role owner")
        return
    for m in found:
        seen = f"{m.last_login_at:%Y-%m-%d %H:%M}" if m.last_login_at else "never"
        flags = " 2FA" if m.totp_enabled else ""
        flags += " disabled" if m.disabled else ""
        typer.echo(f"{m.email:<40} {m.role.value:<9} last login {seen}{flags}  {m.name}")
