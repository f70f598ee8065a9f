"""Data-subject requests in Block Kit: the erasure question a manager confirms, its button's value (read strictly),
the line an erased complaint shows where the customer's words were, and why a legal hold stops an erasure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, MarkdownTextObject, SectionBlock

from bot.blocks import Message
from bot.blocks.ids import BUTTON_VALUE_LIMIT, MAX_ID
from bot.blocks.text import mention, safe_mrkdwn
from bot.blocks.when import long_time
from bot.i18n import _, n_

# The button under the erasure question (value: an ErasureRequest).
CONFIRM_ERASE = "privacy_confirm_erase"
# Who erases under PERSONAL_DATA_RETENTION (bot/privacy.py), as the card names it.
RETENTION = "heard:retention"
NAME_LIMIT = 120
# A handle as `queries.author_key` leaves it: no spaces, no @, lower case.
_HANDLE = re.compile(r"[^\s@]{1,256}")


@dataclass(frozen=True)
class ErasureRequest:
    """What the manager was asked about: the author (as `queries.author_key` reads a handle) and the newest
    complaint counted, so a complaint arriving after the question is not erased unseen. It comes back from Slack
    untrusted; decoding checks every part."""

    author: str
    up_to: int

    def encode(self) -> str:
        value = json.dumps([self.author, self.up_to], ensure_ascii=False, separators=(",", ":"))
        if len(value) > BUTTON_VALUE_LIMIT:
            raise ValueError("an erasure request does not fit in a button")
        return value

    @classmethod
    def decode(cls, value: object) -> ErasureRequest:
        try:
            author, up_to = json.loads(str(value))
        except (ValueError, TypeError, RecursionError) as exc:
            raise ValueError("not an erasure request") from exc
        if not (isinstance(author, str) and _HANDLE.fullmatch(author) and author == author.lower()):
            raise ValueError("not an erasure request")
        if type(up_to) is not int or not 1 <= up_to <= MAX_ID:
            raise ValueError("not an erasure request")
        return cls(author, up_to)


def erase_question(author: str, count: int, request: ErasureRequest) -> Message:
    """Asked privately of the manager who typed `/complaints erase @handle`."""
    handle = safe_mrkdwn(author, NAME_LIMIT)
    question = n_(
        "Erase the personal data of *@%(handle)s*? %(count)s complaint will be redacted: the words, names, handles "
        "and the post as the network sent it, in Heard and on its card. Its timeline and audit trail stay. This "
        "cannot be undone.",
        "Erase the personal data of *@%(handle)s*? %(count)s complaints will be redacted: the words, names, handles "
        "and the posts as the network sent them, in Heard and on their cards. Their timelines and audit trails "
        "stay. This cannot be undone.",
        count,
        handle=handle,
    )
    button = ButtonElement(
        text=n_("Erase %(count)s complaint", "Erase %(count)s complaints", count),
        action_id=CONFIRM_ERASE,
        value=request.encode(),
        style="danger",
    )
    blocks = [SectionBlock(text=MarkdownTextObject(text=question)), ActionsBlock(elements=[button])]
    return Message(text=question.replace("*", ""), blocks=[block.to_dict() for block in blocks])


def erased_line(erased_by: str | None, erased_at: datetime, tz: ZoneInfo) -> str:
    """Where an erased complaint's author and words were (card, thread lines, lookups): when, and by whom."""
    when = long_time(erased_at, tz)
    if erased_by == RETENTION:
        # Translators: on a card whose customer's words and name were removed; %(date)s is e.g. "Fri 4 Dec, 10:05".
        return _(":wastebasket: Personal data erased on %(date)s under the retention policy", date=when)
    # Translators: on a card whose customer's words and name were removed by a manager.
    return _(":wastebasket: Personal data erased on %(date)s by %(manager)s", date=when, manager=mention(erased_by))


def held_line(complaint_id: int, reason: str) -> str:
    """One complaint on legal hold, and why (`reason` is Heard's own words from `hold_reason`)."""
    # Translators: one line of the list of complaints on legal hold; %(reason)s says why.
    return _("#%(id)s: %(reason)s", id=complaint_id, reason=reason)
