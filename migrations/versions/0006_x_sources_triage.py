"""Complaints from X: author details, triage, conversations; the posts that joined a complaint; feed cursors
and the lease that lets one copy of Heard poll.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("author_followers", sa.Integer()))
        batch.add_column(sa.Column("author_verified", sa.Boolean()))
        batch.add_column(sa.Column("lang", sa.String(16)))
        batch.add_column(sa.Column("conversation_id", sa.String(64)))
        batch.add_column(sa.Column("priority", sa.String(16), nullable=False, server_default="normal"))
        batch.add_column(sa.Column("triage_reasons", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("personal_data", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("threats", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("category", sa.String(64)))
        batch.add_column(sa.Column("extra_posts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("raw", sa.JSON()))
    op.create_index("ix_complaints_conversation", "complaints", ["source", "author_id", "conversation_id"])

    op.create_table(
        "complaint_posts",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("complaint_id", big_id, sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(256), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(3000)),
        sa.Column("posted_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("raw", sa.JSON()),
        sa.UniqueConstraint("source", "external_id", name="uq_complaint_posts_source_external_id"),
    )
    op.create_index("ix_complaint_posts_complaint_id", "complaint_posts", ["complaint_id"])

    op.create_table(
        "x_feeds",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("target", sa.String(600), nullable=False, server_default=""),
        sa.Column("since_id", sa.String(32)),
        sa.Column("page_token", sa.String(200)),
        sa.Column("page_newest_id", sa.String(32)),
        sa.Column("reads_day", sa.String(10)),
        sa.Column("reads", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_success_at", UtcDateTime()),
        sa.Column("failing_since", UtcDateTime()),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(300)),
        sa.Column("gap_reported", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("next_attempt_at", UtcDateTime()),
        sa.Column("stopped_reason", sa.String(300)),
        sa.Column("stopped_token", sa.String(32)),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("until", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("x_feeds")
    op.drop_index("ix_complaint_posts_complaint_id", "complaint_posts")
    op.drop_table("complaint_posts")
    op.drop_index("ix_complaints_conversation", "complaints")
    with op.batch_alter_table("complaints") as batch:
        for column in (
            "raw",
            "extra_posts",
            "category",
            "threats",
            "personal_data",
            "triage_reasons",
            "priority",
            "conversation_id",
            "lang",
            "author_verified",
            "author_followers",
        ):
            batch.drop_column(column)
