"""Modal submissions. Invalid input is answered on the field (`response_action: errors`) within the 3 seconds;
valid input closes the modal and the change shows on the card."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.blocks import ids
from bot.blocks.ids import ComplaintRef
from bot.blocks.modals import submitted_value
from bot.services import FieldErrors, Requester, Services

log = logging.getLogger("heard.handlers.views")

Submit = Callable[[int, Requester, dict[str, Any]], FieldErrors | None]


def on_submit(services: Services, submit: Submit) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        requester = Requester(user_id=body["user"]["id"], surface="slack:modal")
        try:
            complaint_id = ComplaintRef.decode(view.get("private_metadata")).complaint_id
        except ValueError:
            # Heard writes every modal's reference itself; one it cannot read was forged or garbled: close the
            # modal, do nothing, and say so privately.
            ack()
            log.warning("refused a modal with an unreadable complaint reference")
            services.complaints.out_of_date(requester)
            return
        errors = submit(complaint_id, requester, view)
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    return listener


def register(app: App, services: Services) -> None:
    app.view(ids.ESCALATE_VIEW)(
        on_submit(
            services,
            lambda complaint, who, view: services.escalations.escalate(
                complaint,
                who,
                submitted_value(view, ids.DEPARTMENT_INPUT),
                submitted_value(view, ids.REASON_INPUT),
                submitted_value(view, ids.SEVERITY_INPUT),
            ),
        )
    )
    app.view(ids.FOLLOW_UP_VIEW)(
        on_submit(
            services,
            lambda complaint, who, view: services.follow_ups.schedule_follow_up(
                complaint,
                who,
                submitted_value(view, ids.DATE_INPUT),
                submitted_value(view, ids.TIME_INPUT),
                submitted_value(view, ids.NOTE_INPUT),
            ),
        )
    )
    app.view(ids.RESOLVE_VIEW)(
        on_submit(
            services,
            lambda complaint, who, view: services.complaints.resolve(
                complaint, who, submitted_value(view, ids.NOTE_INPUT)
            ),
        )
    )
    app.view(ids.REASSIGN_VIEW)(
        on_submit(
            services,
            lambda complaint, who, view: services.complaints.reassign(
                complaint, who, submitted_value(view, ids.ASSIGNEE_INPUT)
            ),
        )
    )
