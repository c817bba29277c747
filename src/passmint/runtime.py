"""The composition of one process: database, crypto, clock, job dispatch, caches.

``passmint serve`` builds one for the web app (and, in embedded mode, its worker);
``passmint worker`` builds one per worker process.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from passmint.config import QueueMode, Settings
from passmint.db import Database, begin_write, run_migrations
from passmint.kit.clock import Clock, utcnow
from passmint.kit.crypto import SecretBox, TokenHasher, new_master_key, parse_master_key
from passmint.kit.uow import run_before_commit
from passmint.passes.apple.credentials import CredentialCache
from passmint.passes.google.credentials import AccountCache
from passmint.passes.google.tasks import publish_on_issue
from passmint.passes.service import PassContext
from passmint.tenants.quotas import QuotaLimits
from passmint.web import ratelimit
from passmint.worker.embedded import EmbeddedWorker
from passmint.worker.outbox import take_pending
from passmint.worker.redis_queue import RedisDispatcher

T = TypeVar("T")


def master_key_file(settings: Settings) -> Path:
    """The master key's file in the data directory (used when PASSMINT_SECRET_KEY is unset)."""
    return Path(settings.data_dir) / "secret.key"


def load_master_key(settings: Settings) -> bytes:
    """PASSMINT_SECRET_KEY, or a key file generated once in the data directory (0600)."""
    if settings.secret_key:
        return parse_master_key(settings.secret_key)
    path = master_key_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_master_key() + "\n")
    return parse_master_key(path.read_text())


class Runtime:
    def __init__(self, settings: Settings, *, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.db = Database(settings.resolved_database_url())
        master = load_master_key(settings)
        self.box = SecretBox(master)
        self.hasher = TokenHasher(master)
        self.worker: EmbeddedWorker | None = None
        self.redis: RedisDispatcher | None = None
        self.caches: dict[str, object] = {}
        self._closers: list[object] = []

    async def start(self, *, worker: bool, migrate: bool = True) -> None:
        if migrate:
            await asyncio.to_thread(run_migrations, self.db.url)
        if self.settings.queue_mode() is QueueMode.REDIS:
            if not self.settings.redis_url:
                raise RuntimeError("queue mode redis needs PASSMINT_REDIS_URL")
            self.redis = RedisDispatcher(self.settings.redis_url, self.settings.queue_name)
            await self.redis.start()
        else:
            self.worker = EmbeddedWorker(self)
            if worker:
                self.worker.start()

    async def stop(self) -> None:
        if self.worker is not None:  # running jobs finish first, within the grace period
            await self.worker.stop(grace=self.settings.shutdown_grace)
        if self.redis is not None:
            await self.redis.stop()
        from passmint.passes.apple.push import close_clients
        from passmint.passes.google.tasks import close_clients as close_google_clients

        await close_clients(self)
        await close_google_clients(self)
        await ratelimit.close(self)
        await self.db.dispose()

    def dispatch(self, job_ids: list[uuid.UUID]) -> None:
        """Hand committed jobs to whoever runs them."""
        if not job_ids:
            return
        if self.redis is not None:
            self.redis.notify(job_ids)
        elif self.worker is not None:
            self.worker.notify(job_ids)

    def cache(self, name: str, factory: Callable[[], T]) -> T:
        """A per-process object shared by requests and jobs (clients, parsed keys)."""
        value = self.caches.get(name)
        if value is None:
            value = factory()
            self.caches[name] = value
        return value  # type: ignore[return-value]

    def pass_context(self, session: AsyncSession, tenant_id: uuid.UUID) -> PassContext:
        """What the pass service needs, for one tenant, in this session."""
        return PassContext(
            session=session,
            tenant_id=tenant_id,
            now=self.clock(),
            box=self.box,
            hasher=self.hasher,
            credentials=self.cache("credentials", CredentialCache),
            web_service_url=self.settings.web_service_url(),
            public_url=self.settings.public_url.rstrip("/"),
            google_origins=tuple(self.settings.google_origins),
            google_accounts=self.cache("google_accounts", AccountCache),
            google_publisher=partial(publish_on_issue, self),
            quotas=QuotaLimits(
                codes=self.settings.quota_codes,
                passes=self.settings.quota_passes,
                templates=self.settings.quota_templates,
                images=self.settings.quota_images,
            ),
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit at the end, then dispatch the jobs it enqueued."""
        async with self.db.sessions() as session:
            async with session.begin():
                await begin_write(session)
                yield session
                await run_before_commit(session)
            self.dispatch(take_pending(session))
