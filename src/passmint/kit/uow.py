"""Unit-of-work hooks: async steps every write transaction runs just before it commits.

Domains register them at import (``@before_commit``); the code that owns transactions
(``Runtime.transaction``, the job runner) calls :func:`run_before_commit`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

Hook = Callable[[AsyncSession], Awaitable[None]]
_HOOKS: list[Hook] = []


def before_commit(hook: Hook) -> Hook:
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


async def run_before_commit(session: AsyncSession) -> None:
    for hook in _HOOKS:
        await hook(session)
