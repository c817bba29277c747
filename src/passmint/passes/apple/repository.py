"""SQL of the PassKit web service: devices, registrations, updated serials."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import insert_for
from passmint.models import Device, Pass, Registration


async def upsert_device(
    session: AsyncSession, device_library_id: str, push_token: str, now: datetime
) -> uuid.UUID:
    from passmint.kit.ids import uuid7

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
    from passmint.kit.ids import uuid7

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


async def updated_serials(
    session: AsyncSession, device_library_id: str, pass_type_id: str, since: int
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


async def push_targets(
    session: AsyncSession, pass_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, uuid.UUID]]:
    """(registration id, device id, pass id, push token, tenant id) for the passes' devices."""
    query = (
        select(Registration.id, Device.id, Pass.id, Device.push_token, Pass.tenant_id)
        .join(Device, Device.id == Registration.device_id)
        .join(Pass, Pass.id == Registration.pass_id)
        .where(Registration.pass_id.in_(pass_ids))
        .order_by(Registration.id)
    )
    return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def delete_registrations(session: AsyncSession, ids: list[uuid.UUID]) -> None:
    if ids:
        await session.execute(delete(Registration).where(Registration.id.in_(ids)))
