"""Dialect helpers for the two databases passmint runs on."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, Uuid, any_, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute


def is_postgresql(session: AsyncSession) -> bool:
    """Whether the session talks to PostgreSQL (else SQLite)."""
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def table_of(model: type[Any]) -> Table:
    """A mapped class's table, for statements built once at import: Core statements on the
    table skip the ORM's per-execution compile step, and a statement object kept for reuse
    has its cache key computed once."""
    return cast(Table, model.__table__)


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_*`` on the session's database."""
    if is_postgresql(session):
        return postgresql.insert(table)
    return sqlite.insert(table)


def per_dialect(build: Callable[[Any], Any]) -> Callable[[AsyncSession], Any]:
    """An upsert built once per database at import, ``build(insert)`` with each one's
    INSERT (they spell ``ON CONFLICT`` their own way): the returned function gives the one
    for a session. For statements run so often that building them cost more than running."""
    built = {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}
    return lambda session: built["postgresql" if is_postgresql(session) else "sqlite"]


def in_ids(
    session: AsyncSession,
    column: ColumnElement[uuid.UUID] | QueryableAttribute[uuid.UUID],
    ids: Iterable[uuid.UUID],
) -> ColumnElement[bool]:
    """``column IN (ids)``; on PostgreSQL ``column = ANY($1)`` with one array parameter. An
    IN list of hundreds of ids is rendered by SQLAlchemy and planned by PostgreSQL anew for
    every statement: for a batch of 500 that costs more than reading the rows."""
    if is_postgresql(session):
        return column == any_(literal(list(ids), postgresql.ARRAY(Uuid())))
    return column.in_(list(ids))
