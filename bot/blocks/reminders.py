"""SLA messages: nags before a deadline and breach alerts after it. Each shows the state as it is when sent, and
once the clock stops (acknowledged, resolved) it is re-rendered to say so, without buttons."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.blocks import Message, as_dicts, context_line, customer_words, ids, markup_section
from bot.blocks.card import ACKNOWLEDGE, CLAIM, NAME_LIMIT, RESOLVE, button, fallback
from bot.blocks.messages import OPEN_THE_CARD, complaint_summary
from bot.blocks.text import at_a_glance, complaints_command, link_to, person, safe_mrkdwn
from bot.blocks.when import clock, span
from bot.i18n import _, n_
from bot.lifecycle import Status
from bot.sla import Clock, clock_applies, clock_deadline
from storage.models import Complaint

EXCERPT = 300


def _stopped(complaint: Complaint, which: Clock, now: datetime, tz: ZoneInfo) -> str:
    if complaint.status == Status.RESOLVED and complaint.resolved_at is not None:
        resolved = _(
            "Resolved by %(who)s at %(time)s",
            who=person(complaint.resolved_by),
            time=clock(complaint.resolved_at, now, tz),
        )
        return f":white_check_mark: {resolved}"
    assert complaint.acknowledged_at is not None
    acknowledged = _(
        "Acknowledged by %(who)s at %(time)s",
        who=person(complaint.acknowledged_by),
        time=clock(complaint.acknowledged_at, now, tz),
    )
    return f":white_check_mark: {acknowledged}"


def _buttons(complaint: Complaint, which: Clock) -> ActionsBlock:
    ref = ids.ComplaintRef(complaint.id, complaint.revision).encode()
    if which is Clock.ACK:
        elements = [button(_(ACKNOWLEDGE), ids.ACKNOWLEDGE, ref, style="primary")]
        if complaint.owner_id is None:
            elements.append(button(_(CLAIM), ids.CLAIM, ref))
    else:
        elements = [
            button(_(RESOLVE), ids.RESOLVE, ref, style="primary"),
            # Translators: a button: pause the resolution reminders for an hour.
            button(_("Snooze 1 hour"), ids.SNOOZE_RESOLUTION, ref),
        ]
    return ActionsBlock(elements=elements)


def _due(which: Clock, deadline: datetime, now: datetime, tz: ZoneInfo) -> str:
    """`*Acknowledge by 10:15* — 12 mins left` (or `— overdue by 3 mins`)."""
    time = clock(deadline, now, tz)
    left = deadline - now
    if left.total_seconds() > 0:
        if which is Clock.ACK:
            return _("*Acknowledge by %(time)s* — %(duration)s left", time=time, duration=span(left))
        return _("*Resolve by %(time)s* — %(duration)s left", time=time, duration=span(left))
    if which is Clock.ACK:
        return _("*Acknowledge by %(time)s* — overdue by %(duration)s", time=time, duration=span(-left))
    return _("*Resolve by %(time)s* — overdue by %(duration)s", time=time, duration=span(-left))


def _nag_text(which: Clock, deadline: datetime, now: datetime, complaint: Complaint) -> str:
    """The notification text: `12 mins left to acknowledge: Complaint #42 from @maria: …`."""
    left = deadline - now
    about = fallback(complaint)
    if left.total_seconds() > 0:
        if which is Clock.ACK:
            return _("%(duration)s left to acknowledge: %(complaint)s", duration=span(left), complaint=about)
        return _("%(duration)s left to resolve: %(complaint)s", duration=span(left), complaint=about)
    if which is Clock.ACK:
        return _("Overdue by %(duration)s to acknowledge: %(complaint)s", duration=span(-left), complaint=about)
    return _("Overdue by %(duration)s to resolve: %(complaint)s", duration=span(-left), complaint=about)


def nag(complaint: Complaint, which: Clock, mention: str, now: datetime, tz: ZoneInfo) -> Message:
    """Before the deadline: how long is left, with the buttons that stop the clock."""
    deadline = clock_deadline(complaint, which)
    headline = f":hourglass_flowing_sand: {mention + ' ' if mention else ''}{_due(which, deadline, now, tz)}"
    blocks: list[Block] = [markup_section(headline), *complaint_summary(complaint, EXCERPT)]
    if clock_applies(complaint, which):
        blocks.append(_buttons(complaint, which))
    else:
        blocks.append(context_line(_stopped(complaint, which, now, tz)))
    return Message(text=_nag_text(which, deadline, now, complaint), blocks=as_dicts(blocks))


def _owner(complaint: Complaint) -> str:
    if complaint.owner_id:
        return _("owner %(who)s", who=person(complaint.owner_id))
    # Translators: nobody owns the complaint.
    return _("*unclaimed*")


def _not_in_time(which: Clock, reminder: int) -> str:
    """`*Not acknowledged in time*`, with `(reminder 2)` when it is said again."""
    if which is Clock.ACK:
        if reminder:
            # Translators: a breach alert said again: "reminder" counts the alerts, e.g. "(reminder 2)".
            return _("*Not acknowledged in time* (reminder %(reminder)s)", reminder=reminder)
        return _("*Not acknowledged in time*")
    if reminder:
        return _("*Not resolved in time* (reminder %(reminder)s)", reminder=reminder)
    return _("*Not resolved in time*")


def breach(complaint: Complaint, which: Clock, reminder: int, now: datetime, tz: ZoneInfo) -> Message:
    """To the managers at and after the deadline: what is overdue, who owns it, a link to the card."""
    deadline = clock_deadline(complaint, which)
    # Translators: "what" is e.g. "*Not acknowledged in time*"; "owner" is e.g. "owner @ana" or "*unclaimed*".
    headline = _(
        "%(what)s: complaint #%(id)s was due %(time)s, overdue by %(duration)s · %(owner)s",
        what=_not_in_time(which, reminder),
        id=complaint.id,
        time=clock(deadline, now, tz),
        duration=span(now - deadline),
        owner=_owner(complaint),
    )
    blocks: list[Block] = [markup_section(f":rotating_light: {headline}"), *complaint_summary(complaint, EXCERPT)]
    if not clock_applies(complaint, which):
        blocks.append(context_line(_stopped(complaint, which, now, tz)))
    if which is Clock.ACK:
        text = _("Overdue (acknowledge): %(complaint)s", complaint=fallback(complaint))
    else:
        text = _("Overdue (resolve): %(complaint)s", complaint=fallback(complaint))
    return Message(text=text, blocks=as_dicts(blocks))


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


def _listed_words(complaint: Complaint) -> Block:
    return customer_words(at_a_glance(complaint.text, columns=LISTED_EXCERPT, lines=1).text)


def _about(complaint: Complaint) -> str:
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    card = link_to(complaint.slack_permalink, _(OPEN_THE_CARD))
    return f"*#{complaint.id}* @{handle}" + (f" · {card}" if card else "")


def _soon(items: list[tuple[Complaint, Clock]]) -> str:
    """`3 complaints to acknowledge or resolve soon` (the notification text and the headline, in bold there)."""
    goals = {which for _complaint, which in items}
    count = len(items)
    if goals == {Clock.ACK}:
        return n_("%(count)s complaint to acknowledge soon", "%(count)s complaints to acknowledge soon", count)
    if goals == {Clock.RESOLVE}:
        return n_("%(count)s complaint to resolve soon", "%(count)s complaints to resolve soon", count)
    return n_(
        "%(count)s complaint to acknowledge or resolve soon",
        "%(count)s complaints to acknowledge or resolve soon",
        count,
    )


def _numbers(complaints: list[Complaint]) -> str:
    return ", ".join(f"#{c.id}" for c in complaints)


def nag_list(items: list[tuple[Complaint, Clock]], mention: str, now: datetime, tz: ZoneInfo) -> Message:
    """Nags that fell due together for one person (or the channel's on-duty people): one line each with its button."""
    soon = _soon(items)
    headline = f":hourglass_flowing_sand: {mention + ' ' if mention else ''}*{soon}*"
    blocks: list[Block] = [markup_section(headline)]
    shown = len(items) if len(items) <= MAX_LISTED else NAGS_SHOWN_WITH_MORE
    for complaint, which in items[:shown]:
        line = f"{_due(which, clock_deadline(complaint, which), now, tz)} · {_about(complaint)}"
        if clock_applies(complaint, which):
            blocks += [markup_section(line), _listed_words(complaint)]
            blocks.append(_buttons(complaint, which))
        else:
            stopped = _stopped(complaint, which, now, tz)
            blocks += [markup_section(f"{line}\n{stopped}"), _listed_words(complaint)]
    blocks += _and_more([complaint for complaint, _which in items[shown:]], overdue=False)
    text = f"{soon}: {_numbers([c for c, _which in items])}"
    return Message(text=text, blocks=as_dicts(blocks))


def breach_list(items: list[tuple[Complaint, Clock, int]], now: datetime, tz: ZoneInfo) -> Message:
    """Breach alerts (and reminders) for one manager, listed in one message: what is overdue, who owns it, a link."""
    overdue = n_("%(count)s complaint overdue", "%(count)s complaints overdue", len(items))
    blocks: list[Block] = [markup_section(f":rotating_light: *{overdue}*")]
    for complaint, which, reminder in items[:MAX_LISTED]:
        deadline = clock_deadline(complaint, which)
        # Translators: "what" is e.g. "*Not acknowledged in time*", "about" the complaint's number, author and link.
        line = _(
            "%(what)s: %(about)s · due %(time)s, overdue by %(duration)s · %(owner)s",
            what=_not_in_time(which, reminder),
            about=_about(complaint),
            time=clock(deadline, now, tz),
            duration=span(now - deadline),
            owner=_owner(complaint),
        )
        if not clock_applies(complaint, which):
            line += f"\n{_stopped(complaint, which, now, tz)}"
        blocks.append(markup_section(line))
        blocks.append(_listed_words(complaint))
    blocks += _and_more([complaint for complaint, _which, _reminder in items[MAX_LISTED:]], overdue=True)
    text = f"{overdue}: {_numbers([c for c, _which, _reminder in items])}"
    return Message(text=text, blocks=as_dicts(blocks))


def _and_more(rest: list[Complaint], overdue: bool) -> list[Block]:
    """The complaints past MAX_LISTED, named by number in as few sections as they take, and where to see them."""
    if not rest:
        return []
    if overdue:
        more = n_("…and *%(count)s more* overdue:", "…and *%(count)s more* overdue:", len(rest))
    else:
        more = n_("…and *%(count)s more* to act on soon:", "…and *%(count)s more* to act on soon:", len(rest))
    sections: list[str] = [more]
    first = True
    for complaint in rest:
        name = f"#{complaint.id}"
        if len(sections[-1]) + len(name) + 2 > NAMES_PER_SECTION:
            sections.append(name)
        else:
            sections[-1] += f" {name}" if first else f", {name}"
        first = False
    blocks: list[Block] = [markup_section(section) for section in sections]
    command = complaints_command("overdue" if overdue else "open")
    blocks.append(context_line(_("%(command)s lists them with a link to each card", command=command)))
    return blocks
