"""``pgbench -N`` on a scratch database of the benchmarks' PostgreSQL server.

The service benchmarks print their figures beside this one, measured in the same run on
the same server, so a figure reads as a share of what the database itself sustains.

``pgbench -N`` (the TPC-B-like script without the branch and teller updates) runs an
UPDATE of ``pgbench_accounts``, a SELECT of it and an INSERT into ``pgbench_history`` in
one transaction per client turn, with 32 clients over 2 threads. Scale 1 is enough: ``-N``
never updates the one branch row or the ten teller rows that make low scales queue in the
default script, so the only rows clients share are the 100,000 accounts, which 32 clients
drawing at random almost never hit at the same time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
from urllib.parse import unquote, urlsplit

import asyncpg

from bench.seed import pg_url, unique_name

CLIENTS = 32
THREADS = 2
TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)$", re.MULTILINE)


def _environment(admin_url: str) -> dict[str, str]:
    parts = urlsplit(pg_url(admin_url))
    env = dict(os.environ)
    env["PGHOST"] = parts.hostname or "127.0.0.1"
    env["PGPORT"] = str(parts.port or 5432)
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return env


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


async def measure(admin_url: str, seconds: int, clients: int = CLIENTS) -> float:
    """``pgbench -N`` transactions per second over ``seconds``, on a database of its own
    (``passmint_bench_pgbench_<pid>_<hex>``) created for this call and dropped after it."""
    binary = shutil.which("pgbench")
    if binary is None:
        raise SystemExit(
            "pgbench is needed to measure beside pgbench -N (Debian: apt-get install "
            "postgresql-client), or pass --pgbench-seconds 0 to skip it"
        )
    name = unique_name("passmint_bench_pgbench")
    env = _environment(admin_url)
    conn = await asyncpg.connect(pg_url(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        try:
            await asyncio.to_thread(_run, [binary, "-i", "-q", "-s", "1", name], env)
            output = await asyncio.to_thread(
                _run,
                [binary, "-N", "-n", "-c", str(clients), "-j", str(THREADS), "-T", str(seconds),
                 name],
                env,
            )  # fmt: skip
        finally:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    found = TPS.search(output)
    if found is None:
        raise SystemExit(f"no tps line in pgbench's output:\n{output}")
    return float(found.group(1))


def add_postgres_argument(parser: argparse.ArgumentParser) -> None:
    """``--postgres``: the server's admin URL, where every benchmark makes its scratch
    database (``PASSMINT_BENCH_POSTGRES_URL``, else the tests' server, else the local one)."""
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "PASSMINT_BENCH_POSTGRES_URL",
            os.environ.get(
                "PASSMINT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
            ),
        ),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--postgres`` and ``--pgbench-seconds``, as every benchmark beside pgbench takes
    them."""
    add_postgres_argument(parser)
    parser.add_argument(
        "--pgbench-seconds", type=int, default=10,
        help="pgbench -N (32 clients) on a scratch database first; 0 skips it",
    )  # fmt: skip


def share(label: str, rate: float, tps: float) -> str:
    """``label: N/s = R of pgbench -N (P tps)``."""
    return f"{label}: {rate:,.0f}/s = {rate / tps:.3f} of pgbench -N ({tps:,.0f} tps)"


def verdict(label: str, rate: float, tps: float, target: float) -> str:
    ratio = rate / tps
    return (
        f"{'PASS' if ratio >= target else 'MISS'}: {label} at {ratio:.3f} of pgbench -N"
        f" (target ≥ {target:.2f})"
    )
