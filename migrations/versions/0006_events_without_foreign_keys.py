"""events: no foreign keys on the append-only event log

A push fan-out or a template re-render writes an event per device or pass; on PostgreSQL
the two referential checks (per row, by trigger) cost three times what the row's own
insert does. Passes and tenants are never deleted (a pass is voided), and every event is
written by the service that holds the pass it names.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_events_pass_id_passes"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_events_tenant_id_tenants"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_foreign_key(op.f("fk_events_pass_id_passes"), "passes", ["pass_id"], ["id"])
        batch_op.create_foreign_key(
            op.f("fk_events_tenant_id_tenants"), "tenants", ["tenant_id"], ["id"]
        )
