"""The database layer on both backends, and the Redis the production queue runs on.

PostgreSQL and Redis tests run when ``PASSMINT_TEST_POSTGRES_URL`` / ``PASSMINT_TEST_REDIS_URL``
are set (``.ci/run`` sets both and makes a missing service fail the run)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from passmint.cli import app
from passmint.db import async_url, create_engine
from passmint.health import check_database, check_redis


def service_url(config: pytest.Config, name: str) -> str:
    url = os.environ.get(name)
    if not url:
        if getattr(config, "require_services", False):
            pytest.fail(f"{name} is not set but services are required")
        pytest.skip(f"{name} is not set")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'passmint.db'}"
    return service_url(request.config, "PASSMINT_TEST_POSTGRES_URL")


def test_async_url_fills_in_drivers() -> None:
    assert async_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert async_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    with pytest.raises(ValueError, match="unsupported database"):
        async_url("mysql://u@h/db")


def test_round_trip_in_a_transaction(database_url: str) -> None:
    async def run() -> list[tuple[int, str]]:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TEMPORARY TABLE t_probe (id INTEGER, v TEXT)"))
                await conn.execute(
                    text("INSERT INTO t_probe VALUES (:id, :v)"),
                    [{"id": 1, "v": "café"}, {"id": 2, "v": "النقاط"}],
                )
                rows = await conn.execute(text("SELECT id, v FROM t_probe ORDER BY id"))
                return [(r[0], r[1]) for r in rows]
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == [(1, "café"), (2, "النقاط")]


def test_sqlite_pragmas(tmp_path: Path) -> None:
    async def run() -> tuple[str, int]:
        engine = create_engine(f"sqlite:///{tmp_path / 'a' / 'b.db'}")
        try:
            async with engine.connect() as conn:
                mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
                fks = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
                return str(mode), int(fks)
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == ("wal", 1)


def test_health_checks(database_url: str) -> None:
    result = asyncio.run(check_database(database_url))
    assert result.ok, result.detail
    bad = asyncio.run(check_database("postgresql://nobody@127.0.0.1:1/none"))
    assert not bad.ok


def test_redis_answers(request: pytest.FixtureRequest) -> None:
    url = service_url(request.config, "PASSMINT_TEST_REDIS_URL")
    result = asyncio.run(check_redis(url))
    assert result.ok, result.detail
    assert result.detail.startswith("redis ")
    assert not asyncio.run(check_redis("redis://127.0.0.1:1/0")).ok


def test_doctor_command(database_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["doctor", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "database: ok" in result.output
