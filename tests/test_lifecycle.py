"""The transition table: allowed changes write one audit event, repeats write nothing, the rest is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from bot.lifecycle import Action, Actor, TransitionRefused, apply
from storage.db import Database
from storage.models import AuditEvent, Complaint

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ANA = Actor("U0ANA", "slack:button")
BEN = Actor("U0BEN", "slack:button")


def new_complaint(database: Database) -> int:
    with database.unit_of_work() as session:
        complaint = Complaint(
            source="facebook",
            external_id="1",
            author_handle="maria",
            text="broken",
            posted_at=NOW,
            received_at=NOW,
            status="new",
            ack_deadline=NOW + timedelta(hours=1),
            resolve_deadline=NOW + timedelta(hours=24),
            revision=1,
        )
        session.add(complaint)
        session.flush()
        return complaint.id


def act(database: Database, complaint_id: int, action: Action, actor: Actor) -> bool:
    with database.unit_of_work() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        return apply(session, complaint, action, actor, NOW).changed


def events(database: Database) -> list[tuple[str, str]]:
    with database.unit_of_work() as session:
        return [(e.action, e.actor) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_claim_then_repeat_is_a_no_op(database: Database) -> None:
    complaint_id = new_complaint(database)

    assert act(database, complaint_id, Action.CLAIM, ANA) is True
    assert act(database, complaint_id, Action.CLAIM, ANA) is False

    assert events(database) == [("claimed", "U0ANA")]


def test_claim_of_a_claimed_complaint_is_refused_with_the_owner(database: Database) -> None:
    complaint_id = new_complaint(database)
    act(database, complaint_id, Action.CLAIM, ANA)

    with pytest.raises(TransitionRefused, match="already claimed by <@U0ANA>"):
        act(database, complaint_id, Action.CLAIM, BEN)


def test_acknowledge_moves_the_status_once(database: Database) -> None:
    complaint_id = new_complaint(database)

    assert act(database, complaint_id, Action.ACKNOWLEDGE, BEN) is True
    assert act(database, complaint_id, Action.ACKNOWLEDGE, ANA) is False

    with database.unit_of_work() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        assert (complaint.status, complaint.acknowledged_by, complaint.revision) == ("acknowledged", "U0BEN", 2)
    assert events(database) == [("acknowledged", "U0BEN")]


def test_the_audit_trail_cannot_be_changed_or_deleted(database: Database) -> None:
    complaint_id = new_complaint(database)
    act(database, complaint_id, Action.CLAIM, ANA)

    for statement in ("UPDATE audit_events SET actor = 'U0EVE'", "DELETE FROM audit_events"):
        with pytest.raises(DatabaseError, match="append-only"), database.unit_of_work() as session:
            session.execute(text(statement))
    assert events(database) == [("claimed", "U0ANA")]
