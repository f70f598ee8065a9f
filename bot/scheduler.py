"""APScheduler only wakes Heard up; the work and its deadlines live in Heard's tables.

A periodic sweep catches anything due (including work another copy of Heard scheduled, and work that fell due
while Heard was down), and a one-shot wake-up is armed for the next known deadline so it fires on time rather than
at the next sweep. Each sweep claims its work with row locks and status changes, so several copies of Heard can
run their own schedulers against one database (APScheduler's job stores must never be shared).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("heard.scheduler")

SWEEP_EVERY = timedelta(seconds=10)
WAKE_JOB = "wake-up"
SWEEP_JOB = "sweep"

# A sweep does the due work and says when the next piece falls due (None: nothing known).
Sweep = Callable[[], datetime | None]


class Scheduler:
    def __init__(self, sweeps: list[Sweep], sweep_every: timedelta = SWEEP_EVERY) -> None:
        self._sweeps = sweeps
        self._sweep_every = sweep_every
        self._scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
        self._lock = threading.Lock()
        self._armed_for: datetime | None = None

    def every(self, name: str, interval: timedelta, job: Callable[[], None]) -> None:
        """A job of its own on a fixed interval (polling a source), first run at start-up. Call before start()."""

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("scheduled job %s failed; it runs again in %s", name, interval)

        self._scheduler.add_job(
            run,
            IntervalTrigger(seconds=interval.total_seconds()),
            id=name,
            next_run_time=datetime.now(UTC),
            # The first run is due when the job is added, before start(): a start-up slower than APScheduler's
            # default second of grace skipped it (and a poll late by seconds is still worth doing).
            misfire_grace_time=None,
        )

    def start(self) -> None:
        self._scheduler.add_job(
            self.sweep,
            IntervalTrigger(seconds=self._sweep_every.total_seconds()),
            id=SWEEP_JOB,
            next_run_time=datetime.now(UTC),  # start-up catches up with whatever fell due while Heard was down
            misfire_grace_time=None,
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def sweep(self) -> None:
        upcoming: list[datetime] = []
        for sweep in self._sweeps:
            try:
                due = sweep()
            except Exception:
                log.exception("a scheduled sweep failed; the next sweep retries")
                continue
            if due is not None:
                upcoming.append(due)
        if upcoming:
            # A wake-up armed meanwhile for an earlier moment (a new complaint) stays; wake_at keeps the earliest.
            self.wake_at(min(upcoming))

    def wake_at(self, moment: datetime) -> None:
        """Make sure a sweep runs at `moment` (earlier wake-ups win; a later one does not postpone them)."""
        with self._lock:
            if self._armed_for is not None and self._armed_for <= moment and self._armed_for > datetime.now(UTC):
                return
            self._armed_for = moment
        if not self._scheduler.running:
            return
        self._scheduler.add_job(
            self.sweep,
            DateTrigger(run_date=moment),
            id=WAKE_JOB,
            replace_existing=True,
            misfire_grace_time=None,
            # Re-armed from inside a running sweep: the next one may start before this one ends (safe: sweeps
            # claim work under row locks), rather than being dropped with a warning.
            max_instances=2,
        )
