"""code_batches: an index on (tenant_id, pattern) for the 1,000x pattern rule, which sums
the tenant's earlier batches of the same pattern at every new batch

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_code_batches_tenant_pattern", "code_batches", ["tenant_id", "pattern"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_code_batches_tenant_pattern", table_name="code_batches")
