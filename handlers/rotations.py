"""The Home tab's "I'm away" / "I'm back": an agent's own availability for auto-assignment."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks import rotations
from bot.services import Services
from handlers.actions import requester_from


def register(app: App, services: Services) -> None:
    def on_status(away: bool) -> Any:
        def listener(ack: Ack, body: dict[str, Any]) -> None:
            ack()
            requester = requester_from(body)
            if services.rotations.set_away(requester, away):
                services.lookups.publish_home(requester.user_id)  # the tab shows the new status

        return listener

    app.action(rotations.AWAY)(on_status(True))
    app.action(rotations.BACK)(on_status(False))
