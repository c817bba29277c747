"""Quotas: how many coupon codes, passes, templates and uploaded images a tenant may store.

Each kind has a row per tenant in ``tenant_quotas`` (:class:`passmint.models.TenantQuota`):
``used`` counts what was created (none of these is ever deleted: voided passes and codes
stay), ``limit_override`` is the tenant's own limit (``passmint tenants quota``), else the
setting (``PASSMINT_QUOTA_CODES`` …) applies. A creation beyond the limit is a 403
``quota_exceeded`` whose details name the quota, the limit and what is used.

Counting costs two primary-key statements, and the count's row is locked only while the
transaction commits:

1. :func:`take`, in the service, before the work: reads the row without a lock and refuses
   at once what would go over the limit; else notes the amount on the session.
2. :func:`count_taken`, a unit-of-work hook just before commit: one conditional upsert per
   kind adds the amounts only if the total stays within the limit. Concurrent creators queue
   on the row and each is judged against the committed count, so the limit holds exactly:
   of two requests that both passed step 1 with one unit left, the second is refused at
   commit (and rolls back). The hooks take the rows in one order (tenant, kind), before
   the update-tag counters (this module registers its hook first: ``passes.service``
   imports it), so no two transactions wait on each other in a cycle.

A batch of codes counts all its codes when it is created, also those its jobs make later.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from passmint.kit.uow import before_commit
from passmint.models import TenantQuota
from passmint.tenants import repository
from passmint.tenants.errors import NotFound, QuotaExceeded

PENDING_KEY: Final = "passmint.tenants.quotas"


class Quota(StrEnum):
    CODES = "codes"
    PASSES = "passes"
    TEMPLATES = "templates"
    IMAGES = "images"


@dataclass(frozen=True)
class QuotaLimits:
    """Every tenant's limits unless it has its own (built from the settings)."""

    codes: int
    passes: int
    templates: int
    images: int

    def of(self, quota: Quota) -> int:
        limit: int = getattr(self, quota.value)
        return limit


_Pending = dict[tuple[uuid.UUID, Quota], tuple[int, int]]  # (tenant, kind): (amount, default)


def _used_and_limit(row: TenantQuota | None, default: int) -> tuple[int, int, bool]:
    """What a tenant's row of a quota says: (used, limit, whether the limit is its own)."""
    own = row.limit_override if row is not None else None
    return (row.used if row is not None else 0, default if own is None else own, own is not None)


def _refusal(quota: Quota, limit: int, used: int, requested: int) -> QuotaExceeded:
    return QuotaExceeded(
        f"this tenant may store {limit} {quota.value} and has {used}; {requested} more would "
        "pass its quota (ask the operator to raise it)",
        details={"quota": quota.value, "limit": limit, "used": used, "requested": requested},
    )


async def take(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    limits: QuotaLimits | None,
    quota: Quota,
    amount: int = 1,
) -> None:
    """Reserve ``amount`` of ``quota`` for this transaction, or raise ``quota_exceeded``.
    ``limits`` None: no quotas (a context built without settings)."""
    if limits is None or amount <= 0:
        return
    default = limits.of(quota)
    pending: _Pending = session.info.setdefault(PENDING_KEY, {})
    before = pending.get((tenant_id, quota), (0, default))[0]
    row = await repository.quota_row(session, tenant_id, quota.value)
    used, limit, _ = _used_and_limit(row, default)
    if used + before + amount > limit:
        raise _refusal(quota, limit, used + before, amount)
    pending[(tenant_id, quota)] = (before + amount, default)


def give_back(session: AsyncSession, tenant_id: uuid.UUID, quota: Quota, amount: int = 1) -> None:
    """Undo a :func:`take` whose row was not created after all (an image uploaded twice)."""
    pending: _Pending = session.info.get(PENDING_KEY, {})
    taken = pending.get((tenant_id, quota))
    if taken is None:
        return
    left = taken[0] - amount
    if left > 0:
        pending[(tenant_id, quota)] = (left, taken[1])
    else:
        del pending[(tenant_id, quota)]


@before_commit
async def count_taken(session: AsyncSession) -> None:
    """Add what the transaction took to the counts, in one lock order; refuse (and so roll
    back) what a concurrent transaction's commit left no room for."""
    pending: _Pending = session.info.pop(PENDING_KEY, {})
    for (tenant_id, quota), (amount, default) in sorted(
        pending.items(), key=lambda item: (item[0][0], item[0][1].value)
    ):
        if await repository.add_usage(session, tenant_id, quota.value, amount, default) is None:
            row = await repository.quota_row(session, tenant_id, quota.value)
            used, limit, _ = _used_and_limit(row, default)
            raise _refusal(quota, limit, used, amount)


@event.listens_for(Session, "before_commit")
def _counted(session: Session) -> None:
    if session.info.get(PENDING_KEY):
        raise RuntimeError("quota taken without counting it: call count_taken first")


async def usage(
    session: AsyncSession, tenant_id: uuid.UUID, limits: QuotaLimits
) -> dict[Quota, tuple[int, int, bool]]:
    """Each quota of the tenant: (used, limit, whether the limit is the tenant's own)."""
    if not await repository.tenant_exists(session, tenant_id):
        raise NotFound(f"no tenant {tenant_id}")
    out: dict[Quota, tuple[int, int, bool]] = {}
    for quota in Quota:
        row = await repository.quota_row(session, tenant_id, quota.value)
        out[quota] = _used_and_limit(row, limits.of(quota))
    return out


async def set_limit(
    session: AsyncSession, tenant_id: uuid.UUID, quota: Quota, limit: int | None
) -> None:
    """The tenant's own limit of ``quota`` (None: the setting's again)."""
    if not await repository.tenant_exists(session, tenant_id):
        raise NotFound(f"no tenant {tenant_id}")
    await repository.set_quota_limit(session, tenant_id, quota.value, limit)
