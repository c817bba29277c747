"""README.md is executable documentation: every shell block runs as written, in order,
against a fresh ``make demo``, the way a new user pastes it; the design shown is the example
file; every ``passmint …`` command quoted inline parses with the CLI as it is."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer.main
from typer.core import TyperGroup

from passmint.cli import app as cli_app
from tests.fixtures.google_server import FakeGoogleWallet
from tests.passes.google import discovery

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(\w*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*doctest:\s*(.+?)\s*-->\s*$")
# What a reader would have to fill in: such a block cannot run as written.
PLACEHOLDERS = re.compile(r"…|\.\.\.|<[A-Za-z][A-Za-z ]*>|\{…\}|\bID\b|\bFILE\b")


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # of the opening fence, 1-based
    directive: str  # "" (run it), "serve …", "skip …", "same as <path>"


def readme_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opened = FENCE.match(lines[index])
        if opened is None:
            index += 1
            continue
        before = lines[index - 1] if index else ""
        directive = DIRECTIVE.match(before)
        end = index + 1
        while not lines[end].startswith("```"):
            end += 1
        code = "\n".join(lines[index + 1 : end]) + "\n"
        blocks.append(
            Block(opened.group(1), code, index + 1, directive.group(1) if directive else "")
        )
        index = end + 1
    return blocks


def shell_blocks() -> list[Block]:
    return [b for b in readme_blocks(README.read_text()) if b.lang in ("sh", "bash", "shell")]


def test_the_readme_has_runnable_shell_blocks_without_placeholders() -> None:
    blocks = shell_blocks()
    runnable = [b for b in blocks if not b.directive.startswith("skip")]
    assert len(runnable) >= 5
    assert any(b.directive.startswith("serve") for b in blocks)
    for block in runnable:
        for number, line in enumerate(block.code.splitlines(), start=block.line + 1):
            code = line.split("  #", 1)[0]  # a trailing comment may say anything
            found = PLACEHOLDERS.search(code)
            assert found is None, f"README.md:{number}: a placeholder {found.group()!r}: {line}"
    for block in blocks:
        if block.directive.startswith("skip"):
            assert "(" in block.directive, f"README.md:{block.line}: a skip says why"


def test_the_design_in_the_readme_is_the_example_file() -> None:
    json_blocks = [b for b in readme_blocks(README.read_text()) if b.lang == "json"]
    assert json_blocks
    for block in json_blocks:
        assert block.directive.startswith("same as "), f"README.md:{block.line}"
        path = ROOT / block.directive.removeprefix("same as ").strip()
        assert json.loads(block.code) == json.loads(path.read_text())
        assert block.code == path.read_text()


def _inline_commands() -> list[str]:
    spans = re.findall(r"`(passmint [^`]+)`", README.read_text())
    return sorted(set(spans))


def test_every_inline_passmint_command_parses() -> None:
    commands = _inline_commands()
    assert "passmint serve --no-worker --workers 2" in commands
    root = typer.main.get_command(cli_app)
    for command in commands:
        args = shlex.split(command)[1:]
        current: Any = root
        while isinstance(current, TyperGroup):
            assert args, command
            context = current.make_context("passmint", list(args), resilient_parsing=True)
            sub = current.get_command(context, args[0])
            assert sub is not None, f"{command}: no command {args[0]!r}"
            current, args = sub, args[1:]
        assert not isinstance(current, TyperGroup)
        if not args:
            continue  # a command named in prose ("verify with `passmint apple verify`")
        # unknown options, missing arguments and bad values raise here
        with current.make_context(current.name or "passmint", list(args)):
            pass
    serve: Any = root.get_command(  # type: ignore[attr-defined]
        root.make_context("passmint", ["serve"], resilient_parsing=True), "serve"
    )
    with pytest.raises(Exception, match="No such option"):  # the check above can fail
        serve.make_context("serve", ["--no-such-option"])


# -- the doc test -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def google_peer() -> Iterator[FakeGoogleWallet]:
    with FakeGoogleWallet(discovery(), issuer_id="3388000000012345678") as peer:
        yield peer


def _workdir(tmp_path: Path) -> Path:
    """A fresh folder that looks like a clone after `make` set it up: the README's relative
    paths (examples/, .venv/, data/) resolve as in the repository, and nothing it writes
    lands in the repository."""
    work = tmp_path / "clone"
    work.mkdir()
    # The admin app's front-end libraries are built already (src/…/vendor/.built is newer
    # than the npm files), so `make demo` here runs no `npm ci`.
    # README.md: an editable reinstall (after pyproject.toml changed) reads it.
    names = ["Makefile", "pyproject.toml", "requirements.lock", "README.md"]
    for name in (*names, "package.json", "package-lock.json", "examples", "src"):
        (work / name).symlink_to(ROOT / name)
    (work / ".venv").symlink_to(VENV_BIN.parent)
    return work


def _environment(port: int, peer: FakeGoogleWallet, key_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PASSMINT_", "VIRTUAL_ENV"))}
    # `passmint` is not on the PATH until the README's activation step puts it there.
    path = [p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != VENV_BIN]
    env["PATH"] = os.pathsep.join(path)
    env.update(
        PORT=str(port),
        # Google Wallet fetches images over https: the passes name this (unreached) host.
        PASSMINT_PUBLIC_URL="https://passes.example.test",
        PASSMINT_GOOGLE_API_URL=peer.base_url,
        PASSMINT_GOOGLE_ROOT_KEYS_URL=peer.root_keys_url,
        GOOGLE_ISSUER_ID=str(peer.issuer_id),
        GOOGLE_KEY_FILE=str(key_file),
    )
    return env


def _wait_for_demo(work: Path, port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"make demo exited with {server.returncode}:\n{log.read_text()}")
        if (work / "data" / "demo.env").exists():
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        time.sleep(0.3)
    pytest.fail(f"make demo did not serve within 180 s:\n{log.read_text()}")


PRELUDE = """\
set -eo pipefail
# A README curl that gets a 4xx or 5xx fails the block (and shows the error body).
curl() { command curl --fail-with-body --silent --show-error "$@"; }
"""


def _paste_the_demo_printout_twice(work: Path, env: dict[str, str], printed: str) -> None:
    """The commands `make demo` prints run as printed, and pasting them again posts a new
    purchase rather than replaying the first (a fresh external id each time)."""
    start = printed.index("Try it from this folder")
    lines = printed[start:].splitlines()[1:]
    commands = "\n".join(
        line[2:]
        for line in lines[: next(i for i, line in enumerate(lines) if not line.startswith("  "))]
    )
    assert "<" not in commands.replace("<<", "")  # no <API key>, <card>, <account>
    for _ in range(2):
        done = subprocess.run(
            ["bash", "-c", PRELUDE + commands],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{commands}\n{done.stderr}\n{done.stdout}"
        assert '"replayed":false' in done.stdout.replace(" ", ""), done.stdout
        assert "valid" in done.stdout


def test_every_shell_block_of_the_readme_runs_against_a_fresh_demo(
    tmp_path: Path, google_peer: FakeGoogleWallet
) -> None:
    for tool in ("curl", "jq"):
        assert shutil.which(tool), f"the README's examples use {tool}: install it"
    work = _workdir(tmp_path)
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(google_peer.new_service_account()))
    port = _free_port()
    env = _environment(port, google_peer, key_file)
    blocks = shell_blocks()
    serving = [b for b in blocks if b.directive.startswith("serve")]
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["bash", "-c", PRELUDE + "".join(b.code for b in serving)],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_demo(work, port, server, log)
        _paste_the_demo_printout_twice(work, env, log.read_text())
        script = PRELUDE
        for block in blocks:
            if block.directive:
                continue
            script += f'echo "=== README.md:{block.line}" >&2\n{block.code}'
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (
            f"a README block failed (the last '=== README.md:N' names it):\n"
            f"{done.stderr[-6000:]}\n--- stdout ---\n{done.stdout[-4000:]}"
        )
        assert "valid" in done.stdout
        assert '"replayed"' in done.stdout  # the purchase and the activity answered
        assert '"status":"committed"' in done.stdout.replace(" ", "")  # the redemption
        # After the Google block, the card opened in the loyalty block lives in Google Wallet.
        deadline = time.monotonic() + 30
        while not any(kind.endswith("Object") for kind, _ in google_peer.resources):
            assert time.monotonic() < deadline, (
                f"no pass reached the Google Wallet peer:\n{log.read_text()[-4000:]}"
            )
            time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_the_architecture_page_names_every_package() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    packages = sorted(
        p.name for p in (ROOT / "src" / "passmint").iterdir() if p.is_dir() and any(p.glob("*.py"))
    )
    missing = [name for name in packages if f"{name}/" not in page]
    assert not missing, f"docs/architecture.md does not describe {missing}"
    assert "docs/architecture.md" in README.read_text()
