"""The card's "More…" menu (bot/blocks/menu.py): one listener for every choice, and the two small modals that ask
before Flag threat and Block act.

A choice's value names the action (the action_id its button had) and the complaint; it is read strictly, because
anyone can forge a click, and anything Heard does not offer is answered privately. A known choice goes to the same
use case its button did, with the trigger id of the select's own click (Slack sends one, fresh for 3 seconds), so
the forms open first thing, as they did from buttons.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.blocks import ids
from bot.blocks.ids import MenuChoice
from bot.replies import PRIVATE
from bot.services import Requester, Services
from handlers.actions import requester_from
from handlers.views import on_submit

log = logging.getLogger("heard.handlers.card_menu")

# What a choice does: (complaint id, who, the click's trigger id).
Choice = Callable[[int, Requester, str], object]


def choices(services: Services) -> dict[str, Choice]:
    """Each action the menu may offer, by the action_id its button had, and the use case it reaches."""
    return {
        ids.REASSIGN: lambda complaint, who, trigger: services.complaints.open_form(
            ids.REASSIGN_VIEW, complaint, who, trigger
        ),
        ids.TAKE_PRIVATE: lambda complaint, who, trigger: services.replies.open_reply_form(
            complaint, who, trigger, PRIVATE
        ),
        ids.HIDE: lambda complaint, who, trigger: services.moderation.open_moderation_form(
            ids.HIDE_VIEW, complaint, who, trigger
        ),
        ids.WRITE_UP: lambda complaint, who, trigger: services.moderation.open_moderation_form(
            ids.WRITE_UP_VIEW, complaint, who, trigger
        ),
        # Asked first, as the buttons' confirm dialogs did: the modal's submission acts (registered below).
        ids.FLAG_THREAT: lambda complaint, who, trigger: services.card_menu.open_confirmation(
            ids.CONFIRM_FLAG_THREAT_VIEW, complaint, who, trigger
        ),
        ids.BLOCK_AUTHOR: lambda complaint, who, trigger: services.card_menu.open_confirmation(
            ids.CONFIRM_BLOCK_VIEW, complaint, who, trigger
        ),
        ids.UNHIDE: lambda complaint, who, _trigger: services.moderation.unhide(complaint, who),
        ids.WARN_AUTHOR: lambda complaint, who, _trigger: services.moderation.warn_author(complaint, who),
        ids.KEEP_EVIDENCE: lambda complaint, who, _trigger: services.moderation.keep_evidence(complaint, who),
    }


def on_choice(services: Services) -> Callable[..., None]:
    table = choices(services)

    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        requester = dataclasses.replace(requester_from(body), surface="slack:menu")
        selected = action.get("selected_option")
        value = selected.get("value") if isinstance(selected, dict) else None
        try:
            choice = MenuChoice.decode(value)
            act = table[choice.action_id]
        except (ValueError, KeyError):
            log.warning("refused a menu choice Heard does not offer: %r", str(value)[:100])
            services.card_menu.refuse_menu_choice(requester)
            return
        act(choice.ref.complaint_id, requester, str(body.get("trigger_id") or ""))

    return listener


def register(app: App, services: Services) -> None:
    app.action(ids.CARD_MORE)(on_choice(services))
    app.view(ids.CONFIRM_FLAG_THREAT_VIEW)(
        on_submit(services, lambda complaint, who, _view: services.moderation.flag_threat(complaint, who))
    )
    app.view(ids.CONFIRM_BLOCK_VIEW)(
        on_submit(services, lambda complaint, who, _view: services.moderation.block_author(complaint, who))
    )
