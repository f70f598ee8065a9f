"""Complaints arrive, and the card's own buttons and modals act on them."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.blocks import modals
from bot.blocks.card import fallback
from bot.delivery import utcnow
from bot.i18n import _
from bot.lifecycle import Action
from bot.services.base import (
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
        as_manager = self._safely(self.roles.is_manager, requester.user_id)
        self._act(complaint_id, Action.RELEASE, requester, {"as_manager": as_manager})

    def acknowledge(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.ACKNOWLEDGE, requester)

    def reopen(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.REOPEN, requester)

    def reassign(self, complaint_id: int, requester: Requester, to_user: str | None) -> FieldErrors | None:
        if not to_user:
            return {modals.ids.ASSIGNEE_INPUT: _("Choose who should own this complaint.")}
        if not self._safely(self.roles.is_agent, to_user):
            # Translators: HEARD_AGENTS is the name of a setting: keep it as it is.
            return {modals.ids.ASSIGNEE_INPUT: _("That person is not on the care team (HEARD_AGENTS).")}
        self._act(complaint_id, Action.REASSIGN, requester, {"to": to_user})
        return None

    def resolve(self, complaint_id: int, requester: Requester, note: str | None) -> None:
        self._act(complaint_id, Action.RESOLVE, requester, {"note": (note or "").strip()})

    # -- modals: opened first thing, while the trigger is fresh -----------------------------------------------------

    def open_form(self, form: str, complaint_id: int, requester: Requester, trigger_id: str) -> None:
        """Open the modal for `form` (one of ids.*_VIEW) if this person may use it on this complaint now."""
        self._open_modal(
            complaint_id,
            requester,
            trigger_id,
            lambda _session, complaint: self._form(form, complaint),
            refuse_resolved=form != modals.ids.FOLLOW_UP_VIEW,
        )

    def _form(self, form: str, complaint: Complaint) -> dict | str:
        ref = modals.ids.ComplaintRef(complaint.id, complaint.revision).encode()
        summary = fallback(complaint)
        if form == modals.ids.ESCALATE_VIEW:
            if self.directory is None:
                return _("Escalation is not set up: the admin needs to create the escalation directory file.")
            return modals.escalate_modal(ref, summary, self.directory.current().departments)
        if form == modals.ids.FOLLOW_UP_VIEW:
            due = self.default_follow_up(utcnow()).astimezone(self.settings.timezone)
            return modals.follow_up_modal(ref, summary, due.date(), due.time(), self.settings.timezone.key)
        if form == modals.ids.RESOLVE_VIEW:
            return modals.resolve_modal(ref, summary)
        return modals.reassign_modal(ref, summary, complaint.owner_id)

    def default_follow_up(self, now: datetime) -> datetime:
        return default_follow_up(self.settings, now)
