"""Benchmark: the PassKit web service on PostgreSQL under wrk.

    python -m bench.webservice [--passes 100000 10000] [--duration 10] [--connections 64]

Seeds passes with two registrations each (100,000 passes → 200,000 registrations), starts
``passmint serve --no-worker --workers 2`` and drives it with wrk (a separate process):

- serials: ``GET /apple/v1/devices/{d}/registrations/{type}?passesUpdatedSince=…`` with a tag
  below the pass's (200 with one serial) and with the newest tag (204);
- latest pass: ``GET /apple/v1/passes/{type}/{serial}`` with ``If-Modified-Since`` (304).

Random devices and passes on every request. The baseline measured in the same run is
``GET /healthz`` on the same server: the ceiling of the HTTP stack on this machine.
Targets: the 304 path at ≥ 3,000 requests/s; latency flat from 10,000 to 100,000 passes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.pgbench import add_postgres_argument
from bench.seed import PASS_TYPE, SECRET_KEY, recreate, seed_base, seed_passes

LUA_COMMON = """
math.randomseed(os.time())
local n = {n}
"""
LUA_304 = (
    LUA_COMMON
    + """
request = function()
  local i = math.random(0, n - 1)
  local headers = {{}}
  headers["Authorization"] = string.format("ApplePass T%09d", i) .. string.rep("x", 14)
  headers["If-Modified-Since"] = "Sun, 01 Nov 2026 00:00:00 GMT"
  return wrk.format("GET", string.format("/apple/v1/passes/{pass_type}/S%09d", i), headers)
end
"""
)
LUA_SERIALS = (
    LUA_COMMON
    + """
request = function()
  local i = math.random(0, n - 1)
  local tag = {tag}
  if tag < 0 then tag = i end
  return wrk.format("GET", string.format(
    "/apple/v1/devices/D%09d/registrations/{pass_type}?passesUpdatedSince=%d", i * 2, tag))
end
"""
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(
    url: str, script: str | None, duration: int, connections: int, threads: int = 2
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script or "")
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        args += ["-s", handle.name]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]

    def pct(label: str) -> float:
        match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        if match is None:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]
        return float(match[1]) * scale

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": pct("50"),
        "p99": pct("99"),
        "non2xx": float(non2xx[1]) if non2xx else 0.0,
        "errors": 1.0 if errors else 0.0,
    }


def check_once(base: str) -> None:
    """Sanity: the scripted requests hit the paths we mean (304, 200, 204)."""
    auth = {
        "Authorization": "ApplePass T000000001".ljust(34, "x"),
        "If-Modified-Since": "Sun, 01 Nov 2026 00:00:00 GMT",
    }
    r = httpx.get(f"{base}/apple/v1/passes/{PASS_TYPE}/S000000001", headers=auth)
    assert r.status_code == 304, (r.status_code, r.text)
    assert r.headers["last-modified"] == auth["If-Modified-Since"], r.headers
    stale = {**auth, "If-Modified-Since": "Sat, 31 Oct 2026 23:59:59 GMT"}
    r = httpx.get(f"{base}/apple/v1/passes/{PASS_TYPE}/S000000001", headers=stale)
    assert r.status_code == 200, r.status_code  # changed since: the pass itself
    wrong = {**auth, "Authorization": "ApplePass T000000002".ljust(34, "x")}
    for serial in ("S000000001", "S999999999"):  # a wrong token, an unknown pass: one 401
        r = httpx.get(f"{base}/apple/v1/passes/{PASS_TYPE}/{serial}", headers=wrong)
        assert r.status_code == 401, (r.status_code, r.text)
    r = httpx.get(
        f"{base}/apple/v1/devices/D000000002/registrations/{PASS_TYPE}",
        params={"passesUpdatedSince": "1"},
    )
    assert r.status_code == 200, (r.status_code, r.text)
    r = httpx.get(
        f"{base}/apple/v1/devices/D000000002/registrations/{PASS_TYPE}",
        params={"passesUpdatedSince": "999999999"},
    )
    assert r.status_code == 204, r.status_code


def serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PASSMINT_DATABASE_URL": url,
        "PASSMINT_SECRET_KEY": SECRET_KEY,
        "PASSMINT_DATA_DIR": tempfile.mkdtemp(),
        "PASSMINT_QUEUE": "embedded",
    }
    env.pop("PASSMINT_REDIS_URL", None)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "passmint"),
            "serve",
            "--no-worker",
            "--workers",
            str(workers),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("passmint serve did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PassKit web service benchmark")
    parser.add_argument("--passes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    add_postgres_argument(parser)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    url = asyncio.run(recreate(args.postgres, "passmint_bench"))
    tenant, template = asyncio.run(seed_base(url))
    seeded = 0
    rows = []
    for target in sorted(args.passes):
        started = time.perf_counter()
        asyncio.run(seed_passes(url, tenant, template, seeded, target, 2))
        seeded = target
        print(
            f"seeded {target:,} passes / {2 * target:,} registrations "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        port = free_port()
        server = serve(url, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            check_once(base)
            fmt = {"n": target, "pass_type": PASS_TYPE}
            runs = {
                "baseline /healthz": wrk(f"{base}/healthz", None, args.duration, args.connections),
                "latest pass, 304": wrk(
                    base, LUA_304.format(**fmt), args.duration, args.connections
                ),
                "serials, 200": wrk(
                    base, LUA_SERIALS.format(tag=-1, **fmt), args.duration, args.connections
                ),
                "serials, 204": wrk(
                    base, LUA_SERIALS.format(tag=10**9, **fmt), args.duration, args.connections
                ),
            }
        finally:
            server.terminate()
            server.wait(timeout=20)
        for name, run in runs.items():
            rows.append((target, name, run))
    baseline = {t: r["rps"] for t, n, r in rows if n.startswith("baseline")}
    print(
        f"\n{'passes':>8} {'request':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'of /healthz':>11} {'bad':>5}"
    )
    for target, name, run in rows:
        print(
            f"{target:>8,} {name:<20} {run['rps']:>8,.0f} {run['p50']:>8.2f} {run['p99']:>8.2f} "
            f"{run['rps'] / baseline[target]:>10.0%} {int(run['non2xx']):>5}"
        )
    worst_304 = min(r["rps"] for _, n, r in rows if n == "latest pass, 304")
    print(
        f"\n304 path: {worst_304:,.0f} req/s at its slowest size (target ≥ 3,000): "
        f"{'PASS' if worst_304 >= 3000 else 'BELOW TARGET'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
