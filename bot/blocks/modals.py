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
from bot.i18n import N_, _

# The escalation's severity: the stored value, and the words the form shows for it.
SEVERITIES = (
    ("low", N_("Low")),
    ("medium", N_("Medium")),
    ("high", N_("High")),
    ("critical", N_("Critical")),
)
SEVERITY_WORDS = dict(SEVERITIES)
NOTE_LIMIT = 2000
REASON_LIMIT = 2000
# Block Kit's limits on what a modal shows (Finnish and Greek run long: translated words are cut to them).
TITLE_LIMIT = 24
BUTTON_LIMIT = 24
OPTION_LIMIT = 75
PLACEHOLDER_LIMIT = 150
LABEL_LIMIT = 2000


def modal_frame(callback_id: str, title: str, submit: str, ref: str, blocks: list[Any]) -> dict[str, Any]:
    """A modal with Heard's Cancel button; `title` and `submit` are already in the reader's language, and are cut
    here to what Slack takes (a title of 24 characters, whatever the language)."""
    return View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=safe_plain(title, TITLE_LIMIT)),
        submit=PlainTextObject(text=safe_plain(submit, BUTTON_LIMIT)),
        # Translators: the button that closes a form without doing anything.
        close=PlainTextObject(text=safe_plain(_("Cancel"), BUTTON_LIMIT)),
        private_metadata=ref,
        blocks=blocks,
    ).to_dict()


def _summary(summary: str) -> SectionBlock:
    return SectionBlock(text=summary)


def _label(text: str) -> str:
    return safe_plain(text, LABEL_LIMIT)


def _placeholder(text: str) -> str:
    return safe_plain(text, PLACEHOLDER_LIMIT)


def severity_option(value: str) -> Option:
    return Option(value=value, text=safe_plain(_(SEVERITY_WORDS[value]), OPTION_LIMIT))


def escalate_modal(ref: str, summary: str, departments: Sequence[Department]) -> dict[str, Any]:
    options = [
        Option(
            value=department.key,
            text=safe_plain(
                # Translators: a department in the list of the escalation form, when a manager must approve first.
                _("%(department)s (needs approval)", department=department.name)
                if department.needs_approval
                else department.name,
                OPTION_LIMIT,
            ),
            description=safe_plain(department.handles, OPTION_LIMIT) if department.handles else None,
        )
        for department in departments[:100]
    ]
    return modal_frame(
        ids.ESCALATE_VIEW,
        # Translators: a form's title: at most 24 characters.
        _("Escalate complaint"),
        # Translators: the form's button that escalates (a verb).
        _("Escalate"),
        ref,
        [
            _summary(summary),
            InputBlock(
                block_id=ids.DEPARTMENT_INPUT,
                label=_label(_("Department")),
                hint=_label(_("Who should handle it, from the escalation directory")),
                element=StaticSelectElement(
                    action_id=ids.DEPARTMENT_INPUT,
                    placeholder=_placeholder(_("Choose a department")),
                    options=options,
                ),
            ),
            InputBlock(
                block_id=ids.REASON_INPUT,
                label=_label(_("Reason")),
                hint=_label(_("What they need to know or do")),
                element=PlainTextInputElement(
                    action_id=ids.REASON_INPUT,
                    multiline=True,
                    max_length=REASON_LIMIT,
                    placeholder=_placeholder(_("e.g. Customer threatens legal action over a refund")),
                ),
            ),
            InputBlock(
                block_id=ids.SEVERITY_INPUT,
                # Translators: how serious the escalation is (Low, Medium, High, Critical).
                label=_label(_("Severity")),
                element=StaticSelectElement(
                    action_id=ids.SEVERITY_INPUT,
                    options=[severity_option(value) for value, _words in SEVERITIES],
                    initial_option=severity_option("medium"),
                ),
            ),
        ],
    )


def follow_up_modal(ref: str, summary: str, day: date, at: time, timezone_name: str) -> dict[str, Any]:
    return modal_frame(
        ids.FOLLOW_UP_VIEW,
        # Translators: a form's title: at most 24 characters.
        _("Schedule follow-up"),
        # Translators: the form's button (a verb).
        _("Schedule"),
        ref,
        [
            _summary(summary),
            InputBlock(
                block_id=ids.DATE_INPUT,
                label=_label(_("Date")),
                element=DatePickerElement(action_id=ids.DATE_INPUT, initial_date=day.isoformat()),
            ),
            InputBlock(
                block_id=ids.TIME_INPUT,
                label=_label(_("Time")),
                # Translators: under the time of a follow-up; %(timezone)s is a time zone such as Europe/Helsinki.
                hint=_label(_("In %(timezone)s", timezone=timezone_name)),
                element=TimePickerElement(action_id=ids.TIME_INPUT, initial_time=at.strftime("%H:%M")),
            ),
            InputBlock(
                block_id=ids.NOTE_INPUT,
                label=_label(_("Note")),
                optional=True,
                hint=_label(_("What to check with the customer")),
                element=PlainTextInputElement(action_id=ids.NOTE_INPUT, multiline=True, max_length=NOTE_LIMIT),
            ),
        ],
    )


def resolve_modal(ref: str, summary: str) -> dict[str, Any]:
    return modal_frame(
        ids.RESOLVE_VIEW,
        # Translators: a form's title: at most 24 characters.
        _("Resolve complaint"),
        # Translators: the form's button (a verb).
        _("Resolve"),
        ref,
        [
            _summary(summary),
            InputBlock(
                block_id=ids.NOTE_INPUT,
                label=_label(_("Resolution note")),
                optional=True,
                hint=_label(_("How it was resolved, for whoever reads this later")),
                element=PlainTextInputElement(action_id=ids.NOTE_INPUT, multiline=True, max_length=NOTE_LIMIT),
            ),
        ],
    )


def reassign_modal(ref: str, summary: str, owner: str | None) -> dict[str, Any]:
    return modal_frame(
        ids.REASSIGN_VIEW,
        # Translators: a form's title: at most 24 characters.
        _("Reassign complaint"),
        # Translators: the form's button (a verb).
        _("Reassign"),
        ref,
        [
            _summary(summary),
            InputBlock(
                block_id=ids.ASSIGNEE_INPUT,
                label=_label(_("New owner")),
                element=UserSelectElement(
                    action_id=ids.ASSIGNEE_INPUT, placeholder=_placeholder(_("Choose a person")), initial_user=owner
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
