"""The in-process worker of embedded mode: runs outbox jobs inside ``passmint serve``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import TYPE_CHECKING, Any

import structlog

from passmint.worker.runner import claim_due, release, run_job

if TYPE_CHECKING:
    from passmint.worker.host import WorkerHost

log = structlog.get_logger("passmint.worker")


class EmbeddedWorker:
    """Wakes up when a transaction commits new jobs, and every ``poll`` seconds."""

    def __init__(self, runtime: WorkerHost, *, concurrency: int = 8, poll: float = 1.0) -> None:
        self.runtime = runtime
        self.concurrency = concurrency
        self.poll = poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._stopping = False

    def notify(self, job_ids: list[uuid.UUID]) -> None:
        if job_ids:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="passmint-embedded-worker")

    async def stop(self, grace: float = 0.0) -> None:
        """Claim no more jobs and let the running ones finish within ``grace`` seconds; then
        cancel what still runs and hand it back (its lease released, so the next worker
        runs it at once, not when the lease runs out). Jobs not started stay in the outbox."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            _, pending = await asyncio.wait({task}, timeout=grace)
            if pending:
                log.warning("shutdown grace over: cancelling running jobs", grace=grace)
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._stopping = False

    async def run_until_idle(self, within: float = 30.0) -> None:
        """Run due jobs until none are left (for tests and one-shot commands)."""
        async with asyncio.timeout(within):
            await self._run_due()

    async def _run_due(self) -> bool:
        """Keep up to ``concurrency`` jobs running, claiming more whenever a slot frees or
        a commit brings new ones, until none is running or due; True if any ran.

        Claiming only when a slot is free keeps a chain of jobs flowing: the next batch
        of a template's re-render starts as soon as it is committed, beside the push jobs
        of the batches before it, instead of after all of them."""
        running: dict[asyncio.Task[bool], uuid.UUID] = {}
        ran = False
        try:
            while True:
                free = self.concurrency - len(running)
                if free > 0 and not self._stopping:
                    self._wake.clear()
                    for job_id in await claim_due(self.runtime, free):
                        running[asyncio.create_task(run_job(self.runtime, job_id))] = job_id
                        ran = True
                if not running:
                    return ran
                waits: set[asyncio.Future[Any]] = set(running)
                woken = None
                if len(running) < self.concurrency and not self._stopping:
                    woken = asyncio.ensure_future(self._wake.wait())
                    waits.add(woken)
                done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if woken is not None and not woken.done():
                    woken.cancel()
                for task in [task for task in running if task in done]:
                    del running[task]
                    if task.exception() is not None:  # run_job records job failures itself
                        log.error("worker error", error=str(task.exception()))
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
                try:
                    await release(self.runtime, list(running.values()))
                except Exception as exc:  # their leases run out instead
                    log.warning("could not release cancelled jobs", error=str(exc))

    async def _loop(self) -> None:
        while True:
            try:
                await self._run_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the loop alive: the next poll retries
                log.error("worker loop error", error=str(exc))
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()
