"""What each outbox kind shows: renderers that read the committed state and build the message to send.

Use cases call the `refresh_*` helpers inside their unit of work; the delivery worker calls the renderers when it
sends, so a message always shows the state as it is at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import delivery
from bot.blocks.card import render_card
from bot.delivery import Outgoing
from bot.delivery.worker import PostedHook
from storage.models import Complaint, Delivery

CARD = "card"


def refresh_card(session: Session, complaint: Complaint, now: datetime) -> None:
    delivery.refresh(session, kind=CARD, key=f"{CARD}:{complaint.id}", complaint_id=complaint.id, now=now)


class Projections:
    def __init__(self, channel: str, timezone: ZoneInfo) -> None:
        self.channel = channel
        self.timezone = timezone

    @property
    def renderers(self) -> Mapping[str, delivery.Renderer]:
        return {CARD: self.card}

    @property
    def on_posted(self) -> Mapping[str, PostedHook]:
        return {CARD: remember_card_place}

    def card(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        complaint = session.get(Complaint, row.complaint_id)
        if complaint is None:
            return None
        return Outgoing(complaint.slack_channel or self.channel, render_card(complaint, now, self.timezone))


def remember_card_place(session: Session, row: Delivery, channel: str, ts: str) -> None:
    complaint = session.get(Complaint, row.complaint_id)
    if complaint is not None:
        complaint.slack_channel = channel
        complaint.slack_ts = ts
