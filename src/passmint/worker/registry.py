"""Job declaration: ``@job("apple.push_pass")`` registers an async handler by name.

Most jobs run in one transaction, the job's session, committed with the job's outcome. A
job that talks to the network (APNs, Google) is declared ``phased``: it must not hold the
database's write lock (SQLite) or a transaction (PostgreSQL) while it waits on a remote
server, so it reads in :meth:`JobContext.read`, does its I/O with no transaction open, and
writes its results in :meth:`JobContext.write`, one short write transaction that also marks
the job done, so the results are recorded exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from passmint.worker.host import WorkerHost

H = TypeVar("H", bound=WorkerHost)

SessionScope = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class JobContext(Generic[H]):
    """What a job runs with: the runtime and its sessions.

    ``session`` is the job's transaction for an ordinary job. A phased job uses
    :meth:`read` and :meth:`write` (for an ordinary job both give the job's transaction,
    so a handler can be written for either); its ``session`` is the one :meth:`read`
    gives, whose transaction ends when that block ends.
    """

    session: AsyncSession
    runtime: H  # the process's host: a job declares the protocol it needs
    job_id: str
    attempt: int
    reader: SessionScope | None = field(default=None, repr=False)
    writer: SessionScope | None = field(default=None, repr=False)

    def read(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session for reads; a phased job's holds no write lock and is closed after."""
        return self.reader() if self.reader is not None else _same(self.session)

    def write(self) -> AbstractAsyncContextManager[AsyncSession]:
        """The job's write transaction: for a phased job, a short one that commits the
        job's results together with its completion (at most once per run)."""
        return self.writer() if self.writer is not None else _same(self.session)


@asynccontextmanager
async def _same(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    yield session


Handler = Callable[[JobContext[Any], dict[str, Any]], Awaitable[None]]
JOBS: dict[str, Handler] = {}
PHASED: set[str] = set()


class RetryLater(Exception):
    """Raised by a job to be run again later without counting as a failure of the code."""

    def __init__(self, reason: str, *, seconds: float | None = None) -> None:
        super().__init__(reason)
        self.seconds = seconds


def job(name: str, *, phased: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in JOBS and JOBS[name] is not handler:
            raise ValueError(f"job {name!r} is registered twice")
        JOBS[name] = handler
        if phased:
            PHASED.add(name)
        return handler

    return register
