"""The numbers behind the managers' digest, and its chart.

`compute_digest` reads one reporting period (a local day, or a week ending on a day, in HEARD_TZ) and the state
"now" with a handful of SQL aggregates and returns plain frozen dataclasses: no ORM object leaves this module, so
the digest can be rendered, stored or sent after the session is gone. The period's rows are never loaded whole:
counts come from GROUP BY queries, and only bounded single columns (the period's acknowledgement and resolution
durations) are fetched for the percentiles and the chart.

What counts where (the same rules the card and the SLA engine use):
- A complaint belongs to the period in which it was *posted* (`posted_at`, when the SLA clock starts), so a
  complaint posted at 23:50 and ingested at 00:05 is yesterday's.
- "Acknowledged within the window" is `acknowledged_at <= ack_deadline` (the deadline already accounts for
  business hours); time to acknowledge is `acknowledged_at - posted_at`, in wall-clock time.
- Breaches are the SLA engine's "breached" audit events recorded during the period, of either clock.
- Resolved counts complaints resolved during the period (and still resolved), whenever they were posted.
- Escalations count requests made during the period, whatever their approval status.
- "Now" figures (backlog, oldest open, follow-ups) are read as of `now`: open means not resolved.
- SLA attainment per agent and for the team (both clocks, business hours where the team counts them) is
  `bot/attainment.py`'s, for the complaints posted in the period, as of `now`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.dates import format_time
from sqlalchemy import BigInteger, ColumnElement, Float, Integer, Select, case, cast, func, select
from sqlalchemy.orm import Session

from bot.attainment import DAY, Attainment, compute_attainment, quantile, seconds_delta
from bot.blocks.figures import full_day, full_day_range, number, percent
from bot.blocks.when import span
from bot.business_hours import BusinessCalendar
from bot.i18n import N_, _, locale, n_
from bot.lifecycle import Action, FollowUpStatus, Status
from storage.models import AuditEvent, Complaint, Escalation, FollowUp, WriteUp

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The chart and the percentiles use at most this many durations per period (a sample once a period has more).
DURATION_SAMPLE_LIMIT = 50_000
# Breaches and follow-ups fetched for the lists; the counts are always exact.
BREACH_LIST_LIMIT = 500
FOLLOW_UP_LIST_LIMIT = 50
TOP = 5
WRITE_UP_LIST_LIMIT = 20
BUSIEST_HOURS = 3
# The category of complaints triage put in none (a key in the figures; the digest says it in the reader's words).
# Translators: the category of complaints that have none, in the digest's "Top categories".
UNCATEGORISED = N_("uncategorised")
OPEN_STATUSES = tuple(status.value for status in Status if status is not Status.RESOLVED)
DUE_FOLLOW_UP_STATUSES = (FollowUpStatus.SCHEDULED.value, FollowUpStatus.SENT.value)
# Every time zone in use today is offset from UTC by a multiple of 15 minutes, so all of a 15-minute slice of
# UTC falls into one local hour: posts are counted per slice in SQL and the slices mapped to local hours here.
SLICE_SECONDS = 900


# -- the digest ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days `first_day`..`last_day`; `start`/`end` are their midnights in UTC (end exclusive), so a
    day across a DST change is 23 or 25 hours long."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True)
class PeriodFigures:
    """What happened in one period; computed the same way for the period and the one before it (the deltas)."""

    received: int
    acknowledged: int  # at any time so far
    acknowledged_in_window: int
    ack_median: timedelta | None
    ack_p90: timedelta | None
    breaches: int
    resolved: int
    resolve_median: timedelta | None
    escalations: int
    per_hour: tuple[int, ...]  # complaints posted in each local hour of the day, 0..23, summed over the period

    @property
    def acknowledged_in_window_pct(self) -> float | None:
        return 100.0 * self.acknowledged_in_window / self.received if self.received else None


@dataclass(frozen=True)
class Counted:
    """A named count in the period with the previous period's count for the same name."""

    name: str
    count: int
    previous: int


@dataclass(frozen=True)
class HourCount:
    hour: int  # local hour of the day, 0..23
    count: int
    previous: int


@dataclass(frozen=True)
class Breach:
    complaint_id: int
    clock: str  # "acknowledge" or "resolve" (bot.sla.Clock values)
    author_handle: str  # untrusted: escape before display
    permalink: str | None
    breached_at: datetime
    late: timedelta  # past the deadline when the clock was met, or until `now` if it still is not
    still_open: bool  # the clock is still not met (not acknowledged / not resolved)


@dataclass(frozen=True)
class OwnerBacklog:
    owner_id: str | None  # None: unclaimed
    open: int
    unacknowledged: int


@dataclass(frozen=True)
class OldestOpen:
    complaint_id: int
    author_handle: str  # untrusted
    permalink: str | None
    posted_at: datetime
    age: timedelta
    owner_id: str | None


@dataclass(frozen=True)
class FollowUpDue:
    follow_up_id: int
    complaint_id: int
    permalink: str | None  # the complaint's card
    assignee: str
    due_at: datetime
    status: str  # "scheduled" (its DM is still to come) or "sent" (reminded, not yet done)


@dataclass(frozen=True)
class WriteUpItem:
    complaint_id: int
    permalink: str | None  # the complaint's card
    author_handle: str
    what_happened: str
    what_we_learned: str
    written_by: str


@dataclass(frozen=True)
class Digest:
    period: Period
    previous_period: Period
    tz_name: str
    now: datetime
    ack_window: timedelta
    current: PeriodFigures
    previous: PeriodFigures
    # The period's, still unmet first, then by how late; at most BREACH_LIST_LIMIT (the count: current.breaches).
    breaches: tuple[Breach, ...]
    escalations_by_department: tuple[Counted, ...]  # most first
    open_total: int
    backlog: tuple[OwnerBacklog, ...]  # unclaimed first, then owners with most open first
    oldest_open: OldestOpen | None
    follow_ups_today: tuple[FollowUpDue, ...]  # earliest first; at most FOLLOW_UP_LIST_LIMIT
    follow_ups_today_total: int
    follow_ups_overdue: int  # due before today and still not done
    top_sources: tuple[Counted, ...]
    top_categories: tuple[Counted, ...]
    busiest_hours: tuple[HourCount, ...]
    ack_seconds: tuple[float, ...]  # the period's times to acknowledge, for the chart (a sample past the limit)
    ack_sample_truncated: bool
    # Hard cases written up in the period, oldest first (at most WRITE_UP_LIST_LIMIT); shown in weekly digests.
    write_ups: tuple[WriteUpItem, ...] = ()
    # Per agent and for the team: acknowledged and resolved within the windows, and how long it took.
    attainment: Attainment | None = None
    # Complaints whose personal data PERSONAL_DATA_RETENTION redacted in the period (bot/privacy.py); weekly digests.
    redacted_under_retention: int = 0

    @property
    def quiet(self) -> bool:
        """No complaints in the period: the message says so and stays short."""
        return self.current.received == 0

    @property
    def weekly(self) -> bool:
        return self.period.days > 1


def period_of(last_day: date, tz: ZoneInfo, days: int = 1) -> Period:
    """The `days` local days ending with `last_day` (inclusive)."""
    first_day = last_day - timedelta(days=days - 1)
    return Period(first_day, last_day, local_midnight(first_day, tz), local_midnight(last_day + timedelta(days=1), tz))


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC moment `day` begins in `tz`. Where midnight itself is skipped by a DST change, fold=0 reads it with
    the offset before the change, which lands on the first moment that exists (01:00)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def compute_digest(
    session: Session,
    *,
    day: date,
    tz: ZoneInfo,
    now: datetime,
    ack_window: timedelta,
    days: int = 1,
    resolve_window: timedelta = timedelta(hours=24),
    calendar: BusinessCalendar | None = None,
) -> Digest:
    """The digest for the `days` local days ending with `day` (1: that day; 7: the week ending that day),
    compared with the `days` before, and the state as of `now` (an aware datetime). Read-only."""
    if days < 1:
        raise ValueError("days must be at least 1")
    period = period_of(day, tz, days)
    previous_period = period_of(period.first_day - timedelta(days=1), tz, days)
    dialect = session.get_bind().dialect.name
    current, ack_seconds, truncated = _figures(session, dialect, period, tz)
    previous, _previous_acks, _previous_cut = _figures(session, dialect, previous_period, tz)
    sources, categories = _sources_and_categories(session, period)
    previous_sources, previous_categories = _sources_and_categories(session, previous_period)
    backlog = _backlog(session)
    today = period_of(now.astimezone(tz).date(), tz)
    follow_ups, follow_ups_total, overdue = _follow_ups(session, today)
    return Digest(
        period=period,
        previous_period=previous_period,
        tz_name=tz.key,
        now=now,
        ack_window=ack_window,
        current=current,
        previous=previous,
        breaches=_breaches(session, period, now),
        escalations_by_department=_ranked(
            _escalations(session, period), _escalations(session, previous_period), limit=None
        ),
        open_total=sum(row.open for row in backlog),
        backlog=backlog,
        oldest_open=_oldest_open(session, now),
        follow_ups_today=follow_ups,
        follow_ups_today_total=follow_ups_total,
        follow_ups_overdue=overdue,
        top_sources=_ranked(sources, previous_sources, limit=TOP),
        top_categories=_ranked(categories, previous_categories, limit=TOP),
        busiest_hours=_busiest_hours(current.per_hour, previous.per_hour),
        ack_seconds=ack_seconds,
        ack_sample_truncated=truncated,
        write_ups=_write_ups(session, period),
        redacted_under_retention=_redacted_under_retention(session, period),
        attainment=compute_attainment(
            session,
            first_day=period.first_day,
            last_day=period.last_day,
            tz=tz,
            now=now,
            calendar=calendar,
            ack_window=ack_window,
            resolve_window=resolve_window,
            by=(DAY,) if days > 1 else (),  # a weekly digest shows the team's days
        ),
    )


# -- the queries -----------------------------------------------------------------------------------------------------


def _redacted_under_retention(session: Session, period: Period) -> int:
    # The retention sweep's `erased` events (surface "retention"), through ix_audit_events_action_at.
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == Action.ERASE.value, _in(AuditEvent.at, period), AuditEvent.surface == "retention"
            )
        )
        or 0
    )


def _write_ups(session: Session, period: Period) -> tuple[WriteUpItem, ...]:
    rows = session.execute(
        select(WriteUp, Complaint.author_handle, Complaint.slack_permalink)
        .join(Complaint, Complaint.id == WriteUp.complaint_id)
        .where(_in(WriteUp.written_at, period))
        .order_by(WriteUp.written_at, WriteUp.id)
        .limit(WRITE_UP_LIST_LIMIT)
    ).all()
    return tuple(
        WriteUpItem(
            complaint_id=write_up.complaint_id,
            permalink=permalink,
            author_handle=handle,
            what_happened=write_up.what_happened,
            what_we_learned=write_up.what_we_learned,
            written_by=write_up.written_by,
        )
        for write_up, handle, permalink in rows
    )


def _in(column: Any, period: Period) -> ColumnElement[bool]:
    return (column >= period.start) & (column < period.end)


def _slice_of(dialect: str, column: Any) -> ColumnElement[Any]:
    """The 15-minute slice of the Unix epoch a timestamp falls in. SQLite keeps UTC text ("2026-03-08
    03:30:00.123456"), whose whole seconds strftime('%s') reads exactly; PostgreSQL has a real timestamptz."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer) // SLICE_SECONDS
    # Cast: EXTRACT gives numeric, which arrives as Decimal; plain numbers are cheaper to fetch.
    return cast(func.floor(func.extract("epoch", column) / SLICE_SECONDS), BigInteger)


def _seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


def _figures(
    session: Session, dialect: str, period: Period, tz: ZoneInfo
) -> tuple[PeriodFigures, tuple[float, ...], bool]:
    """One period's figures, and its times to acknowledge (seconds) for the chart, and whether they were cut."""
    posted = _in(Complaint.posted_at, period)
    # One pass over the period's complaints: counts per 15-minute slice give the total, the acknowledged counts
    # and the local hours (mapped here, so the hours follow HEARD_TZ and its DST rules on either database).
    slice_ = _slice_of(dialect, Complaint.posted_at).label("slice")
    in_window = func.sum(cast(Complaint.acknowledged_at <= Complaint.ack_deadline, Integer))
    rows = session.execute(
        select(slice_, func.count(), func.count(Complaint.acknowledged_at), in_window).where(posted).group_by(slice_)
    ).all()
    per_hour = [0] * 24
    received = acknowledged = acknowledged_in_window = 0
    for slice_number, count, acked, within in rows:
        per_hour[datetime.fromtimestamp(int(slice_number) * SLICE_SECONDS, tz).hour] += count
        received += count
        acknowledged += acked
        acknowledged_in_window += int(within or 0)

    ack_seconds, ack_truncated = _sample(
        session,
        select(_seconds_between(dialect, Complaint.acknowledged_at, Complaint.posted_at)).where(
            posted, Complaint.acknowledged_at.is_not(None)
        ),
    )
    # Reopening clears resolved_at, so a resolved_at in the period is a complaint resolved then and still resolved.
    resolved_where = (_in(Complaint.resolved_at, period),)
    resolve_seconds, resolve_truncated = _sample(
        session, select(_seconds_between(dialect, Complaint.resolved_at, Complaint.posted_at)).where(*resolved_where)
    )
    resolved = len(resolve_seconds)
    if resolve_truncated:
        resolved = session.scalar(select(func.count()).select_from(Complaint).where(*resolved_where)) or 0
    breaches = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == Action.BREACH.value, _in(AuditEvent.at, period))
    )
    escalations = session.scalar(
        select(func.count()).select_from(Escalation).where(_in(Escalation.requested_at, period))
    )
    ack_sorted = sorted(ack_seconds)
    figures = PeriodFigures(
        received=received,
        acknowledged=acknowledged,
        acknowledged_in_window=acknowledged_in_window,
        ack_median=seconds_delta(quantile(ack_sorted, 0.5)),
        ack_p90=seconds_delta(quantile(ack_sorted, 0.9)),
        breaches=breaches or 0,
        resolved=resolved,
        resolve_median=seconds_delta(quantile(sorted(resolve_seconds), 0.5)),
        escalations=escalations or 0,
        per_hour=tuple(per_hour),
    )
    return figures, tuple(ack_seconds), ack_truncated


def _sample(session: Session, query: Select[Any]) -> tuple[list[float], bool]:
    """A column of durations in seconds, at most DURATION_SAMPLE_LIMIT of them (True when there were more).
    Negative durations (a source's clock ahead of ours) count as zero. Rounded to the millisecond: SQLite's
    julianday arithmetic is off by some microseconds, and no figure here needs them."""
    values = [max(0.0, round(float(value), 3)) for value in session.scalars(query.limit(DURATION_SAMPLE_LIMIT + 1))]
    if len(values) > DURATION_SAMPLE_LIMIT:
        return values[:DURATION_SAMPLE_LIMIT], True
    return values, False


def _sources_and_categories(session: Session, period: Period) -> tuple[dict[str, int], dict[str, int]]:
    rows = session.execute(
        select(Complaint.source, Complaint.category, func.count())
        .where(_in(Complaint.posted_at, period))
        .group_by(Complaint.source, Complaint.category)
    ).all()
    sources: dict[str, int] = {}
    categories: dict[str, int] = {}
    for source, category, count in rows:
        sources[source] = sources.get(source, 0) + count
        name = category or UNCATEGORISED
        categories[name] = categories.get(name, 0) + count
    return sources, categories


def _escalations(session: Session, period: Period) -> dict[str, int]:
    rows = session.execute(
        select(Escalation.department_name, func.count())
        .where(_in(Escalation.requested_at, period))
        .group_by(Escalation.department_name)
    ).all()
    return {name: count for name, count in rows}


def _breaches(session: Session, period: Period, now: datetime) -> tuple[Breach, ...]:
    rows = session.execute(
        select(
            AuditEvent.complaint_id,
            AuditEvent.at,
            AuditEvent.detail,
            Complaint.author_handle,
            Complaint.slack_permalink,
            Complaint.status,
            Complaint.ack_deadline,
            Complaint.acknowledged_at,
            Complaint.resolve_deadline,
            Complaint.resolved_at,
        )
        .join(Complaint, Complaint.id == AuditEvent.complaint_id)
        .where(AuditEvent.action == Action.BREACH.value, _in(AuditEvent.at, period))
        # Complaints still open first, so the list keeps every breach that may still be unmet even when the
        # period has more than the limit; the earliest first, as the longest overdue.
        .order_by(case((Complaint.status.in_(OPEN_STATUSES), 0), else_=1), AuditEvent.at, AuditEvent.id)
        .limit(BREACH_LIST_LIMIT)
    ).all()
    breaches: list[Breach] = []
    seen: set[tuple[int, str]] = set()
    for row in rows:
        clock = str((row.detail or {}).get("clock") or "acknowledge")
        if (row.complaint_id, clock) in seen:
            continue  # a clock breaches once; a reopened complaint may breach its resolve clock again
        seen.add((row.complaint_id, clock))
        if clock == "resolve":
            deadline = row.resolve_deadline
            met = row.resolved_at if row.status == Status.RESOLVED.value else None
        else:
            deadline, met = row.ack_deadline, row.acknowledged_at
        late = max(timedelta(0), (met or now) - deadline) if deadline is not None else timedelta(0)
        breaches.append(
            Breach(
                complaint_id=row.complaint_id,
                clock=clock,
                author_handle=row.author_handle,
                permalink=row.slack_permalink,
                breached_at=row.at,
                late=late,
                still_open=met is None,
            )
        )
    # Those still not met first (they need someone now), then the rest; each the latest first.
    breaches.sort(key=lambda breach: (not breach.still_open, -breach.late))
    return tuple(breaches)


def _backlog(session: Session) -> tuple[OwnerBacklog, ...]:
    # `IN (the open statuses)` rather than `!= 'resolved'`: the same rows, but an index on status can find them.
    rows = session.execute(
        select(Complaint.owner_id, func.count(), func.count(Complaint.acknowledged_at))
        .where(Complaint.status.in_(OPEN_STATUSES))
        .group_by(Complaint.owner_id)
    ).all()
    backlog = [OwnerBacklog(owner, count, count - acked) for owner, count, acked in rows]
    backlog.sort(key=lambda row: (row.owner_id is not None, -row.open, row.owner_id or ""))
    return tuple(backlog)


def _oldest_open(session: Session, now: datetime) -> OldestOpen | None:
    row = session.execute(
        select(
            Complaint.id, Complaint.author_handle, Complaint.slack_permalink, Complaint.posted_at, Complaint.owner_id
        )
        .where(Complaint.status.in_(OPEN_STATUSES))
        .order_by(Complaint.posted_at, Complaint.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return OldestOpen(
        complaint_id=row.id,
        author_handle=row.author_handle,
        permalink=row.slack_permalink,
        posted_at=row.posted_at,
        age=max(timedelta(0), now - row.posted_at),
        owner_id=row.owner_id,
    )


def _follow_ups(session: Session, today: Period) -> tuple[tuple[FollowUpDue, ...], int, int]:
    due = FollowUp.status.in_(DUE_FOLLOW_UP_STATUSES)
    rows = session.execute(
        select(
            FollowUp.id,
            FollowUp.complaint_id,
            Complaint.slack_permalink,
            FollowUp.assignee,
            FollowUp.due_at,
            FollowUp.status,
        )
        .join(Complaint, Complaint.id == FollowUp.complaint_id)
        .where(due, _in(FollowUp.due_at, today))
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(FOLLOW_UP_LIST_LIMIT)
    ).all()
    listed = tuple(FollowUpDue(*row) for row in rows)
    total = len(listed)
    if total == FOLLOW_UP_LIST_LIMIT:
        total = session.scalar(select(func.count()).select_from(FollowUp).where(due, _in(FollowUp.due_at, today))) or 0
    overdue = session.scalar(select(func.count()).select_from(FollowUp).where(due, FollowUp.due_at < today.start))
    return listed, total, overdue or 0


# -- shaping ---------------------------------------------------------------------------------------------------------


def _ranked(current: dict[str, int], previous: dict[str, int], *, limit: int | None) -> tuple[Counted, ...]:
    ranked = sorted(current.items(), key=lambda item: (-item[1], item[0]))
    if limit is not None:
        ranked = ranked[:limit]
    return tuple(Counted(name, count, previous.get(name, 0)) for name, count in ranked)


def _busiest_hours(per_hour: Sequence[int], previous: Sequence[int]) -> tuple[HourCount, ...]:
    hours = sorted((hour for hour in range(24) if per_hour[hour]), key=lambda hour: (-per_hour[hour], hour))
    return tuple(HourCount(hour, per_hour[hour], previous[hour]) for hour in hours[:BUSIEST_HOURS])


# -- the chart -------------------------------------------------------------------------------------------------------

CHART_SIZE_INCHES = (11.0, 4.2)
CHART_DPI = 100
# The acknowledgement histogram spans this many windows; later acknowledgements pile into its last bar.
CHART_WINDOWS_SHOWN = 3
CHART_BINS = 30
_BAR = "#2f6fb0"
_PREVIOUS = "#9a9a9a"
_WINDOW = "#c0392b"


def render_chart(digest: Digest, ack_window: timedelta) -> bytes:
    """Two panels as a PNG: complaints per local hour of the day (the previous period outlined), and how long
    acknowledgements took, with the window marked. Built on `matplotlib.figure.Figure` without pyplot, so it keeps
    no global state and may run on any thread; matplotlib is imported here, not at start-up, because it is slow
    to import and only the digest needs it. Its words are in the language being spoken."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=CHART_SIZE_INCHES, dpi=CHART_DPI, layout="constrained")
    hours, acks = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
    _hours_panel(hours, digest)
    _ack_panel(acks, digest, ack_window)
    figure.suptitle(chart_title(digest), fontsize=12)
    return _png(figure)


def chart_title(digest: Digest) -> str:
    """The chart's title: the period, the time zone, and the team's SLA attainment when any clock was due."""
    # Translators: the chart's title: the period it shows and its time zone, e.g. "Tue, 10 Nov 2026 (Europe/Paris)".
    title = _("%(period)s (%(timezone)s)", period=_period_words(digest), timezone=digest.tz_name)
    attainment = _attainment_words(digest, short=True)
    return f"{title} \N{MIDDLE DOT} {attainment}" if attainment else title


def chart_labels(digest: Digest, ack_window: timedelta) -> dict[str, str]:
    """Every word the chart shows besides its title (panels' titles, axes, legends), in the language being
    spoken: what `_hours_panel` and `_ack_panel` draw."""
    weekly = digest.weekly
    hours_scale = ack_window.total_seconds() * CHART_WINDOWS_SHOWN > 6 * 3600  # long windows read better in hours
    return {
        "hours_title": _("Complaints per hour of the day"),
        # Translators: the chart's axis: the local hour the complaint was posted, in a time zone.
        "hours_x": _("hour posted (%(timezone)s)", timezone=digest.tz_name),
        # Translators: the chart's axis: how many complaints (a noun, plural).
        "count_y": _("complaints"),
        "this_period": _period_words(digest),
        # Translators: the chart's legend: the outline shows the period before the one the digest is about.
        "previous": _("the week before") if weekly else _("the day before"),
        "no_complaints": _("No complaints"),
        "ack_title": _("Time to acknowledge"),
        "ack_x": (
            # Translators: the chart's axis: how long acknowledging took.
            _("hours from posting to acknowledgement")
            if hours_scale
            # Translators: the chart's axis: how long acknowledging took.
            else _("minutes from posting to acknowledgement")
        ),
        # Translators: the chart's legend: the acknowledgement window, e.g. "window (30 min)".
        "window": _("window (%(duration)s)", duration=span(ack_window)),
        # Translators: the chart's legend: the median time to acknowledge, e.g. "median (12 min)".
        "median": _("median (%(duration)s)", duration=span(digest.current.ack_median))
        if digest.current.ack_median is not None
        else "",
        "no_acknowledgements": _("No acknowledgements"),
    }


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI)
    return buffer.getvalue()


def _hours_panel(axes: Axes, digest: Digest) -> None:
    words = chart_labels(digest, digest.ack_window)
    hours = list(range(24))
    axes.bar(hours, digest.current.per_hour, width=0.8, color=_BAR, label=words["this_period"])
    axes.step(
        [-0.5, *[hour + 0.5 for hour in hours]],
        [digest.previous.per_hour[0], *digest.previous.per_hour],
        where="pre",
        color=_PREVIOUS,
        linewidth=1.5,
        label=words["previous"],
    )
    axes.set_title(words["hours_title"], fontsize=11)
    axes.set_xlabel(words["hours_x"])
    axes.set_ylabel(words["count_y"])
    axes.set_xlim(-0.6, 23.6)
    axes.set_xticks(range(0, 24, 2), [f"{hour:02d}" for hour in range(0, 24, 2)])
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", alpha=0.3)
    if digest.quiet and not any(digest.previous.per_hour):
        axes.text(0.5, 0.5, words["no_complaints"], transform=axes.transAxes, ha="center", va="center", fontsize=12)
    else:
        axes.legend(loc="upper left", fontsize=9, frameon=False)


def _ack_panel(axes: Axes, digest: Digest, ack_window: timedelta) -> None:
    words = chart_labels(digest, ack_window)
    window_seconds = ack_window.total_seconds()
    hours_scale = window_seconds * CHART_WINDOWS_SHOWN > 6 * 3600  # long windows read better in hours
    scale = 3600.0 if hours_scale else 60.0
    upper = max(window_seconds, 60.0) * CHART_WINDOWS_SHOWN / scale
    values = [min(seconds / scale, upper) for seconds in digest.ack_seconds]
    later = sum(1 for seconds in digest.ack_seconds if seconds / scale >= upper)
    axes.hist(values, bins=CHART_BINS, range=(0, upper), color=_BAR)
    window = window_seconds / scale
    axes.axvline(window, color=_WINDOW, linewidth=2, label=words["window"])
    if digest.current.ack_median is not None:
        median = digest.current.ack_median.total_seconds() / scale
        axes.axvline(min(median, upper), color="#333333", linestyle="--", linewidth=1.2, label=words["median"])
    axes.set_title(words["ack_title"], fontsize=11)
    axes.set_xlabel(words["ack_x"])
    axes.set_ylabel(words["count_y"])
    axes.set_xlim(0, upper)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper right", fontsize=9, frameon=False)
    if not values:
        axes.text(
            0.5, 0.5, words["no_acknowledgements"], transform=axes.transAxes, ha="center", va="center", fontsize=12
        )
    elif later:
        axes.text(
            0.98,
            0.70,
            _later_words(later, timedelta(seconds=upper * scale)),
            transform=axes.transAxes,
            ha="right",
            va="top",
            fontsize=9,
        )


def _later_words(count: int, beyond: timedelta) -> str:
    # Translators: on the chart: %(count)s acknowledgements took longer than the chart shows; they are counted in
    # its last bar. Keep the line break.
    return n_(
        "%(count)s took %(duration)s or more\n(in the last bar)",
        "%(count)s took %(duration)s or more\n(in the last bar)",
        count,
        count=number(count),
        duration=span(beyond),
    )


def chart_alt_text(digest: Digest, limit: int = 1000) -> str:
    """The chart in words, for Slack's alt text (uploads take at most 1,000 characters)."""
    if digest.quiet:
        hours = _("No complaints were posted.")
    else:
        busiest = ", ".join(
            # Translators: one of the busiest hours in the chart's alt text: the hour and its count, e.g. "09:00 (4)".
            _("%(hour)s (%(count)s)", hour=_hour(row.hour), count=number(row.count))
            for row in digest.busiest_hours
        )
        # Translators: the chart's alt text: how many complaints in all, then the busiest hours of the day.
        hours = n_(
            "Complaints per hour of the day: %(count)s in all; busiest hours %(hours)s.",
            "Complaints per hour of the day: %(count)s in all; busiest hours %(hours)s.",
            digest.current.received,
            count=number(digest.current.received),
            hours=busiest,
        )
    figures = digest.current
    if figures.ack_median is None:
        acks = _("No complaint was acknowledged.")
    else:
        values = {
            "count": number(figures.acknowledged),
            "median": span(figures.ack_median),
            "window": span(digest.ack_window),
        }
        pct = figures.acknowledged_in_window_pct
        if pct is not None:
            values["percent"] = percent(pct)
        if figures.ack_p90 is not None:
            values["p90"] = span(figures.ack_p90)
        acks = _ack_words(figures.acknowledged, values)
    # Translators: the chart's alt text begins with the period and time zone it shows, e.g. "Tue, 10 Nov 2026,
    # Europe/Paris".
    text = _("Two charts for %(period)s, %(timezone)s.", period=_period_words(digest), timezone=digest.tz_name)
    text += f" {hours} {acks}"
    attainment = _attainment_words(digest, short=False)
    if attainment:
        # Translators: the end of the chart's alt text; %(attainment)s says the shares within the SLA windows.
        text += " " + _("The title gives the team's SLA attainment: %(attainment)s.", attainment=attainment)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ack_words(count: int, values: dict[str, str]) -> str:
    """The alt text's sentence on acknowledgements, with the 90th percentile and the share within the window when
    they are known."""
    if "p90" in values and "percent" in values:
        return n_(
            "Time to acknowledge for %(count)s complaint: median %(median)s, 90th percentile %(p90)s; the %(window)s "
            "window is marked, %(percent)s of all complaints within the window.",
            "Time to acknowledge for %(count)s complaints: median %(median)s, 90th percentile %(p90)s; the %(window)s "
            "window is marked, %(percent)s of all complaints within the window.",
            count,
            **values,
        )
    if "p90" in values:
        return n_(
            "Time to acknowledge for %(count)s complaint: median %(median)s, 90th percentile %(p90)s; the %(window)s "
            "window is marked.",
            "Time to acknowledge for %(count)s complaints: median %(median)s, 90th percentile %(p90)s; the %(window)s "
            "window is marked.",
            count,
            **values,
        )
    if "percent" in values:
        return n_(
            "Time to acknowledge for %(count)s complaint: median %(median)s; the %(window)s window is marked, "
            "%(percent)s of all complaints within the window.",
            "Time to acknowledge for %(count)s complaints: median %(median)s; the %(window)s window is marked, "
            "%(percent)s of all complaints within the window.",
            count,
            **values,
        )
    return n_(
        "Time to acknowledge for %(count)s complaint: median %(median)s; the %(window)s window is marked.",
        "Time to acknowledge for %(count)s complaints: median %(median)s; the %(window)s window is marked.",
        count,
        **values,
    )


def _hour(hour: int) -> str:
    """A local hour of the day as the language writes a time: `09:00`, `9.00`."""
    return format_time(time(hour), format="short", locale=locale())


def _attainment_words(digest: Digest, *, short: bool) -> str:
    """The team's share within each window, for the chart's title (`short`) and its alt text; "" with none due."""
    attainment = digest.attainment
    if attainment is None or attainment.empty:
        return ""
    ack, resolve = attainment.whole.team.ack, attainment.whole.team.resolve
    if short:
        parts = [
            # Translators: in the chart's title: the team's share of complaints acknowledged in time, e.g. "75%".
            _("acknowledged in time %(percent)s", percent=percent(ack.percent))
            if ack.percent is not None
            # Translators: in the chart's title: no complaint's acknowledgement deadline has come yet.
            else _("acknowledged in time: none due"),
            # Translators: in the chart's title: the team's share of complaints resolved in time, e.g. "75%".
            _("resolved in time %(percent)s", percent=percent(resolve.percent))
            if resolve.percent is not None
            # Translators: in the chart's title: no complaint's resolution deadline has come yet.
            else _("resolved in time: none due"),
        ]
        return ", ".join(parts)
    parts = []
    for acknowledge, window, figures in (
        (True, attainment.ack_window, ack),
        (False, attainment.resolve_window, resolve),
    ):
        if figures.percent is None:
            if acknowledge:
                parts.append(_("acknowledged within %(duration)s: none due yet", duration=span(window)))
            else:
                parts.append(_("resolved within %(duration)s: none due yet", duration=span(window)))
            continue
        values = {
            "duration": span(window),
            "percent": percent(figures.percent),
            "count": number(figures.in_window),
            "total": number(figures.due),
        }
        if acknowledge:
            # Translators: e.g. "acknowledged within 30 min 75% (3 of 4)".
            parts.append(_("acknowledged within %(duration)s %(percent)s (%(count)s of %(total)s)", **values))
        else:
            # Translators: e.g. "resolved within 1 d 50% (2 of 4)".
            parts.append(_("resolved within %(duration)s %(percent)s (%(count)s of %(total)s)", **values))
    words = ", ".join(parts)
    if attainment.business_hours:
        # Translators: the SLA attainment, counted in business hours only.
        words = _("%(attainment)s (business hours)", attainment=words)
    return words


def _period_words(digest: Digest) -> str:
    period = digest.period
    if period.days == 1:
        return full_day(period.first_day)
    return full_day_range(period.first_day, period.last_day)
