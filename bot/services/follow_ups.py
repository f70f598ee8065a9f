"""Follow-ups: scheduled from the card, sent once by whichever copy of Heard claims them, done or snoozed."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import lifecycle, projections
from bot.blocks import modals
from bot.blocks.when import clock
from bot.delivery import utcnow
from bot.i18n import _
from bot.lifecycle import Action, Actor, FollowUpStatus, Outcome, TransitionRefused
from bot.services.base import (
    GONE,
    NOT_AN_AGENT,
    SNOOZE,
    FieldErrors,
    Requester,
    UseCases,
    default_follow_up,
)
from storage.models import Complaint, FollowUp

log = logging.getLogger("heard.services")


class FollowUpUseCases(UseCases):
    def schedule_follow_up(
        self, complaint_id: int, requester: Requester, day: str | None, at: str | None, note: str | None
    ) -> FieldErrors | None:
        try:
            due = datetime.combine(date.fromisoformat(day or ""), time.fromisoformat(at or ""), self.settings.timezone)
        except ValueError:
            return {modals.ids.DATE_INPUT: _("Choose a date and a time.")}
        if due <= utcnow():
            return {modals.ids.DATE_INPUT: _("That moment has passed; choose a time in the future.")}
        self._add_follow_up(complaint_id, requester, due, (note or "").strip())
        return None

    def quick_follow_up(self, complaint_id: int, requester: Requester) -> None:
        self._add_follow_up(complaint_id, requester, default_follow_up(self.settings, utcnow()), "")

    def _add_follow_up(self, complaint_id: int, requester: Requester, due: datetime, note: str) -> None:
        def schedule(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            outcome = lifecycle.apply(
                session, complaint, Action.SCHEDULE_FOLLOW_UP, requester.actor, now, {"due_at": due.isoformat()}
            )
            session.add(
                FollowUp(
                    complaint_id=complaint.id,
                    due_at=due,
                    note=note,
                    assignee=complaint.owner_id or requester.user_id,
                    scheduled_by=requester.user_id,
                    scheduled_at=now,
                    status=FollowUpStatus.SCHEDULED.value,
                )
            )
            return outcome

        if self._change(complaint_id, requester, schedule):
            self._wake_at(due)

    def finish_follow_up(self, follow_up_id: int, requester: Requester) -> None:
        self._follow_up_step(follow_up_id, requester, Action.FINISH_FOLLOW_UP)

    def snooze_follow_up(self, follow_up_id: int, requester: Requester) -> None:
        self._follow_up_step(follow_up_id, requester, Action.SNOOZE_FOLLOW_UP)

    def _follow_up_step(self, follow_up_id: int, requester: Requester, action: Action) -> None:
        now = utcnow()
        notice: str | None = None
        snoozed_until: datetime | None = None
        # Asked before the unit of work: the check may ask Slack (user groups, guests).
        is_agent = self._safely(self.roles.is_agent, requester.user_id)
        with self.database.unit_of_work() as session:
            follow_up = session.get(FollowUp, follow_up_id, with_for_update=True)
            complaint = session.get(Complaint, follow_up.complaint_id, with_for_update=True) if follow_up else None
            if follow_up is None or complaint is None:
                notice = _(GONE)
            elif requester.user_id != follow_up.assignee and not is_agent:
                notice = _(NOT_AN_AGENT)
            else:
                detail = {"until": now + SNOOZE} if action is Action.SNOOZE_FOLLOW_UP else None
                try:
                    outcome = lifecycle.apply_to_follow_up(
                        session, complaint, follow_up, action, requester.actor, now, detail
                    )
                    notice = outcome.notice
                    if outcome.changed:
                        projections.refresh_card(session, complaint, now)
                        self._log(session, complaint, outcome, now)
                        if action is Action.SNOOZE_FOLLOW_UP:
                            snoozed_until = follow_up.due_at
                            when = clock(snoozed_until, now, self.settings.timezone)
                            # Translators: %(time)s is when, e.g. "10:15" or "Wed 25 Nov 10:15".
                            notice = _("Snoozed: Heard will remind you again %(time)s.", time=when)
                except TransitionRefused as refused:
                    notice = str(refused)
                projections.refresh_follow_up(session, follow_up, now)
        if notice:
            self._tell(requester, notice)
        if snoozed_until:
            self._wake_at(snoozed_until)
        self._wake_delivery()

    def send_due_follow_ups(self, limit: int = 200) -> datetime | None:
        """Claim every follow-up that is due and queue its DM, in one transaction per batch: with several
        copies of Heard each follow-up is taken by exactly one (the row lock and the status change decide).
        Returns when the next one falls due, so the scheduler can wake up then."""
        now = utcnow()
        actor = Actor("scheduler", "scheduler")
        with self.database.unit_of_work() as session:
            due = session.scalars(
                select(FollowUp)
                .where(FollowUp.status == FollowUpStatus.SCHEDULED.value, FollowUp.due_at <= now)
                .order_by(FollowUp.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for follow_up in due:
                complaint = session.get(Complaint, follow_up.complaint_id)
                assert complaint is not None
                late = now - follow_up.due_at
                detail = {"late_seconds": int(late.total_seconds())} if late > timedelta(minutes=1) else None
                outcome = lifecycle.apply_to_follow_up(
                    session, complaint, follow_up, Action.SEND_FOLLOW_UP, actor, now, detail
                )
                projections.refresh_follow_up(session, follow_up, now)
                projections.refresh_card(session, complaint, now)
                self._log(session, complaint, outcome, now)
            upcoming = session.scalar(
                select(FollowUp.due_at)
                .where(FollowUp.status == FollowUpStatus.SCHEDULED.value, FollowUp.due_at > now)
                .order_by(FollowUp.due_at)
                .limit(1)
            )
        if due:
            log.info("sent %d follow-up reminder(s)", len(due))
            self._wake_delivery()
        if len(due) == limit:
            return self.send_due_follow_ups(limit)  # more was due than one batch takes
        return upcoming
