"""Production queue: arq workers on Redis carry outbox job ids to worker processes.

The outbox table stays the record of truth: Redis only says "run job X now". A sweeper in
every worker re-sends due jobs that nobody holds (a web process that died between commit and
enqueue, a worker that died mid-job once its lease ran out), and arq's job ids make a
duplicate send harmless.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import structlog
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.cron import cron

from passmint import logs
from passmint.worker.runner import LEASE, claim_due, release, run_job

if TYPE_CHECKING:
    from passmint.worker.host import WorkerHost

log = structlog.get_logger("passmint.worker")
# A job sent at commit is in the queue; the sweeper takes it over only if it still waits
# after this long (its message was lost: a process died between commit and send).
SWEEP_GRACE = timedelta(seconds=30)
SWEEP_BATCH = 500
# How often an idle worker asks Redis for jobs (arq polls; its default is 0.5 s). A job
# that a job enqueues waits up to this long for a free slot, in every step of a chain.
POLL_DELAY = 0.02


class RedisDispatcher:
    def __init__(self, redis_url: str, queue: str) -> None:
        self.settings = RedisSettings.from_dsn(redis_url)
        self.queue = queue
        self._pool: ArqRedis | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._pool = await create_pool(self.settings, default_queue_name=self.queue)

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    def notify(self, job_ids: list[uuid.UUID]) -> None:
        if job_ids and self._pool is not None:
            task = asyncio.create_task(self.send(job_ids))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def send(self, job_ids: list[uuid.UUID]) -> None:
        assert self._pool is not None
        for job_id in job_ids:
            try:
                await self._pool.enqueue_job("run_outbox_job", str(job_id), _queue_name=self.queue)
            except Exception as exc:  # the sweeper will find it
                log.warning("enqueue failed", job_id=str(job_id), error=str(exc))


async def run_outbox_job(ctx: dict[str, Any], job_id: str) -> bool:
    runtime: WorkerHost = ctx["runtime"]
    try:
        return await run_job(runtime, uuid.UUID(job_id))
    except asyncio.CancelledError:
        # Cancelled by a shutdown past its grace (or arq's timeout): the sweeper sends the
        # job again once its lease is released, instead of when it runs out.
        await asyncio.shield(release(runtime, [uuid.UUID(job_id)]))
        raise


async def sweep(ctx: dict[str, Any]) -> int:
    """Send to the queue the due jobs that nobody holds: delayed and rescheduled jobs once
    due, a job whose message was lost (or whose run's lease ran out) once it has waited
    :data:`SWEEP_GRACE`. The claim leases them for :data:`SWEEP_GRACE` only, so the next
    sweeps leave them alone while they wait in the queue, yet a message that finds nothing
    to run (a worker whose clock is behind ours saw a delayed job not due yet) costs a
    sweep or two, not a whole lease. The workers' slots run them, side by side."""
    runtime: WorkerHost = ctx["runtime"]
    ids = await claim_due(runtime, SWEEP_BATCH, grace=SWEEP_GRACE, lease=SWEEP_GRACE)
    if ids:
        assert runtime.redis is not None
        await runtime.redis.send(ids)
    return len(ids)


def worker_settings(
    runtime_factory: Any, redis_url: str, queue: str, concurrency: int, grace: int = 0
) -> type:
    """arq WorkerSettings bound to a runtime built in the worker process. On SIGTERM or
    SIGINT the worker takes no more jobs and gives the running ones ``grace`` seconds to
    finish before it cancels them."""

    async def startup(ctx: dict[str, Any]) -> None:
        logs.announce("worker")  # arq's handlers are in place: log what stops us
        runtime = runtime_factory()
        await runtime.start(worker=False, migrate=False)  # the CLI migrated once
        ctx["runtime"] = runtime

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["runtime"].stop()

    class WorkerSettings:
        functions: ClassVar[list[Any]] = [run_outbox_job]
        cron_jobs: ClassVar[list[Any]] = [cron(sweep, second=set(range(0, 60, 5)))]
        on_startup = startup
        on_shutdown = shutdown
        redis_settings = RedisSettings.from_dsn(redis_url)
        queue_name = queue
        max_jobs = concurrency
        poll_delay = POLL_DELAY
        allow_abort_jobs = False
        job_completion_wait = grace
        # arq cancels a job after job_timeout: no sooner than its lease runs out (a
        # cancelled phased run keeps the job until then, and the sweeper sends it again).
        job_timeout = int(LEASE.total_seconds())

    return WorkerSettings
