"""``Idempotency-Key`` for POSTs: a replay returns the first response; the same key with a
different body is a 409."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.errors import PassmintError
from passmint.models import IdempotencyRecord
from passmint.passes.host import ServiceHost
from passmint.tenants import repository
from passmint.tenants.service import Principal

Operation = Callable[[AsyncSession], Awaitable[tuple[int, dict[str, Any]]]]


class IdempotencyConflict(PassmintError):
    """This Idempotency-Key was used before with a different request."""

    code = "idempotency_key_reused"
    status = 409


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a retried write safe: a replay answers what the first one did.",
    ),
]


class IdempotencyKeyRequired(PassmintError):
    """A write that moves value came without an Idempotency-Key."""

    code = "idempotency_key_required"
    status = 400


def require_key(key: str | None) -> str:
    """The Idempotency-Key of a write that must not apply twice (spends, redemptions)."""
    if not key or not 1 <= len(key) <= 255:
        raise IdempotencyKeyRequired(
            "this write moves value: send an Idempotency-Key header (1 to 255 characters), "
            "so a retried request cannot apply twice"
        )
    return key


def request_hash(scope: str, body: Any) -> str:
    text = json.dumps([scope, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


async def _stored(
    session: AsyncSession, principal: Principal, key: str, digest: str
) -> JSONResponse | None:
    record = await repository.idempotency_record(session, principal.tenant_id, key)
    if record is None:
        return None
    if record.request_hash != digest:
        raise IdempotencyConflict(f"Idempotency-Key {key!r} was used with a different request")
    return JSONResponse(
        record.body, status_code=record.status, headers={"Idempotent-Replayed": "true"}
    )


async def run_idempotent(
    runtime: ServiceHost,
    principal: Principal,
    key: str | None,
    scope: str,
    body: Any,
    operation: Operation,
) -> JSONResponse:
    """Run ``operation`` and store its response under the key, in one transaction.

    A first request (nearly every request) pays one INSERT for its key: the stored response
    is not looked up first. A replay runs into the key instead, and everything it did rolls
    back with the transaction: the key's unique row when it reaches the end (or a unique key
    of the operation's own, like a redemption's, on the way), or the operation's own refusal
    (a single-use code already used by the first request). Either way the stored response
    is then looked up and answered, so a replay still answers what the first request did,
    and the same key with another request is a 409."""
    if key is not None:
        require_key(key)  # 1 to 255 characters, else 400
    digest = request_hash(scope, body)
    try:
        async with runtime.transaction() as session:
            status, payload = await operation(session)
            if key is not None:
                await repository.add_idempotency_record(
                    session,
                    IdempotencyRecord(
                        tenant_id=principal.tenant_id,
                        key=key,
                        request_hash=digest,
                        status=status,
                        body=payload,
                        created_at=runtime.clock(),
                    ),
                )
    except (IntegrityError, PassmintError):
        if key is None:
            raise
        # The key was used before, or by a concurrent request that won: answer what it
        # stored. A key never stored means this request failed on its own: its error.
        async with runtime.db.sessions() as session:
            replay = await _stored(session, principal, key, digest)
        if replay is None:
            raise
        return replay
    return JSONResponse(payload, status_code=status)
