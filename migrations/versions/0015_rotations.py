"""Rotations and auto-assignment.

- `assign_cursors`: round-robin's place per pool of agents (the last one given a complaint), locked and moved in
  the unit of work that files complaints, so copies of Heard and restarts continue from one place.
- `handoffs`: one row per person and turn on duty in a rotation (unique), so the handoff DM goes once.
- `agent_status`: an agent's "away" from Heard's Home tab (no complaints assigned while away).

Open complaints per owner are counted from `ix_complaints_owner_queue` (migration 0008).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "assign_cursors",
        sa.Column("pool", sa.String(128), primary_key=True),
        sa.Column("last_agent", sa.String(64)),
        sa.Column("turns", big_id, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("rotation", sa.String(128), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("until", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("rotation", "person", "since", name="uq_handoffs_rotation"),
    )
    op.create_table(
        "agent_status",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("away", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_status")
    op.drop_table("handoffs")
    op.drop_table("assign_cursors")
