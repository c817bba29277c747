"""passes: pass_type_id is null for a pass issued to Google Wallet only

A tenant with a Google issuer and no Apple credentials issues passes that have no Apple
pass type yet; uploading Apple credentials later gives them the credential's pass type id
(``passmint.passes.apple.credentials.put_credentials``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("passes", schema=None) as batch_op:
        batch_op.alter_column("pass_type_id", existing_type=sa.String(length=255), nullable=True)


def downgrade() -> None:
    # Passes still without a pass type (Google Wallet only) cannot go back to a NOT NULL column.
    with op.batch_alter_table("passes", schema=None) as batch_op:
        batch_op.alter_column("pass_type_id", existing_type=sa.String(length=255), nullable=False)
