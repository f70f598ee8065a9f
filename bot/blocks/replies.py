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

from bot.blocks import context_line, ids, markup_section
from bot.blocks.modals import modal_frame
from bot.blocks.text import (
    BUTTON_TEXT_LIMIT,
    HINT_LIMIT,
    LABEL_LIMIT,
    MODAL_TITLE_LIMIT,
    OPTION_TEXT_LIMIT,
    link_to,
    person,
    quoted,
    safe_mrkdwn,
    safe_plain,
)
from bot.blocks.when import clock
from bot.i18n import N_, _
from bot.replies import ACKNOWLEDGE
from storage.models import Complaint, Reply

# What the agent may do with the text (radio button values).
PUBLIC = "public"
DM = "dm"
COPY = "copy"
INTERNAL = "internal"
HOW_WORDS = {
    COPY: N_("Copy it and send it yourself"),
    # Translators: record the acknowledgement in Heard without replying to the customer.
    INTERNAL: N_("Acknowledge only (internal)"),
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
MAKE_IT_PERSONAL = N_(
    "*Make it personal?* This is the template word for word. Add a detail from the customer's post "
    "or a word of your own, or press Send again to send it as it is."
)


@dataclass(frozen=True)
class ReplyWords:
    """How replies are named for the complaint's network: "Reply publicly on Facebook", "Send it as an X DM"."""

    network: str
    private_name: str = "private reply"  # translated: `of` reads it in the language being spoken

    @classmethod
    def of(cls, complaint: Complaint) -> ReplyWords:
        # Imported here: the registry imports the adapters, which import the projections that render cards.
        from bot.platforms import private_reply_name, source_label

        return cls(source_label(complaint.platform, complaint.source), private_reply_name(complaint.platform))

    @property
    def a_private_reply(self) -> str:
        """ "an X DM", "a Facebook private reply"."""
        values = {"network": self.network, "private_reply": self.private_name}
        if _indefinite_article(self.network) == "an":
            # Translators: e.g. "an X DM": English chooses "a" or "an" by the network's first sound; translate
            # this and "a %(network)s %(private_reply)s" the same way. It is used inside other sentences as
            # %(a_private_reply)s.
            return _("an %(network)s %(private_reply)s", **values)
        # Translators: e.g. "a Facebook private reply"; see "an %(network)s %(private_reply)s".
        return _("a %(network)s %(private_reply)s", **values)

    def how(self, choice: str) -> str:
        if choice == PUBLIC:
            return _("Reply publicly on %(network)s", network=self.network)
        if choice == DM:
            # Translators: e.g. "Send it as an X DM".
            return _("Send it as %(a_private_reply)s", a_private_reply=self.a_private_reply)
        return _(HOW_WORDS[choice])


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
    options = [Option(value=choice, text=safe_plain(words.how(choice), OPTION_TEXT_LIMIT)) for choice in choices]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=summary, verbatim=True))]
    blocks.extend(context_line(note) for note in notes)
    if form.warned:
        blocks.append(markup_section(f":point_right: {_(MAKE_IT_PERSONAL)}"))
    blocks.append(
        InputBlock(
            block_id=ids.REPLY_TEXT_INPUT,
            # Translators: the label of the text to send to the customer.
            label=safe_plain(_("Reply"), LABEL_LIMIT),
            hint=safe_plain(_("Use their name and what they told you; a template is a starting point."), HINT_LIMIT),
            element=PlainTextInputElement(
                action_id=ids.REPLY_TEXT_INPUT, multiline=True, max_length=limit, initial_value=text[:limit]
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=ids.REPLY_HOW_INPUT,
            label=safe_plain(_("What to do"), LABEL_LIMIT),
            element=RadioButtonsElement(action_id=ids.REPLY_HOW_INPUT, options=options, initial_option=options[0]),
        )
    )
    # Translators: modal titles (at most 24 characters), the card's buttons that open them.
    title = _("Acknowledge") if form.purpose == ACKNOWLEDGE else _("Take it private")
    # Translators: the reply modal's submit button (at most 24 characters).
    send = _("Send")
    return modal_frame(
        ids.REPLY_VIEW, safe_plain(title, MODAL_TITLE_LIMIT), safe_plain(send, MODAL_TITLE_LIMIT), form.encode(), blocks
    )


# -- on the card ---------------------------------------------------------------------------------------------------


def reply_failure(reply: Reply, words: ReplyWords, limit: int = 300) -> str:
    """Why a reply failed, as the network said it (or that it did not take it)."""
    if reply.error:
        return safe_mrkdwn(reply.error, limit)
    return _("%(network)s did not take it", network=words.network)


def _button(text: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=safe_plain(text, BUTTON_TEXT_LIMIT), action_id=action_id, value=value, style=style)


# Translators: a button: try sending the failed reply again.
RETRY = N_("Retry")
# Translators: a button: edit the failed reply before sending it again.
EDIT = N_("Edit")
# Translators: a button: record that the reply was sent by hand.
MARK_REPLIED = N_("Mark replied")


def reply_blocks(replies: Sequence[Reply], words: ReplyWords, now: datetime, tz: ZoneInfo) -> list[Block]:
    """What the card shows of its replies: a line for each of the latest, and the ones that need a person (a
    failure to retry or edit, a draft to send by hand) each with its buttons."""
    shown = [reply for reply in replies if reply.status != REPLACED][-REPLIES_SHOWN:]
    blocks: list[Block] = []
    lines = [reply_line(reply, words, now, tz) for reply in shown if reply.status not in (FAILED, DRAFTED)]
    if lines:
        blocks.append(markup_section("\n".join(lines)))
    for reply in shown:
        if reply.status == FAILED:
            # Translators: "error" is why the network refused; the draft follows on the next lines.
            failed = _(
                "*Reply failed*: %(error)s — %(who)s's draft is kept:",
                error=reply_failure(reply, words),
                who=person(reply.requested_by),
            )
            blocks.append(markup_section(f":warning: {failed}\n{_quote(reply.text)}"))
            blocks.append(
                ActionsBlock(
                    block_id=f"{ids.REPLIES_BLOCK}:{reply.id}",
                    elements=[
                        _button(_(RETRY), ids.RETRY_REPLY, str(reply.id), style="primary"),
                        _button(_(EDIT), ids.EDIT_REPLY, str(reply.id)),
                    ],
                )
            )
        elif reply.status == DRAFTED:
            drafted = _(
                "Reply drafted by %(who)s — copy it, send it yourself, then mark it replied:",
                who=person(reply.requested_by),
            )
            blocks.append(markup_section(f":clipboard: {drafted}\n{_quote(reply.text)}"))
            blocks.append(
                ActionsBlock(
                    block_id=f"{ids.REPLIES_BLOCK}:{reply.id}",
                    elements=[_button(_(MARK_REPLIED), ids.MARK_REPLIED, str(reply.id))],
                )
            )
    return blocks


def reply_line(reply: Reply, words: ReplyWords, now: datetime, tz: ZoneInfo) -> str:
    quote = quoted(reply.text, QUOTE_LIMIT)
    network = words.network
    who = person(reply.requested_by)
    if reply.status in (PENDING, SENDING):
        if reply.channel == DM:
            # Translators: e.g. "Sending an X DM by @ana: “…”".
            sending = _(
                "Sending %(a_private_reply)s by %(who)s: %(quote)s",
                a_private_reply=words.a_private_reply,
                who=who,
                quote=quote,
            )
        else:
            sending = _("Sending a reply on %(network)s by %(who)s: %(quote)s", network=network, who=who, quote=quote)
        return f":outbox_tray: {sending}"
    when = clock(reply.sent_at, now, tz) if reply.sent_at else ""
    # Translators: a link to the reply on the network, e.g. "view on X".
    link = link_to(reply.url, _("view on %(network)s", network=network))
    suffix = f" · {link}" if link else ""
    if reply.channel == DM:
        private_name = f"{words.private_name[:1].upper()}{words.private_name[1:]}"
        # Translators: e.g. "*DM sent on X* by @ana at 10:15: “…”"; private_reply is what the network calls it.
        sent = _(
            "*%(private_reply)s sent on %(network)s* by %(who)s at %(time)s: %(quote)s",
            private_reply=private_name,
            network=network,
            who=who,
            time=when,
            quote=quote,
        )
        return f":envelope: {sent}{suffix}"
    if reply.channel == COPY:
        by_hand = _(
            "*Replied by hand* by %(who)s at %(time)s: %(quote)s",
            who=person(reply.sent_by or reply.requested_by),
            time=when,
            quote=quote,
        )
        return f":speech_balloon: {by_hand}"
    public = _(
        "*Replied publicly on %(network)s* by %(who)s at %(time)s: %(quote)s",
        network=network,
        who=who,
        time=when,
        quote=quote,
    )
    return f":speech_balloon: {public}{suffix}"


def _quote(text: str) -> str:
    """The draft as it will be sent, quoted line by line so it can be copied."""
    return "\n".join(f"> {line}" for line in safe_mrkdwn(text, 2500).splitlines() or [""])


def reply_log_words(action: str, detail: dict[str, Any], words: ReplyWords, who: str) -> str:
    """The thread-log line for a reply event, a sentence with `who` did it: what was said, with a link when there
    is one."""
    quote = quoted(str(detail.get("text", "")), QUOTE_LIMIT)
    link = link_to(detail.get("url"), _("view on %(network)s", network=words.network))
    suffix = f" · {link}" if link else ""
    if action == "replied":
        replied = _("%(who)s replied publicly on %(network)s: %(quote)s", who=who, network=words.network, quote=quote)
        return replied + suffix
    if action == "sent a DM":
        # Translators: e.g. "@ana sent an X DM: “…”".
        return _(
            "%(who)s sent %(a_private_reply)s: %(quote)s", who=who, a_private_reply=words.a_private_reply, quote=quote
        )
    if action == "reply drafted":
        return _("%(who)s drafted a reply to send by hand: %(quote)s", who=who, quote=quote)
    if action == "marked replied":
        return _("%(who)s marked the reply as sent by hand: %(quote)s", who=who, quote=quote)
    if action == "reply failed":
        error = safe_mrkdwn(str(detail.get("error", "")), 300)
        return _("%(who)s could not send a reply (%(error)s); the draft is kept", who=who, error=error)
    return f"{who} {action}"
