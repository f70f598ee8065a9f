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

from bot.blocks import as_dicts, context_line
from bot.blocks.figures import number
from bot.blocks.lookups import NAME_LIMIT, bold, complaint_entry, escalation_line, follow_up_line, more_in_command
from bot.blocks.rotations import home_duty
from bot.blocks.text import link_to, safe_mrkdwn, safe_plain
from bot.blocks.when import clock, span
from bot.i18n import N_, _, n_

if TYPE_CHECKING:
    from bot.services.lookups import ComplaintLine, EscalationEntry, FollowUpEntry, HomeState, Page

# A message a second or two old is on its way, not late.
SLACK_LAG_SHOWN = timedelta(seconds=5)
HEADER_LIMIT = 150

# Translators: HEARD_AGENTS is the name of a setting: keep it as it is.
NOT_AN_AGENT = N_(
    "Heard files customer complaints from social media as cards for the care team. Your Home tab shows your queue "
    "once your Heard admin adds you to HEARD_AGENTS."
)


def render_home(state: HomeState, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The `views.publish` view for `state.user`."""
    blocks: list[Block] = [HeaderBlock(text=safe_plain(_("Your complaints"), HEADER_LIMIT))]
    if not state.is_agent or state.counters is None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_(NOT_AN_AGENT))))
        return _view(blocks)
    counters = state.counters
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(text=bold(_("The team right now"))),
            fields=[
                MarkdownTextObject(text=f"*{label}*\n{_figure(value, counters.cap)}")
                for label, value in (
                    # Translators: a counter on the Home tab: complaints not resolved yet.
                    (_("Open"), counters.open),
                    # Translators: a counter on the Home tab: open complaints nobody has claimed.
                    (_("Unclaimed"), counters.unclaimed),
                    # Translators: a counter on the Home tab: open complaints past their deadline.
                    (_("Overdue"), counters.overdue),
                    # Translators: a counter on the Home tab: complaints posted since midnight.
                    (_("Received today"), counters.received_today),
                )
            ],
        )
    )
    blocks.append(
        context_line(
            # Translators: %(timezone)s is a time zone such as Europe/Helsinki.
            _("As of %(time)s (%(timezone)s); reopen this tab to refresh.", time=clock(now, now, tz), timezone=tz.key)
        )
    )
    if state.slack_lag is not None and state.slack_lag >= SLACK_LAG_SHOWN:
        lag = _(
            "Slack is behind: the oldest message waiting to be sent was queued %(duration)s ago.",
            duration=span(state.slack_lag),
        )
        blocks.append(context_line(f":hourglass_flowing_sand: {lag}"))
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
    # Translators: a counter that stopped counting at %(count)s (10,000).
    return _("more than %(count)s", count=number(cap)) if value > cap else number(value)


def _view(blocks: Sequence[Block]) -> dict[str, Any]:
    return {"type": "home", "blocks": as_dicts(blocks)}


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))


def _about(entry: FollowUpEntry | EscalationEntry) -> str:
    return f"*#{entry.complaint_id}* @{safe_mrkdwn(entry.author_handle.lstrip('@'), NAME_LIMIT)}"


def _claimed(page: Page[ComplaintLine], now: datetime, tz: ZoneInfo) -> list[Block]:
    if page.total_is_floor:
        # Translators: the heading of the Home tab's list of the reader's own complaints (keep the asterisks: bold).
        heading = _("*Claimed by you* (more than %(count)s open)", count=number(page.total))
    else:
        heading = n_(
            "*Claimed by you* (%(count)s open)",
            "*Claimed by you* (%(count)s open)",
            page.total,
            count=number(page.total),
        )
    blocks: list[Block] = [DividerBlock(), _section(heading)]
    if not page.items:
        # Translators: %(command)s is the command to type, `/complaints open`.
        blocks.append(
            context_line(_("Nothing claimed. %(command)s shows what is waiting.", command="`/complaints open`"))
        )
        return blocks
    for line in page.items:
        blocks.extend(complaint_entry(line, now, tz, show_owner=False))
    hidden = page.total - len(page.items)
    if hidden > 0:
        blocks.append(more_in_command(hidden, "/complaints mine"))
    return blocks


def _follow_ups(page: Page[FollowUpEntry], now: datetime, tz: ZoneInfo) -> list[Block]:
    heading = n_(
        "*Your follow-ups* (%(count)s to do)",
        "*Your follow-ups* (%(count)s to do)",
        page.total,
        count=number(page.total),
    )
    blocks: list[Block] = [DividerBlock(), _section(heading)]
    if not page.items:
        blocks.append(context_line(_("No follow-ups waiting for you.")))
        return blocks
    for entry in page.items:
        card = link_to(entry.permalink, _("Open the card"))
        line = f"{_about(entry)} · {follow_up_line(entry, now, tz, with_assignee=False)}"
        blocks.append(_section(f"{line} · {card}" if card else line))
    hidden = page.total - len(page.items)
    if hidden > 0:
        blocks.append(
            context_line(
                n_("… and %(count)s more, due later", "… and %(count)s more, due later", hidden, count=number(hidden))
            )
        )
    return blocks


def _escalations(page: Page[EscalationEntry], departments: Sequence[str], now: datetime, tz: ZoneInfo) -> list[Block]:
    names = ", ".join(safe_mrkdwn(name, NAME_LIMIT) for name in departments[:10])
    # Translators: a heading on the Home tab; %(departments)s are the names of the reader's departments.
    heading = _("*Escalations waiting for %(departments)s* (%(count)s)", departments=names, count=number(page.total))
    blocks: list[Block] = [DividerBlock(), _section(heading)]
    if not page.items:
        blocks.append(context_line(_("Nothing waiting for your department.")))
        return blocks
    for entry in page.items:
        card = link_to(entry.permalink, _("Open the card"))
        line = f"{_about(entry)} · {escalation_line(entry)} · {clock(entry.requested_at, now, tz)}"
        blocks.append(_section(f"{line} · {card}" if card else line))
    hidden = page.total - len(page.items)
    if hidden > 0:
        blocks.append(
            context_line(n_("… and %(count)s more, newer", "… and %(count)s more, newer", hidden, count=number(hidden)))
        )
    return blocks
