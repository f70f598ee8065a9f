"""SLA messages: nags before a deadline and breach alerts after it. Each shows the state as it is when sent, and
once the clock stops (acknowledged, resolved) it is re-rendered to say so, without buttons."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

from bot.blocks import Message, context_line, customer_words, ids
from bot.blocks.card import NAME_LIMIT, fallback
from bot.blocks.messages import complaint_summary
from bot.blocks.text import at_a_glance, link_to, safe_mrkdwn
from bot.blocks.when import clock, span
from bot.lifecycle import Status
from bot.sla import Clock, clock_applies, clock_deadline
from storage.models import Complaint

EXCERPT = 300
_GOAL = {Clock.ACK: "acknowledge", Clock.RESOLVE: "resolve"}


def _stopped(complaint: Complaint, which: Clock, now: datetime, tz: ZoneInfo) -> str:
    if complaint.status == Status.RESOLVED and complaint.resolved_at is not None:
        return f":white_check_mark: Resolved by <@{complaint.resolved_by}> at {clock(complaint.resolved_at, now, tz)}"
    assert complaint.acknowledged_at is not None
    return (
        f":white_check_mark: Acknowledged by <@{complaint.acknowledged_by}> at "
        f"{clock(complaint.acknowledged_at, now, tz)}"
    )


def _buttons(complaint: Complaint, which: Clock) -> ActionsBlock:
    ref = ids.ComplaintRef(complaint.id, complaint.revision).encode()
    if which is Clock.ACK:
        elements = [ButtonElement(text="Acknowledge", action_id=ids.ACKNOWLEDGE, value=ref, style="primary")]
        if complaint.owner_id is None:
            elements.append(ButtonElement(text="Claim", action_id=ids.CLAIM, value=ref))
    else:
        elements = [
            ButtonElement(text="Resolve", action_id=ids.RESOLVE, value=ref, style="primary"),
            ButtonElement(text="Snooze 1 hour", action_id=ids.SNOOZE_RESOLUTION, value=ref),
        ]
    return ActionsBlock(elements=elements)


def nag(complaint: Complaint, which: Clock, mention: str, now: datetime, tz: ZoneInfo) -> Message:
    """Before the deadline: how long is left, with the buttons that stop the clock."""
    deadline = clock_deadline(complaint, which)
    goal = _GOAL[which]
    left = deadline - now
    timing = f"{span(left)} left" if left.total_seconds() > 0 else f"overdue by {span(-left)}"
    headline = (
        f":hourglass_flowing_sand: {mention + ' ' if mention else ''}*{goal.capitalize()} by "
        f"{clock(deadline, now, tz)}* — {timing}"
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=headline)), *complaint_summary(complaint, EXCERPT)]
    if clock_applies(complaint, which):
        blocks.append(_buttons(complaint, which))
    else:
        blocks.append(context_line(_stopped(complaint, which, now, tz)))
    text = f"{timing.capitalize()} to {goal}: {fallback(complaint)}"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def breach(complaint: Complaint, which: Clock, reminder: int, now: datetime, tz: ZoneInfo) -> Message:
    """To the managers at and after the deadline: what is overdue, who owns it, a link to the card."""
    deadline = clock_deadline(complaint, which)
    goal = _GOAL[which]
    owner = f"owner <@{complaint.owner_id}>" if complaint.owner_id else "*unclaimed*"
    again = f" (reminder {reminder})" if reminder else ""
    headline = (
        f":rotating_light: *Not {goal}d in time*{again}: complaint #{complaint.id} was due "
        f"{clock(deadline, now, tz)}, overdue by {span(now - deadline)} · {owner}"
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=headline)), *complaint_summary(complaint, EXCERPT)]
    if not clock_applies(complaint, which):
        blocks.append(context_line(_stopped(complaint, which, now, tz)))
    text = f"Overdue ({goal}): {fallback(complaint)}"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


# -- several complaints in one message (a storm: nags due together, breach alerts to one manager) -------------------

# Up to three blocks per complaint (Heard's line, the customer's words, its buttons), within Slack's 50.
MAX_LISTED = 16
LISTED_EXCERPT = 120
# A manager's alert message (or the channel's nag message) stands for every complaint that fell due for them within
# ALERT_INTERVAL (a sweep for nags), which in a storm is hundreds: MAX_LISTED are shown in full, with their buttons;
# the rest are named by number ("…and N more: #…"), with the command that lists them all (each also has its own
# buttons on its card or storm line). The notification text names every one.
MAX_ALERTED = 600
NAMES_PER_SECTION = 2800  # characters of "#id, " per section, within a section's 3000
# A nag list shows three blocks per complaint: with "and N more" (up to 6 blocks for MAX_ALERTED 18-digit ids) it
# shows three fewer in full, to stay within 50.
NAGS_SHOWN_WITH_MORE = MAX_LISTED - 3


def _listed_words(complaint: Complaint) -> SectionBlock:
    return customer_words(at_a_glance(complaint.text, columns=LISTED_EXCERPT, lines=1).text)


def _about(complaint: Complaint) -> str:
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    card = link_to(complaint.slack_permalink, "Open the card")
    return f"*#{complaint.id}* @{handle}" + (f" · {card}" if card else "")


def nag_list(items: list[tuple[Complaint, Clock]], mention: str, now: datetime, tz: ZoneInfo) -> Message:
    """Nags that fell due together for one person (or the channel's on-duty people): one line each with its button."""
    goals = sorted({_GOAL[which] for _, which in items})
    headline = (
        f":hourglass_flowing_sand: {mention + ' ' if mention else ''}*{len(items)} complaints to "
        f"{' or '.join(goals)} soon*"
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=headline))]
    shown = len(items) if len(items) <= MAX_LISTED else NAGS_SHOWN_WITH_MORE
    for complaint, which in items[:shown]:
        deadline = clock_deadline(complaint, which)
        left = deadline - now
        timing = f"{span(left)} left" if left.total_seconds() > 0 else f"overdue by {span(-left)}"
        line = f"*{_GOAL[which].capitalize()} by {clock(deadline, now, tz)}* — {timing} · {_about(complaint)}"
        if clock_applies(complaint, which):
            blocks += [SectionBlock(text=MarkdownTextObject(text=line)), _listed_words(complaint)]
            blocks.append(_buttons(complaint, which))
        else:
            stopped = _stopped(complaint, which, now, tz)
            blocks += [SectionBlock(text=MarkdownTextObject(text=f"{line}\n{stopped}")), _listed_words(complaint)]
    blocks += _and_more([complaint for complaint, _ in items[shown:]], "to act on soon", "open")
    text = f"{len(items)} complaints to {' or '.join(goals)} soon: " + ", ".join(f"#{c.id}" for c, _ in items)
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def breach_list(items: list[tuple[Complaint, Clock, int]], now: datetime, tz: ZoneInfo) -> Message:
    """Breach alerts (and reminders) for one manager, listed in one message: what is overdue, who owns it, a link."""
    headline = f":rotating_light: *{len(items)} complaints overdue*"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=headline))]
    for complaint, which, reminder in items[:MAX_LISTED]:
        deadline = clock_deadline(complaint, which)
        owner = f"owner <@{complaint.owner_id}>" if complaint.owner_id else "*unclaimed*"
        again = f" (reminder {reminder})" if reminder else ""
        line = (
            f"*Not {_GOAL[which]}d in time*{again}: {_about(complaint)} · due {clock(deadline, now, tz)}, "
            f"overdue by {span(now - deadline)} · {owner}"
        )
        if not clock_applies(complaint, which):
            line += f"\n{_stopped(complaint, which, now, tz)}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=line)))
        blocks.append(_listed_words(complaint))
    blocks += _and_more([complaint for complaint, _, _ in items[MAX_LISTED:]], "overdue", "overdue")
    text = f"{len(items)} complaints overdue: " + ", ".join(f"#{c.id}" for c, _, _ in items)
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def _and_more(rest: list[Complaint], what: str, command: str) -> list[Block]:
    """The complaints past MAX_LISTED, named by number in as few sections as they take, and where to see them."""
    if not rest:
        return []
    sections: list[str] = [f"…and *{len(rest)} more* {what}:"]
    for complaint in rest:
        name = f"#{complaint.id}"
        if len(sections[-1]) + len(name) + 2 > NAMES_PER_SECTION:
            sections.append(name)
        else:
            sections[-1] += f" {name}" if sections[-1].endswith(":") else f", {name}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=section)) for section in sections]
    blocks.append(context_line(f"`/complaints {command}` lists them with a link to each card"))
    return blocks
