"""API keys of the calling tenant: list, create (shown once), revoke."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from passmint.kit import lengths
from passmint.kit.text import Line
from passmint.tenants import service
from passmint.tenants.scopes import ALL_SCOPES, Scope
from passmint.tenants.service import Principal
from passmint.web.deps import RuntimeDep, requires

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])
KeysAdmin = Annotated[Principal, Depends(requires(Scope.API_KEYS_WRITE))]


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


@router.get("", response_model=list[ApiKeyOut])
async def list_keys(runtime: RuntimeDep, principal: KeysAdmin) -> list[ApiKeyOut]:
    async with runtime.db.sessions() as session:
        keys = await service.list_api_keys(session, principal)
    return [ApiKeyOut.model_validate(k, from_attributes=True) for k in keys]


@router.post("", status_code=201, response_model=ApiKeyCreated)
async def create_key(
    body: ApiKeyCreate, runtime: RuntimeDep, principal: KeysAdmin
) -> ApiKeyCreated:
    async with runtime.transaction() as session:
        created = await service.create_api_key(
            session, principal.tenant_id, name=body.name, now=runtime.clock(), scopes=body.scopes
        )
        out = ApiKeyOut.model_validate(created.key, from_attributes=True)
    return ApiKeyCreated(**out.model_dump(), api_key=created.secret)


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: uuid.UUID, runtime: RuntimeDep, principal: KeysAdmin) -> None:
    async with runtime.transaction() as session:
        await service.revoke_api_key(session, principal, key_id, runtime.clock())
