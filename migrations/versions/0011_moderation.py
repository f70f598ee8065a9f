"""Moderation, never deletion: hidden complaints (with a reason, and whether the source hid them too), threats
flagged to Legal, authors' strikes and blocks, and write-ups of hard cases.

Columns are added to `complaints` with plain ALTER TABLE (no SQLite batch copy), so the lookup objects of 0008
(FTS table, triggers, expression indexes) stay as they are.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def complaint_columns() -> list[sa.Column]:
    """New each time: a Column belongs to one table once added."""
    return [
        sa.Column("hidden_at", UtcDateTime()),
        sa.Column("hidden_by", sa.String(64)),
        sa.Column("hidden_reason", sa.String(32)),
        sa.Column("hidden_note", sa.Text()),
        sa.Column("hidden_on_source", sa.Boolean()),
        sa.Column("hidden_source_refusal", sa.String(300)),
        sa.Column("threat_flagged_at", UtcDateTime()),
        sa.Column("threat_flagged_by", sa.String(64)),
    ]


def upgrade() -> None:
    for column in complaint_columns():
        op.add_column("complaints", column)
    op.create_table(
        "moderated_authors",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("author_key", sa.String(256), primary_key=True),
        sa.Column("handle", sa.String(256), nullable=False),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("last_strike_at", UtcDateTime()),
        sa.Column("blocked_at", UtcDateTime()),
        sa.Column("blocked_by", sa.String(64)),
        sa.Column("muted_on_source", sa.Boolean()),
        sa.Column("block_note", sa.String(300)),
    )
    op.create_table(
        "write_ups",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("complaint_id", big_id, sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("what_we_learned", sa.Text(), nullable=False),
        sa.Column("written_by", sa.String(64), nullable=False),
        sa.Column("written_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("complaint_id", name="uq_write_ups_complaint_id"),
    )
    op.create_index("ix_write_ups_written_at", "write_ups", ["written_at"])


def downgrade() -> None:
    op.drop_index("ix_write_ups_written_at", table_name="write_ups")
    op.drop_table("write_ups")
    op.drop_table("moderated_authors")
    for column in reversed(complaint_columns()):
        # SQLite (3.35+) drops a plain column in place; a batch copy would lose 0008's lookup objects.
        op.execute(f"ALTER TABLE complaints DROP COLUMN {column.name}")
