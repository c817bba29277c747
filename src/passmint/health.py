"""Reachability checks for the services passmint runs on (``passmint doctor``)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from passmint.db import create_engine


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def check_database(url: str) -> Check:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                version = (await conn.execute(text("SHOW server_version"))).scalar_one()
            else:
                version = (await conn.execute(text("SELECT sqlite_version()"))).scalar_one()
        return Check("database", True, f"{engine.dialect.name} {version}")
    except (SQLAlchemyError, OSError) as exc:
        return Check("database", False, f"{type(exc).__name__}: {exc}")
    finally:
        await engine.dispose()


async def check_redis(url: str) -> Check:
    client: Redis = Redis.from_url(url, socket_connect_timeout=3)
    try:
        info = await client.info("server")
        return Check("redis", True, f"redis {info.get('redis_version', '?')}")
    except (RedisError, OSError) as exc:
        return Check("redis", False, f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
