"""Jobs of the pass service: re-rendering a template's passes after a new version.

A new version enqueues a planning step. It splits the template's passes into a few
segments, each re-rendered by a chain of batch jobs, so several worker processes render side
by side. Each batch commits on its own, with its push job and the chain's next batch: a
huge template never holds one long transaction, pushes start with the first batch, and a
crash loses at most the batches still running (their jobs run again).
"""

from __future__ import annotations

import uuid
from typing import Any

from passmint.passes.host import ServiceHost
from passmint.passes.service import RERENDER_JOB, plan_rerender, rerender_template_batch
from passmint.worker.outbox import enqueue
from passmint.worker.registry import JobContext, job


def _id(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


@job(RERENDER_JOB)
async def rerender_template(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    """``step: plan`` splits the passes into segments; a range job renders the first batch
    of ``(after, upto]`` and enqueues the rest.
    (A job written before ranges existed has ``after`` and no ``step``: null ``after``
    plans, otherwise it is an open-ended range.)"""
    tenant_id = uuid.UUID(payload["tenant_id"])
    template_id = uuid.UUID(payload["template_id"])
    base = {"tenant_id": payload["tenant_id"], "template_id": payload["template_id"]}
    pass_ctx = ctx.runtime.pass_context(ctx.session, tenant_id)
    after, upto = _id(payload.get("after")), _id(payload.get("upto"))

    async def render_range(start: uuid.UUID | None, end: uuid.UUID | None) -> None:
        range_ = {"step": "range", "after": start and str(start), "upto": end and str(end)}
        await enqueue(ctx.session, RERENDER_JOB, {**base, **range_}, now=pass_ctx.now)

    if payload.get("step", "plan" if after is None else "range") == "plan":
        for start, end in await plan_rerender(pass_ctx, template_id):
            await render_range(start, end)
        return
    cursor = await rerender_template_batch(pass_ctx, template_id, after, upto)
    if cursor is not None:  # the chain's next batch
        await render_range(cursor, upto)
