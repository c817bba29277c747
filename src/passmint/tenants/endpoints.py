"""API keys of the calling tenant (list, create, shown once, revoke) and its audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from passmint.kit import lengths
from passmint.kit.text import Line
from passmint.models import AuditEvent
from passmint.passes.endpoints import Cursor, decode_cursor, encode_cursor
from passmint.tenants import audit, service
from passmint.tenants.scopes import ALL_SCOPES, Scope
from passmint.tenants.service import Principal
from passmint.web.deps import RuntimeDep, requires

router = APIRouter(prefix="/api/v1")
KeysAdmin = Annotated[Principal, Depends(requires(Scope.API_KEYS_WRITE))]
AuditReader = Annotated[Principal, Depends(requires(Scope.AUDIT_READ))]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[Line, Field(min_length=1, max_length=lengths.TITLE)] = Field(
        examples=["POS terminal 3"]
    )
    scopes: list[Scope] = Field(default_factory=lambda: list(ALL_SCOPES))


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="The key itself: shown once, store it now.")


@router.get("/api-keys", response_model=list[ApiKeyOut], tags=["api keys"])
async def list_keys(runtime: RuntimeDep, principal: KeysAdmin) -> list[ApiKeyOut]:
    async with runtime.db.sessions() as session:
        keys = await service.list_api_keys(session, principal)
    return [ApiKeyOut.model_validate(k, from_attributes=True) for k in keys]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, tags=["api keys"])
async def create_key(
    body: ApiKeyCreate, runtime: RuntimeDep, principal: KeysAdmin
) -> ApiKeyCreated:
    async with runtime.transaction() as session:
        created = await service.create_api_key(
            session, principal.tenant_id, name=body.name, now=runtime.clock(), scopes=body.scopes
        )
        out = ApiKeyOut.model_validate(created.key, from_attributes=True)
    return ApiKeyCreated(**out.model_dump(), api_key=created.secret)


@router.delete("/api-keys/{key_id}", status_code=204, tags=["api keys"])
async def revoke_key(key_id: uuid.UUID, runtime: RuntimeDep, principal: KeysAdmin) -> None:
    async with runtime.transaction() as session:
        await service.revoke_api_key(session, principal, key_id, runtime.clock())


# -- the audit log ---------------------------------------------------------------------------

Filter = Annotated[Line, Field(max_length=lengths.EMAIL)]


class AuditActorOut(BaseModel):
    type: str = Field(description="`user`, `api_key` or `system`.")
    id: str | None = Field(description="The user's or the API key's id.")
    label: str = Field(description="The user's email or the key's name.")


class AuditEventOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    actor: AuditActorOut
    action: str = Field(examples=["api_key.created", "template.updated", "user.logged_in"])
    object_type: str = Field(examples=["api_key"])
    object_id: str | None
    summary: dict[str, Any] = Field(
        description="What changed: `before` and `after` with the changed columns (secrets "
        "`[redacted]`, long values cut), or the operation's own details."
    )
    operation: str | None = Field(
        description="The request that made the change.", examples=["POST /api/v1/api-keys"]
    )
    ip: str | None
    request_id: str | None


class AuditEventPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= to get the next page.")


def audit_event_out(row: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=row.id,
        created_at=row.created_at,
        actor=AuditActorOut(type=row.actor_type, id=row.actor_id, label=row.actor_label),
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        summary=row.summary,
        operation=row.operation,
        ip=row.ip,
        request_id=row.request_id,
    )


@router.get("/audit-events", response_model=AuditEventPage, tags=["audit log"])
async def list_audit_events(
    runtime: RuntimeDep,
    principal: AuditReader,
    actor: Annotated[
        Filter | None, Query(description="A user's or key's id, a user's email or a key's name.")
    ] = None,
    action: Annotated[Filter | None, Query(description="`api_key.created` …")] = None,
    object_type: Annotated[Filter | None, Query(description="`template`, `pass` …")] = None,
    object_id: Filter | None = None,
    since: Annotated[AwareDatetime | None, Query(description="From this time (ISO 8601).")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this time.")] = None,
    cursor: Cursor | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditEventPage:
    """Who changed what in this tenant, newest first: every write by a staff user or an API
    key, with its before/after summary, the address and the request id."""
    query = audit.AuditQuery(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
    )
    async with runtime.db.sessions() as session:
        rows = await audit.list_events(
            session, principal.tenant_id, query, before=decode_cursor(cursor), limit=limit
        )
    return AuditEventPage(
        items=[audit_event_out(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].id) if len(rows) == limit else None,
    )
