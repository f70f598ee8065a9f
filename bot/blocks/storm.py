"""Block Kit for storms: the storm card, a complaint's line in its thread, and the holding-statement modal. Pure
functions of their view models (bot/storms.py builds them from the database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)

from bot.blocks import Message, context_line, customer_words, ids
from bot.blocks.modals import modal_frame
from bot.blocks.replies import DRAFTED, FAILED, REPLACED, REPLIES_SHOWN, ReplyWords, reply_blocks, reply_line
from bot.blocks.text import at_a_glance, link_to, safe_mrkdwn
from bot.blocks.when import clock, span
from bot.lifecycle import Status
from bot.platforms import source_label
from storage.models import Complaint, Reply, Storm

# action_id / callback_id / block_id; a button's value is the storm id.
SEND_STATEMENT = "storm_statement"
CLAIM_ALL = "storm_claim_all"
RESOLVE_ALL = "storm_resolve_all"
END_STORM = "storm_end"
STATEMENT_VIEW = "storm_statement_view"
STATEMENT_INPUT = "storm_statement_text"
STORM_ACTIONS_BLOCK = "storm_actions"
STATEMENT_LIMIT = 2000
EXCERPT = 140
NAME_LIMIT = 80
# A message in the storm's thread lists the complaints that arrived since the last one: three blocks each (Heard's
# line, the customer's words, the buttons), within Slack's 50. The channel shows about one message a second, and a
# storm brings more complaints than that, so one message per complaint would fall further behind every second.
LINES_PER_MESSAGE = 16
LISTED_EXCERPT = 120
LISTED_QUOTE = 300
SECTION_BUDGET = 2900  # of a section's 3000 characters


@dataclass(frozen=True)
class StormView:
    storm: Storm
    complaints: int
    words: Sequence[str]
    acknowledged: int
    claimed: int
    resolved: int
    # Replies the holding statements queued: sent through the networks, and drafts to copy by hand.
    replies_sent: int = 0
    drafts: int = 0
    ended_by_calm: timedelta | None = None

    @property
    def open(self) -> int:
        return self.complaints - self.resolved


def headline(view: StormView, now: datetime, tz: ZoneInfo) -> str:
    storm = view.storm
    count = f"{view.complaints} complaint{'' if view.complaints == 1 else 's'}"
    words = ", ".join(f"*{safe_mrkdwn(word, 40)}*" for word in view.words)
    mention = f", most mention {words}" if words else ""
    if storm.ended_at is None:
        return f":tornado: *Surge since {clock(storm.started_at, now, tz)}* — {count}{mention}"
    return (
        f":white_check_mark: *Surge {clock(storm.started_at, now, tz)}–{clock(storm.ended_at, now, tz)}* — "
        f"{count}{mention}"
    )


def storm_card(view: StormView, now: datetime, tz: ZoneInfo) -> Message:
    storm = view.storm
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=headline(view, now, tz)))]
    state = [
        "Each complaint is a line in this thread, with its own clock; high-priority and VIP ones get their own card.",
        f"{view.acknowledged} acknowledged · {view.claimed} claimed · {view.resolved} resolved · {view.open} open",
    ]
    if view.replies_sent or view.drafts:
        state.append(
            f"Holding statement: {view.replies_sent} sent or on their way"
            + (f", {view.drafts} draft{'s' if view.drafts != 1 else ''} to copy (their lines)" if view.drafts else "")
        )
    if storm.ended_at is not None:
        if storm.ended_by:
            state.append(f"Ended by <@{storm.ended_by}> at {clock(storm.ended_at, now, tz)}: new complaints get cards")
        else:
            state.append(f"Ended by itself at {clock(storm.ended_at, now, tz)}, arrivals calmed down")
    blocks.append(context_line("\n".join(state)))
    buttons: list[ButtonElement] = []
    value = str(storm.id)
    if view.open:
        buttons.append(
            ButtonElement(text="Send holding statement", action_id=SEND_STATEMENT, value=value, style="primary")
        )
        buttons.append(ButtonElement(text="Claim all", action_id=CLAIM_ALL, value=value))
        buttons.append(
            ButtonElement(
                text="Resolve all",
                action_id=RESOLVE_ALL,
                value=value,
                confirm=ConfirmObject(
                    title="Resolve all?",
                    text=f"Resolve the {view.open} open complaint{'s' if view.open != 1 else ''} of this storm?",
                    confirm="Resolve all",
                    deny="Cancel",
                ),
            )
        )
    if storm.ended_at is None:
        buttons.append(ButtonElement(text="End storm", action_id=END_STORM, value=value, style="danger"))
    if buttons:
        blocks.append(ActionsBlock(block_id=STORM_ACTIONS_BLOCK, elements=buttons))
    text = headline(view, now, tz).replace("*", "").replace(":tornado: ", "").replace(":white_check_mark: ", "")
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def storm_line(complaint: Complaint, replies: Sequence[Reply], now: datetime, tz: ZoneInfo) -> Message:
    """One complaint in the storm's thread: who, an excerpt, the link, its number, its state as it changes, and the
    buttons to act on it (the card's, each value a complaint reference with its revision)."""
    line = f"{_who(complaint)}: “{_excerpt(complaint)}”"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=line, verbatim=True))]
    blocks.append(context_line(_state(complaint, now, tz)))
    blocks.extend(reply_blocks(replies, ReplyWords.of(complaint), now, tz))
    if actions := _line_buttons(complaint, ()):
        blocks.append(actions)
    return Message(text=_line_text(complaint), blocks=[block.to_dict() for block in blocks])


def storm_lines(lines: Sequence[tuple[Complaint, Sequence[Reply]]], now: datetime, tz: ZoneInfo) -> Message:
    """Complaints that arrived together, listed in one message of the storm's thread (one alone: `storm_line`).
    Each has Heard's line with its state, the customer's words as plain text, and its own buttons."""
    if len(lines) == 1:
        return storm_line(*lines[0], now, tz)
    blocks: list[Block] = []
    for complaint, replies in lines[:LINES_PER_MESSAGE]:
        shown = [reply for reply in replies if reply.status != REPLACED][-REPLIES_SHOWN:]
        text = f"{_who(complaint)}\n{_state(complaint, now, tz)}"
        said = "\n".join(_listed_reply(reply, ReplyWords.of(complaint), now, tz) for reply in shown)
        if said and len(text) + len(said) < SECTION_BUDGET:
            text += "\n" + said
        elif said:
            many = "y" if len(shown) == 1 else "ies"
            text += f"\n:speech_balloon: {len(shown)} repl{many}: `/complaints {complaint.id}`"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text, verbatim=True)))
        blocks.append(customer_words(at_a_glance(complaint.text, columns=LISTED_EXCERPT, lines=1).text))
        if actions := _line_buttons(complaint, shown):
            blocks.append(actions)
    listed = lines[:LINES_PER_MESSAGE]
    who = ", ".join(f"#{c.id} from @{safe_mrkdwn(c.author_handle.lstrip('@'), NAME_LIMIT)}" for c, _ in listed)
    return Message(text=f"{len(listed)} complaints in this storm: {who}", blocks=[block.to_dict() for block in blocks])


def _who(complaint: Complaint) -> str:
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    name = safe_mrkdwn(complaint.author_name, NAME_LIMIT) if complaint.author_name else None
    who = f"*{name}* @{handle}" if name and name != handle else f"*{name or '@' + handle}*"
    source = source_label(complaint.platform, complaint.source)
    where = link_to(complaint.url, source, 64) or safe_mrkdwn(source, 64)
    return f"*#{complaint.id}* {who} on {where}"


def _excerpt(complaint: Complaint) -> str:
    return safe_mrkdwn(" ".join(complaint.text.split()), EXCERPT) or "(no text)"


def _line_text(complaint: Complaint) -> str:
    """The notification text: `#<id> from @handle: excerpt` (what a search of the thread finds)."""
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    return f"#{complaint.id} from @{handle}: {_excerpt(complaint)}"


def _listed_reply(reply: Reply, words: ReplyWords, now: datetime, tz: ZoneInfo) -> str:
    if reply.status == FAILED:
        error = safe_mrkdwn(reply.error or f"{words.network} did not take it", LISTED_QUOTE)
        return f":warning: *Reply failed*: {error} — <@{reply.requested_by}>'s draft is kept (Retry or Edit)"
    if reply.status == DRAFTED:
        return (
            f":clipboard: Reply drafted by <@{reply.requested_by}> — copy it, send it yourself, then mark it "
            f"replied: “{safe_mrkdwn(reply.text, LISTED_QUOTE)}”"
        )
    return reply_line(reply, words, now, tz)


def _line_buttons(complaint: Complaint, replies: Sequence[Reply]) -> ActionsBlock | None:
    """A storm line's buttons, as on a card: the reply that acknowledges, Claim (Release once claimed), Resolve;
    and what a reply waiting for a person needs. Stale or forged values are refused by `ids.ComplaintRef`."""
    if complaint.status == Status.RESOLVED:
        return None
    ref = ids.ComplaintRef(complaint.id, complaint.revision).encode()
    buttons: list[ButtonElement] = []
    if complaint.acknowledged_at is None:
        buttons.append(ButtonElement(text="Acknowledge", action_id=ids.ACKNOWLEDGE, value=ref, style="primary"))
    if complaint.owner_id:
        buttons.append(ButtonElement(text="Release", action_id=ids.RELEASE, value=ref))
    else:
        buttons.append(ButtonElement(text="Claim", action_id=ids.CLAIM, value=ref))
    buttons.append(ButtonElement(text="Resolve", action_id=ids.RESOLVE, value=ref))
    for reply in replies:
        if reply.status == FAILED:
            buttons.append(ButtonElement(text="Retry", action_id=ids.RETRY_REPLY, value=str(reply.id)))
            buttons.append(ButtonElement(text="Edit", action_id=ids.EDIT_REPLY, value=str(reply.id)))
        elif reply.status == DRAFTED:
            buttons.append(ButtonElement(text="Mark replied", action_id=ids.MARK_REPLIED, value=str(reply.id)))
    # block_id names the complaint: a message listing several has one actions block each, and Slack wants them unique.
    return ActionsBlock(block_id=f"storm_line:{complaint.id}", elements=buttons[:25])


def _state(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    parts = []
    if complaint.status == Status.RESOLVED and complaint.resolved_at is not None:
        at = clock(complaint.resolved_at, now, tz)
        parts.append(f":white_check_mark: Resolved by <@{complaint.resolved_by}> at {at}")
    elif complaint.acknowledged_at is not None:
        parts.append(f"Acknowledged by <@{complaint.acknowledged_by}> at {clock(complaint.acknowledged_at, now, tz)}")
    else:
        left = complaint.ack_deadline - now
        if left <= timedelta(0):
            parts.append(f":rotating_light: Acknowledge overdue by {span(-left)}")
        else:
            parts.append(f"Acknowledge by {clock(complaint.ack_deadline, now, tz)}")
    parts.append(f"Owner: <@{complaint.owner_id}>" if complaint.owner_id else "Unclaimed")
    parts.append(f"`/complaints {complaint.id}` for the whole record")
    return " · ".join(parts)


def statement_modal(storm_id: int, customers: int, text: str, notes: Sequence[str]) -> dict[str, Any]:
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"Goes to the *{customers}* customer{'s' if customers != 1 else ''} of this storm who are still "
                "waiting, each as their own reply: `{first_name}` becomes each one's first name. It acknowledges "
                "their complaints; each keeps its own clock."
            )
        ),
        InputBlock(
            block_id=STATEMENT_INPUT,
            label="Holding statement",
            hint="Say you know, you're on it, and when the next update comes",
            element=PlainTextInputElement(
                action_id=STATEMENT_INPUT, multiline=True, initial_value=text, max_length=STATEMENT_LIMIT
            ),
        ),
    ]
    blocks.extend(context_line(note) for note in notes)
    return modal_frame(STATEMENT_VIEW, "Holding statement", "Send to all", str(storm_id), blocks)
