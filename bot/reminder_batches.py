"""Clock messages that fall due together go out as one message per recipient, listing them.

In a storm twenty complaints may reach a deadline within seconds: twenty nags in twenty threads, each pinging the
on-duty people, and twenty breach DMs to each manager, all competing for the channel's one message a second. So
when the worker renders a nag or a breach alert for the first time, it takes the other rows of the same kind
waiting for the same recipient (the owner's DM, or the channel for complaints nobody claimed, or one manager) and
lists them in this message: the others are marked done, `folded_into` this row, and this row remembers its
`batch`. A later change to one of them (someone acknowledges) re-renders the batch's message. One complaint alone
still gets its own message, exactly as before.

Pacing per recipient: while alerts about other complaints keep falling due, a manager gets at most one alert
message per `ALERT_INTERVAL`, and a person (or the channel) at most one nag message per sweep; what falls due
meanwhile waits and is listed in the next one. A nag never goes out after the deadline it warns of: it is dropped
(the audit trail says so) and the breach alert, which follows at the deadline, says it instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from bot import delivery
from bot.blocks import reminders
from bot.delivery import NotReady
from bot.sla import Clock, clock_applies, clock_deadline
from storage.models import AuditEvent, Complaint, Delivery

FOLDED_INTO = "folded_into"
BATCH = "batch"
# Rows due this much later are listed now too (a retry pushed a little ahead; nags due in the same moment).
AHEAD = timedelta(seconds=5)
# One nag message per person (or the channel) per sweep (the scheduler sweeps every 10 s) at most.
NAG_GAP = timedelta(seconds=10)
# In a storm, nags falling due within this long of a nag list are added to it (an update) rather than starting a new
# message: in Slack at once, the people pinged once a minute. While a new list waits for a slot of the channel (new
# cards go first), nags falling due are added to the last list posted within NAG_FALLBACK instead.
NAG_WINDOW = timedelta(minutes=1)
NAG_FALLBACK = timedelta(minutes=10)
# A nag alone waits this long for others falling due with it (their rows are made when they fall due, so it cannot
# see them coming): in a storm the first of a burst is then a list the rest are added to, not a message of its own
# that would hold them back for a sweep.
NAG_COLLECT = timedelta(seconds=2)
# A nag held back to be listed with others still goes this long before its deadline.
NAG_MARGIN = timedelta(seconds=1)
MAX_LISTED = reminders.MAX_LISTED
# Nags or breach alerts one message may stand for (shown in full up to MAX_LISTED, then "and N more").
MAX_ALERTED = reminders.MAX_ALERTED

NAG_DROPPED = "nag dropped"
# A change to a complaint listed in a message another transaction holds asks again this soon.
FORWARD_RETRY = timedelta(milliseconds=500)
# An alert due while the recipient's message is being posted waits this long to be added to it.
ON_ITS_WAY_RETRY = timedelta(seconds=1)
# The gap between two messages to one recipient counts from the first one's attempt; Slack takes it a moment later
# (a second or two when it is slow), so the next one waits this much more, lest two land within one gap.
POST_MARGIN = timedelta(seconds=2)


class Joined(Exception):
    """The row was listed in a message still waiting to be posted: it sends nothing of its own."""


def folded(row: Delivery) -> bool:
    return FOLDED_INTO in (row.payload or {})


def forward(session: Session, row: Delivery, now: datetime) -> None:
    """A row listed in another message was asked to show a change: that message is re-rendered instead. Without
    waiting for it: a use case changing many complaints at once (Claim all) holds some of their rows while it bumps
    the rest, and a worker that held one of those and waited here for one of these would wait on it for good. A
    message held by someone else is being changed or rendered right now; this row asks again in a moment."""
    key = str(row.payload[FOLDED_INTO])
    if session.scalar(select(Delivery.id).where(Delivery.key == key).with_for_update(skip_locked=True)) is None:
        if session.scalar(select(Delivery.id).where(Delivery.key == key)) is not None:
            raise NotReady(FORWARD_RETRY)
        return
    delivery.refresh_key(session, key, now)


def drop_if_late(session: Session, row: Delivery, complaint: Complaint, which: Clock, now: datetime) -> bool:
    """A nag whose deadline has passed warns of nothing: record that it was not sent, and send nothing."""
    deadline = clock_deadline(complaint, which)
    if now < deadline:
        return False
    session.add(
        AuditEvent(
            complaint_id=complaint.id,
            at=now,
            actor="scheduler",
            action=NAG_DROPPED,
            surface="scheduler",
            detail={
                "clock": which.value,
                "message": row.key,
                "deadline": deadline.isoformat(),
                "late_seconds": round((now - deadline).total_seconds(), 1),
                "why": "Slack could not be reached before the deadline; the breach alert says it instead",
            },
        )
    )
    return True


def _recently_told(session: Session, kind: str, recipient: str, exclude: set[int], since: datetime) -> datetime | None:
    """When `recipient` last got a new message of `kind` about a complaint not in `exclude` (posted or listed)."""
    return session.scalar(
        select(Delivery.attempted_at)
        .where(
            Delivery.kind == kind,
            Delivery.pace_key == recipient,
            Delivery.attempted_at > since,
            Delivery.complaint_id.not_in(exclude),
        )
        .order_by(Delivery.attempted_at.desc())
        .limit(1)
    )


def hold(
    session: Session, kind: str, row: Delivery, recipient: str, gap: timedelta, now: datetime, latest: datetime | None
) -> None:
    """Raise NotReady while `recipient` was told about other complaints less than `gap` ago (not past `latest`)."""
    exclude = {row.complaint_id or 0}
    last = _recently_told(session, kind, recipient, exclude, now - gap - POST_MARGIN)
    if last is None:
        return
    until = last + gap + POST_MARGIN
    if latest is not None:
        until = min(until, latest)
    if until > now:
        raise NotReady(until - now)


def gather(
    session: Session, kind: str, row: Delivery, which: Any, now: datetime, limit: int = MAX_LISTED * 2
) -> list[tuple[Delivery, Complaint]]:
    """Other rows of `kind` waiting for the same recipient (`which`: extra conditions on Complaint/Delivery), locked
    for this transaction (rows another copy holds are skipped)."""
    rows = session.execute(
        select(Delivery, Complaint)
        .join(Complaint, Complaint.id == Delivery.complaint_id)
        .where(
            Delivery.kind == kind,
            Delivery.status == delivery.PENDING,
            Delivery.ts.is_(None),
            Delivery.id != row.id,
            Delivery.due_at <= now + AHEAD,
            which,
        )
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Delivery)
    ).all()
    # A list not posted yet is never folded into another one (its own items would be lost with it): new rows join
    # it instead (`pending_list`).
    return [(other, complaint) for other, complaint in rows if not folded(other) and BATCH not in other.payload]


def pending_list(session: Session, kind: str, row: Delivery, which: Any) -> Delivery | None:
    """A message of `kind` listing complaints for the same recipient that has not been posted yet and has room: a
    row falling due now is listed in it rather than starting a message of its own (which would wait for the same
    pace, or fold that list away)."""
    rows = session.scalars(
        select(Delivery)
        .join(Complaint, Complaint.id == Delivery.complaint_id)
        .where(
            Delivery.kind == kind,
            Delivery.status == delivery.PENDING,
            Delivery.ts.is_(None),
            Delivery.id != row.id,
            which,
        )
        .order_by(Delivery.id)
        .with_for_update(skip_locked=True, of=Delivery)
    ).all()
    for other in rows:
        listed = (other.payload or {}).get(BATCH)
        if listed and not folded(other) and len(listed) < MAX_ALERTED:
            return other
    return None


def posted_list(
    session: Session, kind: str, row: Delivery, recipient: str, gap: timedelta, now: datetime, *, lists_only: bool
) -> Delivery | None:
    """The message of `kind` posted to `recipient` less than `gap` ago, if it has room: an alert falling due now is
    added to it (a chat.update, at once) rather than waiting for the next message `gap` after it. The recipient
    still gets at most one new message per `gap`, and each alert is in Slack within seconds of falling due. When
    none is posted yet but one is on its way, or another copy holds it, this one tries again in a second (it is
    found first, then locked without waiting: two copies each holding one manager's message while adding to the
    other's would wait on each other for good). `lists_only`: a message about one complaint is not turned into a
    list (a nag in one card's thread)."""
    lately = and_(
        Delivery.kind == kind,
        Delivery.pace_key == recipient,
        Delivery.id != row.id,
        Delivery.attempted_at > now - gap - POST_MARGIN,
    )
    posted = session.execute(
        select(Delivery.id, Delivery.payload)
        .where(lately, Delivery.ts.is_not(None))
        .order_by(Delivery.attempted_at.desc())
        .limit(5)
    ).all()
    # A row listed in a message and asked to show a change meanwhile (pending until it forwards it) is not one.
    found = next((found for found, payload in posted if FOLDED_INTO not in (payload or {})), None)
    if found is None:
        on_its_way = session.execute(
            select(Delivery.payload)
            .where(lately, Delivery.ts.is_(None), Delivery.status.in_((delivery.PENDING, delivery.SENDING)))
            .limit(5)
        ).all()
        if any(FOLDED_INTO not in (payload or {}) for (payload,) in on_its_way):
            raise NotReady(ON_ITS_WAY_RETRY)  # the recipient's message of this interval is being posted
        return None
    leader = session.scalar(select(Delivery).where(Delivery.id == found).with_for_update(skip_locked=True))
    if leader is None:
        raise NotReady(ON_ITS_WAY_RETRY)  # another copy holds it for a moment
    if len(leader.payload.get(BATCH) or [None]) >= MAX_ALERTED or (lists_only and BATCH not in leader.payload):
        return None
    return leader


def join_posted(
    session: Session,
    leader: Delivery,
    rows: list[tuple[Delivery, dict[str, Any]]],
    leaders_own: dict[str, Any],
    recipient: str,
    now: datetime,
) -> None:
    """`rows` (each with its item) are added to `leader`'s message, already posted (`posted_list`), which is
    updated once to show them. A message that stood for one alert becomes a list (`leaders_own`: its item). The
    same complaint and clock is listed once, with its latest reminder; the message lists at most MAX_ALERTED (the
    rest keep waiting, for the next message)."""
    listed = list(leader.payload.get(BATCH) or [leaders_own])
    where = {(old["complaint"], old["clock"]): n for n, old in enumerate(listed)}
    joined = []
    for row, item in rows:
        key = (item["complaint"], item["clock"])
        if key in where:
            if int(item.get("reminder", 0)) > int(listed[where[key]].get("reminder", 0)):
                listed[where[key]] = item
        elif len(listed) < MAX_ALERTED:
            where[key] = len(listed)
            listed.append(item)
        else:
            continue
        joined.append(row)
    fold(session, leader, joined, recipient, now)
    for row in joined:
        row.attempted_at = leader.attempted_at  # told when that message was: the next new one is a gap after it
    leader.payload = {**leader.payload, BATCH: listed}
    session.flush()
    delivery.refresh_key(session, leader.key, now)


def join(
    session: Session, leader: Delivery, row: Delivery, item: dict[str, Any], recipient: str, now: datetime
) -> None:
    """`row` is listed in `leader`'s message (not posted yet), which is rendered again to show it."""
    fold(session, leader, [row], recipient, now)
    leader.payload = {**leader.payload, BATCH: [*leader.payload[BATCH], item]}
    session.flush()
    delivery.refresh_key(session, leader.key, now)


def fold(session: Session, leader: Delivery, others: list[Delivery], recipient: str, now: datetime) -> None:
    """`others` are listed in `leader`'s message from now on."""
    for other in others:
        other.status = delivery.DONE
        other.payload = {**other.payload, FOLDED_INTO: leader.key}
        other.pace_key = recipient
        other.attempted_at = now
        other.delivered_at = now


def nag_recipient(complaint: Complaint) -> Any:
    """Nags about one person's complaints go to that person; unclaimed ones to the channel their card is in."""
    if complaint.owner_id:
        return Complaint.owner_id == complaint.owner_id
    return and_(
        Complaint.owner_id.is_(None),
        Complaint.slack_ts.is_not(None),
        Complaint.slack_channel == complaint.slack_channel,
    )


def listed_in(message: Delivery) -> set[int]:
    """The complaints a posted message shows (one alone, or its list)."""
    return {int(item["complaint"]) for item in message.payload.get(BATCH) or []} or {message.complaint_id or 0}


def more_due_soon(session: Session, complaint: Complaint, now: datetime) -> bool:
    """Whether another complaint for the same recipient has something falling due within NAG_COLLECT (a burst):
    only then does a nag alone wait for them."""
    return (
        session.scalar(
            select(Complaint.id)
            .where(
                nag_recipient(complaint),
                Complaint.id != complaint.id,
                Complaint.sla_due_at > now - AHEAD,
                Complaint.sla_due_at <= now + NAG_COLLECT,
            )
            .limit(1)
        )
        is not None
    )


def batch_items(session: Session, row: Delivery) -> list[tuple[Complaint, dict[str, Any]]]:
    """The complaints a batch's message lists, with what each item says (clock, reminder), read in one query (a
    manager's alert message may list hundreds)."""
    listed = row.payload.get(BATCH) or []
    wanted = {int(item["complaint"]) for item in listed}
    found = {c.id: c for c in session.scalars(select(Complaint).where(Complaint.id.in_(wanted)))} if wanted else {}
    return [(found[int(item["complaint"])], item) for item in listed if int(item["complaint"]) in found]


def still_due(complaint: Complaint, which: Clock) -> bool:
    return clock_applies(complaint, which)
