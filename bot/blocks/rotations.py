"""Rotations in Slack: who is on duty now and next (`/complaints who`, the Home tab), the handoff DM with the open
queue, and the agent's own Away / Back buttons on the Home tab. Pure functions of view models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, MarkdownTextObject, SectionBlock

from bot.blocks import Message, as_dicts, context_line
from bot.blocks.card import button
from bot.blocks.lookups import complaint_entry, more_in_command
from bot.blocks.text import cut_markup, mention, person, safe_mrkdwn
from bot.blocks.when import clock, number
from bot.i18n import N_, _, n_

if TYPE_CHECKING:
    from bot.services.lookups import ComplaintLine
    from bot.services.rotations import DutyBoard, RotationDuty

AWAY = "rotation_away"
BACK = "rotation_back"
NAME_LIMIT = 80
QUEUE_SHOWN = 10
# Translators: file names and HEARD_AGENTS are kept as they are.
NO_ROTATIONS = N_(
    "There are no rotations yet (copy `rotations.example.toml` to `rotations.toml`): new complaints are assigned "
    "among the care team (`HEARD_AGENTS`)."
)
ASSIGN_WORDS = {
    "round-robin": N_("New complaints are assigned in turn (round-robin) to whoever is on duty and available."),
    "least-loaded": N_("New complaints go to whoever on duty is available and has the fewest open ones."),
}


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=cut_markup(text), verbatim=True))


def _people(people: Sequence[str]) -> str:
    # Translators: stands for an empty list of people, e.g. "on duty now nobody".
    return ", ".join(mention(user) for user in people) or _("nobody")


def duty_line(duty: RotationDuty, now: datetime, tz: ZoneInfo) -> str:
    """`*Care*: on duty now @ana (since 09:00, until Fri 09:00) · next @ben from Fri 09:00`."""
    name = f"*{safe_mrkdwn(duty.name, NAME_LIMIT)}*"
    if duty.closed_until is not None:
        # Translators: a rotation outside its hours; "people" are on duty again from "time".
        now_part = _(
            "nobody now (outside its hours, %(people)s from %(time)s)",
            people=_people(duty.people),
            time=clock(duty.closed_until, now, tz),
        )
    else:
        now_part = _(
            "on duty now %(people)s (since %(since)s, until %(until)s)",
            people=_people(duty.people),
            since=clock(duty.since, now, tz),
            until=clock(duty.until, now, tz),
        )
    next_part = _("next %(people)s from %(time)s", people=_people(duty.next_people), time=clock(duty.until, now, tz))
    line = f"{name}: {now_part} · {next_part}"
    if duty.covering:
        covers = "; ".join(
            _("%(who)s covers %(whom)s", who=mention(who), whom=mention(whom)) for who, whom in duty.covering
        )
        line += f"\n_{covers}_"
    return line


def render_duty(board: DutyBoard, now: datetime, tz: ZoneInfo) -> Message:
    """`/complaints who` without a topic."""
    blocks: list[Block] = [_section("*" + _("Who is on duty") + "*")]
    blocks.extend(_section(duty_line(duty, now, tz)) for duty in board.rotations[:40])
    if not board.rotations:
        blocks.append(_section(_(NO_ROTATIONS)))
    if board.away:
        blocks.append(context_line(_("Away (no complaints assigned): %(people)s", people=_people(board.away))))
    if board.auto_assign in ASSIGN_WORDS:
        blocks.append(context_line(_(ASSIGN_WORDS[board.auto_assign])))
    # Translators: `/complaints who <topic>` is a command: keep it as it is.
    blocks.append(
        context_line(_("%(command)s says which department handles a topic.", command="`/complaints who <topic>`"))
    )
    on_duty = sorted({user for duty in board.rotations if duty.closed_until is None for user in duty.people})
    people = ", ".join(person(user) for user in on_duty) or _("nobody")
    text = _("On duty now: %(people)s", people=people)
    return Message(text=text, blocks=as_dicts(blocks))


def home_duty(board: DutyBoard, user: str, now: datetime, tz: ZoneInfo) -> list[Block]:
    """The Home tab's "On duty" section, with the person's own Away / Back."""
    blocks: list[Block] = [DividerBlock(), _section("*" + _("On duty") + "*")]
    blocks.extend(_section(duty_line(duty, now, tz)) for duty in board.rotations[:10])
    if board.auto_assign in ASSIGN_WORDS:
        if user in board.away:
            blocks.append(_section(":palm_tree: " + _("You are *away*: Heard assigns you no new complaints.")))
            # Translators: a button on the Home tab: I am available again.
            blocks.append(ActionsBlock(elements=[button(_("I'm back"), BACK, "back")]))
        else:
            blocks.append(_section(_("You are available: while you are on duty, Heard may assign you new complaints.")))
            # Translators: a button on the Home tab: assign me no new complaints.
            blocks.append(ActionsBlock(elements=[button(_("I'm away"), AWAY, "away")]))
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
    headline = _(
        "You are on duty for *%(rotation)s* from %(since)s until %(until)s; next: %(people)s.",
        rotation=name,
        since=clock(duty.since, now, tz),
        until=clock(duty.until, now, tz),
        people=_people(duty.next_people),
    )
    summary = _(
        "*The open queue*: %(open)s open, %(unclaimed)s unclaimed.",
        open=number(open_total),
        unclaimed=number(unclaimed),
    )
    blocks: list[Block] = [_section(f":wave: {headline}"), _section(summary)]
    for line in queue[:QUEUE_SHOWN]:
        blocks.extend(complaint_entry(line, now, tz))
    if open_total > len(queue[:QUEUE_SHOWN]):
        blocks.append(more_in_command(open_total - len(queue[:QUEUE_SHOWN]), "/complaints open"))
    if not queue:
        blocks.append(context_line(_("Nothing open right now.")))
    text = n_(
        "You are on duty for %(rotation)s until %(until)s: %(open)s open complaint",
        "You are on duty for %(rotation)s until %(until)s: %(open)s open complaints",
        open_total,
        rotation=name,
        until=clock(duty.until, now, tz),
        open=number(open_total),
    )
    return Message(text=text, blocks=as_dicts(blocks))
