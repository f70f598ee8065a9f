"""Button clicks on complaint cards. Each listener acks first, decodes, calls one use case, and returns."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.blocks import ids
from bot.blocks.ids import ComplaintRef
from bot.services import Requester, Services

log = logging.getLogger("heard.handlers.actions")

UseCase = Callable[[int, Requester], None]


def requester_from(body: dict[str, Any]) -> Requester:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return Requester(user_id=body["user"]["id"], channel=channel, response_url=body.get("response_url"))


def _button(use_case: UseCase) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        try:
            ref = ComplaintRef.decode(action.get("value", ""))
        except ValueError:
            log.warning("ignored a click with an unreadable value %r", action.get("value"))
            return
        use_case(ref.complaint_id, requester_from(body))

    return listener


def register(app: App, services: Services) -> None:
    app.action(ids.CLAIM)(_button(services.claim))
    app.action(ids.ACKNOWLEDGE)(_button(services.acknowledge))
