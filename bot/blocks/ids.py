"""Every action_id, block_id and callback_id Heard puts into Slack, and how values name what they act on."""

from __future__ import annotations

import json
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


@dataclass(frozen=True)
class ComplaintRef:
    """A button's value or a modal's private_metadata: the complaint and the revision the card showed."""

    complaint_id: int
    revision: int

    def encode(self) -> str:
        return f"{self.complaint_id}.{self.revision}"

    @classmethod
    def decode(cls, value: str) -> ComplaintRef:
        complaint_id, _, revision = value.partition(".")
        try:
            return cls(int(complaint_id), int(revision or 0))
        except ValueError as exc:
            raise ValueError(f"not a complaint reference: {value!r}") from exc


# Slack takes at most 2000 characters in a button's value.
BUTTON_VALUE_LIMIT = 2000


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
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a lookup page: {value[:100]!r}") from exc
        if not (isinstance(subcommand, str) and isinstance(args, str) and type(offset) is int and offset >= 0):
            raise ValueError(f"not a lookup page: {value[:100]!r}")
        return cls(subcommand, args, offset)


# Moderation: the card's second row of buttons (value: a complaint reference), its modals and their inputs
HIDE = "moderate_hide"
FLAG_THREAT = "moderate_flag_threat"
WARN_AUTHOR = "moderate_warn"
BLOCK_AUTHOR = "moderate_block"
KEEP_EVIDENCE = "moderate_keep_evidence"
WRITE_UP = "moderate_write_up"
MODERATION_ACTIONS_BLOCK = "moderation_actions"
HIDE_VIEW = "hide_view"
WRITE_UP_VIEW = "write_up_view"
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
