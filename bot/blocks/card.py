"""The complaint card: a pure function of the complaint's state and the current time.

The card is always rendered whole (never patched), so whichever render reaches Slack last shows the truth. The
buttons follow the state: what no longer applies is not offered. One row of actions: the primary ones as buttons,
the rest in a "More…" menu (bot/blocks/menu.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot.assignment import BY_ROTATION
from bot.blocks import Message, context_line, customer_words, ids
from bot.blocks.menu import MenuItem, more_menu
from bot.blocks.moderation import ModerationView, moderation_blocks, moderation_menu_items
from bot.blocks.replies import ReplyWords, reply_blocks
from bot.blocks.text import at_a_glance, link_to, safe_mrkdwn
from bot.blocks.when import clock, in_words, span
from bot.lifecycle import EscalationStatus, Status
from bot.platforms import source_label
from storage.models import Complaint, Escalation, FollowUp, Reply

SECTION_TEXT_LIMIT = 3000
FALLBACK_EXCERPT = 150
NAME_LIMIT = 120
REASON_LIMIT = 300
# The newest escalations shown on the card; the audit trail and /complaints <id> keep them all.
ESCALATIONS_SHOWN = 5


@dataclass(frozen=True)
class CardView:
    """Everything the card shows: the complaint and what hangs off it."""

    complaint: Complaint
    escalations: Sequence[Escalation] = ()
    next_follow_up: FollowUp | None = None
    can_escalate: bool = True
    quick_follow_up: timedelta | None = field(default=None)
    # What was said to the customer (and drafts or failures that need a person), oldest first.
    replies: Sequence[Reply] = ()
    # The author's strikes and block, the write-up (bot/blocks/moderation.py); None: no moderation row.
    moderation: ModerationView | None = None


def render_card(view: CardView, now: datetime, tz: ZoneInfo) -> Message:
    complaint = view.complaint
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=who_and_where(complaint), verbatim=True))]
    flags = triage_lines(complaint)
    if flags:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=flags)))
    words = at_a_glance(complaint.text)
    blocks.append(customer_words(words.text))
    posted = f"Posted {clock(complaint.posted_at, now, tz)} · Complaint #{complaint.id}"
    if words.cut:
        posted += f" · shortened here: the whole post with `/complaints {complaint.id}`"
    if complaint.edited_at is not None:
        posted += f" · edited by the author {clock(complaint.edited_at, now, tz)} (earlier text in its history)"
    if complaint.extra_posts:
        posted += f" · *+{complaint.extra_posts} more* in the thread"
    blocks.append(context_line(posted, verbatim=True))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=_state_lines(view, now, tz))))
    blocks.extend(reply_blocks(view.replies, ReplyWords.of(complaint), now, tz))
    if view.moderation is not None:
        blocks.extend(moderation_blocks(complaint, view.moderation, now, tz))
    blocks.append(ActionsBlock(block_id=ids.CARD_ACTIONS_BLOCK, elements=_actions(view)))
    return Message(text=fallback(complaint), blocks=[block.to_dict() for block in blocks])


def _actions(view: CardView) -> list[ButtonElement | StaticSelectElement]:
    """One row that reads at a glance: the primary buttons, then everything else in the "More…" menu."""
    ref = ids.ComplaintRef(view.complaint.id, view.complaint.revision)
    elements: list[ButtonElement | StaticSelectElement] = _buttons(view, ref.encode())
    menu = more_menu(_menu_items(view), ref)
    if menu is not None:
        elements.append(menu)
    return elements


def _buttons(view: CardView, ref: str) -> list[ButtonElement]:
    """The primary actions: Acknowledge, Claim (Release once claimed), Escalate, Schedule follow-up, Resolve; on a
    resolved card Reopen, the quick follow-up and Schedule follow-up. Take it private joins them, first, when the
    post shows personal data: then it is the suggested step."""
    complaint = view.complaint

    def button(text: str, action_id: str, style: str | None = None) -> ButtonElement:
        return ButtonElement(text=text, action_id=action_id, value=ref, style=style)

    if complaint.status == Status.RESOLVED:
        buttons = [button("Reopen", ids.REOPEN)]
        if view.next_follow_up is None and view.quick_follow_up is not None:
            buttons.append(
                button(f"Follow up in {in_words(view.quick_follow_up)}", ids.QUICK_FOLLOW_UP, style="primary")
            )
        buttons.append(button("Schedule follow-up", ids.SCHEDULE_FOLLOW_UP))
        return buttons
    buttons = []
    # Personal data posted in public: taking it private comes first (and is the suggested step).
    if complaint.personal_data:
        buttons.append(button("Take it private", ids.TAKE_PRIVATE, style="primary"))
    if complaint.acknowledged_at is None:
        buttons.append(button("Acknowledge", ids.ACKNOWLEDGE, style=None if complaint.personal_data else "primary"))
    buttons.append(button("Claim", ids.CLAIM) if complaint.owner_id is None else button("Release", ids.RELEASE))
    if view.can_escalate:
        buttons.append(button("Escalate", ids.ESCALATE))
    buttons.append(button("Schedule follow-up", ids.SCHEDULE_FOLLOW_UP))
    buttons.append(button("Resolve", ids.RESOLVE))
    return buttons


def _menu_items(view: CardView) -> list[MenuItem]:
    """What is not a primary button: Reassign and Take it private while the complaint is open, then moderation
    (which also applies to resolved complaints). Platform actions join here as they come."""
    complaint = view.complaint
    items: list[MenuItem] = []
    if complaint.status != Status.RESOLVED:
        items.append(MenuItem("Reassign", ids.REASSIGN))
        if not complaint.personal_data:  # else it is a primary button already
            items.append(MenuItem("Take it private", ids.TAKE_PRIVATE))
    if view.moderation is not None:
        items.extend(moderation_menu_items(complaint, view.moderation))
    return items


PERSONAL_DATA_ADVICE = "Personal data in a public post: take it to DM"


def who_and_where(complaint: Complaint) -> str:
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    name = safe_mrkdwn(complaint.author_name, NAME_LIMIT) if complaint.author_name else None
    who = f"*{name}* @{handle}" if name else f"*@{handle}*"
    if name and handle == name:
        who = f"*{name}*"  # a network without handles (Facebook): the name is all there is
    if complaint.author_verified:
        who += " :ballot_box_with_check:"
    details = []
    if complaint.author_followers is not None:
        details.append(f"{followers(complaint.author_followers)} followers")
    if complaint.lang and complaint.lang not in ("und", "zxx"):
        details.append(f"lang {safe_mrkdwn(complaint.lang, 16)}")
    source = source_label(complaint.platform, complaint.source)
    where = link_to(complaint.url, source, 64) or safe_mrkdwn(source, 64)
    extra = f" ({', '.join(details)})" if details else ""
    return f":speech_balloon: {who}{extra} on {where}"


def followers(count: int) -> str:
    """12400 -> "12.4k": a glance, not an audit (the exact figure is in the triage reason when it matters)."""
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if count >= size:
            return f"{count / size:.1f}".rstrip("0").rstrip(".") + unit
    return str(count)


def triage_lines(complaint: Complaint) -> str:
    """Why the complaint needs care: priority, personal data posted in public, words that read as threats."""
    lines = []
    if complaint.priority == "high":
        reasons = " · ".join(safe_mrkdwn(reason, REASON_LIMIT) for reason in complaint.triage_reasons or [])
        lines.append(":red_circle: *High priority*" + (f" — {reasons}" if reasons else ""))
    if complaint.personal_data:
        lines.append(f":lock: *{PERSONAL_DATA_ADVICE}* ({', '.join(complaint.personal_data)})")
    if complaint.threats:
        words = ", ".join(f"“{safe_mrkdwn(word, 60)}”" for word in complaint.threats[:3])
        lines.append(
            f":rotating_light: *Flagged for Legal*: reads as a threat ({words}). Illegal threats are reported to "
            "the police."
        )
    return "\n".join(lines)


def _state_lines(view: CardView, now: datetime, tz: ZoneInfo) -> str:
    complaint = view.complaint
    lines = [_acknowledgement_line(complaint, now, tz)]
    if complaint.removed_at is not None:
        network = safe_mrkdwn(source_label(complaint.platform, complaint.source), 64)
        lines.append(
            f":wastebasket: The author removed it on {network} {clock(complaint.removed_at, now, tz)}; "
            "Heard keeps its record"
        )
    if complaint.acknowledged_at is not None and complaint.status != Status.RESOLVED:
        lines.append(_resolution_line(complaint, now, tz))
    lines.append(_owner_line(complaint, now, tz))
    if complaint.status == Status.RESOLVED and complaint.resolved_at is not None:
        note = f" — {safe_mrkdwn(complaint.resolution_note, REASON_LIMIT)}" if complaint.resolution_note else ""
        lines.append(
            f":white_check_mark: *Resolved* by <@{complaint.resolved_by}> at "
            f"{clock(complaint.resolved_at, now, tz)}{note}"
        )
    lines.extend(escalation_line(escalation) for escalation in list(view.escalations)[-ESCALATIONS_SHOWN:])
    if view.next_follow_up is not None:
        follow_up = view.next_follow_up
        lines.append(f":calendar: Follow-up {clock(follow_up.due_at, now, tz)} with <@{follow_up.assignee}>")
    return "\n".join(lines)


def escalation_line(escalation: Escalation) -> str:
    reason = safe_mrkdwn(escalation.reason, REASON_LIMIT)
    department = safe_mrkdwn(escalation.department_name, NAME_LIMIT)
    base = f":arrow_up: Escalated to *{department}* by <@{escalation.requested_by}> — {reason}"
    status = EscalationStatus(escalation.status)
    if status is EscalationStatus.AWAITING_APPROVAL:
        return f"{base} _(waiting for a manager's approval)_"
    if status is EscalationStatus.DECLINED:
        return f"{base} _(declined by <@{escalation.decided_by}>)_"
    if status is EscalationStatus.ACCEPTED:
        return f"{base} · accepted by <@{escalation.accepted_by}>"
    return base


def _acknowledgement_line(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    if complaint.acknowledged_at is not None:
        taken = complaint.acknowledged_at - complaint.posted_at
        return (
            f":white_check_mark: Acknowledged by <@{complaint.acknowledged_by}> "
            f"at {clock(complaint.acknowledged_at, now, tz)} ({span(taken)} after posting)"
        )
    left = complaint.ack_deadline - now
    if left <= timedelta(0):
        return f":rotating_light: *Overdue by {span(-left)}* — acknowledge now"
    return f":hourglass_flowing_sand: Acknowledge by {clock(complaint.ack_deadline, now, tz)} — {span(left)} left"


def _resolution_line(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    left = complaint.resolve_deadline - now
    if left <= timedelta(0):
        return f":rotating_light: *Resolution overdue by {span(-left)}*"
    return f":stopwatch: Resolve by {clock(complaint.resolve_deadline, now, tz)} — {span(left)} left"


def _owner_line(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    if complaint.owner_id is None:
        return ":bust_in_silhouette: Unclaimed"
    if complaint.claimed_by == BY_ROTATION:
        return f":bust_in_silhouette: Assigned to <@{complaint.owner_id}> by rotation"
    since = f" since {clock(complaint.claimed_at, now, tz)}" if complaint.claimed_at else ""
    return f":bust_in_silhouette: Owner: <@{complaint.owner_id}>{since}"


def fallback(complaint: Complaint) -> str:
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    excerpt = safe_mrkdwn(complaint.text, FALLBACK_EXCERPT)
    return f"Complaint #{complaint.id} from @{handle}: {excerpt}"
