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
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks import ids, markup_section
from bot.blocks.menu import MenuItem
from bot.blocks.modals import modal_frame
from bot.blocks.text import (
    HINT_LIMIT,
    LABEL_LIMIT,
    MODAL_TITLE_LIMIT,
    OPTION_TEXT_LIMIT,
    PLACEHOLDER_LIMIT,
    mention,
    person,
    safe_mrkdwn,
    safe_plain,
)
from bot.blocks.when import clock
from bot.i18n import N_, _, n_
from bot.lifecycle import Action
from bot.platforms import source_label
from storage.models import AuditEvent, Complaint

# value -> label (translated where shown, with `hide_reason`); the order is the modal's.
HIDE_REASONS = {
    # Translators: a reason for hiding a post.
    "threat": N_("Threat"),
    # Translators: a reason for hiding a post.
    "racism": N_("Racism"),
    # Translators: a reason for hiding a post.
    "defamation": N_("Defamation"),
    # Translators: a reason for hiding a post.
    "spam": N_("Spam"),
    # Translators: a reason for hiding a post (none of the others).
    "other": N_("Other"),
}
POLICE_LINE = N_("Illegal threats are reported to the police.")
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


def hide_reason(value: str | None) -> str:
    """The label of a hiding reason, in the language being spoken ("Other" for one Heard does not know)."""
    return _(HIDE_REASONS.get(value or "", HIDE_REASONS["other"]))


def strikes_words(count: int) -> str:
    # Translators: a strike is a recorded warning to a customer who broke the community policy.
    return "⚠ " + n_("%(count)s strike", "%(count)s strikes", count)


def moderation_lines(complaint: Complaint, view: ModerationView, now: datetime, tz: ZoneInfo) -> list[str]:
    lines: list[str] = []
    if complaint.hidden_at is not None:
        values = {
            "who": mention(complaint.hidden_by),
            "time": clock(complaint.hidden_at, now, tz),
            "reason": hide_reason(complaint.hidden_reason),
        }
        if complaint.hidden_on_source:
            network = safe_mrkdwn(network_name(complaint), 64)
            # Translators: the reason is one of Threat, Racism, Defamation, Spam, Other.
            line = _("*Hidden on %(network)s* by %(who)s at %(time)s — %(reason)s", network=network, **values)
        else:
            line = _("*Hidden in Heard only* by %(who)s at %(time)s — %(reason)s", **values)
        if complaint.hidden_note:
            line += f": {safe_mrkdwn(complaint.hidden_note, LINE_LIMIT)}"
        if not complaint.hidden_on_source and complaint.hidden_source_refusal:
            refused = _(
                "Not hidden on %(network)s: %(why)s.",
                network=safe_mrkdwn(network_name(complaint), 64),
                why=safe_mrkdwn(complaint.hidden_source_refusal, LINE_LIMIT),
            )
            line += f"\n_{refused}_"
        lines.append(f":see_no_evil: {line}")
    if complaint.threat_flagged_at is not None:
        flagged = _(
            "*Threat flagged to Legal* by %(who)s at %(time)s.",
            who=person(complaint.threat_flagged_by),
            time=clock(complaint.threat_flagged_at, now, tz),
        )
        lines.append(f":rotating_light: {flagged} {_(POLICE_LINE)}")
    if view.strikes:
        strikes = strikes_words(view.strikes)
        if view.block_suggested:
            # Translators: "threshold" is the number of strikes at which blocking the author is suggested.
            line = _(
                "*%(strikes)s* for this author — %(threshold)s or more: *Block* is suggested",
                strikes=strikes,
                threshold=view.strikes_before_block,
            )
        else:
            line = _("*%(strikes)s* for this author", strikes=strikes)
        lines.append(line)
    if view.blocked_at is not None:
        values = {"who": person(view.blocked_by), "time": clock(view.blocked_at, now, tz)}
        if view.muted_on_source:
            line = _("*Author blocked* by %(who)s at %(time)s (muted on the source)", **values)
        else:
            line = _("*Author blocked* by %(who)s at %(time)s (recorded in Heard only)", **values)
        if view.block_note:
            line += f" — _{safe_mrkdwn(view.block_note, LINE_LIMIT)}_"
        lines.append(f":no_entry: {line}")
    if view.written_up_at is not None:
        written = _(
            "Written up by %(who)s at %(time)s",
            who=person(view.written_up_by),
            time=clock(view.written_up_at, now, tz),
        )
        lines.append(f":memo: {written}")
    return lines


def moderation_blocks(complaint: Complaint, view: ModerationView, now: datetime, tz: ZoneInfo) -> list[Block]:
    """The lines that say what was done, when there is anything to say (the actions are in the card's menu)."""
    lines = moderation_lines(complaint, view, now, tz)
    return [markup_section("\n".join(lines))] if lines else []


def moderation_menu_items(complaint: Complaint, view: ModerationView) -> list[MenuItem]:
    """Moderation's choices in the card's "More…" menu, those that still apply. There is no Delete, by design."""
    items = []
    if complaint.hidden_at is None:
        # Translators: a menu choice: hide the customer's post.
        items.append(MenuItem(_("Hide"), ids.HIDE))
    else:
        items.append(MenuItem(_("Unhide"), ids.UNHIDE))
    if complaint.threat_flagged_at is None and view.can_flag_threat:
        # Translators: a menu choice: report the post to Legal as a threat.
        items.append(MenuItem(_("Flag threat"), ids.FLAG_THREAT))  # asks first: confirm_flag_threat_modal
    if view.blocked_at is None:
        # Translators: a menu choice: warn the author (records a strike).
        items.append(MenuItem(_("Warn"), ids.WARN_AUTHOR))
    if view.block_suggested:
        # Translators: a menu choice: block the author.
        items.append(MenuItem(_("Block"), ids.BLOCK_AUTHOR))  # asks first: confirm_block_modal
    # Translators: a menu choice: save the complete record of the post as evidence.
    items.append(MenuItem(_("Keep evidence"), ids.KEEP_EVIDENCE))
    # Translators: a menu choice: write what happened and what was learned.
    write_up = _("Write up") if view.written_up_at is None else _("Edit write-up")
    items.append(MenuItem(write_up, ids.WRITE_UP))
    return items


# -- modals -------------------------------------------------------------------------------------------------------


def _title(text: str) -> str:
    return safe_plain(text, MODAL_TITLE_LIMIT)


def hide_modal(ref: str, summary: str, where: str) -> dict[str, Any]:
    """`where` says whether the network hides it too (from the platform's capabilities)."""
    return modal_frame(
        ids.HIDE_VIEW,
        # Translators: a modal's title (at most 24 characters).
        _title(_("Hide complaint")),
        # Translators: the modal's submit button (at most 24 characters).
        _title(_("Hide")),
        ref,
        [
            SectionBlock(text=summary),
            markup_section(_("Nothing is deleted. %(where)s", where=safe_mrkdwn(where, 300))),
            InputBlock(
                block_id=ids.HIDE_REASON_INPUT,
                label=safe_plain(_("Reason"), LABEL_LIMIT),
                element=StaticSelectElement(
                    action_id=ids.HIDE_REASON_INPUT,
                    placeholder=safe_plain(_("Why hide it"), PLACEHOLDER_LIMIT),
                    options=[
                        Option(value=value, text=safe_plain(_(label), OPTION_TEXT_LIMIT))
                        for value, label in HIDE_REASONS.items()
                    ],
                ),
            ),
            InputBlock(
                block_id=ids.NOTE_INPUT,
                label=safe_plain(_("Note"), LABEL_LIMIT),
                optional=True,
                hint=safe_plain(_("For the record: what in the post made you hide it"), HINT_LIMIT),
                element=PlainTextInputElement(action_id=ids.NOTE_INPUT, multiline=True, max_length=NOTE_LIMIT),
            ),
        ],
    )


# What Flag threat and Block ask before they act. They were confirm dialogs on the buttons; an option of a select
# cannot carry its own (bot/blocks/menu.py says why), so each is a small modal that acts only when submitted.
# Translators: a modal's title (at most 24 characters).
FLAG_THREAT_QUESTION = N_("Flag as a threat?")
FLAG_THREAT_EXPLAINED = N_("Legal gets the post, its author and a link to this card.")
# Translators: the submit button of the "Flag as a threat?" modal (at most 24 characters).
FLAG_THREAT_CONFIRM = N_("Notify Legal")
# Translators: a modal's title (at most 24 characters).
BLOCK_QUESTION = N_("Block this author?")
BLOCK_EXPLAINED = N_("Heard records the block and mutes the account where the source's API allows.")
# Translators: the submit button of the "Block this author?" modal (at most 24 characters).
BLOCK_CONFIRM = N_("Block")


def confirm_flag_threat_modal(ref: str, summary: str) -> dict[str, Any]:
    explained = f"{_(FLAG_THREAT_EXPLAINED)} {_(POLICE_LINE)}"
    return _confirm_modal(
        ids.CONFIRM_FLAG_THREAT_VIEW, _(FLAG_THREAT_QUESTION), explained, _(FLAG_THREAT_CONFIRM), ref, summary
    )


def confirm_block_modal(ref: str, summary: str) -> dict[str, Any]:
    return _confirm_modal(ids.CONFIRM_BLOCK_VIEW, _(BLOCK_QUESTION), _(BLOCK_EXPLAINED), _(BLOCK_CONFIRM), ref, summary)


def _confirm_modal(
    callback_id: str, question: str, explained: str, confirm: str, ref: str, summary: str
) -> dict[str, Any]:
    """A question with the complaint it is about; submitting it is the "yes", Cancel the "no"."""
    return modal_frame(
        callback_id,
        _title(question),
        _title(confirm),
        ref,
        [SectionBlock(text=summary), markup_section(explained)],
    )


def write_up_modal(ref: str, summary: str, what_happened: str = "", what_we_learned: str = "") -> dict[str, Any]:
    return modal_frame(
        ids.WRITE_UP_VIEW,
        # Translators: a modal's title (at most 24 characters): a written account of what happened.
        _title(_("Write up")),
        # Translators: the modal's submit button (at most 24 characters).
        _title(_("Save")),
        ref,
        [
            SectionBlock(text=summary),
            InputBlock(
                block_id=ids.WHAT_HAPPENED_INPUT,
                label=safe_plain(_("What happened"), LABEL_LIMIT),
                element=PlainTextInputElement(
                    action_id=ids.WHAT_HAPPENED_INPUT,
                    multiline=True,
                    max_length=WRITE_UP_LIMIT,
                    initial_value=what_happened or None,
                ),
            ),
            InputBlock(
                block_id=ids.WHAT_WE_LEARNED_INPUT,
                label=safe_plain(_("What we learned"), LABEL_LIMIT),
                hint=safe_plain(_("Listed in the weekly digest"), HINT_LIMIT),
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


def moderation_log_words(event: AuditEvent, who: str) -> str:
    """What a moderation event says in the card's thread, a sentence with `who` did it ("@ana hid it (Spam, …)")."""
    detail = event.detail or {}
    if event.action == Action.HIDE.value:
        reason = hide_reason(str(detail.get("reason")))
        if detail.get("on_source"):
            # Translators: the reason is one of Threat, Racism, Defamation, Spam, Other.
            return _("%(who)s hid it (%(reason)s, on the source)", who=who, reason=reason)
        return _("%(who)s hid it (%(reason)s, in Heard only)", who=who, reason=reason)
    if event.action == Action.UNHIDE.value:
        if detail.get("on_source"):
            return _("%(who)s unhid it (shown again on the source)", who=who)
        return _("%(who)s unhid it", who=who)
    if event.action == Action.FLAG_THREAT.value:
        flagged = _("%(who)s flagged it as a threat; Legal was told.", who=who)
        return f":rotating_light: {flagged} {_(POLICE_LINE)}"
    if event.action == Action.WARN_AUTHOR.value:
        # Translators: e.g. "@ana warned the author (strike 2 of 3)".
        return _(
            "%(who)s warned the author (strike %(strike)s of %(of)s)",
            who=who,
            strike=detail.get("strike"),
            of=detail.get("of"),
        )
    if event.action == Action.BLOCK_AUTHOR.value:
        if detail.get("muted"):
            return _("%(who)s blocked the author (muted on the source)", who=who)
        return _("%(who)s blocked the author (recorded in Heard)", who=who)
    if event.action == Action.KEEP_EVIDENCE.value:
        # Translators: in the card's public thread; the file itself went to a DM or a private channel.
        return _("%(who)s kept the evidence: the complete record was sent privately", who=who)
    if detail.get("edited"):
        return _("%(who)s edited the write-up", who=who)
    return _("%(who)s wrote it up", who=who)
