"""Complaints arrive, and the card's own buttons and modals act on them."""

from __future__ import annotations

import logging
from datetime import datetime

from bot import lifecycle, projections
from bot.blocks import modals
from bot.blocks.card import fallback
from bot.delivery import utcnow
from bot.delivery.direct import SlackUnavailable
from bot.lifecycle import Action, Status
from bot.services.base import (
    GONE,
    NOT_AN_AGENT,
    FieldErrors,
    Requester,
    UseCases,
    default_follow_up,
)
from storage.models import Complaint

log = logging.getLogger("heard.services")


class ComplaintUseCases(UseCases):
    # -- buttons on the card --------------------------------------------------------------------------------------

    def claim(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.CLAIM, requester)

    def release(self, complaint_id: int, requester: Requester) -> None:
        as_manager = bool(self.settings.managers) and self._safely(self.roles.is_manager, requester.user_id)
        self._act(complaint_id, Action.RELEASE, requester, {"as_manager": as_manager})

    def acknowledge(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.ACKNOWLEDGE, requester)

    def reopen(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.REOPEN, requester)

    def reassign(self, complaint_id: int, requester: Requester, to_user: str | None) -> FieldErrors | None:
        if not to_user:
            return {modals.ids.ASSIGNEE_INPUT: "Choose who should own this complaint."}
        if not self._safely(self.roles.is_agent, to_user):
            return {modals.ids.ASSIGNEE_INPUT: "That person is not on the care team (HEARD_AGENTS)."}
        self._act(complaint_id, Action.REASSIGN, requester, {"to": to_user})
        return None

    def resolve(self, complaint_id: int, requester: Requester, note: str | None) -> None:
        self._act(complaint_id, Action.RESOLVE, requester, {"note": (note or "").strip()})

    # -- modals: opened first thing, while the trigger is fresh -----------------------------------------------------

    def open_form(self, form: str, complaint_id: int, requester: Requester, trigger_id: str) -> None:
        """Open the modal for `form` (one of ids.*_VIEW) if this person may use it on this complaint now."""
        refusal: str | None = None
        view: dict | str = ""
        # Slack is asked (user groups) before the unit of work, never while it holds the row or SQLite's writer.
        may_act = self._safely(self.roles.is_agent, requester.user_id)
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id)
            if complaint is None:
                refusal = GONE
            elif not may_act:
                refusal = NOT_AN_AGENT
            elif form != modals.ids.FOLLOW_UP_VIEW and complaint.status == Status.RESOLVED:
                refusal = f"This complaint was resolved by {lifecycle.mention(complaint.resolved_by)}; reopen it first."
                projections.refresh_card(session, complaint, utcnow())
            else:
                view = self._form(form, complaint)
                if isinstance(view, str):
                    refusal = view
        if refusal is None and isinstance(view, dict):
            try:
                self.slack.open_modal(trigger_id, view)
                return
            except SlackUnavailable as unavailable:
                refusal = str(unavailable)
        self._tell(requester, refusal or "Slack did not open the form; please try again.")

    def _form(self, form: str, complaint: Complaint) -> dict | str:
        ref = modals.ids.ComplaintRef(complaint.id, complaint.revision).encode()
        summary = fallback(complaint)
        if form == modals.ids.ESCALATE_VIEW:
            if self.directory is None:
                return "Escalation is not set up: the admin needs to create the escalation directory file."
            return modals.escalate_modal(ref, summary, self.directory.current().departments)
        if form == modals.ids.FOLLOW_UP_VIEW:
            due = self.default_follow_up(utcnow()).astimezone(self.settings.timezone)
            return modals.follow_up_modal(ref, summary, due.date(), due.time(), self.settings.timezone.key)
        if form == modals.ids.RESOLVE_VIEW:
            return modals.resolve_modal(ref, summary)
        return modals.reassign_modal(ref, summary, complaint.owner_id)

    def default_follow_up(self, now: datetime) -> datetime:
        return default_follow_up(self.settings, now)
