"""Graceful shutdown: on SIGTERM a web process finishes the requests in flight and a worker
the jobs it runs, takes no new ones, and exits 0 — in embedded mode (one ``passmint serve``)
and in production mode (web processes, ``passmint worker`` processes, Redis, PostgreSQL).

A request in flight is an image upload whose client is still sending its body; a job in
flight is a push whose APNs answer takes seconds (the APNs peer holds its response)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from passmint.db import Database
from passmint.models import OutboxJob
from passmint.passes.service import PUSH_JOB
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from passmint.worker.outbox import enqueue
from passmint.worker.registry import JobContext, job
from passmint.worker.runner import LEASE, claim_due
from tests.fixtures.apns_server import FakeApns
from tests.fixtures.images import png
from tests.ops.conftest import (
    command_env,
    production,
    start,
    tenant_key,
    wait_healthy,
)
from tests.service.conftest import make_settings
from tests.service.test_serve_e2e import free_port, issue

GRACE = 20  # PASSMINT_SHUTDOWN_GRACE: far more than the request and the job need
APNS_DELAY = 3.0  # seconds the APNs peer holds each answer


def ended(process: subprocess.Popen[bytes], log: Path) -> int:
    """The exit status; a process still running after the grace and a margin is killed."""
    try:
        return process.wait(timeout=GRACE + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"still running after SIGTERM:\n{log.read_text()[-4000:]}") from None


class SlowUpload(threading.Thread):
    """Uploads an image in chunks, one every 0.4 s: the request is in flight for ~2 s."""

    def __init__(self, base: str, api_key: str) -> None:
        super().__init__(daemon=True)
        self.base, self.api_key = base, api_key
        self.sending = threading.Event()
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None

    def body(self) -> Iterator[bytes]:
        data = png(300, 300)
        step = len(data) // 6 + 1
        for offset in range(0, len(data), step):
            yield data[offset : offset + step]
            self.sending.set()
            time.sleep(0.4)

    def run(self) -> None:
        try:
            self.response = httpx.post(
                f"{self.base}/api/v1/images",
                content=self.body(),
                headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "image/png"},
                timeout=60,
            )
        except BaseException as exc:  # reported by the test
            self.error = exc


def push_in_flight(base: str, api_key: str, apns: FakeApns, dev_pki: DevPki) -> None:
    """A pass on a registered iPhone changes; returns once its push reached APNs, whose
    answer then takes :data:`APNS_DELAY` seconds."""
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api, httpx.Client() as phone:
        issued = issue(api, dev_pki)
        download = phone.get(issued["urls"]["pkpass"])
        assert download.status_code == 200
        pj = json.loads(_pass_json(download.content))
        registration = (
            f"{pj['webServiceURL'].rstrip('/')}/v1/devices/shutdown-phone/registrations/"
            f"{pj['passTypeIdentifier']}/{pj['serialNumber']}"
        )
        registered = phone.post(
            registration,
            headers={"Authorization": f"ApplePass {pj['authenticationToken']}"},
            json={"pushToken": "cd" * 32},
        )
        assert registered.status_code == 201, registered.text
        apns.response_delay = APNS_DELAY
        changed = api.patch(f"/api/v1/passes/{issued['id']}", json={"data": {"points": 99}})
        assert changed.status_code == 200, changed.text
    apns.wait_for(1, timeout=60)


def _pass_json(pkpass: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(pkpass)) as archive:
        return archive.read("pass.json")


def outbox(url: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        db = Database(url)
        try:
            async with db.sessions() as session:
                jobs = (await session.execute(select(OutboxJob))).scalars().all()
                return [
                    {"name": j.name, "done": j.done_at is not None, "attempts": j.attempts,
                     "locked": j.locked_until is not None, "failed": j.failed_at is not None}
                    for j in jobs
                ]  # fmt: skip
        finally:
            await db.dispose()

    return asyncio.run(read())


def check_nothing_dropped(url: str) -> None:
    """The push that was in flight is done; every other job is done or was never started
    (none is held by a run that died, which would wait :data:`LEASE` to run again)."""
    jobs = outbox(url)
    pushes = [row for row in jobs if row["name"] == PUSH_JOB]
    assert pushes, jobs
    assert all(row["done"] for row in pushes), jobs
    for row in jobs:
        assert row["done"] or not row["locked"], (row, f"held for {LEASE}")
        assert not row["failed"], row


def stop_while_busy(
    base: str,
    api_key: str,
    apns: FakeApns,
    dev_pki: DevPki,
    processes: list[tuple[subprocess.Popen[bytes], Path]],
) -> None:
    """With a push and an upload in flight, SIGTERM every process: the upload is stored,
    and every process exits 0."""
    push_in_flight(base, api_key, apns, dev_pki)
    upload = SlowUpload(base, api_key)
    upload.start()
    assert upload.sending.wait(30)
    time.sleep(0.3)  # the server has the request's head and waits for its body
    for process, _ in processes:
        os.kill(process.pid, signal.SIGTERM)
    upload.join(60)
    assert upload.error is None, upload.error
    assert upload.response is not None
    assert upload.response.status_code == 201, upload.response.text
    for process, log in processes:
        assert ended(process, log) == 0, log.read_text()[-4000:]


def test_passmint_serve_finishes_its_requests_and_jobs_on_sigterm(
    tmp_path: Path, apns: FakeApns, dev_pki: DevPki
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path / 'passmint.db'}"
    env = command_env(
        tmp_path / "data",
        url,
        public_url=base,
        secret_key="s" * 43,
        apns_url=apns.base_url,
        apns_ca_file=apns.ca_file,
        queue="embedded",
        shutdown_grace=str(GRACE),
    )
    key = tenant_key(env)
    log = tmp_path / "serve.log"
    server = start(["serve", "--port", str(port), "--log-level", "warning"], env, log)
    try:
        wait_healthy(base, server, log)
        stop_while_busy(base, key, apns, dev_pki, [(server, log)])
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    check_nothing_dropped(url)


@pytest.mark.postgres
@pytest.mark.redis
def test_web_and_worker_processes_finish_their_requests_and_jobs_on_sigterm(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fresh_postgres: str,
    apns: FakeApns,
    dev_pki: DevPki,
) -> None:
    topology = production(
        request,
        tmp_path,
        fresh_postgres,
        apns,
        secret_key="p" * 43,
        shutdown_grace=str(GRACE),
    )
    web, worker = topology.start_web(), topology.start_worker()
    try:
        wait_healthy(topology.base, web, topology.web_log)
        stop_while_busy(
            topology.base,
            topology.key,
            apns,
            dev_pki,
            [(web, topology.web_log), (worker, topology.worker_log)],
        )
    finally:
        for process in (web, worker):
            if process.poll() is None:
                process.kill()
                process.wait()
    check_nothing_dropped(fresh_postgres)


STARTED: dict[str, asyncio.Event] = {}


@job("tests.ops.never_answers", phased=True)
async def never_answers(ctx: JobContext[Any], payload: dict[str, object]) -> None:
    """Waits on a remote server that never answers."""
    STARTED.setdefault(str(payload["value"]), asyncio.Event()).set()
    await asyncio.Event().wait()


@pytest.mark.anyio
async def test_a_job_still_running_after_the_grace_is_handed_back_at_once(
    tmp_path: Path, apns: FakeApns
) -> None:
    """Past the grace period the worker cancels the job and releases its lease, so the
    next start runs it at once instead of when the lease would have run out."""
    settings = make_settings(f"sqlite:///{tmp_path / 'passmint.db'}", tmp_path, apns)
    runtime = Runtime(settings)
    await runtime.start(worker=True)
    try:
        marker = str(uuid.uuid4())
        async with runtime.transaction() as session:
            queued = await enqueue(
                session, "tests.ops.never_answers", {"value": marker}, now=runtime.clock()
            )
        await asyncio.wait_for(STARTED.setdefault(marker, asyncio.Event()).wait(), 30)
        assert runtime.worker is not None
        await runtime.worker.stop(grace=0.2)
        async with runtime.db.sessions() as session:
            row = await session.get(OutboxJob, queued.id)
            assert row is not None
            assert (row.done_at, row.locked_until, row.run_id) == (None, None, None)
            assert await claim_due(runtime, 10) == [queued.id]  # due now, not after LEASE
    finally:
        await runtime.stop()
