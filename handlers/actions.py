"""Button clicks on cards, escalation notices, approval requests and follow-up DMs.

Each listener acks first, decodes, calls one use case, and returns. Buttons that open a modal do so first thing,
while the click's trigger id is fresh (it lives 3 seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.blocks import ids
from bot.blocks.ids import ComplaintRef
from bot.services import Requester, Services

log = logging.getLogger("heard.handlers.actions")

Listener = Callable[..., None]


def requester_from(body: dict[str, Any]) -> Requester:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return Requester(user_id=body["user"]["id"], channel=channel, response_url=body.get("response_url"))


def decoded(
    services: Services, body: dict[str, Any], action: dict[str, Any], decode: Callable[[object], int]
) -> int | None:
    """The id in the click's value, or None after answering privately that the card is out of date: a value Heard
    cannot read as one it wrote (forged, garbled, or without the card's revision) never acts on a guess."""
    value = action.get("value")
    try:
        return decode(value)
    except ValueError:
        log.warning("refused a click with an unreadable value %r", str(value)[:100])
        services.complaints.out_of_date(requester_from(body))
        return None


def complaint_id(value: object) -> int:
    return ComplaintRef.decode(value).complaint_id


def on_complaint(services: Services, use_case: Callable[[int, Requester], object]) -> Listener:
    """A card button that acts at once."""

    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        complaint = decoded(services, body, action, complaint_id)
        if complaint is not None:
            use_case(complaint, requester_from(body))

    return listener


def opens_form(services: Services, form: str) -> Listener:
    """A card button that opens a modal."""

    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        complaint = decoded(services, body, action, complaint_id)
        if complaint is not None:
            services.complaints.open_form(form, complaint, requester_from(body), body["trigger_id"])

    return listener


def on_record(services: Services, use_case: Callable[[int, Requester], object]) -> Listener:
    """A button on a notice or DM whose value is an escalation or follow-up id."""

    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        record = decoded(services, body, action, ids.record_id)
        if record is not None:
            use_case(record, requester_from(body))

    return listener


def register(app: App, services: Services) -> None:
    app.action(ids.CLAIM)(on_complaint(services, services.complaints.claim))
    app.action(ids.RELEASE)(on_complaint(services, services.complaints.release))
    # "Acknowledge" opens the reply modal: handlers/replies.py.
    app.action(ids.REOPEN)(on_complaint(services, services.complaints.reopen))
    app.action(ids.QUICK_FOLLOW_UP)(on_complaint(services, services.follow_ups.quick_follow_up))
    app.action(ids.SNOOZE_RESOLUTION)(on_complaint(services, services.sla.snooze_resolution))
    app.action(ids.ESCALATE)(opens_form(services, ids.ESCALATE_VIEW))
    app.action(ids.SCHEDULE_FOLLOW_UP)(opens_form(services, ids.FOLLOW_UP_VIEW))
    app.action(ids.RESOLVE)(opens_form(services, ids.RESOLVE_VIEW))
    app.action(ids.REASSIGN)(opens_form(services, ids.REASSIGN_VIEW))
    app.action(ids.ACCEPT_ESCALATION)(on_record(services, services.escalations.accept_escalation))
    app.action(ids.APPROVE_ESCALATION)(
        on_record(services, lambda record, who: services.escalations.decide_escalation(record, who, True))
    )
    app.action(ids.DECLINE_ESCALATION)(
        on_record(services, lambda record, who: services.escalations.decide_escalation(record, who, False))
    )
    app.action(ids.FOLLOW_UP_DONE)(on_record(services, services.follow_ups.finish_follow_up))
    app.action(ids.FOLLOW_UP_SNOOZE)(on_record(services, services.follow_ups.snooze_follow_up))
