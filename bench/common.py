"""What the benchmarks share: a clean schema, seeding hygiene, percentiles, and how a run describes itself.

Heard's and SQLAlchemy's modules are imported inside the functions that need them, so a benchmark's child process
that measures something else (APScheduler alone) does not pay for them.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
# "2026-01-01 12:00:00,000 WARNING waitress.queue: Task queue depth is 3" -> "WARNING waitress.queue: ..."
# Who complains, and where: shared by the benchmarks' synthetic complaints.
FIRST_NAMES = ["Maria", "John", "Aisha", "Wei", "Lars", "Sofía", "Kenji", "Olu", "Chloé", "Dmitri", "Priya", "Sam"]
LAST_NAMES = ["López", "Smith", "Khan", "Zhang", "Nielsen", "García", "Tanaka", "Adeyemi", "Martin", "Ivanov", "Rao"]
SOURCES = ["facebook", "x", "instagram", "trustpilot", "email", "webhook"]
LOG_LINE = re.compile(r"^\S+ \S+ (\w+ [\w.]+: .*)$")


def delivered_card_row(complaint: dict[str, Any]) -> dict[str, Any]:
    """The outbox row of a card already in Slack, as after a real ingest: the worker updates it in place."""
    delivered = complaint["received_at"] + timedelta(milliseconds=300)
    return {
        "key": f"card:{complaint['id']}",
        "kind": "card",
        "complaint_id": complaint["id"],
        "channel": complaint["slack_channel"],
        "ts": complaint["slack_ts"],
        "payload": {},
        "status": "done",
        "generation": complaint["revision"],
        "attempts": 1,
        "due_at": complaint["received_at"],
        "maybe_sent": False,
        "attempted_at": complaint["received_at"],
        "created_at": complaint["received_at"],
        "delivered_at": delivered,
    }


def prepare_schema(url: str) -> Database:
    """A freshly migrated database. PostgreSQL's public schema is WIPED, whatever an earlier run left there."""
    from sqlalchemy import text

    from storage.db import Database, migrate

    database = Database(url)
    if not database.is_sqlite:
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate(database)
    return database


def finish_seeding(database: Database) -> None:
    """After bulk inserts with explicit ids: move PostgreSQL's sequence past them and gather statistics."""
    from sqlalchemy import text

    if database.is_sqlite:
        return
    with database.engine.begin() as connection:
        # Explicit ids do not advance the sequence; Heard's own inserts must not collide with them.
        connection.execute(text("SELECT setval(pg_get_serial_sequence('complaints', 'id'), max(id)) FROM complaints"))
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # As autovacuum would soon after such a load; without statistics the planner guesses.
        connection.execute(text("ANALYZE"))


def server_version(database: Database) -> str:
    from sqlalchemy import text

    if database.is_sqlite:
        return f"SQLite {sqlite3.sqlite_version}"
    with database.engine.connect() as connection:
        return str(connection.scalar(text("SELECT version()"))).split(" on ")[0]


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def log_summary(lines: Sequence[str]) -> list[tuple[str, int]]:
    """Log lines grouped by level, logger and message with the numbers blanked out, most frequent first."""
    counts: dict[str, int] = {}
    for line in lines:
        if not line.strip() or line.startswith((" ", "\t", "Traceback")):
            continue
        match = LOG_LINE.match(line)
        key = re.sub(r"\d+", "#", match.group(1) if match else line.strip())
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda item: -item[1])


def heard_version() -> str:
    """The commit being measured, and whether Heard's code (not the benchmarks) differs from it."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{ROOT} (not a git checkout)"
    return commit[:90] + (" + uncommitted changes" if dirty else "")
