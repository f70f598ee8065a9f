"""SLA messages: nags before a deadline and breach alerts after it. Each shows the state as it is when sent, and
once the clock stops (acknowledged, resolved) it is re-rendered to say so, without buttons."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

from bot.blocks import Message, context_line, ids
from bot.blocks.card import fallback
from bot.blocks.messages import complaint_summary
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
