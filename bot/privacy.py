"""Personal data: everything Heard holds about one author (a data-subject access request, GDPR Art. 15), the one
redaction an erasure request (Art. 17) and the retention policy share, and the legal hold a threat puts on a
complaint. The use cases are in `bot/services/privacy.py`.

A redaction keeps the complaint, its timeline and its audit trail: it replaces the customer's words, name, handle,
links and the post as the network sent it with `REDACTED` (or nothing) in every table that holds them, turns the
personal values of audit events' `detail` into `REDACTED` (the one UPDATE the audit table's trigger allows, and only
on an erased complaint: migration 0017), adds an `erased` event, and re-renders every Slack message that showed any
of it through the outbox. The files Heard uploaded about it (Keep evidence, and the access files naming its author)
are deleted from Slack through the outbox (`delivery.delete_uploads`); one not sent yet is not sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, literal_column, select, update
from sqlalchemy.orm import Session

from bot import delivery, lifecycle, moderation, projections
from bot.blocks import Message
from bot.blocks.privacy import RETENTION
from bot.blocks.text import mention
from bot.blocks.when import long_time
from bot.config import Settings
from bot.delivery import FileUpload, Outgoing
from bot.i18n import _, n_
from bot.languages import Languages, speaking_to
from bot.lifecycle import Action, Actor
from storage import queries
from storage.models import (
    AuditEvent,
    Complaint,
    ComplaintPost,
    Delivery,
    Escalation,
    FollowUp,
    ModeratedAuthor,
    Reply,
    WriteUp,
)

# What personal data becomes (the same text as in migrations/versions/0017_personal_data.py, which lets the audit
# table take it).
REDACTED = "[erased]"
# Audit events' `detail` keys whose values may carry the customer's words or identity (texts before and after an edit,
# replies, notes, the author's key, write-ups, a network's error quoting the post).
PERSONAL_DETAIL_KEYS = frozenset(
    {"text", "before", "after", "note", "author", "url", "error", "what_happened", "what_we_learned"}
)
# The outbox kinds about one complaint whose messages can show its author or words: re-rendered after a redaction.
SHOWING_THE_AUTHOR = (
    projections.THREAD_LOG,
    projections.JOINED_POST,
    projections.ESCALATION_NOTICE,
    projections.APPROVAL_REQUEST,
    projections.FOLLOW_UP,
    projections.NAG,
    projections.BREACH,
    moderation.THREAT_NOTICE,
)
PRIVACY_EXPORT = "privacy_export"
# Why a complaint was redacted, in its `erased` event.
ON_REQUEST = "request"
UNDER_RETENTION = "retention"
# The `erased` event's count of files Heard uploaded about the complaint that are being deleted from Slack.
FILES_DELETED = "files_deleted"
RETENTION_ACTOR = Actor("scheduler", "retention")


def author_complaints(session: Session, author: str, *, up_to: int | None = None) -> list[Complaint]:
    """Every complaint of one author (a handle in any case, with or without the @), oldest first; through the
    lookups' index on the handle."""
    if queries.author_key(author) in ("", REDACTED):
        return []  # erased complaints belong to nobody any more
    matches = literal_column(queries.AUTHOR_KEY) == queries.author_key(author)
    statement = select(Complaint).where(matches).order_by(Complaint.id)
    if up_to is not None:
        statement = statement.where(Complaint.id <= up_to)
    return list(session.scalars(statement))


def on_hold(complaint: Complaint) -> bool:
    """Flagged for Legal (threat words found by triage, or Flag threat) and the hold not lifted by a manager."""
    flagged = bool(complaint.threats) or complaint.threat_flagged_at is not None
    return flagged and complaint.hold_lifted_at is None


def hold_reason(complaint: Complaint) -> str:
    """Why a complaint is on legal hold, in the words of the language being spoken."""
    if complaint.threat_flagged_at is not None:
        # Translators: why a complaint is on legal hold.
        return _("flagged as a threat to Legal by %(who)s", who=mention(complaint.threat_flagged_by))
    # Translators: why a complaint is on legal hold; the words are those triage matched, e.g. “sue”.
    return _("threat words found by triage: %(words)s", words=", ".join(f"“{w}”" for w in complaint.threats[:3]))


def redact(
    session: Session, complaint: Complaint, actor: Actor, now: datetime, why: str, *, thread_log: bool
) -> AuditEvent:
    """Redact the author's personal data of `complaint` (locked by the caller) everywhere Heard keeps it; the one
    function an erasure request and the retention policy share."""
    author_key = moderation.author_key(complaint)
    files = _forget_exports(session, queries.author_key(complaint.author_handle), now)
    uploads = select(Delivery).where(Delivery.complaint_id == complaint.id, Delivery.kind != delivery.FILE_DELETION)
    files += delivery.delete_uploads(session, session.scalars(uploads), now)
    complaint.text = REDACTED
    complaint.author_handle = REDACTED
    complaint.author_name = None
    complaint.author_id = None
    complaint.author_followers = None
    complaint.author_verified = None
    complaint.url = None
    complaint.raw = None
    complaint.resolution_note = REDACTED if complaint.resolution_note else None
    complaint.hidden_note = REDACTED if complaint.hidden_note else None
    complaint.erased_at = now
    complaint.erased_by = RETENTION if why == UNDER_RETENTION else actor.id
    session.flush()  # the audit table takes a redaction only of an erased complaint's events
    of_complaint = {"complaint_id": complaint.id}
    _set(session, ComplaintPost, of_complaint, text=REDACTED, url=None, raw=None)
    _set(session, Reply, of_complaint, text=REDACTED)
    _set(session, Escalation, of_complaint, reason=REDACTED)
    follow_ups = FollowUp.__table__
    noted = (follow_ups.c.complaint_id == complaint.id, follow_ups.c.note != "")
    session.execute(update(follow_ups).where(*noted).values(note=REDACTED))  # an empty note stays empty
    _set(session, WriteUp, of_complaint, what_happened=REDACTED, what_we_learned=REDACTED)
    session.execute(
        delete(ModeratedAuthor).where(
            ModeratedAuthor.source == complaint.source, ModeratedAuthor.author_key == author_key
        )
    )
    redacted = 0
    for event_id, detail in session.execute(
        select(AuditEvent.id, AuditEvent.detail).where(AuditEvent.complaint_id == complaint.id)
    ):
        cleaned = redacted_detail(detail or {})
        if cleaned != detail:
            session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(detail=cleaned))
            redacted += 1
    detail = {"under": why, "events_redacted": redacted, FILES_DELETED: files}
    outcome = lifecycle.apply(session, complaint, Action.ERASE, actor, now, detail)
    assert outcome.event is not None  # erasing applies in every state
    projections.refresh_card(session, complaint, now)
    for kind in SHOWING_THE_AUTHOR:
        delivery.refresh_existing(session, complaint_id=complaint.id, kind=kind, now=now)
    if thread_log:
        projections.log_in_thread(session, complaint, outcome.event, now)
    return outcome.event


def redacted_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The event's detail with every personal value replaced by the marker; the keys stay (the trail's structure)."""
    return {
        key: REDACTED if key in PERSONAL_DETAIL_KEYS and value not in (None, "", REDACTED) else value
        for key, value in detail.items()
    }


def _forget_exports(session: Session, handle: str, now: datetime) -> int:
    """Access files asked for this author keep no handle in the outbox (one not sent yet is not sent), and those
    in Slack are deleted: says how many are to be."""
    exports = select(Delivery).where(Delivery.complaint_id.is_(None), Delivery.kind == PRIVACY_EXPORT)
    # Locked and read afresh: a worker recording a file's id in the payload meanwhile must not be overwritten.
    exports = exports.with_for_update().execution_options(populate_existing=True)
    rows = [row for row in session.scalars(exports) if row.payload.get("author") == handle]
    for row in rows:
        row.payload = {**row.payload, "author": REDACTED}
    return delivery.delete_uploads(session, rows, now)


def _set(session: Session, model: Any, where: Mapping[str, Any], **values: Any) -> None:
    table = model.__table__
    session.execute(update(table).where(*(table.c[name] == value for name, value in where.items())).values(**values))


# -- the access request: one JSON file ------------------------------------------------------------------------------


def privacy_record(session: Session, author: str, now: datetime) -> dict[str, Any]:
    """Everything Heard holds about one author: each complaint's complete record (the post as the network sent it,
    later posts, replies, escalations, follow-ups, write-up, audit events) and their standing with the team."""
    complaints = author_complaints(session, author)
    return {
        "author": queries.author_key(author),
        "exported_at": now.astimezone(UTC).isoformat(),
        "complaints": [moderation.evidence_record(session, complaint, now) for complaint in complaints],
    }


def privacy_file(session: Session, author: str, row_id: int, now: datetime, tz: Any) -> FileUpload:
    record = privacy_record(session, author, now)
    content = json.dumps(record, ensure_ascii=False, indent=2, default=str)
    key = queries.author_key(author)
    # Translators: the title of the file a manager gets for a customer's data access request.
    title = n_(
        "Everything Heard holds about @%(handle)s, as of %(time)s (%(count)s complaint)",
        "Everything Heard holds about @%(handle)s, as of %(time)s (%(count)s complaints)",
        len(record["complaints"]),
        handle=key,
        time=long_time(now, tz),
    )
    return FileUpload(filename=f"heard-personal-data-{row_id}.json", content=content.encode(), title=title)


def send_privacy_export(session: Session, author: str, to: str, now: datetime) -> None:
    """Queue the file to the manager who asked, by DM; it is built when it is sent (off the request's thread)."""
    delivery.refresh(
        session,
        kind=PRIVACY_EXPORT,
        key=f"{PRIVACY_EXPORT}:{to}:{now.isoformat()}",
        complaint_id=None,
        now=now,
        payload={"to": to, "author": queries.author_key(author), delivery.UPLOAD: True},
        fresh=True,
    )


class PrivacyProjections:
    def __init__(self, settings: Settings, languages: Languages | None = None) -> None:
        self.settings = settings
        self.languages = languages

    @property
    def renderers(self) -> Mapping[str, delivery.Renderer]:
        return {PRIVACY_EXPORT: self.export}

    def export(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        if row.payload["author"] == REDACTED and not row.maybe_sent:
            return None  # erased before it was sent
        # Erased after an attempt Slack did not answer: the same file name, so the worker finds what that attempt
        # shared (then deleted) rather than sending anything about the author.
        to = str(row.payload["to"])
        with speaking_to(self.languages, session, to):
            upload = privacy_file(session, str(row.payload["author"]), row.id, now, self.settings.timezone)
        return Outgoing(to, Message(text=upload.title), file=upload)
