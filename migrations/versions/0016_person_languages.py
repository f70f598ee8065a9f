"""Each person's language for Heard's own views (modals, DMs, ephemerals, Home, lookups).

- `person_languages`: the Slack locale `users.info` last reported for a person (and when), and the language they
  chose on the Home tab (NULL: follow Slack's). Shared messages keep the team's `HEARD_LANGUAGE`.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_languages",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("slack_locale", sa.String(32)),
        sa.Column("locale_seen_at", UtcDateTime()),
        sa.Column("chosen_language", sa.String(16)),
        sa.Column("chosen_at", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("person_languages")
