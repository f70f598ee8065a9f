"""The one path for everything Heard sends to Slack: an outbox in the database and workers that drain it.

Use cases only *enqueue* (in their own unit of work, so nothing is promised that was not committed); workers
deliver, honouring Retry-After and pacing chat.postMessage per channel. A message whose first attempt may have
reached Slack (a timeout, a 5xx, a crash mid-call) is looked up by its metadata before it is posted again, so a
card appears exactly once even when Slack or Heard fails halfway.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.blocks import Message, ids
from storage.db import Database
from storage.models import Complaint, Delivery

log = logging.getLogger("heard.delivery")

CARD = "card"
EPHEMERAL = "ephemeral"

PENDING = "pending"
SENDING = "sending"
DONE = "done"
FAILED = "failed"
EXPIRED = "expired"

IDLE_POLL_SECONDS = 1.0
PURGE_INTERVAL_SECONDS = 600
FINISHED_MESSAGE_RETENTION = timedelta(days=1)
MAX_BACKOFF_SECONDS = 300
# response_urls live 30 minutes; an ephemeral answer later than this would confuse more than help.
EPHEMERAL_LIFETIME = timedelta(minutes=25)
# Slack errors that an admin can fix (invite the bot, fix the token): keep retrying so nothing is lost.
RETRYABLE_SLACK_ERRORS = {
    "not_in_channel",
    "channel_not_found",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


Waker = Callable[[], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------------------------
# Enqueueing: called by use cases inside their unit of work.


def refresh_card(session: Session, complaint: Complaint, now: datetime) -> None:
    """Ask for the complaint's card to be (re-)rendered and posted or updated from its current state."""
    key = f"{CARD}:{complaint.id}"
    bumped = session.execute(
        update(Delivery)
        .where(Delivery.key == key)
        .values(
            generation=Delivery.generation + 1,
            # A row being sent stays with its sender, who sees the new generation and sends again.
            status=case((Delivery.status == SENDING, SENDING), else_=PENDING),
            due_at=now,
        )
    ).rowcount
    if not bumped:
        session.add(
            Delivery(
                key=key,
                kind=CARD,
                complaint_id=complaint.id,
                payload={},
                status=PENDING,
                generation=1,
                attempts=0,
                due_at=now,
                maybe_sent=False,
                created_at=now,
            )
        )


def send_ephemeral(
    session: Session, *, response_url: str | None, channel: str, user: str, message: Message, now: datetime
) -> None:
    """A private answer to one person: through the click's response_url when there is one, else postEphemeral."""
    session.add(
        Delivery(
            key=f"{EPHEMERAL}:{uuid.uuid4().hex}",
            kind=EPHEMERAL,
            complaint_id=None,
            payload={
                "response_url": response_url,
                "channel": channel,
                "user": user,
                "text": message.text,
                "blocks": message.blocks,
            },
            status=PENDING,
            generation=1,
            attempts=0,
            due_at=now,
            expires_at=now + EPHEMERAL_LIFETIME,
            maybe_sent=False,
            created_at=now,
        )
    )


# ---------------------------------------------------------------------------------------------------------------
# Delivering.


def _retry_after(headers: Any) -> float:
    """Seconds from a Retry-After header, whatever its capitalisation; 1 s when Slack gave none."""
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value))
            except (TypeError, ValueError):
                break
    return 1.0


class RateGate:
    """Per-process pacing: Retry-After blocks a method (per channel where Slack limits per channel), and
    chat.postMessage is paced at about one per second per channel with a small burst, as Slack asks."""

    def __init__(self, post_rate_per_second: float = 1.0, burst: int = 3) -> None:
        self._lock = threading.Lock()
        self._blocked_until: dict[tuple[str, str], float] = {}
        self._tokens: dict[str, tuple[float, float]] = {}
        self._rate = post_rate_per_second
        self._burst = burst

    def wait_seconds(self, method: str, channel: str) -> float:
        """0 when a call may go now (and takes its token); else how long to wait before trying again."""
        now = time.monotonic()
        with self._lock:
            blocked = max(self._blocked_until.get((method, channel), 0.0), self._blocked_until.get((method, ""), 0.0))
            if blocked > now:
                return blocked - now
            if method != "chat.postMessage":
                return 0.0
            tokens, stamp = self._tokens.get(channel, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - stamp) * self._rate)
            if tokens < 1.0:
                self._tokens[channel] = (tokens, now)
                return (1.0 - tokens) / self._rate
            self._tokens[channel] = (tokens - 1.0, now)
            return 0.0

    def block(self, method: str, channel: str, seconds: float) -> None:
        with self._lock:
            key = (method, channel)
            self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), time.monotonic() + seconds)


@dataclass
class _Job:
    id: int
    kind: str
    generation: int
    attempts: int
    payload: dict[str, Any]
    complaint_id: int | None = None
    message: Message | None = None
    channel: str = ""
    slack_ts: str | None = None
    lookup_since: datetime | None = None


@dataclass
class _Result:
    delivered: bool
    retry_in: float = 0.0
    # Whether Slack may have acted although we did not hear it succeed (then look before re-posting).
    maybe_sent: bool = False
    error: str | None = None
    posted_ts: str | None = None
    forget_ts: bool = False
    permanent: bool = False


CardRenderer = Callable[[Complaint, datetime], Message]


@dataclass
class DeliveryWorker:
    database: Database
    client: WebClient
    render_card: CardRenderer
    channel: str
    threads: int = 4
    # Longer than any single Slack call can take (the client's timeout), so a live sender never loses its row.
    lease: timedelta = timedelta(seconds=30)
    gate: RateGate = field(default_factory=RateGate)
    worker_id: str = field(default_factory=lambda: f"heard-{uuid.uuid4().hex[:12]}")

    def __post_init__(self) -> None:
        self._signal = 0
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        for number in range(self.threads):
            thread = threading.Thread(target=self._run, args=(number == 0,), name=f"delivery-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        with self._condition:
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def wake(self) -> None:
        """Something was enqueued in this process: deliver it now rather than at the next poll."""
        with self._condition:
            self._signal += 1
            # One sleeper is enough: it keeps claiming until the outbox has nothing due, and waking every
            # thread would only make them queue for the same rows.
            self._condition.notify()

    # -- the loop ---------------------------------------------------------------------------------------------

    def _run(self, housekeeper: bool) -> None:
        next_purge = time.monotonic()
        while not self._stopping.is_set():
            if housekeeper and time.monotonic() >= next_purge:
                self._purge_finished_messages()
                next_purge = time.monotonic() + PURGE_INTERVAL_SECONDS
            seen = self._signal
            try:
                job = self._claim()
            except Exception:
                log.exception("could not read the outbox; retrying")
                self._stopping.wait(IDLE_POLL_SECONDS)
                continue
            if job is not None:
                self._deliver(job)
                continue
            timeout = self._seconds_until_next_due()
            with self._condition:
                if self._signal == seen and not self._stopping.is_set():
                    self._condition.wait(timeout)

    def _purge_finished_messages(self) -> None:
        """One-off messages (ephemeral answers) are worth nothing once sent or expired; cards keep their row."""
        cutoff = utcnow() - FINISHED_MESSAGE_RETENTION
        try:
            with self.database.unit_of_work() as session:
                session.execute(
                    delete(Delivery).where(
                        Delivery.kind == EPHEMERAL, Delivery.status.in_((DONE, EXPIRED)), Delivery.created_at < cutoff
                    )
                )
        except Exception:
            log.exception("could not purge finished deliveries")

    def _seconds_until_next_due(self) -> float:
        try:
            with self.database.unit_of_work() as session:
                due = session.scalar(select(func.min(Delivery.due_at)).where(Delivery.status == PENDING))
        except Exception:
            return IDLE_POLL_SECONDS
        if due is None:
            return IDLE_POLL_SECONDS
        return min(IDLE_POLL_SECONDS, max(0.01, (due - utcnow()).total_seconds()))

    def _claim(self) -> _Job | None:
        """Take the next due row (or one whose sender died) under a lease, and render what it must send."""
        now = utcnow()
        with self.database.unit_of_work() as session:
            candidates = session.scalars(
                select(Delivery)
                .where(
                    or_(
                        and_(Delivery.status == PENDING, Delivery.due_at <= now),
                        and_(Delivery.status == SENDING, Delivery.lease_until < now),
                    )
                )
                .order_by(Delivery.due_at)
                .limit(8)
                .with_for_update(skip_locked=True)
            ).all()
            for row in candidates:
                job = self._prepare(session, row, now)
                if job is not None:
                    return job
        return None

    def _prepare(self, session: Session, row: Delivery, now: datetime) -> _Job | None:
        if row.expires_at is not None and row.expires_at < now:
            row.status = EXPIRED
            row.lease_owner = None
            log.info("dropped expired %s delivery %s", row.kind, row.key)
            return None
        job = _Job(
            id=row.id,
            kind=row.kind,
            generation=row.generation,
            attempts=row.attempts + 1,
            payload=dict(row.payload),
        )
        method, channel = self._method_for(session, row, job, now)
        if method is None:
            row.status = DONE
            return None
        wait = self.gate.wait_seconds(method, channel)
        if wait > 0:
            row.due_at = now + timedelta(seconds=wait)
            return None
        if method == "chat.postMessage":
            job.lookup_since = row.attempted_at if row.maybe_sent else None
            if not row.maybe_sent:
                row.attempted_at = now
            row.maybe_sent = True  # committed before the call: a crash mid-call leaves the doubt on record
        row.status = SENDING
        row.lease_owner = self.worker_id
        row.lease_until = now + self.lease
        row.attempts = job.attempts
        return job

    def _method_for(self, session: Session, row: Delivery, job: _Job, now: datetime) -> tuple[str | None, str]:
        if row.kind == EPHEMERAL:
            channel = str(row.payload.get("channel", ""))
            return ("response_url" if row.payload.get("response_url") else "chat.postEphemeral"), channel
        complaint = session.get(Complaint, row.complaint_id)
        if complaint is None:
            return None, ""
        job.complaint_id = complaint.id
        job.message = self.render_card(complaint, now)
        job.channel = complaint.slack_channel or self.channel
        job.slack_ts = complaint.slack_ts
        return ("chat.update" if complaint.slack_ts else "chat.postMessage"), job.channel

    def _deliver(self, job: _Job) -> None:
        try:
            result = self._send(job)
        except Exception as exc:  # a bug or an unexpected library error must not kill the worker thread
            log.exception("delivery %s failed unexpectedly", job.id)
            result = _Result(delivered=False, retry_in=self._backoff(job), maybe_sent=True, error=repr(exc)[:300])
        try:
            self._finish(job, result)
        except Exception:
            # The lease expires and another attempt follows; maybe_sent makes that attempt look before posting.
            log.exception("could not record the outcome of delivery %s", job.id)

    # -- talking to Slack -------------------------------------------------------------------------------------

    def _send(self, job: _Job) -> _Result:
        if job.kind == EPHEMERAL:
            return self._send_ephemeral(job)
        assert job.message is not None
        try:
            if job.slack_ts:
                self.client.chat_update(
                    channel=job.channel, ts=job.slack_ts, text=job.message.text, blocks=job.message.blocks
                )
                return _Result(delivered=True)
            if job.lookup_since is not None:
                found = self._find_posted_card(job)
                if found:
                    log.info(
                        "card for complaint %s was already posted (ts %s); not posting again",
                        job.complaint_id,
                        found,
                    )
                    return _Result(delivered=True, posted_ts=found)
            response = self.client.chat_postMessage(
                channel=job.channel,
                text=job.message.text,
                blocks=job.message.blocks,
                metadata={
                    "event_type": ids.CARD_METADATA_EVENT,
                    "event_payload": {"complaint_id": job.complaint_id},
                },
                unfurl_links=False,
                unfurl_media=False,
            )
            return _Result(delivered=True, posted_ts=str(response["ts"]))
        except SlackApiError as exc:
            return self._slack_failure(job, exc, "chat.update" if job.slack_ts else "chat.postMessage")
        except Exception as exc:  # timeouts and connection errors: Slack may or may not have acted
            log.warning("Slack did not answer delivery %s (%s); will retry", job.id, type(exc).__name__)
            return _Result(delivered=False, retry_in=self._backoff(job), maybe_sent=True, error=type(exc).__name__)

    def _find_posted_card(self, job: _Job) -> str | None:
        assert job.lookup_since is not None
        oldest = (job.lookup_since - timedelta(seconds=5)).timestamp()
        cursor = None
        for _ in range(10):
            page = self.client.conversations_history(
                channel=job.channel,
                oldest=f"{oldest:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in page.get("messages", []):
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == ids.CARD_METADATA_EVENT
                    and payload.get("complaint_id") == job.complaint_id
                ):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    def _send_ephemeral(self, job: _Job) -> _Result:
        payload = job.payload
        try:
            if payload.get("response_url"):
                response = WebhookClient(payload["response_url"], timeout=10).send(
                    text=payload["text"],
                    blocks=payload.get("blocks") or None,
                    response_type="ephemeral",
                    replace_original=False,
                )
                if response.status_code == 429:
                    return _Result(delivered=False, retry_in=_retry_after(response.headers), error="429")
                if response.status_code >= 500:
                    return _Result(delivered=False, retry_in=self._backoff(job), error=str(response.status_code))
                if response.status_code != 200:
                    # 404 means the response_url expired or was used up: fall back to chat.postEphemeral.
                    payload["response_url"] = None
                    return self._send_ephemeral(job)
                return _Result(delivered=True)
            self.client.chat_postEphemeral(
                channel=payload["channel"],
                user=payload["user"],
                text=payload["text"],
                blocks=payload.get("blocks") or None,
            )
            return _Result(delivered=True)
        except SlackApiError as exc:
            return self._slack_failure(job, exc, "chat.postEphemeral")
        except Exception as exc:
            return _Result(delivered=False, retry_in=self._backoff(job), error=type(exc).__name__)

    def _slack_failure(self, job: _Job, exc: SlackApiError, method: str) -> _Result:
        status = exc.response.status_code
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        if status == 429:
            retry_after = _retry_after(exc.response.headers)
            self.gate.block(method, job.channel, retry_after)
            log.info("Slack rate-limited %s; retrying delivery %s in %.0fs", method, job.id, retry_after)
            return _Result(delivered=False, retry_in=retry_after, error="429 ratelimited")
        if status >= 500:
            log.warning("Slack answered %s to %s; will retry delivery %s", status, method, job.id)
            return _Result(delivered=False, retry_in=self._backoff(job), maybe_sent=True, error=f"HTTP {status}")
        if error == "message_not_found" and method == "chat.update":
            log.warning("card of complaint %s was deleted in Slack; posting it again", job.complaint_id)
            return _Result(delivered=False, retry_in=0, forget_ts=True, error=error)
        if error in RETRYABLE_SLACK_ERRORS:
            log.error(
                "Slack refused %s with %r; will retry delivery %s (check the app's setup)",
                method,
                error,
                job.id,
            )
            return _Result(delivered=False, retry_in=self._backoff(job), error=error)
        log.error("Slack refused %s with %r; giving up on delivery %s", method, error, job.id)
        return _Result(delivered=False, permanent=True, error=error or f"HTTP {status}")

    def _backoff(self, job: _Job) -> float:
        return min(float(MAX_BACKOFF_SECONDS), 2.0 ** (min(job.attempts, 10) - 1)) * random.uniform(0.8, 1.2)

    # -- recording the outcome --------------------------------------------------------------------------------

    def _finish(self, job: _Job, result: _Result) -> None:
        now = utcnow()
        mine = and_(Delivery.id == job.id, Delivery.lease_owner == self.worker_id)
        with self.database.unit_of_work() as session:
            if result.posted_ts is not None and job.complaint_id is not None:
                session.execute(
                    update(Complaint)
                    .where(Complaint.id == job.complaint_id)
                    .values(slack_channel=job.channel, slack_ts=result.posted_ts)
                )
            if result.forget_ts and job.complaint_id is not None:
                session.execute(update(Complaint).where(Complaint.id == job.complaint_id).values(slack_ts=None))
            released = {"lease_owner": None, "lease_until": None, "last_error": result.error}
            if result.delivered:
                done = session.execute(
                    update(Delivery)
                    .where(mine, Delivery.generation == job.generation)
                    .values(status=DONE, delivered_at=now, maybe_sent=False, **released)
                ).rowcount
                if not done:  # the complaint changed while we were sending: render and send again
                    session.execute(
                        update(Delivery).where(mine).values(status=PENDING, due_at=now, maybe_sent=False, **released)
                    )
                    self.wake()
                return
            if result.permanent:
                session.execute(update(Delivery).where(mine).values(status=FAILED, **released))
                return
            values: dict[str, Any] = {"status": PENDING, "due_at": now + timedelta(seconds=result.retry_in)}
            if not result.maybe_sent:
                values["maybe_sent"] = job.lookup_since is not None  # keep an older doubt we could not clear
            session.execute(update(Delivery).where(mine).values(**values, **released))
