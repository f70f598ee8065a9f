"""Moderation's records: an author's standing, the evidence file, the notices to Legal about a threat (queued here,
rendered by `threat_notice` in `bot/blocks/messages.py`, as is the warning message), and the warning drafted for an
author. The use cases are in `bot/services/moderation.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import delivery
from bot.blocks import Message
from bot.blocks.messages import threat_notice
from bot.blocks.moderation import ModerationView
from bot.blocks.text import person
from bot.blocks.when import long_time
from bot.config import Settings
from bot.delivery import FileUpload, NotReady, Outgoing
from bot.i18n import _
from bot.languages import Languages, speaking_to
from storage.models import AuditEvent, Base, Complaint, ComplaintPost, Delivery, ModeratedAuthor, WriteUp

THREAT_NOTICE = "threat_notice"
EVIDENCE = "evidence"
LEGAL = "legal"  # the directory department that hears about threats
PRIVATELY = "privately"  # an evidence row's payload: "to" is the asker's DM or EVIDENCE_CHANNEL
# Tables that are the complaint's record (everything with a complaint_id) except the outbox, which is Slack's copy.
NOT_EVIDENCE = {Delivery.__tablename__}


def author_key(complaint: Complaint) -> str:
    """The source's stable author id where there is one (a handle can be renamed), else the handle."""
    return complaint.author_id or complaint.author_handle.lstrip("@").lower()


def author_row(session: Session, complaint: Complaint, *, lock: bool = False) -> ModeratedAuthor | None:
    return session.get(ModeratedAuthor, (complaint.source, author_key(complaint)), with_for_update=lock)


def lock_author(session: Session, complaint: Complaint) -> ModeratedAuthor:
    """The author's row, created if missing, locked: two warnings at once count as two strikes, not one."""
    values = {
        "source": complaint.source,
        "author_key": author_key(complaint),
        "handle": complaint.author_handle.lstrip("@"),
        "strikes": 0,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(ModeratedAuthor).values(**values).on_conflict_do_nothing())
    author = author_row(session, complaint, lock=True)
    assert author is not None
    session.refresh(author)  # the row may have been read before another writer's commit
    return author


def moderation_view(
    session: Session,
    complaint: Complaint,
    settings: Settings,
    can_flag_threat: bool,
    loaded: tuple[ModeratedAuthor | None, WriteUp | None] | None = None,
) -> ModerationView:
    """`loaded`: the author's row and the write-up, when a batch of cards read them together."""
    if loaded is not None:
        author, write_up = loaded
    else:
        author = author_row(session, complaint)
        write_up = session.scalar(select(WriteUp).where(WriteUp.complaint_id == complaint.id))
    return ModerationView(
        strikes=author.strikes if author else 0,
        strikes_before_block=settings.strikes_before_block,
        blocked_at=author.blocked_at if author else None,
        blocked_by=author.blocked_by if author else None,
        muted_on_source=author.muted_on_source if author else None,
        block_note=author.block_note if author else None,
        written_up_by=write_up.written_by if write_up else None,
        written_up_at=write_up.written_at if write_up else None,
        can_flag_threat=can_flag_threat,
    )


def other_cards_of_author(session: Session, complaint: Complaint, limit: int = 50) -> list[Complaint]:
    """The author's other complaints with a card, newest first: their cards show the strikes too."""
    same_author = (
        Complaint.author_id == complaint.author_id
        if complaint.author_id
        else Complaint.author_handle == complaint.author_handle
    )
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.source == complaint.source, same_author, Complaint.id != complaint.id)
            .order_by(Complaint.id.desc())
            .limit(limit)
        )
    )


def warning_draft(complaint: Complaint, policy_url: str | None) -> str:
    """A polite public warning, to be sent as a reply; plain text the agent copies (or sends) as it is or edits."""
    handle = complaint.author_handle.lstrip("@")
    if policy_url:
        # Translators: a public reply to a customer whose post broke the community policy (a warm, firm tone);
        # the link is the policy's address.
        return _(
            "Hi @%(handle)s, we want to help and we read every message, criticism included. Please keep it respectful "
            "and within our community policy: %(link)s. Posts that break it may be hidden, and repeated ones lead to "
            "a block.",
            handle=handle,
            link=policy_url,
        )
    # Translators: a public reply to a customer whose post broke the community policy (a warm, firm tone).
    return _(
        "Hi @%(handle)s, we want to help and we read every message, criticism included. Please keep it respectful "
        "and within our community policy. Posts that break it may be hidden, and repeated ones lead to a block.",
        handle=handle,
    )


def notify_legal(session: Session, complaint: Complaint, recipients: list[str], mentions: str, now: datetime) -> None:
    """One notice per recipient (a user id for a DM, or a channel id), sent once."""
    for recipient in recipients:
        delivery.refresh(
            session,
            kind=THREAT_NOTICE,
            key=f"threat:{complaint.id}:{recipient}",
            complaint_id=complaint.id,
            now=now,
            payload={"to": recipient, "mentions": mentions},
            fresh=True,
        )


def evidence_recipient(settings: Settings, asked_by: str) -> str:
    """Where an evidence file goes: it holds the customer's personal data, so EVIDENCE_CHANNEL (private), else the
    DM of whoever asked; never the card's public thread."""
    return settings.evidence_channel or asked_by


def keep_evidence(session: Session, complaint: Complaint, event: AuditEvent, to: str, now: datetime) -> None:
    """The complete record as a file sent privately to `to` (`evidence_recipient`), built when it is sent (so it
    includes this request)."""
    session.flush()  # the event's id names the file
    delivery.refresh(
        session,
        kind=EVIDENCE,
        key=f"{EVIDENCE}:{event.id}",
        complaint_id=complaint.id,
        ref_id=event.id,
        now=now,
        payload={"to": to, delivery.UPLOAD: True, PRIVATELY: True},
        fresh=True,
    )


# -- the evidence record --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(row: Base) -> dict[str, Any]:
    return {attribute.key: _plain(getattr(row, attribute.key)) for attribute in inspect(row).mapper.column_attrs}


# The columns whose words the source's payload (`raw`) repeats: the payload keeps its shape, not a second copy.
_REPEATED_IN_RAW = ("text", "author_name", "author_handle", "url")


def _post_row(row: Complaint | ComplaintPost, name: str, said_once: bool) -> dict[str, Any]:
    """A post's row; `said_once`: its `raw` payload holds no second copy of personal data (a string there that
    repeats one of the row's columns becomes {"same_as": "<name>.<column>"})."""
    record = _row(row)
    if said_once and record.get("raw") is not None:
        record["raw"] = _without_copies(record["raw"], _said_in(record, name))
    return record


def _said_in(record: Mapping[str, Any], name: str) -> dict[str, str]:
    """The words of a post's row that its other records repeat, each with where it is said: {value: "name.column"}."""
    return {
        value.strip("@ "): f"{name}.{column}"
        for column in _REPEATED_IN_RAW
        if isinstance(value := record.get(column), str) and value.strip("@ ")
    }


def _without_copies(value: Any, stored: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        ref = stored.get(value.strip("@ \t\r\n"))
        return {"same_as": ref} if ref is not None else value
    if isinstance(value, list):
        return [_without_copies(item, stored) for item in value]
    if isinstance(value, dict):
        return {key: _without_copies(item, stored) for key, item in value.items()}
    return value


def evidence_record(
    session: Session, complaint: Complaint, now: datetime, *, said_once: bool = False
) -> dict[str, Any]:
    """Everything Heard holds about the complaint: the post as the source sent it (`complaint.raw`), the posts that
    joined it, every audit event, and every other record that names it (escalations, follow-ups, replies,
    write-up, and whatever later features add), plus the author's standing. `said_once` (the evidence file, sent
    to Slack): the customer's words once, where the payload or the standing repeat the text, the author or the link
    they point to the column; an access request's file (bot/privacy.py) has them as stored."""
    record: dict[str, Any] = {
        "kept_at": now.astimezone(UTC).isoformat(),
        "complaint": _post_row(complaint, "complaint", said_once),
        "conversation": [
            _post_row(post, "post", said_once)
            for post in session.scalars(
                select(ComplaintPost).where(ComplaintPost.complaint_id == complaint.id).order_by(ComplaintPost.id)
            )
        ],
        "audit_trail": [
            _row(event)
            for event in session.scalars(
                select(AuditEvent).where(AuditEvent.complaint_id == complaint.id).order_by(AuditEvent.id)
            )
        ],
    }
    covered = {Complaint.__tablename__, ComplaintPost.__tablename__, AuditEvent.__tablename__, *NOT_EVIDENCE}
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__tablename__):
        model = mapper.class_
        table = model.__tablename__
        if table in covered or "complaint_id" not in model.__table__.columns:
            continue
        primary = mapper.primary_key[0]
        rows = session.scalars(select(model).where(model.__table__.c.complaint_id == complaint.id).order_by(primary))
        record[table] = [_row(row) for row in rows]
    author = author_row(session, complaint)
    standing = _row(author) if author else None
    if said_once:  # the author's standing names them as the complaint does
        standing = _without_copies(standing, _said_in(record["complaint"], "complaint"))
    record["author_standing"] = standing
    return record


def evidence_file(session: Session, complaint: Complaint, event: AuditEvent, now: datetime, tz: ZoneInfo) -> FileUpload:
    record = evidence_record(session, complaint, now, said_once=True)
    content = json.dumps(record, ensure_ascii=False, indent=2, default=str)
    kept = _(
        "Evidence kept by %(who)s: the post as the source sent it, the conversation and every action, so it can be "
        "shown even if the post is deleted.",
        who=person(event.actor),
    )
    return FileUpload(
        filename=f"heard-complaint-{complaint.id}-evidence-{event.id}.json",
        content=content.encode(),
        title=_(
            "Evidence: complaint #%(id)s, the complete record as of %(time)s",
            id=complaint.id,
            time=long_time(now, tz),
        ),
        comment=f":file_folder: {kept}",
    )


class ModerationProjections:
    def __init__(self, settings: Settings, languages: Languages | None = None) -> None:
        self.settings = settings
        self.timezone = settings.timezone
        self.languages = languages

    @property
    def renderers(self) -> Mapping[str, delivery.Renderer]:
        return {THREAT_NOTICE: self.threat_notice, EVIDENCE: self.evidence}

    def threat_notice(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        complaint = session.get(Complaint, row.complaint_id)
        if complaint is None:
            return None
        if complaint.slack_ts is None:
            raise NotReady  # the notice links to the card, which is being posted
        posts = list(
            session.scalars(
                select(ComplaintPost).where(ComplaintPost.complaint_id == complaint.id).order_by(ComplaintPost.id)
            )
        )
        with speaking_to(self.languages, session, str(row.payload["to"])):  # a Legal contact's DM, or a channel
            message = threat_notice(complaint, posts, str(row.payload.get("mentions") or ""), self.timezone)
        return Outgoing(str(row.payload["to"]), message)

    def evidence(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        complaint = session.get(Complaint, row.complaint_id)
        event = session.get(AuditEvent, row.ref_id)
        if complaint is None or event is None:
            return None
        # Rows queued before evidence went privately named the card's channel: whoever asked gets those too.
        to = str(row.payload["to"]) if row.payload.get(PRIVATELY) else evidence_recipient(self.settings, event.actor)
        with speaking_to(self.languages, session, to):  # the person who asked, or EVIDENCE_CHANNEL
            upload = evidence_file(session, complaint, event, now, self.timezone)
        return Outgoing(to, Message(text=upload.title), file=upload)
