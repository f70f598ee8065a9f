"""`/complaints` answers as Block Kit: pure functions of what `bot/services/lookups.py` found.

Every answer fits Slack: a page holds at most `PAGE_SIZE` complaints (about a dozen blocks of the 50 a message may
have), each text is cut to its limit, and a page that is not the last says "Showing 11–20 of 57" and carries a
"More" button, so nothing is ever cut silently. Text from outside Heard (what customers wrote, their names and
handles, sources, reasons typed into modals, the words of a search) is escaped, and the sections that carry it are
`verbatim`, so Slack adds no links or mentions of its own. What customers wrote is `plain_text` (no markup at all):
at a glance in lists, whole in `/complaints <id>`, which is where a card's shortened text can be read in full.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

from bot.blocks import BlockDict, Message, as_dicts, context_line, customer_words, ids
from bot.blocks.digest import attainment_blocks
from bot.blocks.events import EVENT_SENTENCES
from bot.blocks.figures import compact, number, percent, short_day
from bot.blocks.modals import SEVERITY_WORDS
from bot.blocks.text import at_a_glance, link_to, mention, plain_chunks, safe_mrkdwn, safe_plain
from bot.blocks.triage import reason_words
from bot.blocks.when import clock, span
from bot.i18n import N_, _, _c, n_
from bot.lifecycle import Action, EscalationStatus, FollowUpStatus, Status
from bot.platforms import source_label

if TYPE_CHECKING:
    from bot.directory import Department
    from bot.services.lookups import (
        ComplaintLine,
        ComplaintRecord,
        EscalationEntry,
        FollowUpEntry,
        HistoryEntry,
        Page,
        Stats,
        WhoAnswer,
    )

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FALLBACK_LIMIT = 300
BUTTON_LIMIT = 75
# Columns of a customer's words a list shows for each complaint (one line: whitespace is collapsed).
EXCERPT = 280
# Blocks of one complaint's record that may carry its words and its later posts': with the dozen others (state,
# history, paging) well within the 50 of a message. A 40,000-character post needs at most 27.
WORDS_BLOCKS = 34
NAME_LIMIT = 60
REASON_LIMIT = 200
TOPIC_LIMIT = 100
DESCRIPTION_LIMIT = 500
# Translators: a button under a list: show its next page.
MORE = N_("More")
_WHITESPACE = re.compile(r"\s+")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

# What follows `/complaints` (typed in English whatever the language: these stay as they are) and what it answers.
HELP_LINES = (
    # Translators: help for `/complaints <id>`.
    (
        "<id>",
        N_("one complaint (`42` or `#42`): its state, history, escalations and follow-ups, and a link to its card"),
    ),
    # Translators: help for `/complaints open`.
    ("open", N_("open complaints, high priority first, then by deadline, with the time left")),
    # Translators: help for `/complaints mine`.
    ("mine", N_("the open complaints you own")),
    # Translators: help for `/complaints overdue`.
    ("overdue", N_("open complaints past their deadline")),
    # Translators: help for `/complaints @handle`.
    ("@handle", N_("everything from one author")),
    # Translators: help for `/complaints search <words>`.
    ("search <words>", N_("complaints with all these words in their text, newest first")),
    (
        "stats [today|7d|30d]",
        # Translators: help for `/complaints stats [today|7d|30d]`.
        N_("received, acknowledged in time, median time to acknowledge, breaches, resolved; SLA attainment per agent"),
    ),
    # Translators: help for `/complaints who <topic>`.
    ("who <topic>", N_("which department handles it and how to reach them")),
    # Translators: help for `/complaints digest`.
    ("digest", N_("a preview of today's digest, just for you")),
    # Translators: help for `/complaints export [7d|30d]`: managers are the only ones who may export.
    ("export [7d|30d]", N_("CSV file (managers)")),
    (
        "export attainment [7d|30d]",
        # Translators: help for `/complaints export attainment [7d|30d]`.
        N_("SLA attainment per agent and team, by day and week, as a CSV file (managers)"),
    ),
    # Translators: help for `/complaints privacy @handle`: a customer's data access request.
    ("privacy @handle", N_("everything Heard holds about one author, as a JSON file by DM (managers)")),
    # Translators: help for `/complaints erase @handle`: a customer's erasure request.
    ("erase @handle", N_("erase one author's personal data, after a question naming how many complaints (managers)")),
    # Translators: help for `/complaints hold lift <id>`: complaints flagged as threats are kept for Legal.
    ("hold lift <id>", N_("lift the legal hold a threat puts on a complaint, so it can be erased (managers)")),
    # Translators: help for `/complaints help`.
    ("help", N_("this list")),
)


class ListKind(StrEnum):
    OPEN = "open"
    MINE = "mine"
    OVERDUE = "overdue"
    AUTHOR = "author"
    SEARCH = "search"


def _section(text: str) -> SectionBlock:
    # Verbatim: Slack turns none of the text into links or mentions; only the markup Heard wrote counts.
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))


def _message(text: str, blocks: Iterable[Block]) -> Message:
    return Message(text=text, blocks=as_dicts(blocks))


def bold(text: str) -> str:
    return f"*{text}*"


def italic(text: str) -> str:
    return f"_{text}_"


def celebrate(text: str) -> str:
    return f"{text} :tada:"


def quoted(typed: str, limit: int = TOPIC_LIMIT) -> str:
    """Something a person typed, shown back to them: escaped, cut, in quotes."""
    return f"“{safe_mrkdwn(_WHITESPACE.sub(' ', typed).strip(), limit)}”"


def open_the_card(permalink: str | None) -> str | None:
    # Translators: a link to the complaint's card in the channel.
    return link_to(permalink, _("Open the card"))


# -- help and refusals -----------------------------------------------------------------------------------------------


def render_help(unknown: str | None = None) -> Message:
    # `<id>` is Slack markup even inside backticks: the usage is escaped like any other text.
    lines = [f"`/complaints {safe_mrkdwn(name, NAME_LIMIT)}` — {_(what)}" for name, what in HELP_LINES]
    # Translators: the first line of the help; %(command)s is `/complaints` (keep the asterisks: bold).
    intro = _("*%(command)s answers only you.* Lookups:", command="`/complaints`")
    if unknown is not None:
        # Translators: %(typed)s is what the person typed after /complaints, in quotes.
        unknown_words = _("I don't know %(typed)s.", typed=quoted(unknown, 60))
        intro = f"{unknown_words} {intro}"
    text = intro + "\n" + "\n".join(lines)
    return _message(intro.replace("*", ""), [_section(text)])


def render_refusal(text: str) -> Message:
    """A short private answer in Heard's own words (anything typed in it is already escaped by `quoted`)."""
    return _message(text, [_section(text)])


# -- lists of complaints ---------------------------------------------------------------------------------------------


def render_complaint_list(
    kind: ListKind,
    page: Page[ComplaintLine],
    now: datetime,
    tz: ZoneInfo,
    more_value: str | None,
    *,
    subject: str = "",
) -> Message:
    title, empty = _list_title(kind, subject)
    if not page.items:
        nothing = empty if page.offset == 0 else _("No more complaints here; type the command again to start over.")
        return _message(f"{_plain(title)}: {nothing}", [_section(f"*{title}*\n{nothing}")])
    blocks: list[Block] = [_section(f"*{title}*")]
    for line in page.items:
        blocks.extend(complaint_entry(line, now, tz, show_owner=kind is not ListKind.MINE))
    blocks.extend(_paging(page, more_value))
    return _message(f"{_plain(title)}: {showing(page)}", blocks)


def _list_title(kind: ListKind, subject: str) -> tuple[str, str]:
    if kind is ListKind.MINE:
        return _("Your open complaints, high priority first, then by deadline"), _("You own no open complaints.")
    if kind is ListKind.OVERDUE:
        return (
            _("Overdue complaints, high priority first, most overdue first"),
            celebrate(_("Nothing is overdue.")),
        )
    if kind is ListKind.AUTHOR:
        handle = f"@{safe_mrkdwn(subject, NAME_LIMIT)}"
        # Translators: %(author)s is a customer's handle, e.g. @maria_l.
        title = _("Complaints from %(author)s, newest first", author=handle)
        return title, _("No complaints from %(author)s.", author=handle)
    if kind is ListKind.SEARCH:
        words = quoted(subject)
        # Translators: %(words)s are the words searched for, in quotes.
        title = _("Complaints with %(words)s, newest first", words=words)
        return title, _("No complaint has all of %(words)s.", words=words)
    return _("Open complaints, high priority first, then by deadline"), celebrate(_("No open complaints."))


def _plain(title: str) -> str:
    return title.replace("*", "")


def showing(page: Page[object]) -> str:
    first, last, total = number(page.first), number(page.last), number(page.total)
    if page.total_is_floor:
        # Translators: which items of a long list this page shows, e.g. "Showing 11–20 of more than 10,000".
        return _("Showing %(first)s–%(last)s of more than %(total)s", first=first, last=last, total=total)
    # Translators: which items of a list this page shows, e.g. "Showing 11–20 of 57".
    return _("Showing %(first)s–%(last)s of %(total)s", first=first, last=last, total=total)


def _paging(page: Page[object], more_value: str | None, *, history: bool = False) -> list[Block]:
    # Translators: under a page of a complaint's history; %(showing)s is e.g. "Showing 1–20 of 31".
    shown = _("History: %(showing)s", showing=showing(page)) if history else showing(page)
    blocks: list[Block] = [context_line(shown)]
    if more_value is not None:
        button = ButtonElement(text=safe_plain(_(MORE), BUTTON_LIMIT), action_id=ids.LOOKUP_MORE, value=more_value)
        blocks.append(ActionsBlock(elements=[button]))
    return blocks


def more_in_command(hidden: int, command: str) -> BlockDict:
    """The line under a list cut short: how many more, and the command that shows them all."""
    typed = f"`{command}`"
    # Translators: under a cut list; %(command)s is the command that shows all of it, such as `/complaints mine`.
    more = n_(
        "… and %(count)s more: %(command)s",
        "… and %(count)s more: %(command)s",
        hidden,
        count=number(hidden),
        command=typed,
    )
    return context_line(more)


def complaint_entry(line: ComplaintLine, now: datetime, tz: ZoneInfo, *, show_owner: bool = True) -> list[Block]:
    """One complaint in a list: Heard's line about it (`complaint_line`), then what the customer wrote, at a
    glance and as plain text."""
    excerpt = at_a_glance(_WHITESPACE.sub(" ", line.excerpt).strip(), columns=EXCERPT, lines=1)
    return [_section(complaint_line(line, now, tz, show_owner=show_owner)), customer_words(excerpt.text)]


def complaint_line(line: ComplaintLine, now: datetime, tz: ZoneInfo, *, show_owner: bool = True) -> str:
    """One complaint in a list, in Heard's words: who, where, the deadline that matters now, the card. A list of
    one person's own complaints leaves out who owns them."""
    head = f"*#{line.complaint_id}*"
    if line.priority == "high":
        # Translators: a complaint's priority, shown beside its number.
        high = _c("priority", "High")
        head += f" :red_circle: *{high}*"
    who = author(line.author_handle, line.author_name)
    # Translators: who wrote a complaint, and on which network or source (e.g. "@maria_l on X").
    parts = [head, _("%(author)s on %(source)s", author=who, source=source_name(line.source))]
    if show_owner:
        # Translators: who owns a complaint, e.g. "Owner @ana"; "Unclaimed" when nobody does.
        parts.append(_("Owner %(person)s", person=mention(line.owner_id)) if line.owner_id else _("Unclaimed"))
    tail = deadline_phrase(line, now, tz)
    card = open_the_card(line.permalink)
    if card:
        tail += f" · {card}"
    return f"{' · '.join(parts)}\n{tail}"


def author(handle: str, name: str | None) -> str:
    shown = f"@{safe_mrkdwn(handle.lstrip('@'), NAME_LIMIT)}"
    return f"*{safe_mrkdwn(name, NAME_LIMIT)}* {shown}" if name else f"*{shown}*"


def source_name(source: str) -> str:
    """Lookups list sources, not adapters: a network's own source name reads as the network."""
    return safe_mrkdwn(source_label(source, source), NAME_LIMIT)


def deadline_phrase(line: ComplaintLine, now: datetime, tz: ZoneInfo) -> str:
    if line.status == Status.RESOLVED:
        # Translators: a resolved complaint in a list, and when it was resolved.
        resolved = _("Resolved %(time)s", time=clock(line.resolved_at, now, tz)) if line.resolved_at else None
        resolved = resolved or _("Resolved")
        return f":white_check_mark: {resolved}"
    acknowledge = line.acknowledged_at is None
    left = line.next_deadline - now
    if left <= timedelta(0):
        late = span(-left)
        if acknowledge:
            # Translators: the acknowledgement deadline passed %(duration)s ago (keep the asterisks: bold).
            overdue = _("*Acknowledge overdue by %(duration)s*", duration=late)
        else:
            # Translators: the resolution deadline passed %(duration)s ago (keep the asterisks: bold).
            overdue = _("*Resolve overdue by %(duration)s*", duration=late)
        return f":rotating_light: {overdue}"
    due, remaining = clock(line.next_deadline, now, tz), span(left)
    if acknowledge:
        # Translators: the complaint must be acknowledged by %(time)s, which is %(duration)s from now.
        phrase = _("Acknowledge by %(time)s — %(duration)s left", time=due, duration=remaining)
    else:
        # Translators: the complaint must be resolved by %(time)s, which is %(duration)s from now.
        phrase = _("Resolve by %(time)s — %(duration)s left", time=due, duration=remaining)
    return f":hourglass_flowing_sand: {phrase}"


# -- one complaint ---------------------------------------------------------------------------------------------------


def render_complaint_record(record: ComplaintRecord, now: datetime, tz: ZoneInfo, more_value: str | None) -> Message:
    line = record.line
    who = author(line.author_handle, line.author_name)
    where = link_to(record.url, source_label(line.source, line.source), NAME_LIMIT) or source_name(line.source)
    complaint = f"*#{line.complaint_id}*"
    if record.author_followers is not None:
        # Translators: the head of one complaint: who wrote it, how many followers they have, where, its number.
        said = n_(
            "%(author)s (%(followers)s follower) on %(source)s — complaint %(complaint)s",
            "%(author)s (%(followers)s followers) on %(source)s — complaint %(complaint)s",
            record.author_followers,
            author=who,
            followers=compact(record.author_followers),
            source=where,
            complaint=complaint,
        )
    else:
        # Translators: the head of one complaint: who wrote it, where, its number.
        said = _("%(author)s on %(source)s — complaint %(complaint)s", author=who, source=where, complaint=complaint)
    blocks: list[Block] = [_section(f":speech_balloon: {said}"), *_words(record, now, tz)]
    blocks.append(_section(_state(record, now, tz)))
    if record.escalations:
        blocks.append(_section(_escalations(record)))
    if record.follow_ups:
        blocks.append(_section(_follow_ups(record, now, tz)))
    card = open_the_card(line.permalink) or italic(_("The card is not in Slack yet."))
    # Translators: when the customer posted the complaint.
    posted = _("Posted %(time)s", time=clock(line.posted_at, now, tz))
    if record.extra_posts:
        more = n_(
            "+%(count)s more in the card's thread",
            "+%(count)s more in the card's thread",
            record.extra_posts,
            count=number(record.extra_posts),
        )
        posted += f" · {more}"
    blocks.append(context_line(f"{posted} · {card}"))
    history = record.history
    if history.items:
        lines = [history_line(entry, now, tz) for entry in history.items]
        # Translators: the heading of a complaint's history (keep the asterisks: bold).
        heading = _("*History* (oldest first)")
        blocks.extend(_section(chunk) for chunk in _chunks([heading, *lines], SECTION_LIMIT))
        blocks.extend(_paging(history, more_value, history=True))
    elif history.offset:
        blocks.append(context_line(_("No more history; type the command again to start over.")))
    handle = f"@{safe_mrkdwn(line.author_handle.lstrip('@'), NAME_LIMIT)}"
    # Translators: a notification's text; %(author)s is the customer's handle.
    text = _("Complaint #%(id)s from %(author)s", id=line.complaint_id, author=handle)
    return _message(text, blocks)


def _words(record: ComplaintRecord, now: datetime, tz: ZoneInfo) -> list[Block]:
    """The whole of what the customer wrote, as plain text (a card shows it at a glance), then each later post of
    the conversation under the time it was posted; within WORDS_BLOCKS, saying so should the rest not fit."""
    blocks: list[Block] = [customer_words(chunk) for chunk in plain_chunks(record.text) or [""]]
    for post in record.posts:
        # Translators: a link to the customer's later post on the network.
        link = link_to(post.url, _("the post"))
        # Translators: above a later post of the same conversation; %(time)s is when it was posted.
        then = _("Then, %(time)s", time=clock(post.posted_at, now, tz))
        blocks.append(context_line(then + (f" · {link}" if link else "")))
        blocks.extend(customer_words(chunk) for chunk in plain_chunks(post.text) or [""])
    hidden = record.extra_posts - len(record.posts)
    if len(blocks) > WORDS_BLOCKS or hidden > 0:
        blocks = blocks[: WORDS_BLOCKS - 1]
        blocks.append(context_line(italic(_("The rest of the conversation is in the card's thread."))))
    return blocks


# StrEnum members hash like their values, so these look up the stored strings directly.
_STATUS_WORDS = {
    # Translators: a complaint's state: nobody has acknowledged it yet.
    Status.NEW: N_("New"),
    # Translators: a complaint's state.
    Status.ACKNOWLEDGED: N_("Acknowledged"),
    # Translators: a complaint's state.
    Status.RESOLVED: N_("Resolved"),
}
# A follow-up by its state: without and with whom it is for. %(time)s is when it is (or was) due.
_FOLLOW_UP_WORDS = {
    FollowUpStatus.SCHEDULED: (N_("due %(time)s"), N_("due %(time)s with %(person)s")),
    FollowUpStatus.SENT: (
        N_("reminded, not done yet; was due %(time)s"),
        N_("reminded, not done yet; was due %(time)s with %(person)s"),
    ),
    FollowUpStatus.DONE: (N_("done; was due %(time)s"), N_("done; was due %(time)s with %(person)s")),
    FollowUpStatus.CANCELLED: (N_("cancelled; was due %(time)s"), N_("cancelled; was due %(time)s with %(person)s")),
}


def _state(record: ComplaintRecord, now: datetime, tz: ZoneInfo) -> str:
    line = record.line
    status = _STATUS_WORDS.get(line.status)
    head = bold(_(status) if status else safe_mrkdwn(line.status, NAME_LIMIT))
    if line.priority == "high":
        reasons = " · ".join(safe_mrkdwn(reason_words(reason), REASON_LIMIT) for reason in record.triage_reasons)
        high = bold(_("High priority"))
        head += f" · :red_circle: {high}" + (f" — {reasons}" if reasons else "")
    if record.category:
        head += f" · {safe_mrkdwn(record.category, NAME_LIMIT)}"
    lines = [head]
    if line.owner_id:
        owner = mention(line.owner_id)
        if record.claimed_at:
            # Translators: who owns the complaint, and since when.
            owned = _("Owner %(person)s since %(time)s", person=owner, time=clock(record.claimed_at, now, tz))
        else:
            owned = _("Owner %(person)s", person=owner)
        lines.append(f":bust_in_silhouette: {owned}")
    else:
        unclaimed = _("Unclaimed")
        lines.append(f":bust_in_silhouette: {unclaimed}")
    if line.acknowledged_at is not None:
        # Translators: %(duration)s is how long after the customer posted; %(deadline)s when it was due.
        acknowledged = _(
            "Acknowledged by %(person)s at %(time)s (%(duration)s after posting; due %(deadline)s)",
            person=mention(record.acknowledged_by),
            time=clock(line.acknowledged_at, now, tz),
            duration=span(line.acknowledged_at - line.posted_at),
            deadline=clock(line.ack_deadline, now, tz),
        )
        lines.append(f":white_check_mark: {acknowledged}")
    if line.status == Status.RESOLVED:
        note = f" — {safe_mrkdwn(record.resolution_note, REASON_LIMIT)}" if record.resolution_note else ""
        when = clock(line.resolved_at, now, tz) if line.resolved_at else "?"
        resolved = _("Resolved by %(person)s at %(time)s", person=mention(record.resolved_by), time=when)
        lines.append(f":white_check_mark: {resolved}{note}")
    else:
        lines.append(deadline_phrase(line, now, tz))
    return "\n".join(lines)


def _escalations(record: ComplaintRecord) -> str:
    # Translators: a heading (keep the asterisks: bold); %(count)s is how many escalations the complaint had.
    lines = [_("*Escalations* (%(count)s)", count=number(record.escalations_total))]
    lines.extend(escalation_line(entry) for entry in record.escalations)
    earlier = record.escalations_total - len(record.escalations)
    if earlier > 0:
        lines.append(italic(_earlier(earlier)))
    return _fit(lines)


def _earlier(count: int) -> str:
    # Translators: under a cut list of escalations or follow-ups: the earlier ones are in the complaint's history.
    return n_(
        "… and %(count)s earlier, in the history",
        "… and %(count)s earlier, in the history",
        count,
        count=number(count),
    )


def severity_words(severity: str) -> str:
    """An escalation's stored severity (`medium`) in the reader's words."""
    words = SEVERITY_WORDS.get(severity)
    return _(words) if words else safe_mrkdwn(severity, 20)


def escalation_line(entry: EscalationEntry) -> str:
    # Translators: one escalation: to which department, how severe, who asked, and why.
    line = _(
        "*%(department)s* (%(severity)s) by %(person)s — %(reason)s",
        department=safe_mrkdwn(entry.department_name, NAME_LIMIT),
        severity=severity_words(entry.severity),
        person=mention(entry.requested_by),
        reason=safe_mrkdwn(entry.reason, REASON_LIMIT),
    )
    line = f":arrow_up: {line}"
    if entry.status == EscalationStatus.AWAITING_APPROVAL:
        return f"{line} " + italic(_("(waiting for a manager's approval)"))
    if entry.status == EscalationStatus.DECLINED:
        return f"{line} " + italic(_("(declined by %(person)s)", person=mention(entry.decided_by)))
    if entry.status == EscalationStatus.ACCEPTED:
        return f"{line} · " + _("accepted by %(person)s", person=mention(entry.accepted_by))
    return f"{line} " + italic(_("(not accepted yet)"))


def _follow_ups(record: ComplaintRecord, now: datetime, tz: ZoneInfo) -> str:
    # Translators: a heading (keep the asterisks: bold); %(count)s is how many follow-ups the complaint had.
    lines = [_("*Follow-ups* (%(count)s)", count=number(record.follow_ups_total))]
    lines.extend(follow_up_line(entry, now, tz) for entry in record.follow_ups)
    earlier = record.follow_ups_total - len(record.follow_ups)
    if earlier > 0:
        lines.append(italic(_earlier(earlier)))
    return _fit(lines)


def follow_up_line(entry: FollowUpEntry, now: datetime, tz: ZoneInfo, *, with_assignee: bool = True) -> str:
    due = clock(entry.due_at, now, tz)
    words = _FOLLOW_UP_WORDS.get(entry.status)
    if words is None:
        line = f"{safe_mrkdwn(entry.status, NAME_LIMIT)} {due}"
    elif with_assignee:
        line = _(words[1], time=due, person=mention(entry.assignee))
    else:
        line = _(words[0], time=due)
    line = f":calendar: {line}"
    if entry.status in (FollowUpStatus.SCHEDULED, FollowUpStatus.SENT) and entry.due_at < now:
        # Translators: a follow-up still to do after its time.
        line += " :warning: " + _("overdue")
    if entry.note:
        line += f" — {safe_mrkdwn(entry.note, REASON_LIMIT)}"
    return line


_ALARMS = (Action.BREACH.value, Action.REMIND.value)
# The clocks an audit event may name, in words.
_CLOCK_WORDS = {
    # Translators: in a complaint's history: which SLA clock a step was about.
    "acknowledge": N_("acknowledge clock"),
    # Translators: in a complaint's history: which SLA clock a step was about.
    "resolve": N_("resolve clock"),
}


def history_line(entry: HistoryEntry, now: datetime, tz: ZoneInfo) -> str:
    """When, who, what: `Wed 25 Nov 10:15 · @ana claimed it`."""
    if entry.actor_is_person:
        who = mention(entry.actor)
    elif entry.actor == "scheduler":
        who = "Heard"
    else:
        who = source_name(entry.actor)
    detail = entry.detail
    if entry.action == Action.REASSIGN.value and detail.get("to"):
        what = _("%(who)s reassigned it to %(person)s", who=who, person=mention(str(detail["to"])))
    elif entry.action == Action.ASSIGN.value and detail.get("to"):
        # Translators: in a complaint's history: the on-duty rotation gave the complaint to %(person)s.
        what = _("%(who)s assigned it to %(person)s by rotation", who=who, person=mention(str(detail["to"])))
    elif entry.action in EVENT_SENTENCES:
        what = _(EVENT_SENTENCES[entry.action], who=who)
    else:
        what = f"{who} {safe_mrkdwn(entry.action, NAME_LIMIT)}"
    if entry.action in _ALARMS:
        what = f":rotating_light: {what}"
    extras: list[str] = []
    if detail.get("department"):
        extras.append(safe_mrkdwn(str(detail["department"]), NAME_LIMIT))
    if detail.get("clock"):
        clock_words = _CLOCK_WORDS.get(str(detail["clock"]))
        extras.append(_(clock_words) if clock_words else safe_mrkdwn(str(detail["clock"]), 20))
    if detail.get("late_seconds"):
        # Translators: in a complaint's history: Heard did this step later than it was due (it was down).
        extras.append(_("late"))
    if entry.action == Action.RECEIVE.value and detail.get("priority") == "high":
        extras.append(_("high priority"))
    if detail.get("note"):
        extras.append(safe_mrkdwn(str(detail["note"]), REASON_LIMIT))
    suffix = f" ({'; '.join(extras)})" if extras else ""
    return f"`{clock(entry.at, now, tz)}` {what}{suffix}"


def _chunks(lines: Sequence[str], limit: int) -> list[str]:
    """Lines joined into texts of at most `limit` characters (every line here is far shorter than a section)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks


def _fit(lines: Sequence[str]) -> str:
    """At most RECORD_LIST_LIMIT short lines: always within a section's limit."""
    return _chunks(lines, SECTION_LIMIT)[0]


# -- figures and the directory ---------------------------------------------------------------------------------------


_PERIOD_WORDS = {
    # Translators: the period of `/complaints stats today`.
    "today": N_("Today"),
    # Translators: the period of `/complaints stats 7d`.
    "7d": N_("The last 7 days"),
    # Translators: the period of `/complaints stats 30d`.
    "30d": N_("The last 30 days"),
}


def render_stats(stats: Stats, tz: ZoneInfo, ack_window: timedelta) -> Message:
    since = (
        clock(stats.start, stats.end, tz) if stats.period == "today" else short_day(stats.start.astimezone(tz).date())
    )
    period = _PERIOD_WORDS.get(stats.period)
    # Translators: the title of `/complaints stats` (keep the asterisks: bold); %(timezone)s is e.g. Europe/Helsinki.
    title = _(
        "*%(period)s* (since %(time)s, %(timezone)s)",
        period=_(period) if period else safe_mrkdwn(stats.period, NAME_LIMIT),
        time=since,
        timezone=tz.key,
    )
    in_window = number(stats.acknowledged_in_window)
    if stats.in_window_percent is not None:
        in_window += f" ({percent(stats.in_window_percent)})"
    median = span(stats.ack_median) if stats.ack_median is not None else "—"
    sources = ", ".join(f"{source_name(name)} {number(count)}" for name, count in stats.top_sources) or "—"
    fields = [
        (_("Received"), number(stats.received)),
        (_("Acknowledged within %(duration)s", duration=span(ack_window)), in_window),
        (_("Median time to acknowledge"), median),
        # Translators: a figure's label: missed SLA deadlines (a noun).
        (_("Breaches"), number(stats.breaches)),
        (_c("figure", "Resolved"), number(stats.resolved)),
        # Translators: a figure's label: the networks or sources most complaints came from.
        (_("Top sources"), sources),
    ]
    block = SectionBlock(
        text=MarkdownTextObject(text=title),
        fields=[MarkdownTextObject(text=f"*{label}*\n{value}", verbatim=True) for label, value in fields],
    )
    footer = context_line(
        _("Complaints count on the day they were posted; breaches and resolutions when they happened.")
    )
    # Translators: a notification's text: the stats' title, then how many complaints were received and how many of
    # them were acknowledged in time.
    text = _(
        "%(title)s: %(received)s, %(acknowledged)s",
        title=_plain(title),
        received=n_("%(count)s received", "%(count)s received", stats.received, count=number(stats.received)),
        acknowledged=n_(
            "%(count)s acknowledged in time",
            "%(count)s acknowledged in time",
            stats.acknowledged_in_window,
            count=number(stats.acknowledged_in_window),
        ),
    )
    attainment: list[Block] = []
    if stats.attainment is not None:
        attainment = attainment_blocks(stats.attainment)
    return _message(text, [block, footer, *attainment])


def render_who(answer: WhoAnswer) -> Message:
    topic = quoted(answer.topic)
    if not answer.has_directory:
        text = _(
            # Translators: %(example)s and %(file)s are file names: keep them as they are.
            "There is no escalation directory yet: copy %(example)s to %(file)s and fill it in.",
            example="`directory.example.toml`",
            file="`directory.toml`",
        )
        return render_refusal(text)
    if not answer.departments:
        # Translators: no department in the directory matched; the list of departments follows, or this word.
        known = ", ".join(safe_mrkdwn(name, NAME_LIMIT) for name in answer.known) or _("none")
        # Translators: %(topic)s is what the person typed, in quotes; %(departments)s lists every department.
        text = _(
            "No department in the directory mentions %(topic)s. Departments: %(departments)s.",
            topic=topic,
            departments=known,
        )
        return _message(_("No department handles %(topic)s", topic=topic), [_section(text)])
    # Translators: a heading (keep the asterisks: bold); %(topic)s is what the person typed, in quotes.
    blocks: list[Block] = [_section(_("*Who handles %(topic)s*", topic=topic))]
    blocks.extend(_section(department_text(department)) for department in answer.departments[:20])
    hidden = len(answer.departments) - 20
    if hidden > 0:
        blocks.append(
            context_line(
                n_("… and %(count)s more department", "… and %(count)s more departments", hidden, count=number(hidden))
            )
        )
    names = ", ".join(department.name for department in answer.departments)
    # Translators: a notification's text: %(topic)s is what the person typed, %(departments)s the answers.
    text = _("Who handles %(topic)s: %(departments)s", topic=topic, departments=safe_mrkdwn(names, FALLBACK_LIMIT))
    return _message(text, blocks)


def department_text(department: Department) -> str:
    lines = [f"*{safe_mrkdwn(department.name, NAME_LIMIT)}*"]
    if department.handles:
        lines[0] += f" — {safe_mrkdwn(department.handles, DESCRIPTION_LIMIT)}"
    reach: list[str] = []
    # The ids were validated by the directory (C…, U…, S…), so they are safe to wrap in Slack's markup.
    if department.channel:
        channel = f"<#{department.channel}>"
        # Translators: how to reach a department: its Slack channel.
        reach.append(_("channel %(channel)s", channel=channel))
    if department.users:
        people = ", ".join(f"<@{user}>" for user in department.users[:20])
        # Translators: how to reach a department: the people to ask.
        reach.append(_("people %(people)s", people=people))
    if department.user_groups:
        groups = ", ".join(f"<!subteam^{group}>" for group in department.user_groups[:20])
        # Translators: how to reach a department: its Slack user groups.
        reach.append(_("groups %(groups)s", groups=groups))
    if reach:
        lines.append(_("Reach them: %(contacts)s", contacts="; ".join(reach)))
    else:
        lines.append(_("Reach them: no contacts listed"))
    if department.needs_approval:
        # Translators: “Escalate” is the card's button of that name.
        approves = _("A manager approves escalations to them first (Escalate on the card asks).")
        lines.append(f":lock: {approves}")
    else:
        # Translators: “Escalate” is the card's button of that name.
        lines.append(_("Escalate on the card tells them at once."))
    if department.keywords:
        keywords = safe_mrkdwn(", ".join(department.keywords), DESCRIPTION_LIMIT)
        # Translators: the words that lead to this department in `/complaints who`.
        lines.append(italic(_("Keywords: %(keywords)s", keywords=keywords)))
    return "\n".join(lines)
