"""One complaint locked, changed and written back with prebuilt Core statements: the path of a card's own buttons
(Claim, Release, Acknowledge, Reopen, Reassign, Resolve), where the ORM's loading and flushing of one row cost a
click more than the statements themselves.

`lock` builds the complaint as a transient `Complaint` from its row, so the lifecycle and the card's renderer read
and change the same class as everywhere else; `write` sends the columns that changed as one UPDATE, then attaches the
object to the session as if it had just been loaded, so the rest of the unit of work (the card's render) finds it
there without asking the database again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from storage.models import Complaint

_table = Complaint.__table__
# Column name -> attribute name (they differ where a column's name is a Python keyword or taken).
_ATTRIBUTES = {column.key: prop.key for prop in Complaint.__mapper__.column_attrs for column in prop.columns}
# Built once: building a statement cost more than running it. Without `raw` (the network's whole payload, read by
# nothing a click does): left unloaded, it is read from the database should anything ask for it.
_LOCK = (
    select(*(column for column in _table.c if column.key != "raw"))
    .where(_table.c.id == bindparam("lock_id"))
    .with_for_update()
)


def lock(session: Session, complaint_id: int) -> tuple[Complaint, dict[str, Any]] | None:
    """The complaint, locked for this unit of work (SQLite: the unit of work holds the writer already), as a
    transient object not yet in `session`, with its values as read; None when there is no such complaint."""
    row = session.execute(_LOCK, {"lock_id": complaint_id}).mappings().first()
    if row is None:
        return None
    read = {_ATTRIBUTES[name]: value for name, value in row.items()}
    return Complaint(**read), read


def write(session: Session, complaint: Complaint, read: dict[str, Any]) -> dict[str, Any]:
    """Write what changed in `complaint` since `lock` read it (`read`), and attach it to `session` as loaded.
    Returns the changed attributes' new values."""
    changed = {name: getattr(complaint, name) for name, before in read.items() if getattr(complaint, name) != before}
    if changed:
        values = {f"set_{_COLUMNS[name]}": value for name, value in changed.items()}
        session.execute(_update_of(frozenset(changed)), {"write_id": complaint.id, **values})
    attach(session, complaint)
    return changed


def attach(session: Session, complaint: Complaint) -> None:
    """Put a transient complaint built by `lock` into `session` as if loaded there: nothing to flush, and the
    session's `get` finds it."""
    make_transient_to_detached(complaint)
    session.add(complaint)


_COLUMNS = {attribute: column for column, attribute in _ATTRIBUTES.items()}
# One UPDATE per set of changed attributes, built the first time it is needed (a few sets: one per kind of click).
_UPDATES: dict[frozenset[str], Any] = {}


def _update_of(attributes: frozenset[str]) -> Any:
    statement = _UPDATES.get(attributes)
    if statement is None:
        columns = sorted(_COLUMNS[name] for name in attributes)
        statement = (
            update(_table)
            .where(_table.c.id == bindparam("write_id"))
            .values({name: bindparam(f"set_{name}", type_=_table.c[name].type) for name in columns})
        )
        _UPDATES[attributes] = statement  # a race builds the same statement twice, harmlessly
    return statement
