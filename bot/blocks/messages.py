"""Messages around a card: escalation notices, approval requests, follow-up DMs, the card's thread log, and
moderation's notice to Legal about a threat and the warning drafted for an author."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.blocks import Message, as_dicts, context_line, customer_words, ids, markup_section
from bot.blocks.card import SECTION_TEXT_LIMIT, complaint_number, escalation_line, fallback, who_and_where
from bot.blocks.events import EVENT_SENTENCES
from bot.blocks.moderation import MODERATION_ACTIONS, POLICE_LINE, moderation_log_words, strikes_words
from bot.blocks.privacy import erased_line
from bot.blocks.replies import ReplyWords, reply_log_words
from bot.blocks.text import (
    BUTTON_TEXT_LIMIT,
    at_a_glance,
    complaints_command,
    link_to,
    mention,
    person,
    safe_mrkdwn,
    safe_plain,
)
from bot.blocks.when import clock, long_time
from bot.i18n import N_, _, n_
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
# Translators: a link to the complaint's card in the channel.
OPEN_THE_CARD = N_("Open the card")
# Translators: a link to the customer's post on the network.
THE_POST = N_("the post")


def complaint_summary(complaint: Complaint, excerpt: int = EXCERPT) -> list[Block]:
    """Who, what (at most `excerpt` columns of it, as plain text) and a link back to the card: the head of every
    message about a complaint."""
    card = link_to(complaint.slack_permalink, _(OPEN_THE_CARD))
    where = [complaint_number(complaint.id), *([card] if card else [])]
    return [
        markup_section(who_and_where(complaint), verbatim=True),
        customer_words(at_a_glance(complaint.text, columns=excerpt, lines=EXCERPT_LINES).text),
        context_line(" · ".join(where)),
    ]


def _button(text: str, action_id: str, value: int, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=safe_plain(text, BUTTON_TEXT_LIMIT), action_id=action_id, value=str(value), style=style)


# Escalation severities as stored (lower case), and how people read them: capitalised at the start of a headline,
# lower case within a sentence.
SEVERITY_WORDS = {
    # Translators: an escalation's severity at the start of a headline, e.g. "*Low* escalation to *Billing*".
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "critical": N_("Critical"),
}
SEVERITY_INLINE = {
    # Translators: an escalation's severity within a sentence, e.g. "asks to escalate to *Billing* (low)".
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "critical": N_("critical"),
}


def severity_words(severity: str, *, inline: bool = False) -> str:
    label = (SEVERITY_INLINE if inline else SEVERITY_WORDS).get(severity.lower())
    if label:
        return _(label)
    return severity if inline else severity.capitalize()


def escalation_notice(
    complaint: Complaint, escalation: Escalation, mentions: str, now: datetime, tz: ZoneInfo
) -> Message:
    """To the department's contacts: what was escalated, why, and an Accept button until someone accepts."""
    severity = severity_words(escalation.severity)
    department = safe_mrkdwn(escalation.department_name, 120)
    if mentions:
        # Translators: e.g. "*High* escalation to *Billing* for @ana @ben"; severity is Low/Medium/High/Critical.
        headline = _(
            "*%(severity)s* escalation to *%(department)s* for %(mentions)s",
            severity=severity,
            department=department,
            mentions=mentions,
        )
    else:
        headline = _("*%(severity)s* escalation to *%(department)s*", severity=severity, department=department)
    blocks: list[Block] = [
        markup_section(f":arrow_up: {headline}"),
        markup_section(escalation_line(escalation)),
        *complaint_summary(complaint),
    ]
    if EscalationStatus(escalation.status) is EscalationStatus.OPEN:
        # Translators: a button: the department takes the escalation on.
        blocks.append(ActionsBlock(elements=[_button(_("Accept"), ids.ACCEPT_ESCALATION, escalation.id, "primary")]))
    elif escalation.accepted_at is not None:
        accepted = _(
            "Accepted by %(who)s at %(time)s",
            who=person(escalation.accepted_by),
            time=clock(escalation.accepted_at, now, tz),
        )
        blocks.append(context_line(accepted))
    text = _(
        "%(severity)s escalation to %(department)s: %(complaint)s",
        severity=severity,
        department=department,
        complaint=fallback(complaint),
    )
    return Message(text=text, blocks=as_dicts(blocks))


def approval_request(complaint: Complaint, escalation: Escalation, now: datetime, tz: ZoneInfo) -> Message:
    """To the managers: approve or decline an escalation to a department that needs approval."""
    department = safe_mrkdwn(escalation.department_name, 120)
    asks = _(
        "%(who)s asks to escalate to *%(department)s* (%(severity)s); this needs a manager's approval.",
        who=person(escalation.requested_by),
        department=department,
        severity=severity_words(escalation.severity, inline=True),
    )
    blocks: list[Block] = [
        markup_section(f":raised_hand: {asks}"),
        markup_section(escalation_line(escalation)),
        *complaint_summary(complaint),
    ]
    status = EscalationStatus(escalation.status)
    if status is EscalationStatus.AWAITING_APPROVAL:
        blocks.append(
            ActionsBlock(
                elements=[
                    # Translators: a button: a manager approves the escalation.
                    _button(_("Approve"), ids.APPROVE_ESCALATION, escalation.id, "primary"),
                    # Translators: a button: a manager declines the escalation.
                    _button(_("Decline"), ids.DECLINE_ESCALATION, escalation.id, "danger"),
                ]
            )
        )
    elif escalation.decided_at is not None:
        values = {"who": person(escalation.decided_by), "time": clock(escalation.decided_at, now, tz)}
        if status is EscalationStatus.DECLINED:
            decided = _("Declined by %(who)s at %(time)s", **values)
        else:
            decided = _("Approved by %(who)s at %(time)s", **values)
        blocks.append(context_line(decided))
    text = _("Approval needed: escalate complaint #%(id)s to %(department)s", id=complaint.id, department=department)
    return Message(text=text, blocks=as_dicts(blocks))


def follow_up_reminder(complaint: Complaint, follow_up: FollowUp, now: datetime, tz: ZoneInfo) -> Message:
    """The DM at follow-up time, with Done / Snooze 1 day until it is done."""
    note = safe_mrkdwn(follow_up.note, 1000) if follow_up.note else "_" + _("(no note)") + "_"
    due = _("*Follow-up due* — scheduled by %(who)s", who=person(follow_up.scheduled_by))
    # Translators: the note the person wrote when scheduling the follow-up follows.
    note_line = _("*Note:* %(note)s", note=note)
    blocks: list[Block] = [markup_section(f":calendar: {due}\n{note_line}"), *complaint_summary(complaint)]
    status = FollowUpStatus(follow_up.status)
    if status is FollowUpStatus.SENT:
        blocks.append(
            ActionsBlock(
                elements=[
                    # Translators: a button: the follow-up is done.
                    _button(_("Done"), ids.FOLLOW_UP_DONE, follow_up.id, "primary"),
                    # Translators: a button: remind me again tomorrow.
                    _button(_("Snooze 1 day"), ids.FOLLOW_UP_SNOOZE, follow_up.id),
                ]
            )
        )
    elif status is FollowUpStatus.DONE and follow_up.done_at is not None:
        done = _("Done by %(who)s at %(time)s", who=person(follow_up.done_by), time=clock(follow_up.done_at, now, tz))
        blocks.append(context_line(f":white_check_mark: {done}"))
    elif status is FollowUpStatus.SCHEDULED:
        snoozed = _("Snoozed until %(time)s", time=clock(follow_up.due_at, now, tz))
        blocks.append(context_line(f":zzz: {snoozed}"))
    text = _("Follow-up due for complaint #%(id)s: %(complaint)s", id=complaint.id, complaint=fallback(complaint))
    return Message(text=text, blocks=as_dicts(blocks))


# The same, for an escalation's steps, naming the department.
_DEPARTMENT_WORDS = {
    # Translators: e.g. "@ana escalated it (Billing)".
    Action.ESCALATE.value: N_("%(who)s escalated it (%(department)s)"),
    Action.APPROVE_ESCALATION.value: N_("%(who)s approved the escalation (%(department)s)"),
    Action.DECLINE_ESCALATION.value: N_("%(who)s declined the escalation (%(department)s)"),
    Action.ACCEPT_ESCALATION.value: N_("%(who)s accepted the escalation (%(department)s)"),
}
# What happened without anyone in Slack doing it: the clock ran out, the author changed the post.
_EVENT_WORDS = {
    # Translators: the deadline (to acknowledge or to resolve) passed.
    Action.BREACH.value: N_("The deadline passed; managers were told"),
    Action.REMIND.value: N_("Still overdue; managers were reminded"),
    Action.EDITED_BY_AUTHOR.value: N_(
        "The author edited the post; the card shows the new text, the earlier one is kept"
    ),
    Action.REMOVED_BY_AUTHOR.value: N_("The author removed the post; Heard keeps its record"),
}
_ALARMS = {Action.BREACH.value, Action.REMIND.value}


def _log_sentence(event: AuditEvent, complaint: Complaint) -> str:
    """What the event says, as a whole sentence."""
    action, detail = event.action, event.detail or {}
    who = "Heard" if event.actor == "scheduler" else mention(event.actor)
    if action == Action.EDITED_BY_AUTHOR.value and detail.get("before") is not None:
        # The card shows the new text; the thread keeps the earlier one where people read the history.
        return _(
            "The author edited the post; the card shows the new text, the earlier one is kept. Earlier it said: "
            "“%(before)s”",
            before=safe_mrkdwn(str(detail["before"]), EXCERPT),
        )
    if action in _EVENT_WORDS:
        return (":rotating_light: " if action in _ALARMS else "") + _(_EVENT_WORDS[action])
    if action in REPLY_ACTIONS:
        return reply_log_words(action, detail, ReplyWords.of(complaint), who)
    if action in MODERATION_ACTIONS:
        return moderation_log_words(event, who)
    if action == Action.ASSIGN.value and detail.get("to"):
        # Translators: "who" is Heard, which chose the owner from the rotation.
        return _("%(who)s assigned it to %(owner)s", who=who, owner=person(detail.get("to")))
    if action == Action.REASSIGN.value:
        return _("%(who)s reassigned it to %(owner)s", who=who, owner=person(detail.get("to")))
    if action in _DEPARTMENT_WORDS and "department" in detail:
        department = safe_mrkdwn(str(detail["department"]), 120)
        return _(_DEPARTMENT_WORDS[action], who=who, department=department)
    if action in EVENT_SENTENCES:
        return _(EVENT_SENTENCES[action], who=who)
    return f"{who} {action}"  # an audit name without words of its own


def thread_log_line(
    event: AuditEvent, complaint: Complaint, now: datetime, tz: ZoneInfo, listed_with: int | None = None
) -> Message:
    """One short line in the card's thread: who, what, when (`listed_with`: a nag posted in a list with others)."""
    line = _log_sentence(event, complaint)
    if listed_with:
        # Translators: after a line such as "Heard sent a reminder".
        line = n_(
            "%(line)s (listed with %(count)s other complaint)",
            "%(line)s (listed with %(count)s other complaints)",
            listed_with,
            line=line,
        )
    text = f"{line} · {clock(event.at, now, tz)}"
    return Message(text=text, blocks=[context_line(text)])


def joined_post_message(complaint: Complaint, post: ComplaintPost, now: datetime, tz: ZoneInfo) -> Message:
    """In the card's thread: the author wrote again in the same conversation. The owner is mentioned, so the
    person handling the complaint hears about it."""
    if complaint.erased_at is not None:
        erased = erased_line(complaint.erased_by, complaint.erased_at, tz)
        return Message(text=erased, blocks=[markup_section(erased)])
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), 120)
    link = link_to(post.url, _(THE_POST))
    heads_up = f" <@{complaint.owner_id}>" if complaint.owner_id else ""
    wrote = _("*@%(handle)s* wrote again %(time)s", handle=handle, time=clock(post.posted_at, now, tz))
    headline = f":speech_balloon:{heads_up} {wrote}"
    words = at_a_glance(post.text)
    blocks: list[Block] = [markup_section(headline + (f" · {link}" if link else "")), customer_words(words.text)]
    if words.cut:
        command = complaints_command(complaint.id)
        blocks.append(context_line(_("Shortened here: the whole post with %(command)s", command=command)))
    text = _("@%(handle)s wrote again: %(excerpt)s", handle=handle, excerpt=safe_mrkdwn(post.text, EXCERPT))
    return Message(text=text, blocks=as_dicts(blocks))


# -- moderation -----------------------------------------------------------------------------------------------------

POSTS_IN_NOTICE = 5


def warning_message(complaint: Complaint, strikes: int, threshold: int, draft: str, has_policy: bool) -> Message:
    """To the agent who warned: the strike recorded and the warning to send the author (`draft`, plain text)."""
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), 120)
    # Translators: e.g. "*⚠ 2 strikes* recorded for *@maria* (Block is suggested at 3)."
    head = _(
        "*%(strikes)s* recorded for *@%(handle)s* (Block is suggested at %(threshold)s).",
        strikes=strikes_words(strikes),
        handle=handle,
        threshold=threshold,
    )
    lines = [
        head,
        _("A warning to send them as a reply — copy it, edit it if you like:"),
        f"```{safe_mrkdwn(draft, 2500)}```",
    ]
    if not has_policy:
        # Translators: COMMUNITY_POLICY_URL is a setting's name: keep it as it is.
        lines.append("_" + _("Set COMMUNITY_POLICY_URL so warnings link to the policy.") + "_")
    text = "\n".join(lines)
    return Message(text=text, blocks=[markup_section(text)])


def threat_notice(complaint: Complaint, posts: list[ComplaintPost], mentions: str, tz: ZoneInfo) -> Message:
    """To Legal: the evidence (who, the whole text, when, the link) and the way back to the card."""
    by = person(complaint.threat_flagged_by)
    if mentions:
        # Translators: "mentions" are the Legal contacts notified.
        headline = _("*Threat flagged for Legal* by %(who)s (%(mentions)s).", who=by, mentions=mentions)
    else:
        headline = _("*Threat flagged for Legal* by %(who)s.", who=by)
    headline = f":rotating_light: {headline} {_(POLICE_LINE)}"
    where = [_("Posted %(time)s", time=long_time(complaint.posted_at, tz))]
    if link := link_to(complaint.url, _(THE_POST)):
        where.append(link)
    if card := link_to(complaint.slack_permalink, _(OPEN_THE_CARD)):
        where.append(card)
    where.append(complaint_number(complaint.id))
    blocks: list[Block] = [
        markup_section(headline),
        markup_section(who_and_where(complaint), verbatim=True),
        # Legal reads the words as written: as much as a section holds (the evidence file keeps all of it).
        customer_words(at_a_glance(complaint.text, columns=SECTION_TEXT_LIMIT, lines=SECTION_TEXT_LIMIT).text),
        context_line(" · ".join(where)),
    ]
    for post in posts[-POSTS_IN_NOTICE:]:
        # Translators: introduces what the author wrote later, at this time.
        later = _("Then, %(time)s:", time=long_time(post.posted_at, tz)) + f" {post.text}"
        blocks.append(customer_words(at_a_glance(later, columns=1500, lines=SECTION_TEXT_LIMIT).text))
    if complaint.threat_flagged_at is not None:
        blocks.append(context_line(_("Flagged %(time)s", time=long_time(complaint.threat_flagged_at, tz))))
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), 120)
    text = _(
        "Threat flagged for Legal: complaint #%(id)s from @%(handle)s: %(excerpt)s",
        id=complaint.id,
        handle=handle,
        excerpt=safe_mrkdwn(complaint.text, 300),
    )
    return Message(text=text, blocks=as_dicts(blocks))
