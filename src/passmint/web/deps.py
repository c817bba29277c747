"""Dependencies shared by the HTTP endpoints: the runtime, the caller, the pass context."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.passes.host import ServiceHost
from passmint.passes.service import PassContext
from passmint.tenants.scopes import Scope
from passmint.tenants.service import Principal, authenticate
from passmint.web import ratelimit


def get_runtime(request: Request) -> ServiceHost:
    """The process's host, put on the app's state by the composition root."""
    runtime: ServiceHost = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[ServiceHost, Depends(get_runtime)]


bearer = HTTPBearer(
    scheme_name="apiKey",
    bearerFormat="pm_…",
    description="A tenant's API key, as printed by `passmint demo` or `passmint tenants "
    "create`: `Authorization: Bearer pm_…`.",
    auto_error=False,  # a missing or malformed key is authenticate()'s 401, like a wrong one
)
"""The API key scheme; every operation that depends on it shows it in the OpenAPI document."""

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def requires(
    scope: Scope, *alternatives: Scope
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Coroutine[Any, Any, Principal]]:
    """The caller's API key, which must hold ``scope`` or one of the ``alternatives``."""

    async def dependency(request: Request, credentials: BearerCredentials) -> Principal:
        runtime = get_runtime(request)
        presented = credentials.credentials.strip() if credentials else None
        # Failed keys count per address; past the limit a 429 without a database query.
        async with (
            ratelimit.authenticating(runtime, request.scope),
            runtime.db.sessions() as session,
        ):
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


def pass_context(runtime: ServiceHost, session: AsyncSession, principal: Principal) -> PassContext:
    return runtime.pass_context(session, principal.tenant_id)


def tenant_pass_context(
    runtime: ServiceHost, session: AsyncSession, tenant_id: uuid.UUID
) -> PassContext:
    """For callers without an API key (devices, customers): the pass names the tenant."""
    return runtime.pass_context(session, tenant_id)
