"""Replies to the customer: "Acknowledge" and "Take it private" open the reply modal (first thing, while the
click's trigger is fresh); its submission records the reply (or the "Make it personal?" question); Retry, Edit and
Mark replied act on one reply shown on the card."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.blocks import ids
from bot.replies import ACKNOWLEDGE, PRIVATE
from bot.services import Requester, Services
from handlers.actions import complaint_id, decoded, on_record, requester_from

log = logging.getLogger("heard.handlers.replies")


def opens_reply_form(services: Services, purpose: str) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        complaint = decoded(services, body, action, complaint_id)
        if complaint is not None:
            services.replies.open_reply_form(complaint, requester_from(body), body["trigger_id"], purpose)

    return listener


def on_edit(services: Services) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        reply_id = decoded(services, body, action, ids.record_id)
        if reply_id is not None:
            services.replies.edit_reply(reply_id, requester_from(body), body["trigger_id"])

    return listener


def on_submit(services: Services) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        answer = services.replies.submit_reply(Requester(user_id=body["user"]["id"], surface="slack:modal"), view)
        if answer:
            ack(**answer)
        else:
            ack()

    return listener


def register(app: App, services: Services) -> None:
    app.action(ids.ACKNOWLEDGE)(opens_reply_form(services, ACKNOWLEDGE))
    app.action(ids.TAKE_PRIVATE)(opens_reply_form(services, PRIVATE))
    app.action(ids.RETRY_REPLY)(on_record(services, services.replies.retry_reply))
    app.action(ids.EDIT_REPLY)(on_edit(services))
    app.action(ids.MARK_REPLIED)(on_record(services, services.replies.mark_replied))
    app.view(ids.REPLY_VIEW)(on_submit(services))
