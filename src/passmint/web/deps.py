"""Dependencies shared by the HTTP endpoints: the runtime, the caller, the pass context."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.passes.service import PassContext
from passmint.runtime import Runtime
from passmint.tenants.scopes import Scope
from passmint.tenants.service import Principal, authenticate


def get_runtime(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def requires(
    scope: Scope, *alternatives: Scope
) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """The caller's API key, which must hold ``scope`` or one of the ``alternatives``."""

    async def dependency(request: Request) -> Principal:
        runtime = get_runtime(request)
        header = request.headers.get("authorization", "")
        presented = header[7:].strip() if header[:7].lower() == "bearer " else None
        async with runtime.db.sessions() as session:
            principal = await authenticate(session, presented)
        principal.require(scope, *alternatives)
        return principal

    return dependency


TemplatesRead = Annotated[Principal, Depends(requires(Scope.TEMPLATES_READ))]
TemplatesWrite = Annotated[Principal, Depends(requires(Scope.TEMPLATES_WRITE))]
PassesRead = Annotated[Principal, Depends(requires(Scope.PASSES_READ))]
PassesWrite = Annotated[Principal, Depends(requires(Scope.PASSES_WRITE))]
CredentialsRead = Annotated[Principal, Depends(requires(Scope.CREDENTIALS_READ))]
CredentialsWrite = Annotated[Principal, Depends(requires(Scope.CREDENTIALS_WRITE))]
EventsRead = Annotated[Principal, Depends(requires(Scope.EVENTS_READ))]
LoyaltyRead = Annotated[Principal, Depends(requires(Scope.LOYALTY_READ))]
LoyaltyWrite = Annotated[Principal, Depends(requires(Scope.LOYALTY_WRITE))]
CouponsRead = Annotated[Principal, Depends(requires(Scope.COUPONS_READ))]
CouponsWrite = Annotated[Principal, Depends(requires(Scope.COUPONS_WRITE))]
RedemptionsWrite = Annotated[Principal, Depends(requires(Scope.REDEMPTIONS_WRITE))]


def pass_context(runtime: Runtime, session: AsyncSession, principal: Principal) -> PassContext:
    return runtime.pass_context(session, principal.tenant_id)


def tenant_pass_context(
    runtime: Runtime, session: AsyncSession, tenant_id: uuid.UUID
) -> PassContext:
    """For callers without an API key (devices, customers): the pass names the tenant."""
    return runtime.pass_context(session, tenant_id)
