"""Whoever asks is answered in their language, and the Home tab's language picker.

Every Slack request is handled inside its own language scope (`speaking`, opened around Bolt's dispatch); once Bolt
has verified the request, a global middleware switches that scope to the person's language (bot/languages.py), so
the modals, ephemerals, field errors and `/complaints` answers their request produces are in it. The scope ends
with the request: nothing leaks into the next one on the same thread. Shared messages are rendered by the
delivery worker, which starts each render in the team's language (even on a click's own thread), so a card
updated by someone's click stays in the team's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse

from bot.blocks.language import CHOOSE_LANGUAGE
from bot.i18n import speak, speaking
from bot.services import Services
from handlers.actions import requester_from

log = logging.getLogger("heard.handlers.languages")


def register(app: App, services: Services) -> None:
    languages = services.context.languages
    dispatch = app.dispatch

    def dispatch_in_a_scope(req: BoltRequest) -> BoltResponse:
        with speaking(None):  # the team's language until the middleware knows who asks; undone after the request
            return dispatch(req)

    app.dispatch = dispatch_in_a_scope  # type: ignore[method-assign]

    def in_their_language(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        if languages is not None and context.user_id:
            try:
                speak(languages.language_of(context.user_id))
            except Exception:  # never let a language stop a click
                log.exception("could not tell the language of %s", context.user_id)
        return next()

    def on_choose(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        requester = requester_from(body)
        if services.languages.choose(requester, str((action.get("selected_option") or {}).get("value") or "")):
            services.lookups.publish_home(requester.user_id)  # the tab, in the language just chosen

    app.middleware(in_their_language)
    app.action(CHOOSE_LANGUAGE)(on_choose)
