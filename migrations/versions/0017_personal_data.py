"""Data-subject requests and retention: what was erased, legal holds lifted, and the one change the audit trail takes.

- `complaints.erased_at` / `erased_by`: when and by whom (a manager, or `heard:retention`) the author's personal data
  was redacted (bot/privacy.py); the complaint, its timeline and its audit trail stay.
- `complaints.hold_lifted_at` / `hold_lifted_by`: a manager lifted the legal hold a threat puts on the complaint.
- The audit trail stays append-only, with one exception: on an erased complaint, an UPDATE may turn values of an
  event's `detail` into the redacted marker, and change nothing else (not a key, not a column). DELETE stays refused.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# bot/privacy.py's REDACTED, written out as it was on the day (a migration must not change when the code does).
REDACTED = "[erased]"

POSTGRESQL_REDACTION_ONLY = f"""
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id = OLD.id AND NEW.complaint_id = OLD.complaint_id AND NEW.at = OLD.at
           AND NEW.actor = OLD.actor AND NEW.action = OLD.action AND NEW.surface = OLD.surface
           AND EXISTS (SELECT 1 FROM complaints WHERE id = OLD.complaint_id AND erased_at IS NOT NULL)
           AND json_typeof(NEW.detail) = 'object' AND json_typeof(OLD.detail) = 'object'
           AND (SELECT coalesce(array_agg(k ORDER BY k), '{{}}') FROM json_object_keys(NEW.detail) AS k)
             = (SELECT coalesce(array_agg(k ORDER BY k), '{{}}') FROM json_object_keys(OLD.detail) AS k)
           AND NOT EXISTS (
               SELECT 1 FROM jsonb_each(NEW.detail::jsonb) AS n JOIN jsonb_each(OLD.detail::jsonb) AS o USING (key)
               WHERE n.value <> o.value AND n.value <> to_jsonb('{REDACTED}'::text))
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
"""

POSTGRESQL_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
"""

SQLITE_REDACTION_ONLY = f"""
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT (
    new.id = old.id AND new.complaint_id = old.complaint_id AND new.at IS old.at AND new.actor = old.actor
    AND new.action = old.action AND new.surface = old.surface
    AND EXISTS (SELECT 1 FROM complaints WHERE id = old.complaint_id AND erased_at IS NOT NULL)
    AND json_type(new.detail) = 'object' AND json_type(old.detail) = 'object'
    AND (SELECT count(*) FROM json_each(new.detail)) = (SELECT count(*) FROM json_each(old.detail))
    AND NOT EXISTS (
        SELECT 1 FROM json_each(new.detail) AS n LEFT JOIN json_each(old.detail) AS o ON o.key = n.key
        WHERE o.key IS NULL
           OR ((n.type IS NOT o.type OR n.value IS NOT o.value) AND NOT (n.type = 'text' AND n.value = '{REDACTED}'))
    )
)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
"""

SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: no batch copy of `complaints`, so migration 0008's search objects stay.
    op.add_column("complaints", sa.Column("erased_at", UtcDateTime()))
    op.add_column("complaints", sa.Column("erased_by", sa.String(64)))
    op.add_column("complaints", sa.Column("hold_lifted_at", UtcDateTime()))
    op.add_column("complaints", sa.Column("hold_lifted_by", sa.String(64)))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_REDACTION_ONLY)
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute(SQLITE_REDACTION_ONLY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_APPEND_ONLY)
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute(SQLITE_APPEND_ONLY)
    for column in ("hold_lifted_by", "hold_lifted_at", "erased_by", "erased_at"):
        op.drop_column("complaints", column)
