"""Business hours: windows count only open time, across weekends, holidays and daylight-saving changes."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.business_hours import BusinessCalendar, CalendarError, parse_holidays

MADRID = ZoneInfo("Europe/Madrid")
OFFICE = "Mon-Fri 08:00-18:00"
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def madrid(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def office(holidays: tuple[date, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar.parse(OFFICE, MADRID, holidays)


# --- always open ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [None, "", "   "])
def test_empty_spec_is_always_open_and_ignores_holidays(spec: str | None) -> None:
    calendar = BusinessCalendar.parse(spec, MADRID, [date(2026, 6, 8)])
    assert calendar.is_always_open
    assert calendar == BusinessCalendar.always_open()


def test_always_open_is_plain_real_time_arithmetic() -> None:
    calendar = BusinessCalendar.always_open()
    start = madrid(2026, 6, 6, 3, 17)  # a Saturday night
    assert calendar.is_open(start)
    assert calendar.next_open(start) == start
    assert calendar.add(start, 90 * MINUTE) == start + 90 * MINUTE
    assert calendar.add(start, 90 * MINUTE).tzinfo is UTC
    assert calendar.subtract(start, 90 * MINUTE) == start - 90 * MINUTE
    assert calendar.open_time_between(start, start + 5 * HOUR) == 5 * HOUR
    # Real elapsed time, not wall-clock arithmetic in the caller's zone: 01:30 + 1 h on the spring-forward night.
    assert calendar.add(madrid(2026, 3, 29, 1, 30), HOUR) == utc(2026, 3, 29, 1, 30)


# --- office hours, weekends, holidays -------------------------------------------------------------------------


def test_friday_late_window_runs_over_the_weekend() -> None:
    assert office().add(madrid(2026, 6, 5, 17, 30), HOUR) == madrid(2026, 6, 8, 8, 30)  # Fri -> Mon


def test_window_started_on_saturday_counts_from_monday_opening() -> None:
    assert office().add(madrid(2026, 6, 6, 11, 0), HOUR) == madrid(2026, 6, 8, 9, 0)


def test_holiday_monday_pushes_to_tuesday() -> None:
    calendar = office(holidays=(date(2026, 6, 8),))
    assert calendar.add(madrid(2026, 6, 5, 17, 30), HOUR) == madrid(2026, 6, 9, 8, 30)
    assert calendar.add(madrid(2026, 6, 6, 11, 0), HOUR) == madrid(2026, 6, 9, 9, 0)
    assert not calendar.is_open(madrid(2026, 6, 8, 12, 0))


def test_results_are_utc_whatever_zone_the_input_is_in() -> None:
    start = madrid(2026, 6, 5, 17, 30)
    in_new_york = start.astimezone(ZoneInfo("America/New_York"))
    result = office().add(in_new_york, HOUR)
    assert result.tzinfo is UTC
    assert result == utc(2026, 6, 8, 6, 30)


def test_window_ending_exactly_at_closing_ends_at_the_closing() -> None:
    calendar = office()
    assert calendar.add(madrid(2026, 6, 5, 17, 0), HOUR) == madrid(2026, 6, 5, 18, 0)
    assert not calendar.is_open(madrid(2026, 6, 5, 18, 0))
    assert calendar.is_open(madrid(2026, 6, 5, 8, 0))


def test_zero_duration() -> None:
    calendar = office()
    open_moment = madrid(2026, 6, 5, 10, 0)
    assert calendar.add(open_moment, timedelta(0)) == open_moment
    assert calendar.add(madrid(2026, 6, 5, 18, 0), timedelta(0)) == madrid(2026, 6, 8, 8, 0)
    assert calendar.subtract(open_moment, timedelta(0)) == open_moment
    assert calendar.subtract(madrid(2026, 6, 6, 12, 0), timedelta(0)) == madrid(2026, 6, 5, 18, 0)


def test_next_open() -> None:
    calendar = office()
    assert calendar.next_open(madrid(2026, 6, 5, 9, 0)) == madrid(2026, 6, 5, 9, 0)
    assert calendar.next_open(madrid(2026, 6, 5, 18, 0)) == madrid(2026, 6, 8, 8, 0)
    assert calendar.next_open(madrid(2026, 6, 8, 7, 59)) == madrid(2026, 6, 8, 8, 0)


def test_subtract_places_nags_in_open_time() -> None:
    calendar = office()
    assert calendar.subtract(madrid(2026, 6, 8, 8, 30), HOUR) == madrid(2026, 6, 5, 17, 30)
    assert calendar.subtract(madrid(2026, 6, 8, 8, 10), 15 * MINUTE) == madrid(2026, 6, 5, 17, 55)
    # A closed end counts back from the last closing before it.
    assert calendar.subtract(madrid(2026, 6, 6, 12, 0), 15 * MINUTE) == madrid(2026, 6, 5, 17, 45)


def test_open_time_between() -> None:
    calendar = office()
    assert calendar.open_time_between(madrid(2026, 6, 5, 17, 30), madrid(2026, 6, 8, 8, 30)) == HOUR
    assert calendar.open_time_between(madrid(2026, 6, 1), madrid(2026, 6, 8)) == 50 * HOUR
    assert calendar.open_time_between(madrid(2026, 6, 8, 8, 30), madrid(2026, 6, 5, 17, 30)) == -HOUR
    assert calendar.open_time_between(madrid(2026, 6, 6), madrid(2026, 6, 7)) == timedelta(0)


def test_long_window_is_counted_day_by_day_across_dst() -> None:
    # 2000 open hours = 200 ten-hour weekdays = 40 weeks, through the March change: wall-clock days stay 10 h.
    calendar = office()
    start = madrid(2026, 1, 5, 8, 0)  # a Monday
    assert calendar.add(start, 2000 * HOUR) == madrid(2026, 10, 9, 18, 0)
    assert calendar.subtract(madrid(2026, 10, 9, 18, 0), 2000 * HOUR) == start


def test_several_groups() -> None:
    calendar = BusinessCalendar.parse("Mon-Fri 08:00-18:00, Sat 10:00-14:00", MADRID)
    assert calendar.add(madrid(2026, 6, 5, 17, 30), HOUR) == madrid(2026, 6, 6, 10, 30)  # Fri -> Sat
    assert calendar.add(madrid(2026, 6, 6, 13, 30), HOUR) == madrid(2026, 6, 8, 8, 30)  # Sat -> Mon
    assert not calendar.is_open(madrid(2026, 6, 7, 12, 0))  # Sunday


def test_lunch_break_and_case_insensitive_days() -> None:
    calendar = BusinessCalendar.parse("mon-FRI 09:00-13:00,Mon-Fri 14:00-18:00", MADRID)
    assert calendar.add(madrid(2026, 6, 8, 12, 30), HOUR) == madrid(2026, 6, 8, 14, 30)
    assert not calendar.is_open(madrid(2026, 6, 8, 13, 30))


def test_day_ranges_wrap_round_the_weekend() -> None:
    calendar = BusinessCalendar.parse("Fri-Mon 10:00-12:00", MADRID)
    assert [calendar.is_open(madrid(2026, 6, day, 11)) for day in range(5, 12)] == [
        True,  # Fri
        True,  # Sat
        True,  # Sun
        True,  # Mon
        False,  # Tue
        False,  # Wed
        False,  # Thu
    ]


def test_touching_spans_and_midnight_closing() -> None:
    calendar = BusinessCalendar.parse("Mon 08:00-12:00, Mon 12:00-24:00, Tue 00:00-02:00", MADRID)
    assert calendar.add(madrid(2026, 6, 8, 11, 0), 14 * HOUR) == madrid(2026, 6, 9, 1, 0)
    assert calendar.open_time_between(madrid(2026, 6, 8), madrid(2026, 6, 10)) == 18 * HOUR


# --- daylight saving (Europe/Madrid: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00, both Sundays) ------


def test_whole_day_is_23_and_25_real_hours() -> None:
    calendar = BusinessCalendar.parse("Sun 00:00-24:00", MADRID)
    assert calendar.open_time_between(madrid(2026, 3, 28), madrid(2026, 3, 31)) == 23 * HOUR
    assert calendar.open_time_between(madrid(2026, 10, 24), madrid(2026, 10, 27)) == 25 * HOUR
    assert calendar.add(madrid(2026, 3, 28, 12), 23 * HOUR) == madrid(2026, 3, 30, 0, 0)
    assert calendar.add(madrid(2026, 10, 24, 12), 25 * HOUR) == madrid(2026, 10, 26, 0, 0)
    assert calendar.add(madrid(2026, 3, 29, 0), 2 * HOUR) == madrid(2026, 3, 29, 3, 0)  # 03:00 CEST


def test_span_containing_the_gap_counts_real_time() -> None:
    calendar = BusinessCalendar.parse("Sun 01:00-04:00", MADRID)
    start = madrid(2026, 3, 29, 1, 0)
    end = calendar.add(start, 2 * HOUR)
    assert end == madrid(2026, 3, 29, 4, 0)
    assert end - start == 2 * HOUR  # 01:00 CET to 04:00 CEST
    assert calendar.open_time_between(madrid(2026, 3, 29), madrid(2026, 3, 30)) == 2 * HOUR
    assert calendar.add(start, 2 * HOUR + MINUTE) == madrid(2026, 4, 5, 1, 1)  # the next Sunday


def test_span_containing_the_fold_counts_real_time() -> None:
    calendar = BusinessCalendar.parse("Sun 01:00-04:00", MADRID)
    opening = madrid(2026, 10, 25, 1, 0)  # 01:00 CEST
    assert opening == utc(2026, 10, 24, 23, 0)
    assert calendar.open_time_between(madrid(2026, 10, 25), madrid(2026, 10, 26)) == 4 * HOUR
    assert calendar.add(opening, 4 * HOUR) == utc(2026, 10, 25, 3, 0)  # 04:00 CET
    assert calendar.add(opening, 3 * HOUR) == utc(2026, 10, 25, 2, 0)  # 03:00 CET, after the repeated hour
    assert calendar.is_open(utc(2026, 10, 25, 1, 30))  # the second 02:30


def test_office_day_is_ten_hours_on_both_change_days() -> None:
    calendar = BusinessCalendar.parse("Sun 08:00-18:00", MADRID)
    assert calendar.open_time_between(madrid(2026, 3, 29), madrid(2026, 3, 30)) == 10 * HOUR
    assert calendar.open_time_between(madrid(2026, 10, 25), madrid(2026, 10, 26)) == 10 * HOUR


def test_opening_inside_the_gap_opens_at_the_jump_and_inside_the_fold_at_first_occurrence() -> None:
    calendar = BusinessCalendar.parse("Sun 02:30-05:00", MADRID)
    assert calendar.next_open(madrid(2026, 3, 29, 0)) == utc(2026, 3, 29, 1, 0)  # 03:00 CEST
    assert calendar.open_time_between(madrid(2026, 3, 29), madrid(2026, 3, 30)) == 2 * HOUR
    assert calendar.next_open(madrid(2026, 10, 25, 0)) == utc(2026, 10, 25, 0, 30)  # first 02:30 (CEST)
    assert calendar.open_time_between(madrid(2026, 10, 25), madrid(2026, 10, 26)) == 3 * HOUR + 30 * MINUTE


def test_friday_window_over_the_spring_forward_weekend() -> None:
    assert office().add(madrid(2026, 3, 27, 17, 30), HOUR) == madrid(2026, 3, 30, 8, 30)
    assert madrid(2026, 3, 30, 8, 30) == utc(2026, 3, 30, 6, 30)


def test_is_open_agrees_with_a_minute_by_minute_wall_clock_oracle() -> None:
    """An independent check: read each minute's local wall clock and compare with the spans directly."""
    spans = {0: [(8, 18)], 1: [(8, 18)], 2: [(8, 18)], 3: [(8, 18)], 4: [(8, 18)], 5: [(10, 14)], 6: [(1, 4)]}
    holiday = date(2026, 10, 21)
    calendar = BusinessCalendar.parse("Mon-Fri 08:00-18:00, Sat 10:00-14:00, Sun 01:00-04:00", MADRID, [holiday])
    for week_start in (utc(2026, 3, 23), utc(2026, 10, 19)):
        open_minutes = 0
        for step in range(7 * 24 * 60):
            moment = week_start + step * MINUTE
            local = moment.astimezone(MADRID)
            expected = local.date() != holiday and any(
                start <= local.hour < end for start, end in spans[local.weekday()]
            )
            assert calendar.is_open(moment) == expected, local
            open_minutes += expected
        assert calendar.open_time_between(week_start, week_start + timedelta(days=7)) == open_minutes * MINUTE


# --- add and subtract mirror each other ------------------------------------------------------------------------


PROPERTY_CALENDARS = [
    ("Mon-Fri 08:00-18:00, Sat 10:00-14:00", MADRID, (date(2026, 4, 6), date(2026, 12, 25), date(2027, 1, 1))),
    ("Mon-Fri 09:00-13:00, Mon-Fri 14:00-18:00", MADRID, ()),
    ("Sun 01:00-04:00", MADRID, ()),
    ("Sun 02:30-05:00, Wed 12:00-12:01", MADRID, ()),
    ("Mon-Sun 00:00-24:00", MADRID, (date(2026, 7, 14),)),
    ("Fri-Mon 22:00-24:00, Tue 00:00-06:00", ZoneInfo("America/New_York"), ()),
    ("Sun 01:00-03:00, Thu 09:00-17:00", ZoneInfo("Australia/Lord_Howe"), ()),  # half-hour DST changes
]


@pytest.mark.parametrize(("spec", "tz", "holidays"), PROPERTY_CALENDARS, ids=[c[0] for c in PROPERTY_CALENDARS])
def test_add_and_subtract_mirror_each_other(spec: str, tz: ZoneInfo, holidays: tuple[date, ...]) -> None:
    calendar = BusinessCalendar.parse(spec, tz, holidays)
    rng = random.Random(20260329)
    first, span = utc(2026, 1, 1), int(timedelta(days=730).total_seconds())
    for _ in range(150):
        start = first + timedelta(seconds=rng.randrange(span))
        if rng.random() < 0.3:  # hit openings and closings exactly
            start = start.astimezone(tz).replace(minute=0, second=0).astimezone(UTC)
        duration = rng.choice([timedelta(0), MINUTE, timedelta(minutes=rng.randrange(1, 3000))])
        duration += timedelta(seconds=rng.randrange(60)) if rng.random() < 0.3 else timedelta(0)

        end = calendar.add(start, duration)
        assert end.tzinfo is UTC
        assert end >= start
        assert calendar.open_time_between(start, end) == duration
        if duration:
            assert calendar.open_time_between(start, end - timedelta(seconds=1)) < duration  # the earliest such end
        if calendar.is_open(start):
            assert calendar.subtract(end, duration) <= start
            assert calendar.subtract(end, duration) == start
        else:
            assert calendar.add(start, duration) == calendar.add(calendar.next_open(start), duration)

        back = calendar.subtract(start, duration)  # any end, open or closed
        assert back <= start
        assert calendar.open_time_between(back, start) == duration
        if duration:
            assert calendar.open_time_between(back + timedelta(seconds=1), start) < duration  # the latest such start


# --- parse errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("Mon-Fri 8-18", ['is not understood: use days and hours such as "Mon-Fri 08:00-18:00"']),
        ("Mnd-Fri 08:00-18:00", ["'Mnd'", "is not a day"]),
        ("Monday 08:00-18:00", ["'Monday'", "is not a day"]),
        ("Mon-Fri 08:00-25:00", ["'25:00'", "is not a time of day"]),
        ("Mon-Fri 08:75-18:00", ["'08:75'", "is not a time of day"]),
        ("Mon-Fri 24:00-24:00", ["'24:00'", "is not a time of day"]),
        ("Mon 22:00-06:00", ["22:00-06:00", "overnight"]),
        ("Mon 09:00-09:00", ["opens and closes at the same time"]),
        ("Mon-Fri 08:00-18:00, Fri 17:00-20:00", ["on Fri", "overlaps", "'Fri 17:00-20:00'"]),
        ("Mon-Fri 08:00-18:00, Mon-Fri 08:00-18:00", ["on Mon", "overlaps"]),
        ("Sat,Sun 10:00-14:00", ["'Sat' has no hours", "Sat-Sun 10:00-14:00"]),
        ("Mon-Mon 08:00-18:00", ["'Mon-Mon'", "ambiguous"]),
        ("Mon-Fri 08:00-18:00, weekends", ["'weekends' has no hours"]),
        ("Mon-Fri 08:00-18:00, Sat 10-14", ["'Sat 10-14' should be days and hours"]),
        (" , ", ["names no days"]),
    ],
)
def test_bad_business_hours_are_explained(spec: str, names: list[str]) -> None:
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar.parse(spec, MADRID)
    message = str(caught.value)
    assert message.startswith(f"BUSINESS_HOURS={spec!r}")
    for name in names:
        assert name in message
    assert "\n" not in message


def test_calendar_error_is_a_value_error() -> None:
    assert issubclass(CalendarError, ValueError)


def test_parse_holidays() -> None:
    assert parse_holidays(None) == ()
    assert parse_holidays("  ") == ()
    assert parse_holidays("2027-01-01, 2026-12-25,2026-12-25,") == (date(2026, 12, 25), date(2027, 1, 1))


@pytest.mark.parametrize("text", ["2026-02-30", "25/12/2026", "20261225", "2026-12-25,tomorrow"])
def test_bad_holiday_is_named(text: str) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_holidays(text)
    message = str(caught.value)
    assert message.startswith(f"HOLIDAYS={text!r} is not understood")
    assert "is not a date" in message
    assert "2026-12-25,2027-01-01" in message  # shows the format


def test_a_week_with_no_open_days_is_refused() -> None:
    with pytest.raises(CalendarError, match="no open time"):
        BusinessCalendar(tz=MADRID, week=((),) * 7)


def test_a_calendar_that_never_opens_raises_instead_of_looping() -> None:
    first_monday = date(2026, 1, 5)
    every_monday = [first_monday + timedelta(weeks=n) for n in range(52 * 8)]
    calendar = BusinessCalendar.parse("Mon 09:00-17:00", MADRID, every_monday)
    start = madrid(2026, 1, 1)
    for call in (
        lambda: calendar.add(start, HOUR),
        lambda: calendar.next_open(start),
        lambda: calendar.subtract(madrid(2033, 12, 1), HOUR),
    ):
        with pytest.raises(CalendarError, match="no open time"):
            call()
    assert not calendar.is_open(madrid(2026, 1, 5, 10))
    assert calendar.open_time_between(start, madrid(2030, 1, 1)) == timedelta(0)


def test_naive_datetimes_and_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        office().add(datetime(2026, 6, 5, 10, 0), HOUR)  # naive on purpose
    with pytest.raises(ValueError, match="negative"):
        office().add(madrid(2026, 6, 5, 10), -HOUR)


def test_calendar_is_immutable() -> None:
    calendar = office()
    with pytest.raises(AttributeError):
        calendar.tz = UTC  # type: ignore[misc]
