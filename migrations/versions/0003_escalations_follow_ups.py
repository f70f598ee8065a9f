"""Escalations to departments, follow-ups, resolution, and the card's permalink on complaints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("slack_permalink", sa.String(500)))
        batch.add_column(sa.Column("resolved_by", sa.String(64)))
        batch.add_column(sa.Column("resolved_at", UtcDateTime()))
        batch.add_column(sa.Column("resolution_note", sa.Text()))

    op.create_table(
        "escalations",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("complaint_id", big_id, nullable=False),
        sa.Column("department_key", sa.String(64), nullable=False),
        sa.Column("department_name", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", UtcDateTime()),
        sa.Column("accepted_by", sa.String(64)),
        sa.Column("accepted_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_escalations_complaint_id_complaints")
        ),
    )
    op.create_index("ix_escalations_complaint_id", "escalations", ["complaint_id"])

    op.create_table(
        "follow_ups",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("complaint_id", big_id, nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=False),
        sa.Column("scheduled_by", sa.String(64), nullable=False),
        sa.Column("scheduled_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("done_by", sa.String(64)),
        sa.Column("done_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_follow_ups_complaint_id_complaints")
        ),
    )
    op.create_index("ix_follow_ups_status_due_at", "follow_ups", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("follow_ups")
    op.drop_table("escalations")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("resolution_note")
        batch.drop_column("resolved_at")
        batch.drop_column("resolved_by")
        batch.drop_column("slack_permalink")
