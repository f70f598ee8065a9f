"""Messages around a card: escalation notices, approval requests, follow-up DMs, the card's thread log, and
moderation's notice to Legal about a threat and the warning drafted for an author."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

from bot.blocks import Message, context_line, customer_words, ids
from bot.blocks.card import SECTION_TEXT_LIMIT, escalation_line, fallback, who_and_where
from bot.blocks.moderation import MODERATION_ACTIONS, POLICE_LINE, moderation_log_words, strikes_words
from bot.blocks.replies import ReplyWords, reply_log_words
from bot.blocks.text import at_a_glance, link_to, mention, safe_mrkdwn
from bot.blocks.when import clock
from bot.lifecycle import Action, EscalationStatus, FollowUpStatus
from storage.models import AuditEvent, Complaint, ComplaintPost, Escalation, FollowUp

# Reply events say in the thread what was said to the customer, with a link.
REPLY_ACTIONS = {
    Action.REPLY.value,
    Action.SEND_DM.value,
    Action.DRAFT_REPLY.value,
    Action.MARK_REPLIED.value,
    Action.REPLY_FAILED.value,
}

EXCERPT = 500
# Lines of a complaint's words in a message about it (the card shows more; `/complaints <id>` all of it).
EXCERPT_LINES = 6


def complaint_summary(complaint: Complaint, excerpt: int = EXCERPT) -> list[Block]:
    """Who, what (at most `excerpt` columns of it, as plain text) and a link back to the card: the head of every
    message about a complaint."""
    card = link_to(complaint.slack_permalink, "Open the card")
    link = f" · {card}" if card else ""
    return [
        SectionBlock(text=MarkdownTextObject(text=who_and_where(complaint), verbatim=True)),
        customer_words(at_a_glance(complaint.text, columns=excerpt, lines=EXCERPT_LINES).text),
        context_line(f"Complaint #{complaint.id}{link}"),
    ]


def _button(text: str, action_id: str, value: int, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=text, action_id=action_id, value=str(value), style=style)


def escalation_notice(
    complaint: Complaint, escalation: Escalation, mentions: str, now: datetime, tz: ZoneInfo
) -> Message:
    """To the department's contacts: what was escalated, why, and an Accept button until someone accepts."""
    severity = escalation.severity.capitalize()
    headline = f":arrow_up: *{severity}* escalation to *{safe_mrkdwn(escalation.department_name, 120)}*"
    if mentions:
        headline += f" for {mentions}"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=headline)),
        SectionBlock(text=MarkdownTextObject(text=escalation_line(escalation))),
        *complaint_summary(complaint),
    ]
    if EscalationStatus(escalation.status) is EscalationStatus.OPEN:
        blocks.append(ActionsBlock(elements=[_button("Accept", ids.ACCEPT_ESCALATION, escalation.id, "primary")]))
    elif escalation.accepted_at is not None:
        blocks.append(
            context_line(f"Accepted by <@{escalation.accepted_by}> at {clock(escalation.accepted_at, now, tz)}")
        )
    text = f"{severity} escalation to {safe_mrkdwn(escalation.department_name, 120)}: {fallback(complaint)}"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def approval_request(complaint: Complaint, escalation: Escalation, now: datetime, tz: ZoneInfo) -> Message:
    """To the managers: approve or decline an escalation to a department that needs approval."""
    department = safe_mrkdwn(escalation.department_name, 120)
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":raised_hand: <@{escalation.requested_by}> asks to escalate to *{department}* "
                f"({escalation.severity}); this needs a manager's approval."
            )
        ),
        SectionBlock(text=MarkdownTextObject(text=escalation_line(escalation))),
        *complaint_summary(complaint),
    ]
    status = EscalationStatus(escalation.status)
    if status is EscalationStatus.AWAITING_APPROVAL:
        blocks.append(
            ActionsBlock(
                elements=[
                    _button("Approve", ids.APPROVE_ESCALATION, escalation.id, "primary"),
                    _button("Decline", ids.DECLINE_ESCALATION, escalation.id, "danger"),
                ]
            )
        )
    elif escalation.decided_at is not None:
        word = "Declined" if status is EscalationStatus.DECLINED else "Approved"
        blocks.append(context_line(f"{word} by <@{escalation.decided_by}> at {clock(escalation.decided_at, now, tz)}"))
    text = f"Approval needed: escalate complaint #{complaint.id} to {department}"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def follow_up_reminder(complaint: Complaint, follow_up: FollowUp, now: datetime, tz: ZoneInfo) -> Message:
    """The DM at follow-up time, with Done / Snooze 1 day until it is done."""
    note = safe_mrkdwn(follow_up.note, 1000) if follow_up.note else "_(no note)_"
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":calendar: *Follow-up due* — scheduled by <@{follow_up.scheduled_by}>\n*Note:* {note}"
            )
        ),
        *complaint_summary(complaint),
    ]
    status = FollowUpStatus(follow_up.status)
    if status is FollowUpStatus.SENT:
        blocks.append(
            ActionsBlock(
                elements=[
                    _button("Done", ids.FOLLOW_UP_DONE, follow_up.id, "primary"),
                    _button("Snooze 1 day", ids.FOLLOW_UP_SNOOZE, follow_up.id),
                ]
            )
        )
    elif status is FollowUpStatus.DONE and follow_up.done_at is not None:
        done = f":white_check_mark: Done by <@{follow_up.done_by}> at {clock(follow_up.done_at, now, tz)}"
        blocks.append(context_line(done))
    elif status is FollowUpStatus.SCHEDULED:
        snoozed = f":zzz: Snoozed until {clock(follow_up.due_at, now, tz)}"
        blocks.append(context_line(snoozed))
    text = f"Follow-up due for complaint #{complaint.id}: {fallback(complaint)}"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


_LOG_WORDS = {
    Action.CLAIM.value: "claimed it",
    Action.RELEASE.value: "released it",
    Action.ACKNOWLEDGE.value: "acknowledged it",
    Action.ESCALATE.value: "escalated it",
    Action.APPROVE_ESCALATION.value: "approved the escalation",
    Action.DECLINE_ESCALATION.value: "declined the escalation",
    Action.ACCEPT_ESCALATION.value: "accepted the escalation",
    Action.SCHEDULE_FOLLOW_UP.value: "scheduled a follow-up",
    Action.SEND_FOLLOW_UP.value: "follow-up reminder sent",
    Action.FINISH_FOLLOW_UP.value: "finished the follow-up",
    Action.SNOOZE_FOLLOW_UP.value: "snoozed the follow-up",
    Action.RESOLVE.value: "resolved it",
    Action.REOPEN.value: "reopened it",
    Action.NAG.value: "sent a reminder",
    Action.BREACH.value: ":rotating_light: the deadline passed; managers were told",
    Action.REMIND.value: ":rotating_light: still overdue; managers were reminded",
    Action.SNOOZE_RESOLUTION.value: "snoozed the resolution reminders",
    Action.EDITED_BY_AUTHOR.value: "the author edited the post; the card shows the new text, the earlier one is kept",
    Action.REMOVED_BY_AUTHOR.value: "the author removed the post; Heard keeps its record",
}
# Changes made by the author, told without naming who clicked (nobody in Slack did).
_AUTHOR_ACTIONS = {Action.EDITED_BY_AUTHOR.value, Action.REMOVED_BY_AUTHOR.value}


def thread_log_line(
    event: AuditEvent, complaint: Complaint, now: datetime, tz: ZoneInfo, listed_with: int | None = None
) -> Message:
    """One short line in the card's thread: who, what, when (`listed_with`: a nag posted in a list with others)."""
    what = _LOG_WORDS.get(event.action, event.action)
    detail = event.detail or {}
    if listed_with:
        others = "complaint" if listed_with == 1 else "complaints"
        what = f"{what} (listed with {listed_with} other {others})"
    elif event.action in REPLY_ACTIONS:
        what = reply_log_words(event.action, detail, ReplyWords.of(complaint))
    elif event.action == Action.EDITED_BY_AUTHOR.value and detail.get("before") is not None:
        # The card shows the new text; the thread keeps the earlier one where people read the history.
        what = f"{what}. Earlier it said: “{safe_mrkdwn(str(detail['before']), EXCERPT)}”"
    elif event.action in MODERATION_ACTIONS:
        what = moderation_log_words(event)
    elif event.action == Action.REASSIGN.value:
        what = f"reassigned it to <@{detail.get('to')}>"
    elif "department" in detail:
        what = f"{what} ({safe_mrkdwn(str(detail['department']), 120)})"
    if event.action in _AUTHOR_ACTIONS:
        text = f"{what[0].upper()}{what[1:]} · {clock(event.at, now, tz)}"
    else:
        who = "Heard" if event.actor == "scheduler" else mention(event.actor)
        text = f"{who} {what} · {clock(event.at, now, tz)}"
    return Message(text=text, blocks=[context_line(text).to_dict()])


def joined_post_message(complaint: Complaint, post: ComplaintPost, now: datetime, tz: ZoneInfo) -> Message:
    """In the card's thread: the author wrote again in the same conversation. The owner is mentioned, so the
    person handling the complaint hears about it."""
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), 120)
    link = link_to(post.url, "the post")
    heads_up = f" <@{complaint.owner_id}>" if complaint.owner_id else ""
    headline = f":speech_balloon:{heads_up} *@{handle}* wrote again {clock(post.posted_at, now, tz)}"
    words = at_a_glance(post.text)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=headline + (f" · {link}" if link else ""))),
        customer_words(words.text),
    ]
    if words.cut:
        blocks.append(context_line(f"Shortened here: the whole post with `/complaints {complaint.id}`"))
    text = f"@{handle} wrote again: {safe_mrkdwn(post.text, EXCERPT)}"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


# -- moderation -----------------------------------------------------------------------------------------------------

POSTS_IN_NOTICE = 5


def warning_message(complaint: Complaint, strikes: int, threshold: int, draft: str, has_policy: bool) -> Message:
    """To the agent who warned: the strike recorded and the warning to send the author (`draft`, plain text)."""
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), 120)
    head = f"*{strikes_words(strikes)}* recorded for *@{handle}* (Block is suggested at {threshold})."
    lines = [
        head,
        "A warning to send them as a reply — copy it, edit it if you like:",
        f"```{safe_mrkdwn(draft, 2500)}```",
    ]
    if not has_policy:
        lines.append("_Set COMMUNITY_POLICY_URL so warnings link to the policy._")
    text = "\n".join(lines)
    return Message(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text)).to_dict()])


def _long_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z")


def threat_notice(complaint: Complaint, posts: list[ComplaintPost], mentions: str, tz: ZoneInfo) -> Message:
    """To Legal: the evidence (who, the whole text, when, the link) and the way back to the card."""
    by = f"<@{complaint.threat_flagged_by}>"
    headline = f":rotating_light: *Threat flagged for Legal* by {by}"
    if mentions:
        headline += f" ({mentions})"
    headline += f". {POLICE_LINE}"
    where = [f"Posted {_long_time(complaint.posted_at, tz)}"]
    if link := link_to(complaint.url, "the post"):
        where.append(link)
    if card := link_to(complaint.slack_permalink, "Open the card"):
        where.append(card)
    where.append(f"Complaint #{complaint.id}")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=headline)),
        SectionBlock(text=MarkdownTextObject(text=who_and_where(complaint), verbatim=True)),
        # Legal reads the words as written: as much as a section holds (the evidence file keeps all of it).
        customer_words(at_a_glance(complaint.text, columns=SECTION_TEXT_LIMIT, lines=SECTION_TEXT_LIMIT).text),
        context_line(" · ".join(where)),
    ]
    for post in posts[-POSTS_IN_NOTICE:]:
        later = f"Then, {_long_time(post.posted_at, tz)}: {post.text}"
        blocks.append(customer_words(at_a_glance(later, columns=1500, lines=SECTION_TEXT_LIMIT).text))
    if complaint.threat_flagged_at is not None:
        blocks.append(context_line(f"Flagged {_long_time(complaint.threat_flagged_at, tz)}"))
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), 120)
    text = f"Threat flagged for Legal: complaint #{complaint.id} from @{handle}: {safe_mrkdwn(complaint.text, 300)}"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])
