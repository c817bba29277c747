"""the admin dashboard and pass search: events by (tenant, kind, day) for the counts and the
recent activity, read from the index alone (partial: ``pushed`` rows, one per device of a
push fan-out, are left out and cost nothing more to write); passes by (tenant, serial)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-16 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_PUSHED = "kind <> 'pushed'"


def upgrade() -> None:
    op.create_index(
        "ix_events_tenant_kind",
        "events",
        ["tenant_id", "kind", "created_at", "pass_id"],
        unique=False,
        postgresql_where=sa.text(_NOT_PUSHED),
        sqlite_where=sa.text(_NOT_PUSHED),
    )
    op.create_index(
        "ix_passes_tenant_serial", "passes", ["tenant_id", "serial_number"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_passes_tenant_serial", table_name="passes")
    op.drop_index("ix_events_tenant_kind", table_name="events")
