"""SQL of the PassKit web service: devices, registrations, updated serials."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from passmint.kit.ids import uuid7
from passmint.kit.sql import in_ids, insert_for
from passmint.models import AppleCredential, Device, Pass, Registration


async def upsert_device(
    session: AsyncSession, device_library_id: str, push_token: str, now: datetime
) -> uuid.UUID:
    statement = (
        insert_for(session, Device)
        .values(
            id=uuid7(),
            device_library_id=device_library_id,
            push_token=push_token,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["device_library_id"],
            set_={"push_token": push_token, "updated_at": now},
        )
        .returning(Device.id)
    )
    return uuid.UUID(str((await session.execute(statement)).scalar_one()))


async def add_registration(
    session: AsyncSession, device_id: uuid.UUID, pass_: Pass, now: datetime
) -> bool:
    """True when the registration is new (201), False when it existed (200)."""
    statement = (
        insert_for(session, Registration)
        .values(
            id=uuid7(),
            device_id=device_id,
            pass_id=pass_.id,
            pass_type_id=pass_.pass_type_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["device_id", "pass_id"])
        .returning(Registration.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def device_id(session: AsyncSession, device_library_id: str) -> uuid.UUID | None:
    query = select(Device.id).where(Device.device_library_id == device_library_id)
    return (await session.execute(query)).scalar_one_or_none()


async def remove_registration(session: AsyncSession, device: uuid.UUID, pass_id: uuid.UUID) -> bool:
    result = await session.execute(
        delete(Registration).where(
            Registration.device_id == device, Registration.pass_id == pass_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def delete_device_if_unused(session: AsyncSession, device: uuid.UUID) -> None:
    still = exists().where(Registration.device_id == device)
    await session.execute(delete(Device).where(Device.id == device, ~still))


@dataclass(frozen=True, slots=True)
class PassAuth:
    """What the web service needs to authorize a request and answer 304."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    auth_token_hash: str
    last_modified: datetime
    version: int


_PASS_AUTH = select(
    Pass.id, Pass.tenant_id, Pass.auth_token_hash, Pass.last_modified, Pass.version
).where(Pass.pass_type_id == bindparam("pass_type_id"), Pass.serial_number == bindparam("serial"))


async def pass_auth(
    conn: AsyncConnection | AsyncSession, pass_type_id: str, serial: str
) -> PassAuth | None:
    row = (await conn.execute(_PASS_AUTH, {"pass_type_id": pass_type_id, "serial": serial})).first()
    return PassAuth(*row) if row is not None else None


async def updated_serials(
    session: AsyncConnection | AsyncSession, device_library_id: str, pass_type_id: str, since: int
) -> list[tuple[str, int]]:
    query = (
        select(Pass.serial_number, Pass.update_tag)
        .join(Registration, Registration.pass_id == Pass.id)
        .join(Device, Device.id == Registration.device_id)
        .where(
            Device.device_library_id == device_library_id,
            Registration.pass_type_id == pass_type_id,
            Pass.update_tag > since,
        )
    )
    return [(serial, int(tag)) for serial, tag in (await session.execute(query)).all()]


async def registration_count(session: AsyncSession, pass_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(Registration).where(Registration.pass_id == pass_id)
    return int((await session.execute(query)).scalar_one())


async def registration_exists(session: AsyncSession, device: uuid.UUID, pass_id: uuid.UUID) -> bool:
    query = select(
        exists().where(Registration.device_id == device, Registration.pass_id == pass_id)
    )
    return bool((await session.execute(query)).scalar_one())


async def registrations_up_to(
    session: AsyncSession,
    limit: int,
    *,
    pass_id: uuid.UUID | None = None,
    device: uuid.UUID | None = None,
) -> int:
    """The registrations of a pass or of a device, counted no further than ``limit``
    (all a cap needs to know, read from the index on either column)."""
    column = Registration.pass_id if pass_id is not None else Registration.device_id
    rows = select(Registration.id).where(column == (pass_id or device)).limit(limit)
    query = select(func.count()).select_from(rows.subquery())
    return int((await session.execute(query)).scalar_one())


async def push_targets(
    session: AsyncSession, pass_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, uuid.UUID]]:
    """(registration id, device id, pass id, push token, tenant id) for the passes' devices."""
    query = (
        select(Registration.id, Device.id, Pass.id, Device.push_token, Pass.tenant_id)
        .join(Device, Device.id == Registration.device_id)
        .join(Pass, Pass.id == Registration.pass_id)
        .where(in_ids(session, Registration.pass_id, pass_ids))
        .order_by(Registration.id)
    )
    return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def delete_registrations(session: AsyncSession, ids: list[uuid.UUID]) -> None:
    if ids:
        await session.execute(delete(Registration).where(in_ids(session, Registration.id, ids)))


async def record_push_error(
    session: AsyncSession, credential_id: uuid.UUID, error: str, at: datetime
) -> None:
    """Show an APNs refusal that points at the credential (400/403) on the credential."""
    await session.execute(
        update(AppleCredential)
        .where(AppleCredential.id == credential_id)
        .values(last_push_error=error, last_push_error_at=at)
    )


# Raw driver reads for the device fast path (PostgreSQL only; see fastpath.py).
_UPDATED_SQL = (
    "SELECT p.serial_number, p.update_tag FROM devices d"
    " JOIN registrations r ON r.device_id = d.id"
    " JOIN passes p ON p.id = r.pass_id"
    " WHERE d.device_library_id = $1 AND r.pass_type_id = $2 AND p.update_tag > $3"
)


_VALIDATOR_SQL = (
    "SELECT auth_token_hash, last_modified FROM passes"
    " WHERE pass_type_id = $1 AND serial_number = $2"
)


async def pass_validator_raw(
    pool: Any, pass_type_id: str, serial: str
) -> tuple[str, datetime] | None:
    """Just what a 304 needs: the token hash and Last-Modified."""
    row = await pool.fetchrow(_VALIDATOR_SQL, pass_type_id, serial)
    return (str(row[0]), row[1]) if row is not None else None


async def updated_serials_raw(
    pool: Any, device_library_id: str, pass_type_id: str, since: int
) -> list[tuple[str, int]]:
    rows = await pool.fetch(_UPDATED_SQL, device_library_id, pass_type_id, since)
    return [(str(serial), int(tag)) for serial, tag in rows]
