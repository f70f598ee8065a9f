"""Enqueueing, called by use cases inside their unit of work, so nothing is promised that was not committed.

Two kinds of rows:
- *projections* (`refresh`): a message that shows some state (a card, an escalation notice, a DM). One row per
  message key; every change bumps its `generation`, and the worker renders the state as it is when it sends, so
  ten quick changes may cost one `chat.update` and the last render always wins.
- *one-off private answers* (`send_ephemeral`): through the click's response_url, or chat.postEphemeral.
- *file deletions* (`delete_uploads`): a file Heard uploaded (its id recorded on the upload's row) deleted from
  Slack with files.delete, once the upload is settled; an upload not sent yet is simply not sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.blocks import Message
from bot.delivery import priority as priorities
from storage.models import Delivery

EPHEMERAL = "ephemeral"

PENDING = "pending"
SENDING = "sending"
DONE = "done"
FAILED = "failed"
EXPIRED = "expired"

# response_urls live 30 minutes; an ephemeral answer later than this would confuse more than help.
EPHEMERAL_LIFETIME = timedelta(minutes=25)

Waker = Callable[[], None]

_outbox = Delivery.__table__

# What a unit of work queued, by message key: the conversation whose pace a new post waits for, or None for a row
# that may go at once. Whoever commits it wakes the worker only for what needs it (`queued`).
_QUEUED = "heard.delivery.queued"


def note_queued(session: Session, key: str, pace_key: str | None = None) -> None:
    """Record in the unit of work's ledger (`queued`) that the message `key` waits in the outbox."""
    session.info.setdefault(_QUEUED, {})[key] = pace_key


def queued(session: Session) -> dict[str, str | None]:
    """The messages this unit of work asked for so far (see `_QUEUED`)."""
    return dict(session.info.get(_QUEUED, {}))


def utcnow() -> datetime:
    return datetime.now(UTC)


UPLOAD = "upload"
# An upload's row, once Slack took the file: the file's id (`channel` holds the conversation it was shared into).
FILE_ID = "file_id"
# The outbox kind that deletes one uploaded file (`ref_id`: the upload's row), sent by the worker itself.
FILE_DELETION = "file_deletion"


@dataclass(frozen=True)
class FileUpload:
    """A file shared into a conversation (files_upload_v2). `filename` is unique per outbox row: it is how an
    upload whose outcome was not heard is recognised in the conversation before uploading again."""

    filename: str
    content: bytes
    title: str
    alt_text: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A rendered projection: where it goes and what it says. `channel` may be a user id for a DM."""

    channel: str
    message: Message
    thread_ts: str | None = None
    # Ask Slack for the message's permalink once posted (other messages link to it).
    want_permalink: bool = False
    # Set for rows queued with payload {"upload": true}: the file is shared instead of a message posted.
    file: FileUpload | None = None
    # Set for a file deletion (`FILE_DELETION`): the id of the file to delete with files.delete.
    delete_file: str | None = None


class NotReady(Exception):
    """The projection depends on something not delivered yet (a thread reply before its card): retry soon."""

    def __init__(self, retry_in: timedelta = timedelta(seconds=2)) -> None:
        super().__init__(f"not ready; retry in {retry_in.total_seconds()}s")
        self.retry_in = retry_in


def refresh(
    session: Session,
    *,
    kind: str,
    key: str,
    complaint_id: int | None,
    now: datetime,
    ref_id: int | None = None,
    payload: dict[str, Any] | None = None,
    fresh: bool = False,
    priority: int | None = None,
) -> None:
    """Ask for the message `key` to be rendered from current state and posted (first time) or updated.
    `fresh` says the key cannot exist yet (one message per event or stage), which saves a round trip.
    `priority` overrides its kind's place in the queue (`priority.py`)."""
    if fresh or not refresh_key(session, key, now):
        values = row_values(key=key, kind=kind, complaint_id=complaint_id, ref_id=ref_id, now=now, payload=payload)
        if priority is not None:
            values["priority"] = priority
        # A plain INSERT rather than an ORM object: nothing in the session holds the row, and the ORM's unit of work
        # for one new object costs several times the statement.
        session.execute(_INSERT_ROW, values)
        note_queued(session, key, values["pace_key"])


def refresh_existing(
    session: Session, *, complaint_id: int, kind: str, now: datetime, ref_id: int | None = None
) -> None:
    """Re-render every message of one kind about one complaint (optionally about one escalation, follow-up…),
    e.g. all notices of an escalation once someone accepts it. Found through the (complaint_id, kind) index."""
    which = and_(_outbox.c.complaint_id == complaint_id, _outbox.c.kind == kind)
    if ref_id is not None:
        which = and_(which, _outbox.c.ref_id == ref_id)
    session.flush()  # as the ORM would before a statement: rows added or changed in this session are bumped too
    if session.execute(_bump_statement(which), {"bump_now": now}).rowcount:
        note_queued(session, f"{kind}:{complaint_id}:{ref_id}:*")


def refresh_key(session: Session, key: str, now: datetime) -> bool:
    """Re-render the message `key` if it exists (a message listing several complaints, when one of them changes)."""
    session.flush()  # as the ORM would before a statement: a row added in this session is bumped, not doubled
    if not session.execute(_BUMP_KEY, {"bump_key": key, "bump_now": now}).rowcount:
        return False
    note_queued(session, key)
    return True


def _bump_statement(which: Any) -> Any:
    """A new generation for the rows `which`. A Core statement on the table, not an ORM one: the ORM's bookkeeping
    for an UPDATE (mirroring it onto loaded objects) cost more than the statement, and nothing reads outbox rows
    back in the session that bumps them."""
    return update(_outbox).where(which).values(bump_values(bindparam("bump_now")))


def bump_values(now: Any) -> dict[str, Any]:
    """What a new generation sets on a row, as of `now` (a bound parameter): for `_bump_statement`, and for a claim
    that bumps and takes a row in one statement (`worker._TAKE_POSTED`)."""
    rows = _outbox.c
    return {
        "generation": rows.generation + 1,
        # A row being sent stays with its sender, who sees the new generation and sends again.
        "status": case((rows.status == SENDING, SENDING), else_=PENDING),
        "due_at": now,
        # Waiting since it was first asked for, if it was still waiting; a posted message is now an update. (Two
        # comparisons, not IN: an IN list is an expanding parameter, rendered into the SQL at every run.)
        "queued_at": case((or_(rows.status == PENDING, rows.status == SENDING), rows.queued_at), else_=now),
        "priority": case((rows.ts.is_(None), rows.priority), else_=priorities.UPDATE),
    }


# Built once: every click bumps its card by key, and a statement built anew costs more than running it.
_BUMP_KEY = _bump_statement(_outbox.c.key == bindparam("bump_key"))
# `inline`: nothing reads the new row's id, so PostgreSQL is not asked to return it (a single-row INSERT otherwise
# gets RETURNING id and a result to read).
_INSERT_ROW = insert(_outbox).inline()


def send_ephemeral(
    session: Session,
    *,
    response_url: str | None,
    channel: str,
    user: str,
    message: Message,
    now: datetime,
    replace_original: bool = False,
) -> None:
    """A private answer to `user`. `replace_original` (with the response_url of a click on a private answer)
    shows it in place of the message clicked, e.g. the next page of a lookup; should the response_url no longer
    work, it arrives as a new private message instead."""
    row = _new_row(key=f"{EPHEMERAL}:{uuid.uuid4().hex}", kind=EPHEMERAL, complaint_id=None, ref_id=None, now=now)
    row.payload = {
        "response_url": response_url,
        "channel": channel,
        "user": user,
        "text": message.text,
        "blocks": message.blocks,
    }
    if replace_original:
        row.payload["replace_original"] = True
    row.expires_at = now + EPHEMERAL_LIFETIME
    session.add(row)
    note_queued(session, row.key)


def _new_row(*, key: str, kind: str, complaint_id: int | None, ref_id: int | None, now: datetime) -> Delivery:
    return Delivery(**row_values(key=key, kind=kind, complaint_id=complaint_id, ref_id=ref_id, now=now))


def row_values(
    *,
    key: str,
    kind: str,
    complaint_id: int | None,
    now: datetime,
    ref_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new outbox row's columns (for a plain multi-row insert when many messages are queued at once). A row
    whose payload names its destination (`to`) is paced on it before it is rendered."""
    to = (payload or {}).get("to")
    return {
        "priority": priorities.of(kind),
        "pace_key": str(to) if to else None,
        "queued_at": now,
        "key": key,
        "kind": kind,
        "complaint_id": complaint_id,
        "ref_id": ref_id,
        "payload": payload or {},
        "status": PENDING,
        "generation": 1,
        "attempts": 0,
        "due_at": now,
        "maybe_sent": False,
        "created_at": now,
    }


def delete_uploads(session: Session, rows: Iterable[Delivery], now: datetime) -> int:
    """The files these upload rows put in Slack are to go (personal data erased): an upload still waiting, never
    attempted, is not sent; for each other one (sent with its file id recorded, or being sent, or whose last attempt
    went unheard) one `FILE_DELETION` row is queued, which the worker sends once the upload is settled. Says how many
    files are to be deleted. Inside the caller's unit of work; no Slack call here."""
    session.flush()
    queued = 0
    for row in rows:
        if not (row.payload or {}).get(UPLOAD):
            continue
        # Not sent yet and never attempted: it never will be (a worker that claimed it meanwhile keeps it).
        not_sent = (_outbox.c.id == row.id, _outbox.c.status == PENDING, _outbox.c.maybe_sent.is_(False))
        dropped = update(_outbox).where(*not_sent).values(status=DONE, last_error="not sent: personal data erased")
        if session.execute(dropped).rowcount:
            continue
        status, payload, maybe_sent = session.execute(
            select(_outbox.c.status, _outbox.c.payload, _outbox.c.maybe_sent).where(_outbox.c.id == row.id)
        ).one()
        in_flight = status in (PENDING, SENDING)
        if not (in_flight or (payload or {}).get(FILE_ID) or (maybe_sent and status != DONE)):
            continue  # never reached Slack (given up), or uploaded before Heard recorded file ids
        values = row_values(
            key=f"{FILE_DELETION}:{row.id}", kind=FILE_DELETION, complaint_id=row.complaint_id, ref_id=row.id, now=now
        )
        dialect = session.get_bind().dialect.name
        insert_row = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Once per file, whichever erasure or retention run asks first.
        if session.execute(insert_row(_outbox).values(**values).on_conflict_do_nothing()).rowcount:
            note_queued(session, values["key"])
            queued += 1
    return queued


def file_to_delete(session: Session, row: Delivery) -> Outgoing | None:
    """What a `FILE_DELETION` row deletes: the file its upload row recorded, once that upload is settled (an upload
    being sent, or to be retried after an unheard attempt, may yet put the file in Slack); None when it never did."""
    upload = session.get(Delivery, row.ref_id) if row.ref_id is not None else None
    if upload is None:
        return None
    if upload.status in (PENDING, SENDING):
        raise NotReady(timedelta(seconds=5))
    file_id = (upload.payload or {}).get(FILE_ID)
    if not file_id:
        return None
    return Outgoing(str(upload.channel or upload.payload.get("to") or ""), Message(text=""), delete_file=str(file_id))
