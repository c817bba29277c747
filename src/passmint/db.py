"""Database engines: SQLite embedded by default, PostgreSQL in production.

URLs may be given in their plain form (``postgresql://…``, ``sqlite:///…``); the async
drivers (asyncpg, aiosqlite) are filled in here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

ASYNC_DRIVERS = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}


def async_url(url: str) -> str:
    parsed = make_url(url)
    driver = ASYNC_DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() not in ASYNC_DRIVERS:
        raise ValueError(
            f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
        )
    return parsed.render_as_string(hide_password=False)


WRITE_OPTION = "passmint_write"
"""Execution option marking a transaction that writes (BEGIN IMMEDIATE on SQLite)."""


async def begin_write(session: AsyncSession) -> None:
    """Call first thing in a write transaction: on SQLite it takes the write lock now."""
    await session.connection(execution_options={WRITE_OPTION: True})


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout."""
    final = async_url(url)
    parsed = make_url(final)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(final, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
            dbapi_connection.isolation_level = None  # transactions begin in _begin below

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(connection: Any) -> None:
            # A write transaction takes SQLite's write lock when it begins: two of them can
            # then never both read a balance and both write it (a deferred BEGIN would
            # read a snapshot that the other's commit makes stale). Reads stay deferred.
            immediate = connection.get_execution_options().get(WRITE_OPTION)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # No pre-ping: it costs a round trip per request. Dead connections are recycled, and a
    # connection that fails is invalidated by SQLAlchemy and replaced on the next checkout.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", 1800)
    return create_async_engine(final, **kwargs)


async def _keep_session(connection: Any) -> None:
    """The raw pool's reset: nothing beyond asyncpg's own (listeners cleared, an open
    transaction rolled back).

    asyncpg's default runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release: a second round trip per one-statement read. The raw pool
    only ever runs single read statements outside transactions, which leave no session
    state (no SET, cursors, LISTEN or advisory locks) to undo.
    """


class Database:
    """An engine and its session factory; one per process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Single-statement reads without BEGIN/ROLLBACK round trips (the device polling paths).
        self.reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._raw_pool: Any = None
        self._raw_lock = asyncio.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def raw_pool(self) -> Any:
        """An asyncpg pool beside SQLAlchemy's, for the few hottest single-row reads."""
        if self._raw_pool is None:
            async with self._raw_lock:
                if self._raw_pool is None:
                    import asyncpg

                    url = make_url(self.url).set(drivername="postgresql")
                    dsn = url.render_as_string(hide_password=False)
                    self._raw_pool = await asyncpg.create_pool(
                        dsn, min_size=2, max_size=16, reset=_keep_session
                    )
        return self._raw_pool

    async def dispose(self) -> None:
        if self._raw_pool is not None:
            await self._raw_pool.close()
            self._raw_pool = None
        await self.engine.dispose()


MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def run_migrations(url: str) -> None:
    """Upgrade the database at ``url`` to the newest schema (blocking: call from a thread)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
