"""Modals opened from the card: escalate, schedule a follow-up, resolve, reassign. Pure functions of their inputs.

Each carries the complaint reference in `private_metadata`, so a submission knows which card (and which revision
of it) the person was looking at.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from typing import Any

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import ids
from bot.blocks.text import safe_plain
from bot.directory import Department

SEVERITIES = ("Low", "Medium", "High", "Critical")
NOTE_LIMIT = 2000
REASON_LIMIT = 2000


def modal_frame(callback_id: str, title: str, submit: str, ref: str, blocks: list[Any]) -> dict[str, Any]:
    return View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text=submit),
        close=PlainTextObject(text="Cancel"),
        private_metadata=ref,
        blocks=blocks,
    ).to_dict()


def _summary(summary: str) -> SectionBlock:
    return SectionBlock(text=summary)


def escalate_modal(ref: str, summary: str, departments: Sequence[Department]) -> dict[str, Any]:
    options = [
        Option(
            value=department.key,
            text=safe_plain(department.name + (" (needs approval)" if department.needs_approval else ""), 75),
            description=safe_plain(department.handles, 75) if department.handles else None,
        )
        for department in departments[:100]
    ]
    return modal_frame(
        ids.ESCALATE_VIEW,
        "Escalate complaint",
        "Escalate",
        ref,
        [
            _summary(summary),
            InputBlock(
                block_id=ids.DEPARTMENT_INPUT,
                label="Department",
                hint="Who should handle it, from the escalation directory",
                element=StaticSelectElement(
                    action_id=ids.DEPARTMENT_INPUT, placeholder="Choose a department", options=options
                ),
            ),
            InputBlock(
                block_id=ids.REASON_INPUT,
                label="Reason",
                hint="What they need to know or do",
                element=PlainTextInputElement(
                    action_id=ids.REASON_INPUT,
                    multiline=True,
                    max_length=REASON_LIMIT,
                    placeholder="e.g. Customer threatens legal action over a refund",
                ),
            ),
            InputBlock(
                block_id=ids.SEVERITY_INPUT,
                label="Severity",
                element=StaticSelectElement(
                    action_id=ids.SEVERITY_INPUT,
                    options=[Option(value=level.lower(), text=level) for level in SEVERITIES],
                    initial_option=Option(value="medium", text="Medium"),
                ),
            ),
        ],
    )


def follow_up_modal(ref: str, summary: str, day: date, at: time, timezone_name: str) -> dict[str, Any]:
    return modal_frame(
        ids.FOLLOW_UP_VIEW,
        "Schedule follow-up",
        "Schedule",
        ref,
        [
            _summary(summary),
            InputBlock(
                block_id=ids.DATE_INPUT,
                label="Date",
                element=DatePickerElement(action_id=ids.DATE_INPUT, initial_date=day.isoformat()),
            ),
            InputBlock(
                block_id=ids.TIME_INPUT,
                label="Time",
                hint=f"In {timezone_name}",
                element=TimePickerElement(action_id=ids.TIME_INPUT, initial_time=at.strftime("%H:%M")),
            ),
            InputBlock(
                block_id=ids.NOTE_INPUT,
                label="Note",
                optional=True,
                hint="What to check with the customer",
                element=PlainTextInputElement(action_id=ids.NOTE_INPUT, multiline=True, max_length=NOTE_LIMIT),
            ),
        ],
    )


def resolve_modal(ref: str, summary: str) -> dict[str, Any]:
    return modal_frame(
        ids.RESOLVE_VIEW,
        "Resolve complaint",
        "Resolve",
        ref,
        [
            _summary(summary),
            InputBlock(
                block_id=ids.NOTE_INPUT,
                label="Resolution note",
                optional=True,
                hint="How it was resolved, for whoever reads this later",
                element=PlainTextInputElement(action_id=ids.NOTE_INPUT, multiline=True, max_length=NOTE_LIMIT),
            ),
        ],
    )


def reassign_modal(ref: str, summary: str, owner: str | None) -> dict[str, Any]:
    return modal_frame(
        ids.REASSIGN_VIEW,
        "Reassign complaint",
        "Reassign",
        ref,
        [
            _summary(summary),
            InputBlock(
                block_id=ids.ASSIGNEE_INPUT,
                label="New owner",
                element=UserSelectElement(
                    action_id=ids.ASSIGNEE_INPUT, placeholder="Choose a person", initial_user=owner
                ),
            ),
        ],
    )


def submitted_value(view: dict[str, Any], block_id: str) -> Any:
    """The value of one input in a `view_submission`, whatever its element type (None when left empty)."""
    element = (view.get("state", {}).get("values", {}).get(block_id) or {}).get(block_id) or {}
    for key in ("selected_option", "selected_date", "selected_time", "selected_user", "value"):
        if key in element:
            value = element[key]
            if isinstance(value, dict):
                return value.get("value")
            return value
    return None
