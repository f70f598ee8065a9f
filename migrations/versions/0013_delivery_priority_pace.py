"""Delivery by priority, one pace per channel shared by every copy, and honest lag.

- `deliveries.priority`: the order in which rows that are due spend Slack's budget (a new card first, clock
  messages, other messages and updates, thread lines last); `deliveries.pace_key`: the conversation a row's
  chat.postMessage is paced on, when known (so rows of a channel that must wait are not even read);
  `deliveries.queued_at`: since when the row has been waiting (the honest lag of `/healthz` and the Home tab).
- `delivery_pace`: one row per conversation, the theoretical arrival time of its next message (GCRA), claimed
  with a row lock by whichever copy posts next.
- `delivery_flags`: small shared switches claimed by conditional update (the lag alert: said once, recovered once).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def delivery_columns() -> list[sa.Column]:
    """New each time: a Column belongs to one table once added."""
    return [
        sa.Column("priority", sa.SmallInteger(), nullable=False, server_default=sa.text("2")),
        sa.Column("pace_key", sa.String(64)),
        sa.Column("queued_at", UtcDateTime()),
    ]


def upgrade() -> None:
    for column in delivery_columns():
        op.add_column("deliveries", column)
    op.execute("UPDATE deliveries SET queued_at = created_at")
    op.create_index("ix_deliveries_status_priority_due_at", "deliveries", ["status", "priority", "due_at"])
    op.create_table(
        "delivery_pace",
        sa.Column("channel", sa.String(64), primary_key=True),
        # Seconds since the epoch at which the channel's bucket is empty again (GCRA's theoretical arrival time).
        sa.Column("tat", sa.Float(), nullable=False),
    )
    op.create_table(
        "delivery_flags",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("raised", sa.Boolean(), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("delivery_flags")
    op.drop_table("delivery_pace")
    op.drop_index("ix_deliveries_status_priority_due_at", table_name="deliveries")
    for column in reversed(delivery_columns()):
        op.execute(f"ALTER TABLE deliveries DROP COLUMN {column.name}")
