"""Moderation on the card (its choices in the card's "More…" menu and the lines that say what was done), its modals
(Hide, Write up, and the confirmations of Flag threat and Block) and its thread-log words. Pure functions of state;
nothing here deletes anything, and nothing offers to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks import ids
from bot.blocks.menu import MenuItem
from bot.blocks.modals import modal_frame
from bot.blocks.text import mention, safe_mrkdwn
from bot.blocks.when import clock
from bot.lifecycle import Action
from bot.platforms import source_label
from storage.models import AuditEvent, Complaint

# value -> label; the order is the modal's.
HIDE_REASONS = {
    "threat": "Threat",
    "racism": "Racism",
    "defamation": "Defamation",
    "spam": "Spam",
    "other": "Other",
}
POLICE_LINE = "Illegal threats are reported to the police."
NOTE_LIMIT = 2000
WRITE_UP_LIMIT = 3000
LINE_LIMIT = 300


@dataclass(frozen=True)
class ModerationView:
    """What the card shows about moderation besides the complaint's own columns: the author's standing and the
    write-up."""

    strikes: int = 0
    strikes_before_block: int = 3
    blocked_at: datetime | None = None
    blocked_by: str | None = None
    muted_on_source: bool | None = None
    block_note: str | None = None
    written_up_by: str | None = None
    written_up_at: datetime | None = None
    can_flag_threat: bool = True

    @property
    def block_suggested(self) -> bool:
        return self.strikes >= self.strikes_before_block and self.blocked_at is None


def network_name(complaint: Complaint) -> str:
    return source_label(complaint.platform, complaint.source)


def strikes_words(count: int) -> str:
    return f"⚠ {count} strike{'' if count == 1 else 's'}"


def moderation_lines(complaint: Complaint, view: ModerationView, now: datetime, tz: ZoneInfo) -> list[str]:
    lines: list[str] = []
    if complaint.hidden_at is not None:
        reason = HIDE_REASONS.get(complaint.hidden_reason or "", "Other")
        where = f"on {network_name(complaint)}" if complaint.hidden_on_source else "in Heard only"
        line = (
            f":see_no_evil: *Hidden {safe_mrkdwn(where, 80)}* by {mention(complaint.hidden_by)} at "
            f"{clock(complaint.hidden_at, now, tz)} — {reason}"
        )
        if complaint.hidden_note:
            line += f": {safe_mrkdwn(complaint.hidden_note, LINE_LIMIT)}"
        if not complaint.hidden_on_source and complaint.hidden_source_refusal:
            line += f"\n_Not hidden on {safe_mrkdwn(network_name(complaint), 64)}: "
            line += f"{safe_mrkdwn(complaint.hidden_source_refusal, LINE_LIMIT)}._"
        lines.append(line)
    if complaint.threat_flagged_at is not None:
        lines.append(
            f":rotating_light: *Threat flagged to Legal* by <@{complaint.threat_flagged_by}> at "
            f"{clock(complaint.threat_flagged_at, now, tz)}. {POLICE_LINE}"
        )
    if view.strikes:
        line = f"*{strikes_words(view.strikes)}* for this author"
        if view.block_suggested:
            line += f" — {view.strikes_before_block} or more: *Block* is suggested"
        lines.append(line)
    if view.blocked_at is not None:
        how = "muted on the source" if view.muted_on_source else "recorded in Heard only"
        line = f":no_entry: *Author blocked* by <@{view.blocked_by}> at {clock(view.blocked_at, now, tz)} ({how})"
        if view.block_note:
            line += f" — _{safe_mrkdwn(view.block_note, LINE_LIMIT)}_"
        lines.append(line)
    if view.written_up_at is not None:
        lines.append(f":memo: Written up by <@{view.written_up_by}> at {clock(view.written_up_at, now, tz)}")
    return lines


def moderation_blocks(complaint: Complaint, view: ModerationView, now: datetime, tz: ZoneInfo) -> list[Block]:
    """The lines that say what was done, when there is anything to say (the actions are in the card's menu)."""
    lines = moderation_lines(complaint, view, now, tz)
    return [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))] if lines else []


def moderation_menu_items(complaint: Complaint, view: ModerationView) -> list[MenuItem]:
    """Moderation's choices in the card's "More…" menu, those that still apply. There is no Delete, by design."""
    items = []
    if complaint.hidden_at is None:
        items.append(MenuItem("Hide", ids.HIDE))
    else:
        items.append(MenuItem("Unhide", ids.UNHIDE))
    if complaint.threat_flagged_at is None and view.can_flag_threat:
        items.append(MenuItem("Flag threat", ids.FLAG_THREAT))  # asks first: confirm_flag_threat_modal
    if view.blocked_at is None:
        items.append(MenuItem("Warn", ids.WARN_AUTHOR))
    if view.block_suggested:
        items.append(MenuItem("Block", ids.BLOCK_AUTHOR))  # asks first: confirm_block_modal
    items.append(MenuItem("Keep evidence", ids.KEEP_EVIDENCE))
    items.append(MenuItem("Write up" if view.written_up_at is None else "Edit write-up", ids.WRITE_UP))
    return items


# -- modals -------------------------------------------------------------------------------------------------------


def hide_modal(ref: str, summary: str, where: str) -> dict[str, Any]:
    """`where` says whether the network hides it too (from the platform's capabilities)."""
    return modal_frame(
        ids.HIDE_VIEW,
        "Hide complaint",
        "Hide",
        ref,
        [
            SectionBlock(text=summary),
            SectionBlock(text=MarkdownTextObject(text=f"Nothing is deleted. {safe_mrkdwn(where, 300)}")),
            InputBlock(
                block_id=ids.HIDE_REASON_INPUT,
                label="Reason",
                element=StaticSelectElement(
                    action_id=ids.HIDE_REASON_INPUT,
                    placeholder="Why hide it",
                    options=[Option(value=value, text=label) for value, label in HIDE_REASONS.items()],
                ),
            ),
            InputBlock(
                block_id=ids.NOTE_INPUT,
                label="Note",
                optional=True,
                hint="For the record: what in the post made you hide it",
                element=PlainTextInputElement(action_id=ids.NOTE_INPUT, multiline=True, max_length=NOTE_LIMIT),
            ),
        ],
    )


# What Flag threat and Block ask before they act. They were confirm dialogs on the buttons; an option of a select
# cannot carry its own (bot/blocks/menu.py says why), so each is a small modal that acts only when submitted.
FLAG_THREAT_QUESTION = "Flag as a threat?"
FLAG_THREAT_EXPLAINED = "Legal gets the post, its author and a link to this card. " + POLICE_LINE
FLAG_THREAT_CONFIRM = "Notify Legal"
BLOCK_QUESTION = "Block this author?"
BLOCK_EXPLAINED = "Heard records the block and mutes the account where the source's API allows."
BLOCK_CONFIRM = "Block"


def confirm_flag_threat_modal(ref: str, summary: str) -> dict[str, Any]:
    return _confirm_modal(
        ids.CONFIRM_FLAG_THREAT_VIEW, FLAG_THREAT_QUESTION, FLAG_THREAT_EXPLAINED, FLAG_THREAT_CONFIRM, ref, summary
    )


def confirm_block_modal(ref: str, summary: str) -> dict[str, Any]:
    return _confirm_modal(ids.CONFIRM_BLOCK_VIEW, BLOCK_QUESTION, BLOCK_EXPLAINED, BLOCK_CONFIRM, ref, summary)


def _confirm_modal(
    callback_id: str, question: str, explained: str, confirm: str, ref: str, summary: str
) -> dict[str, Any]:
    """A question with the complaint it is about; submitting it is the "yes", Cancel the "no"."""
    return modal_frame(
        callback_id,
        question,
        confirm,
        ref,
        [SectionBlock(text=summary), SectionBlock(text=MarkdownTextObject(text=explained))],
    )


def write_up_modal(ref: str, summary: str, what_happened: str = "", what_we_learned: str = "") -> dict[str, Any]:
    return modal_frame(
        ids.WRITE_UP_VIEW,
        "Write up",
        "Save",
        ref,
        [
            SectionBlock(text=summary),
            InputBlock(
                block_id=ids.WHAT_HAPPENED_INPUT,
                label="What happened",
                element=PlainTextInputElement(
                    action_id=ids.WHAT_HAPPENED_INPUT,
                    multiline=True,
                    max_length=WRITE_UP_LIMIT,
                    initial_value=what_happened or None,
                ),
            ),
            InputBlock(
                block_id=ids.WHAT_WE_LEARNED_INPUT,
                label="What we learned",
                hint="Listed in the weekly digest",
                element=PlainTextInputElement(
                    action_id=ids.WHAT_WE_LEARNED_INPUT,
                    multiline=True,
                    max_length=WRITE_UP_LIMIT,
                    initial_value=what_we_learned or None,
                ),
            ),
        ],
    )


# -- the thread log -----------------------------------------------------------------------------------------------

MODERATION_ACTIONS = {
    Action.HIDE.value,
    Action.UNHIDE.value,
    Action.FLAG_THREAT.value,
    Action.WARN_AUTHOR.value,
    Action.BLOCK_AUTHOR.value,
    Action.KEEP_EVIDENCE.value,
    Action.WRITE_UP.value,
}


def moderation_log_words(event: AuditEvent) -> str:
    detail = event.detail or {}
    if event.action == Action.HIDE.value:
        reason = HIDE_REASONS.get(str(detail.get("reason")), "Other")
        where = "on the source" if detail.get("on_source") else "in Heard only"
        return f"hid it ({reason}, {where})"
    if event.action == Action.UNHIDE.value:
        return "unhid it" + (" (shown again on the source)" if detail.get("on_source") else "")
    if event.action == Action.FLAG_THREAT.value:
        return f":rotating_light: flagged it as a threat; Legal was told. {POLICE_LINE}"
    if event.action == Action.WARN_AUTHOR.value:
        return f"warned the author (strike {detail.get('strike')} of {detail.get('of')})"
    if event.action == Action.BLOCK_AUTHOR.value:
        return "blocked the author (" + ("muted on the source" if detail.get("muted") else "recorded in Heard") + ")"
    if event.action == Action.KEEP_EVIDENCE.value:
        return "kept the evidence: the complete record, in the file below"
    return "wrote it up" if not detail.get("edited") else "edited the write-up"
