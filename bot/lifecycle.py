"""Complaint states and the explicit table of what each action may do from each state.

Every change goes through `apply()`: it checks the table and the guards, mutates the complaint, and appends one
audit event. A repeated request (a double click, a Slack retry) is a no-op that writes nothing; a request that no
longer applies raises `TransitionRefused` with a sentence the person who clicked can read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditEvent, Complaint


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"


class Action(StrEnum):
    RECEIVE = "received"
    CLAIM = "claimed"
    ACKNOWLEDGE = "acknowledged"


# (action, from-state) -> to-state. A pair missing here is refused. Ownership is separate from the status: a
# complaint may be claimed before or after it is acknowledged, so CLAIM keeps the status it finds.
TRANSITIONS: dict[tuple[Action, Status], Status] = {
    (Action.CLAIM, Status.NEW): Status.NEW,
    (Action.CLAIM, Status.ACKNOWLEDGED): Status.ACKNOWLEDGED,
    (Action.ACKNOWLEDGE, Status.NEW): Status.ACKNOWLEDGED,
}


class TransitionRefused(Exception):
    """The action does not apply to the complaint as it is now; `str()` is written for the person who asked."""


@dataclass(frozen=True)
class Outcome:
    changed: bool
    # For a no-op that another person caused (e.g. someone else acknowledged first), what to tell the clicker.
    notice: str | None = None


@dataclass(frozen=True)
class Actor:
    id: str
    surface: str  # where the request came from, e.g. "slack:button", "ingest", "x"


def _mention(user_id: str) -> str:
    return f"<@{user_id}>"


def _claim(complaint: Complaint, actor: Actor, now: datetime) -> Outcome:
    if complaint.owner_id == actor.id:
        return Outcome(changed=False)
    if complaint.owner_id is not None:
        raise TransitionRefused(f"This complaint is already claimed by {_mention(complaint.owner_id)}.")
    complaint.owner_id = actor.id
    complaint.claimed_by = actor.id
    complaint.claimed_at = now
    return Outcome(changed=True)


def _acknowledge(complaint: Complaint, actor: Actor, now: datetime) -> Outcome:
    complaint.acknowledged_by = actor.id
    complaint.acknowledged_at = now
    return Outcome(changed=True)


def _already_done(complaint: Complaint, action: Action, actor: Actor) -> Outcome | None:
    """Repeats of an action whose effect already holds: silent for the same person, explained to anyone else."""
    if action is Action.ACKNOWLEDGE and complaint.acknowledged_at is not None:
        by = complaint.acknowledged_by
        if by == actor.id:
            return Outcome(changed=False)
        return Outcome(changed=False, notice=f"Already acknowledged by {_mention(by or 'someone')}.")
    return None


_EFFECTS: dict[Action, Callable[[Complaint, Actor, datetime], Outcome]] = {
    Action.CLAIM: _claim,
    Action.ACKNOWLEDGE: _acknowledge,
}


def apply(
    session: Session,
    complaint: Complaint,
    action: Action,
    actor: Actor,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> Outcome:
    """Perform `action` on `complaint` (which the caller has locked) and audit it; see the module docstring."""
    repeat = _already_done(complaint, action, actor)
    if repeat is not None:
        return repeat
    current = Status(complaint.status)
    target = TRANSITIONS.get((action, current))
    if target is None:
        raise TransitionRefused(f"This complaint is {current.value}; it cannot be {action.value} now.")
    outcome = _EFFECTS[action](complaint, actor, now)
    if outcome.changed:
        complaint.status = target.value
        complaint.revision += 1
        record(session, complaint, action, actor, now, detail)
    return outcome


def record(
    session: Session,
    complaint: Complaint,
    action: Action,
    actor: Actor,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            complaint_id=complaint.id,
            at=now,
            actor=actor.id,
            action=action.value,
            surface=actor.surface,
            detail=detail or {},
        )
    )
