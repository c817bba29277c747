"""Running outbox jobs: claim, run in one transaction, record the outcome, back off on failure."""

from __future__ import annotations

import random
import time
import traceback
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.db import begin_write
from passmint.kit import metrics
from passmint.kit.sql import in_ids
from passmint.kit.uow import run_before_commit
from passmint.models import OutboxJob
from passmint.worker.outbox import take_pending
from passmint.worker.registry import JOBS, PHASED, JobContext, RetryLater

if TYPE_CHECKING:
    from passmint.worker.host import WorkerHost

log = structlog.get_logger("passmint.worker")
MAX_ATTEMPTS = 12
LEASE = timedelta(minutes=5)


def backoff(attempt: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at 10 minutes, with ±20% jitter."""
    base = min(600.0, 2.0 ** max(0, attempt - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter


async def claim_due(
    runtime: WorkerHost,
    limit: int,
    *,
    grace: timedelta = timedelta(0),
    lease: timedelta = LEASE,
) -> list[uuid.UUID]:
    """Lease up to ``limit`` due jobs for ``lease`` (skipping ones another worker holds).
    With a ``grace``, a job sent to the workers when it was committed is claimed only once
    it has waited that long (its message is still in the queue before then); a delayed job,
    which nobody sends, as soon as it is due."""
    now = runtime.clock()
    async with runtime.db.sessions() as session, session.begin():
        await begin_write(session)
        due = OutboxJob.available_at <= now
        if grace > timedelta(0):
            due &= or_(
                OutboxJob.available_at <= now - grace,
                OutboxJob.available_at > OutboxJob.created_at,  # delayed or rescheduled
            )
        query = (
            select(OutboxJob.id)
            .where(
                OutboxJob.done_at.is_(None),
                OutboxJob.failed_at.is_(None),
                due,
                or_(OutboxJob.locked_until.is_(None), OutboxJob.locked_until < now),
            )
            .order_by(OutboxJob.available_at)
            .limit(limit)
        )
        if runtime.db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list((await session.execute(query)).scalars())
        if ids:
            await session.execute(
                update(OutboxJob)
                .where(in_ids(session, OutboxJob.id, ids))
                # A phased run that held one of these let its lease run out (it crashed, or
                # was cancelled): it no longer holds the job, and records nothing if it wakes.
                .values(locked_until=now + lease, run_id=None)
            )
    return ids


async def release(runtime: WorkerHost, job_ids: list[uuid.UUID]) -> None:
    """Hand back jobs whose runs were cancelled (a shutdown past its grace period): their
    leases end now, so that the next worker takes them at once rather than when the
    leases run out. A cancelled run rolled back, or, for a phased job, records nothing
    once its run id is gone; a job done or failed meanwhile is left alone."""
    if not job_ids:
        return
    async with runtime.db.sessions() as session, session.begin():
        await begin_write(session)
        await session.execute(
            update(OutboxJob)
            .where(
                in_ids(session, OutboxJob.id, job_ids),
                OutboxJob.done_at.is_(None),
                OutboxJob.failed_at.is_(None),
            )
            .values(locked_until=None, run_id=None)
        )


class _Skip(Exception):
    """The job is done, failed, or held by another worker: nothing to run."""


async def run_job(runtime: WorkerHost, job_id: uuid.UUID) -> bool:
    """Run one job if it is still pending, in one transaction with its row locked (so a job
    sent twice, by the dispatcher and by the sweeper, runs once). True when it ran.

    A phased job (see :mod:`.registry`) is leased in a short transaction instead, runs with
    no transaction held across its I/O, and is marked done in its own write transaction."""
    name, attempt = "?", 1
    run_id: uuid.UUID | None = None
    started = time.perf_counter()
    async with runtime.db.sessions() as session:
        try:
            async with session.begin():
                await begin_write(session)
                job = await _pending_job(runtime, session, job_id)
                name, payload, attempt = job.name, dict(job.payload), job.attempts + 1
                lag = (runtime.clock() - job.available_at).total_seconds()
                if name in PHASED:
                    run_id = _lease(runtime, job)  # committed as this block ends
                    metrics.job_started(name, lag)
                else:
                    metrics.job_started(name, lag)
                    await _run_here(runtime, session, job, payload, attempt)
            runtime.dispatch(take_pending(session))
        except _Skip:
            return False
        except _NoHandler:
            await _reschedule(runtime, job_id, attempt, f"no handler for job {name!r}", None,
                              failure=True, final=True)  # fmt: skip
            metrics.JOBS.labels(name, "dead").inc()
            return False
        except Exception as exc:  # a job's failure is recorded, never lost
            take_pending(session)
            await _failed(runtime, job_id, name, attempt, exc)
            return False
    if run_id is None or await _run_phased(runtime, job_id, name, payload, attempt, run_id):
        metrics.job_finished(name, "done", time.perf_counter() - started)
        return True
    return False


async def _run_here(
    runtime: WorkerHost,
    session: AsyncSession,
    job: OutboxJob,
    payload: dict[str, Any],
    attempt: int,
) -> None:
    """Run an ordinary job in the claiming transaction and mark it done there."""
    handler = JOBS.get(job.name)
    if handler is None:
        raise _NoHandler
    await handler(JobContext(session, runtime, str(job.id), attempt), payload)
    await _complete(runtime, session, job, attempt)


class _NoHandler(Exception):
    pass


async def _pending_job(
    runtime: WorkerHost, session: AsyncSession, job_id: uuid.UUID, *, starting: bool = True
) -> OutboxJob:
    """The job's row, locked (PostgreSQL; SQLite's write lock is already held); ``_Skip``
    when it is gone, done or failed, or, when ``starting`` a run, held by another worker or
    not due yet (a delayed job waits for the sweeper, however early it was sent)."""
    query = select(OutboxJob).where(OutboxJob.id == job_id)
    if runtime.db.dialect == "postgresql":
        query = query.with_for_update(skip_locked=starting)
    job = (await session.execute(query)).scalar_one_or_none()
    if job is None or job.done_at is not None or job.failed_at is not None:
        raise _Skip
    if starting and job.available_at > runtime.clock():
        raise _Skip
    return job


class _LeaseLost(Exception):
    """Another worker took the job over (our lease ran out): our results are not recorded."""


def _lease(runtime: WorkerHost, job: OutboxJob) -> uuid.UUID:
    """Give the locked ``job`` to a new run for :data:`LEASE` (a run that died holds it
    only until then); ``_Skip`` while another run holds it."""
    now = runtime.clock()
    if job.run_id is not None and job.locked_until is not None and job.locked_until > now:
        raise _Skip
    job.run_id = uuid.uuid4()
    job.locked_until = now + LEASE
    return job.run_id


async def _run_phased(
    runtime: WorkerHost,
    job_id: uuid.UUID,
    name: str,
    payload: dict[str, Any],
    attempt: int,
    run_id: uuid.UUID,
) -> bool:
    """Run a leased phased job: it reads, does its I/O with no transaction open, and its
    :meth:`~JobContext.write` commits its results with its completion."""
    wrote = finished = False

    @asynccontextmanager
    async def write() -> AsyncIterator[AsyncSession]:
        nonlocal wrote, finished
        if wrote:
            raise RuntimeError(f"job {name!r} wrote its results twice")
        wrote = True
        async with runtime.db.sessions() as session:
            async with session.begin():
                await begin_write(session)
                job = await _pending_job(runtime, session, job_id, starting=False)
                if job.run_id != run_id:
                    raise _LeaseLost
                yield session
                await _complete(runtime, session, job, attempt)
            finished = True  # committed
            runtime.dispatch(take_pending(session))

    try:
        async with runtime.db.sessions() as reader:

            @asynccontextmanager
            async def read() -> AsyncIterator[AsyncSession]:
                try:
                    yield reader
                finally:
                    # No snapshot or lock is held across the job's I/O; what it loaded stays
                    # readable, detached.
                    reader.expunge_all()
                    await reader.rollback()

            context = JobContext(reader, runtime, str(job_id), attempt, read, write)
            await JOBS[name](context, payload)
        if not wrote:
            async with write():
                pass
        if not finished:
            raise RuntimeError(f"job {name!r} went on after its results failed to commit")
        return True
    except (_Skip, _LeaseLost):
        return False
    except Exception as exc:  # a job's failure is recorded, never lost
        await _failed(runtime, job_id, name, attempt, exc, run_id=run_id)
    return False


async def _complete(
    runtime: WorkerHost, session: AsyncSession, job: OutboxJob, attempt: int
) -> None:
    """Mark ``job`` done in the transaction that holds its results."""
    await run_before_commit(session)
    job.done_at = runtime.clock()
    job.attempts = attempt
    job.locked_until = None
    job.run_id = None


async def _failed(
    runtime: WorkerHost,
    job_id: uuid.UUID,
    name: str,
    attempt: int,
    exc: Exception,
    *,
    run_id: uuid.UUID | None = None,
) -> None:
    """Put a job that raised back in the outbox: ``RetryLater`` when it asked, else with
    backoff as a failure (failed for good after :data:`MAX_ATTEMPTS`)."""
    if isinstance(exc, RetryLater):
        metrics.JOBS.labels(name, "retry").inc()
        await _reschedule(
            runtime, job_id, attempt, str(exc), exc.seconds, failure=False, run_id=run_id
        )
        return
    metrics.JOBS.labels(name, "dead" if attempt >= MAX_ATTEMPTS else "failed").inc()
    log.warning("job failed", job=name, job_id=str(job_id), attempt=attempt, error=str(exc))
    error = "".join(traceback.format_exception_only(exc))[-2000:]
    await _reschedule(runtime, job_id, attempt, error, None, failure=True, run_id=run_id)


async def _reschedule(
    runtime: WorkerHost,
    job_id: uuid.UUID,
    attempt: int,
    error: str,
    seconds: float | None,
    *,
    failure: bool,
    final: bool = False,
    run_id: uuid.UUID | None = None,
) -> None:
    now: datetime = runtime.clock()
    async with runtime.db.sessions() as session, session.begin():
        await begin_write(session)
        try:
            job = await _pending_job(runtime, session, job_id, starting=False)
        except _Skip:
            return  # gone, or done by another run
        if run_id is not None and job.run_id != run_id:
            return  # taken over by another run of a phased job
        job.attempts = attempt
        job.last_error = error
        job.locked_until = None
        job.run_id = None
        if final or (failure and attempt >= MAX_ATTEMPTS):
            job.failed_at = now
            return
        delay = timedelta(seconds=seconds) if seconds is not None else backoff(attempt)
        job.available_at = now + delay
