"""Business hours: the clock that response windows are counted on.

By default Heard's clock runs 24/7. A team that only answers during office hours sets `BUSINESS_HOURS` (wall-clock
hours in `HEARD_TZ`) and `HOLIDAYS`; a 60-minute window then means 60 minutes of open time, so a complaint posted
on Friday at 17:30 is due on Monday at 08:30 and nobody is nagged at 3 a.m.

Everything here works on real instants (aware datetimes, answers in UTC). Open hours are converted to instants one
local day at a time, so daylight-saving changes are handled where they happen: an 08:00-18:00 day is 10 hours on
either side of a change at 02:00, and a span that itself contains the gap or the fold counts the time that really
elapses (01:00-04:00 is 2 hours on the spring-forward night and 4 on the fall-back night). Walking day by day over
spans keeps long windows cheap; a calendar whose open hours never come (say, every open day is a holiday) is
reported instead of looping for ever.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MINUTES_PER_DAY = 24 * 60
SEARCH_LIMIT_DAYS = 3 * 366  # this long without any open time means the calendar has none

_DAY_INDEX = {name.lower(): index for index, name in enumerate(DAY_NAMES)}
_GROUP = re.compile(
    r"^(?P<days>[A-Za-z]+(?:\s*-\s*[A-Za-z]+)?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EXAMPLE = 'use days and hours such as "Mon-Fri 08:00-18:00" or "Mon-Fri 08:00-18:00, Sat 10:00-14:00"'

Span = tuple[int, int]  # minutes after local midnight, start < end <= 24:00
Week = tuple[tuple[Span, ...], ...]  # seven entries, Monday first, spans sorted and disjoint
Interval = tuple[datetime, datetime]  # an open stretch as UTC instants, [start, end)


class CalendarError(ValueError):
    """`BUSINESS_HOURS` or `HOLIDAYS` cannot be understood, or the calendar never opens.

    The message is one line written for the admin who set the value: it names the setting and says what to write.
    """


def parse_holidays(text: str | None) -> tuple[date, ...]:
    """`HOLIDAYS=2026-12-25,2027-01-01` -> sorted, de-duplicated dates (local dates in `HEARD_TZ`).

    Only ISO dates are accepted, so `01/02/2026` cannot be read as either January or February by mistake.
    Empty entries (a trailing comma) are ignored.
    """
    if text is None or not text.strip():
        return ()
    days: set[date] = set()
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            if not _ISO_DATE.match(item):
                raise ValueError(item)
            days.add(date.fromisoformat(item))
        except ValueError:
            raise CalendarError(
                f"HOLIDAYS={text!r} is not understood: {item!r} is not a date; "
                "write ISO dates separated by commas, e.g. HOLIDAYS=2026-12-25,2027-01-01"
            ) from None
    return tuple(sorted(days))


@dataclass(frozen=True)
class BusinessCalendar:
    """When the response clock runs: always, or during weekly wall-clock hours in `tz` minus holidays.

    Build one with `always_open()` or `parse()`. `week` is None for 24/7; otherwise seven tuples (Monday first)
    of (start, end) minutes after local midnight. Instances are immutable and safe to share between threads.
    """

    tz: tzinfo = UTC
    week: Week | None = None
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if self.week is None:
            return
        if len(self.week) != 7:
            raise CalendarError(f"business hours need seven days of spans, got {len(self.week)}")
        for day, spans in enumerate(self.week):
            previous_end = 0
            for start, end in spans:
                if not (previous_end <= start < end <= MINUTES_PER_DAY):
                    raise CalendarError(f"business hours on {DAY_NAMES[day]} are not sorted, disjoint spans: {spans}")
                previous_end = end
        if not any(self.week):
            raise CalendarError("the business hours have no open time on any day of the week")

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        """The default: the clock runs 24/7 and `add` is plain addition."""
        return cls()

    @classmethod
    def parse(cls, spec: str | None, tz: ZoneInfo, holidays: Iterable[date] = ()) -> BusinessCalendar:
        """Read `BUSINESS_HOURS` such as `Mon-Fri 08:00-18:00, Sat 10:00-14:00`; empty means always open.

        Groups are separated by commas; each is one day or a range of days (`Fri-Mon` wraps round the weekend)
        and one span of wall-clock time in `tz`. A day may have several spans (a lunch break) as long as they do
        not overlap. Overnight spans are refused rather than guessed at: `Mon 22:00-24:00, Tue 00:00-06:00` says
        which day the night belongs to. Holidays only matter when there are business hours.
        """
        if spec is None or not spec.strip():
            return cls.always_open()
        groups = [group.strip() for group in spec.split(",") if group.strip()]

        def fail(problem: str) -> CalendarError:
            return CalendarError(f"BUSINESS_HOURS={spec!r} is not understood: {problem}")

        if not groups:
            raise fail(f"it names no days; {_EXAMPLE}")
        per_day: list[list[tuple[int, int, str]]] = [[] for _ in DAY_NAMES]
        for group in groups:
            match = _GROUP.match(group)
            if match is None:
                if not any(character.isdigit() for character in group):
                    raise fail(
                        f"{group!r} has no hours; give every group its own hours, and write a range rather than a "
                        'list of days, e.g. "Sat-Sun 10:00-14:00" or "Sat 10:00-14:00, Sun 12:00-14:00"'
                    )
                raise fail(_EXAMPLE if len(groups) == 1 else f"{group!r} should be days and hours; {_EXAMPLE}")
            try:
                days = _parse_days(match["days"], group)
                start = _parse_minutes(match["start"], group, end=False)
                end = _parse_minutes(match["end"], group, end=True)
            except ValueError as error:
                raise fail(str(error)) from None
            if end < start:
                raise fail(
                    f"{match['start']}-{match['end']} in {group!r} ends before it starts; overnight hours are not "
                    'supported, so split them at midnight, e.g. "Mon 22:00-24:00, Tue 00:00-06:00"'
                )
            if end == start:
                raise fail(f"{match['start']}-{match['end']} in {group!r} opens and closes at the same time")
            for day in days:
                per_day[day].append((start, end, group))
        week: list[tuple[Span, ...]] = []
        for day, spans in enumerate(per_day):
            spans.sort()
            for (start_a, end_a, group_a), (start_b, end_b, group_b) in itertools.pairwise(spans):
                if start_b < end_a:
                    raise fail(
                        f"on {DAY_NAMES[day]}, {_clock(start_a)}-{_clock(end_a)} (from {group_a!r}) overlaps "
                        f"{_clock(start_b)}-{_clock(end_b)} (from {group_b!r}); give each day non-overlapping hours"
                    )
            week.append(tuple((start, end) for start, end, _ in spans))
        return cls(tz=tz, week=tuple(week), holidays=frozenset(holidays))

    @property
    def is_always_open(self) -> bool:
        return self.week is None

    def is_open(self, moment: datetime) -> bool:
        """Whether the clock runs at `moment` (open at an opening instant, closed at a closing one)."""
        moment = _utc(moment)
        if self.week is None:
            return True
        today = self._local_date(moment)
        return any(
            start <= moment < end
            for offset in (-1, 0, 1)
            for start, end in self._day_intervals(today + timedelta(days=offset))
        )

    def next_open(self, moment: datetime) -> datetime:
        """`moment` if the clock runs then, else the next opening (UTC)."""
        moment = _utc(moment)
        if self.week is None:
            return moment
        for start, _end in self._forward(moment):
            return max(start, moment)
        raise AssertionError("_forward never ends without raising")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The first moment (UTC) by which `duration` of open time has passed since `start`.

        Counting begins at the next opening when `start` is closed; a window that runs out exactly at a closing
        ends at that closing, not at the next opening. A zero duration gives `next_open(start)`.
        """
        start = _utc(start)
        _check_duration(duration)
        if self.week is None:
            return start + duration  # in UTC, so real elapsed time even if `start` came in a DST zone
        remaining = duration
        for opening, closing in self._forward(start):
            opening = max(opening, start)
            if remaining <= closing - opening:
                return opening + remaining
            remaining -= closing - opening
        raise AssertionError("_forward never ends without raising")

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        """The latest moment (UTC) with `duration` of open time between it and `end`: where to put a nag.

        When `end` is closed, counting back starts at the last closing before it; a zero duration gives `end` when
        the clock runs then (or it is an opening or closing instant), else that last closing.
        """
        end = _utc(end)
        _check_duration(duration)
        if self.week is None:
            return end - duration
        remaining = duration
        for opening, closing in self._backward(end):
            closing = min(closing, end)
            if remaining <= closing - opening:
                return closing - remaining
            remaining -= closing - opening
        raise AssertionError("_backward never ends without raising")

    def open_time_between(self, first: datetime, second: datetime) -> timedelta:
        """Open time from `first` to `second`; negative when `second` is earlier (e.g. time left once overdue)."""
        first, second = _utc(first), _utc(second)
        if second < first:
            return -self.open_time_between(second, first)
        if self.week is None:
            return second - first
        total = timedelta(0)
        day = self._local_date(first) - timedelta(days=1)
        last = self._local_date(second) + timedelta(days=1)
        while day <= last:
            for opening, closing in self._day_intervals(day):
                overlap = min(closing, second) - max(opening, first)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def open_intervals(self, first: datetime, second: datetime) -> list[Interval]:
        """The open stretches (UTC, earliest first, whole) that overlap `first`..`second`, for counting open time
        of many spans at once (`bot/attainment.py`); the same days `open_time_between` walks. 24/7: one stretch."""
        first, second = _utc(first), _utc(second)
        if self.week is None:
            return [(first, second)]
        found: list[Interval] = []
        day = self._local_date(first) - timedelta(days=1)
        last = self._local_date(second) + timedelta(days=1)
        while day <= last:
            found.extend(iv for iv in self._day_intervals(day) if iv[1] > first and iv[0] < second)
            day += timedelta(days=1)
        return found

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def _day_intervals(self, day: date) -> list[Interval]:
        """The open stretches of one local date as UTC instants, in order (none on a holiday)."""
        assert self.week is not None
        if day in self.holidays:
            return []
        midnight = datetime.combine(day, time())
        intervals = []
        for start, end in self.week[day.weekday()]:
            opening = _first_instant(midnight + timedelta(minutes=start), self.tz)
            closing = _first_instant(midnight + timedelta(minutes=end), self.tz)
            if opening < closing:  # a span wholly inside a DST gap is skipped: it never occurs
                intervals.append((opening, closing))
        return intervals

    def _forward(self, moment: datetime) -> Iterator[Interval]:
        """Open stretches that end after `moment`, earliest first, for ever (or CalendarError if none come)."""
        day = self._local_date(moment) - timedelta(days=1)
        idle = 0
        while idle <= SEARCH_LIMIT_DAYS:
            intervals = self._day_intervals(day)
            idle = 0 if intervals else idle + 1
            for interval in intervals:
                if interval[1] > moment:
                    yield interval
            day += timedelta(days=1)
        raise self._never_open("after", moment)

    def _backward(self, moment: datetime) -> Iterator[Interval]:
        """Open stretches that begin at or before `moment`, latest first (or CalendarError if none came)."""
        day = self._local_date(moment) + timedelta(days=1)
        idle = 0
        while idle <= SEARCH_LIMIT_DAYS:
            intervals = self._day_intervals(day)
            idle = 0 if intervals else idle + 1
            for interval in reversed(intervals):
                if interval[0] <= moment:
                    yield interval
            day -= timedelta(days=1)
        raise self._never_open("before", moment)

    def _never_open(self, direction: str, moment: datetime) -> CalendarError:
        return CalendarError(
            f"the business hours have no open time in the {SEARCH_LIMIT_DAYS} days {direction} "
            f"{moment.astimezone(self.tz):%Y-%m-%d %H:%M %Z}; check BUSINESS_HOURS and HOLIDAYS"
        )


def _parse_days(text: str, group: str) -> list[int]:
    """`Mon` -> [0]; `Mon-Fri` -> [0..4]; `Fri-Mon` wraps -> [4, 5, 6, 0]."""
    names = [name.strip() for name in text.split("-")]
    indexes = []
    for name in names:
        if name.lower() not in _DAY_INDEX:
            raise ValueError(f"{name!r} in {group!r} is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun")
        indexes.append(_DAY_INDEX[name.lower()])
    if len(indexes) == 1:
        return indexes
    first, last = indexes
    if first == last:
        raise ValueError(f"{text!r} in {group!r} is ambiguous; write {names[0]!r} for one day or 'Mon-Sun' for all")
    days = [first]
    while days[-1] != last:
        days.append((days[-1] + 1) % 7)
    return days


def _parse_minutes(text: str, group: str, *, end: bool) -> int:
    """`08:30` -> 510; `24:00` only as an end (closing at midnight)."""
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes >= 60 or hours > 24 or (hours == 24 and (minutes or not end)):
        allowed = "00:00 to 23:59, or 24:00 as a closing time" if end or hours != 24 else "00:00 to 23:59"
        raise ValueError(f"{text!r} in {group!r} is not a time of day; use {allowed}")
    return hours * 60 + minutes


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _first_instant(wall: datetime, tz: tzinfo) -> datetime:
    """The first instant (UTC) at which the clock in `tz` reads the naive `wall` time or later.

    An ordinary time has one instant. A time repeated by the fall-back fold means its first occurrence. A time
    skipped by the spring-forward gap means the moment of the jump, so a shop opening at 02:30 on that night opens
    when the clocks jump to 03:00. The mapping never goes backwards, so disjoint spans stay disjoint.
    """
    early = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if early == late:
        return early
    low, high = min(early, late), max(early, late)
    if low.astimezone(tz).replace(tzinfo=None) == wall:
        return low  # the fold: first occurrence
    # The gap: the jump lies in (low, high]; find it to the second (tz transitions are on whole seconds).
    before = low.astimezone(tz).utcoffset()
    low_second, high_second = int(low.timestamp()), int(high.timestamp())
    while high_second - low_second > 1:
        middle = (low_second + high_second) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(tz).utcoffset() == before:
            low_second = middle
        else:
            high_second = middle
    return datetime.fromtimestamp(high_second, UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"business hours need an aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _check_duration(duration: timedelta) -> None:
    if duration < timedelta(0):
        raise ValueError(f"a duration of open time cannot be negative, got {duration}")
