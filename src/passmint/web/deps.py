"""Dependencies shared by the HTTP endpoints: the runtime, the caller (bound as the audit
log's actor while the request runs), the pass and staff-account contexts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from passmint import logs
from passmint.passes.host import ServiceHost
from passmint.passes.service import PassContext
from passmint.tenants import audit
from passmint.tenants.accounts import SessionPolicy, StaffContext
from passmint.tenants.mail import smtp_configured
from passmint.tenants.scopes import Scope
from passmint.tenants.service import Principal, authenticate
from passmint.tenants.throttle import ACCOUNT, ADDRESS, LoginThrottle
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
) -> Callable[[Request, HTTPAuthorizationCredentials | None], AsyncIterator[Principal]]:
    """The caller's API key, which must hold ``scope`` or one of the ``alternatives``; the
    writes of the request are recorded in the audit log as the key's."""

    async def dependency(
        request: Request, credentials: BearerCredentials
    ) -> AsyncIterator[Principal]:
        runtime = get_runtime(request)
        presented = credentials.credentials.strip() if credentials else None
        # Failed keys count per address; past the limit a 429 without a database query.
        async with (
            ratelimit.authenticating(runtime, request.scope),
            runtime.db.reads.connect() as conn,  # one statement: no BEGIN, no ROLLBACK
        ):
            principal = await authenticate(conn, presented)
        principal.require(scope, *alternatives)
        with audited(request, principal):
            yield principal

    return dependency


def audit_actor(request: Request, principal: Principal) -> audit.AuditActor:
    """The principal as the audit log's actor in this request: its address, request id,
    route and the last id of its path; the runtime's clock dates its events."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    params = list(request.path_params.values())
    return audit.AuditActor.of(
        principal,
        ip=request.client.host if request.client else None,
        request_id=request.scope.get(logs.REQUEST_ID_KEY),
        operation=f"{request.method} {template}",
        path_object=str(params[-1]) if params else None,
        clock=get_runtime(request).clock,
    )


@contextmanager
def audited(request: Request, principal: Principal) -> Iterator[None]:
    """Record the writes of every transaction inside the block as ``principal``'s (the
    admin app wraps each staff request in it, as :func:`requires` does for API keys)."""
    with audit.acting(audit_actor(request, principal)):
        yield


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
ActivitiesWrite = Annotated[
    Principal, Depends(requires(Scope.LOYALTY_WRITE, Scope.ACTIVITIES_WRITE))
]


def pass_context(runtime: ServiceHost, session: AsyncSession, principal: Principal) -> PassContext:
    return runtime.pass_context(session, principal.tenant_id)


def tenant_pass_context(
    runtime: ServiceHost, session: AsyncSession, tenant_id: uuid.UUID
) -> PassContext:
    """For callers without an API key (devices, customers): the pass names the tenant."""
    return runtime.pass_context(session, tenant_id)


def login_throttle(runtime: ServiceHost) -> LoginThrottle:
    """Failed logins per account and per address (an IPv6 one by its /64 network), counted
    in the shared rate limiter's storage (Redis in production) under the ``login_account``
    and ``login_ip`` limits."""

    def build() -> LoginThrottle:
        limiter = ratelimit.shared(runtime)
        return LoginThrottle(
            limiter.storage,
            per_account=limiter.limits[ACCOUNT],
            per_address=limiter.limits[ADDRESS],
            enabled=limiter.enabled,
            address_key=ratelimit.address_key,
        )

    return runtime.cache("login_throttle", build)


def staff_context(runtime: ServiceHost, session: AsyncSession) -> StaffContext:
    """What the staff-account services need, in this session: the clock, the keys, the
    session policy (``PASSMINT_SESSION_*``), the login throttle and whether SMTP is set."""
    settings = runtime.settings
    return StaffContext(
        session=session,
        now=runtime.clock(),
        box=runtime.box,
        hasher=runtime.hasher,
        public_url=settings.public_url.rstrip("/"),
        policy=SessionPolicy(
            idle=timedelta(minutes=settings.session_idle_minutes),
            lifetime=timedelta(hours=settings.session_max_hours),
        ),
        throttle=login_throttle(runtime),
        mail=smtp_configured(settings),
    )
