"""Polling X: one copy of Heard at a time (a lease in the database), each feed resuming where it stopped.

Per feed, `x_feeds` keeps the newest post id read (`since_id`: a restart neither re-reads, which X bills, nor
skips), the page token of a paged read in progress, the day's read count (for `X_MAX_READS_PER_DAY`) and the
feed's health. Failures never crash Heard or loop: a refused token stops the feed (retried hourly, or at once with a
new token), 429 waits for X's reset, 5xx and timeouts back off, and the channel hears about a gap in the data
once when it passes `X_GAP_ALERT` and once when data flows again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
import tweepy
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot import projections
from bot.blocks.when import clock, number, span
from bot.config import XSettings
from bot.delivery import utcnow
from bot.i18n import _
from bot.platforms.base import NewComplaint
from bot.platforms.x.client import (
    EXPANSIONS,
    FEED_LABELS,
    MENTIONS,
    PAGE_PARAMETER,
    PAGE_SIZE,
    SEARCH,
    SMALLEST_PAGE,
    TWEET_FIELDS,
    USER_FIELDS,
    Page,
    describe_failure,
    read_page,
    reset_time,
    search_query,
    to_complaint,
    token_fingerprint,
)
from storage.db import Database
from storage.models import Lease, XFeed

log = logging.getLogger("heard.x")

LEASE = "x-poller"
STOPPED_RETRY = timedelta(hours=1)
MAX_BACKOFF = timedelta(minutes=15)
# Re-reading a minute around the last poll costs a few billed reads but never misses a late-indexed post.
OVERLAP = timedelta(minutes=1)

Ingest = Callable[[Sequence[NewComplaint]], object]
# `clock` decides what is due (tests move it); messages to the channel are always due at once, so they are
# enqueued at the real time.


@dataclass(frozen=True)
class Feed:
    name: str
    target: str  # the brand's user id, or the full search query


class FeedStopped(Exception):
    """X refused this feed in a way retrying will not fix (bad token, no access, invalid query)."""


class XPoller:
    name = "x-poll"

    def __init__(
        self,
        settings: XSettings,
        database: Database,
        ingest: Ingest,
        wake_delivery: Callable[[], None],
        owner: str,
        timezone: ZoneInfo,
        client: tweepy.Client,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.database = database
        self.ingest = ingest
        self.wake_delivery = wake_delivery
        self.owner = owner
        self.timezone = timezone
        self.client = client
        self.clock = clock
        self.fingerprint = token_fingerprint(settings.bearer_token)
        self._brand_id = settings.user_id
        # One poll at a time in this process; finished polls are counted so a caller can wait for one.
        self._polling = threading.Lock()
        self._finished = threading.Condition()
        self.polls_done = 0

    @property
    def interval(self) -> timedelta:
        return self.settings.poll_interval

    def release(self) -> None:
        self.release_lease()

    # -- the scheduled job -----------------------------------------------------------------------------------------

    def poll(self) -> None:
        """Read every feed once, if this copy holds the lease. Called every X_POLL_INTERVAL."""
        with self._polling:
            try:
                if self.hold_lease():
                    for name in self._feed_names():
                        try:
                            self._poll_feed(name)
                        except Exception:
                            log.exception("X %s feed: unexpected error; the next poll tries again", name)
                    self.wake_delivery()
            finally:
                with self._finished:
                    self.polls_done += 1
                    self._finished.notify_all()

    def wait_for_polls(self, count: int, timeout: float = 10.0) -> bool:
        """Until `count` polls have finished in this process (start-up runs the first)."""
        with self._finished:
            return self._finished.wait_for(lambda: self.polls_done >= count, timeout)

    def _feed_names(self) -> list[str]:
        names = [MENTIONS] if self.settings.watches_mentions else []
        return [*names, SEARCH] if self.settings.query else names

    # -- the lease -------------------------------------------------------------------------------------------------

    def hold_lease(self) -> bool:
        now = self.clock()
        until = now + max(3 * self.settings.poll_interval, timedelta(seconds=30))
        try:
            with self.database.unit_of_work() as session:
                lease = session.get(Lease, LEASE, with_for_update=True)
                if lease is None:
                    session.add(Lease(name=LEASE, owner=self.owner, until=until))
                    return True
                if lease.owner != self.owner and lease.until > now:
                    return False
                lease.owner, lease.until = self.owner, until
                return True
        except IntegrityError:
            return False  # another copy created the lease at the same moment

    def release_lease(self) -> None:
        """On shutdown, so another copy takes over at its next poll instead of after the lease runs out."""
        with self.database.unit_of_work() as session:
            lease = session.get(Lease, LEASE, with_for_update=True)
            if lease is not None and lease.owner == self.owner:
                lease.until = self.clock()

    # -- one feed --------------------------------------------------------------------------------------------------

    def _poll_feed(self, name: str) -> None:
        now = self.clock()
        state = self._state(name)
        new_token = bool(state.stopped_reason) and state.stopped_token != self.fingerprint
        if new_token:
            log.info("X %s feed: a new token is set; trying again", name)
        elif state.next_attempt_at is not None and now < state.next_attempt_at:
            self._maybe_report_gap(name, now)
            return
        try:
            feed = Feed(name, self._target(name))
            self._read(feed, now)
        except FeedStopped as stopped:
            self._stop(name, str(stopped), now)
        except tweepy.TooManyRequests as limited:
            until = reset_time(limited.reset_time) or now + self.settings.poll_interval
            self._failed(name, describe_failure(limited, self.settings.timeout), now, retry_at=until)
        except (tweepy.Unauthorized, tweepy.Forbidden) as refused:
            self._stop(name, describe_failure(refused, self.settings.timeout), now)
        except (tweepy.TwitterServerError, tweepy.HTTPException, requests.RequestException, ValueError) as error:
            self._failed(name, describe_failure(error, self.settings.timeout), now, retry_at=None)
        else:
            self._succeeded(name, now)

    def _target(self, name: str) -> str:
        if name == SEARCH:
            return search_query(str(self.settings.query), self.settings.handle)
        if self._brand_id is None:
            self._brand_id = self._resolve_brand()
        return self._brand_id

    def _resolve_brand(self) -> str:
        """X_HANDLE -> the account's id, once per process (X_USER_ID saves even that call)."""
        try:
            response = self.client.get_user(username=self.settings.handle)
        except tweepy.NotFound as missing:
            raise FeedStopped(f"X has no account @{self.settings.handle}: check X_HANDLE") from missing
        page = read_page(response)
        user = page.raw.get("data") or {}
        if "id" not in user:
            raise FeedStopped(f"X has no account @{self.settings.handle}: check X_HANDLE")
        log.info("X mentions feed: @%s is user %s", self.settings.handle, user["id"])
        return str(user["id"])

    def _read(self, feed: Feed, now: datetime) -> None:
        """Read pages until X has no more, committing each page's complaints before moving the feed on."""
        state = self._state(feed.name)
        if state.target != feed.target:
            self._restart(feed, now)
            state = self._state(feed.name)
        while True:
            budget = self._budget(now)
            if budget is not None and budget < SMALLEST_PAGE[feed.name]:
                self._cap_reached(now)
                return
            page = read_page(self._fetch(feed, state, now, budget))
            posts = [
                complaint
                # X lists newest first; filing oldest first lets a conversation's opening post open the complaint.
                for post in reversed(page.posts)
                if (complaint := to_complaint(post, page.users, self._brand_id, self.settings.handle)) is not None
            ]
            self.ingest(posts)
            state = self._advance(feed.name, page, now)
            if page.remaining == 0 and page.reset_at is not None:
                self._pause_until(feed.name, page.reset_at)
                return
            if state.page_token is None:
                return

    def _fetch(self, feed: Feed, state: XFeed, now: datetime, budget: int | None) -> requests.Response:
        params: dict[str, object] = {
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "max_results": min(PAGE_SIZE, budget) if budget is not None else PAGE_SIZE,
        }
        if state.since_id:
            params["since_id"] = state.since_id
        else:
            start = state.last_success_at - OVERLAP if state.last_success_at else now - self.settings.first_lookback
            params["start_time"] = start
        if state.page_token:
            params[PAGE_PARAMETER[feed.name]] = state.page_token
        try:
            if feed.name == MENTIONS:
                return self.client.get_users_mentions(feed.target, **params)
            return self.client.search_recent_tweets(feed.target, **params)
        except tweepy.BadRequest as bad:
            if state.page_token:
                # Page tokens expire; the read starts again from since_id rather than stopping the feed.
                self._forget_page(feed.name)
                raise
            raise FeedStopped(describe_failure(bad, self.settings.timeout)) from bad

    # -- state -----------------------------------------------------------------------------------------------------

    def _state(self, name: str) -> XFeed:
        with self.database.unit_of_work() as session:
            state = session.get(XFeed, name)
            if state is None:
                state = XFeed(name=name, target="", reads=0, failures=0, gap_reported=False)
                session.add(state)
            return state

    def _restart(self, feed: Feed, now: datetime) -> None:
        """A new query or account: its history starts at X_FIRST_LOOKBACK, not at the old feed's position."""
        with self.database.unit_of_work() as session:
            state = session.get(XFeed, feed.name, with_for_update=True)
            assert state is not None
            if state.target:
                log.info("X %s feed: now reading %r", feed.name, feed.target)
            state.target = feed.target
            state.since_id = state.page_token = state.page_newest_id = None
            state.last_success_at = None

    def _advance(self, name: str, page: Page, now: datetime) -> XFeed:
        with self.database.unit_of_work() as session:
            state = session.get(XFeed, name, with_for_update=True)
            assert state is not None
            today = now.astimezone(self.timezone).date().isoformat()
            if state.reads_day != today:
                state.reads_day, state.reads = today, 0
            state.reads += page.result_count
            newest = state.page_newest_id or page.newest_id
            if page.next_token:
                state.page_token, state.page_newest_id = page.next_token, newest
            else:
                state.page_token = state.page_newest_id = None
                if newest and (state.since_id is None or int(newest) > int(state.since_id)):
                    state.since_id = newest
            return state

    def _forget_page(self, name: str) -> None:
        with self.database.unit_of_work() as session:
            state = session.get(XFeed, name, with_for_update=True)
            if state is not None:
                state.page_token = state.page_newest_id = None

    def _pause_until(self, name: str, moment: datetime) -> None:
        with self.database.unit_of_work() as session:
            state = session.get(XFeed, name, with_for_update=True)
            if state is not None:
                state.next_attempt_at = moment

    def _budget(self, now: datetime) -> int | None:
        """Reads left today across both feeds, or None without a cap."""
        cap = self.settings.max_reads_per_day
        if not cap:
            return None
        today = now.astimezone(self.timezone).date().isoformat()
        with self.database.unit_of_work() as session:
            used = sum(session.scalars(select(XFeed.reads).where(XFeed.reads_day == today)))
        return max(0, cap - used)

    # -- health and what the channel hears -------------------------------------------------------------------------

    def _succeeded(self, name: str, now: datetime) -> None:
        with self.database.unit_of_work() as session:
            state = session.get(XFeed, name, with_for_update=True)
            assert state is not None
            if state.gap_reported and state.failing_since is not None:
                back = _(
                    "X %(feed)s is back. No X data %(start)s–%(end)s: %(error)s. Posts from that window have been "
                    "read now.",
                    feed=_(FEED_LABELS[name]),
                    start=clock(state.failing_since, now, self.timezone),
                    end=clock(now, now, self.timezone),
                    error=state.last_error,
                )
                projections.tell_channel(
                    session, f"x-back:{name}:{state.failing_since.isoformat()}", f":white_check_mark: {back}", utcnow()
                )
                log.info("X %s feed: data again after a gap since %s", name, state.failing_since.isoformat())
            if state.stopped_reason:
                projections.tell_channel(
                    session,
                    f"x-works:{name}:{now.isoformat()}",
                    ":white_check_mark: "
                    + _("X %(feed)s works again; Heard is reading it.", feed=_(FEED_LABELS[name])),
                    utcnow(),
                )
                log.info("X %s feed: works again", name)
            state.last_success_at = now
            state.failing_since = state.next_attempt_at = None
            state.failures = 0
            state.last_error = state.stopped_reason = state.stopped_token = None
            state.gap_reported = False

    def _failed(self, name: str, reason: str, now: datetime, retry_at: datetime | None) -> None:
        with self.database.unit_of_work() as session:
            state = session.get(XFeed, name, with_for_update=True)
            assert state is not None
            state.failures += 1
            state.failing_since = state.failing_since or now
            state.last_error = reason[:300]
            if retry_at is None:
                backoff = min(self.settings.poll_interval * 2 ** (state.failures - 1), MAX_BACKOFF)
                retry_at = now + backoff
            state.next_attempt_at = retry_at
        log.warning("X %s feed: %s; next attempt at %s", name, reason, self._clock(retry_at))
        self._maybe_report_gap(name, now)

    def _maybe_report_gap(self, name: str, now: datetime) -> None:
        with self.database.unit_of_work() as session:
            state = session.get(XFeed, name, with_for_update=True)
            if state is None or state.failing_since is None or state.gap_reported or state.stopped_reason:
                return
            if now - state.failing_since < self.settings.gap_alert:
                return
            state.gap_reported = True
            projections.tell_channel(
                session,
                f"x-gap:{name}:{state.failing_since.isoformat()}",
                ":warning: "
                + _(
                    "No X data (%(feed)s) since %(time)s, %(duration)s so far: %(error)s. Heard keeps trying and "
                    "reads the missing window as soon as X answers.",
                    feed=_(FEED_LABELS[name]),
                    time=clock(state.failing_since, now, self.timezone),
                    duration=span(now - state.failing_since),
                    error=state.last_error,
                ),
                utcnow(),
            )

    def _stop(self, name: str, reason: str, now: datetime) -> None:
        with self.database.unit_of_work() as session:
            state = session.get(XFeed, name, with_for_update=True)
            assert state is not None
            first_time = state.stopped_token != self.fingerprint or state.stopped_reason != reason[:300]
            state.stopped_reason, state.stopped_token = reason[:300], self.fingerprint
            state.failing_since = state.failing_since or now
            state.last_error = reason[:300]
            state.next_attempt_at = now + STOPPED_RETRY
            if first_time:
                projections.tell_channel(
                    session,
                    f"x-stopped:{name}:{self.fingerprint}:{now.isoformat()}",
                    ":no_entry: "
                    + _(
                        "X %(feed)s has stopped: %(reason)s. Heard tries again every hour, and at once after a "
                        "restart with a new token.",
                        feed=_(FEED_LABELS[name]),
                        reason=reason,
                    ),
                    utcnow(),
                )
        if first_time:
            log.error("X %s feed stopped: %s", name, reason)

    def _cap_reached(self, now: datetime) -> None:
        today = now.astimezone(self.timezone).date().isoformat()
        cap = self.settings.max_reads_per_day
        with self.database.unit_of_work() as session:
            projections.tell_channel(
                session,
                f"x-cap:{today}",
                ":money_with_wings: "
                # Translators: X_MAX_READS_PER_DAY is a setting's name; the time zone is e.g. "Europe/Helsinki".
                + _(
                    "Heard has read %(count)s posts from X today, the cap set by X_MAX_READS_PER_DAY. It reads again "
                    "after midnight (%(time_zone)s) and catches up on what was posted meanwhile.",
                    count=number(cap),
                    time_zone=self.timezone.key,
                ),
                utcnow(),
            )
        log.warning("X: the daily read cap (%d) is reached; reading again tomorrow", cap)

    def _clock(self, moment: datetime) -> str:
        return moment.astimezone(self.timezone).strftime("%H:%M")
