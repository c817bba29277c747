"""The service fixtures of tests/service (a migrated database per backend, a runtime, an API
client, a tenant) and helpers for campaigns, codes, customers and redemptions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from passmint.kit.ids import uuid7
from passmint.models import Account, Customer, Program, Template
from passmint.runtime import Runtime
from passmint.tenants import service as tenants
from passmint.tenants.scopes import Scope
from tests.service.conftest import (  # noqa: F401 - fixtures
    anyio_backend,
    apns,
    auth,
    client,
    database_url,
    postgres_url,
    runtime,
    settings,
    sqlite_template,
    tenant,
)

__all__ = ["auth"]


async def make_campaign(http: httpx.AsyncClient, key: str, **body: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"name": "Spring", "kind": "discount", "percent_off_bp": 1000}
    payload.update(body)
    response = await http.post("/api/v1/campaigns", headers=auth(key), json=payload)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def make_codes(
    http: httpx.AsyncClient, key: str, campaign_id: str, count: int, **body: Any
) -> list[str]:
    response = await http.post(
        f"/api/v1/campaigns/{campaign_id}/batches",
        headers=auth(key),
        json={"count": count, **body},
    )
    assert response.status_code == 201, response.text
    listed = await http.get(
        f"/api/v1/campaigns/{campaign_id}/codes",
        headers=auth(key),
        params={"batch_id": response.json()["id"], "limit": 1000},
    )
    assert listed.status_code == 200, listed.text
    return [item["code"] for item in listed.json()["items"]]


async def make_customer(rt: Runtime, tenant_id: str, *, tier: str | None = None) -> str:
    """A customer row (the loyalty domain owns them), with a card in ``tier`` if given."""
    now = rt.clock()
    owner = uuid.UUID(tenant_id)
    async with rt.transaction() as session:
        customer = Customer(
            id=uuid7(), tenant_id=owner, attributes={}, created_at=now, updated_at=now
        )
        session.add(customer)
        if tier is not None:
            template = Template(
                id=uuid7(),
                tenant_id=owner,
                name="Card",
                style="storeCard",
                version=1,
                created_at=now,
                updated_at=now,
            )
            session.add(template)
            await session.flush()
            program = Program(
                id=uuid7(),
                tenant_id=owner,
                name="Points",
                template_id=template.id,
                status="active",
                config={},
                created_at=now,
                updated_at=now,
            )
            session.add(program)
            await session.flush()
            session.add(
                Account(
                    tenant_id=owner,
                    program_id=program.id,
                    customer_id=customer.id,
                    number=uuid7().hex[:16],
                    status="active",
                    balance=0,
                    pending=0,
                    lifetime_earned=0,
                    tier=tier,
                    referral_code=uuid7().hex[:12],
                    created_at=now,
                    updated_at=now,
                )
            )
    return str(customer.id)


async def pos_key(rt: Runtime, tenant_id: str, *more: Scope) -> str:
    """An API key that may only redeem (a POS or a scanner), and do what ``more`` allows
    (``validations:write`` for a till that previews)."""
    async with rt.transaction() as session:
        created = await tenants.create_api_key(
            session,
            uuid.UUID(tenant_id),
            name="till",
            now=rt.clock(),
            scopes=[Scope.REDEMPTIONS_WRITE, *more],
        )
    return created.secret


async def redeem(
    http: httpx.AsyncClient, key: str, body: dict[str, Any], idem: str | None = None
) -> httpx.Response:
    return await http.post(
        "/api/v1/redemptions",
        headers={**auth(key), "Idempotency-Key": idem or str(uuid7())},
        json=body,
    )
