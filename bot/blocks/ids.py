"""Every action_id, block_id and callback_id Heard puts into Slack, and how values name what they act on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Card buttons
ACKNOWLEDGE = "acknowledge"
CLAIM = "claim"
RELEASE = "release"
REASSIGN = "reassign"
ESCALATE = "escalate"
SCHEDULE_FOLLOW_UP = "schedule_follow_up"
QUICK_FOLLOW_UP = "quick_follow_up"
RESOLVE = "resolve"
REOPEN = "reopen"
CARD_ACTIONS_BLOCK = "card_actions"
# The card's "More…" menu (a static_select beside the primary buttons; value of each option: a MenuChoice)
CARD_MORE = "card_more"

# Buttons on escalation notices, approval requests and follow-up DMs (value: the escalation / follow-up id)
ACCEPT_ESCALATION = "accept_escalation"
APPROVE_ESCALATION = "approve_escalation"
DECLINE_ESCALATION = "decline_escalation"
FOLLOW_UP_DONE = "follow_up_done"
FOLLOW_UP_SNOOZE = "follow_up_snooze"
# On resolution-window nags (value: a complaint reference)
SNOOZE_RESOLUTION = "snooze_resolution"

# The "More" button under a paged `/complaints` answer (value: a LookupPage)
LOOKUP_MORE = "lookup_more"

# Modals (callback_id) and their inputs (block_id; the element's action_id is the same string)
ESCALATE_VIEW = "escalate_view"
FOLLOW_UP_VIEW = "follow_up_view"
RESOLVE_VIEW = "resolve_view"
REASSIGN_VIEW = "reassign_view"
DEPARTMENT_INPUT = "department"
REASON_INPUT = "reason"
SEVERITY_INPUT = "severity"
DATE_INPUT = "date"
TIME_INPUT = "time"
NOTE_INPUT = "note"
ASSIGNEE_INPUT = "assignee"


# A value comes back from Slack untrusted (anyone can forge a click), and a number longer than a database integer
# fails the query (OverflowError on SQLite, "bigint out of range" on PostgreSQL): ids and revisions are read as at
# most 18 digits, without leading zeros or signs, so every value Heard accepts is one it could have written.
_ID = r"[1-9][0-9]{0,17}"
MAX_ID = 10**18 - 1
_REVISION = r"[0-9]{1,18}"
_COMPLAINT_REF = re.compile(rf"({_ID})\.({_REVISION})")
_RECORD_ID = re.compile(_ID)


@dataclass(frozen=True)
class ComplaintRef:
    """A button's value or a modal's private_metadata: the complaint and the revision the card showed.

    Decoding is strict: the whole value must be ``<id>.<revision>``. A value without its revision (a bare ``42``) is
    refused like any other unreadable value, so nothing acts on a reference Heard did not write."""

    complaint_id: int
    revision: int

    def encode(self) -> str:
        return f"{self.complaint_id}.{self.revision}"

    @classmethod
    def decode(cls, value: object) -> ComplaintRef:
        match = _COMPLAINT_REF.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"not a complaint reference: {_shown(value)}")
        return cls(int(match.group(1)), int(match.group(2)))


def record_id(value: object) -> int:
    """A button's value naming a record (an escalation, a follow-up, a reply): its id, read as strictly."""
    if not (isinstance(value, str) and _RECORD_ID.fullmatch(value)):
        raise ValueError(f"not a record id: {_shown(value)}")
    return int(value)


def _shown(value: object) -> str:
    return repr(value[:100]) if isinstance(value, str) else type(value).__name__


# Slack takes at most 150 characters in an option's value.
OPTION_VALUE_LIMIT = 150
_MENU_CHOICE = re.compile(rf"([a-z][a-z_]{{0,63}}):({_ID})\.({_REVISION})")


@dataclass(frozen=True)
class MenuChoice:
    """An option of the card's "More…" menu: the action it stands for (the action_id the button had before the menu)
    and the complaint reference, e.g. ``moderate_hide:42.7``.

    It comes back from Slack untrusted (anyone can forge a click), so decoding is strict: the whole value must have
    this shape, with the revision (a bare ``42`` is refused, unlike a button's value). Whether Heard offers that
    action at all is the handler's to decide."""

    action_id: str
    ref: ComplaintRef

    def encode(self) -> str:
        value = f"{self.action_id}:{self.ref.encode()}"
        if not _MENU_CHOICE.fullmatch(value) or len(value) > OPTION_VALUE_LIMIT:
            raise ValueError(f"not a menu choice: {value!r}")
        return value

    @classmethod
    def decode(cls, value: object) -> MenuChoice:
        match = _MENU_CHOICE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"not a menu choice: {_shown(value)}")
        action_id, complaint_id, revision = match.groups()
        return cls(action_id, ComplaintRef(int(complaint_id), int(revision)))


# Slack takes at most 2000 characters in a button's value.
BUTTON_VALUE_LIMIT = 2000
# Further than any list Heard shows, and well inside every database's OFFSET.
MAX_LOOKUP_OFFSET = 10**9


@dataclass(frozen=True)
class LookupPage:
    """The "More" button's value: which lookup, what was typed after it, and where the next page starts.
    It comes back from Slack untrusted (anyone can send a forged click), so decoding checks every part."""

    subcommand: str
    args: str
    offset: int

    def encode(self) -> str:
        value = json.dumps([self.subcommand, self.args, self.offset], ensure_ascii=False, separators=(",", ":"))
        if len(value) > BUTTON_VALUE_LIMIT:
            raise ValueError(f"a lookup page value of {len(value)} characters does not fit in a button")
        return value

    @classmethod
    def decode(cls, value: str) -> LookupPage:
        try:
            subcommand, args, offset = json.loads(value)
        except (ValueError, TypeError, RecursionError) as exc:
            raise ValueError(f"not a lookup page: {_shown(value)}") from exc
        if not (isinstance(subcommand, str) and isinstance(args, str) and type(offset) is int):
            raise ValueError(f"not a lookup page: {_shown(value)}")
        if not 0 <= offset <= MAX_LOOKUP_OFFSET:
            raise ValueError(f"not a lookup page: {_shown(value)}")
        return cls(subcommand, args, offset)


# Moderation: choices in the card's "More…" menu (and the buttons of cards drawn before it, whose value is a complaint
# reference), its modals and their inputs. Flag threat and Block ask first, in a small modal of their own.
HIDE = "moderate_hide"
UNHIDE = "moderate_unhide"
FLAG_THREAT = "moderate_flag_threat"
WARN_AUTHOR = "moderate_warn"
BLOCK_AUTHOR = "moderate_block"
KEEP_EVIDENCE = "moderate_keep_evidence"
WRITE_UP = "moderate_write_up"
HIDE_VIEW = "hide_view"
WRITE_UP_VIEW = "write_up_view"
CONFIRM_FLAG_THREAT_VIEW = "confirm_flag_threat_view"
CONFIRM_BLOCK_VIEW = "confirm_block_view"
HIDE_REASON_INPUT = "hide_reason"
WHAT_HAPPENED_INPUT = "what_happened"
WHAT_WE_LEARNED_INPUT = "what_we_learned"

# Replies to the customer. "Acknowledge" (ACKNOWLEDGE above) opens the reply modal; "Take it private" opens it with
# the invitation to talk privately. Retry / Edit / Mark replied carry a reply id as their value.
TAKE_PRIVATE = "take_private"
RETRY_REPLY = "retry_reply"
EDIT_REPLY = "edit_reply"
MARK_REPLIED = "mark_replied"
REPLY_VIEW = "reply_view"
REPLY_TEXT_INPUT = "reply_text"
REPLY_HOW_INPUT = "reply_how"
REPLIES_BLOCK = "reply_actions"
