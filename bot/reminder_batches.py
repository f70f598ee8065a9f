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
# One nag message per person (or the channel) per sweep (the scheduler sweeps every 10 s).
NAG_GAP = timedelta(seconds=10)
# A nag held back to be listed with others still goes this long before its deadline.
NAG_MARGIN = timedelta(seconds=1)
MAX_LISTED = reminders.MAX_LISTED

NAG_DROPPED = "nag dropped"


class Joined(Exception):
    """The row was listed in a message still waiting to be posted: it sends nothing of its own."""


def folded(row: Delivery) -> bool:
    return FOLDED_INTO in (row.payload or {})


def forward(session: Session, row: Delivery, now: datetime) -> None:
    """A row listed in another message was asked to show a change: that message is re-rendered instead."""
    delivery.refresh_key(session, str(row.payload[FOLDED_INTO]), now)


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
    last = _recently_told(session, kind, recipient, exclude, now - gap)
    if last is None:
        return
    until = last + gap
    if latest is not None:
        until = min(until, latest)
    if until > now:
        raise NotReady(until - now)


def gather(session: Session, kind: str, row: Delivery, which: Any, now: datetime) -> list[tuple[Delivery, Complaint]]:
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
        .limit(MAX_LISTED * 2)
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
        if listed and not folded(other) and len(listed) < MAX_LISTED:
            return other
    return None


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


def batch_items(session: Session, row: Delivery) -> list[tuple[Complaint, dict[str, Any]]]:
    """The complaints a batch's message lists, with what each item says (clock, reminder)."""
    items = []
    for item in row.payload.get(BATCH) or []:
        complaint = session.get(Complaint, int(item["complaint"]))
        if complaint is not None:
            items.append((complaint, item))
    return items


def still_due(complaint: Complaint, which: Clock) -> bool:
    return clock_applies(complaint, which)
