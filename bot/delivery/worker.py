"""Workers that drain the outbox into Slack.

Rows are claimed under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer anyway), so any
number of threads and copies of Heard share the work. A post whose outcome is unknown (a timeout, a 5xx, a
crash mid-call) is looked up by its message metadata before it is posted again: Slack has no idempotency key
for chat.postMessage, so this is how a message appears exactly once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, true, update
from sqlalchemy.orm import Session

from bot.delivery.gate import RateGate, retry_after_seconds
from bot.delivery.outbox import (
    DONE,
    EPHEMERAL,
    EXPIRED,
    FAILED,
    FILE_DELETION,
    FILE_ID,
    PENDING,
    SENDING,
    UPLOAD,
    FileUpload,
    NotReady,
    Outgoing,
    bump_values,
    file_to_delete,
    note_queued,
    utcnow,
)
from bot.delivery.pace import SharedPace
from bot.failure_log import FailureLog
from bot.i18n import speaking
from storage.db import Database
from storage.models import Delivery

log = logging.getLogger("heard.delivery")
_outbox = Delivery.__table__

CLAIM_BATCH = 32
# Rows one claim takes to send (mostly card updates, which Slack does not pace): one transaction claims them and
# one records their outcomes, instead of two (and an empty claim) per message.
CLAIM_JOBS = 8

IDLE_POLL_SECONDS = 1.0
# After a claim that found nothing, a thread woken meanwhile waits this long before claiming again.
EMPTY_CLAIM_PAUSE_SECONDS = 0.05
# How often the housekeeping thread runs `watch` (the lag alert).
WATCH_INTERVAL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300
PURGE_INTERVAL_SECONDS = 600
FINISHED_MESSAGE_RETENTION = timedelta(days=1)
# Every message Heard posts carries this metadata, so one posted before a crash can be found, not re-posted.
METADATA_EVENT = "heard_message"
# Slack errors that an admin can fix (invite the bot, fix the token): keep retrying so nothing is lost.
RETRYABLE_SLACK_ERRORS = {
    "not_in_channel",
    "channel_not_found",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
# files.delete's answers for a file that is gone already (deleted by someone, or by an attempt we did not hear).
GONE_FILE_ERRORS = {"file_not_found", "file_deleted"}

# Renders a projection row from the state in the database; None means there is nothing (left) to show.
Renderer = Callable[[Session, Delivery, datetime], Outgoing | None]
# Told where a projection was posted (channel, ts, permalink), inside the unit of work that records it.
PostedHook = Callable[[Session, Delivery, str, str, str | None], None]
# Given the rows a claim may render, before it renders them: loads what they need in a few queries.
Prefetch = Callable[[Session, Sequence[Delivery]], None]
# Told of each failed Slack call: the method, the HTTP status (None: no answer) and Slack's error code (/metrics).
SlackFailed = Callable[[str, int | None, str | None], None]


def _not_counted(method: str, status: int | None, error: str | None) -> None:
    return None


@dataclass
class _Job:
    id: int
    key: str
    kind: str
    generation: int
    attempts: int
    payload: dict[str, Any]
    outgoing: Outgoing | None = None
    channel: str = ""
    ts: str | None = None
    lookup_since: datetime | None = None
    # The conversation whose chat.postMessage slot this claim took for the row (given back if it sends nothing).
    slot: str = ""
    # Sent by the thread whose change asked for it (`deliver_now`), on a client that gives up sooner.
    client: WebClient | None = None

    @classmethod
    def of(cls, row: Delivery, attempts: int, channel: str = "") -> _Job:
        """The sending of `row`, as its `attempts`-th attempt."""
        return cls(
            id=row.id,
            key=row.key,
            kind=row.kind,
            generation=row.generation,
            attempts=attempts,
            payload=dict(row.payload),
            ts=row.ts,
            channel=channel,
        )

    @property
    def method(self) -> str:
        if self.kind == EPHEMERAL:
            return "response_url" if self.payload.get("response_url") else "chat.postEphemeral"
        if self.kind == FILE_DELETION:
            return "files.delete"
        if self.payload.get(UPLOAD):
            return "files.completeUploadExternal"
        return "chat.update" if self.ts else "chat.postMessage"

    @property
    def posts_once(self) -> bool:
        """Calls Slack cannot deduplicate: an unheard outcome is looked for before trying again."""
        return self.method in ("chat.postMessage", "files.completeUploadExternal")


@dataclass
class _Result:
    delivered: bool
    retry_in: float = 0.0
    # Whether Slack may have acted although we did not hear it succeed (then look before re-posting).
    maybe_sent: bool = False
    error: str | None = None
    posted: tuple[str, str] | None = None  # (channel, ts)
    permalink: str | None = None
    forget_ts: bool = False
    permanent: bool = False
    # An upload Slack took: the conversation it was shared into and the file's id (recorded on the row).
    uploaded: tuple[str, str] | None = None


@dataclass
class DeliveryWorker:
    database: Database
    client: WebClient
    renderers: Mapping[str, Renderer]
    on_posted: Mapping[str, PostedHook] = field(default_factory=dict)
    # Where projections go unless they say otherwise (the complaints channel); used to pace before rendering.
    default_channel: str = ""
    threads: int = 4
    # Longer than any single Slack call can take (the client's timeout), so a live sender never loses its row.
    lease: timedelta = timedelta(seconds=30)
    gate: RateGate = field(default_factory=RateGate)
    # chat.postMessage's pace per conversation, shared with every other copy through the database.
    pace: SharedPace = field(default_factory=SharedPace)
    # Run by the housekeeping thread about once a second (the lag alert); its failures are logged, not raised.
    watch: Callable[[], None] | None = None
    prefetch: Prefetch | None = None
    # For `deliver_now`: someone is waiting on the answer to their click, so Slack gets less time than the worker
    # gives it; a call that runs out is retried by the worker.
    prompt_client: WebClient | None = None
    worker_id: str = field(default_factory=lambda: f"heard-{uuid.uuid4().hex[:12]}")
    on_slack_error: SlackFailed = _not_counted

    def __post_init__(self) -> None:
        self._signal = 0
        # The conversations whose pace held posts back at the last look, and when each frees (epoch seconds): a
        # thread sleeps no longer than that, so a post queued for one of them needs no wake (`needs_waking`).
        self._paced_until: dict[str, float] = {}
        # Per claiming thread: whether this transaction has locked a conversation's pace row already.
        self._claiming = threading.local()
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._failures = FailureLog(log)
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
            # One sleeper is enough: it keeps claiming until nothing is due; waking every thread would only
            # make them queue for the same rows.
            self._condition.notify()

    def needs_waking(self, queued: Mapping[str, str | None]) -> bool:
        """Whether what a unit of work queued (`delivery.queued`) needs a worker thread now: not a post to a
        conversation the last look found waiting for its pace, as a thread looks again when that pace frees (or
        within a second). A click in a busy channel then costs no claim that could only find its line held back."""
        moment = time.time()
        return any(pace is None or self._paced_until.get(pace, 0.0) <= moment for pace in queued.values())

    def claim_now(self, session: Session, key: str, now: datetime) -> _Job | None:
        """Inside the unit of work of a change (a click): ask for a new generation of the posted message `key`,
        claim it and render it, for the same thread to send once the change is committed (`send_claimed`). Its card
        changes without waiting for a worker thread to be woken and scheduled, a flood of clicks cannot outrun the
        updates they ask for, and the claim costs no transaction of its own.

        None: the worker sends it. When the message is with another sender or not posted yet, nothing was changed
        here and the caller refreshes it as usual; when Slack asks to wait or the message cannot be rendered now
        (a render's failure must not cost the change its commit), its new generation went back to the queue, noted
        in `delivery.queued` for the caller to wake the worker.

        The row is bumped and taken with one Core statement and rendered from a detached copy: loading it as an
        ORM object and flushing its lease at the commit cost a click more than the rest of its claim."""
        values = {"take_key": key, "take_now": now, "take_owner": self.worker_id, "take_until": now + self.lease}
        taken = session.execute(_TAKE_POSTED, values).mappings().first()
        if taken is None:
            return None
        row = Delivery(**taken)  # not in the session: the statement above already wrote what the claim changes
        job = _Job.of(row, attempts=row.attempts, channel=row.channel or "")
        wait = self.gate.blocked_seconds(job.method, job.channel)
        if wait <= 0:
            try:
                with speaking(None):  # the team's language, as the worker renders it
                    job.outgoing = self.renderers[row.kind](session, row, now)
            except NotReady as not_ready:
                wait = not_ready.retry_in.total_seconds()
            except Exception:
                log.exception("could not prepare %s for sending at once; the worker sends it", key)
        if job.outgoing is None:  # Slack asked to wait, or nothing to send now: the worker decides
            session.execute(
                _GIVE_BACK,
                {"back_id": row.id, "back_owner": self.worker_id, "back_due": now + timedelta(seconds=max(0, wait))},
            )
            note_queued(session, key)
            return None
        job.channel = row.channel or job.outgoing.channel
        job.client = self.prompt_client
        return job

    def send_claimed(self, job: _Job) -> None:
        """Send what `claim_now` claimed, after its unit of work committed, and record the outcome."""
        self._deliver([job])

    # -- the loop ---------------------------------------------------------------------------------------------

    def _run(self, housekeeper: bool) -> None:
        next_purge = next_watch = time.monotonic()
        while not self._stopping.is_set():
            if housekeeper and time.monotonic() >= next_purge:
                self._purge_finished_messages()
                next_purge = time.monotonic() + PURGE_INTERVAL_SECONDS
            if housekeeper and self.watch is not None and time.monotonic() >= next_watch:
                try:
                    self.watch()
                except Exception as exc:
                    log.warning("delivery watch failed (%s)", type(exc).__name__)
                next_watch = time.monotonic() + WATCH_INTERVAL_SECONDS
            seen = self._signal
            try:
                jobs, drained = self._claim()
            except Exception as error:
                # An outage: one line per minute, not a traceback per attempt.
                self._failures.report("delivery: could not read the outbox", error)
                self._stopping.wait(IDLE_POLL_SECONDS)
                continue
            if jobs and not drained:
                self.wake()  # more is due: another thread takes the next rows while this one sends
            if jobs:
                self._deliver(jobs)
                if not drained or self._signal != seen:
                    continue
                # The claim saw everything that was due and nothing was queued since: no need for an empty claim.
            if not jobs and self._signal != seen:
                # Woken while finding nothing to send (a flood of clicks, each updating its own card and queueing a
                # thread line the channel's pace holds back): claim again a moment later, not at once, or the
                # worker spins on empty claims and takes the database and the CPU from the clicks.
                self._stopping.wait(EMPTY_CLAIM_PAUSE_SECONDS)
                continue
            timeout = self._seconds_until_next_due()
            with self._condition:
                if self._signal == seen and not self._stopping.is_set():
                    self._condition.wait(timeout)

    def _purge_finished_messages(self) -> None:
        """One-off messages (ephemeral answers) are worth nothing once sent or expired; projections stay."""
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
        """Until the next row that may go: rows of a conversation waiting for its pace count from its next slot."""
        now = utcnow()
        try:
            with self.database.unit_of_work() as session:
                blocked = self._paced_until = self.pace.blocked(session, now)
                due = session.scalar(
                    select(func.min(Delivery.due_at)).where(Delivery.status == PENDING, _not_paced_out(blocked))
                )
        except Exception:
            return IDLE_POLL_SECONDS
        moments = [(due - now).total_seconds()] if due is not None else []
        moments += [free_at - now.timestamp() for free_at in blocked.values()]
        return min(IDLE_POLL_SECONDS, max(0.01, min(moments, default=IDLE_POLL_SECONDS)))

    def _claim(self) -> tuple[list[_Job], bool]:
        """Take the next due rows (or ones whose sender died) under a lease, and render what they must send; and
        whether the claim saw every row that was due (then nothing is left for another claim until more comes)."""
        now = utcnow()
        with self.database.unit_of_work() as session:
            blocked = self._paced_until = self.pace.blocked(session, now)
            claim = _claim_statement(_not_paced_out(blocked)) if blocked else _CLAIM_ANY
            candidates = session.scalars(claim, {"now": now}).all()
            self._claiming.paced = False
            if self.prefetch is not None and candidates:
                self.prefetch(session, candidates)
            jobs: list[_Job] = []
            drained = len(candidates) < CLAIM_BATCH
            for row in candidates:
                if row.status not in (PENDING, SENDING):
                    continue  # listed in a message claimed just before it (reminder_batches.py)
                if len(jobs) >= CLAIM_JOBS or (self._claiming.paced and row.ts is None):
                    # One conversation's pace row per transaction: two copies never wait on each other's.
                    drained = False
                    break
                job = self._prepare(session, row, now)
                if job is not None:
                    jobs.append(job)
        return jobs, drained

    def _prepare(self, session: Session, row: Delivery, now: datetime) -> _Job | None:
        if row.expires_at is not None and row.expires_at < now:
            row.status = EXPIRED
            row.lease_owner = None
            log.info("dropped expired delivery %s", row.key)
            return None
        job = _Job.of(row, attempts=row.attempts + 1)
        # Pace first where the destination is known, so a row that has to wait is not rendered for nothing;
        # otherwise (a nag goes to its owner's DM or to the card's thread) render, then pace on the real target.
        known = row.channel or row.payload.get("to") or (row.payload.get("channel") if row.kind == EPHEMERAL else None)
        if known:
            job.channel = str(known)
            if self._must_wait(session, row, job, now):
                return None
        if row.kind != EPHEMERAL:
            try:
                with speaking(None):  # the team's language, whichever thread renders; a DM's renderer says whose
                    if row.kind == FILE_DELETION:
                        job.outgoing = file_to_delete(session, row)
                    else:
                        job.outgoing = self.renderers[row.kind](session, row, now)
            except NotReady as not_ready:
                row.due_at = now + not_ready.retry_in
                self._give_back_slot(session, job)
                return None
            if job.outgoing is None:
                row.status = DONE
                self._give_back_slot(session, job)
                return None
            job.channel = row.channel or job.outgoing.channel
            if not known and self._must_wait(session, row, job, now):
                return None
        if job.posts_once:
            job.lookup_since = row.attempted_at if row.maybe_sent else None
            if not row.maybe_sent:
                row.attempted_at = now
            row.maybe_sent = True  # committed before the call: a crash mid-call leaves the doubt on record
        row.status = SENDING
        row.lease_owner = self.worker_id
        row.lease_until = now + self.lease
        row.attempts = job.attempts
        return job

    def _must_wait(self, session: Session, row: Delivery, job: _Job, now: datetime) -> bool:
        wait = self.gate.blocked_seconds(job.method, job.channel)
        if wait > 0:
            row.due_at = now + timedelta(seconds=wait)
            return True
        if job.method != "chat.postMessage":
            return False
        self._claiming.paced = True
        row.pace_key = job.channel  # from now on the claim leaves it out while its conversation must wait
        # Another copy took the slot between reading the paces and here: the row keeps its place in the queue.
        if self.pace.take(session, job.channel, now) > 0:
            return True
        job.slot = job.channel
        return False

    def _give_back_slot(self, session: Session, job: _Job) -> None:
        """A row paced before it was rendered had nothing to send yet (NotReady) or at all: return its slot, or
        every such row (a storm's lines before the storm card is posted) would spend the channel's budget."""
        if job.slot:
            self.pace.give_back(session, job.slot)
            job.slot = ""

    def _deliver(self, jobs: Sequence[_Job]) -> None:
        outcomes: list[tuple[_Job, _Result]] = []
        # A row later in the claim starts only while most of its lease is left (a send can take a few calls).
        last_start = time.monotonic() + self.lease.total_seconds() / 3
        for job in jobs:
            if outcomes and time.monotonic() > last_start:  # Slack is slow: the rest go back, unsent, at once
                outcomes.append((job, _Result(delivered=False)))
                continue
            wait = self.gate.blocked_seconds(job.method, job.channel)
            if wait > 0:  # a 429 met by an earlier row of this claim: this one waits it out unsent
                outcomes.append((job, _Result(delivered=False, retry_in=wait, error="429 ratelimited")))
                continue
            try:
                result = self._send(job)
            except Exception as exc:  # a bug or an unexpected library error must not kill the worker thread
                log.exception("delivery %s failed unexpectedly", job.key)
                result = _Result(delivered=False, retry_in=self._backoff(job), maybe_sent=True, error=repr(exc)[:300])
            outcomes.append((job, result))
        # Nothing posted anew (a click's card update, the commonest): Core statements alone record the outcome,
        # without a Session's bookkeeping, which cost more than the statements.
        plain = all(result.posted is None for _, result in outcomes)
        try:
            # One transaction records them all; each row's own conditions (lease, generation) still decide.
            with self.database.statements() if plain else self.database.unit_of_work() as session:
                for job, result in outcomes:
                    self._record(session, job, result)
            return
        except Exception:
            if len(outcomes) == 1:
                log.exception("could not record the outcome of delivery %s", outcomes[0][0].key)
                return
        for job, result in outcomes:  # one at a time, so one row that cannot be recorded does not hold the rest
            try:
                self._finish(job, result)
            except Exception:
                # The lease expires and another attempt follows; maybe_sent makes that attempt look before posting.
                log.exception("could not record the outcome of delivery %s", job.key)

    # -- talking to Slack -------------------------------------------------------------------------------------

    def _send(self, job: _Job) -> _Result:
        if job.kind == EPHEMERAL:
            return self._send_ephemeral(job)
        outgoing = job.outgoing
        assert outgoing is not None
        if outgoing.delete_file is not None:
            return self._delete_file(job, outgoing.delete_file)
        if outgoing.file is not None:
            return self._upload(job, outgoing.file, outgoing.thread_ts)
        message = outgoing.message
        try:
            if job.ts:
                client = job.client or self.client
                client.chat_update(channel=job.channel, ts=job.ts, text=message.text, blocks=message.blocks)
                return _Result(delivered=True)
            if job.lookup_since is not None:
                found = self._find_posted(job)
                if found:
                    return self._adopt(job, *found)
            response = self.client.chat_postMessage(
                channel=job.channel,
                thread_ts=outgoing.thread_ts,
                text=message.text,
                blocks=message.blocks,
                # The generation says which render this is, so a retry that finds it knows whether it is current.
                metadata={
                    "event_type": METADATA_EVENT,
                    "event_payload": {"key": job.key, "generation": job.generation},
                },
                unfurl_links=False,
                unfurl_media=False,
            )
            # For a DM addressed to a user id, Slack answers with the DM channel, which updates need.
            posted = (str(response["channel"]), str(response["ts"]))
            return _Result(delivered=True, posted=posted, permalink=self._permalink(outgoing, *posted))
        except SlackApiError as exc:
            return self._slack_failure(job, exc)
        except Exception as exc:  # timeouts and connection errors: Slack may or may not have acted
            self.on_slack_error(job.method, None, None)
            log.warning("Slack did not answer %s for %s (%s); will retry", job.method, job.key, type(exc).__name__)
            return _Result(delivered=False, retry_in=self._backoff(job), maybe_sent=True, error=type(exc).__name__)

    def _adopt(self, job: _Job, channel: str, ts: str, generation: int | None) -> _Result:
        """Take over a message an unheard attempt posted, and bring it up to this job's render: the state may have
        changed since that attempt (a claim while Slack's answer was lost), and nothing else would update it."""
        outgoing = job.outgoing
        assert outgoing is not None
        adopted = _Result(delivered=True, posted=(channel, ts), permalink=self._permalink(outgoing, channel, ts))
        if generation == job.generation:
            log.info("%s was already posted (ts %s); not posting it again", job.key, ts)
            return adopted
        log.info("%s was already posted (ts %s) from an older state; updating it", job.key, ts)
        # From here on the row is an update of that message (pacing, 429s and message_not_found included).
        job.channel, job.ts = channel, ts
        try:
            self.client.chat_update(channel=channel, ts=ts, text=outgoing.message.text, blocks=outgoing.message.blocks)
            return adopted
        except SlackApiError as exc:
            failed = self._slack_failure(job, exc)
        except Exception as exc:
            self.on_slack_error("chat.update", None, None)
            log.warning("Slack did not answer chat.update for %s (%s); will retry", job.key, type(exc).__name__)
            failed = _Result(delivered=False, retry_in=self._backoff(job), error=type(exc).__name__)
        if not failed.forget_ts:
            # Keep the message found, so the next attempt updates it rather than looking for it again.
            failed.posted, failed.permalink = adopted.posted, adopted.permalink
        return failed

    def _upload(self, job: _Job, file: FileUpload, thread_ts: str | None = None) -> _Result:
        try:
            # files.completeUploadExternal takes conversation ids only: a DM is opened first.
            channel = self._conversation(job.channel)
            if job.lookup_since is not None:
                found = self._find_upload(channel, file.filename, job.lookup_since, thread_ts)
                if found is not None:
                    log.info("%s was already uploaded; not uploading it again", job.key)
                    return _Result(delivered=True, uploaded=(channel, found) if found else None)
            response = self.client.files_upload_v2(
                channel=channel,
                content=file.content,
                filename=file.filename,
                title=file.title,
                alt_txt=file.alt_text,
                initial_comment=file.comment,
                # Into a card's thread (evidence) rather than the channel itself.
                thread_ts=thread_ts,
            )
            shared = response.get("file") or next(iter(response.get("files") or []), None) or {}
            file_id = str(shared.get("id") or "")
            return _Result(delivered=True, uploaded=(channel, file_id) if file_id else None)
        except SlackApiError as exc:
            return self._slack_failure(job, exc)
        except Exception as exc:
            self.on_slack_error(job.method, None, None)
            log.warning("Slack did not answer the upload of %s (%s); will retry", job.key, type(exc).__name__)
            return _Result(delivered=False, retry_in=self._backoff(job), maybe_sent=True, error=type(exc).__name__)

    def _delete_file(self, job: _Job, file_id: str) -> _Result:
        """files.delete: a file already gone counts as deleted, so a retry after an unheard answer is harmless."""
        try:
            self.client.files_delete(file=file_id)
            log.info("%s: file %s deleted from Slack", job.key, file_id)
            return _Result(delivered=True)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
            if error in GONE_FILE_ERRORS:
                log.info("%s: file %s was gone already (%s)", job.key, file_id, error)
                return _Result(delivered=True)
            return self._slack_failure(job, exc)
        except Exception as exc:
            self.on_slack_error(job.method, None, None)
            log.warning("Slack did not answer files.delete for %s (%s); will retry", job.key, type(exc).__name__)
            return _Result(delivered=False, retry_in=self._backoff(job), error=type(exc).__name__)

    def _conversation(self, channel: str) -> str:
        if channel.startswith(("U", "W")):
            return str(self.client.conversations_open(users=channel)["channel"]["id"])
        return channel

    def _find_upload(self, channel: str, filename: str, since: datetime, thread_ts: str | None = None) -> str | None:
        """The id of the file named `filename` shared since `since` ("" if Slack shows none), or None: not there."""
        oldest = f"{(since - timedelta(seconds=5)).timestamp():.6f}"
        cursor = None
        for _ in range(10):
            # A file shared into a thread is a reply: the channel's history does not list it.
            if thread_ts:
                page = self.client.conversations_replies(
                    channel=channel, ts=thread_ts, oldest=oldest, limit=200, cursor=cursor
                )
            else:
                page = self.client.conversations_history(channel=channel, oldest=oldest, limit=200, cursor=cursor)
            for message in page.get("messages", []):
                for shared in message.get("files") or []:
                    if shared.get("name") == filename:
                        return str(shared.get("id") or "")
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def _permalink(self, outgoing: Outgoing, channel: str, ts: str) -> str | None:
        if not outgoing.want_permalink:
            return None
        try:
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except Exception as exc:  # a missing link only costs a convenience; the message itself is posted
            log.warning("no permalink for %s in %s (%s)", ts, channel, type(exc).__name__)
            return None

    def _find_posted(self, job: _Job) -> tuple[str, str, int | None] | None:
        """Look for a message carrying this row's key, posted since the first uncertain attempt: its channel, its
        ts and the generation it showed (None for a message posted before Heard recorded it)."""
        assert job.lookup_since is not None and job.outgoing is not None
        channel = job.channel
        if channel.startswith(("U", "W")):
            channel = str(self.client.conversations_open(users=channel)["channel"]["id"])
        oldest = f"{(job.lookup_since - timedelta(seconds=5)).timestamp():.6f}"
        cursor = None
        for _ in range(10):
            if job.outgoing.thread_ts:
                page = self.client.conversations_replies(
                    channel=channel,
                    ts=job.outgoing.thread_ts,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            else:
                page = self.client.conversations_history(
                    channel=channel, oldest=oldest, include_all_metadata=True, limit=200, cursor=cursor
                )
            for message in page.get("messages", []):
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == job.key:
                    generation = payload.get("generation")
                    return channel, str(message["ts"]), generation if isinstance(generation, int) else None
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
                    replace_original=bool(payload.get("replace_original")),
                )
                if response.status_code != 200:
                    self.on_slack_error("response_url", response.status_code, None)
                if response.status_code == 429:
                    return _Result(delivered=False, retry_in=retry_after_seconds(response.headers), error="429")
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
            return self._slack_failure(job, exc)
        except Exception as exc:
            self.on_slack_error(job.method, None, None)
            return _Result(delivered=False, retry_in=self._backoff(job), error=type(exc).__name__)

    def _slack_failure(self, job: _Job, exc: SlackApiError) -> _Result:
        method = job.method
        status = exc.response.status_code
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        self.on_slack_error(method, status, error or None)
        if status == 429:
            retry_after = retry_after_seconds(exc.response.headers)
            self.gate.block(method, job.channel, retry_after)
            if method == "chat.postMessage":
                self._hold_pace(job.channel, retry_after)
            log.info("Slack rate-limited %s; retrying %s in %.0fs", method, job.key, retry_after)
            return _Result(delivered=False, retry_in=retry_after, error="429 ratelimited")
        if status >= 500:
            log.warning("Slack answered %s to %s; will retry %s", status, method, job.key)
            return _Result(delivered=False, retry_in=self._backoff(job), maybe_sent=True, error=f"HTTP {status}")
        if error == "message_not_found" and method == "chat.update":
            log.warning("%s was deleted in Slack; posting it again", job.key)
            return _Result(delivered=False, retry_in=0, forget_ts=True, error=error)
        if error in RETRYABLE_SLACK_ERRORS:
            log.error("Slack refused %s with %r; will retry %s (check the app's setup)", method, error, job.key)
            return _Result(delivered=False, retry_in=self._backoff(job), error=error)
        log.error("Slack refused %s with %r; giving up on %s", method, error, job.key)
        return _Result(delivered=False, permanent=True, error=error or f"HTTP {status}")

    def _hold_pace(self, channel: str, seconds: float) -> None:
        """Every copy waits out a 429 on chat.postMessage, not only the one that met it."""
        try:
            with self.database.unit_of_work() as session:
                self.pace.hold(session, channel, seconds, utcnow())
        except Exception as exc:
            log.warning("could not share a 429 on %s (%s)", channel, type(exc).__name__)

    def _backoff(self, job: _Job) -> float:
        return min(float(MAX_BACKOFF_SECONDS), 2.0 ** (min(job.attempts, 10) - 1)) * random.uniform(0.8, 1.2)

    # -- recording the outcome --------------------------------------------------------------------------------

    def _finish(self, job: _Job, result: _Result) -> None:
        with self.database.unit_of_work() as session:
            self._record(session, job, result)

    def _record(self, session: Session | Connection, job: _Job, result: _Result) -> None:
        """`session` is a Session when the outcome posted a message (its hook may need the ORM), else either."""
        now = utcnow()
        if result.delivered and result.posted is None and not result.forget_ts and result.uploaded is None:
            # An update, the commonest outcome: one prebuilt Core statement (the ORM's bookkeeping for an UPDATE,
            # or building the statement anew, cost more than running it).
            params = {"job_id": job.id, "owner": self.worker_id, "job_generation": job.generation, "at": now}
            if not session.execute(_UPDATED, params).rowcount:  # changed while we were sending: send it again
                session.execute(_AGAIN, {**params, "error": result.error})
                self.wake()
            return
        mine = and_(_outbox.c.id == job.id, _outbox.c.lease_owner == self.worker_id)
        released: dict[str, Any] = {"lease_owner": None, "lease_until": None, "last_error": result.error}
        if result.posted is not None:
            channel, ts = result.posted
            released.update(channel=channel, ts=ts)
            hook = self.on_posted.get(job.kind)
            assert isinstance(session, Session)
            row = session.get(Delivery, job.id)
            if hook is not None and row is not None:
                hook(session, row, channel, ts, result.permalink)
        if result.forget_ts:
            released.update(ts=None)
        if result.uploaded is not None:
            # The file's id, for deleting it later (erasure); read under the row's lock, as an erasure may have
            # changed the payload meanwhile.
            channel, file_id = result.uploaded
            stored = session.execute(select(_outbox.c.payload).where(mine).with_for_update()).scalar()
            released.update(channel=channel, payload={**(stored or job.payload), FILE_ID: file_id})
        if result.delivered:
            done = session.execute(
                update(_outbox)
                .where(mine, _outbox.c.generation == job.generation)
                .values(status=DONE, delivered_at=now, maybe_sent=False, **released)
            ).rowcount
            if not done:  # the state changed while we were sending: render and send again
                session.execute(
                    update(_outbox).where(mine).values(status=PENDING, due_at=now, maybe_sent=False, **released)
                )
                self.wake()
            return
        if result.permanent:
            session.execute(update(_outbox).where(mine).values(status=FAILED, **released))
            return
        values: dict[str, Any] = {"status": PENDING, "due_at": now + timedelta(seconds=result.retry_in)}
        if not result.maybe_sent:
            # Keep an older doubt we could not clear; a message found (adopted, then not updated) clears it.
            values["maybe_sent"] = job.lookup_since is not None and result.posted is None
        session.execute(update(_outbox).where(mine).values(**values, **released))


# A message updated as asked, by the sender holding it, still at the generation it sent: done.
_UPDATED = (
    update(_outbox)
    .where(
        _outbox.c.id == bindparam("job_id"),
        _outbox.c.lease_owner == bindparam("owner"),
        _outbox.c.generation == bindparam("job_generation"),
    )
    .values(
        status=DONE, delivered_at=bindparam("at"), maybe_sent=False, lease_owner=None, lease_until=None, last_error=None
    )
)

# The same row changed while it was being sent: back to the queue, to be rendered and sent again at once.
_AGAIN = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("job_id"), _outbox.c.lease_owner == bindparam("owner"))
    .values(
        status=PENDING,
        due_at=bindparam("at"),
        maybe_sent=False,
        lease_owner=None,
        lease_until=None,
        last_error=bindparam("error"),
    )
)


def _claim_statement(may_post: Any) -> Any:
    now = bindparam("now")
    return (
        select(Delivery)
        .where(
            or_(
                and_(Delivery.status == PENDING, Delivery.due_at <= now, may_post),
                and_(Delivery.status == SENDING, Delivery.lease_until < now),
            )
        )
        # Slack's budget goes to what matters first (priority.py); then the oldest.
        .order_by(Delivery.priority, Delivery.due_at, Delivery.id)
        # A burst of new cards is mostly rows that only get their future slot; taking many per transaction keeps
        # that bookkeeping from competing with ingest for the database.
        .limit(CLAIM_BATCH)
        .with_for_update(skip_locked=True)
    )


# The claim while no conversation waits for its pace, built once: building it cost more than running it.
_CLAIM_ANY = _claim_statement(true())
# `claim_now`: a new generation of one posted message (as `outbox.bump_values` gives it), taken for sending in the
# same statement, unless another sender holds it (the change's refresh then bumps it for that sender).
_TAKE_POSTED = (
    update(_outbox)
    .where(
        _outbox.c.key == bindparam("take_key"),
        _outbox.c.status != SENDING,
        _outbox.c.ts.is_not(None),
        or_(_outbox.c.expires_at.is_(None), _outbox.c.expires_at >= bindparam("take_now")),
    )
    .values(
        {
            **bump_values(bindparam("take_now")),
            "status": SENDING,
            "lease_owner": bindparam("take_owner"),
            "lease_until": bindparam("take_until"),
            "attempts": _outbox.c.attempts + 1,
        }
    )
    .returning(*_outbox.c)
)
# A row `claim_now` took but will not send: back to the queue as it was, due when Slack allows.
_GIVE_BACK = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("back_id"), _outbox.c.lease_owner == bindparam("back_owner"))
    .values(
        status=PENDING,
        lease_owner=None,
        lease_until=None,
        due_at=bindparam("back_due"),
        attempts=_outbox.c.attempts - 1,
    )
)


def _not_paced_out(blocked: Mapping[str, float]) -> Any:
    """Rows that are not chat.postMessage calls to a conversation that must wait for its pace."""
    if not blocked:
        return true()
    return or_(Delivery.ts.is_not(None), Delivery.pace_key.is_(None), Delivery.pace_key.not_in(list(blocked)))
