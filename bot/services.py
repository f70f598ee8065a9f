"""Use cases: one unit of work each. Handlers and sources call these; nothing here knows about HTTP or Bolt."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import delivery, lifecycle
from bot.blocks.notice import render_notice
from bot.config import Settings
from bot.delivery import utcnow
from bot.lifecycle import Action, Actor, Status, TransitionRefused
from bot.projections import refresh_card
from bot.sources import NewComplaint
from storage.db import Database
from storage.models import Complaint

log = logging.getLogger("heard.services")

# A post dated in the future (a sender's clock running fast) would stretch the window; trust our clock then.
MAX_CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class IngestResult:
    complaint_id: int
    duplicate: bool


@dataclass(frozen=True)
class Requester:
    """Who clicked, and where a private answer to them should go."""

    user_id: str
    channel: str
    response_url: str | None = None
    surface: str = "slack:button"


class Services:
    def __init__(self, settings: Settings, database: Database, wake_delivery: delivery.Waker) -> None:
        self.settings = settings
        self.database = database
        self._wake_delivery = wake_delivery

    def ingest(self, new: NewComplaint, surface: str = "ingest") -> IngestResult:
        """Commit a complaint and its card's delivery together; the same (source, id) again is a duplicate."""
        existing = self._find(new.source, new.external_id)
        if existing is not None:
            return IngestResult(existing, duplicate=True)
        try:
            with self.database.unit_of_work() as session:
                complaint = self._create(session, new)
        except IntegrityError:
            # Two deliveries of the same post raced; the other one won.
            existing = self._find(new.source, new.external_id)
            if existing is None:
                raise
            return IngestResult(existing, duplicate=True)
        log.info("complaint %s received from %s", complaint.id, new.source)
        self._wake_delivery()
        return IngestResult(complaint.id, duplicate=False)

    def claim(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.CLAIM, requester)

    def acknowledge(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.ACKNOWLEDGE, requester)

    # -- internals ----------------------------------------------------------------------------------------------

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
            ack_deadline=posted_at + self.settings.ack_window,
            slack_channel=self.settings.heard_channel,
            revision=1,
        )
        session.add(complaint)
        session.flush()  # assigns the id the audit event and the delivery refer to
        lifecycle.record(
            session,
            complaint,
            Action.RECEIVE,
            Actor(new.source, "ingest"),
            now,
            {"external_id": new.external_id},
        )
        refresh_card(session, complaint, now)
        return complaint

    def _act(self, complaint_id: int, action: Action, requester: Requester) -> None:
        """Apply one action under a row lock; tell the requester privately when it did not (or need not) apply."""
        now = utcnow()
        actor = Actor(requester.user_id, requester.surface)
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id, with_for_update=True)
            if complaint is None:
                notice: str | None = "This complaint no longer exists in Heard."
            else:
                try:
                    outcome = lifecycle.apply(session, complaint, action, actor, now)
                    notice = outcome.notice
                    if outcome.changed:
                        refresh_card(session, complaint, now)
                except TransitionRefused as refused:
                    notice = str(refused)
                    # The card they clicked may be stale; re-render it so it shows why.
                    refresh_card(session, complaint, now)
            if notice:
                delivery.send_ephemeral(
                    session,
                    response_url=requester.response_url,
                    channel=requester.channel,
                    user=requester.user_id,
                    message=render_notice(notice),
                    now=now,
                )
        self._wake_delivery()
