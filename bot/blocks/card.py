"""The complaint card: a pure function of the complaint's state and the current time.

The card is always rendered whole (never patched), so whichever render reaches Slack last shows the truth. The
buttons follow the state: what no longer applies is not offered. One row of actions: the primary ones as buttons,
the rest in a "More…" menu (bot/blocks/menu.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

from bot.assignment import BY_ROTATION
from bot.blocks import BlockDict, Message, as_dicts, context_line, customer_words, ids, markup_section, plain_text
from bot.blocks.menu import MenuItem, more_menu
from bot.blocks.moderation import ModerationView, moderation_blocks, moderation_menu_items
from bot.blocks.privacy import erased_line
from bot.blocks.replies import ReplyWords, reply_blocks
from bot.blocks.text import (
    BUTTON_TEXT_LIMIT,
    at_a_glance,
    complaints_command,
    link_to,
    person,
    quoted,
    safe_mrkdwn,
    safe_plain,
)
from bot.blocks.triage import personal_data_words, reason_words
from bot.blocks.when import clock, compact, in_words, span
from bot.i18n import N_, _, n_
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
    if complaint.erased_at is not None:
        # The author's name, handle and words were redacted (bot/privacy.py): the card says when and by whom.
        blocks: list[Block | BlockDict] = [markup_section(erased_line(complaint.erased_by, complaint.erased_at, tz))]
    else:
        blocks = [markup_section(who_and_where(complaint), verbatim=True)]
    flags = triage_lines(complaint)
    if flags:
        blocks.append(markup_section(flags))
    words = at_a_glance(complaint.text)
    if complaint.erased_at is None:
        blocks.append(customer_words(words.text))
    posted = [
        # Translators: when the customer posted it; pieces of this line are joined with " · ".
        _("Posted %(time)s", time=clock(complaint.posted_at, now, tz)),
        complaint_number(complaint.id),
    ]
    if words.cut:
        # Translators: the card shows part of a long post; the command shows all of it.
        posted.append(_("shortened here: the whole post with %(command)s", command=complaints_command(complaint.id)))
    if complaint.edited_at is not None:
        posted.append(
            _(
                "edited by the author %(time)s (earlier text in its history)",
                time=clock(complaint.edited_at, now, tz),
            )
        )
    if complaint.extra_posts:
        # Translators: the author's further posts in the same conversation, shown in the card's thread.
        posted.append(n_("*+%(count)s more* in the thread", "*+%(count)s more* in the thread", complaint.extra_posts))
    blocks.append(context_line(" · ".join(posted), verbatim=True))
    blocks.append(markup_section(_state_lines(view, now, tz)))
    blocks.extend(reply_blocks(view.replies, ReplyWords.of(complaint), now, tz))
    if view.moderation is not None:
        blocks.extend(moderation_blocks(complaint, view.moderation, now, tz))
    blocks.append({"block_id": ids.CARD_ACTIONS_BLOCK, "elements": _actions(view), "type": "actions"})
    return Message(text=fallback(complaint), blocks=as_dicts(blocks))


def complaint_number(complaint_id: int) -> str:
    """`Complaint #42`, as every message about a complaint names it."""
    return _("Complaint #%(id)s", id=complaint_id)


def button(
    text: str, action_id: str, value: str, style: str | None = None, confirm: dict[str, Any] | None = None
) -> BlockDict:
    """A button with Heard's own (translated) words, cut to Slack's 75 characters in any language."""
    element: BlockDict = {"action_id": action_id}
    if confirm is not None:
        element["confirm"] = confirm
    if style is not None:
        element["style"] = style
    element.update(text=plain_text(safe_plain(text, BUTTON_TEXT_LIMIT)), type="button", value=value)
    return element


def _actions(view: CardView) -> list[BlockDict]:
    """One row that reads at a glance: the primary buttons, then everything else in the "More…" menu."""
    ref = ids.ComplaintRef(view.complaint.id, view.complaint.revision)
    elements = _buttons(view, ref.encode())
    menu = more_menu(_menu_items(view), ref)
    if menu is not None:
        elements.append(menu)
    return elements


# The card's verbs, shared with the messages that carry the same buttons (nags, storm lines).
# Translators: a button: acknowledge the customer's complaint (reply that it was seen).
ACKNOWLEDGE = N_("Acknowledge")
# Translators: a button: take the complaint as one's own to handle.
CLAIM = N_("Claim")
# Translators: a button: give up ownership of a claimed complaint.
RELEASE = N_("Release")
# Translators: a button: hand the complaint to a department.
ESCALATE = N_("Escalate")
# Translators: a button: mark the complaint as dealt with.
RESOLVE = N_("Resolve")
# Translators: a button: open a resolved complaint again.
REOPEN = N_("Reopen")
# Translators: a button: plan a later check with the customer.
SCHEDULE_FOLLOW_UP = N_("Schedule follow-up")
# Translators: a button or menu choice: move the conversation to a private message with the customer.
TAKE_PRIVATE = N_("Take it private")
# Translators: a menu choice: give the complaint to another person.
REASSIGN = N_("Reassign")


def _buttons(view: CardView, ref: str) -> list[BlockDict]:
    """The primary actions: Acknowledge, Claim (Release once claimed), Escalate, Schedule follow-up, Resolve; on a
    resolved card Reopen, the quick follow-up and Schedule follow-up. Take it private joins them, first, when the
    post shows personal data: then it is the suggested step."""
    complaint = view.complaint

    def card_button(text: str, action_id: str, style: str | None = None) -> BlockDict:
        return button(text, action_id, ref, style)

    if complaint.status == Status.RESOLVED:
        buttons = [card_button(_(REOPEN), ids.REOPEN)]
        if view.next_follow_up is None and view.quick_follow_up is not None:
            # Translators: a button; the delay is a duration such as "3 days".
            follow_up = _("Follow up in %(delay)s", delay=in_words(view.quick_follow_up))
            buttons.append(card_button(follow_up, ids.QUICK_FOLLOW_UP, style="primary"))
        buttons.append(card_button(_(SCHEDULE_FOLLOW_UP), ids.SCHEDULE_FOLLOW_UP))
        return buttons
    buttons = []
    # Personal data posted in public: taking it private comes first (and is the suggested step).
    if complaint.personal_data:
        buttons.append(card_button(_(TAKE_PRIVATE), ids.TAKE_PRIVATE, style="primary"))
    if complaint.acknowledged_at is None:
        style = None if complaint.personal_data else "primary"
        buttons.append(card_button(_(ACKNOWLEDGE), ids.ACKNOWLEDGE, style=style))
    if complaint.owner_id is None:
        buttons.append(card_button(_(CLAIM), ids.CLAIM))
    else:
        buttons.append(card_button(_(RELEASE), ids.RELEASE))
    if view.can_escalate:
        buttons.append(card_button(_(ESCALATE), ids.ESCALATE))
    buttons.append(card_button(_(SCHEDULE_FOLLOW_UP), ids.SCHEDULE_FOLLOW_UP))
    buttons.append(card_button(_(RESOLVE), ids.RESOLVE))
    return buttons


def _menu_items(view: CardView) -> list[MenuItem]:
    """What is not a primary button: Reassign and Take it private while the complaint is open, then moderation
    (which also applies to resolved complaints). Platform actions join here as they come."""
    complaint = view.complaint
    items: list[MenuItem] = []
    if complaint.status != Status.RESOLVED:
        items.append(MenuItem(_(REASSIGN), ids.REASSIGN))
        if not complaint.personal_data:  # else it is a primary button already
            items.append(MenuItem(_(TAKE_PRIVATE), ids.TAKE_PRIVATE))
    if view.moderation is not None:
        items.extend(moderation_menu_items(complaint, view.moderation))
    return items


PERSONAL_DATA_ADVICE = N_("Personal data in a public post: take it to DM")


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
        count = complaint.author_followers
        details.append(n_("%(followers)s follower", "%(followers)s followers", count, followers=followers(count)))
    if complaint.lang and complaint.lang not in ("und", "zxx"):
        # Translators: the language the customer wrote in, as a code such as "fi".
        details.append(_("lang %(code)s", code=safe_mrkdwn(complaint.lang, 16)))
    source = source_label(complaint.platform, complaint.source)
    where = link_to(complaint.url, source, 64) or safe_mrkdwn(source, 64)
    if details:
        # Translators: the author, then facts about them such as "12.4k followers, lang fi", then the network.
        said = _("%(author)s (%(details)s) on %(network)s", author=who, details=", ".join(details), network=where)
    else:
        # Translators: the author of a post, then the network it was posted on (a link), e.g. "@maria on X".
        said = _("%(author)s on %(network)s", author=who, network=where)
    return f":speech_balloon: {said}"


def followers(count: int) -> str:
    """12400 -> "12.4k": a glance, not an audit (the exact figure is in the triage reason when it matters)."""
    return compact(count)


def triage_lines(complaint: Complaint) -> str:
    """Why the complaint needs care: priority, personal data posted in public, words that read as threats."""
    lines = []
    if complaint.priority == "high":
        reasons = " · ".join(
            safe_mrkdwn(reason_words(reason), REASON_LIMIT) for reason in complaint.triage_reasons or []
        )
        if reasons:
            # Translators: the reasons are triage's own words, e.g. "urgent: refund".
            lines.append(":red_circle: " + _("*High priority* — %(reasons)s", reasons=reasons))
        else:
            lines.append(":red_circle: " + _("*High priority*"))
    if complaint.personal_data:
        kinds = personal_data_words(complaint.personal_data)
        lines.append(f":lock: *{_(PERSONAL_DATA_ADVICE)}* ({kinds})")
    if complaint.threats:
        words = ", ".join(quoted(word, 60) for word in complaint.threats[:3])
        lines.append(
            ":rotating_light: "
            + _(
                "*Flagged for Legal*: reads as a threat (%(words)s). Illegal threats are reported to the police.",
                words=words,
            )
        )
    return "\n".join(lines)


def _state_lines(view: CardView, now: datetime, tz: ZoneInfo) -> str:
    complaint = view.complaint
    lines = [_acknowledgement_line(complaint, now, tz)]
    if complaint.removed_at is not None:
        network = safe_mrkdwn(source_label(complaint.platform, complaint.source), 64)
        removed = _(
            "The author removed it on %(network)s %(time)s; Heard keeps its record",
            network=network,
            time=clock(complaint.removed_at, now, tz),
        )
        lines.append(f":wastebasket: {removed}")
    if complaint.acknowledged_at is not None and complaint.status != Status.RESOLVED:
        lines.append(_resolution_line(complaint, now, tz))
    lines.append(_owner_line(complaint, now, tz))
    if complaint.status == Status.RESOLVED and complaint.resolved_at is not None:
        who, at = person(complaint.resolved_by), clock(complaint.resolved_at, now, tz)
        if complaint.resolution_note:
            note = safe_mrkdwn(complaint.resolution_note, REASON_LIMIT)
            # Translators: the note is what the person wrote when resolving.
            resolved = _("*Resolved* by %(who)s at %(time)s — %(note)s", who=who, time=at, note=note)
        else:
            resolved = _("*Resolved* by %(who)s at %(time)s", who=who, time=at)
        lines.append(f":white_check_mark: {resolved}")
    lines.extend(escalation_line(escalation) for escalation in list(view.escalations)[-ESCALATIONS_SHOWN:])
    if view.next_follow_up is not None:
        follow_up = view.next_follow_up
        planned = _(
            "Follow-up %(time)s with %(who)s", time=clock(follow_up.due_at, now, tz), who=person(follow_up.assignee)
        )
        lines.append(f":calendar: {planned}")
    return "\n".join(lines)


def escalation_line(escalation: Escalation) -> str:
    values = {
        "department": safe_mrkdwn(escalation.department_name, NAME_LIMIT),
        "who": person(escalation.requested_by),
        "reason": safe_mrkdwn(escalation.reason, REASON_LIMIT),
    }
    status = EscalationStatus(escalation.status)
    if status is EscalationStatus.AWAITING_APPROVAL:
        line = _("Escalated to *%(department)s* by %(who)s — %(reason)s _(waiting for a manager's approval)_", **values)
    elif status is EscalationStatus.DECLINED:
        line = _(
            "Escalated to *%(department)s* by %(who)s — %(reason)s _(declined by %(manager)s)_",
            manager=person(escalation.decided_by),
            **values,
        )
    elif status is EscalationStatus.ACCEPTED:
        # Translators: "who" asked for the escalation; "accepted_by" is the department's person who took it.
        line = _(
            "Escalated to *%(department)s* by %(who)s — %(reason)s · accepted by %(accepted_by)s",
            accepted_by=person(escalation.accepted_by),
            **values,
        )
    else:
        # Translators: a complaint handed to a department, by a person, for a reason they gave.
        line = _("Escalated to *%(department)s* by %(who)s — %(reason)s", **values)
    return f":arrow_up: {line}"


def _acknowledgement_line(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    if complaint.acknowledged_at is not None:
        taken = complaint.acknowledged_at - complaint.posted_at
        acknowledged = _(
            "Acknowledged by %(who)s at %(time)s (%(duration)s after posting)",
            who=person(complaint.acknowledged_by),
            time=clock(complaint.acknowledged_at, now, tz),
            duration=span(taken),
        )
        return f":white_check_mark: {acknowledged}"
    left = complaint.ack_deadline - now
    if left <= timedelta(0):
        # Translators: the deadline to acknowledge has passed by this duration, e.g. "12 mins".
        return ":rotating_light: " + _("*Overdue by %(duration)s* — acknowledge now", duration=span(-left))
    due = _(
        "Acknowledge by %(time)s — %(duration)s left", time=clock(complaint.ack_deadline, now, tz), duration=span(left)
    )
    return f":hourglass_flowing_sand: {due}"


def _resolution_line(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    left = complaint.resolve_deadline - now
    if left <= timedelta(0):
        return ":rotating_light: " + _("*Resolution overdue by %(duration)s*", duration=span(-left))
    due = _(
        "Resolve by %(time)s — %(duration)s left", time=clock(complaint.resolve_deadline, now, tz), duration=span(left)
    )
    return f":stopwatch: {due}"


def _owner_line(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    if complaint.owner_id is None:
        # Translators: nobody owns the complaint yet.
        return ":bust_in_silhouette: " + _("Unclaimed")
    owner = person(complaint.owner_id)
    if complaint.claimed_by == BY_ROTATION:
        return ":bust_in_silhouette: " + _("Assigned to %(who)s by rotation", who=owner)
    if complaint.claimed_at:
        since = clock(complaint.claimed_at, now, tz)
        return ":bust_in_silhouette: " + _("Owner: %(who)s since %(time)s", who=owner, time=since)
    return ":bust_in_silhouette: " + _("Owner: %(who)s", who=owner)


def fallback(complaint: Complaint) -> str:
    """The notification text: `Complaint #42 from @maria: …` (the customer's words escaped and cut)."""
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    excerpt = safe_mrkdwn(complaint.text, FALLBACK_EXCERPT)
    return _("Complaint #%(id)s from @%(handle)s: %(excerpt)s", id=complaint.id, handle=handle, excerpt=excerpt)
