"""Jobs of the coupons domain: generating a large code batch, one chunk per job."""

from __future__ import annotations

import uuid
from typing import Any

from passmint.coupons.batches import GENERATE_JOB, generate_chunk
from passmint.passes.host import ServiceHost
from passmint.worker.outbox import enqueue
from passmint.worker.registry import JobContext, job


@job(GENERATE_JOB)
async def generate_codes(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    """One chunk per job and transaction; the next chunk is a new job, so a million codes
    never hold one long transaction and a crash resumes from the last committed chunk."""
    pass_ctx = ctx.runtime.pass_context(ctx.session, uuid.UUID(payload["tenant_id"]))
    if await generate_chunk(pass_ctx, uuid.UUID(payload["batch_id"])):
        await enqueue(ctx.session, GENERATE_JOB, payload, now=pass_ctx.now)
