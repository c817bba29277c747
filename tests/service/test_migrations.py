"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from passmint.db import create_engine
from passmint.models import Base

pytestmark = pytest.mark.anyio


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences: list[Any] = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
            event_keys = await connection.run_sync(
                lambda sync: inspect(sync).get_foreign_keys("events")
            )
    finally:
        await engine.dispose()
    assert differences == []
    assert event_keys == []  # the event log carries no referential checks (migration 0006)
