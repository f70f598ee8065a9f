"""Rotations in Slack: who is on duty now and next (`/complaints who`, the Home tab), the handoff DM with the open
queue, and the agent's own Away / Back buttons on the Home tab. Pure functions of view models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, MarkdownTextObject, SectionBlock

from bot.blocks import Message, context_line
from bot.blocks.lookups import complaint_entry
from bot.blocks.text import mention, safe_mrkdwn
from bot.blocks.when import clock

if TYPE_CHECKING:
    from bot.services.lookups import ComplaintLine
    from bot.services.rotations import DutyBoard, RotationDuty

AWAY = "rotation_away"
BACK = "rotation_back"
NAME_LIMIT = 80
QUEUE_SHOWN = 10
NO_ROTATIONS = (
    "There are no rotations yet (copy `rotations.example.toml` to `rotations.toml`): new complaints are assigned "
    "among the care team (`HEARD_AGENTS`)."
)
ASSIGN_WORDS = {
    "round-robin": "New complaints are assigned in turn (round-robin) to whoever is on duty and available.",
    "least-loaded": "New complaints go to whoever on duty is available and has the fewest open ones.",
}


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))


def _people(people: Sequence[str]) -> str:
    return ", ".join(mention(person) for person in people) or "nobody"


def duty_line(duty: RotationDuty, now: datetime, tz: ZoneInfo) -> str:
    """`*Care*: on duty now @ana (since 09:00, until Fri 09:00) · next @ben from Fri 09:00`."""
    name = f"*{safe_mrkdwn(duty.name, NAME_LIMIT)}*"
    if duty.closed_until is not None:
        now_part = f"nobody now (outside its hours, {_people(duty.people)} from {clock(duty.closed_until, now, tz)})"
    else:
        since, until = clock(duty.since, now, tz), clock(duty.until, now, tz)
        now_part = f"on duty now {_people(duty.people)} (since {since}, until {until})"
    next_part = f"next {_people(duty.next_people)} from {clock(duty.until, now, tz)}"
    line = f"{name}: {now_part} · {next_part}"
    if duty.covering:
        line += "\n_" + "; ".join(f"{mention(who)} covers {mention(whom)}" for who, whom in duty.covering) + "_"
    return line


def render_duty(board: DutyBoard, now: datetime, tz: ZoneInfo) -> Message:
    """`/complaints who` without a topic."""
    blocks: list[Block] = [_section("*Who is on duty*")]
    blocks.extend(_section(duty_line(duty, now, tz)) for duty in board.rotations[:40])
    if not board.rotations:
        blocks.append(_section(NO_ROTATIONS))
    if board.away:
        blocks.append(context_line(f"Away (no complaints assigned): {_people(board.away)}"))
    if board.auto_assign in ASSIGN_WORDS:
        blocks.append(context_line(ASSIGN_WORDS[board.auto_assign]))
    blocks.append(context_line("`/complaints who <topic>` says which department handles a topic."))
    on_duty = sorted({person for duty in board.rotations if duty.closed_until is None for person in duty.people})
    text = "On duty now: " + (", ".join(f"<@{person}>" for person in on_duty) or "nobody")
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def home_duty(board: DutyBoard, user: str, now: datetime, tz: ZoneInfo) -> list[Block]:
    """The Home tab's "On duty" section, with the person's own Away / Back."""
    blocks: list[Block] = [DividerBlock(), _section("*On duty*")]
    blocks.extend(_section(duty_line(duty, now, tz)) for duty in board.rotations[:10])
    if board.auto_assign in ASSIGN_WORDS:
        if user in board.away:
            blocks.append(_section(":palm_tree: You are *away*: Heard assigns you no new complaints."))
            blocks.append(ActionsBlock(elements=[ButtonElement(text="I'm back", action_id=BACK, value="back")]))
        else:
            blocks.append(_section("You are available: while you are on duty, Heard may assign you new complaints."))
            blocks.append(ActionsBlock(elements=[ButtonElement(text="I'm away", action_id=AWAY, value="away")]))
    return blocks


def handoff_message(
    duty: RotationDuty,
    person: str,
    queue: Sequence[ComplaintLine],
    open_total: int,
    unclaimed: int,
    now: datetime,
    tz: ZoneInfo,
) -> Message:
    """The DM a person gets when their turn on duty begins."""
    name = safe_mrkdwn(duty.name, NAME_LIMIT)
    headline = (
        f":wave: You are on duty for *{name}* from {clock(duty.since, now, tz)} until {clock(duty.until, now, tz)}; "
        f"next: {_people(duty.next_people)}."
    )
    summary = f"*The open queue*: {open_total:,} open, {unclaimed:,} unclaimed."
    blocks: list[Block] = [_section(headline), _section(summary)]
    for line in queue[:QUEUE_SHOWN]:
        blocks.extend(complaint_entry(line, now, tz))
    if open_total > len(queue[:QUEUE_SHOWN]):
        blocks.append(context_line(f"… and {open_total - len(queue[:QUEUE_SHOWN]):,} more: `/complaints open`"))
    if not queue:
        blocks.append(context_line("Nothing open right now."))
    text = f"You are on duty for {name} until {clock(duty.until, now, tz)}: {open_total:,} open complaints"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])
