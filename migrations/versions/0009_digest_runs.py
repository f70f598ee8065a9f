"""Digest runs: one row per (kind, period, recipient), claimed before the digest is queued, so each manager gets
each digest once across restarts and several copies of Heard.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("kind", "last_day", "recipient", name="uq_digest_runs_kind"),
    )


def downgrade() -> None:
    op.drop_table("digest_runs")
