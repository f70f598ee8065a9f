"""Each person's App Home: a pure function of `bot.services.lookups.HomeState`.

What they own (open complaints, high priority first, then by deadline), their follow-ups still to do, escalations
waiting for a department they are a contact of, and the team's counters. Each list is cut to a few lines with the
count of the rest and the command that shows them all, so the tab stays far below Slack's 100 blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks import context_line
from bot.blocks.lookups import NAME_LIMIT, complaint_entry, escalation_line, follow_up_line
from bot.blocks.rotations import home_duty
from bot.blocks.text import link_to, safe_mrkdwn
from bot.blocks.when import clock, span

if TYPE_CHECKING:
    from bot.services.lookups import ComplaintLine, EscalationEntry, FollowUpEntry, HomeState, Page

# A message a second or two old is on its way, not late.
SLACK_LAG_SHOWN = timedelta(seconds=5)

NOT_AN_AGENT = (
    "Heard files customer complaints from social media as cards for the care team. Your Home tab shows your queue "
    "once your Heard admin adds you to HEARD_AGENTS."
)


def render_home(state: HomeState, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The `views.publish` view for `state.user`."""
    blocks: list[Block] = [HeaderBlock(text="Your complaints")]
    if not state.is_agent or state.counters is None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=NOT_AN_AGENT)))
        return _view(blocks)
    counters = state.counters
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(text="*The team right now*"),
            fields=[
                MarkdownTextObject(text=f"*{label}*\n{_figure(value, counters.cap)}")
                for label, value in (
                    ("Open", counters.open),
                    ("Unclaimed", counters.unclaimed),
                    ("Overdue", counters.overdue),
                    ("Received today", counters.received_today),
                )
            ],
        )
    )
    blocks.append(context_line(f"As of {clock(now, now, tz)} ({tz.key}); reopen this tab to refresh."))
    if state.slack_lag is not None and state.slack_lag >= SLACK_LAG_SHOWN:
        blocks.append(
            context_line(
                f":hourglass_flowing_sand: Slack is behind: the oldest message waiting to be sent was queued "
                f"{span(state.slack_lag)} ago."
            )
        )
    if state.duty is not None:
        blocks.extend(home_duty(state.duty, state.user, now, tz))
    if state.claimed is not None:
        blocks.extend(_claimed(state.claimed, now, tz))
    if state.follow_ups is not None:
        blocks.extend(_follow_ups(state.follow_ups, now, tz))
    if state.escalations is not None and state.departments:
        blocks.extend(_escalations(state.escalations, state.departments, now, tz))
    return _view(blocks)


def _figure(value: int, cap: int) -> str:
    return f"more than {cap:,}" if value > cap else f"{value:,}"


def _view(blocks: Sequence[Block]) -> dict[str, Any]:
    return {"type": "home", "blocks": [block.to_dict() for block in blocks]}


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))


def _rest(page: Page[Any], command: str) -> list[Block]:
    hidden = page.total - len(page.items)
    return [context_line(f"… and {hidden:,} more: `{command}`")] if hidden > 0 else []


def _claimed(page: Page[ComplaintLine], now: datetime, tz: ZoneInfo) -> list[Block]:
    total = f"more than {page.total:,}" if page.total_is_floor else f"{page.total:,}"
    blocks: list[Block] = [DividerBlock(), _section(f"*Claimed by you* ({total} open)")]
    if not page.items:
        blocks.append(context_line("Nothing claimed. `/complaints open` shows what is waiting."))
        return blocks
    for line in page.items:
        blocks.extend(complaint_entry(line, now, tz, show_owner=False))
    return blocks + _rest(page, "/complaints mine")


def _follow_ups(page: Page[FollowUpEntry], now: datetime, tz: ZoneInfo) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), _section(f"*Your follow-ups* ({page.total:,} to do)")]
    if not page.items:
        blocks.append(context_line("No follow-ups waiting for you."))
        return blocks
    for entry in page.items:
        about = f"*#{entry.complaint_id}* @{safe_mrkdwn(entry.author_handle.lstrip('@'), NAME_LIMIT)}"
        card = link_to(entry.permalink, "Open the card")
        line = f"{about} · {follow_up_line(entry, now, tz, with_assignee=False)}"
        blocks.append(_section(f"{line} · {card}" if card else line))
    hidden = page.total - len(page.items)
    if hidden > 0:
        blocks.append(context_line(f"… and {hidden:,} more, due later"))
    return blocks


def _escalations(page: Page[EscalationEntry], departments: Sequence[str], now: datetime, tz: ZoneInfo) -> list[Block]:
    names = ", ".join(safe_mrkdwn(name, NAME_LIMIT) for name in departments[:10])
    blocks: list[Block] = [DividerBlock(), _section(f"*Escalations waiting for {names}* ({page.total:,})")]
    if not page.items:
        blocks.append(context_line("Nothing waiting for your department."))
        return blocks
    for entry in page.items:
        about = f"*#{entry.complaint_id}* @{safe_mrkdwn(entry.author_handle.lstrip('@'), NAME_LIMIT)}"
        card = link_to(entry.permalink, "Open the card")
        line = f"{about} · {escalation_line(entry)} · {clock(entry.requested_at, now, tz)}"
        blocks.append(_section(f"{line} · {card}" if card else line))
    hidden = page.total - len(page.items)
    if hidden > 0:
        blocks.append(context_line(f"… and {hidden:,} more, newer"))
    return blocks
