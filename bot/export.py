"""The managers' CSV export: the complaints posted in the last days, one row each, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

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
