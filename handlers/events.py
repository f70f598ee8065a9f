"""Events from Slack's Events API: a person opening Heard's Home tab.

The event is acked at once; the Home tab is then built and published on Bolt's worker thread (a lazy listener), so
a slow `views.publish` never holds the ack past Slack's 3 seconds. The tab is a view of the state when it was
opened: losing one publish is harmless, the next opening publishes again.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.services import Services


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def publish_home(event: dict[str, Any]) -> None:
        # The same event fires for the Messages tab; only the Home tab shows Heard's view.
        if event.get("tab", "home") == "home" and event.get("user"):
            services.lookups.publish_home(event["user"])

    app.event("app_home_opened")(ack=acknowledge, lazy=[publish_home])
