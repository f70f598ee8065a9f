"""Complaints arrive, and the card's own buttons and modals act on them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import lifecycle, projections, sla
from bot.blocks import modals
from bot.blocks.card import fallback
from bot.delivery import utcnow
from bot.delivery.direct import SlackUnavailable
from bot.lifecycle import Action, Actor, Status
from bot.services.base import (
    GONE,
    MAX_CLOCK_SKEW,
    NOT_AN_AGENT,
    FieldErrors,
    IngestResult,
    Requester,
    UseCases,
)
from bot.sla import Clock
from bot.sources import NewComplaint
from storage.models import Complaint

log = logging.getLogger("heard.services")


class ComplaintUseCases(UseCases):
    def ingest(self, new: NewComplaint) -> IngestResult:
        """Commit a complaint and its card's delivery together; the same (source, id) again is a duplicate."""
        existing = self._find(new.source, new.external_id)
        if existing is not None:
            return IngestResult(existing, duplicate=True)
        try:
            with self.database.unit_of_work() as session:
                complaint = self._create(session, new)
        except IntegrityError:
            existing = self._find(new.source, new.external_id)  # two deliveries of one post raced; one won
            if existing is None:
                raise
            return IngestResult(existing, duplicate=True)
        log.info("complaint %s received from %s", complaint.id, new.source)
        if complaint.sla_due_at is not None:
            self._wake_at(complaint.sla_due_at)
        self._wake_delivery()
        return IngestResult(complaint.id, duplicate=False)

    def _find(self, source: str, external_id: str) -> int | None:
        with self.database.unit_of_work() as session:
            return session.scalar(
                select(Complaint.id).where(Complaint.source == source, Complaint.external_id == external_id)
            )

    def _create(self, session: Session, new: NewComplaint) -> Complaint:
        now = utcnow()
        posted_at = new.posted_at or now
        if posted_at > now + MAX_CLOCK_SKEW:
            posted_at = now
        complaint = Complaint(
            source=new.source,
            external_id=new.external_id,
            author_handle=new.author_handle,
            author_name=new.author_name,
            author_id=new.author_id,
            text=new.text,
            url=new.url,
            posted_at=posted_at,
            received_at=now,
            status=Status.NEW.value,
            ack_deadline=self.sla.deadline(posted_at, Clock.ACK),
            resolve_deadline=self.sla.deadline(posted_at, Clock.RESOLVE),
            ack_stage=0,
            resolve_stage=0,
            slack_channel=self.settings.heard_channel,
            revision=1,
        )
        complaint.sla_due_at = sla.next_due(complaint, self.sla)
        session.add(complaint)
        session.flush()  # assigns the id the audit event and the delivery refer to
        lifecycle.record(
            session, complaint, Action.RECEIVE, Actor(new.source, "ingest"), now, {"external_id": new.external_id}
        )
        projections.refresh_card(session, complaint, now)
        return complaint

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
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id)
            if complaint is None:
                refusal = GONE
            elif not self._safely(self.roles.is_agent, requester.user_id):
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
        """FOLLOW_UP_AFTER from now; whole days land on FOLLOW_UP_TIME in the team's time zone."""
        after = self.settings.follow_up_after
        if after < timedelta(days=1):
            return now + after
        local_day = (now + after).astimezone(self.settings.timezone).date()
        return datetime.combine(local_day, self.settings.follow_up_time, self.settings.timezone)
