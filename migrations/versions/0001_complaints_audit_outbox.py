"""Complaints, the append-only audit trail and the delivery outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(256), nullable=False),
        sa.Column("author_handle", sa.String(256), nullable=False),
        sa.Column("author_name", sa.String(256)),
        sa.Column("author_id", sa.String(256)),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(3000)),
        sa.Column("posted_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(64)),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_at", UtcDateTime()),
        sa.Column("acknowledged_by", sa.String(64)),
        sa.Column("acknowledged_at", UtcDateTime()),
        sa.Column("ack_deadline", UtcDateTime(), nullable=False),
        sa.Column("slack_channel", sa.String(64)),
        sa.Column("slack_ts", sa.String(32)),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("source", "external_id", name="uq_complaints_source_external_id"),
    )
    op.create_index("ix_complaints_status_ack_deadline", "complaints", ["status", "ack_deadline"])

    op.create_table(
        "audit_events",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("complaint_id", big_id, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("surface", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_audit_events_complaint_id_complaints")
        ),
    )
    op.create_index("ix_audit_events_complaint_id_at", "audit_events", ["complaint_id", "at"])

    op.create_table(
        "deliveries",
        sa.Column("id", big_id, primary_key=True),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("complaint_id", big_id),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime()),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("maybe_sent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("attempted_at", UtcDateTime()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_deliveries_key")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_deliveries_complaint_id_complaints")
        ),
    )
    op.create_index("ix_deliveries_status_due_at", "deliveries", ["status", "due_at"])

    _make_audit_append_only()


def _make_audit_append_only() -> None:
    """The audit trail is evidence: the database itself refuses to change or remove a row."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_table("deliveries")
    op.drop_table("audit_events")
    op.drop_table("complaints")
