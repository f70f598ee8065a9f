"""Deadline arithmetic: the stages of a clock, around a weekend, a holiday and a 24/7 week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.business_hours import BusinessCalendar
from bot.sla import Clock, SlaPolicy, StageKind

MADRID = ZoneInfo("Europe/Madrid")
OFFICE = BusinessCalendar.parse("Mon-Fri 08:00-18:00", MADRID, [date(2026, 12, 7)])


def policy(calendar: BusinessCalendar) -> SlaPolicy:
    return SlaPolicy(
        ack_window=timedelta(minutes=60),
        resolve_window=timedelta(hours=24),
        nag_before=(timedelta(minutes=5), timedelta(minutes=15)),
        breach_repeat=timedelta(minutes=15),
        breach_repeats=2,
        calendar=calendar,
    )


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


def test_around_the_clock_the_stages_are_plain_arithmetic() -> None:
    start = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)  # a Saturday, 3 a.m.
    rules = policy(BusinessCalendar.always_open())
    deadline = rules.deadline(start, Clock.ACK)

    stages = rules.stages(start, deadline)

    assert deadline == start + timedelta(hours=1)
    assert [(s.kind, s.at - start) for s in stages] == [
        (StageKind.NAG, timedelta(minutes=45)),
        (StageKind.NAG, timedelta(minutes=55)),
        (StageKind.BREACH, timedelta(minutes=60)),
        (StageKind.REMINDER, timedelta(minutes=75)),
        (StageKind.REMINDER, timedelta(minutes=90)),
    ]


def test_a_friday_evening_complaint_is_due_monday_and_nobody_is_nagged_at_night() -> None:
    start = local("2026-11-27T17:30")  # Friday
    rules = policy(OFFICE)
    deadline = rules.deadline(start, Clock.ACK)

    stages = rules.stages(start, deadline)

    assert deadline == local("2026-11-30T08:30")
    assert [s.at.astimezone(MADRID).strftime("%a %H:%M") for s in stages] == [
        "Mon 08:15",
        "Mon 08:25",
        "Mon 08:30",
        "Mon 08:45",
        "Mon 09:00",
    ]


def test_a_holiday_is_skipped() -> None:
    start = local("2026-12-04T17:45")  # Friday before the Monday holiday
    rules = policy(OFFICE)

    assert rules.deadline(start, Clock.ACK) == local("2026-12-08T08:45")


def test_a_short_window_has_no_nag_before_the_complaint_arrived() -> None:
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    rules = SlaPolicy(
        ack_window=timedelta(minutes=10),
        resolve_window=timedelta(hours=24),
        nag_before=(timedelta(minutes=15), timedelta(minutes=5)),
        breach_repeat=timedelta(minutes=15),
        breach_repeats=0,
        calendar=BusinessCalendar.always_open(),
    )

    stages = rules.stages(start, rules.deadline(start, Clock.ACK))

    assert [s.kind for s in stages] == [StageKind.NAG, StageKind.BREACH]
