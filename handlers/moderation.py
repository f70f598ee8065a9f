"""Moderation's buttons and modals (Hide, Write up). Thin, like the other listeners: ack, decode, one use case. There
is no delete listener, because there is no delete. The card offers moderation in its "More…" menu now
(handlers/card_menu.py, which reaches the same use cases); these button listeners serve cards drawn before it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks import ids
from bot.blocks.modals import submitted_value
from bot.services import Services
from handlers.actions import Listener, complaint_id, decoded, on_complaint, requester_from
from handlers.views import on_submit


def opens_moderation_form(services: Services, form: str) -> Listener:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        complaint = decoded(services, body, action, complaint_id)
        if complaint is not None:
            services.moderation.open_moderation_form(form, complaint, requester_from(body), body["trigger_id"])

    return listener


def register(app: App, services: Services) -> None:
    app.action(ids.HIDE)(opens_moderation_form(services, ids.HIDE_VIEW))
    app.action(ids.WRITE_UP)(opens_moderation_form(services, ids.WRITE_UP_VIEW))
    app.action(ids.UNHIDE)(on_complaint(services, services.moderation.unhide))
    app.action(ids.FLAG_THREAT)(on_complaint(services, services.moderation.flag_threat))
    app.action(ids.WARN_AUTHOR)(on_complaint(services, services.moderation.warn_author))
    app.action(ids.BLOCK_AUTHOR)(on_complaint(services, services.moderation.block_author))
    app.action(ids.KEEP_EVIDENCE)(on_complaint(services, services.moderation.keep_evidence))
    app.view(ids.HIDE_VIEW)(
        on_submit(
            services,
            lambda complaint, who, view: services.moderation.hide(
                complaint, who, submitted_value(view, ids.HIDE_REASON_INPUT), submitted_value(view, ids.NOTE_INPUT)
            ),
        )
    )
    app.view(ids.WRITE_UP_VIEW)(
        on_submit(
            services,
            lambda complaint, who, view: services.moderation.write_up(
                complaint,
                who,
                submitted_value(view, ids.WHAT_HAPPENED_INPUT),
                submitted_value(view, ids.WHAT_WE_LEARNED_INPUT),
            ),
        )
    )
