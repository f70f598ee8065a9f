"""The `/complaints` slash command and the "More" button under its paged answers.

The command is answered in its ack (Slack shows it only to the person who typed it, in the channel where they typed
it) within the 3 seconds Slack waits: the lookups read indexes and change nothing. "More" is acked at once; the next
page then replaces the one clicked, through the click's response_url (the outbox sends it).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks import ids
from bot.services import Requester, Services
from handlers.actions import requester_from

COMMAND = "/complaints"


def register(app: App, services: Services) -> None:
    def on_command(ack: Ack, command: dict[str, Any]) -> None:
        requester = Requester(
            user_id=command["user_id"],
            channel=command.get("channel_id", ""),
            response_url=command.get("response_url"),
            surface="slack:command",
        )
        answer = services.lookups.lookup(command.get("text", ""), requester)
        ack(text=answer.text, blocks=answer.blocks)

    def on_more(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        services.lookups.more(action.get("value", ""), requester_from(body))

    app.command(COMMAND)(on_command)
    app.action(ids.LOOKUP_MORE)(on_more)
