"""The storm card's buttons and the holding-statement modal: ack, read the storm id strictly, one use case."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.blocks import storm
from bot.services import Requester, Services
from handlers.actions import requester_from

log = logging.getLogger("heard.handlers.storms")

_STORM_ID = re.compile(r"[1-9][0-9]{0,17}")


def storm_id(value: object) -> int | None:
    """A storm button's value comes back from Slack untrusted: digits only, in range, or nothing."""
    if isinstance(value, str) and _STORM_ID.fullmatch(value):
        return int(value)
    log.warning("ignored a storm click with an unreadable value %r", str(value)[:40])
    return None


def on_storm(use_case: Callable[[int, Requester], object]) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        found = storm_id(action.get("value"))
        if found is not None:
            use_case(found, requester_from(body))

    return listener


def register(app: App, services: Services) -> None:
    storms = services.storms

    def open_statement(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        found = storm_id(action.get("value"))
        if found is not None:
            storms.open_statement_form(found, requester_from(body), body["trigger_id"])

    def submit_statement(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        answer = storms.submit_statement(Requester(user_id=body["user"]["id"], surface="slack:modal"), view)
        if answer:
            ack(**answer)
        else:
            ack()

    app.action(storm.SEND_STATEMENT)(open_statement)
    app.action(storm.CLAIM_ALL)(on_storm(storms.claim_all))
    app.action(storm.RESOLVE_ALL)(on_storm(storms.resolve_all))
    app.action(storm.END_STORM)(on_storm(storms.end))
    app.view(storm.STATEMENT_VIEW)(submit_statement)
