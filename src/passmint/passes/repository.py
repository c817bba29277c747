"""SQL for templates, assets and passes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.sql import insert_for
from passmint.models import Asset, Counter, Pass, PassBundle, Template, TemplateVersion


async def get_template(
    session: AsyncSession, tenant_id: uuid.UUID, template_id: uuid.UUID, *, lock: bool = False
) -> Template | None:
    query = select(Template).where(Template.id == template_id, Template.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_template_version(
    session: AsyncSession, template_id: uuid.UUID, version: int
) -> TemplateVersion | None:
    query = select(TemplateVersion).where(
        TemplateVersion.template_id == template_id, TemplateVersion.version == version
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_templates(
    session: AsyncSession, tenant_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[tuple[Template, TemplateVersion]]:
    """A page of templates, each with its current version (one query)."""
    query = (
        select(Template, TemplateVersion)
        .join(
            TemplateVersion,
            (TemplateVersion.template_id == Template.id)
            & (TemplateVersion.version == Template.version),
        )
        .where(Template.tenant_id == tenant_id)
    )
    if after is not None:
        query = query.where(Template.id > after)
    rows = await session.execute(query.order_by(Template.id).limit(limit))
    return [(row[0], row[1]) for row in rows.all()]


async def assets_by_id(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Asset]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Asset).where(Asset.tenant_id == tenant_id, Asset.id.in_(ids))
    )
    return {a.id: a for a in rows.scalars()}


async def assets_by_sha(
    session: AsyncSession, tenant_id: uuid.UUID, shas: Sequence[str]
) -> dict[str, bytes]:
    if not shas:
        return {}
    rows = await session.execute(
        select(Asset.sha256, Asset.data).where(Asset.tenant_id == tenant_id, Asset.sha256.in_(shas))
    )
    return {str(sha): bytes(data) for sha, data in rows.all()}


async def public_asset(session: AsyncSession, asset_id: uuid.UUID) -> Asset | None:
    """An uploaded image by id alone (template images are public: Google fetches them)."""
    query = select(Asset).where(Asset.id == asset_id, Asset.content_type == "image/png")
    return (await session.execute(query)).scalar_one_or_none()


async def store_asset(session: AsyncSession, asset: Asset) -> Asset:
    existing = (
        await session.execute(
            select(Asset).where(Asset.tenant_id == asset.tenant_id, Asset.sha256 == asset.sha256)
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    session.add(asset)
    await session.flush()
    return asset


async def get_pass(
    session: AsyncSession, tenant_id: uuid.UUID, pass_id: uuid.UUID, *, lock: bool = False
) -> Pass | None:
    query = select(Pass).where(Pass.id == pass_id, Pass.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def passes_for_update(
    session: AsyncSession, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[Pass]:
    """The passes, row-locked in primary-key order (so concurrent batches never deadlock)."""
    if not ids:
        return []
    query = (
        select(Pass)
        .where(Pass.tenant_id == tenant_id, Pass.id.in_(ids))
        .order_by(Pass.id)
        .with_for_update()
    )
    return list((await session.execute(query)).scalars())


async def pass_by_serial(
    session: AsyncSession, tenant_id: uuid.UUID, serial_number: str
) -> Pass | None:
    query = select(Pass).where(Pass.tenant_id == tenant_id, Pass.serial_number == serial_number)
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def pass_by_download_token(session: AsyncSession, token: str) -> Pass | None:
    return (
        await session.execute(select(Pass).where(Pass.download_token == token))
    ).scalar_one_or_none()


async def list_passes(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    template_id: uuid.UUID | None,
    external_id: str | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Pass]:
    query = select(Pass).where(Pass.tenant_id == tenant_id)
    if template_id is not None:
        query = query.where(Pass.template_id == template_id)
    if external_id is not None:
        query = query.where(Pass.external_id == external_id)
    if after is not None:
        query = query.where(Pass.id > after)
    return list((await session.execute(query.order_by(Pass.id).limit(limit))).scalars())


async def pass_ids_of_template(
    session: AsyncSession, template_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    query = select(Pass.id).where(Pass.template_id == template_id, Pass.status != "voided")
    if after is not None:
        query = query.where(Pass.id > after)
    return list((await session.execute(query.order_by(Pass.id).limit(limit))).scalars())


async def next_tag(session: AsyncSession, name: str) -> int:
    """Bump and return a counter, in one statement (an upsert). The row stays locked until
    commit (see models.Counter)."""
    statement = insert_for(session, Counter).values(name=name, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[Counter.name], set_={"value": Counter.value + 1}
    ).returning(Counter.value)
    result = await session.execute(statement)
    return int(result.scalar_one())


async def cached_bundle(session: AsyncSession, pass_id: uuid.UUID, version: int) -> bytes | None:
    row = await session.get(PassBundle, pass_id)
    return row.data if row is not None and row.version == version else None


async def store_bundle(session: AsyncSession, bundle: PassBundle) -> None:
    values: dict[str, Any] = {
        "pass_id": bundle.pass_id,
        "version": bundle.version,
        "data": bundle.data,
        "created_at": bundle.created_at,
    }
    statement = insert_for(session, PassBundle).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["pass_id"],
        set_={
            "version": values["version"],
            "data": values["data"],
            "created_at": values["created_at"],
        },
        where=PassBundle.version < values["version"],
    )
    await session.execute(statement)
