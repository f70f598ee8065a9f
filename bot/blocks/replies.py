"""Replies in Block Kit: the reply modal (Acknowledge, Take it private) and what the card shows of replies (what
was said, by whom, with a link; a failure with Retry / Edit; a draft to copy with Mark replied).

The modal's private_metadata (`ReplyForm`) carries the complaint, what the modal is for, a fingerprint of the
template it started from (to notice a template sent unchanged) and whether "Make it personal?" was already asked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)

from bot.blocks import context_line, ids
from bot.blocks.modals import modal_frame
from bot.blocks.text import link_to, safe_mrkdwn
from bot.blocks.when import clock
from bot.replies import ACKNOWLEDGE
from storage.models import Complaint, Reply

# What the agent may do with the text (radio button values).
PUBLIC = "public"
DM = "dm"
COPY = "copy"
INTERNAL = "internal"
HOW_WORDS = {
    COPY: "Copy it and send it yourself",
    INTERNAL: "Acknowledge only (internal)",
}
# Reply statuses
PENDING = "pending"  # waiting for the sender (first attempt, or again after an unknown outcome)
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
DRAFTED = "drafted"  # to copy and send by hand
REPLACED = "replaced"  # a failed reply whose draft was edited and sent anew

X_TEXT_LIMIT = 280
COPY_TEXT_LIMIT = 3000
QUOTE_LIMIT = 600
REPLIES_SHOWN = 3
MAKE_IT_PERSONAL = (
    ":point_right: *Make it personal?* This is the template word for word. Add a detail from the customer's post "
    "or a word of your own, or press Send again to send it as it is."
)


@dataclass(frozen=True)
class ReplyWords:
    """How replies are named for the complaint's network: "Reply publicly on Facebook", "Send it as an X DM"."""

    network: str
    private_name: str = "private reply"

    @classmethod
    def of(cls, complaint: Complaint) -> ReplyWords:
        # Imported here: the registry imports the adapters, which import the projections that render cards.
        from bot.platforms import private_reply_name, source_label

        return cls(source_label(complaint.platform, complaint.source), private_reply_name(complaint.platform))

    @property
    def a_private_reply(self) -> str:
        """ "an X DM", "a Facebook private reply"."""
        return f"{_indefinite_article(self.network)} {self.network} {self.private_name}"

    def how(self, choice: str) -> str:
        if choice == PUBLIC:
            return f"Reply publicly on {self.network}"
        if choice == DM:
            return f"Send it as {self.a_private_reply}"
        return HOW_WORDS[choice]


def _indefinite_article(word: str) -> str:
    """ "an" before a vowel sound: a word starting with a vowel, or a letter said with one ("an X", "an F")."""
    if word[:1].lower() in "aeiou" or (len(word) == 1 and word.lower() in "fhlmnrsx"):
        return "an"
    return "a"


def fingerprint(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ReplyForm:
    """The reply modal's private_metadata."""

    complaint_id: int
    purpose: str  # replies.ACKNOWLEDGE or replies.PRIVATE
    template: str  # fingerprint of the filled-in template
    warned: bool = False
    # The failed reply this modal edits (its draft is kept; sending this one replaces it).
    edits: int | None = None

    def encode(self) -> str:
        return json.dumps(
            {"c": self.complaint_id, "p": self.purpose, "t": self.template, "w": self.warned, "e": self.edits},
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, value: str) -> ReplyForm:
        """Read strictly, as anything Slack sends back (anyone can forge a submission): the ids must be ids Heard
        could have written (a 20-digit number would overflow the database's integers)."""
        try:
            data = json.loads(value)
            edits = data.get("e")
            form = cls(
                _record_id(data["c"]),
                str(data["p"]),
                str(data["t"]),
                bool(data.get("w")),
                _record_id(edits) if edits is not None else None,
            )
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise ValueError(f"not a reply form: {str(value)[:100]!r}") from exc
        return form


def _record_id(value: object) -> int:
    if type(value) is not int or not 0 < value <= ids.MAX_ID:
        raise ValueError(f"not a record id: {value!r}")
    return value


def reply_modal(
    form: ReplyForm,
    summary: str,
    text: str,
    choices: Sequence[str],
    notes: Sequence[str],
    words: ReplyWords,
) -> dict[str, Any]:
    """The reply, prefilled and editable, and what to do with it (`choices`, the first preselected), named for the
    complaint's network (`words`)."""
    limit = X_TEXT_LIMIT if (PUBLIC in choices or DM in choices) else COPY_TEXT_LIMIT
    options = [Option(value=choice, text=words.how(choice)) for choice in choices]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=summary, verbatim=True))]
    blocks.extend(context_line(note) for note in notes)
    if form.warned:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=MAKE_IT_PERSONAL)))
    blocks.append(
        InputBlock(
            block_id=ids.REPLY_TEXT_INPUT,
            label="Reply",
            hint="Use their name and what they told you; a template is a starting point.",
            element=PlainTextInputElement(
                action_id=ids.REPLY_TEXT_INPUT, multiline=True, max_length=limit, initial_value=text[:limit]
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=ids.REPLY_HOW_INPUT,
            label="What to do",
            element=RadioButtonsElement(action_id=ids.REPLY_HOW_INPUT, options=options, initial_option=options[0]),
        )
    )
    title = "Acknowledge" if form.purpose == ACKNOWLEDGE else "Take it private"
    return modal_frame(ids.REPLY_VIEW, title, "Send", form.encode(), blocks)


# -- on the card ---------------------------------------------------------------------------------------------------


def reply_blocks(replies: Sequence[Reply], words: ReplyWords, now: datetime, tz: ZoneInfo) -> list[Block]:
    """What the card shows of its replies: a line for each of the latest, and the ones that need a person (a
    failure to retry or edit, a draft to send by hand) each with its buttons."""
    shown = [reply for reply in replies if reply.status != REPLACED][-REPLIES_SHOWN:]
    blocks: list[Block] = []
    lines = [reply_line(reply, words, now, tz) for reply in shown if reply.status not in (FAILED, DRAFTED)]
    if lines:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines))))
    for reply in shown:
        if reply.status == FAILED:
            error = safe_mrkdwn(reply.error or f"{words.network} did not take it", 300)
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f":warning: *Reply failed*: {error} — <@{reply.requested_by}>'s draft is kept:\n"
                        f"{_quote(reply.text)}"
                    )
                )
            )
            blocks.append(
                ActionsBlock(
                    block_id=f"{ids.REPLIES_BLOCK}:{reply.id}",
                    elements=[
                        ButtonElement(text="Retry", action_id=ids.RETRY_REPLY, value=str(reply.id), style="primary"),
                        ButtonElement(text="Edit", action_id=ids.EDIT_REPLY, value=str(reply.id)),
                    ],
                )
            )
        elif reply.status == DRAFTED:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f":clipboard: Reply drafted by <@{reply.requested_by}> — copy it, send it yourself, then "
                        f"mark it replied:\n{_quote(reply.text)}"
                    )
                )
            )
            blocks.append(
                ActionsBlock(
                    block_id=f"{ids.REPLIES_BLOCK}:{reply.id}",
                    elements=[ButtonElement(text="Mark replied", action_id=ids.MARK_REPLIED, value=str(reply.id))],
                )
            )
    return blocks


def reply_line(reply: Reply, words: ReplyWords, now: datetime, tz: ZoneInfo) -> str:
    quote = f"“{safe_mrkdwn(reply.text, QUOTE_LIMIT)}”"
    network = words.network
    if reply.status in (PENDING, SENDING):
        where = words.a_private_reply if reply.channel == DM else f"a reply on {network}"
        return f":outbox_tray: Sending {where} by <@{reply.requested_by}>: {quote}"
    when = clock(reply.sent_at, now, tz) if reply.sent_at else ""
    link = link_to(reply.url, f"view on {network}")
    suffix = f" · {link}" if link else ""
    if reply.channel == DM:
        sent = f"{words.private_name[:1].upper()}{words.private_name[1:]} sent on {network}"
        return f":envelope: *{sent}* by <@{reply.requested_by}> at {when}: {quote}{suffix}"
    if reply.channel == COPY:
        return f":speech_balloon: *Replied by hand* by <@{reply.sent_by or reply.requested_by}> at {when}: {quote}"
    return f":speech_balloon: *Replied publicly on {network}* by <@{reply.requested_by}> at {when}: {quote}{suffix}"


def _quote(text: str) -> str:
    """The draft as it will be sent, quoted line by line so it can be copied."""
    return "\n".join(f"> {line}" for line in safe_mrkdwn(text, 2500).splitlines() or [""])


def reply_log_words(action: str, detail: dict[str, Any], words: ReplyWords) -> str:
    """The thread-log line for a reply event: what was said, with a link when there is one."""
    quote = f"“{safe_mrkdwn(str(detail.get('text', '')), QUOTE_LIMIT)}”"
    link = link_to(detail.get("url"), f"view on {words.network}")
    suffix = f" · {link}" if link else ""
    if action == "replied":
        return f"replied publicly on {words.network}: {quote}{suffix}"
    if action == "sent a DM":
        return f"sent {words.a_private_reply}: {quote}"
    if action == "reply drafted":
        return f"drafted a reply to send by hand: {quote}"
    if action == "marked replied":
        return f"marked the reply as sent by hand: {quote}"
    if action == "reply failed":
        return f"could not send a reply ({safe_mrkdwn(str(detail.get('error', '')), 300)}); the draft is kept"
    return action
