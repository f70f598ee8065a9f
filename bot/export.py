"""The managers' CSV exports, safe to open in a spreadsheet: the complaints posted in the last days, one row each;
and their SLA attainment (`bot/attainment.py`) per agent and for the team, by day and by week.

Every CSV Heard writes goes through `csv_writer`, which defuses every cell (`defused`): a cell a spreadsheet would
read as a formula is shown as text. The customers' e-mail addresses, phone numbers and card numbers are masked in
the complaints export (a file leaves Slack; the card is where the care team reads them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.attainment import Bucket, ClockFigures, Row, compute_attainment
from bot.blocks.figures import day_range, number
from bot.business_hours import BusinessCalendar
from bot.digest import period_of
from bot.i18n import N_, _, n_
from bot.personal_data import mask
from storage.models import Complaint

# Column headers are in the language of the manager who asked (translated when the file is written); cells are data
# and stay as Heard stores them. English headers are names a script can read.
COLUMNS = (
    # Translators: a CSV column header: the complaint's number in Heard. Headers are short; underscores are optional.
    N_("id"),
    # Translators: a CSV column header: the network or source the complaint came from.
    N_("source"),
    # Translators: a CSV column header: the post's id on its network.
    N_("external_id"),
    # Translators: a CSV column header: the customer's handle.
    N_("author_handle"),
    # Translators: a CSV column header: the customer's name.
    N_("author_name"),
    # Translators: a CSV column header.
    N_("priority"),
    # Translators: a CSV column header.
    N_("category"),
    # Translators: a CSV column header: new, acknowledged or resolved.
    N_("status"),
    # Translators: a CSV column header: who owns the complaint.
    N_("owner"),
    # Translators: a CSV column header: when the customer posted it.
    N_("posted_at"),
    # Translators: a CSV column header: when it was acknowledged.
    N_("acknowledged_at"),
    # Translators: a CSV column header: whether it was acknowledged within the SLA window (yes or no).
    N_("acknowledged_in_window"),
    # Translators: a CSV column header: when it was resolved.
    N_("resolved_at"),
    # Translators: a CSV column header: the post's link.
    N_("url"),
    # Translators: a CSV column header: what the customer wrote.
    N_("text"),
)


# The same figures `/complaints stats` and the digest show, one row per (period, team / agent / unclaimed).
ATTAINMENT_COLUMNS = (
    # Translators: a CSV column header: "day" or "week".
    N_("period"),
    # Translators: a CSV column header.
    N_("first_day"),
    # Translators: a CSV column header.
    N_("last_day"),
    # Translators: a CSV column header: "team", "agent" or "unclaimed" (complaints nobody owns).
    N_("scope"),
    # Translators: a CSV column header: the agent's Slack user id.
    N_("agent"),
    # Translators: a CSV column header: acknowledgement deadlines met, or passed.
    N_("ack_due"),
    # Translators: a CSV column header: complaints acknowledged within the window.
    N_("ack_in_window"),
    # Translators: a CSV column header: the share (per cent) acknowledged within the window.
    N_("ack_in_window_pct"),
    # Translators: a CSV column header: complaints still inside the acknowledgement window, not counted.
    N_("ack_pending"),
    # Translators: a CSV column header: the median time to acknowledge, in minutes.
    N_("ack_median_minutes"),
    # Translators: a CSV column header: the 90th percentile of the time to acknowledge, in minutes.
    N_("ack_p90_minutes"),
    # Translators: a CSV column header: resolution deadlines met, or passed.
    N_("resolve_due"),
    # Translators: a CSV column header: complaints resolved within the window.
    N_("resolve_in_window"),
    # Translators: a CSV column header: the share (per cent) resolved within the window.
    N_("resolve_in_window_pct"),
    # Translators: a CSV column header: complaints still inside the resolution window, not counted.
    N_("resolve_pending"),
    # Translators: a CSV column header: the median time to resolve, in minutes.
    N_("resolve_median_minutes"),
    # Translators: a CSV column header: the 90th percentile of the time to resolve, in minutes.
    N_("resolve_p90_minutes"),
    # Translators: a CSV column header: "business hours" or "wall clock".
    N_("time_counted"),
)


def headers(columns: tuple[str, ...]) -> list[str]:
    """A CSV's header row in the language being spoken."""
    return [_(column) for column in columns]


@dataclass(frozen=True)
class CsvFile:
    filename: str
    title: str
    comment: str
    content: bytes
    rows: int


def export_csv(session: Session, days: int, tz: ZoneInfo, asked_at: datetime) -> CsvFile:
    """The `days` local days ending with the day `asked_at` falls on, oldest complaint first."""
    window = period_of(asked_at.astimezone(tz).date(), tz, days)
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(headers(COLUMNS))
    rows = 0
    complaints = session.scalars(
        select(Complaint)
        .where(Complaint.posted_at >= window.start, Complaint.posted_at < window.end)
        .order_by(Complaint.posted_at, Complaint.id)
        .execution_options(yield_per=1000)
    )
    for complaint in complaints:
        writer.writerow(_row(complaint))
        rows += 1
    first, last = window.first_day.isoformat(), window.last_day.isoformat()
    days_words = day_range(window.first_day, window.last_day)
    return CsvFile(
        filename=f"heard-complaints-{first}-to-{last}.csv",
        # Translators: the title of the CSV file of complaints; %(period)s is e.g. "1–7 Nov 2026".
        title=_("Complaints %(period)s", period=days_words),
        # Translators: the message with the CSV file; %(timezone)s is a time zone such as Europe/Helsinki.
        comment=n_(
            "%(count)s complaint posted %(period)s (%(timezone)s).",
            "%(count)s complaints posted %(period)s (%(timezone)s).",
            rows,
            count=number(rows),
            period=days_words,
            timezone=tz.key,
        ),
        content=buffer.getvalue().encode("utf-8"),
        rows=rows,
    )


def export_attainment_csv(
    session: Session,
    days: int,
    tz: ZoneInfo,
    asked_at: datetime,
    *,
    now: datetime,
    calendar: BusinessCalendar,
    ack_window: timedelta,
    resolve_window: timedelta,
) -> CsvFile:
    """SLA attainment of the complaints posted in the `days` local days ending with the day `asked_at` falls on
    (until `asked_at`), as of `now`: every day, then every week, each the team, its agents, and the unclaimed."""
    window = period_of(asked_at.astimezone(tz).date(), tz, days)
    attainment = compute_attainment(
        session,
        first_day=window.first_day,
        last_day=window.last_day,
        tz=tz,
        now=now,
        calendar=calendar,
        ack_window=ack_window,
        resolve_window=resolve_window,
        until=asked_at,
        agents_by=True,
    )
    counted = "business hours" if attainment.business_hours else "wall clock"
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(headers(ATTAINMENT_COLUMNS))
    rows = 0
    for bucket in (*attainment.days, *attainment.weeks):
        for row in _bucket_rows(bucket):
            writer.writerow([*_attainment_row(bucket, row), counted])
            rows += 1
    first, last = window.first_day.isoformat(), window.last_day.isoformat()
    days_words = day_range(window.first_day, window.last_day)
    if attainment.business_hours:
        # Translators: the message with the CSV file; %(timezone)s is a time zone such as Europe/Helsinki.
        comment = _(
            "SLA attainment per agent and team, by day and by week, of the complaints posted %(period)s "
            "(%(timezone)s; times in business-hours minutes).",
            period=days_words,
            timezone=tz.key,
        )
    else:
        # Translators: the message with the CSV file; %(timezone)s is a time zone such as Europe/Helsinki.
        comment = _(
            "SLA attainment per agent and team, by day and by week, of the complaints posted %(period)s "
            "(%(timezone)s; times in wall-clock minutes).",
            period=days_words,
            timezone=tz.key,
        )
    return CsvFile(
        filename=f"heard-attainment-{first}-to-{last}.csv",
        # Translators: the title of the CSV file; %(period)s is e.g. "1–7 Nov 2026".
        title=_("SLA attainment %(period)s", period=days_words),
        comment=comment,
        content=buffer.getvalue().encode("utf-8"),
        rows=rows,
    )


def _bucket_rows(bucket: Bucket) -> list[Row]:
    return [bucket.team, *bucket.agents, *([bucket.unclaimed] if bucket.unclaimed is not None else [])]


def _attainment_row(bucket: Bucket, row: Row) -> list[str]:
    return [
        bucket.kind,
        bucket.first_day.isoformat(),
        bucket.last_day.isoformat(),
        row.scope,
        row.agent or "",
        *_clock_cells(row.ack),
        *_clock_cells(row.resolve),
    ]


def _clock_cells(figures: ClockFigures) -> list[str]:
    percent = figures.percent
    return [
        str(figures.due),
        str(figures.in_window),
        f"{percent:.1f}" if percent is not None else "",
        str(figures.pending),
        _minutes(figures.median),
        _minutes(figures.p90),
    ]


def _minutes(delta: timedelta | None) -> str:
    return f"{delta.total_seconds() / 60:.1f}" if delta is not None else ""


def _row(complaint: Complaint) -> list[str]:
    in_window = complaint.acknowledged_at is not None and complaint.acknowledged_at <= complaint.ack_deadline
    return [
        str(complaint.id),
        complaint.source,
        complaint.external_id,
        mask(complaint.author_handle),
        mask(complaint.author_name or ""),
        complaint.priority,
        complaint.category or "",
        complaint.status,
        complaint.owner_id or "",
        complaint.posted_at.isoformat(),
        complaint.acknowledged_at.isoformat() if complaint.acknowledged_at else "",
        "yes" if in_window else "no",
        complaint.resolved_at.isoformat() if complaint.resolved_at else "",
        complaint.url or "",
        mask(complaint.text),
    ]


# What a spreadsheet reads as the start of a formula (tab and CR too: some read past them).
_FORMULA_START = ("=", "+", "-", "@")


def defused(cell: object) -> str:
    """A cell a spreadsheet shows and never runs: text from strangers starting with = + - @ (also after leading
    spaces), a tab or a carriage return gets a leading apostrophe."""
    text = "" if cell is None else str(cell)
    if text[:1] in ("\t", "\r") or text.lstrip()[:1] in _FORMULA_START:
        return "'" + text
    return text


class _DefusedWriter:
    """csv.writer with every cell defused: no writer can forget one."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._writer = csv.writer(buffer)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([defused(cell) for cell in row])


def csv_writer(buffer: io.StringIO) -> _DefusedWriter:
    """The writer for every CSV Heard writes."""
    return _DefusedWriter(buffer)
