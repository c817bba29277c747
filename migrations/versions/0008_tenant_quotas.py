"""tenant_quotas: what each tenant stores of codes, passes, templates and images, and its
own limits (passmint.tenants.quotas)

The counts start from the rows already stored: uploaded images are the assets with a size
(the other assets are a template's rendered files).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kind: (table, only rows with a width: uploaded images, not a template's rendered files)
_COUNTED = {
    "codes": ("codes", False),
    "passes": ("passes", False),
    "templates": ("templates", False),
    "images": ("assets", True),
}


def upgrade() -> None:
    op.create_table(
        "tenant_quotas",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("limit_override", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_quotas_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "kind", name=op.f("pk_tenant_quotas")),
    )
    quotas = sa.table("tenant_quotas", sa.column("tenant_id"), sa.column("kind"), sa.column("used"))
    for kind, (name, sized_only) in _COUNTED.items():
        rows = sa.table(name, sa.column("tenant_id"), sa.column("width"))
        counted = sa.select(
            rows.c.tenant_id, sa.literal_column(f"'{kind}'"), sa.func.count()
        ).group_by(rows.c.tenant_id)
        if sized_only:
            counted = counted.where(rows.c.width.is_not(None))
        op.execute(quotas.insert().from_select(["tenant_id", "kind", "used"], counted))


def downgrade() -> None:
    op.drop_table("tenant_quotas")
