"""What the benchmarks share: a clean schema, seeding hygiene, percentiles, how a run describes itself, Heard's log
in memory, and a load generator in a process of its own.

Heard's and SQLAlchemy's modules are imported inside the functions that need them, so a benchmark's child process
that measures something else (APScheduler alone) does not pay for them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import platform
import re
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


def print_header(*details: str, heard_env: Sequence[str] = ()) -> None:
    """How a run describes itself: the command, the machine and its load, the commit measured, then the
    benchmark's own lines (each already labelled) and the --heard-env settings, if any."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"command   {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"machine   {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}, "
        f"load average {load}"
    )
    print(f"heard     {heard_version()}")
    for line in details:
        print(line)
    if heard_env:
        print(f"settings  {' '.join(heard_env)} (besides the test environment)")


def heard_overrides(heard_env: Sequence[str]) -> dict[str, str]:
    """--heard-env NAME=VALUE settings as a dict (the benchmarks' parse_args have checked the form)."""
    return dict(setting.split("=", 1) for setting in heard_env)


class LogLines(logging.Handler):
    """Heard's log in memory, formatted as app.py formats it (Heard pays for logging as it would in production)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def captured_log(level: str) -> Iterator[LogLines]:
    """The root logger at `level` (Heard's LOG_LEVEL) into a `LogLines` while the block runs."""
    root = logging.getLogger()
    handler = LogLines()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


class SenderProcess:
    """A load generator in a child process, so its threads do not take the GIL from Heard: started and ready (its
    imports done) before the measurement, released by `go()`. `target(*args, ready, go, results)` runs there: it
    sets `ready`, waits for `go`, sends, and puts one dict on `results`."""

    def __init__(self, target: Callable[..., None], args: Sequence[Any], *, name: str, label: str) -> None:
        self.label = label  # "the {label} process did not start", "the {label} gave no results"
        context = multiprocessing.get_context("spawn")  # no fork of a process full of threads
        self._ready = context.Event()
        self._go = context.Event()
        self._results: Any = context.Queue()
        self.process = context.Process(
            target=target, args=(*args, self._ready, self._go, self._results), name=name, daemon=True
        )
        self.process.start()
        if not self._ready.wait(120):
            self.stop()
            raise RuntimeError(f"the {label} process did not start")

    def go(self) -> None:
        self._go.set()

    def results(self, timeout: float) -> dict[str, Any]:
        try:
            found: dict[str, Any] = self._results.get(timeout=timeout)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"the {self.label} gave no results within {timeout:.0f} s") from exc
        self.process.join(10)
        return found

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
