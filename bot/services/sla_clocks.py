"""The SLA clocks: nags, breaches and reminders, each claimed exactly once under the complaint's row lock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import lifecycle, projections, sla
from bot.delivery import utcnow
from bot.delivery.direct import SlackUnavailable
from bot.i18n import _
from bot.lifecycle import Action, Actor, Outcome, TransitionRefused
from bot.services.base import (
    LATE_AFTER,
    RESOLUTION_SNOOZE,
    Requester,
    UseCases,
)
from bot.sla import Clock, StageKind
from storage.models import Complaint


class SlaUseCases(UseCases):
    def snooze_resolution(self, complaint_id: int, requester: Requester) -> None:
        """The owner may quiet their own resolution reminders for a while (acknowledgement nags never snooze)."""

        def snooze(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            if complaint.owner_id not in (None, requester.user_id):
                owner = lifecycle.mention(complaint.owner_id)
                # Translators: only the complaint's owner may snooze its resolution reminders.
                raise TransitionRefused(_("Only its owner, %(person)s, can snooze these.", person=owner))
            until = now + RESOLUTION_SNOOZE
            outcome = lifecycle.apply(
                session, complaint, Action.SNOOZE_RESOLUTION, requester.actor, now, {"until": until.isoformat()}
            )
            complaint.resolve_snoozed_until = until
            return outcome

        self._change(complaint_id, requester, snooze)

    def run_sla(self, limit: int = 500) -> datetime | None:
        """Do every nag, breach and reminder that has fallen due, each exactly once: the complaint row is locked
        (FOR UPDATE SKIP LOCKED, so copies of Heard share the work) and its stage counter moves in the same
        transaction as the message is queued. Work that fell due while Heard was down is done now, marked late;
        of several stages missed, only the latest is sent. Returns when the next one falls due."""
        now = utcnow()
        managers = self._breach_recipients()
        actor = Actor("scheduler", "scheduler")
        woke: list[int] = []
        with self.database.unit_of_work() as session:
            due = session.scalars(
                select(Complaint)
                .where(Complaint.sla_due_at <= now)
                .order_by(Complaint.sla_due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            # One flush at commit for the whole batch, not one per statement (rows are locked and independent).
            with session.no_autoflush:
                for complaint in due:
                    for which in sla.Clock:
                        self._do_stages(session, complaint, which, now, actor, managers)
                    complaint.sla_due_at = sla.next_due(complaint, self.sla)
                    woke.append(complaint.id)
            upcoming = session.scalar(
                select(Complaint.sla_due_at).where(Complaint.sla_due_at > now).order_by(Complaint.sla_due_at).limit(1)
            )
        if woke:
            self._wake_delivery()
        if len(due) == limit:
            return self.run_sla(limit)  # more was due than one batch takes
        return upcoming

    def _do_stages(
        self, session: Session, complaint: Complaint, which: Clock, now: datetime, actor: Actor, managers: list[str]
    ) -> None:
        stages = sla.due_stages(complaint, which, self.sla, now)
        if not stages:
            return
        stage = stages[-1]
        sla.set_done_stages(complaint, which, stage.number)
        late = now - stage.at
        detail: dict[str, object] = {"clock": which.value, "stage": stage.number}
        if late > LATE_AFTER:
            detail["late_seconds"] = round(late.total_seconds(), 1)
        if len(stages) > 1:
            detail["skipped_stages"] = [skipped.number for skipped in stages[:-1]]
        if stage.kind is StageKind.NAG:
            action = Action.NAG
            projections.send_nag(session, complaint, which, stage.number, now)
            self.metrics.nag_queued(session, late)
        else:
            action = Action.BREACH if stage.kind is StageKind.BREACH else Action.REMIND
            if stage.kind is StageKind.BREACH:
                self.metrics.complaint_breached(session, complaint, which.value)
            reminder = stage.number - self._breach_stage_number(complaint, which)
            recipients = managers
            if stage.kind is StageKind.REMINDER and (walker := self._next_on_rotation(complaint, reminder, now)):
                recipients = [walker]  # the chain keeps moving at night: the next person on the rotation
                detail["to"] = walker
            projections.alert_breach(session, complaint, which, stage.number, reminder, recipients, now)
            projections.refresh_card(session, complaint, now)  # the card turns overdue
        outcome = lifecycle.apply(session, complaint, action, actor, now, detail)
        self._log(session, complaint, outcome, now)

    def _next_on_rotation(self, complaint: Complaint, reminder: int, now: datetime) -> str | None:
        """With rotations, repeated breach reminder `reminder` (1, 2, ...) goes to the next people on the owner's
        rotation (or, unclaimed, the first general rotation after whoever is on duty) in turn, skipping those on
        leave; once they have all been told, to the managers again (None)."""
        if self.context.rotations is None:
            return None
        schedule = self.context.rotations.current()
        rotation = schedule.rotation_of(complaint.owner_id) if complaint.owner_id else None
        if rotation is None:
            rotation = next(iter(schedule.general() or schedule.rotations), None)
        if rotation is None:
            return None
        walk = schedule.walk_after(rotation, complaint.owner_id, now)
        return walk[reminder - 1] if 0 < reminder <= len(walk) else None

    def _breach_stage_number(self, complaint: Complaint, which: Clock) -> int:
        stages = self.sla.stages(sla.clock_start(complaint), sla.clock_deadline(complaint, which))
        return next(stage.number for stage in stages if stage.kind is StageKind.BREACH)

    def _breach_recipients(self) -> list[str]:
        """Managers by DM; without HEARD_MANAGERS (or when Slack cannot list a group) the complaints channel."""
        if not self.settings.managers:
            return [self.settings.heard_channel]
        try:
            return self.roles.manager_recipients() or [self.settings.heard_channel]
        except SlackUnavailable:
            return [self.settings.heard_channel]
