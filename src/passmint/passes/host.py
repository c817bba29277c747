"""What transport code and jobs need from the process they run in: sessions and
transactions, crypto, caches and the pass service's context.

The composition root (:class:`passmint.runtime.Runtime`) provides it. Endpoints, the
device fast path and jobs are typed against this protocol, so nothing below the
composition root imports it (``ARCHITECTURE.md`` §3).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.crypto import SecretBox, TokenHasher
from passmint.passes.service import PassContext
from passmint.worker.host import WorkerHost

T = TypeVar("T")


class ServiceHost(WorkerHost, Protocol):
    box: SecretBox
    hasher: TokenHasher
    caches: dict[str, object]

    def cache(self, name: str, factory: Callable[[], T]) -> T:
        """A per-process object shared by requests and jobs (clients, parsed keys)."""

    def pass_context(self, session: AsyncSession, tenant_id: uuid.UUID) -> PassContext:
        """What the pass service needs, for one tenant, in this session."""

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """One transaction: commit at the end, then dispatch the jobs it enqueued."""
