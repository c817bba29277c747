"""What the worker needs from the process that runs it.

The composition root (:class:`passmint.runtime.Runtime`) provides it; the worker only
knows this protocol, so nothing in it imports the layer above.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Protocol

from passmint.config import Settings
from passmint.db import Database
from passmint.kit.clock import Clock

if TYPE_CHECKING:
    from passmint.worker.redis_queue import RedisDispatcher


class WorkerHost(Protocol):
    """The database, the clock and the dispatch of committed jobs."""

    settings: Settings
    db: Database
    clock: Clock
    redis: RedisDispatcher | None

    def dispatch(self, job_ids: list[uuid.UUID]) -> None:
        """Hand committed jobs to whoever runs them."""
