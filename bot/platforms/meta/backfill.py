"""Backfill: read recent comments from the Graph API, for the time webhooks were not delivered (downtime, webhooks
not set up yet), so nothing is lost. One copy of Heard polls at a time (a lease); each network keeps its place in
`x_feeds` (the feeds table all pollers share) as the moment of its last complete read, and reads again from a
minute before it. Filing is idempotent by comment id, so a comment the webhook already brought is not doubled.

Failures are said once in the channel: a refused token (what to do; tried again at once when a new token is set),
a gap in the data when Meta has not answered for a while, and when it answers again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot import projections
from bot.blocks.when import clock
from bot.config import MetaSettings
from bot.delivery import utcnow
from bot.i18n import _
from bot.platforms.base import Intake
from bot.platforms.meta.adapters import FacebookPlatform, MetaPlatform
from bot.platforms.meta.comments import from_graph, graph_time
from bot.platforms.meta.graph import GraphError
from storage.models import Lease, XFeed

log = logging.getLogger("heard.meta.backfill")

LEASE = "meta-backfill"
OVERLAP = timedelta(minutes=1)
RECENT_POSTS = 25
PAGE_SIZE = 100
GAP_AFTER = timedelta(minutes=15)
TOKEN_RETRY = timedelta(hours=1)
FACEBOOK_FIELDS = "id,message,from,created_time,parent{id},permalink_url"
INSTAGRAM_FIELDS = "id,text,timestamp,username,from,parent_id"


class MetaBackfill:
    name = "meta-backfill"

    def __init__(self, settings: MetaSettings, platforms: Sequence[MetaPlatform], intake: Intake) -> None:
        self.settings = settings
        self.platforms = list(platforms)
        self.intake = intake
        self.fingerprint = hashlib.sha256(settings.page_token.encode()).hexdigest()[:16]
        self._polling = threading.Lock()
        self._finished = threading.Condition()
        self.polls_done = 0

    @property
    def interval(self) -> timedelta:
        return self.settings.poll_interval

    def poll(self) -> None:
        with self._polling:
            try:
                if self._hold_lease():
                    for platform in self.platforms:
                        try:
                            self._read(platform)
                        except Exception:
                            log.exception("%s backfill: unexpected error; the next poll tries again", platform.label)
            finally:
                with self._finished:
                    self.polls_done += 1
                    self._finished.notify_all()

    def wait_for_polls(self, count: int, timeout: float = 10.0) -> bool:
        with self._finished:
            return self._finished.wait_for(lambda: self.polls_done >= count, timeout)

    def release(self) -> None:
        with self.intake.database.unit_of_work() as session:
            lease = session.get(Lease, LEASE, with_for_update=True)
            if lease is not None and lease.owner == self.intake.owner:
                lease.until = utcnow()

    # -- one network -----------------------------------------------------------------------------------------------

    def _read(self, platform: MetaPlatform) -> None:
        feed = f"{platform.key}:comments"
        now = utcnow()
        state = self._state(feed)
        new_token = bool(state.stopped_reason) and state.stopped_token != self.fingerprint
        if not new_token and state.next_attempt_at is not None and now < state.next_attempt_at:
            return
        since = _parse(state.since_id) - OVERLAP if state.since_id else now - self.settings.first_lookback
        try:
            filed = self._read_since(platform, since)
        except GraphError as error:
            self._failed(platform, feed, error, now)
            return
        self._succeeded(platform, feed, now, filed)

    def _read_since(self, platform: MetaPlatform, since: datetime) -> int:
        filed = 0
        for parent_id in self._recent_parents(platform, since):
            for page in self._comment_pages(platform, parent_id, since):
                posts = [
                    complaint
                    for comment in page
                    if (complaint := from_graph(platform.key, comment, parent_id, platform.account_id)) is not None
                    and complaint.posted_at is not None
                    and complaint.posted_at >= since
                ]
                if posts:
                    self.intake.file(posts)  # committed page by page: a failure later keeps what was read
                    filed += len(posts)
        if filed:
            self.intake.wake_delivery()
        return filed

    def _recent_parents(self, platform: MetaPlatform, since: datetime) -> list[str]:
        """The Page's recent posts (or the account's media) that may have new comments."""
        if isinstance(platform, FacebookPlatform):
            body = platform.graph.get(
                f"{platform.account_id}/posts", {"fields": "id,updated_time,created_time", "limit": RECENT_POSTS}
            )
            stamp = "updated_time"
        else:
            body = platform.graph.get(
                f"{platform.account_id}/media", {"fields": "id,timestamp,comments_count", "limit": RECENT_POSTS}
            )
            stamp = "timestamp"
        parents = []
        for item in body.get("data") or []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            moment = graph_time(item.get(stamp))
            # Instagram media carry their own creation time only, so every recent one is read.
            if stamp == "timestamp" or moment is None or moment >= since:
                parents.append(str(item["id"]))
        return parents

    def _comment_pages(self, platform: MetaPlatform, parent_id: str, since: datetime) -> Iterator[list[dict[str, Any]]]:
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if isinstance(platform, FacebookPlatform):
            params.update(
                {
                    "fields": FACEBOOK_FIELDS,
                    "filter": "stream",
                    "order": "reverse_chronological",
                    "since": int(since.timestamp()),
                }
            )
        else:
            params["fields"] = INSTAGRAM_FIELDS
        while True:
            body = platform.graph.get(f"{parent_id}/comments", params)
            yield [item for item in body.get("data") or [] if isinstance(item, dict)]
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return
            params = {**params, "after": after}

    # -- health ----------------------------------------------------------------------------------------------------

    def _failed(self, platform: MetaPlatform, feed: str, error: GraphError, now: datetime) -> None:
        words = str(error)
        with self.intake.database.unit_of_work() as session:
            state = session.get(XFeed, feed, with_for_update=True)
            assert state is not None
            state.failing_since = state.failing_since or now
            state.failures += 1
            state.last_error = words[:300]
            if error.kind == "token":
                first_time = state.stopped_token != self.fingerprint
                state.stopped_reason, state.stopped_token = words[:300], self.fingerprint
                state.next_attempt_at = now + TOKEN_RETRY
                if first_time:
                    projections.tell_channel(
                        session,
                        f"meta-stopped:{feed}:{self.fingerprint}",
                        ":no_entry: "
                        + _(
                            "%(network)s has stopped: %(reason)s. Heard tries again every hour, and at once after a "
                            "restart with a new token. Webhook deliveries keep arriving meanwhile.",
                            network=platform.label,
                            reason=words,
                        ),
                        now,
                    )
                    log.error("%s backfill stopped: %s", platform.label, words)
                return
            backoff = timedelta(seconds=error.retry_after or 60) if error.kind == "rate_limit" else timedelta(minutes=1)
            state.next_attempt_at = now + min(backoff * max(1, state.failures), timedelta(minutes=15))
            if not state.gap_reported and now - state.failing_since >= GAP_AFTER:
                state.gap_reported = True
                projections.tell_channel(
                    session,
                    f"meta-gap:{feed}:{state.failing_since.isoformat()}",
                    ":warning: "
                    + _(
                        "No %(network)s backfill since %(time)s: %(reason)s. Webhook deliveries still arrive; Heard "
                        "reads the missing window as soon as Meta answers.",
                        network=platform.label,
                        time=clock(state.failing_since, now, self.intake.timezone),
                        reason=words,
                    ),
                    now,
                )
        log.warning("%s backfill: %s", platform.label, words)

    def _succeeded(self, platform: MetaPlatform, feed: str, now: datetime, filed: int) -> None:
        with self.intake.database.unit_of_work() as session:
            state = session.get(XFeed, feed, with_for_update=True)
            assert state is not None
            if state.gap_reported and state.failing_since is not None:
                projections.tell_channel(
                    session,
                    f"meta-back:{feed}:{state.failing_since.isoformat()}",
                    ":white_check_mark: "
                    + _("%(network)s answers again; Heard has read the comments it missed.", network=platform.label),
                    now,
                )
            state.since_id = now.isoformat()
            state.last_success_at = now
            state.failing_since = state.next_attempt_at = state.stopped_reason = state.last_error = None
            state.failures = 0
            state.gap_reported = False
        if filed:
            log.info("%s backfill: %d comment(s) filed", platform.label, filed)

    def _state(self, feed: str) -> XFeed:
        with self.intake.database.unit_of_work() as session:
            state = session.get(XFeed, feed)
            if state is None:
                state = XFeed(name=feed, target="", reads=0, failures=0, gap_reported=False)
                session.add(state)
                session.flush()
            session.expunge(state)
            return state

    def _hold_lease(self) -> bool:
        now = utcnow()
        until = now + max(3 * self.settings.poll_interval, timedelta(seconds=30))
        try:
            with self.intake.database.unit_of_work() as session:
                lease = session.get(Lease, LEASE, with_for_update=True)
                if lease is None:
                    session.add(Lease(name=LEASE, owner=self.intake.owner, until=until))
                    return True
                if lease.owner != self.intake.owner and lease.until > now:
                    return False
                lease.owner, lease.until = self.intake.owner, until
                return True
        except IntegrityError:
            return False


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
