"""SLA clocks on complaints: resolution deadline, stage counters, snooze, and the next due moment.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Complaints from before this revision get the default resolution window; the sweep then catches them up.
DEFAULT_RESOLVE_WINDOW = timedelta(hours=24)


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("resolve_deadline", UtcDateTime()))
        batch.add_column(sa.Column("ack_stage", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("resolve_stage", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("resolve_snoozed_until", UtcDateTime()))
        batch.add_column(sa.Column("sla_due_at", UtcDateTime()))
    complaints = sa.table(
        "complaints",
        sa.column("id", sa.Integer()),
        sa.column("posted_at", UtcDateTime()),
        sa.column("status", sa.String()),
        sa.column("resolve_deadline", UtcDateTime()),
        sa.column("sla_due_at", UtcDateTime()),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(complaints.c.id, complaints.c.posted_at, complaints.c.status)):
        connection.execute(
            complaints.update()
            .where(complaints.c.id == row.id)
            .values(
                resolve_deadline=row.posted_at + DEFAULT_RESOLVE_WINDOW,
                sla_due_at=None if row.status == "resolved" else row.posted_at,
            )
        )
    with op.batch_alter_table("complaints") as batch:
        batch.alter_column("resolve_deadline", existing_type=UtcDateTime(), nullable=False)
    op.create_index("ix_complaints_sla_due_at", "complaints", ["sla_due_at"])


def downgrade() -> None:
    op.drop_index("ix_complaints_sla_due_at", "complaints")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("sla_due_at")
        batch.drop_column("resolve_snoozed_until")
        batch.drop_column("resolve_stage")
        batch.drop_column("ack_stage")
        batch.drop_column("resolve_deadline")
