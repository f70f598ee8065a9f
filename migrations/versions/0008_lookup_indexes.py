"""Indexes for `/complaints` and the App Home: the open queue in the order it is shown (high priority first, then the
next deadline), one person's queue, one author's complaints whatever the case of the handle, full-text search over
complaint text, and the Home tab's follow-ups and waiting escalations.

The expressions and conditions are written out here as they were on the day (a migration must not change when the
code does); `storage/queries.py` spells them the same way, and tests check that each lookup's plan uses its index.
None of these is declared in `storage.models` (see `storage.queries.include_in_model_comparison`).

Search: on SQLite an FTS5 table over complaints.text with the complaint id as its rowid ("external content": the
text is not stored twice), kept in step by triggers; on PostgreSQL a stored generated column
`search_vector = to_tsvector('simple', text)` with a GIN index. 'simple' neither stems nor drops stop words, so a
search finds the words typed, in any case, and only whole words.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRIORITY_RANK = "(priority <> 'high')"
NEXT_DEADLINE = "(CASE WHEN acknowledged_at IS NULL THEN ack_deadline ELSE resolve_deadline END)"
OPEN = "status <> 'resolved'"
AUTHOR_KEY = "(lower(ltrim(author_handle, '@')))"

SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE complaints_fts USING fts5("
    "text, content='complaints', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER complaints_fts_insert AFTER INSERT ON complaints BEGIN "
    "INSERT INTO complaints_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER complaints_fts_delete AFTER DELETE ON complaints BEGIN "
    "INSERT INTO complaints_fts(complaints_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER complaints_fts_update AFTER UPDATE OF text ON complaints BEGIN "
    "INSERT INTO complaints_fts(complaints_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO complaints_fts(rowid, text) VALUES (new.id, new.text); END",
    # Index the complaints already there.
    "INSERT INTO complaints_fts(complaints_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX ix_complaints_open_queue ON complaints ({PRIORITY_RANK}, {NEXT_DEADLINE}, id) WHERE {OPEN}"
    )
    op.execute(
        f"CREATE INDEX ix_complaints_owner_queue ON complaints (owner_id, {PRIORITY_RANK}, {NEXT_DEADLINE}, id) "
        f"WHERE {OPEN}"
    )
    op.execute(f"CREATE INDEX ix_complaints_author_key ON complaints ({AUTHOR_KEY}, id)")
    op.execute(
        "CREATE INDEX ix_follow_ups_assignee_due ON follow_ups (assignee, due_at) WHERE status IN ('scheduled', 'sent')"
    )
    op.execute(
        "CREATE INDEX ix_escalations_waiting ON escalations (department_key, requested_at) "
        "WHERE status IN ('open', 'awaiting approval')"
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)
    else:
        # Stored, so a row is checked against a search without parsing its text again (a search for a rare word
        # may have to check many); Heard's code never writes it, and the models do not declare it.
        op.execute(
            "ALTER TABLE complaints ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED"
        )
        op.execute("CREATE INDEX ix_complaints_text_search ON complaints USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("complaints_fts_update", "complaints_fts_delete", "complaints_fts_insert"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE complaints_fts")
    else:
        op.execute("DROP INDEX ix_complaints_text_search")
        op.execute("ALTER TABLE complaints DROP COLUMN search_vector")
    for index in (
        "ix_escalations_waiting",
        "ix_follow_ups_assignee_due",
        "ix_complaints_author_key",
        "ix_complaints_owner_queue",
        "ix_complaints_open_queue",
    ):
        op.execute(f"DROP INDEX {index}")
