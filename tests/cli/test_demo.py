"""``passmint demo --seed-only``: the demo tenant's cards are real loyalty cards whose passes
show the points their purchases earned."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import anyio

from passmint.cli.servedemo import DEMO_REWARD, demo_design
from passmint.config import Settings
from passmint.passes import service as passes
from passmint.runtime import Runtime
from passmint.tenants import sessions
from passmint.web.deps import staff_context
from tests.fixtures.cli import invoke


def test_demo_seeds_loyalty_cards_with_their_passes(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PASSMINT_DATA_DIR": str(tmp_path),
        "PASSMINT_SECRET_KEY": "d" * 43,
        "PASSMINT_QUEUE": "embedded",
    }
    env.pop("PASSMINT_DATABASE_URL", None)
    env.pop("PASSMINT_REDIS_URL", None)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "passmint"), "demo", "--seed-only"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("card ") == 3
    assert "/api/v1/activities" in done.stdout
    state = json.loads((tmp_path / "demo.json").read_text())

    async def points() -> dict[str, dict[str, object]]:
        runtime = Runtime(Settings(data_dir=tmp_path, secret_key="d" * 43))
        await runtime.start(worker=False, migrate=False)
        try:
            async with runtime.db.sessions() as session:
                ctx = runtime.pass_context(session, uuid.UUID(state["tenant_id"]))
                out = {}
                for item in state["passes"]:
                    pass_ = await passes.get_pass(ctx, uuid.UUID(item["id"]))
                    out[item["name"]] = pass_.data
                return out
        finally:
            await runtime.stop()

    data = anyio.run(points)
    # Ada: 40 welcome points, then 1,350 for 135.00 EUR at 1 point per 0.10 EUR
    assert data["Ada Lovelace"]["points"] == 1390
    assert data["Ada Lovelace"]["tier"] == "Gold"
    assert data["Grace Hopper"]["points"] == 40 + 274
    assert data["Grace Hopper"]["tier"] == "Silver"
    assert data["Alan Turing"]["points"] == 40
    # the card shows the program's one reward, named and priced in one place
    assert data["Alan Turing"]["next_reward"] == DEMO_REWARD["name"]
    assert data["Alan Turing"]["points_to_next_reward"] == DEMO_REWARD["cost"] - 40
    fields = demo_design("i", "l", "s")["fields"]
    shown = json.dumps(fields["auxiliary"])
    assert "{{ next_reward }}" in shown
    assert "{{ points_to_next_reward }}" in shown

    # what it prints is ready to paste: real values, no placeholders to fill in
    assert state["api_key"] in done.stdout
    assert state["passes"][0]["card_number"] in done.stdout
    for placeholder in ("<API key>", "<account>", "<card>", "FILE.pkpass"):
        assert placeholder not in done.stdout
    assert '"external_id": "till-1/\'"$(date +%s%N)"\'"' in done.stdout  # fresh per paste
    env_file = (tmp_path / "demo.env").read_text()
    assert f"KEY={state['api_key']}" in env_file
    assert "http://0.0.0.0" not in done.stdout
    # the admin app's owner: printed, in demo.env, and able to log in
    assert state["admin_email"] == "owner@demo.passmint.test"
    assert f"log in as {state['admin_email']} with the password {state['admin_password']}" in (
        done.stdout
    )
    assert "/admin" in done.stdout
    assert f"ADMIN_EMAIL={state['admin_email']}" in env_file
    assert f"ADMIN_PASSWORD={shlex.quote(state['admin_password'])}" in env_file

    async def log_in() -> object:
        runtime = Runtime(Settings(data_dir=tmp_path, secret_key="d" * 43))
        await runtime.start(worker=False, migrate=False)
        try:
            async with runtime.transaction() as session:
                result = await sessions.log_in(
                    staff_context(runtime, session), state["admin_email"], state["admin_password"]
                )
                return result.staff.role if result.staff else None
        finally:
            await runtime.stop()

    assert anyio.run(log_in) == "owner"


def _demo(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PASSMINT_DATA_DIR": str(tmp_path),
        "PASSMINT_SECRET_KEY": "d" * 43,
    }
    for name in ("PASSMINT_DATABASE_URL", "PASSMINT_REDIS_URL", "PASSMINT_PUBLIC_URL"):
        env.pop(name, None)
    return subprocess.run(
        [str(Path(sys.executable).parent / "passmint"), "demo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_a_busy_port_is_named_with_the_way_out(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _demo(tmp_path, "--port", str(port))
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert f"make demo PORT={port + 1}" in done.stderr
    assert not (tmp_path / "demo.json").exists()  # nothing seeded for a server that can't start


def test_a_demo_on_every_interface_prints_reachable_links(tmp_path: Path) -> None:
    done = _demo(tmp_path, "--host", "0.0.0.0", "--port", "8765", "--seed-only")  # noqa: S104
    assert done.returncode == 0, done.stderr
    assert "0.0.0.0:" not in done.stdout
    assert re.search(r"download: http://[^/\s]+:8765/p/", done.stdout)
    assert "PASSMINT_PUBLIC_URL" in done.stdout
    assert "a real iPhone refuses them until you upload your Pass Type ID" in done.stdout


def test_serve_on_an_empty_database_says_what_to_do_next(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PASSMINT_DATA_DIR": str(tmp_path), "PASSMINT_SECRET_KEY": "d" * 43}
    for name in ("PASSMINT_DATABASE_URL", "PASSMINT_REDIS_URL"):
        env.pop(name, None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "passmint"), "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert server.stderr is not None
    with server.stderr:
        try:
            seen = [server.stderr.readline() for _ in range(4)]
        finally:
            server.terminate()
            server.wait(timeout=20)
    text = "".join(seen)
    assert "has no tenant yet" in text
    assert "passmint tenants create" in text
    assert "make demo" in text


def test_boolean_flags_take_no_value_in_help() -> None:
    for command in (["serve"], ["demo"], ["dev-certs"], ["apple", "build"], ["tenants", "create"]):
        done = invoke({"COLUMNS": "120"}, *command, "--help")
        assert done.returncode == 0, done.stderr
        assert "--help" in done.stdout, done.stdout
        assert "<bool>" not in done.stdout, done.stdout
        assert "BOOLEAN" not in done.stdout, done.stdout
