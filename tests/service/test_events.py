"""The event log's bulk write: the same rows whichever way they go in (INSERT, or COPY for
large batches on PostgreSQL), and only with the transaction that wrote them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from passmint.models import Event
from passmint.passes.events import record_many
from passmint.runtime import Runtime

pytestmark = pytest.mark.anyio


def _rows(tenant_id: uuid.UUID, runtime: Runtime, count: int, tag: str) -> list[dict[str, Any]]:
    start = runtime.clock()
    return [
        {
            "tenant_id": tenant_id,
            "kind": "pushed",
            "created_at": start + timedelta(microseconds=i),
            **(
                {"platform": "ios", "data": {"tag": tag, "i": i, "reason": None, "é": "ü"}}
                if i % 2
                else {}
            ),
            **({"device_model": "iPhone16,2"} if i % 3 == 0 else {}),
        }
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [3, 250])
async def test_bulk_events_are_stored_as_given(
    runtime: Runtime, tenant: dict[str, str], count: int
) -> None:
    tenant_id = uuid.UUID(tenant["tenant_id"])
    rows = _rows(tenant_id, runtime, count, f"n{count}")
    async with runtime.transaction() as session:
        await record_many(session, rows)
    async with runtime.db.sessions() as session:
        stored = (
            (
                await session.execute(
                    select(Event).where(Event.tenant_id == tenant_id).order_by(Event.created_at)
                )
            )
            .scalars()
            .all()
        )
    assert len({e.id for e in stored}) == count
    assert [
        (e.kind, e.platform, e.device_model, e.data, e.created_at, e.pass_id) for e in stored
    ] == [
        (
            "pushed",
            r.get("platform"),
            r.get("device_model"),
            r.get("data", {}),
            r["created_at"],
            None,
        )
        for r in rows
    ]


async def test_bulk_events_go_only_with_their_transaction(
    runtime: Runtime, tenant: dict[str, str]
) -> None:
    tenant_id = uuid.UUID(tenant["tenant_id"])

    async def fail_after_recording() -> None:
        async with runtime.transaction() as session:
            await record_many(session, _rows(tenant_id, runtime, 250, "rolled back"))
            raise RuntimeError("the job failed after recording")

    with pytest.raises(RuntimeError):
        await fail_after_recording()
    async with runtime.db.sessions() as session:
        stored = (await session.execute(select(Event.id).where(Event.tenant_id == tenant_id))).all()
    assert stored == []
