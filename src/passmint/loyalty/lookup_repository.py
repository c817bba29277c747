"""The SQL of finding cards' passes by what staff type: a card number, a customer's email or
phone."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.models import Account, Customer, Program


async def pass_ids_of_cards(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    number: str | None,
    email: str | None,
    phone: str | None,
    limit: int,
) -> list[uuid.UUID]:
    """The passes of the tenant's cards whose number is ``number``, or whose customer has
    this email or phone. Through the unique indexes (program, number), (program,
    customer), (tenant, email) and (tenant, phone): the tenant's programs are few."""
    programs = select(Program.id).where(Program.tenant_id == tenant_id)
    matches: list[ColumnElement[bool]] = []
    if number is not None:
        matches.append(Account.number == number)
    holders: list[ColumnElement[bool]] = []
    if email is not None:
        holders.append(Customer.email == email)
    if phone is not None:
        holders.append(Customer.phone == phone)
    if holders:
        customers = select(Customer.id).where(Customer.tenant_id == tenant_id, or_(*holders))
        matches.append(Account.customer_id.in_(customers))
    if not matches:
        return []
    query = (
        select(Account.pass_id)
        .where(
            Account.program_id.in_(programs),
            Account.pass_id.is_not(None),
            or_(*matches),
        )
        .order_by(Account.pass_id.desc())
        .limit(limit)
    )
    return [i for i in (await session.execute(query)).scalars() if i is not None]
