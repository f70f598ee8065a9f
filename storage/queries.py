"""The lookups' queries (`/complaints`, the App Home): SQL that must match an index exactly, and the SQL that
differs between SQLite and PostgreSQL, kept in one place.

The indexes behind them (migration 0008) are on expressions and partial, so the queries below spell the indexed
expressions and conditions as literal SQL, character for character the same as the index definitions: a bound
parameter in their place (`status <> :status`) could keep SQLite's planner, or a generic plan on PostgreSQL, from
using the index. `tests/test_lookups.py` checks that each lookup's plan names its index.

Those indexes, the full-text table on SQLite and the search column on PostgreSQL are not declared in
`storage.models` (SQLAlchemy cannot express an FTS5 table, expression indexes do not compare reliably, and the column
exists on one database only); `include_in_model_comparison` hides them from Alembic's comparison of the models with
the migrated schema.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, literal_column, select, text
from sqlalchemy.orm import Session

from storage.models import Complaint, Escalation, FollowUp, UtcDateTime

# -- the indexed expressions (the same text as in migrations/versions/0008_lookup_indexes.py) --------------------------

OPEN = "status <> 'resolved'"
# False (0) sorts before true (1) on both databases: high priority first.
PRIORITY_RANK = "(priority <> 'high')"
# The deadline that matters now: acknowledging, then (once acknowledged) resolving. Both run from posting.
NEXT_DEADLINE = "(CASE WHEN acknowledged_at IS NULL THEN ack_deadline ELSE resolve_deadline END)"
# Handles are matched without case and without a leading @ (sources differ in whether they send one).
AUTHOR_KEY = "lower(ltrim(author_handle, '@'))"
# The partial indexes' conditions; queries that join prefix them with their table (each starts with the column).
FOLLOW_UP_DUE = "status IN ('scheduled', 'sent')"
ESCALATION_WAITING = "status IN ('open', 'awaiting approval')"

# SQLite: an FTS5 table over complaints.text, kept in step by triggers. PostgreSQL: a stored generated column,
# to_tsvector('simple', text), with a GIN index; stored, so checking a row costs no re-parsing of its text.
SEARCH_TABLE = "complaints_fts"
SEARCH_VECTOR = "search_vector"

LOOKUP_INDEXES = frozenset(
    {
        "ix_complaints_open_queue",
        "ix_complaints_owner_queue",
        "ix_complaints_author_key",
        "ix_complaints_text_search",
        "ix_follow_ups_assignee_due",
        "ix_escalations_waiting",
    }
)
# Longest excerpt of a complaint's text a list fetches; lists show less, and the full text is one `<id>` away.
EXCERPT_CHARS = 600
# Words of a search: letters and digits, as both SQLite's unicode61 tokenizer and PostgreSQL's parser split them.
_WORD = re.compile(r"[^\W_]+")


def include_in_model_comparison(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic `include_name` hook: leave out the schema objects the models do not declare (see above)."""
    if type_ == "table" and name is not None and name.startswith(SEARCH_TABLE):
        return False  # the FTS5 table and its shadow tables (_data, _idx, _docsize, _config)
    if type_ == "column" and name == SEARCH_VECTOR and parent_names.get("table_name") == "complaints":
        return False
    return not (type_ == "index" and name in LOOKUP_INDEXES)


def _sql(expression: str, type_: Any = None) -> ColumnElement[Any]:
    return literal_column(expression, type_)


def priority_rank() -> ColumnElement[Any]:
    return _sql(PRIORITY_RANK)


def next_deadline() -> ColumnElement[datetime]:
    return _sql(NEXT_DEADLINE, UtcDateTime())


def is_open() -> ColumnElement[bool]:
    return text(OPEN)  # type: ignore[return-value]


def complaint_columns() -> list[Any]:
    """What a list shows of each complaint; the text only as an excerpt, so a page never fetches megabytes."""
    return [
        Complaint.id,
        Complaint.source,
        Complaint.author_handle,
        Complaint.author_name,
        func.substr(Complaint.text, 1, EXCERPT_CHARS).label("excerpt"),
        Complaint.status,
        Complaint.priority,
        Complaint.owner_id,
        Complaint.posted_at,
        Complaint.acknowledged_at,
        Complaint.ack_deadline,
        Complaint.resolve_deadline,
        Complaint.resolved_at,
        Complaint.slack_permalink,
    ]


def _page(session: Session, query: Select[Any], offset: int, limit: int) -> list[Row[Any]]:
    return list(session.execute(query.offset(offset).limit(limit)).all())


def _rows_by_id(session: Session, ids: Sequence[int]) -> list[Row[Any]]:
    if not ids:
        return []
    query = select(*complaint_columns()).where(Complaint.id.in_(list(ids))).order_by(Complaint.id.desc())
    return list(session.execute(query).all())


def _count(session: Session, query: Select[Any], cap: int) -> int:
    """How many rows `query` has, counting no further than `cap`. Give the query the order of the index that
    serves it: with ORDER BY and LIMIT the planner reads that index's range and stops, where a bare count of a
    large share of the table may make it scan the whole table (or a LIMIT alone, scan it from the oldest rows)."""
    return int(session.scalar(select(func.count()).select_from(query.limit(cap).subquery())) or 0)


# -- the queue: open complaints by priority and deadline -------------------------------------------------------------


def _queue_order() -> tuple[Any, ...]:
    return (priority_rank(), next_deadline(), Complaint.id)


def _open_conditions(owner: str | None, unclaimed: bool, overdue_at: datetime | None) -> list[Any]:
    conditions: list[Any] = [is_open()]
    if owner is not None:
        conditions.append(Complaint.owner_id == owner)
    if unclaimed:
        conditions.append(Complaint.owner_id.is_(None))
    if overdue_at is not None:
        conditions.append(next_deadline() < overdue_at)
    return conditions


def open_queue(
    session: Session,
    *,
    offset: int,
    limit: int,
    count_cap: int,
    owner: str | None = None,
    overdue_at: datetime | None = None,
) -> tuple[list[Row[Any]], int]:
    """Open complaints, high priority first, then the nearest deadline first: all of them, one person's (`owner`),
    or those past their deadline at `overdue_at`. One page, and the total up to `count_cap`."""
    conditions = _open_conditions(owner, False, overdue_at)
    rows = _page(session, select(*complaint_columns()).where(*conditions).order_by(*_queue_order()), offset, limit)
    return rows, count_open(session, count_cap=count_cap, owner=owner, overdue_at=overdue_at)


def count_open(
    session: Session,
    *,
    count_cap: int,
    owner: str | None = None,
    unclaimed: bool = False,
    overdue_at: datetime | None = None,
) -> int:
    """How many open complaints (of `owner`, nobody's, or overdue at `overdue_at`), up to `count_cap`."""
    conditions = _open_conditions(owner, unclaimed, overdue_at)
    return _count(session, select(Complaint.id).where(*conditions).order_by(*_queue_order()), count_cap)


def count_posted_since(session: Session, start: datetime, *, count_cap: int) -> int:
    query = select(Complaint.id).where(Complaint.posted_at >= start).order_by(Complaint.posted_at)
    return _count(session, query, count_cap)


# -- one author ------------------------------------------------------------------------------------------------------


def author_key(handle: str) -> str:
    """What `AUTHOR_KEY` makes of a stored handle, for a typed one (`@Maria_L` -> `maria_l`)."""
    return handle.strip().lstrip("@").lower()


def by_author(session: Session, handle: str, *, offset: int, limit: int, count_cap: int) -> tuple[list[Row[Any]], int]:
    """Everything from one author, newest first; the total up to `count_cap`."""
    matches = _sql(AUTHOR_KEY) == author_key(handle)
    newest = (Complaint.id.desc(),)
    rows = _page(session, select(*complaint_columns()).where(matches).order_by(*newest), offset, limit)
    return rows, _count(session, select(Complaint.id).where(matches).order_by(*newest), count_cap)


# -- full-text search ------------------------------------------------------------------------------------------------


def search_words(typed: str) -> list[str]:
    """The words of a search, lower-cased and without punctuation: nothing a person types can reach the
    full-text query syntax (FTS5's NEAR, *, ^, column filters; tsquery's & | ! :*)."""
    return [word.lower() for word in _WORD.findall(typed)]


def _fts5_query(words: Sequence[str]) -> str:
    # Each word a quoted string ("" escapes a quote, though _WORD lets none through); juxtaposed strings mean AND.
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def search(
    session: Session, words: Sequence[str], *, offset: int, limit: int, count_cap: int
) -> tuple[list[Row[Any]], int]:
    """Complaints whose text has every word of `words` (whole words, any case), newest first. The total is
    counted up to `count_cap` (a common word may match most of the history; "1,000+" says enough)."""
    if not words:
        return [], 0
    if session.get_bind().dialect.name == "sqlite":
        # FTS5 walks its doclists newest rowid first and stops at the page; the complaints are then read by id.
        matching = f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :query"
        query = _fts5_query(words)
        ids = list(
            session.scalars(
                text(f"{matching} ORDER BY rowid DESC LIMIT :limit OFFSET :offset"),
                {"query": query, "limit": limit, "offset": offset},
            )
        )
        rows = _rows_by_id(session, ids)
        total = session.scalar(
            text(f"SELECT count(*) FROM ({matching} LIMIT :cap)"), {"query": query, "cap": count_cap}
        )
        return rows, int(total or 0)
    # PostgreSQL: plainto_tsquery ANDs the words and takes any text safely.
    matches = _sql(SEARCH_VECTOR).op("@@")(func.plainto_tsquery(literal_column("'simple'"), " ".join(words)))
    # First every match, up to `count_cap` of them, in whatever order is cheapest: the planner takes a rare word's
    # few rows from the GIN index, a common word's first rows from the table. Asked for "newest first" directly,
    # it would walk the primary key from the newest row hoping to meet matches soon, and read the whole table
    # for a word it cannot tell is rare.
    ids = list(session.scalars(select(Complaint.id).where(matches).limit(count_cap)))
    if len(ids) < count_cap:
        return _rows_by_id(session, sorted(ids, reverse=True)[offset : offset + limit]), len(ids)
    # A common word (at least `count_cap` matches): walking from the newest row meets a page of them quickly.
    rows = _page(session, select(*complaint_columns()).where(matches).order_by(Complaint.id.desc()), offset, limit)
    return rows, count_cap


# -- the App Home's lists --------------------------------------------------------------------------------------------


def follow_ups_due(session: Session, assignee: str, *, limit: int) -> tuple[list[Row[Any]], int]:
    """A person's follow-ups still to do (scheduled, or reminded and not done), earliest first, with the author."""
    waiting = (FollowUp.assignee == assignee, text(f"follow_ups.{FOLLOW_UP_DUE}"))
    rows = session.execute(
        select(
            FollowUp.id,
            FollowUp.complaint_id,
            FollowUp.due_at,
            FollowUp.status,
            FollowUp.note,
            Complaint.author_handle,
            Complaint.slack_permalink,
        )
        .join(Complaint, Complaint.id == FollowUp.complaint_id)
        .where(*waiting)
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(FollowUp).where(*waiting))
    return list(rows), int(total or 0)


def escalations_waiting(session: Session, department_keys: Sequence[str], *, limit: int) -> tuple[list[Row[Any]], int]:
    """Escalations to these departments nobody has accepted yet (open, or awaiting a manager), oldest first."""
    if not department_keys:
        return [], 0
    waiting = (Escalation.department_key.in_(list(department_keys)), text(f"escalations.{ESCALATION_WAITING}"))
    rows = session.execute(
        select(
            Escalation.id,
            Escalation.complaint_id,
            Escalation.department_name,
            Escalation.severity,
            Escalation.status,
            Escalation.reason,
            Escalation.requested_by,
            Escalation.requested_at,
            Complaint.author_handle,
            Complaint.slack_permalink,
        )
        .join(Complaint, Complaint.id == Escalation.complaint_id)
        .where(*waiting)
        .order_by(Escalation.requested_at, Escalation.id)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(Escalation).where(*waiting))
    return list(rows), int(total or 0)


# -- figures ---------------------------------------------------------------------------------------------------------


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """`later - earlier` in seconds. SQLite keeps UTC text, which julianday reads; PostgreSQL has timestamptz."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)
