"""Database engines: SQLite embedded by default, PostgreSQL in production.

URLs may be given in their plain form (``postgresql://…``, ``sqlite:///…``); the async
drivers (asyncpg, aiosqlite) are filled in here.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DontWrapMixin
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from passmint.errors import InvalidText
from passmint.kit import metrics

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


_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # \u0000, not \\u0000
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnstorableText(InvalidText, DontWrapMixin):
    """Text a statement was about to send that the database cannot hold: raised as is, not
    wrapped in SQLAlchemy's StatementError, so the error handler answers it (a 400)."""


def storable_json(value: Any) -> str:
    """JSON columns' serializer: refuses NUL (PostgreSQL's JSONB cannot hold it) and lone
    surrogates (no encoding can), whichever code wrote the value."""
    text = json.dumps(value, ensure_ascii=False)
    if ("\\u0000" in text and _NUL_ESCAPE.search(text)) or (
        not text.isascii() and _SURROGATE.search(text)
    ):
        raise UnstorableText("text with NUL or a lone surrogate cannot be stored")
    return text


def _parameters(parameters: Any, executemany: bool) -> Iterator[object]:
    """The values of a statement's parameters: one row (a tuple or a mapping) or, for an
    executemany, a sequence of rows."""
    for row in parameters if executemany else (parameters,):
        if isinstance(row, Mapping):
            yield from row.values()
        elif isinstance(row, tuple | list):
            yield from row
        else:
            yield row


def _refuse_unstorable(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    for value in _parameters(parameters, executemany):
        if type(value) is str and (
            "\x00" in value or (not value.isascii() and _SURROGATE.search(value))
        ):
            raise UnstorableText("text with NUL or a lone surrogate cannot be stored")


def refuse_unstorable_text(engine: AsyncEngine) -> None:
    """The last line behind the typed edge (kit.text): no statement sends PostgreSQL a NUL
    or a lone surrogate, which it would answer with an error (and SQLite would store).
    Costs a scan of each statement's string parameters."""
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_unstorable)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout."""
    kwargs.setdefault("json_serializer", storable_json)
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


def _server_error(error: BaseException) -> bool:
    """An error PostgreSQL answered with, after which its connection is ready again."""
    import asyncpg

    return isinstance(error, asyncpg.PostgresError) and not isinstance(
        error, asyncpg.PostgresConnectionError
    )


class ReadPool:
    """A lean pool of asyncpg connections for one-statement reads (the device fast path).

    A LIFO queue of ``size`` slots, each empty or holding an open connection: a connection
    is opened when a slot first needs one and the most recently used is reused first (a
    light load keeps few open). Only single read statements outside transactions run here,
    so nothing is reset between uses; a connection that is closed, inside a transaction,
    or failed other than by an error the server answered with, is dropped and its slot
    reconnects on its next use.

    asyncpg's own pool costs a second round trip per query (its reset query on release) and
    ~30 µs of CPU more (a proxy object, a shielded release task, timers), which at the
    device-poll rates is a large share of the request.
    """

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._slots: asyncio.LifoQueue[Any] = asyncio.LifoQueue()
        for _ in range(size):
            self._slots.put_nowait(None)
        self._open: set[Any] = set()
        self._closed = False

    async def fetchrow(self, query: str, *args: Any) -> Any:
        return await self._once("fetchrow", query, args)

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        rows: list[Any] = await self._once("fetch", query, args)
        return rows

    async def _once(self, method: str, query: str, args: tuple[Any, ...]) -> Any:
        # What acquire() does, without a context manager's cost on the hottest path.
        conn = await self._take()
        try:
            result = await getattr(conn, method)(query, *args)
        except BaseException as error:
            self._give(conn, error)
            raise
        self._give(conn)
        return result

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        """A connection for a few statements; given back as the block ends."""
        conn = await self._take()
        try:
            yield conn
        except BaseException as error:
            self._give(conn, error)
            raise
        self._give(conn)

    async def _take(self) -> Any:
        if self._closed:
            raise RuntimeError("the read pool is closed")
        conn = await self._slots.get()
        if conn is not None and not conn.is_closed():
            return conn
        self._open.discard(conn)
        try:
            import asyncpg

            conn = await asyncpg.connect(self._dsn)
        except BaseException:
            self._slots.put_nowait(None)
            raise
        self._open.add(conn)
        return conn

    def _give(self, conn: Any, error: BaseException | None = None) -> None:
        """Back to its slot; dropped when it cannot be trusted with the next query: inside
        a transaction, closed, or after any failure but an error the server reported
        (a cancelled query, a broken or confused protocol)."""
        if (
            self._closed
            or conn.is_closed()
            or conn.is_in_transaction()
            or (error is not None and not _server_error(error))
        ):
            self._open.discard(conn)
            conn.terminate()
            conn = None
        self._slots.put_nowait(conn)

    async def close(self) -> None:
        self._closed = True
        idle = []
        while not self._slots.empty():
            conn = self._slots.get_nowait()
            if conn is not None:
                idle.append(conn)
        for conn in self._open.difference(idle):  # in use: their requests fail
            conn.terminate()
        self._open.clear()
        await asyncio.gather(*(conn.close() for conn in idle), return_exceptions=True)


class Database:
    """An engine and its session factory; one per process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        metrics.watch_pool(self.engine)
        refuse_unstorable_text(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Single-statement reads without BEGIN/ROLLBACK round trips (the device polling paths).
        self.reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # Sessions on it, for read-only requests whose statements need no common snapshot
        # (a validation): each statement is one round trip, with no BEGIN or ROLLBACK.
        self.read_sessions = async_sessionmaker(self.reads, expire_on_commit=False)
        self._raw_pool: ReadPool | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def raw_pool(self) -> ReadPool:
        """Raw asyncpg connections beside SQLAlchemy's pool, for the hottest one-statement reads."""
        if self._raw_pool is None:  # connections open on first use
            url = make_url(self.url).set(drivername="postgresql")
            self._raw_pool = ReadPool(url.render_as_string(hide_password=False), 16)
        return self._raw_pool

    async def dispose(self) -> None:
        if self._raw_pool is not None:
            await self._raw_pool.close()
            self._raw_pool = None
        await self.engine.dispose()


# In a checkout beside src/; in an installed wheel, inside the package (pyproject.toml
# force-includes them there).
_PACKAGED_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATIONS = (
    _PACKAGED_MIGRATIONS
    if _PACKAGED_MIGRATIONS.is_dir()
    else Path(__file__).resolve().parents[2] / "migrations"
)


def run_migrations(url: str) -> None:
    """Upgrade the database at ``url`` to the newest schema (blocking: call from a thread)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
