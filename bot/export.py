"""The managers' CSV exports, safe to open in a spreadsheet: the complaints posted in the last days, one row each;
and their SLA attainment (`bot/attainment.py`) per agent and for the team, by day and by week."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.attainment import Bucket, ClockFigures, Row, compute_attainment
from bot.business_hours import BusinessCalendar
from bot.digest import period_of
from storage.models import Complaint

COLUMNS = (
    "id",
    "source",
    "external_id",
    "author_handle",
    "author_name",
    "priority",
    "category",
    "status",
    "owner",
    "posted_at",
    "acknowledged_at",
    "acknowledged_in_window",
    "resolved_at",
    "url",
    "text",
)


# The same figures `/complaints stats` and the digest show, one row per (period, team / agent / unclaimed).
ATTAINMENT_COLUMNS = (
    "period",  # "day" or "week" (Monday to Sunday, cut to the export's days)
    "first_day",
    "last_day",
    "scope",  # "team", "agent" or "unclaimed" (missed clocks of complaints nobody owns)
    "agent",  # Slack user id for "agent"
    "ack_due",  # met, or past the deadline
    "ack_in_window",
    "ack_in_window_pct",
    "ack_pending",  # still inside the window, not counted in the share
    "ack_median_minutes",
    "ack_p90_minutes",
    "resolve_due",
    "resolve_in_window",
    "resolve_in_window_pct",
    "resolve_pending",
    "resolve_median_minutes",
    "resolve_p90_minutes",
    "time_counted",  # "business hours" or "wall clock"
)


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
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
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
    return CsvFile(
        filename=f"heard-complaints-{first}-to-{last}.csv",
        title=f"Complaints {first} to {last}",
        comment=f"{rows:,} complaint(s) posted {first} to {last} ({tz.key}).",
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
    writer = csv.writer(buffer)
    writer.writerow(ATTAINMENT_COLUMNS)
    rows = 0
    for bucket in (*attainment.days, *attainment.weeks):
        for row in _bucket_rows(bucket):
            writer.writerow([*_attainment_row(bucket, row), counted])
            rows += 1
    first, last = window.first_day.isoformat(), window.last_day.isoformat()
    return CsvFile(
        filename=f"heard-attainment-{first}-to-{last}.csv",
        title=f"SLA attainment {first} to {last}",
        comment=(
            f"SLA attainment per agent and team, by day and by week, of the complaints posted {first} to {last} "
            f"({tz.key}; times in {counted} minutes)."
        ),
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
        _cell(row.agent or ""),
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
        _cell(complaint.author_handle),
        _cell(complaint.author_name or ""),
        complaint.priority,
        complaint.category or "",
        complaint.status,
        complaint.owner_id or "",
        complaint.posted_at.isoformat(),
        complaint.acknowledged_at.isoformat() if complaint.acknowledged_at else "",
        "yes" if in_window else "no",
        complaint.resolved_at.isoformat() if complaint.resolved_at else "",
        complaint.url or "",
        _cell(complaint.text),
    ]


def _cell(text: str) -> str:
    """Text from strangers starting with = + - @ would run as a formula when a manager opens the file."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
