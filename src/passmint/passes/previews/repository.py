"""SQL of the previews: what is known of the images a design names."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.models import Asset


async def image_sizes(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[int | None, int | None]]:
    """Pixel width and height of the tenant's uploaded images among ``ids`` (their bytes
    are not read)."""
    if not ids:
        return {}
    query = select(Asset.id, Asset.width, Asset.height).where(
        Asset.tenant_id == tenant_id, Asset.id.in_(ids), Asset.content_type == "image/png"
    )
    return {row.id: (row.width, row.height) for row in await session.execute(query)}
