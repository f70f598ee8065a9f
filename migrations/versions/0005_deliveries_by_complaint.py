"""Index the outbox by complaint and kind: a complaint's notices and thread lines are looked up together.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_complaint_id_kind", "deliveries", ["complaint_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_complaint_id_kind", "deliveries")
