"""Escalation to a department from the directory, with a manager's approval where the directory asks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import lifecycle, projections
from bot.blocks import modals
from bot.delivery import utcnow
from bot.delivery.direct import SlackUnavailable
from bot.directory import Department
from bot.i18n import _
from bot.lifecycle import Action, EscalationStatus, Outcome, TransitionRefused
from bot.services.base import (
    GONE,
    NO_MEMBERSHIP,
    NOT_A_MANAGER,
    FieldErrors,
    Requester,
    UseCases,
)
from storage.models import Complaint, Escalation


class EscalationUseCases(UseCases):
    def escalate(
        self,
        complaint_id: int,
        requester: Requester,
        department_key: str | None,
        reason: str | None,
        severity: str | None,
    ) -> FieldErrors | None:
        department = self.directory.current().get(department_key or "") if self.directory else None
        errors: FieldErrors = {}
        if department is None:
            errors[modals.ids.DEPARTMENT_INPUT] = _("Choose a department from the list.")
        if not (reason or "").strip():
            errors[modals.ids.REASON_INPUT] = _("Say why, so the department knows what to do.")
        if errors:
            return errors
        assert department is not None
        try:
            recipients, mentions = self._department_recipients(department)
            approvers = self.roles.manager_recipients() if department.needs_approval else []
        except SlackUnavailable:
            return {modals.ids.DEPARTMENT_INPUT: _(NO_MEMBERSHIP)}

        def escalate_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            outcome = lifecycle.apply(
                session,
                complaint,
                Action.ESCALATE,
                requester.actor,
                now,
                {"department": department.name, "reason": reason, "severity": severity},
            )
            escalation = Escalation(
                complaint_id=complaint.id,
                department_key=department.key,
                department_name=department.name,
                reason=(reason or "").strip(),
                severity=(severity or "medium"),
                status=(EscalationStatus.AWAITING_APPROVAL if department.needs_approval else EscalationStatus.OPEN),
                requested_by=requester.user_id,
                requested_at=now,
            )
            session.add(escalation)
            session.flush()
            if department.needs_approval:
                projections.ask_for_approval(session, escalation, approvers or [self.settings.heard_channel], now)
            else:
                projections.notify_department(session, escalation, recipients, mentions, now)
            return outcome

        self._change(complaint_id, requester, escalate_now)
        return None

    def _department_recipients(self, department: Department) -> tuple[list[str], str]:
        """DMs for the listed people; the channel (mentioning the groups) when there is one, else DMs to the
        groups' members; the complaints channel when nothing else reaches anyone."""
        recipients = list(department.users)
        mentions = " ".join(f"<!subteam^{group}>" for group in department.user_groups)
        if department.channel:
            recipients.append(department.channel)
        else:
            for group in department.user_groups:
                recipients.extend(user for user in sorted(self.slack.group_members(group)) if user not in recipients)
        return recipients or [self.settings.heard_channel], mentions

    def decide_escalation(self, escalation_id: int, requester: Requester, approve: bool) -> None:
        if not self._safely(self.roles.is_manager, requester.user_id):
            self._tell(requester, _(NOT_A_MANAGER))
            return
        action = Action.APPROVE_ESCALATION if approve else Action.DECLINE_ESCALATION
        self._escalation_step(escalation_id, requester, action)

    def accept_escalation(self, escalation_id: int, requester: Requester) -> None:
        may_accept = self._may_accept(escalation_id, requester)
        self._escalation_step(escalation_id, requester, Action.ACCEPT_ESCALATION, may_accept=may_accept)

    def _may_accept(self, escalation_id: int, requester: Requester) -> bool:
        """Asked before the step's unit of work, never while it holds the rows: the check may ask Slack (user
        groups, guests)."""
        with self.database.unit_of_work() as session:
            key = session.scalar(select(Escalation.department_key).where(Escalation.id == escalation_id))
        department = self.directory.current().get(key) if self.directory and key else None
        return self._safely(self.roles.may_accept, requester.user_id, department)

    def _escalation_step(
        self, escalation_id: int, requester: Requester, action: Action, *, may_accept: bool = False
    ) -> None:
        now = utcnow()
        notice: str | None = None
        with self.database.unit_of_work() as session:
            escalation = session.get(Escalation, escalation_id, with_for_update=True)
            complaint = session.get(Complaint, escalation.complaint_id, with_for_update=True) if escalation else None
            if escalation is None or complaint is None:
                notice = _(GONE)
            else:
                department = self.directory.current().get(escalation.department_key) if self.directory else None
                if action is Action.ACCEPT_ESCALATION and not may_accept:
                    # Translators: %(department)s is the name of a department, e.g. Legal.
                    notice = _(
                        "Only the contacts of %(department)s or a manager can accept this escalation.",
                        department=escalation.department_name,
                    )
                else:
                    notice = self._escalation_transition(
                        session, complaint, escalation, action, requester, department, now
                    )
        if notice:
            self._tell(requester, notice)
        self._wake_delivery()

    def _escalation_transition(
        self,
        session: Session,
        complaint: Complaint,
        escalation: Escalation,
        action: Action,
        requester: Requester,
        department: Department | None,
        now: datetime,
    ) -> str | None:
        try:
            outcome = lifecycle.apply_to_escalation(session, complaint, escalation, action, requester.actor, now)
        except TransitionRefused as refused:
            projections.refresh_escalation(session, escalation, now)
            return str(refused)
        if outcome.changed:
            projections.refresh_escalation(session, escalation, now)
            projections.refresh_card(session, complaint, now)
            self._log(session, complaint, outcome, now)
            if action is Action.APPROVE_ESCALATION:
                if department is None:
                    return _(
                        "%(department)s is no longer in the directory; nobody was notified.",
                        department=escalation.department_name,
                    )
                recipients, mentions = self._department_recipients(department)
                projections.notify_department(session, escalation, recipients, mentions, now)
        return outcome.notice
