"""Reachability checks for the services passmint runs on: ``passmint doctor`` and the
readiness of a web process (``/readyz``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import cache

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from passmint.db import MIGRATIONS, create_engine

log = structlog.get_logger("passmint.health")
_BEHIND = "database at "


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def check_database(url: str) -> Check:
    engine = create_engine(url)
    try:
        return await probe_database(engine)
    finally:
        await engine.dispose()


async def probe_database(engine: AsyncEngine) -> Check:
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                version = (await conn.execute(text("SHOW server_version"))).scalar_one()
            else:
                version = (await conn.execute(text("SELECT sqlite_version()"))).scalar_one()
        return Check("database", True, f"{engine.dialect.name} {version}")
    except (SQLAlchemyError, OSError) as exc:
        return Check("database", False, f"{type(exc).__name__}: {exc}")


@cache
def migration_heads() -> frozenset[str]:
    """The newest schema revisions this code knows (parsed once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


async def check_migrations(engine: AsyncEngine) -> Check:
    """The database's schema is the one this code expects (alembic's head)."""
    heads = await asyncio.to_thread(migration_heads)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            current = frozenset(str(v) for v in rows.scalars())
    except (SQLAlchemyError, OSError) as exc:
        return Check("migrations", False, f"{type(exc).__name__}: {exc}")
    at = ", ".join(sorted(current)) or "no revision"
    if current == heads:
        return Check("migrations", True, f"{_BEHIND}{at}")
    return Check("migrations", False, f"{_BEHIND}{at}, code at {', '.join(sorted(heads))}")


async def check_redis(url: str) -> Check:
    client: Redis = Redis.from_url(url, socket_connect_timeout=3)
    try:
        info = await client.info("server")
        return Check("redis", True, f"redis {info.get('redis_version', '?')}")
    except (RedisError, OSError) as exc:
        return Check("redis", False, f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()


async def readiness(
    engine: AsyncEngine, redis_url: str | None, *, within: float = 3.0
) -> list[Check]:
    """The checks of a web process's readiness, at once, each within ``within`` seconds.
    A failure's detail names only its kind (the answer is public); the log has the rest."""
    probes: list[tuple[str, Awaitable[Check]]] = [
        ("database", probe_database(engine)),
        ("migrations", check_migrations(engine)),
    ]
    if redis_url:
        probes.append(("redis", check_redis(redis_url)))
    results = await asyncio.gather(*(_within(name, probe, within) for name, probe in probes))
    return [Check(check.name, check.ok, _public(check)) for check in results]


async def _within(name: str, probe: Awaitable[Check], seconds: float) -> Check:
    try:
        async with asyncio.timeout(seconds):
            check = await probe
    except TimeoutError:
        check = Check(name, False, f"TimeoutError: no answer within {seconds:g} s")
    except Exception as exc:  # a probe that fails in an unforeseen way: not ready
        check = Check(name, False, f"{type(exc).__name__}: {exc}")
    if not check.ok:
        log.warning("not ready", check=name, detail=check.detail)
    return check


def _public(check: Check) -> str:
    """The detail without what only an operator should read: hosts, users, versions."""
    if check.detail.startswith(_BEHIND):
        return check.detail  # revisions only
    return check.detail.split(":" if not check.ok else " ", 1)[0]
