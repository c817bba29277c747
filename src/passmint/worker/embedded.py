"""The in-process worker of embedded mode: runs outbox jobs inside ``passmint serve``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import TYPE_CHECKING

import structlog

from passmint.worker.runner import claim_due, run_job

if TYPE_CHECKING:
    from passmint.runtime import Runtime

log = structlog.get_logger("passmint.worker")


class EmbeddedWorker:
    """Wakes up when a transaction commits new jobs, and every ``poll`` seconds."""

    def __init__(self, runtime: Runtime, *, concurrency: int = 8, poll: float = 1.0) -> None:
        self.runtime = runtime
        self.concurrency = concurrency
        self.poll = poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()

    def notify(self, job_ids: list[uuid.UUID]) -> None:
        if job_ids:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="passmint-embedded-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_until_idle(self, within: float = 30.0) -> None:
        """Run due jobs until none are left (for tests and one-shot commands)."""
        async with asyncio.timeout(within):
            while await self._drain_once():
                pass

    async def _drain_once(self) -> bool:
        ids = await claim_due(self.runtime, self.concurrency * 4)
        if not ids:
            return False
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(job_id: uuid.UUID) -> None:
            async with semaphore:
                await run_job(self.runtime, job_id)

        await asyncio.gather(*(one(i) for i in ids))
        return True

    async def _loop(self) -> None:
        while True:
            try:
                while await self._drain_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the loop alive: the next poll retries
                log.error("worker loop error", error=str(exc))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()
