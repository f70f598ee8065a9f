"""Indexes for the managers' digest: a period's complaints by posting time, its resolutions, its breaches and its
escalations are each a range on one timestamp; without them every digest scans the whole history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_complaints_posted_at", "complaints", ["posted_at"])
    op.create_index("ix_complaints_resolved_at", "complaints", ["resolved_at"])
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])
    op.create_index("ix_escalations_requested_at", "escalations", ["requested_at"])


def downgrade() -> None:
    op.drop_index("ix_escalations_requested_at", "escalations")
    op.drop_index("ix_audit_events_action_at", "audit_events")
    op.drop_index("ix_complaints_resolved_at", "complaints")
    op.drop_index("ix_complaints_posted_at", "complaints")
