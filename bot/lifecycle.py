"""Complaint, escalation and follow-up states, and the explicit tables of what each action may do from each.

Every change goes through this module: it checks the table and the guards, mutates the row, and appends one
audit event. A repeated request (a double click, a Slack retry) is a no-op that writes nothing; a request that
no longer applies raises `TransitionRefused` with a sentence the person who asked can read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.blocks.text import mention
from bot.i18n import N_, _
from storage.models import AuditEvent, Complaint, Escalation, FollowUp


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class EscalationStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting approval"
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class FollowUpStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    DONE = "done"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """The audit trail's vocabulary: one value per kind of change."""

    RECEIVE = "received"
    JOIN = "post joined"
    CLAIM = "claimed"
    RELEASE = "released"
    REASSIGN = "reassigned"
    ASSIGN = "assigned"  # by the rotation at intake (bot/assignment.py)
    ACKNOWLEDGE = "acknowledged"
    ESCALATE = "escalated"
    APPROVE_ESCALATION = "escalation approved"
    DECLINE_ESCALATION = "escalation declined"
    ACCEPT_ESCALATION = "escalation accepted"
    SCHEDULE_FOLLOW_UP = "follow-up scheduled"
    SEND_FOLLOW_UP = "follow-up sent"
    FINISH_FOLLOW_UP = "follow-up done"
    SNOOZE_FOLLOW_UP = "follow-up snoozed"
    CANCEL_FOLLOW_UP = "follow-up cancelled"
    RESOLVE = "resolved"
    REOPEN = "reopened"
    NAG = "nagged"
    BREACH = "breached"
    REMIND = "breach reminder"
    SNOOZE_RESOLUTION = "resolution reminders snoozed"
    # Moderation (bot/services/moderation.py): nothing is ever deleted, every step is on the record.
    HIDE = "hidden"
    UNHIDE = "unhidden"
    FLAG_THREAT = "threat flagged"
    WARN_AUTHOR = "author warned"
    BLOCK_AUTHOR = "author blocked"
    KEEP_EVIDENCE = "evidence kept"
    WRITE_UP = "written up"
    # Replies to the customer (bot/services/replies.py): what was said, by whom, where; failures too.
    REPLY = "replied"
    SEND_DM = "sent a DM"
    DRAFT_REPLY = "reply drafted"
    MARK_REPLIED = "marked replied"
    REPLY_FAILED = "reply failed"
    # What the author did on the network after Heard filed the post (bot/services/intake.py); Heard keeps its record.
    EDITED_BY_AUTHOR = "edited by the author"
    REMOVED_BY_AUTHOR = "removed by the author"
    # Data-subject requests and retention (bot/privacy.py): the author's personal data redacted, the record kept.
    ERASE = "erased"
    LIFT_HOLD = "legal hold lifted"


_OPEN = (Status.NEW, Status.ACKNOWLEDGED)
_ANY = (*_OPEN, Status.RESOLVED)


def _same(*states: Status) -> dict[Status, Status]:
    return {state: state for state in states}


# action -> {from-state: to-state}. A pair missing here is refused. Ownership, escalations and follow-ups do not
# move the status, so those actions keep the state they find (and are refused once the complaint is resolved,
# except follow-ups, which matter most after resolution).
TRANSITIONS: dict[Action, dict[Status, Status]] = {
    Action.CLAIM: _same(*_OPEN),
    Action.RELEASE: _same(*_OPEN),
    Action.REASSIGN: _same(*_OPEN),
    Action.ASSIGN: _same(*_OPEN),
    Action.ACKNOWLEDGE: {Status.NEW: Status.ACKNOWLEDGED},
    Action.ESCALATE: _same(*_OPEN),
    Action.APPROVE_ESCALATION: _same(*_ANY),
    Action.DECLINE_ESCALATION: _same(*_ANY),
    Action.ACCEPT_ESCALATION: _same(*_ANY),
    Action.SCHEDULE_FOLLOW_UP: _same(*_ANY),
    Action.SEND_FOLLOW_UP: _same(*_ANY),
    Action.FINISH_FOLLOW_UP: _same(*_ANY),
    Action.SNOOZE_FOLLOW_UP: _same(*_ANY),
    Action.CANCEL_FOLLOW_UP: _same(*_ANY),
    Action.NAG: _same(*_OPEN),
    Action.BREACH: _same(*_OPEN),
    Action.REMIND: _same(*_OPEN),
    Action.SNOOZE_RESOLUTION: _same(*_OPEN),
    Action.RESOLVE: {Status.NEW: Status.RESOLVED, Status.ACKNOWLEDGED: Status.RESOLVED},
    Action.REOPEN: {Status.RESOLVED: Status.ACKNOWLEDGED},
    # Moderation matters as much after resolution (a threat, evidence, a write-up), so it applies in every state.
    Action.HIDE: _same(*_ANY),
    Action.UNHIDE: _same(*_ANY),
    Action.FLAG_THREAT: _same(*_ANY),
    Action.WARN_AUTHOR: _same(*_ANY),
    Action.BLOCK_AUTHOR: _same(*_ANY),
    Action.KEEP_EVIDENCE: _same(*_ANY),
    Action.WRITE_UP: _same(*_ANY),
    # A reply finishes sending (or is marked sent by hand) whatever happened to the complaint meanwhile.
    Action.REPLY: _same(*_ANY),
    Action.SEND_DM: _same(*_ANY),
    Action.DRAFT_REPLY: _same(*_ANY),
    Action.MARK_REPLIED: _same(*_ANY),
    Action.REPLY_FAILED: _same(*_ANY),
    Action.EDITED_BY_AUTHOR: _same(*_ANY),
    Action.REMOVED_BY_AUTHOR: _same(*_ANY),
    Action.ERASE: _same(*_ANY),
    Action.LIFT_HOLD: _same(*_ANY),
}

ESCALATION_TRANSITIONS: dict[Action, dict[EscalationStatus, EscalationStatus]] = {
    Action.APPROVE_ESCALATION: {EscalationStatus.AWAITING_APPROVAL: EscalationStatus.OPEN},
    Action.DECLINE_ESCALATION: {EscalationStatus.AWAITING_APPROVAL: EscalationStatus.DECLINED},
    Action.ACCEPT_ESCALATION: {EscalationStatus.OPEN: EscalationStatus.ACCEPTED},
}

FOLLOW_UP_TRANSITIONS: dict[Action, dict[FollowUpStatus, FollowUpStatus]] = {
    Action.SEND_FOLLOW_UP: {FollowUpStatus.SCHEDULED: FollowUpStatus.SENT},
    Action.FINISH_FOLLOW_UP: {
        FollowUpStatus.SCHEDULED: FollowUpStatus.DONE,
        FollowUpStatus.SENT: FollowUpStatus.DONE,
    },
    Action.SNOOZE_FOLLOW_UP: {
        FollowUpStatus.SCHEDULED: FollowUpStatus.SCHEDULED,
        FollowUpStatus.SENT: FollowUpStatus.SCHEDULED,
    },
    Action.CANCEL_FOLLOW_UP: {FollowUpStatus.SCHEDULED: FollowUpStatus.CANCELLED},
}


class TransitionRefused(Exception):
    """The action does not apply as things are now; `str()` is written for the person who asked."""


# How a refusal names the complaint's state, and the actions a person can be refused (in the language spoken).
_STATUS_WORDS = {
    # Translators: a complaint's state, in "This complaint is %(status)s; …".
    Status.NEW: N_("new"),
    Status.ACKNOWLEDGED: N_("acknowledged"),
    Status.RESOLVED: N_("resolved"),
}
_REFUSALS = {
    Action.CLAIM: N_("This complaint is %(status)s; it cannot be claimed now."),
    Action.RELEASE: N_("This complaint is %(status)s; it cannot be released now."),
    Action.REASSIGN: N_("This complaint is %(status)s; it cannot be reassigned now."),
    Action.ACKNOWLEDGE: N_("This complaint is %(status)s; it cannot be acknowledged now."),
    Action.ESCALATE: N_("This complaint is %(status)s; it cannot be escalated now."),
    Action.RESOLVE: N_("This complaint is %(status)s; it cannot be resolved now."),
    Action.REOPEN: N_("This complaint is %(status)s; it cannot be reopened now."),
    Action.SNOOZE_RESOLUTION: N_("This complaint is %(status)s; its reminders cannot be snoozed now."),
}


def _refusal(current: Status, action: Action) -> str:
    words = _REFUSALS.get(action, N_("This complaint is %(status)s; this cannot be done now."))
    return _(words, status=_(_STATUS_WORDS[current]))


@dataclass(frozen=True)
class Actor:
    id: str
    surface: str  # where the request came from, e.g. "slack:button", "slack:modal", "ingest", "scheduler"


@dataclass(frozen=True)
class Outcome:
    changed: bool
    # For a no-op that someone else caused (e.g. another person acknowledged first), what to tell the requester.
    notice: str | None = None
    event: AuditEvent | None = None


# -- complaints ---------------------------------------------------------------------------------------------------


def _claim(complaint: Complaint, actor: Actor, now: datetime, detail: dict[str, Any]) -> Outcome | None:
    if complaint.owner_id == actor.id:
        return Outcome(changed=False)
    if complaint.owner_id is not None:
        raise TransitionRefused(_("This complaint is already claimed by %(who)s.", who=mention(complaint.owner_id)))
    complaint.owner_id = actor.id
    complaint.claimed_by = actor.id
    complaint.claimed_at = now
    return None


def _release(complaint: Complaint, actor: Actor, now: datetime, detail: dict[str, Any]) -> Outcome | None:
    if complaint.owner_id is None:
        return Outcome(changed=False, notice=_("Nobody owns this complaint; there is nothing to release."))
    if complaint.owner_id != actor.id and not detail.get("as_manager"):
        raise TransitionRefused(
            _("Only its owner, %(who)s, or a manager can release this complaint.", who=mention(complaint.owner_id))
        )
    detail["previous_owner"] = complaint.owner_id
    complaint.owner_id = None
    complaint.claimed_by = None
    complaint.claimed_at = None
    return None


def _reassign(complaint: Complaint, actor: Actor, now: datetime, detail: dict[str, Any]) -> Outcome | None:
    target = detail["to"]
    if complaint.owner_id == target:
        return Outcome(changed=False, notice=_("%(who)s already owns this complaint.", who=mention(target)))
    detail["previous_owner"] = complaint.owner_id
    complaint.owner_id = target
    complaint.claimed_by = actor.id
    complaint.claimed_at = now
    return None


def _acknowledge(complaint: Complaint, actor: Actor, now: datetime, detail: dict[str, Any]) -> Outcome | None:
    complaint.acknowledged_by = actor.id
    complaint.acknowledged_at = now
    return None


def _resolve(complaint: Complaint, actor: Actor, now: datetime, detail: dict[str, Any]) -> Outcome | None:
    complaint.resolved_by = actor.id
    complaint.resolved_at = now
    complaint.resolution_note = detail.get("note") or None
    if complaint.acknowledged_at is None:
        # Resolving answers the customer, which is more than acknowledging; the window is met.
        complaint.acknowledged_by = actor.id
        complaint.acknowledged_at = now
    return None


def _reopen(complaint: Complaint, actor: Actor, now: datetime, detail: dict[str, Any]) -> Outcome | None:
    complaint.resolved_by = None
    complaint.resolved_at = None
    return None


def _no_effect(complaint: Complaint, actor: Actor, now: datetime, detail: dict[str, Any]) -> Outcome | None:
    return None


Effect = Callable[[Complaint, Actor, datetime, dict[str, Any]], Outcome | None]
_EFFECTS: dict[Action, Effect] = {
    Action.CLAIM: _claim,
    Action.RELEASE: _release,
    Action.REASSIGN: _reassign,
    Action.ACKNOWLEDGE: _acknowledge,
    Action.RESOLVE: _resolve,
    Action.REOPEN: _reopen,
}


def _repeat(complaint: Complaint, action: Action, actor: Actor) -> Outcome | None:
    """Repeats of an action whose effect already holds: silent for the same person, explained to anyone else."""
    if action is Action.ACKNOWLEDGE and complaint.acknowledged_at is not None:
        by = complaint.acknowledged_by
        return Outcome(
            changed=False, notice=None if by == actor.id else _("Already acknowledged by %(who)s.", who=mention(by))
        )
    if action is Action.RESOLVE and complaint.status == Status.RESOLVED:
        by = complaint.resolved_by
        return Outcome(
            changed=False, notice=None if by == actor.id else _("Already resolved by %(who)s.", who=mention(by))
        )
    if action is Action.REOPEN and complaint.status != Status.RESOLVED:
        return Outcome(changed=False, notice=_("This complaint is already open."))
    return None


def apply(
    session: Session,
    complaint: Complaint,
    action: Action,
    actor: Actor,
    now: datetime,
    detail: dict[str, Any] | None = None,
    audit: Audit | None = None,
) -> Outcome:
    """Perform `action` on `complaint` (which the caller has locked) and audit it (with `record` unless `audit` says
    otherwise); see the module docstring."""
    detail = dict(detail or {})
    repeat = _repeat(complaint, action, actor)
    if repeat is not None:
        return repeat
    current = Status(complaint.status)
    target = TRANSITIONS[action].get(current)
    if target is None:
        raise TransitionRefused(_refusal(current, action))
    early = _EFFECTS.get(action, _no_effect)(complaint, actor, now, detail)
    if early is not None:
        return early
    complaint.status = target.value
    complaint.revision += 1
    detail.pop("as_manager", None)
    return Outcome(changed=True, event=(audit or record)(session, complaint, action, actor, now, detail))


# -- escalations and follow-ups -------------------------------------------------------------------------------------


def apply_to_escalation(
    session: Session, complaint: Complaint, escalation: Escalation, action: Action, actor: Actor, now: datetime
) -> Outcome:
    current = EscalationStatus(escalation.status)
    target = ESCALATION_TRANSITIONS[action].get(current)
    if target is None:
        return _explain_escalation(escalation, action, actor)
    if action is Action.ACCEPT_ESCALATION:
        escalation.accepted_by, escalation.accepted_at = actor.id, now
    else:
        escalation.decided_by, escalation.decided_at = actor.id, now
    escalation.status = target.value
    complaint.revision += 1
    detail = {"escalation_id": escalation.id, "department": escalation.department_name}
    return Outcome(changed=True, event=record(session, complaint, action, actor, now, detail))


def _explain_escalation(escalation: Escalation, action: Action, actor: Actor) -> Outcome:
    status = EscalationStatus(escalation.status)
    if status is EscalationStatus.ACCEPTED:
        by = escalation.accepted_by
        if action is Action.ACCEPT_ESCALATION and by == actor.id:
            return Outcome(changed=False)
        return Outcome(changed=False, notice=_("%(who)s already accepted this escalation.", who=mention(by)))
    if status in (EscalationStatus.OPEN, EscalationStatus.DECLINED) and action is not Action.ACCEPT_ESCALATION:
        by = escalation.decided_by
        if by == actor.id:
            return Outcome(changed=False)
        if status is EscalationStatus.OPEN:
            return Outcome(changed=False, notice=_("%(who)s already approved it.", who=mention(by)))
        return Outcome(changed=False, notice=_("%(who)s already declined it.", who=mention(by)))
    if status is EscalationStatus.DECLINED:
        raise TransitionRefused(_("This escalation was declined by a manager; there is nothing to accept."))
    raise TransitionRefused(_("This escalation is waiting for a manager's approval."))


def apply_to_follow_up(
    session: Session,
    complaint: Complaint,
    follow_up: FollowUp,
    action: Action,
    actor: Actor,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> Outcome:
    current = FollowUpStatus(follow_up.status)
    target = FOLLOW_UP_TRANSITIONS[action].get(current)
    if target is None:
        if current is FollowUpStatus.DONE:
            done_by = mention(follow_up.done_by)
            return Outcome(changed=False, notice=_("This follow-up was already done by %(who)s.", who=done_by))
        if current is FollowUpStatus.CANCELLED:
            raise TransitionRefused(_("This follow-up is cancelled; this cannot be done now."))
        raise TransitionRefused(_("This follow-up has changed meanwhile; this cannot be done now."))
    if action is Action.SEND_FOLLOW_UP:
        follow_up.sent_at = now
    elif action is Action.FINISH_FOLLOW_UP:
        follow_up.done_by, follow_up.done_at = actor.id, now
    elif action is Action.SNOOZE_FOLLOW_UP:
        follow_up.due_at = (detail or {})["until"]
    follow_up.status = target.value
    complaint.revision += 1
    event_detail = {"follow_up_id": follow_up.id, "due_at": follow_up.due_at.isoformat(), **(detail or {})}
    event_detail.pop("until", None)
    return Outcome(changed=True, event=record(session, complaint, action, actor, now, event_detail))


def record(
    session: Session,
    complaint: Complaint,
    action: Action,
    actor: Actor,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(**event_row(complaint, action, actor, now, detail))
    session.add(event)
    return event


def insert_event(
    session: Session,
    complaint: Complaint,
    action: Action,
    actor: Actor,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """`record` as one prebuilt INSERT, for a complaint written with Core statements (storage/complaint_rows.py): the
    event is in the database at once and returned with its id, outside the session, so no flush is needed for it."""
    values = event_row(complaint, action, actor, now, detail)
    event_id = session.execute(_INSERT_EVENT, values).scalar_one()
    return AuditEvent(id=event_id, **values)


Audit = Callable[[Session, Complaint, Action, Actor, datetime, dict[str, Any] | None], AuditEvent]
_INSERT_EVENT = insert(AuditEvent.__table__).returning(AuditEvent.__table__.c.id)


def event_row(
    complaint: Complaint, action: Action, actor: Actor, now: datetime, detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An audit event's columns, for `record` and for bulk inserts of many at once."""
    return {
        "complaint_id": complaint.id,
        "at": now,
        "actor": actor.id,
        "action": action.value,
        "surface": actor.surface,
        "detail": detail or {},
    }
