"""Typed SQLAlchemy 2 models. The schema itself is owned by Alembic (`migrations/`), never `create_all`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints let Alembic's batch mode (SQLite) and PostgreSQL alter them predictably.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_complaints_source_external_id"),
        Index("ix_complaints_status_ack_deadline", "status", "ack_deadline"),
        Index("ix_complaints_sla_due_at", "sla_due_at"),
        Index("ix_complaints_conversation", "source", "author_id", "conversation_id"),
        Index("ix_complaints_posted_at", "posted_at"),
        Index("ix_complaints_resolved_at", "resolved_at"),
        Index("ix_complaints_storm_id", "storm_id"),
        Index("ix_complaints_channel_received_at", "slack_channel", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(256))
    author_handle: Mapped[str] = mapped_column(String(256))
    author_name: Mapped[str | None] = mapped_column(String(256))
    author_id: Mapped[str | None] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(3000))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ack_deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    resolve_deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    # How many stages (nags, breach, reminders) of each clock are done; claimed under the row lock.
    ack_stage: Mapped[int] = mapped_column(Integer, default=0)
    resolve_stage: Mapped[int] = mapped_column(Integer, default=0)
    resolve_snoozed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The next moment the SLA sweep has work for this complaint; NULL when nothing more will fall due.
    sla_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    slack_permalink: Mapped[str | None] = mapped_column(String(500))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution_note: Mapped[str | None] = mapped_column(Text)
    # Bumped on every change so a card render can be matched to the state it shows.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    author_followers: Mapped[int | None] = mapped_column(Integer)
    author_verified: Mapped[bool | None] = mapped_column(Boolean)
    lang: Mapped[str | None] = mapped_column(String(16))
    # Later posts by the same author in this conversation join the complaint instead of opening new ones.
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    triage_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    personal_data: Mapped[list[str]] = mapped_column(JSON, default=list)
    threats: Mapped[list[str]] = mapped_column(JSON, default=list)
    category: Mapped[str | None] = mapped_column(String(64))
    extra_posts: Mapped[int] = mapped_column(Integer, default=0)
    # The post as the source sent it, kept as evidence.
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Moderation (never deletion): hidden with a reason, on the source where its API allows, else in Heard only.
    hidden_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    hidden_by: Mapped[str | None] = mapped_column(String(64))
    hidden_reason: Mapped[str | None] = mapped_column(String(32))
    hidden_note: Mapped[str | None] = mapped_column(Text)
    hidden_on_source: Mapped[bool | None] = mapped_column(Boolean)
    # Why the source did not hide it (X refused, no credentials, a source Heard cannot hide on), in words.
    hidden_source_refusal: Mapped[str | None] = mapped_column(String(300))
    threat_flagged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    threat_flagged_by: Mapped[str | None] = mapped_column(String(64))
    # Which adapter acts on it (bot/platforms); NULL is read as the listen-only generic webhook.
    platform: Mapped[str | None] = mapped_column(String(32), default="webhook")
    # What the author did on the network after Heard filed the post (earlier texts stay in the audit trail).
    edited_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The storm it was filed into (bot/services/storms.py): its place in Slack is a line in the storm's thread.
    storm_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # The author's personal data was redacted (bot/privacy.py: an erasure request, or the retention policy); the
    # complaint's timeline and audit trail stay.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    erased_by: Mapped[str | None] = mapped_column(String(64))
    # A threat puts a complaint on legal hold (no erasure) until a manager lifts it.
    hold_lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    hold_lifted_by: Mapped[str | None] = mapped_column(String(64))


class Storm(Base):
    """A surge in one channel: its complaints are listed in one storm card's thread instead of each getting a
    card. At most one open storm per channel (a partial unique index), so copies of Heard open it once."""

    __tablename__ = "storms"
    __table_args__ = (
        Index(
            "uq_storms_open_channel",
            "channel",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_storms_channel_ended_at", "channel", "ended_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # "open" or "ended"
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Since when arrivals have stayed below the threshold (the storm ends by itself after STORM_CALM of it).
    calm_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    slack_permalink: Mapped[str | None] = mapped_column(String(500))


class Escalation(Base):
    """A complaint handed to a department from the directory; may first need a manager's approval."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_complaint_id", "complaint_id"),
        Index("ix_escalations_requested_at", "requested_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    department_key: Mapped[str] = mapped_column(String(64))
    department_name: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    accepted_by: Mapped[str | None] = mapped_column(String(64))
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class FollowUp(Base):
    """A reminder to get back to the customer; its DM is sent once, at `due_at`, by whichever copy claims it."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    assignee: Mapped[str] = mapped_column(String(64))
    scheduled_by: Mapped[str] = mapped_column(String(64))
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ComplaintPost(Base):
    """A later post that joined an open complaint (same author, same conversation); shown in the card's thread."""

    __tablename__ = "complaint_posts"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_complaint_posts_source_external_id"),
        Index("ix_complaint_posts_complaint_id", "complaint_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(3000))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class XFeed(Base):
    """One X feed's position and health (mentions, search). Written only by the copy holding the poller lease."""

    __tablename__ = "x_feeds"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    # What is polled (user id or query); a changed target starts the feed afresh.
    target: Mapped[str] = mapped_column(String(600), default="")
    since_id: Mapped[str | None] = mapped_column(String(32))
    # Mid-way through a paged read: where to continue, and the newest id the finished read will move to.
    page_token: Mapped[str | None] = mapped_column(String(200))
    page_newest_id: Mapped[str | None] = mapped_column(String(32))
    reads_day: Mapped[str | None] = mapped_column(String(10))
    reads: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    gap_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    stopped_reason: Mapped[str | None] = mapped_column(String(300))
    # A fingerprint of the token that was refused: a new token tries again at once.
    stopped_token: Mapped[str | None] = mapped_column(String(32))


class Lease(Base):
    """A named job only one copy of Heard may do at a time; whoever holds an unexpired lease does it."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEvent(Base):
    """Append-only record of who did what, when and from where (database triggers refuse UPDATE/DELETE; the one
    UPDATE they allow turns `detail` values of an erased complaint into the redacted marker, migration 0017)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_complaint_id_at", "complaint_id", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    surface: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Delivery(Base):
    """The outbox: one row per message Heard keeps in Slack (or one private answer), see `bot/delivery/`."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_due_at", "status", "due_at"),
        Index("ix_deliveries_complaint_id_kind", "complaint_id", "kind"),
        Index("ix_deliveries_status_priority_due_at", "status", "priority", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    # What the projection shows besides the complaint (an escalation, a follow-up, an audit event).
    ref_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # Where the message landed, once posted (a DM addressed to a user id lands in a D... channel).
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    generation: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # True while an attempt may have reached Slack without us learning the outcome (timeout, crash).
    maybe_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Which due rows spend Slack's budget first (`bot/delivery/priority.py`): lower goes sooner.
    priority: Mapped[int] = mapped_column(SmallInteger, default=2, server_default=text("2"))
    # The conversation its chat.postMessage is paced on, when known before rendering (`bot/delivery/pace.py`).
    pace_key: Mapped[str | None] = mapped_column(String(64))
    # Since when it has been waiting to be sent (kept while it waits; the honest lag of /healthz).
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DeliveryPace(Base):
    """One conversation's chat.postMessage pace, shared by every copy of Heard (GCRA: the theoretical arrival
    time of its next message, in seconds since the epoch), claimed under a row lock."""

    __tablename__ = "delivery_pace"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)


class DeliveryFlag(Base):
    """A shared switch raised and lowered by conditional update, so one copy of Heard says it (the lag alert)."""

    __tablename__ = "delivery_flags"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    raised: Mapped[bool] = mapped_column(Boolean)
    episode: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DigestRun(Base):
    """A digest claimed for one recipient: the unique key makes it once per (kind, period, recipient)."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("kind", "last_day", "recipient", name="uq_digest_runs_kind"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "daily" or "weekly"; "retention" for the retention sweep's day
    # The period's last local day (the digest covers `last_day`, or the 7 days ending on it).
    last_day: Mapped[date] = mapped_column(Date)
    # A user id (sent by DM) or a channel id.
    recipient: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Reply(Base):
    """What Heard said, or drafted, to a customer about a complaint: a public reply or a DM sent through X, or a
    draft an agent copies and sends by hand (then marks replied). One row per request (`request_key`: the modal
    view that asked), so a Slack retry or a double submit finds it instead of sending twice."""

    __tablename__ = "replies"
    __table_args__ = (
        UniqueConstraint("request_key", name="uq_replies_request_key"),
        Index("ix_replies_complaint_id", "complaint_id"),
        Index("ix_replies_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    request_key: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(16))  # "acknowledge" or "private"
    channel: Mapped[str] = mapped_column(String(16))  # "public", "dm" or "copy"
    text: Mapped[str] = mapped_column(Text)
    # False when the template went out as it was (after the agent confirmed "Make it personal?").
    personalised: Mapped[bool] = mapped_column(Boolean)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A sender holds the row until then; a row whose sender died is taken over afterwards.
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # True once an attempt may have reached X without us learning the outcome: look before sending again.
    maybe_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(500))
    external_id: Mapped[str | None] = mapped_column(String(64))  # the post id or DM event id on X
    url: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Who sent it by hand (Mark replied); replies sent through X are sent by `requested_by`.
    sent_by: Mapped[str | None] = mapped_column(String(64))


class ModeratedAuthor(Base):
    """An author's standing with the team, per source: strikes (one per post they were warned about) and a block.
    Keyed by the source's author id where there is one, else the lower-cased handle, so renames keep strikes."""

    __tablename__ = "moderated_authors"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    author_key: Mapped[str] = mapped_column(String(256), primary_key=True)
    handle: Mapped[str] = mapped_column(String(256))
    strikes: Mapped[int] = mapped_column(Integer, default=0)
    last_strike_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    blocked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    blocked_by: Mapped[str | None] = mapped_column(String(64))
    # True: muted on the source through its API; False: recorded in Heard only (block_note says why).
    muted_on_source: Mapped[bool | None] = mapped_column(Boolean)
    block_note: Mapped[str | None] = mapped_column(String(300))


class WriteUp(Base):
    """A short report on a hard case (what happened, what we learned), one per complaint, listed in the weekly
    digest of the week it was written."""

    __tablename__ = "write_ups"
    __table_args__ = (
        UniqueConstraint("complaint_id", name="uq_write_ups_complaint_id"),
        Index("ix_write_ups_written_at", "written_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    what_happened: Mapped[str] = mapped_column(Text)
    what_we_learned: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AssignCursor(Base):
    """Round-robin's place in one pool of agents (auto-assignment): the last agent given a complaint. Locked and
    moved in the unit of work that files the complaints, so copies of Heard take turns from one place."""

    __tablename__ = "assign_cursors"

    pool: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_agent: Mapped[str | None] = mapped_column(String(64))
    turns: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Handoff(Base):
    """A person's turn on duty in a rotation, claimed once by its unique key (their DM with the open queue)."""

    __tablename__ = "handoffs"
    __table_args__ = (UniqueConstraint("rotation", "person", "since", name="uq_handoffs_rotation"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    rotation: Mapped[str] = mapped_column(String(128))
    person: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    until: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgentStatus(Base):
    """An agent's own availability, set from Heard's Home tab: away agents get no complaints assigned."""

    __tablename__ = "agent_status"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    away: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PersonLanguage(Base):
    """The language a person sees Heard's own views in: their Slack locale as `users.info` last said it, and the
    language they chose on Heard's Home tab (which wins; NULL: Slack's)."""

    __tablename__ = "person_languages"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slack_locale: Mapped[str | None] = mapped_column(String(32))
    locale_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    chosen_language: Mapped[str | None] = mapped_column(String(16))
    chosen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
