"""codes: no foreign keys on tenant_id, campaign_id and batch_id. PostgreSQL checked each
per inserted row, which made a batch of a million codes cost more in those checks than in
writing the rows; codes are only written for a campaign (and batch) read in the same
transaction, and tenants, campaigns and batches are never deleted.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = (
    ("fk_codes_tenant_id_tenants", "tenants", "tenant_id"),
    ("fk_codes_campaign_id_campaigns", "campaigns", "campaign_id"),
    ("fk_codes_batch_id_code_batches", "code_batches", "batch_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("codes") as batch:
        for name, _, _ in _KEYS:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("codes") as batch:
        for name, parent, column in _KEYS:
            batch.create_foreign_key(name, parent, [column], ["id"])
