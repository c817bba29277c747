"""Benchmark: what a rate-limit check costs a request, by storage.

    python -m bench.ratelimit [--keys 100000] [--redis redis://127.0.0.1:6379/15]

Counts one hit per request the way passmint does (``web.ratelimit.Limiter.hit``: a fixed
window, one ``incr`` per limit) with the event loop turning between requests, as a server's
does, over a set of distinct keys (devices or addresses):

- passmint's in-process storage (``ProcessStorage``), with few keys and with ``--keys``;
- baseline, in the same run: ``limits``' own ``async+memory`` storage with the same keys
  (its expiry task scans every key after each request that finds it idle);
- Redis through ``limits``' redis-py storage (``--redis``; the production web limiter).

For scale: the device fast path answers a 304 in about 140 µs of CPU (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from limits import parse_many
from limits.aio.storage import Storage
from limits.storage import storage_from_string

from passmint.web.ratelimit import Limiter, ProcessStorage


async def per_hit(storage: Storage, keys: int, hits: int) -> float:
    limiter = Limiter(storage, {"device": tuple(parse_many("1000000/minute"))})
    names = [f"device-{n}" for n in range(keys)]
    for name in names:  # every key has a live window, as under load
        await limiter.hit("device", name)
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    for n in range(hits):
        await limiter.hit("device", names[n % keys])
        await asyncio.sleep(0)  # other requests run between two checks
    return (time.perf_counter() - start) / hits * 1e6


async def loop_turn(hits: int) -> float:
    start = time.perf_counter()
    for _ in range(hits):
        await asyncio.sleep(0)
    return (time.perf_counter() - start) / hits * 1e6


async def main(keys: int, hits: int, redis: str | None) -> None:
    floor = await loop_turn(hits)
    print(f"event loop turn alone: {floor:.1f} µs (subtracted below)")
    rows: list[tuple[str, float]] = [
        ("passmint in-process, 100 keys", await per_hit(ProcessStorage(), 100, hits)),
        (f"passmint in-process, {keys:,} keys", await per_hit(ProcessStorage(), keys, hits)),
    ]
    baseline = storage_from_string("async+memory://")
    assert isinstance(baseline, Storage)
    slow = max(hits // 100, 100)  # milliseconds a check: fewer of them
    rows.append((f"limits async+memory, {keys:,} keys", await per_hit(baseline, keys, slow)))
    if redis:
        shared = storage_from_string(
            "async+" + redis, implementation="redispy", key_prefix="passmint-bench"
        )
        assert isinstance(shared, Storage)
        rows.append((f"Redis (redis-py), {keys:,} keys", await per_hit(shared, keys, hits // 10)))
    for label, micros in rows:
        print(f"{label:<40} {max(micros - floor, 0.0):>9.1f} µs per check")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--hits", type=int, default=50_000)
    parser.add_argument("--redis", default=None, help="redis://… to include Redis")
    args = parser.parse_args()
    asyncio.run(main(args.keys, args.hits, args.redis))
