"""Deadlines, nag stages and breach policy: pure functions of the policy and the complaint's times.

Each of a complaint's two clocks (acknowledge, resolve) is a list of stages — nags before the deadline, the
breach at the deadline, reminders after it — and the complaint remembers how many of each it has done
(`ack_stage`, `resolve_stage`). The sweep claims the next stage under a row lock, so every stage happens once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import islice

from bot.business_hours import BusinessCalendar
from bot.lifecycle import Status
from storage.models import Complaint


class Clock(StrEnum):
    ACK = "acknowledge"
    RESOLVE = "resolve"


class StageKind(StrEnum):
    NAG = "nag"
    BREACH = "breach"
    REMINDER = "reminder"


@dataclass(frozen=True)
class Stage:
    number: int  # 1-based; the clock's counter holds the number of the last stage done
    kind: StageKind
    at: datetime
    before: timedelta | None = None  # for nags: how much (open) time is left at `at`


@dataclass(frozen=True)
class SlaPolicy:
    ack_window: timedelta
    resolve_window: timedelta
    nag_before: tuple[timedelta, ...]
    breach_repeat: timedelta
    breach_repeats: int
    calendar: BusinessCalendar

    def deadline(self, start: datetime, clock: Clock) -> datetime:
        window = self.ack_window if clock is Clock.ACK else self.resolve_window
        return self.calendar.add(start, window)

    def stages(self, start: datetime, deadline: datetime) -> list[Stage]:
        """Nags that fall after `start` (a 10-minute window has no 15-minute nag), the breach, the reminders."""
        return list(self._stages(start, deadline))

    def stage(self, start: datetime, deadline: datetime, index: int) -> Stage | None:
        """`stages(...)[index]`, computing only the stages up to it (every complaint filed asks for its first)."""
        return next(islice(self._stages(start, deadline), index, None), None)

    def _stages(self, start: datetime, deadline: datetime) -> Iterator[Stage]:
        number = 0
        for before in sorted(self.nag_before, reverse=True):
            at = self.calendar.subtract(deadline, before)
            if at > start:
                number += 1
                yield Stage(number, StageKind.NAG, at, before)
        number += 1
        yield Stage(number, StageKind.BREACH, deadline)
        for repeat in range(1, self.breach_repeats + 1):
            yield Stage(number + repeat, StageKind.REMINDER, self.calendar.add(deadline, self.breach_repeat * repeat))


def clock_applies(complaint: Complaint, clock: Clock) -> bool:
    """Acknowledgement nags stop once someone acknowledges; resolution nags once it is resolved."""
    if complaint.status == Status.RESOLVED:
        return False
    return clock is Clock.RESOLVE or complaint.acknowledged_at is None


def clock_start(complaint: Complaint) -> datetime:
    return complaint.posted_at


def clock_deadline(complaint: Complaint, clock: Clock) -> datetime:
    return complaint.ack_deadline if clock is Clock.ACK else complaint.resolve_deadline


def done_stages(complaint: Complaint, clock: Clock) -> int:
    return complaint.ack_stage if clock is Clock.ACK else complaint.resolve_stage


def set_done_stages(complaint: Complaint, clock: Clock, number: int) -> None:
    if clock is Clock.ACK:
        complaint.ack_stage = number
    else:
        complaint.resolve_stage = number


def next_stage(complaint: Complaint, clock: Clock, policy: SlaPolicy) -> Stage | None:
    if not clock_applies(complaint, clock):
        return None
    return policy.stage(clock_start(complaint), clock_deadline(complaint, clock), done_stages(complaint, clock))


def next_due(complaint: Complaint, policy: SlaPolicy) -> datetime | None:
    """When the sweep next has something to do for this complaint (None: nothing more)."""
    moments = []
    for clock in Clock:
        stage = next_stage(complaint, clock, policy)
        if stage is None:
            continue
        at = stage.at
        if clock is Clock.RESOLVE and complaint.resolve_snoozed_until is not None:
            at = max(at, complaint.resolve_snoozed_until)
        moments.append(at)
    return min(moments, default=None)


def due_stages(complaint: Complaint, clock: Clock, policy: SlaPolicy, now: datetime) -> list[Stage]:
    """The stages of `clock` that have fallen due and are not done yet (several after a downtime)."""
    if not clock_applies(complaint, clock):
        return []
    if clock is Clock.RESOLVE and complaint.resolve_snoozed_until and complaint.resolve_snoozed_until > now:
        return []
    stages = policy.stages(clock_start(complaint), clock_deadline(complaint, clock))
    return [stage for stage in stages[done_stages(complaint, clock) :] if stage.at <= now]
