"""Rotations as use cases: the handoff sweep (a DM with the open queue, once per person and turn across copies),
who is on duty now and next, and an agent's own away status from the Home tab."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import delivery
from bot.blocks.rotations import QUEUE_SHOWN, handoff_message
from bot.config import Settings
from bot.delivery import Outgoing, utcnow
from bot.i18n import _
from bot.languages import Languages, speaking_to
from bot.rotations import Rotation, RotationsFile, Schedule
from bot.services.base import NOT_AN_AGENT, Requester, UseCases
from storage import queries
from storage.models import AgentStatus, Delivery, Handoff

log = logging.getLogger("heard.rotations")

HANDOFF = "handoff"
COUNT_CAP = 10_000


@dataclass(frozen=True)
class RotationDuty:
    name: str
    people: tuple[str, ...]  # on duty now (overrides applied)
    since: datetime
    until: datetime
    next_people: tuple[str, ...]
    closed_until: datetime | None = None  # outside the rotation's hours: nobody on duty until then
    covering: tuple[tuple[str, str], ...] = ()  # (who, whom) overrides in force now


@dataclass(frozen=True)
class DutyBoard:
    rotations: tuple[RotationDuty, ...]
    away: tuple[str, ...]  # agents who set themselves away in the Home tab
    auto_assign: str


def duty_of(schedule: Schedule, rotation: Rotation, now: datetime) -> RotationDuty:
    current, following = schedule.now_and_next(rotation, now)
    covering = tuple(
        (override.who, override.covers)
        for override in schedule.overrides
        if override.applies_to(rotation.name) and override.active(now) and override.covers in rotation.people
    )
    return RotationDuty(
        name=rotation.name,
        people=current.people,
        since=current.start,
        until=current.end,
        next_people=following.people,
        closed_until=current.closed_until,
        covering=covering,
    )


class RotationUseCases(UseCases):
    @property
    def configured(self) -> bool:
        return self.context.rotations is not None

    def schedule(self) -> Schedule | None:
        return self.context.rotations.current() if self.context.rotations is not None else None

    # -- handoffs ------------------------------------------------------------------------------------------------------

    def hand_off(self) -> datetime | None:
        """Sweep: each person whose turn on duty has begun gets one DM with the open queue (a `handoffs` row per
        rotation, person and turn, inserted once whichever copy gets there first). Returns the next handoff."""
        schedule = self.schedule()
        if schedule is None:
            return None
        now = utcnow()
        queued = 0
        with self.database.unit_of_work() as session:
            for rotation in schedule.rotations:
                shift = schedule.shift_at(rotation, now)
                for person in shift.people:
                    handoff_id = _claim_handoff(session, rotation.name, person, shift.start, shift.end, now)
                    if handoff_id is None:
                        continue
                    delivery.refresh(
                        session,
                        kind=HANDOFF,
                        key=f"{HANDOFF}:{handoff_id}",
                        complaint_id=None,
                        ref_id=handoff_id,
                        now=now,
                        payload={"to": person},
                        fresh=True,
                    )
                    queued += 1
        if queued:
            log.info("%d handoff message(s) queued", queued)
            self._wake_delivery()
        return schedule.next_change(now)

    # -- who is on duty ------------------------------------------------------------------------------------------------

    def duty_board(self, now: datetime) -> DutyBoard | None:
        schedule = self.schedule()
        if schedule is None and self.settings.auto_assign == "off":
            return None
        with self.database.unit_of_work() as session:
            away = tuple(
                session.scalars(select(AgentStatus.user_id).where(AgentStatus.away).order_by(AgentStatus.user_id))
            )
        rotations = () if schedule is None else tuple(duty_of(schedule, r, now) for r in schedule.rotations)
        return DutyBoard(rotations, away, self.settings.auto_assign)

    # -- away / back ---------------------------------------------------------------------------------------------------

    def set_away(self, requester: Requester, away: bool) -> bool:
        """The agent's own status from the Home tab: away agents get no complaints assigned. Returns whether it
        applied (only agents have one)."""
        if not self._safely(self.roles.is_agent, requester.user_id):
            self._tell(requester, _(NOT_AN_AGENT))
            return False
        now = utcnow()
        with self.database.unit_of_work() as session:
            status = session.get(AgentStatus, requester.user_id, with_for_update=True)
            if status is None:
                session.add(AgentStatus(user_id=requester.user_id, away=away, changed_at=now))
            elif status.away != away:
                status.away, status.changed_at = away, now
        log.info("%s is now %s", requester.user_id, "away" if away else "available")
        return True


def _claim_handoff(
    session: Session, rotation: str, person: str, since: datetime, until: datetime, now: datetime
) -> int | None:
    """Insert the handoff row; its id if this copy inserted it, None if it existed."""
    values = {"rotation": rotation, "person": person, "since": since, "until": until, "created_at": now}
    table = Handoff.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = insert.values(values).on_conflict_do_nothing().returning(table.c.id)
    return session.execute(statement).scalar()


class HandoffProjection:
    """Renders a handoff DM at send time from the committed state: the rotation as it stands and the open queue."""

    def __init__(self, settings: Settings, rotations: RotationsFile | None, languages: Languages | None = None) -> None:
        self.settings = settings
        self.rotations = rotations
        self.languages = languages

    @property
    def renderers(self) -> dict[str, delivery.Renderer]:
        return {HANDOFF: self.handoff}

    def handoff(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        from bot.services.lookups import _line

        handoff = session.get(Handoff, row.ref_id)
        if handoff is None or self.rotations is None:
            return None
        schedule = self.rotations.current()
        rotation = schedule.get(handoff.rotation)
        if rotation is None:
            return None  # the rotation was removed from the file meanwhile
        duty = duty_of(schedule, rotation, handoff.since)
        cap = COUNT_CAP + 1
        rows, total = queries.open_queue(session, offset=0, limit=QUEUE_SHOWN, count_cap=cap)
        unclaimed = queries.count_open(session, count_cap=cap, unclaimed=True)
        with speaking_to(self.languages, session, handoff.person):
            message = handoff_message(
                duty, handoff.person, [_line(r) for r in rows], total, unclaimed, now, self.settings.timezone
            )
        return Outgoing(handoff.person, message)
