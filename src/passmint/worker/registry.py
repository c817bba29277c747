"""Job declaration: ``@job("apple.push_pass")`` registers an async handler by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from passmint.runtime import Runtime


@dataclass
class JobContext:
    """What a job runs with: its own session (one transaction per job) and the runtime."""

    session: AsyncSession
    runtime: Runtime
    job_id: str
    attempt: int


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]
JOBS: dict[str, Handler] = {}


class RetryLater(Exception):
    """Raised by a job to be run again later without counting as a failure of the code."""

    def __init__(self, reason: str, *, seconds: float | None = None) -> None:
        super().__init__(reason)
        self.seconds = seconds


def job(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in JOBS and JOBS[name] is not handler:
            raise ValueError(f"job {name!r} is registered twice")
        JOBS[name] = handler
        return handler

    return register
