"""Tenants and API keys: creation, authentication, revocation.

A key reads ``pm_<prefix>_<secret>``. The prefix finds the row; only the SHA-256 of the
secret is stored (the secret is 192 random bits, so a fast hash is enough) and compared in
constant time. The full key is returned once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from passmint.models import ApiKey, Tenant
from passmint.tenants import repository
from passmint.tenants.errors import Forbidden, NotFound, Unauthorized
from passmint.tenants.scopes import ALL_SCOPES, Scope

KEY_PREFIX = "pm"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant through one of its API keys (``api_key_id``), or a staff
    user through their role in it (``user_id``, ``role``). ``label`` names the caller
    for people: the key's name or the user's email."""

    tenant_id: uuid.UUID
    api_key_id: uuid.UUID | None
    scopes: frozenset[str]
    user_id: uuid.UUID | None = None
    label: str = ""
    role: str | None = None

    @property
    def actor_type(self) -> str:
        """``user`` or ``api_key``."""
        return "user" if self.user_id is not None else "api_key"

    @property
    def actor_id(self) -> str:
        """The user's or the key's id, as text."""
        return str(self.user_id if self.user_id is not None else self.api_key_id)

    def require(self, scope: Scope, *alternatives: Scope) -> None:
        """The caller must hold ``scope`` or one of the ``alternatives``."""
        wanted = (scope, *alternatives)
        if not any(s.value in self.scopes for s in wanted):
            names = " or ".join(repr(s.value) for s in wanted)
            if self.user_id is not None:
                raise Forbidden(
                    f"your role ({self.role}) lacks the permission {names}",
                    details={"role": self.role, "needs": [s.value for s in wanted]},
                )
            raise Forbidden(f"this API key lacks the scope {names}")


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # the full key text, shown once


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_tenant(session: AsyncSession, name: str, now: datetime) -> Tenant:
    tenant = Tenant(name=name.strip(), created_at=now)
    await repository.add_tenant(session, tenant)
    return tenant


async def count_tenants(session: AsyncSession) -> int:
    """How many tenants the database holds (an empty one gets a hint at start-up)."""
    return await repository.count_tenants(session)


async def create_api_key(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    now: datetime,
    scopes: Iterable[Scope] = ALL_SCOPES,
) -> CreatedKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    key = ApiKey(
        tenant_id=tenant_id,
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=sorted({Scope(s).value for s in scopes}),
        created_at=now,
    )
    await repository.add_api_key(session, key)
    return CreatedKey(key, f"{KEY_PREFIX}_{prefix}_{secret}")


async def authenticate(conn: AsyncConnection | AsyncSession, presented: str | None) -> Principal:
    if not presented:
        raise Unauthorized("send 'Authorization: Bearer <api key>'")
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        raise Unauthorized("the API key is malformed")
    key = await repository.api_key_by_prefix(conn, parts[1])
    # Compare even when the prefix is unknown, so timing does not reveal which prefixes exist.
    expected = key.secret_hash if key is not None else _hash("")
    if not hmac.compare_digest(expected, _hash(parts[2])) or key is None:
        raise Unauthorized("the API key is not valid")
    if key.revoked_at is not None:
        raise Unauthorized("the API key has been revoked")
    return Principal(key.tenant_id, key.id, frozenset(key.scopes), label=key.name)


async def list_api_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    return await repository.list_api_keys(session, principal.tenant_id)


async def revoke_api_key(
    session: AsyncSession, principal: Principal, key_id: uuid.UUID, now: datetime
) -> None:
    if not await repository.revoke_api_key(session, principal.tenant_id, key_id, now):
        raise NotFound("no such active API key")
