"""Platforms: which adapter acts on a complaint (`platform`), and what the author did to the post on the network
after Heard filed it (edited, removed).

Existing X complaints belong to the X adapter; everything else came through the generic webhook, which only
listens, whatever source name its sender used. Columns are added with plain ALTER TABLE (no SQLite batch copy), so
the lookup objects of 0008 stay as they are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def complaint_columns() -> list[sa.Column]:
    """New each time: a Column belongs to one table once added."""
    return [
        sa.Column("platform", sa.String(32)),
        sa.Column("edited_at", UtcDateTime()),
        sa.Column("removed_at", UtcDateTime()),
    ]


def upgrade() -> None:
    for column in complaint_columns():
        op.add_column("complaints", column)
    op.execute("UPDATE complaints SET platform = CASE WHEN source = 'x' THEN 'x' ELSE 'webhook' END")


def downgrade() -> None:
    for column in reversed(complaint_columns()):
        op.execute(f"ALTER TABLE complaints DROP COLUMN {column.name}")
