"""Replies to customers: public replies and DMs sent through X, and drafts copied and sent by hand (marked
replied). One row per request (the modal view that asked), so a Slack retry or a double submit finds the row
instead of sending twice; the sender records each attempt before calling X.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "replies",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("complaint_id", big_id, nullable=False),
        sa.Column("request_key", sa.String(128), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("personalised", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", UtcDateTime()),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("maybe_sent", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(500)),
        sa.Column("external_id", sa.String(64)),
        sa.Column("url", sa.String(500)),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("sent_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_replies_complaint_id_complaints")),
        sa.UniqueConstraint("request_key", name="uq_replies_request_key"),
    )
    op.create_index("ix_replies_complaint_id", "replies", ["complaint_id"])
    op.create_index("ix_replies_status_due_at", "replies", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_replies_status_due_at", table_name="replies")
    op.drop_index("ix_replies_complaint_id", table_name="replies")
    op.drop_table("replies")
