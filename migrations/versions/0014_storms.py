"""Storms: when more complaints arrive in a channel than it can show, they are listed in one storm card's thread.

- `storms`: one row per storm; at most one open storm per channel (a partial unique index, so two copies of Heard
  that see the same surge open it once: the second insert does nothing and reads the first one's row).
- `complaints.storm_id`: the storm a complaint was filed into (its "card" is then a line in the storm's thread).
- `ix_complaints_channel_received_at`: the arrivals of one channel in the last window, counted at intake.

Columns are added to `complaints` with plain ALTER TABLE (no SQLite batch copy), so the lookup objects of 0008
stay as they are.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "storms",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("calm_since", UtcDateTime()),
        sa.Column("ended_at", UtcDateTime()),
        sa.Column("ended_by", sa.String(64)),
        sa.Column("slack_ts", sa.String(32)),
        sa.Column("slack_permalink", sa.String(500)),
    )
    op.create_index(
        "uq_storms_open_channel",
        "storms",
        ["channel"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_storms_channel_ended_at", "storms", ["channel", "ended_at"])
    op.add_column("complaints", sa.Column("storm_id", big_id))
    op.create_index("ix_complaints_storm_id", "complaints", ["storm_id"])
    op.create_index("ix_complaints_channel_received_at", "complaints", ["slack_channel", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_complaints_channel_received_at", table_name="complaints")
    op.drop_index("ix_complaints_storm_id", table_name="complaints")
    op.execute("ALTER TABLE complaints DROP COLUMN storm_id")
    op.drop_index("ix_storms_channel_ended_at", table_name="storms")
    op.drop_index("uq_storms_open_channel", table_name="storms")
    op.drop_table("storms")
