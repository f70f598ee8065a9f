"""The button under `/complaints erase @handle`'s question: acked at once; the erasure (one unit of work over all the
author's complaints, however many) then runs on Bolt's worker thread (a lazy listener), so it never holds the ack
past Slack's 3 seconds. Its answer replaces the question through the click's response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks.privacy import CONFIRM_ERASE
from bot.services import Services
from handlers.actions import requester_from


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def confirm_erase(body: dict[str, Any], action: dict[str, Any]) -> None:
        services.privacy.erase(str(action.get("value", "")), requester_from(body))

    app.action(CONFIRM_ERASE)(ack=acknowledge, lazy=[confirm_erase])
