"""SLA attainment: per agent and for the team, the share of complaints acknowledged and resolved within their
windows, and how long that took (median, 90th percentile), for a run of local days, by day and by week.

Read by the digest (`bot/digest.py`), `/complaints stats` (`bot/services/lookups.py`) and the attainment CSV
(`bot/export.py`). One query over the complaints posted in the period (`ix_complaints_posted_at`), a bounded row of
numbers each (no ORM object); everything else is arithmetic here, so 30 days of 100,000 complaints a year is a few
thousand small rows.

Definitions (README, "SLA attainment", says the same):
- **Which complaints**: those *posted* in the period (`posted_at`, when the clocks start), local days in HEARD_TZ,
  as the digest counts them.
- **Within the window**: `acknowledged_at <= ack_deadline`, `resolved_at <= resolve_deadline`. The deadlines were
  set at intake from ACK_WINDOW and RESOLVE_WINDOW on the business calendar, so they already count business hours.
- **Due**: a clock counts once it is met (acknowledged / resolved, in time or late) or its deadline has passed as of
  `now`; a complaint still inside its window and not yet met is *pending* and counts in neither share, so a
  complaint posted a minute ago does not lower today's figure. The share is met-in-time / due.
- **Times**: from posting to acknowledgement (to resolution) of the complaints met so far, in open time of the
  business calendar when BUSINESS_HOURS is set (a complaint posted Friday 17:30 and acknowledged Monday 08:20 took
  20 minutes of an 08:00-18:00 week), else in wall-clock time. Median and 90th percentile interpolate as the digest's.
- **The agent**: for the acknowledgement clock, who acknowledged it (`acknowledged_by`); for the resolution clock,
  who resolved it (`resolved_by`). These are the actors of the audit trail's "acknowledged" and "resolved" events
  (`bot/lifecycle.py` writes the column and the event in one transition; resolving an unacknowledged complaint
  acknowledges it, by the resolver). A reopened complaint is no longer resolved: its resolution counts again when
  it is resolved again, for whoever does. A clock missed and still not met is charged to the complaint's owner now
  (`owner_id`), or to nobody ("unclaimed") when it has none.
- **The team**: every complaint in the period, unclaimed ones included (Heard has one care team; the directory's
  departments receive escalations and own no complaints).
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, case, cast, func, select
from sqlalchemy.orm import Session

from bot.business_hours import BusinessCalendar
from storage.models import Complaint

TEAM = "team"
AGENT = "agent"
UNCLAIMED = "unclaimed"
DAY = "day"
WEEK = "week"
_UNIX_EPOCH_JULIAN_DAY = 2440587.5


@dataclass(frozen=True)
class ClockFigures:
    """One clock (acknowledge or resolve) over a set of complaints."""

    due: int = 0  # met, or past the deadline
    in_window: int = 0  # met by the deadline
    pending: int = 0  # not met, deadline still ahead
    median: timedelta | None = None  # of the times of those met so far
    p90: timedelta | None = None

    @property
    def percent(self) -> float | None:
        return 100.0 * self.in_window / self.due if self.due else None

    @property
    def empty(self) -> bool:
        return not self.due and not self.pending


@dataclass(frozen=True)
class Row:
    """The team, one agent, or the clocks nobody owns ("unclaimed")."""

    scope: str  # TEAM, AGENT or UNCLAIMED
    agent: str | None  # a Slack user id for AGENT
    ack: ClockFigures
    resolve: ClockFigures

    @property
    def complaints(self) -> int:
        """How many clocks this row answers for (the order agents are listed in)."""
        return self.ack.due + self.ack.pending + self.resolve.due + self.resolve.pending


@dataclass(frozen=True)
class Bucket:
    """One stretch of local days (a day, a week, or the whole period): the team, then agents by clocks handled
    (most first), then the unclaimed clocks, if any."""

    kind: str  # DAY, WEEK, or "period"
    first_day: date
    last_day: date
    team: Row
    agents: tuple[Row, ...] = ()
    unclaimed: Row | None = None


@dataclass(frozen=True)
class Attainment:
    first_day: date
    last_day: date
    tz_name: str
    business_hours: bool  # times are open time of BUSINESS_HOURS, not wall-clock time
    ack_window: timedelta
    resolve_window: timedelta
    whole: Bucket
    days: tuple[Bucket, ...] = field(default_factory=tuple)
    weeks: tuple[Bucket, ...] = field(default_factory=tuple)  # Monday to Sunday, cut to the period

    @property
    def empty(self) -> bool:
        return self.whole.team.ack.empty and self.whole.team.resolve.empty


def compute_attainment(
    session: Session,
    *,
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    now: datetime,
    calendar: BusinessCalendar | None = None,
    ack_window: timedelta = timedelta(minutes=60),
    resolve_window: timedelta = timedelta(hours=24),
    until: datetime | None = None,
    by: Collection[str] = (DAY, WEEK),
    agents_by: bool = False,
) -> Attainment:
    """Attainment of the complaints posted on local days `first_day`..`last_day` (and before `until`, when given),
    as of `now`: the whole period, and each day and/or week as `by` asks (the team only, unless `agents_by`: the
    CSV lists every agent per day; a message shows the team's). Read-only."""
    calendar = calendar or BusinessCalendar.always_open()
    start = _midnight(first_day, tz)
    end = _midnight(last_day + timedelta(days=1), tz)
    if until is not None:
        end = min(end, until)
    rows = _rows(session, start, end, now)
    now_s = now.timestamp()
    latest = max((now_s, *(r[1] for r in rows if r[1] is not None), *(r[5] for r in rows if r[5] is not None)))
    meter = _OpenTime(calendar, start.timestamp() - 86400.0, latest + 1.0)
    # Local day of each complaint from the days' midnights (DST-proof, no datetime per row).
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    midnights = [_midnight(day, tz).timestamp() for day in days]
    facts = _facts(rows, meter)
    per_day: dict[date, list[_Fact]] = {day: [] for day in days}
    for fact in facts:
        # A millisecond's grace: SQLite's julianday may put a post made at midnight a few µs before it.
        index = max(0, bisect.bisect_right(midnights, fact[0] + 0.001) - 1)
        per_day[days[index]].append(fact)
    weeks: list[Bucket] = []
    week_start = first_day
    while WEEK in by and week_start <= last_day:
        week_end = min(last_day, week_start + timedelta(days=6 - week_start.weekday()))
        members = [fact for day in days if week_start <= day <= week_end for fact in per_day[day]]
        weeks.append(_bucket(WEEK, week_start, week_end, members, agents=agents_by))
        week_start = week_end + timedelta(days=1)
    return Attainment(
        first_day=first_day,
        last_day=last_day,
        tz_name=tz.key,
        business_hours=not calendar.is_always_open,
        ack_window=ack_window,
        resolve_window=resolve_window,
        whole=_bucket("period", first_day, last_day, facts),
        days=tuple(_bucket(DAY, day, day, per_day[day], agents=agents_by) for day in days) if DAY in by else (),
        weeks=tuple(weeks),
    )


# -- the query -------------------------------------------------------------------------------------------------------


def _epoch(dialect: str, column: Any) -> Any:
    """Seconds since the Unix epoch as a float: cheaper to fetch than datetimes, and what the open-time index reads.
    SQLite's julianday keeps about 50 µs; every figure here is shown to the minute."""
    if dialect == "sqlite":
        return (func.julianday(column) - _UNIX_EPOCH_JULIAN_DAY) * 86400.0
    return cast(func.extract("epoch", column), Float)


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def _rows(session: Session, start: datetime, end: datetime, now: datetime) -> Sequence[Any]:
    dialect = session.get_bind().dialect.name
    c = Complaint
    return session.execute(
        select(
            _epoch(dialect, c.posted_at),
            _epoch(dialect, c.acknowledged_at),
            cast(_flag(c.acknowledged_at <= c.ack_deadline), Integer),
            cast(_flag(c.ack_deadline <= now), Integer),
            c.acknowledged_by,
            _epoch(dialect, c.resolved_at),
            cast(_flag(c.resolved_at <= c.resolve_deadline), Integer),
            cast(_flag(c.resolve_deadline <= now), Integer),
            c.resolved_by,
            c.owner_id,
        ).where(c.posted_at >= start, c.posted_at < end)
    ).all()


# -- per complaint ---------------------------------------------------------------------------------------------------


# A clock of one complaint: (state, who, seconds) with state IN_WINDOW, LATE (met late, or missed) or PENDING, who
# the agent charged with it (None: unclaimed) and seconds the time taken when met. Plain tuples: thousands per call.
IN_WINDOW, LATE, PENDING = 0, 1, 2
_Clock = tuple[int, str | None, float | None]


# A complaint: (posted, its acknowledgement clock, its resolution clock), posted in epoch seconds.
_Fact = tuple[float, _Clock, _Clock]


def _facts(rows: Sequence[Any], meter: _OpenTime) -> list[_Fact]:
    """One plain tuple per complaint (thousands per call: no objects, one loop, no rounding here)."""
    between = None if meter.always else meter.between  # 24/7: plain subtraction, no call
    facts: list[_Fact] = []
    for posted, acked, ack_in, ack_passed, ack_by, resolved, res_in, res_passed, res_by, owner in rows:
        if acked is not None:
            seconds = acked - posted if between is None else between(posted, acked)
            # A source's clock ahead of ours makes a time negative: it was met at once.
            ack: _Clock = (IN_WINDOW if ack_in else LATE, ack_by or owner, seconds if seconds > 0 else 0.0)
        else:
            ack = (LATE if ack_passed else PENDING, owner, None)
        if resolved is not None:
            seconds = resolved - posted if between is None else between(posted, resolved)
            resolve: _Clock = (IN_WINDOW if res_in else LATE, res_by or owner, seconds if seconds > 0 else 0.0)
        else:
            resolve = (LATE if res_passed else PENDING, owner, None)
        facts.append((posted, ack, resolve))
    return facts


class _OpenTime:
    """Open time between two instants (epoch seconds) in O(log n): the calendar's open stretches over the range
    with the open time before each, so thousands of complaints cost one walk over the days, not one each."""

    def __init__(self, calendar: BusinessCalendar, first: float, last: float) -> None:
        self.always = calendar.is_always_open
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.before: list[float] = []
        if self.always:
            return
        total = 0.0
        for opening, closing in calendar.open_intervals(_at(first), _at(last)):
            self.starts.append(opening.timestamp())
            self.ends.append(closing.timestamp())
            self.before.append(total)
            total += closing.timestamp() - opening.timestamp()

    def _so_far(self, moment: float) -> float:
        index = bisect.bisect_right(self.starts, moment) - 1
        if index < 0:
            return 0.0
        return self.before[index] + min(moment, self.ends[index]) - self.starts[index]

    def between(self, first: float, second: float) -> float:
        if self.always:
            return second - first
        return self._so_far(second) - self._so_far(first)


# -- adding up -------------------------------------------------------------------------------------------------------


def _bucket(kind: str, first_day: date, last_day: date, facts: Sequence[_Fact], *, agents: bool = True) -> Bucket:
    team = Row(TEAM, None, _figures([f[1] for f in facts]), _figures([f[2] for f in facts]))
    if not agents:
        return Bucket(kind, first_day, last_day, team)
    people: dict[str | None, tuple[list[_Clock], list[_Clock]]] = {}
    for _posted, ack, resolve in facts:
        people.setdefault(ack[1], ([], []))[0].append(ack)
        people.setdefault(resolve[1], ([], []))[1].append(resolve)
    rows = [
        Row(UNCLAIMED if who is None else AGENT, who, _figures(acks), _figures(resolves))
        for who, (acks, resolves) in people.items()
    ]
    agents_rows = sorted((r for r in rows if r.scope == AGENT), key=lambda r: (-r.complaints, r.agent or ""))
    unclaimed = next((row for row in rows if row.scope == UNCLAIMED and row.complaints), None)
    return Bucket(kind, first_day, last_day, team, tuple(agents_rows), unclaimed)


def _figures(clocks: Sequence[_Clock]) -> ClockFigures:
    pending = in_window = 0
    times: list[float] = []
    for state, _who, seconds in clocks:
        if state == PENDING:
            pending += 1
            continue
        if state == IN_WINDOW:
            in_window += 1
        if seconds is not None:
            times.append(seconds)
    times.sort()
    due = len(clocks) - pending
    return ClockFigures(
        due, in_window, pending, seconds_delta(quantile(times, 0.5)), seconds_delta(quantile(times, 0.9))
    )


def quantile(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile of sorted values, interpolating between neighbours (the median of 4 values is the mean of
    the middle two; numpy's default). The digest's figures use it too."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def seconds_delta(seconds: float | None) -> timedelta | None:
    """To the millisecond: SQLite's julianday arithmetic is off by some microseconds, and no figure needs them."""
    return None if seconds is None else timedelta(seconds=round(seconds, 3))


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
