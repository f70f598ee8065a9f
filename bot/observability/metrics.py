"""Heard's Prometheus metrics, one registry per running copy (`Heard`), served at `/metrics` by handlers/web.py.

Counters and histograms count what this process did, and each copy of Heard counts its own (Prometheus sums them:
`sum(rate(...))`). What is counted inside a unit of work (a complaint filed, acknowledged, breached; a nag queued)
is counted only once the unit of work commits: a rolled-back transaction, retried, is not counted twice. The
gauges read from the database (`database_gauges.py`) are global: every copy reports the same values.

Labels name only things from Heard's own code or a network's status codes (source slugs, methods, HTTP statuses,
Slack's error codes): never a person, a text or a token.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from bot.observability.database_gauges import DatabaseGauges
from storage.db import Database
from storage.models import Complaint

# Counts waiting in a session until its transaction commits.
_PENDING = "heard_metrics_pending"
# A signed webhook sender may name any number of sources; past this many in one process the rest count as "other".
MAX_SOURCES = 50
OTHER = "other"
# Slack's error codes are snake_case words; anything else (or a very long one) is not worth a label of its own.
_ERROR_CODE = re.compile(r"^[a-z0-9_]{1,48}$")
# Multiples of ACK_WINDOW: the bucket at 1 counts those acknowledged within the window.
_ACK_BUCKET_SHARES = (1 / 60, 1 / 12, 1 / 6, 1 / 4, 1 / 2, 3 / 4, 1, 1.5, 2, 4, 8, 24)
NAG_LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900)


class HeardMetrics:
    def __init__(self, ack_window: timedelta = timedelta(hours=1)) -> None:
        self.registry = CollectorRegistry()
        self._sources: set[str] = set()
        self._lock = threading.Lock()
        window = ack_window.total_seconds()
        self.received = Counter(
            "heard_complaints_received",
            "Complaints filed by this process (not repeats or later posts joining one), by source.",
            ["source"],
            registry=self.registry,
        )
        self.acknowledged = Counter(
            "heard_complaints_acknowledged",
            "Complaints acknowledged (or resolved unacknowledged) through this process, by source.",
            ["source"],
            registry=self.registry,
        )
        self.breached = Counter(
            "heard_complaints_breached",
            "Deadlines passed, counted by the process whose SLA sweep sent the breach alert, by source and clock "
            "(acknowledge, resolve).",
            ["source", "clock"],
            registry=self.registry,
        )
        self.time_to_acknowledge = Histogram(
            "heard_time_to_acknowledge_seconds",
            f"From the customer's post to its acknowledgement (wall-clock seconds); the bucket le={window:g} is "
            "ACK_WINDOW.",
            buckets=sorted({round(window * share, 3) for share in _ACK_BUCKET_SHARES}),
            registry=self.registry,
        )
        self.nag_lateness = Histogram(
            "heard_nag_lateness_seconds",
            "How long after its moment the SLA sweep queued a nag (the scheduler's precision; delivery lag is "
            "heard_outbox_oldest_waiting_seconds).",
            buckets=NAG_LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "heard_slack_api_errors",
            "Slack calls that failed, by method, HTTP status (no_answer: timeout or connection error) and Slack's "
            "error code.",
            ["method", "status", "error"],
            registry=self.registry,
        )
        self.platform_errors = Counter(
            "heard_platform_api_errors",
            "Calls to a network's API that failed (x, facebook, instagram), by HTTP status (timeout, connection "
            "when there was no answer).",
            ["platform", "status"],
            registry=self.registry,
        )

    # -- counted when the unit of work commits ---------------------------------------------------------------------

    def watch(self, sessions: sessionmaker[Session]) -> None:
        """Count what units of work of these sessions commit: acknowledgements are seen at flush (whichever use case
        made them), everything queued by `on_commit` runs after COMMIT and is dropped on rollback."""
        event.listen(sessions, "after_flush", self._note_acknowledgements)
        event.listen(sessions, "after_commit", self._count_committed)
        event.listen(sessions, "after_rollback", self._forget)

    def observe(self, database: Database, outbox_kinds: Iterable[str] = ()) -> None:
        """Count what `database`'s units of work commit, and read its gauges at each scrape (every one of
        `outbox_kinds` reported, 0 while none waits)."""
        self.watch(database.sessions)
        self.registry.register(DatabaseGauges(database, outbox_kinds))

    def on_commit(self, session: Session, count: Callable[[], None]) -> None:
        session.info.setdefault(_PENDING, []).append(count)

    def complaint_breached(self, session: Session, complaint: Complaint, clock: str) -> None:
        source = self._source(complaint.source)
        self.on_commit(session, lambda: self.breached.labels(source, clock).inc())

    def nag_queued(self, session: Session, late: timedelta) -> None:
        seconds = max(0.0, late.total_seconds())
        self.on_commit(session, lambda: self.nag_lateness.observe(seconds))

    def complaint_received(self, source: str) -> None:
        """Called after the intake's commit (its complaints are inserted with Core, which no flush event sees)."""
        self.received.labels(self._source(source)).inc()

    def _note_acknowledgements(self, session: Session, _flush_context: Any) -> None:
        for instance in session.dirty:
            if not isinstance(instance, Complaint):
                continue
            history = inspect(instance).attrs.acknowledged_at.history
            if not history.added or history.added[0] is None or any(value is not None for value in history.deleted):
                continue
            self.complaint_acknowledged(session, instance, history.added[0])

    def complaint_acknowledged(self, session: Session, complaint: Complaint, at: datetime) -> None:
        """Counted at commit. Seen at flush for ORM changes; a change written with Core statements
        (storage/complaint_rows.py), which no flush sees, says so itself."""
        source = self._source(complaint.source)
        waited = _seconds_between(complaint.posted_at, at)
        self.on_commit(session, lambda: self._acknowledge(source, waited))

    def _acknowledge(self, source: str, waited: float | None) -> None:
        self.acknowledged.labels(source).inc()
        if waited is not None:
            self.time_to_acknowledge.observe(waited)

    @staticmethod
    def _count_committed(session: Session) -> None:
        for count in session.info.pop(_PENDING, []):
            count()

    @staticmethod
    def _forget(session: Session) -> None:
        session.info.pop(_PENDING, None)

    def _source(self, source: str | None) -> str:
        name = source or "unknown"
        with self._lock:
            if name in self._sources:
                return name
            if len(self._sources) >= MAX_SOURCES:
                return OTHER
            self._sources.add(name)
            return name

    # -- failed calls to Slack and the networks ----------------------------------------------------------------------

    def slack_failed(self, method: str, status: int | None, error: str | None = None) -> None:
        """`status` None: Slack did not answer (timeout, connection); `error` is Slack's `error` field, if any (the
        SDK fills it with a sentence for an answer that is not Slack's JSON, such as a proxy's 502 page: no label)."""
        code = error if error and _ERROR_CODE.match(error) else ""
        self.slack_errors.labels(method, str(status) if status else "no_answer", code).inc()

    def platform_failed(self, platform: str, status: str) -> None:
        self.platform_errors.labels(platform, status).inc()


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())
