"""A real ``passmint serve`` with the demo's data, for the browser tests and ``make
screenshots``: the installed ``passmint`` command, a free port on 127.0.0.1, a data directory
of its own, the embedded worker, on SQLite or a scratch PostgreSQL database."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from tests.ops.conftest import BIN, command_env, start, stop, wait_healthy
from tests.service.conftest import pg_execute
from tests.service.test_serve_e2e import free_port

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class UiServer:
    """A running server and the demo data ``passmint demo --seed-only`` gave it."""

    base_url: str  # http://127.0.0.1:PORT, no trailing slash
    backend: str  # "sqlite" or "postgresql"
    database_url: str
    data_dir: Path
    env: dict[str, str]  # the environment of a ``passmint`` command against this server
    log: Path
    demo: dict[str, Any]  # data_dir/demo.json: tenant_id, api_key, program_id, passes, …

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the only host a page may load anything from."""
        return self.base_url.split("://", 1)[1]

    def url(self, path: str) -> str:
        return self.base_url + path

    def values(self) -> dict[str, str]:
        """The demo's ids as ``str.format`` fields for screen paths: ``tenant_id``,
        ``program_id``, ``template_id`` and, of the first card, ``pass_id``, ``pass_token``,
        ``account_id`` and ``card_number``."""
        first = self.demo["passes"][0]
        return {
            "tenant_id": self.demo["tenant_id"],
            "program_id": self.demo["program_id"],
            "template_id": self.demo["template_id"],
            "pass_id": first["id"],
            "pass_token": first["token"],
            "account_id": first["account_id"],
            "card_number": first["card_number"],
        }

    def passmint(
        self, *args: str, timeout: float = 120, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``passmint ARGS`` against this server's database and data directory
        (``input_text`` on its standard input)."""
        return subprocess.run(
            [str(BIN / "passmint"), *args],
            env=self.env,
            input=input_text,
            capture_output=True,
            text=True,
            check=True,
            timeout=timeout,
        )


def in_thread(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` in a thread of its own. While Playwright's sync API is
    started, this thread counts as running an event loop, and ``asyncio.run`` refuses to
    start here: a test that calls async code (a service, ``pg_execute``) goes through this."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


@contextmanager
def scratch_postgres(base: str, name: str) -> Iterator[str]:
    """An empty PostgreSQL database ``name`` on the server of ``base``, dropped afterwards."""
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    in_thread(pg_execute, base, drop, f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        in_thread(pg_execute, base, drop)


@contextmanager
def running_server(
    workdir: Path, database_url: str | None = None, **settings: str
) -> Iterator[UiServer]:
    """Seed the demo into ``workdir/data`` (and ``database_url``; default SQLite in the data
    directory), serve it, and stop the server afterwards. ``settings`` are more PASSMINT_
    settings (``rate_limits_enabled="false"``)."""
    data_dir = workdir / "data"
    url = database_url or f"sqlite:///{data_dir / 'passmint.db'}"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = command_env(data_dir, url, public_url=base, queue="embedded", **settings)
    log = workdir / "serve.log"
    seeded = subprocess.run(
        [str(BIN / "passmint"), "demo", "--seed-only", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert seeded.returncode == 0, f"passmint demo --seed-only failed:\n{seeded.stderr}"
    demo: dict[str, Any] = json.loads((data_dir / "demo.json").read_text())
    process = start(["serve", "--port", str(port), "--log-level", "warning"], env, log)
    try:
        wait_healthy(base, process, log)
        yield UiServer(
            base_url=base,
            backend="postgresql" if url.startswith("postgresql") else "sqlite",
            database_url=url,
            data_dir=data_dir,
            env=env,
            log=log,
            demo=demo,
        )
    finally:
        stop(process)
