"""Outbox rows remember where their message landed, and what besides the complaint they show.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("ref_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")))
        batch.add_column(sa.Column("channel", sa.String(64)))
        batch.add_column(sa.Column("ts", sa.String(32)))
    # Cards posted before this revision: their place was only on the complaint.
    op.execute(
        "UPDATE deliveries SET channel = (SELECT slack_channel FROM complaints WHERE complaints.id = "
        "deliveries.complaint_id), ts = (SELECT slack_ts FROM complaints WHERE complaints.id = "
        "deliveries.complaint_id) WHERE kind = 'card'"
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("ts")
        batch.drop_column("channel")
        batch.drop_column("ref_id")
