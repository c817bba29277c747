"""Jobs of the pass service: re-rendering a template's passes after a new version."""

from __future__ import annotations

import uuid
from typing import Any

from passmint.passes.service import RERENDER_JOB, rerender_template_batch
from passmint.worker.outbox import enqueue
from passmint.worker.registry import JobContext, job


@job(RERENDER_JOB)
async def rerender_template(ctx: JobContext, payload: dict[str, Any]) -> None:
    """One batch per job; the next batch is a new job, so a huge template never holds one
    long transaction and a crash resumes from the last committed batch."""
    tenant_id = uuid.UUID(payload["tenant_id"])
    after = uuid.UUID(payload["after"]) if payload.get("after") else None
    pass_ctx = ctx.runtime.pass_context(ctx.session, tenant_id)
    _, cursor = await rerender_template_batch(pass_ctx, uuid.UUID(payload["template_id"]), after)
    if cursor is not None:
        await enqueue(
            ctx.session, RERENDER_JOB, {**payload, "after": str(cursor)}, now=pass_ctx.now
        )
