"""Unit-of-work hooks: async steps every write transaction runs just before it commits, and
caches that live as long as one transaction.

Domains register hooks at import (``@before_commit``); the code that owns transactions
(``Runtime.transaction``, the job runner) calls :func:`run_before_commit`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

Hook = Callable[[AsyncSession], Awaitable[None]]
_HOOKS: list[Hook] = []


def before_commit(hook: Hook) -> Hook:
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


async def run_before_commit(session: AsyncSession) -> None:
    for hook in _HOOKS:
        await hook(session)


_CACHES: set[str] = set()


def transaction_cache(session: AsyncSession, key: str) -> dict[Any, Any]:
    """A dict kept in the session under ``key`` until its transaction (or savepoint) ends:
    for rows read once per transaction. A rollback expires rows, so none outlive it."""
    _CACHES.add(key)
    cache: dict[Any, Any] = session.info.setdefault(key, {})
    return cache


@event.listens_for(Session, "after_transaction_end")
def _forget_caches(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:  # not a flush's inner transaction
        for key in _CACHES:
            session.info.pop(key, None)
