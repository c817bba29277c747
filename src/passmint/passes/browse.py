"""Finding passes and reading their history, for the staff's pass screens: a search by
serial number, external id or pass id (other domains add the passes they find by their
own keys: card numbers, customers), and a pass's events newest first, a page at a time."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from passmint.models import Event, Pass
from passmint.passes import browse_repository as repository
from passmint.passes.service import PassContext

MAX_PAGE: Final = 200


@dataclass(frozen=True, slots=True)
class Found:
    pass_: Pass
    template_name: str


async def search(
    ctx: PassContext,
    text: str | None,
    *,
    also: Collection[uuid.UUID] = (),
    before: uuid.UUID | None = None,
    limit: int = 25,
) -> list[Found]:
    """The tenant's passes, newest first: every pass without ``text``; else the passes whose
    serial number or external id is ``text`` (exactly), the pass whose id it is, and the
    passes of ``also``. ``before``: the last pass id of the previous page."""
    ids = set(also)
    if text is not None:
        text = text.strip() or None
    if text is not None:
        with contextlib.suppress(ValueError):
            ids.add(uuid.UUID(text))
    rows = await repository.find_passes(
        ctx.session,
        ctx.tenant_id,
        text=text,
        pass_ids=sorted(ids),
        before=before,
        limit=max(1, min(limit, MAX_PAGE)),
    )
    return [Found(pass_, name) for pass_, name in rows]


@dataclass(frozen=True, slots=True)
class History:
    events: list[Event]
    older: uuid.UUID | None  # the cursor of the next page (its ``before``), if there is one


async def history(
    ctx: PassContext, pass_: Pass, *, before: uuid.UUID | None = None, limit: int = 50
) -> History:
    """A pass's events, newest first; ``pass_``: the tenant's pass, as ``get_pass`` found
    it; ``before``: an event id of the pass (the previous page's ``older``)."""
    limit = max(1, min(limit, MAX_PAGE))
    cursor = None
    if before is not None:
        at = await repository.event_time(ctx.session, ctx.tenant_id, pass_.id, before)
        if at is not None:
            cursor = (at, before)
    events = await repository.pass_events(
        ctx.session, ctx.tenant_id, pass_.id, before=cursor, limit=limit + 1
    )
    older = events[limit - 1].id if len(events) > limit else None
    return History(events[:limit], older)
