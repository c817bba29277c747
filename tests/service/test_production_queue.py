"""Production mode: web processes without a worker, jobs carried by Redis (arq) to separate
``passmint worker`` processes, on PostgreSQL; and the outbox sweeper recovers jobs whose
dispatch was lost."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from passmint.config import QueueMode, Settings
from passmint.models import OutboxJob
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from passmint.worker.outbox import enqueue, take_pending
from passmint.worker.registry import JobContext, job
from passmint.worker.runner import claim_due, run_job
from tests.conftest import PassCheck
from tests.fixtures.apns_server import FakeApns
from tests.service.test_serve_e2e import BIN, cycle, free_port, issue


def redis_url(config: pytest.Config) -> str:
    url = os.environ.get("PASSMINT_TEST_REDIS_URL")
    if not url:
        if getattr(config, "require_services", False):
            pytest.fail("PASSMINT_TEST_REDIS_URL is not set but services are required")
        pytest.skip("PASSMINT_TEST_REDIS_URL is not set")
    return url


def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90  # a loaded 2-core machine took over 30 s to start it
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "the server exited"
        time.sleep(0.2)
    raise AssertionError("server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def production(
    request: pytest.FixtureRequest, apns: FakeApns, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    database: str = request.getfixturevalue("postgres_url")
    from tests.service.conftest import empty_postgres

    empty_postgres(database)
    redis = redis_url(request.config)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PASSMINT_DATABASE_URL": database,
        "PASSMINT_REDIS_URL": redis,
        "PASSMINT_QUEUE": "redis",
        "PASSMINT_QUEUE_NAME": f"passmint:test:{uuid.uuid4()}",
        "PASSMINT_DATA_DIR": str(tmp_path / "data"),
        "PASSMINT_PUBLIC_URL": base,
        "PASSMINT_SECRET_KEY": "p" * 43,
        "PASSMINT_APNS_URL": apns.base_url,
        "PASSMINT_APNS_CA_FILE": apns.ca_file,
    }
    created = subprocess.run(
        [str(BIN / "passmint"), "tenants", "create", "Chain", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    tenant = json.loads(created.stdout)
    # Their output is kept and shown when the test fails (see the finalizer below).
    web_log = (tmp_path / "web.log").open("w")
    worker_log = (tmp_path / "worker.log").open("w")
    web = subprocess.Popen(
        [
            str(BIN / "passmint"),
            "serve",
            "--no-worker",
            "--workers",
            "2",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=web_log,
        stderr=subprocess.STDOUT,
    )
    workers = subprocess.Popen(
        [str(BIN / "passmint"), "worker", "--processes", "2"],
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(base, web)
        yield base, tenant
    finally:
        stop(web)
        stop(workers)
        web_log.close()
        worker_log.close()
        print("--- web log ---\n" + (tmp_path / "web.log").read_text()[-4000:])
        print("--- worker log ---\n" + (tmp_path / "worker.log").read_text()[-4000:])


def test_cycle_with_redis_workers(
    production: tuple[str, dict[str, str]], apns: FakeApns, dev_pki: DevPki, check_pass: PassCheck
) -> None:
    base, tenant = production
    with (
        httpx.Client(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {tenant['api_key']}"}
        ) as api,
        httpx.Client(timeout=30) as phone,
    ):
        # worker processes start slowly on a loaded machine: allow for it
        cycle(api, phone, issue(api, dev_pki), base, apns, check_pass, push_timeout=90)


RAN: list[str] = []


@job("tests.mark")
async def mark(ctx: JobContext[Any], payload: dict[str, object]) -> None:
    RAN.append(str(payload["value"]))


@pytest.mark.anyio
async def test_a_job_whose_dispatch_was_lost_still_runs(settings: Settings) -> None:
    """Commit a job without telling anyone (a crash right after commit): the worker's
    poll/sweep finds it in the outbox and runs it exactly once."""
    assert settings.queue_mode() is QueueMode.EMBEDDED
    marker = str(uuid.uuid4())
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=False)
    try:
        async with runtime.db.sessions() as session, session.begin():
            await enqueue(session, "tests.mark", {"value": marker}, now=runtime.clock())
            # no take_pending/dispatch: as if the process died here
        assert runtime.worker is not None
        await runtime.worker.run_until_idle()
        await runtime.worker.run_until_idle()
        async with runtime.db.sessions() as session:
            done = (await session.execute(select(OutboxJob.done_at))).scalars().all()
    finally:
        await runtime.stop()
    assert RAN.count(marker) == 1
    assert all(d is not None for d in done)


async def fail_after_enqueue(runtime: Runtime) -> None:
    async with runtime.transaction() as session:
        await enqueue(session, "tests.mark", {"value": "rolled back"}, now=runtime.clock())
        raise RuntimeError("the request failed")


@pytest.mark.anyio
async def test_rollback_drops_the_job(settings: Settings) -> None:
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=False)
    try:
        with pytest.raises(RuntimeError):
            await fail_after_enqueue(runtime)
        async with runtime.db.sessions() as session:
            jobs = (await session.execute(select(OutboxJob))).scalars().all()
    finally:
        await runtime.stop()
    assert jobs == []
    await asyncio.sleep(0)


SLOW_RUNS: list[str] = []


@job("tests.slow_mark")
async def slow_mark(ctx: JobContext[Any], payload: dict[str, object]) -> None:
    SLOW_RUNS.append(str(payload["value"]))
    await asyncio.sleep(0.3)  # hold the row lock while the duplicate arrives


@pytest.mark.anyio
async def test_a_job_sent_twice_runs_once(settings: Settings) -> None:
    """The dispatcher and the sweeper may both send a job (PostgreSQL, several workers)."""
    if not settings.resolved_database_url().startswith("postgresql"):
        pytest.skip("several workers run jobs only with PostgreSQL")
    marker = str(uuid.uuid4())
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=False)
    try:
        async with runtime.db.sessions() as session, session.begin():
            sent = await enqueue(session, "tests.slow_mark", {"value": marker}, now=runtime.clock())
        results = await asyncio.gather(run_job(runtime, sent.id), run_job(runtime, sent.id))
        again = await run_job(runtime, sent.id)
    finally:
        await runtime.stop()
    assert sorted(results) == [False, True]
    assert again is False
    assert SLOW_RUNS.count(marker) == 1


PHASED_RUNS: list[str] = []
PHASED_STARTED: dict[str, asyncio.Event] = {}


@job("tests.phased_mark", phased=True)
async def phased_mark(ctx: JobContext[Any], payload: dict[str, object]) -> None:
    """Reads, waits as if on a remote server, then records one event."""
    async with ctx.read() as session:
        jobs = await session.scalar(select(func.count()).select_from(OutboxJob))
    PHASED_RUNS.append(str(payload["value"]))
    PHASED_STARTED.setdefault(str(payload["value"]), asyncio.Event()).set()
    await asyncio.sleep(float(str(payload.get("wait", 0.3))))
    if payload.get("steal"):  # another worker takes the job over meanwhile
        async with ctx.runtime.db.sessions() as session, session.begin():
            await session.execute(update(OutboxJob).values(run_id=uuid.uuid4()))
    async with ctx.write() as session:  # its "result": a job row written with its completion
        await enqueue(
            session, "tests.mark", {"value": f"result {payload['value']} {jobs}"},
            now=ctx.runtime.clock(),
        )  # fmt: skip


async def _markers(runtime: Runtime) -> list[str]:
    async with runtime.db.sessions() as session:
        rows = (await session.execute(select(OutboxJob.payload))).scalars()
        return [
            str(p["value"]).split()[1] for p in rows if str(p.get("value", "")).startswith("result")
        ]


@pytest.mark.anyio
async def test_a_phased_job_sent_twice_runs_once(runtime: Runtime) -> None:
    """A phased job gives up its row lock while it waits on the network: its run id keeps a
    second dispatch of it from running it again."""
    marker = str(uuid.uuid4())
    async with runtime.db.sessions() as session, session.begin():
        sent = await enqueue(session, "tests.phased_mark", {"value": marker}, now=runtime.clock())
    started = PHASED_STARTED.setdefault(marker, asyncio.Event())
    first = asyncio.ensure_future(run_job(runtime, sent.id))
    await started.wait()
    second = await run_job(runtime, sent.id)  # while the first waits on "the network"
    results = [await first, second, await run_job(runtime, sent.id)]
    markers = await _markers(runtime)
    async with runtime.db.sessions() as session:
        job_row = await session.get(OutboxJob, sent.id)
        assert job_row is not None
        done, run_id, attempts = job_row.done_at, job_row.run_id, job_row.attempts
    assert results == [True, False, False]
    assert PHASED_RUNS.count(marker) == 1
    assert markers.count(marker) == 1
    assert done is not None
    assert run_id is None
    assert attempts == 1


@pytest.mark.anyio
async def test_a_phased_job_that_lost_its_run_records_nothing(runtime: Runtime) -> None:
    """If another worker took the job over (its lease ran out), the first run's results are
    not written: only the run that holds the job records and completes it."""
    marker = str(uuid.uuid4())
    async with runtime.db.sessions() as session, session.begin():
        sent = await enqueue(
            session, "tests.phased_mark", {"value": marker, "steal": True, "wait": 0},
            now=runtime.clock(),
        )  # fmt: skip
    ran = await run_job(runtime, sent.id)
    markers = await _markers(runtime)
    async with runtime.db.sessions() as session:
        job_row = await session.get(OutboxJob, sent.id)
        assert job_row is not None
        done = job_row.done_at
    assert ran is False
    assert marker not in markers
    assert done is None


@pytest.mark.anyio
async def test_a_phased_job_whose_run_died_runs_again_once_its_lease_ran_out(
    runtime: Runtime,
) -> None:
    """A run that crashed or was cancelled leaves its run id on the job. When the lease
    runs out the sweep claims the job and the next run does it."""
    marker = str(uuid.uuid4())
    async with runtime.db.sessions() as session, session.begin():
        sent = await enqueue(
            session, "tests.phased_mark", {"value": marker, "wait": 0}, now=runtime.clock()
        )
        await session.flush()
        sent.run_id = uuid.uuid4()  # the dead run
        sent.locked_until = runtime.clock() - timedelta(seconds=1)  # its lease ran out
    claimed = await claim_due(runtime, 10)
    ran = await run_job(runtime, sent.id)
    markers = await _markers(runtime)
    assert claimed == [sent.id]
    assert ran is True
    assert markers.count(marker) == 1


@pytest.mark.anyio
async def test_a_delayed_job_waits_however_early_it_is_sent(runtime: Runtime) -> None:
    """A delayed job is not handed to a worker at commit, and a dispatch that arrives early
    (a duplicate, a Redis message) does not run it before it is due."""
    marker = str(uuid.uuid4())
    async with runtime.db.sessions() as session, session.begin():
        sent = await enqueue(
            session, "tests.mark", {"value": marker}, now=runtime.clock(),
            delay=timedelta(minutes=5),
        )  # fmt: skip
        pending = take_pending(session)
    early = await run_job(runtime, sent.id)
    claimed_early = await claim_due(runtime, 10)
    later = runtime.clock() + timedelta(minutes=6)
    runtime.clock = lambda: later
    claimed = await claim_due(runtime, 10)
    ran = await run_job(runtime, sent.id)
    assert pending == []
    assert (early, claimed_early) == (False, [])
    assert (claimed, ran) == ([sent.id], True)
    assert RAN.count(marker) == 1


HELD: dict[str, asyncio.Event] = {}


@job("tests.held", phased=True)
async def held(ctx: JobContext[Any], payload: dict[str, object]) -> None:
    """Waits, as on a remote server, until the test lets it go."""
    marker = str(payload["value"])
    PHASED_STARTED.setdefault(marker, asyncio.Event()).set()
    await HELD.setdefault(marker, asyncio.Event()).wait()


@pytest.mark.anyio
async def test_the_embedded_worker_starts_new_jobs_while_others_run(runtime: Runtime) -> None:
    """A slot that is free takes the next job at once (a PATCH's push while a long fan-out
    waits on APNs, a re-render chain's next batch) rather than after every job already
    running has finished."""
    assert runtime.worker is not None
    slow, quick = str(uuid.uuid4()), str(uuid.uuid4())
    async with runtime.transaction() as session:
        await enqueue(session, "tests.held", {"value": slow}, now=runtime.clock())
    draining = asyncio.ensure_future(runtime.worker.run_until_idle())
    await PHASED_STARTED.setdefault(slow, asyncio.Event()).wait()
    async with runtime.transaction() as session:  # committed while the slow job runs
        await enqueue(session, "tests.mark", {"value": quick}, now=runtime.clock())
    for _ in range(200):
        if quick in RAN:
            break
        await asyncio.sleep(0.01)
    ran_meanwhile = quick in RAN
    HELD.setdefault(slow, asyncio.Event()).set()
    await draining
    assert ran_meanwhile


@pytest.mark.anyio
async def test_the_sweeper_leaves_a_sent_job_to_its_message(runtime: Runtime) -> None:
    """With a grace, a job sent at commit is claimed only once it waited that long (its
    message was lost); a delayed job, which nobody sends, as soon as it is due."""
    grace = timedelta(seconds=30)
    start = runtime.clock()
    async with runtime.db.sessions() as session, session.begin():
        sent = await enqueue(session, "tests.mark", {"value": "sent"}, now=start)
        delayed = await enqueue(
            session, "tests.mark", {"value": "delayed"}, now=start, delay=timedelta(seconds=5)
        )
    claimed: dict[int, list[uuid.UUID]] = {}
    for seconds in (1, 6, 31, 40, 62):
        moment = start + timedelta(seconds=seconds)
        runtime.clock = lambda moment=moment: moment  # type: ignore[misc]
        claimed[seconds] = await claim_due(runtime, 10, grace=grace, lease=grace)
    # Sent, they are leased for the grace only: a message that found nothing to run (its
    # worker's clock was behind) is followed by another one a sweep later.
    assert claimed == {1: [], 6: [delayed.id], 31: [sent.id], 40: [delayed.id], 62: [sent.id]}
