"""Benchmark: a healthy request's latency while hostile requests run, 8 at a time.

    python -m bench.hostile [--hostile 8] [--seconds 3] [--check]

Issue 13 ("Hardening") reproduced each kind below against a live server; some answered
500 after seconds and froze the process for everyone. This starts a real ``passmint
serve`` (embedded, SQLite, one web process), then for each kind keeps ``--hostile``
requests of it in flight for ``--seconds`` while a healthy ``GET /api/v1/programs`` is sent
again and again, and prints the healthy latencies beside a baseline measured in the same
run (the healthy request alone), with the statuses the hostile requests got.

**Target** (the issue's "done when"): under every kind, the healthy request's worst latency
stays under 1 s, and no hostile request gets a 5xx. ``--check`` exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from tests.fixtures.images import png16

from bench.webservice import free_port

BIN = Path(sys.executable).parent
TARGET_S = 1.0
Hostile = Callable[[httpx.AsyncClient, str], Awaitable[int]]


def _auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


BIG_PNG = png16(6300, 6300)
NESTED = b"[" * 200_000 + b"]" * 200_000


async def _nul_json(http: httpx.AsyncClient, key: str) -> int:
    body = {"name": "a\u0000b", "email": "nul@example.com"}
    return (await http.post("/api/v1/customers", headers=_auth(key), json=body)).status_code


async def _nul_path(http: httpx.AsyncClient, key: str) -> int:
    return (await http.get("/apple/v1/devices/a%00b/registrations/pass.x")).status_code


async def _long_device(http: httpx.AsyncClient, key: str) -> int:
    path = f"/apple/v1/devices/{'d' * 300}/registrations/pass.x/serial"
    headers = {"Authorization": "ApplePass token"}
    return (await http.post(path, headers=headers, json={"pushToken": "ab"})).status_code


async def _nested_log(http: httpx.AsyncClient, key: str) -> int:
    headers = {"Content-Type": "application/json"}
    return (await http.post("/apple/v1/log", headers=headers, content=NESTED)).status_code


async def _big_body(http: httpx.AsyncClient, key: str) -> int:
    async def chunks() -> collections.abc.AsyncIterator[bytes]:
        yield b'{"template_id": "00000000-0000-0000-0000-000000000000", "data": {"x": "'
        for _ in range(50):
            yield b"a" * 1_000_000
        yield b'"}}'

    headers = _auth(key, **{"Content-Type": "application/json"})
    try:
        return (await http.post("/api/v1/passes", headers=headers, content=chunks())).status_code
    except httpx.TransportError:  # the server answered 413 and closed while we still sent
        return 413


async def _big_token(http: httpx.AsyncClient, key: str) -> int:
    path = "/apple/v1/devices/device1/registrations/pass.x/serial"
    headers = {"Authorization": "ApplePass token"}
    body = {"pushToken": "a" * 20_000_000}
    try:
        return (await http.post(path, headers=headers, json=body)).status_code
    except httpx.TransportError:
        return 413


async def _big_image(http: httpx.AsyncClient, key: str) -> int:
    headers = _auth(key, **{"Content-Type": "image/png"})
    return (await http.post("/api/v1/images", headers=headers, content=BIG_PNG)).status_code


async def _loose_amount(http: httpx.AsyncClient, key: str) -> int:
    body = {"card_number": "1", "kind": "purchase", "amount": "100", "currency": "EUR"}
    body["external_id"] = "x"
    return (await http.post("/api/v1/activities", headers=_auth(key), json=body)).status_code


async def _wrong_key(http: httpx.AsyncClient, key: str) -> int:
    wrong = "pm_000000000000_" + "x" * 32
    return (await http.get("/api/v1/programs", headers=_auth(wrong))).status_code


async def _guess_code(http: httpx.AsyncClient, key: str) -> int:
    body = {"code": f"GUESS-{time.perf_counter_ns() % 10**8}"}
    return (await http.post("/api/v1/validations", headers=_auth(key), json=body)).status_code


KINDS: dict[str, Hostile] = {
    "NUL in a JSON string": _nul_json,
    "NUL in a PassKit path": _nul_path,
    "300-character device id": _long_device,
    "nested JSON on /apple/v1/log": _nested_log,
    "50 MB pass data": _big_body,
    "20 MB pushToken": _big_token,
    "6300x6300 16-bit PNG": _big_image,
    "amount as a string": _loose_amount,
    "wrong API keys": _wrong_key,
    "guessed coupon codes": _guess_code,
}


async def _healthy_loop(http: httpx.AsyncClient, key: str, until: float) -> list[float]:
    latencies = []
    while time.perf_counter() < until:
        started = time.perf_counter()
        response = await http.get("/api/v1/programs", headers=_auth(key))
        assert response.status_code == 200, response.text
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return latencies


async def _hostile_loop(
    http: httpx.AsyncClient,
    key: str,
    kind: Hostile,
    until: float,
    statuses: collections.Counter[int],
) -> None:
    while time.perf_counter() < until:
        statuses[await kind(http, key)] += 1


async def measure(base: str, key: str, hostile: int, seconds: float) -> list[tuple[str, ...]]:
    limits = httpx.Limits(max_connections=hostile + 4)
    rows: list[tuple[str, ...]] = []
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        baseline = await _healthy_loop(http, key, time.perf_counter() + seconds)
        rows.append(_row("baseline: healthy alone", baseline, collections.Counter()))
        for name, kind in KINDS.items():
            statuses: collections.Counter[int] = collections.Counter()
            until = time.perf_counter() + seconds
            loops = [_hostile_loop(http, key, kind, until, statuses) for _ in range(hostile)]
            healthy, *_ = await asyncio.gather(_healthy_loop(http, key, until), *loops)
            assert healthy is not None
            rows.append(_row(name, healthy, statuses))
    return rows


def _row(name: str, latencies: list[float], statuses: collections.Counter[int]) -> tuple[str, ...]:
    worst = max(latencies)
    median = statistics.median(latencies)
    answered = ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items())) or "-"
    ok = worst < TARGET_S and not any(s >= 500 for s in statuses)
    return (name, f"{median * 1000:.1f}", f"{worst * 1000:.1f}", answered, "ok" if ok else "FAIL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hostile", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PASSMINT_")}
        env |= {
            "PASSMINT_DATA_DIR": data,
            "PASSMINT_PUBLIC_URL": base,
            "PASSMINT_SECRET_KEY": "b" * 43,
        }
        env |= {"PASSMINT_RATE_LIMITS_ENABLED": "false", "PASSMINT_LOG_LEVEL": "error"}
        created = subprocess.run(
            [str(BIN / "passmint"), "tenants", "create", "Bench", "--json"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        key = json.loads(created.stdout)["api_key"]
        server = subprocess.Popen(
            [str(BIN / "passmint"), "serve", "--port", str(port), "--log-level", "error"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            rows = asyncio.run(measure(base, key, args.hostile, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    header = ("kind (8 at a time)", "healthy p50 ms", "healthy max ms", "hostile answers", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    failed = [r[0] for r in rows if r[-1] == "FAIL"]
    print(
        f"target: healthy max < {TARGET_S * 1000:.0f} ms and no 5xx: "
        + ("met" if not failed else f"missed for {', '.join(failed)}")
    )
    if args.check and failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
