"""Benchmark: pushes per second for one template update reaching N registered devices.

    python -m bench.push_fanout --from-template --workers 2   # production topology
    python -m bench.push_fanout --from-template               # embedded worker
    python -m bench.push_fanout                               # the push jobs alone
    options: [--devices 100000] [--concurrency 4] [--peer node|python]

Seeds N passes of one template on PostgreSQL, each with a registered device, and starts an
APNs peer in a separate process (``bench/apns_peer.mjs`` on Node's built-in http2, which
is nghttp2 in C, when ``node`` is installed; else ``bench/apns_peer.py`` on Python's
``h2``, which costs as much CPU per push as the client and so halves what is measured on
two cores). Then, with ``--from-template``, it commits what ``PATCH /api/v1/templates/{id}``
commits (a new design version and its re-render job) and measures pushes/s from that
commit to the last push at the peer: the re-render in batches, each batch's push job, and
one event per pass and device. ``--workers N`` runs ``passmint worker --processes N`` on
Redis; otherwise the embedded in-process worker runs the jobs. Without ``--from-template``
the clock starts at the commit of the push jobs such an update enqueues.

The baseline, in the same run, is the same client pushing the same tokens with no
database and no jobs (the ceiling of client + peer on this machine).

Target: ≥ 5,000 pushes/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from redis.asyncio import Redis

from bench.apns_peer import write_certs
from bench.pgbench import add_postgres_argument
from bench.seed import PASS_TYPE, SECRET_KEY, pg_url, recreate, seed_base, seed_passes
from passmint.config import QueueMode, Settings
from passmint.kit.ids import uuid7
from passmint.passes import tasks as _tasks  # noqa: F401 - registers the re-render job
from passmint.passes.apple import push as _push  # noqa: F401 - registers the push job
from passmint.passes.apple.apns import ApnsClient, CertificateAuth
from passmint.passes.service import PUSH_JOB, RERENDER_JOB
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import generate_dev_pki
from passmint.worker.outbox import enqueue
from passmint.worker.redis_queue import RedisDispatcher

NODE_PEER = Path(__file__).with_name("apns_peer.mjs")


def start_peer(expect: int, engine: str) -> tuple[subprocess.Popen[str], int, str]:
    """The APNs peer in its own process: Node's http2 (nghttp2) or the Python ``h2`` one."""
    if engine == "node":
        certs = write_certs()
        peer = subprocess.Popen(
            ["node", str(NODE_PEER), str(certs / "cert.pem"), str(certs / "key.pem"),
             str(expect)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert peer.stdout is not None
        _, port = peer.stdout.readline().split()
        return peer, int(port), str(certs / "ca.pem")
    peer = subprocess.Popen(
        [sys.executable, "-m", "bench.apns_peer", "--expect", str(expect)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert peer.stdout is not None
    _, port, ca = peer.stdout.readline().split()
    return peer, int(port), ca


def wait_done(peer: subprocess.Popen[str]) -> tuple[int, float, float]:
    """The peer's count and the CLOCK_MONOTONIC times of its first and last push."""
    assert peer.stdout is not None
    line = peer.stdout.readline().split()
    return int(line[1]), float(line[2]), float(line[3])


async def baseline(port: int, ca: str, tokens: list[str]) -> None:
    pki = generate_dev_pki(now=datetime.now(UTC))
    files = pki.files()
    auth = CertificateAuth(files["pass-cert.pem"], files["pass-key.pem"])
    async with ApnsClient(auth, base_url=f"https://127.0.0.1:{port}", ca_file=ca) as client:
        results = await client.push_many(tokens, PASS_TYPE)
    assert all(r.ok for r in results), {r.reason for r in results if not r.ok}


async def new_version(url: str, template: uuid.UUID) -> uuid.UUID:
    """What ``PATCH /api/v1/templates/{id}`` commits for a new label: version 2 of the design
    (same images) and the re-render job, which re-renders every pass in batches and sends a
    push job for each batch whose passes changed."""
    conn = await asyncpg.connect(pg_url(url))
    job = uuid7()
    try:
        async with conn.transaction():
            design, files = await conn.fetchrow(
                "SELECT design, files FROM template_versions WHERE template_id = $1", template
            )
            changed = json.loads(design)
            changed["fields"]["primary"][0]["label"] = "STARS"
            now = datetime.now(UTC)
            await conn.execute(
                "INSERT INTO template_versions (id, template_id, version, design, files,"
                " created_at) VALUES ($1, $2, 2, $3, $4, $5)",
                uuid7(), template, json.dumps(changed), files, now,
            )  # fmt: skip
            await conn.execute("UPDATE templates SET version = 2 WHERE id = $1", template)
            tenant = await conn.fetchval("SELECT tenant_id FROM templates WHERE id = $1", template)
            await conn.execute(
                "INSERT INTO outbox_jobs (id, name, payload, created_at, available_at, attempts)"
                " VALUES ($1, $2, $3, $4, $4, 0)",
                job, RERENDER_JOB,
                json.dumps({"tenant_id": str(tenant), "template_id": str(template),
                            "step": "plan"}),
                now,
            )  # fmt: skip
    finally:
        await conn.close()
    return job


async def count_pushed(url: str) -> int:
    conn = await asyncpg.connect(pg_url(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events WHERE kind = 'pushed'"))
    finally:
        await conn.close()


@dataclass
class Run:
    started: float  # time.monotonic() when the update (or the push jobs) committed
    finished: float  # ... when every device's result was in the event log


async def fanout(
    url: str, port: int, ca: str, devices: int, concurrency: int, from_template: bool
) -> Run:
    """In this process: the embedded queue and its in-process worker (``passmint serve``)."""
    tenant, template = await seed_base(url)
    ids, _ = await seed_passes(url, tenant, template, 0, devices, 1)
    settings = Settings(
        database_url=url, secret_key=SECRET_KEY, apns_url=f"https://127.0.0.1:{port}",
        apns_ca_file=ca, queue=QueueMode.EMBEDDED, data_dir=Path(tempfile.mkdtemp()),
    )  # fmt: skip
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=False)
    try:
        assert runtime.worker is not None
        runtime.worker.concurrency = concurrency
        started = time.monotonic()
        if from_template:
            await new_version(url, template)
        else:
            batch = settings.push_batch_size
            async with runtime.transaction() as session:
                for start in range(0, len(ids), batch):
                    await enqueue(session, PUSH_JOB,
                                  {"pass_ids": [str(i) for i in ids[start:start + batch]]},
                                  now=runtime.clock())  # fmt: skip
        await runtime.worker.run_until_idle(within=3600)
        finished = time.monotonic()
    finally:
        await runtime.stop()
    recorded = await count_pushed(url)
    assert recorded == devices, (recorded, devices)
    return Run(started, finished)


async def fanout_workers(
    url: str, port: int, ca: str, devices: int, processes: int, concurrency: int, redis: str
) -> Run:
    """Production topology: ``passmint worker --processes N`` on the Redis queue, started
    before the update; the update is what ``PATCH /api/v1/templates/{id}`` commits."""
    tenant, template = await seed_base(url)
    await seed_passes(url, tenant, template, 0, devices, 1)
    queue = f"passmint:bench:{uuid7().hex}"
    env = {
        **os.environ, "PASSMINT_DATABASE_URL": url, "PASSMINT_SECRET_KEY": SECRET_KEY,
        "PASSMINT_APNS_URL": f"https://127.0.0.1:{port}", "PASSMINT_APNS_CA_FILE": ca,
        "PASSMINT_REDIS_URL": redis, "PASSMINT_QUEUE_NAME": queue,
        "PASSMINT_DATA_DIR": tempfile.mkdtemp(),
    }  # fmt: skip
    passmint = str(Path(sys.executable).with_name("passmint"))
    workers = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock runs
        [passmint, "worker", "--processes", str(processes), "--concurrency", str(concurrency)],
        env=env,
    )  # fmt: skip
    dispatcher = RedisDispatcher(redis, queue)
    await dispatcher.start()
    probe = Redis.from_url(redis)
    try:
        for _ in range(600):  # arq records its health check when its loop runs
            if await probe.exists(f"{queue}:health-check"):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # the second process, and the first APNs connection
        started = time.monotonic()
        await dispatcher.send([await new_version(url, template)])
        while (recorded := await count_pushed(url)) < devices:
            if workers.poll() is not None:
                raise RuntimeError(f"the workers exited with {workers.returncode}")
            await asyncio.sleep(0.05)
        finished = time.monotonic()
        assert recorded == devices, (recorded, devices)
    finally:
        await probe.aclose()
        await dispatcher.stop()
        workers.terminate()
        workers.wait(timeout=30)
    return Run(started, finished)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="APNs push fan-out benchmark")
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4, help="jobs at once per process")
    parser.add_argument(
        "--from-template", action="store_true",
        help="start from a new template version: re-render every pass, then push (end to end)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=0,
        help="with --from-template: run `passmint worker --processes N` on the Redis queue "
        "(production) instead of the embedded in-process worker",
    )  # fmt: skip
    parser.add_argument(
        "--peer", choices=["node", "python"],
        default="node" if shutil.which("node") else "python",
        help="APNs peer: Node's http2 (C, the default when node is installed) or Python h2",
    )  # fmt: skip
    add_postgres_argument(parser)
    parser.add_argument(
        "--redis", default=os.environ.get("PASSMINT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    args = parser.parse_args(argv)
    if args.workers and not args.from_template:
        parser.error("--workers measures a template update: add --from-template")
    try:  # the worker runs on uvloop too (passmint worker / serve install it when present)
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    url = asyncio.run(recreate(args.postgres, "passmint_bench_push"))

    peer, port, ca = start_peer(args.devices, args.peer)
    try:
        tokens = [f"{i:032x}{0:032x}" for i in range(args.devices)]
        asyncio.run(baseline(port, ca, tokens))
        count, first, last = wait_done(peer)
    finally:
        peer.terminate()
    base_rate = count / (last - first)
    print(f"baseline: {count:,} pushes, client → peer only: {base_rate:,.0f} pushes/s", flush=True)

    peer, port, ca = start_peer(args.devices, args.peer)
    try:
        if args.workers:
            run = asyncio.run(fanout_workers(url, port, ca, args.devices, args.workers,
                                             args.concurrency, args.redis))  # fmt: skip
        else:
            run = asyncio.run(
                fanout(url, port, ca, args.devices, args.concurrency, args.from_template)
            )
        count, first, last = wait_done(peer)
    finally:
        peer.terminate()
    where = f"{args.workers} worker processes (Redis)" if args.workers else "embedded worker"
    start = "the template update" if args.from_template else "the push jobs"
    rate = count / (last - run.started)  # the peer's clock is the same CLOCK_MONOTONIC
    print(f"fan-out:  {count:,} devices, {where}: {count / (last - first):,.0f} pushes/s at the "
          f"peer (first to last push); {rate:,.0f} pushes/s from the commit of {start} to "
          f"the last push ({last - run.started:.1f} s); every result in the event log "
          f"{run.finished - run.started:.1f} s after the commit")  # fmt: skip
    print(f"ratio fan-out / baseline: {rate / base_rate:.0%}; target ≥ 5,000 pushes/s: "
          f"{'PASS' if rate >= 5000 else 'BELOW TARGET'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
