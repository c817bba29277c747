"""``passmint users create`` and ``passmint users list``: the first owner of a tenant from
the command line, with clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.fixtures.cli import Done, invoke

PASSMINT = str(Path(sys.executable).parent / "passmint")
_UNSET = ("PASSMINT_DATABASE_URL", "PASSMINT_REDIS_URL", "PASSMINT_PUBLIC_URL")


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PASSMINT_DATA_DIR": str(tmp_path), "PASSMINT_SECRET_KEY": "u" * 43}


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``passmint`` as a process, as a person runs it."""
    env = {**os.environ, **_env(tmp_path)}
    for name in _UNSET:
        env.pop(name, None)
    return subprocess.run(
        [PASSMINT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def run_here(tmp_path: Path, *args: str, stdin: str | None = None) -> Done:
    """The same command in this process, for the answers that do not depend on being one."""
    return invoke({**_env(tmp_path), **dict.fromkeys(_UNSET)}, *args, stdin=stdin)


@pytest.fixture
def tenant_id(tmp_path: Path) -> str:
    made = run_here(tmp_path, "tenants", "create", "Café Lumen", "--json")
    assert made.returncode == 0, made.stderr
    found: str = json.loads(made.stdout)["tenant_id"]
    return found


def test_create_the_first_owner_and_list_the_members(tmp_path: Path, tenant_id: str) -> None:
    made = run(
        tmp_path, "users", "create", "Owner@Lumen.example", "--tenant", tenant_id,
        "--role", "owner", "--password-stdin", "--json", stdin="a long password\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["email"] == "owner@lumen.example"
    assert (created["role"], created["created"], created["tenant_id"]) == ("owner", True, tenant_id)
    # an existing user joins another role's tenant without a new password
    other = run_here(tmp_path, "tenants", "create", "Nord", "--json")
    other_id = json.loads(other.stdout)["tenant_id"]
    joined = run_here(tmp_path, "users", "create", "owner@lumen.example", "--tenant", other_id,
                 "--role", "viewer")  # fmt: skip
    assert joined.returncode == 0, joined.stderr
    assert "existing user, password unchanged" in joined.stdout
    assert "/admin" in joined.stdout
    listed = run_here(tmp_path, "users", "list", "--tenant", tenant_id, "--json")
    assert listed.returncode == 0, listed.stderr
    [member] = json.loads(listed.stdout)
    assert (member["email"], member["role"], member["totp"]) == (
        "owner@lumen.example",
        "owner",
        False,
    )
    plain = run_here(tmp_path, "users", "list", "--tenant", other_id)
    assert "owner@lumen.example" in plain.stdout
    assert "viewer" in plain.stdout


def test_errors_are_clear(tmp_path: Path, tenant_id: str) -> None:
    cases = [
        (["--tenant", str(uuid.uuid4())], "a long password\n", "error: not_found: no tenant"),
        (["--tenant", "not-a-uuid"], "a long password\n", "is not a tenant id"),
        (["--tenant", tenant_id, "--role", "emperor"], "a long password\n", "error: invalid_role"),
        (["--tenant", tenant_id], "short\n", "error: password_too_short"),
        (["--tenant", tenant_id], "ada@lumen.example\n", "error: password_equals_email"),
    ]
    for extra, stdin, expected in cases:
        done = run_here(
            tmp_path,
            "users",
            "create",
            "ada@lumen.example",
            *extra,
            "--password-stdin",
            stdin=stdin,
        )
        assert done.returncode != 0, (extra, done.stdout)
        assert expected in done.stderr, (extra, done.stderr)
    bad_email = run_here(
        tmp_path,
        "users",
        "create",
        "ada",
        "--tenant",
        tenant_id,
        "--password-stdin",
        stdin="a long password\n",
    )
    assert "error: invalid_email" in bad_email.stderr
    first = run_here(
        tmp_path,
        "users",
        "create",
        "ada@lumen.example",
        "--tenant",
        tenant_id,
        "--role",
        "marketer",
        "--password-stdin",
        stdin="a long password\n",
    )
    assert first.returncode == 0, first.stderr
    again = run_here(tmp_path, "users", "create", "ada@lumen.example", "--tenant", tenant_id)
    assert again.returncode == 1
    assert "error: already_member" in again.stderr
    # without a terminal and without --password-stdin, it says how to give the password
    no_tty = run_here(
        tmp_path, "users", "create", "bo@lumen.example", "--tenant", tenant_id, stdin=""
    )
    assert no_tty.returncode != 0
    assert "--password-stdin" in no_tty.stderr
    missing = run_here(tmp_path, "users", "list", "--tenant", str(uuid.uuid4()))
    assert "error: not_found" in missing.stderr
