"""Gauges read from the database when Prometheus scrapes: the outbox's depth and its oldest waiting message by kind,
and each poller's health (`x_feeds`: X's feeds and Meta's backfill). They are the database's view, the same from
every copy of Heard. One scrape runs two small queries at most every `CACHE_SECONDS`, so frequent or concurrent
scrapes cannot load the database."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.delivery import FAILED, PENDING, utcnow
from bot.delivery.outbox import SENDING
from bot.failure_log import FailureLog
from storage.db import Database
from storage.models import Delivery, XFeed

log = logging.getLogger("heard.observability")

CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class _Outbox:
    waiting: int = 0
    failed: int = 0
    oldest_queued_at: datetime | None = None


@dataclass(frozen=True)
class _Feed:
    name: str
    last_success_at: datetime | None
    up: bool


@dataclass
class _Reading:
    database_up: bool
    at: datetime
    outbox: dict[str, _Outbox] = field(default_factory=dict)
    feeds: list[_Feed] = field(default_factory=list)


class DatabaseGauges(Collector):
    def __init__(self, database: Database, kinds: Iterable[str] = ()) -> None:
        """`kinds`: the outbox kinds reported even while none of them waits (0), so each series is always there."""
        self.database = database
        self.kinds = frozenset(kinds)
        self._lock = threading.Lock()
        self._reading: _Reading | None = None
        self._read_at = 0.0
        self._failures = FailureLog(log)

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return list(self._families(_Reading(database_up=False, at=utcnow()), frozenset()))

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return list(self._families(self._current(), self.kinds))

    def _current(self) -> _Reading:
        with self._lock:  # concurrent scrapes wait for one reading rather than each running the queries
            if self._reading is None or time.monotonic() - self._read_at >= CACHE_SECONDS:
                self._reading = self._read()
                self._read_at = time.monotonic()
            return self._reading

    def _read(self) -> _Reading:
        now = utcnow()
        try:
            with self.database.unit_of_work() as session:
                rows = session.execute(
                    select(Delivery.kind, Delivery.status, func.count(), func.min(Delivery.queued_at))
                    .where(Delivery.status.in_((PENDING, SENDING, FAILED)))
                    .group_by(Delivery.kind, Delivery.status)
                ).all()
                feeds = session.execute(
                    select(XFeed.name, XFeed.last_success_at, XFeed.failing_since, XFeed.stopped_reason)
                ).all()
        except Exception as error:
            self._failures.report("metrics: the database could not be read", error)
            return _Reading(database_up=False, at=now)
        outbox: dict[str, _Outbox] = {}
        for kind, status, count, oldest in rows:
            known = outbox.get(kind, _Outbox())
            if status == FAILED:
                outbox[kind] = _Outbox(known.waiting, known.failed + count, known.oldest_queued_at)
            else:
                candidates = [moment for moment in (known.oldest_queued_at, oldest) if moment is not None]
                outbox[kind] = _Outbox(known.waiting + count, known.failed, min(candidates, default=None))
        return _Reading(
            database_up=True,
            at=now,
            outbox=outbox,
            feeds=[
                _Feed(name, last_success, up=failing_since is None and not stopped)
                for name, last_success, failing_since, stopped in feeds
            ],
        )

    @staticmethod
    def _families(reading: _Reading, kinds: frozenset[str]) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "heard_database_up", "1 when this copy could read the database at the last scrape (global gauges below)."
        )
        up.add_metric([], 1 if reading.database_up else 0)
        yield up
        depth = GaugeMetricFamily(
            "heard_outbox_depth",
            "Messages waiting to reach Slack (pending or being sent), by outbox kind; the same for every copy.",
            labels=["kind"],
        )
        oldest = GaugeMetricFamily(
            "heard_outbox_oldest_waiting_seconds",
            "Age of the oldest message waiting to reach Slack since it was queued, by kind (0: none waits); the "
            "same for every copy.",
            labels=["kind"],
        )
        failed = GaugeMetricFamily(
            "heard_outbox_failed",
            "Messages Slack refused for good (status failed), by kind; the same for every copy.",
            labels=["kind"],
        )
        every_kind = {kind: _Outbox() for kind in kinds} if reading.database_up else {}
        for kind, state in sorted({**every_kind, **reading.outbox}.items()):
            depth.add_metric([kind], state.waiting)
            waited = (reading.at - state.oldest_queued_at).total_seconds() if state.oldest_queued_at else 0.0
            oldest.add_metric([kind], max(0.0, waited))
            failed.add_metric([kind], state.failed)
        yield from (depth, oldest, failed)
        last_success = GaugeMetricFamily(
            "heard_poller_last_success_timestamp_seconds",
            "When the feed was last read successfully (Unix time) by whichever copy holds its lease.",
            labels=["feed"],
        )
        feed_up = GaugeMetricFamily(
            "heard_poller_up",
            "1 while the feed reads without failing, 0 while it fails or is stopped (global, from x_feeds).",
            labels=["feed"],
        )
        for feed in sorted(reading.feeds, key=lambda feed: feed.name):
            if feed.last_success_at is not None:
                last_success.add_metric([feed.name], feed.last_success_at.timestamp())
            feed_up.add_metric([feed.name], 1 if feed.up else 0)
        yield from (last_success, feed_up)
