"""The button under `/complaints erase @handle`'s question: ack at once, then the erasure (one unit of work; its
Slack messages go through the outbox)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks.privacy import CONFIRM_ERASE
from bot.services import Services
from handlers.actions import requester_from


def register(app: App, services: Services) -> None:
    def confirm_erase(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        services.privacy.erase(str(action.get("value", "")), requester_from(body))

    app.action(CONFIRM_ERASE)(confirm_erase)
