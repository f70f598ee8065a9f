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

from bot.blocks import Message, context_line, customer_words, ids
from bot.blocks.card import followers
from bot.blocks.digest import attainment_blocks
from bot.blocks.text import at_a_glance, link_to, mention, plain_chunks, safe_mrkdwn
from bot.blocks.when import clock, span
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
# Columns of a customer's words a list shows for each complaint (one line: whitespace is collapsed).
EXCERPT = 280
# Blocks of one complaint's record that may carry its words and its later posts': with the dozen others (state,
# history, paging) well within the 50 of a message. A 40,000-character post needs at most 27.
WORDS_BLOCKS = 34
NAME_LIMIT = 60
REASON_LIMIT = 200
TOPIC_LIMIT = 100
DESCRIPTION_LIMIT = 500
MORE = "More"
_WHITESPACE = re.compile(r"\s+")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

HELP_LINES = (
    ("<id>", "one complaint (`42` or `#42`): its state, history, escalations and follow-ups, and a link to its card"),
    ("open", "open complaints, high priority first, then by deadline, with the time left"),
    ("mine", "the open complaints you own"),
    ("overdue", "open complaints past their deadline"),
    ("@handle", "everything from one author"),
    ("search <words>", "complaints with all these words in their text, newest first"),
    (
        "stats [today|7d|30d]",
        "received, acknowledged in time, median time to acknowledge, breaches, resolved; SLA attainment per agent",
    ),
    ("who <topic>", "which department handles it and how to reach them"),
    ("digest", "a preview of today's digest, just for you"),
    ("export [7d|30d]", "CSV file (managers)"),
    ("export attainment [7d|30d]", "SLA attainment per agent and team, by day and week, as a CSV file (managers)"),
    ("help", "this list"),
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
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def quoted(typed: str, limit: int = TOPIC_LIMIT) -> str:
    """Something a person typed, shown back to them: escaped, cut, in quotes."""
    return f"“{safe_mrkdwn(_WHITESPACE.sub(' ', typed).strip(), limit)}”"


# -- help and refusals -----------------------------------------------------------------------------------------------


def render_help(unknown: str | None = None) -> Message:
    # `<id>` is Slack markup even inside backticks: the usage is escaped like any other text.
    lines = [f"`/complaints {safe_mrkdwn(name, NAME_LIMIT)}` — {what}" for name, what in HELP_LINES]
    intro = "*`/complaints` answers only you.* Lookups:"
    if unknown is not None:
        intro = f"I don't know {quoted(unknown, 60)}. " + intro
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
        nothing = empty if page.offset == 0 else "No more complaints here; type the command again to start over."
        return _message(f"{_plain(title)}: {nothing}", [_section(f"*{title}*\n{nothing}")])
    blocks: list[Block] = [_section(f"*{title}*")]
    for line in page.items:
        blocks.extend(complaint_entry(line, now, tz, show_owner=kind is not ListKind.MINE))
    blocks.extend(_paging(page, more_value))
    return _message(f"{_plain(title)}: {showing(page)}", blocks)


def _list_title(kind: ListKind, subject: str) -> tuple[str, str]:
    if kind is ListKind.MINE:
        return "Your open complaints, high priority first, then by deadline", "You own no open complaints."
    if kind is ListKind.OVERDUE:
        return "Overdue complaints, high priority first, most overdue first", "Nothing is overdue. :tada:"
    if kind is ListKind.AUTHOR:
        handle = safe_mrkdwn(subject, NAME_LIMIT)
        return f"Complaints from @{handle}, newest first", f"No complaints from @{handle}."
    if kind is ListKind.SEARCH:
        return f"Complaints with {quoted(subject)}, newest first", f"No complaint has all of {quoted(subject)}."
    return "Open complaints, high priority first, then by deadline", "No open complaints. :tada:"


def _plain(title: str) -> str:
    return title.replace("*", "")


def showing(page: Page[object]) -> str:
    total = f"more than {page.total:,}" if page.total_is_floor else f"{page.total:,}"
    return f"Showing {page.first:,}–{page.last:,} of {total}"


def _paging(page: Page[object], more_value: str | None, what: str = "") -> list[Block]:
    blocks: list[Block] = [context_line(f"{what}{showing(page)}")]
    if more_value is not None:
        blocks.append(ActionsBlock(elements=[ButtonElement(text=MORE, action_id=ids.LOOKUP_MORE, value=more_value)]))
    return blocks


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
        head += " :red_circle: *High*"
    owner = ""
    if show_owner:
        owner = f" · Owner {mention(line.owner_id)}" if line.owner_id else " · Unclaimed"
    tail = deadline_phrase(line, now, tz)
    card = link_to(line.permalink, "Open the card")
    if card:
        tail += f" · {card}"
    return f"{head} · {author(line.author_handle, line.author_name)} on {source_name(line.source)}{owner}\n{tail}"


def author(handle: str, name: str | None) -> str:
    shown = f"@{safe_mrkdwn(handle.lstrip('@'), NAME_LIMIT)}"
    return f"*{safe_mrkdwn(name, NAME_LIMIT)}* {shown}" if name else f"*{shown}*"


def source_name(source: str) -> str:
    """Lookups list sources, not adapters: a network's own source name reads as the network."""
    return safe_mrkdwn(source_label(source, source), NAME_LIMIT)


def deadline_phrase(line: ComplaintLine, now: datetime, tz: ZoneInfo) -> str:
    if line.status == Status.RESOLVED:
        when = f" {clock(line.resolved_at, now, tz)}" if line.resolved_at else ""
        return f":white_check_mark: Resolved{when}"
    what = "Acknowledge" if line.acknowledged_at is None else "Resolve"
    left = line.next_deadline - now
    if left <= timedelta(0):
        return f":rotating_light: *{what} overdue by {span(-left)}*"
    return f":hourglass_flowing_sand: {what} by {clock(line.next_deadline, now, tz)} — {span(left)} left"


# -- one complaint ---------------------------------------------------------------------------------------------------


def render_complaint_record(record: ComplaintRecord, now: datetime, tz: ZoneInfo, more_value: str | None) -> Message:
    line = record.line
    who = f":speech_balloon: {author(line.author_handle, line.author_name)}"
    if record.author_followers is not None:
        who += f" ({followers(record.author_followers)} followers)"
    where = link_to(record.url, source_label(line.source, line.source), NAME_LIMIT) or source_name(line.source)
    who += f" on {where} — complaint *#{line.complaint_id}*"
    blocks: list[Block] = [_section(who), *_words(record, now, tz), _section(_state(record, now, tz))]
    if record.escalations:
        blocks.append(_section(_escalations(record)))
    if record.follow_ups:
        blocks.append(_section(_follow_ups(record, now, tz)))
    card = link_to(line.permalink, "Open the card") or "_The card is not in Slack yet._"
    posted = f"Posted {clock(line.posted_at, now, tz)}"
    if record.extra_posts:
        posted += f" · +{record.extra_posts} more in the card's thread"
    blocks.append(context_line(f"{posted} · {card}"))
    history = record.history
    if history.items:
        lines = [history_line(entry, now, tz) for entry in history.items]
        heading = "*History* (oldest first)"
        blocks.extend(_section(chunk) for chunk in _chunks([heading, *lines], SECTION_LIMIT))
        blocks.extend(_paging(history, more_value, "History: "))
    elif history.offset:
        blocks.append(context_line("No more history; type the command again to start over."))
    text = f"Complaint #{line.complaint_id} from @{safe_mrkdwn(line.author_handle.lstrip('@'), NAME_LIMIT)}"
    return _message(text, blocks)


def _words(record: ComplaintRecord, now: datetime, tz: ZoneInfo) -> list[Block]:
    """The whole of what the customer wrote, as plain text (a card shows it at a glance), then each later post of
    the conversation under the time it was posted; within WORDS_BLOCKS, saying so should the rest not fit."""
    blocks: list[Block] = [customer_words(chunk) for chunk in plain_chunks(record.text) or [""]]
    for post in record.posts:
        link = link_to(post.url, "the post")
        blocks.append(context_line(f"Then, {clock(post.posted_at, now, tz)}" + (f" · {link}" if link else "")))
        blocks.extend(customer_words(chunk) for chunk in plain_chunks(post.text) or [""])
    hidden = record.extra_posts - len(record.posts)
    if len(blocks) > WORDS_BLOCKS or hidden > 0:
        blocks = blocks[: WORDS_BLOCKS - 1]
        blocks.append(context_line("_The rest of the conversation is in the card's thread._"))
    return blocks


# StrEnum members hash like their values, so these look up the stored strings directly.
_STATUS_WORDS = {Status.NEW: "New", Status.ACKNOWLEDGED: "Acknowledged", Status.RESOLVED: "Resolved"}
_FOLLOW_UP_WORDS = {
    FollowUpStatus.SCHEDULED: "due",
    FollowUpStatus.SENT: "reminded, not done yet; was due",
    FollowUpStatus.DONE: "done; was due",
    FollowUpStatus.CANCELLED: "cancelled; was due",
}


def _state(record: ComplaintRecord, now: datetime, tz: ZoneInfo) -> str:
    line = record.line
    head = f"*{safe_mrkdwn(_STATUS_WORDS.get(line.status, line.status), NAME_LIMIT)}*"
    if line.priority == "high":
        reasons = " · ".join(safe_mrkdwn(reason, REASON_LIMIT) for reason in record.triage_reasons)
        head += " · :red_circle: *High priority*" + (f" — {reasons}" if reasons else "")
    if record.category:
        head += f" · {safe_mrkdwn(record.category, NAME_LIMIT)}"
    lines = [head]
    if line.owner_id:
        since = f" since {clock(record.claimed_at, now, tz)}" if record.claimed_at else ""
        lines.append(f":bust_in_silhouette: Owner {mention(line.owner_id)}{since}")
    else:
        lines.append(":bust_in_silhouette: Unclaimed")
    if line.acknowledged_at is not None:
        taken = span(line.acknowledged_at - line.posted_at)
        lines.append(
            f":white_check_mark: Acknowledged by {mention(record.acknowledged_by)} at "
            f"{clock(line.acknowledged_at, now, tz)} ({taken} after posting; due {clock(line.ack_deadline, now, tz)})"
        )
    if line.status == Status.RESOLVED:
        note = f" — {safe_mrkdwn(record.resolution_note, REASON_LIMIT)}" if record.resolution_note else ""
        when = clock(line.resolved_at, now, tz) if line.resolved_at else "?"
        lines.append(f":white_check_mark: Resolved by {mention(record.resolved_by)} at {when}{note}")
    else:
        lines.append(deadline_phrase(line, now, tz))
    return "\n".join(lines)


def _escalations(record: ComplaintRecord) -> str:
    lines = [f"*Escalations* ({record.escalations_total})"]
    lines.extend(escalation_line(entry) for entry in record.escalations)
    earlier = record.escalations_total - len(record.escalations)
    if earlier > 0:
        lines.append(f"_… and {earlier} earlier, in the history_")
    return _fit(lines)


def escalation_line(entry: EscalationEntry) -> str:
    department = safe_mrkdwn(entry.department_name, NAME_LIMIT)
    reason = safe_mrkdwn(entry.reason, REASON_LIMIT)
    line = f":arrow_up: *{department}* ({safe_mrkdwn(entry.severity, 20)}) by {mention(entry.requested_by)} — {reason}"
    if entry.status == EscalationStatus.AWAITING_APPROVAL:
        return f"{line} _(waiting for a manager's approval)_"
    if entry.status == EscalationStatus.DECLINED:
        return f"{line} _(declined by {mention(entry.decided_by)})_"
    if entry.status == EscalationStatus.ACCEPTED:
        return f"{line} · accepted by {mention(entry.accepted_by)}"
    return f"{line} _(not accepted yet)_"


def _follow_ups(record: ComplaintRecord, now: datetime, tz: ZoneInfo) -> str:
    lines = [f"*Follow-ups* ({record.follow_ups_total})"]
    lines.extend(follow_up_line(entry, now, tz) for entry in record.follow_ups)
    earlier = record.follow_ups_total - len(record.follow_ups)
    if earlier > 0:
        lines.append(f"_… and {earlier} earlier, in the history_")
    return _fit(lines)


def follow_up_line(entry: FollowUpEntry, now: datetime, tz: ZoneInfo, *, with_assignee: bool = True) -> str:
    state = _FOLLOW_UP_WORDS.get(entry.status, entry.status)
    waiting = entry.status in (FollowUpStatus.SCHEDULED, FollowUpStatus.SENT)
    overdue = " :warning: overdue" if waiting and entry.due_at < now else ""
    line = f":calendar: {state} {clock(entry.due_at, now, tz)}{overdue}"
    if with_assignee:
        line += f" with {mention(entry.assignee)}"
    if entry.note:
        line += f" — {safe_mrkdwn(entry.note, REASON_LIMIT)}"
    return line


_HISTORY_WORDS = {
    Action.RECEIVE.value: "received it",
    Action.JOIN.value: "wrote again in the same conversation",
    Action.CLAIM.value: "claimed it",
    Action.RELEASE.value: "released it",
    Action.REASSIGN.value: "reassigned it",
    Action.ACKNOWLEDGE.value: "acknowledged it",
    Action.ESCALATE.value: "escalated it",
    Action.APPROVE_ESCALATION.value: "approved the escalation",
    Action.DECLINE_ESCALATION.value: "declined the escalation",
    Action.ACCEPT_ESCALATION.value: "accepted the escalation",
    Action.SCHEDULE_FOLLOW_UP.value: "scheduled a follow-up",
    Action.SEND_FOLLOW_UP.value: "sent the follow-up reminder",
    Action.FINISH_FOLLOW_UP.value: "finished the follow-up",
    Action.SNOOZE_FOLLOW_UP.value: "snoozed the follow-up",
    Action.CANCEL_FOLLOW_UP.value: "cancelled the follow-up",
    Action.RESOLVE.value: "resolved it",
    Action.REOPEN.value: "reopened it",
    Action.NAG.value: "sent a reminder",
    Action.BREACH.value: ":rotating_light: recorded a breach; managers were told",
    Action.REMIND.value: ":rotating_light: reminded managers of the breach",
    Action.SNOOZE_RESOLUTION.value: "snoozed the resolution reminders",
}


def history_line(entry: HistoryEntry, now: datetime, tz: ZoneInfo) -> str:
    """Who, what, when: `Wed 25 Nov 10:15 · @ana claimed it`."""
    if entry.actor_is_person:
        who = mention(entry.actor)
    elif entry.actor == "scheduler":
        who = "Heard"
    else:
        who = source_name(entry.actor)
    what = _HISTORY_WORDS.get(entry.action) or safe_mrkdwn(entry.action, NAME_LIMIT)
    detail = entry.detail
    extras: list[str] = []
    if entry.action == Action.REASSIGN.value and detail.get("to"):
        what = f"reassigned it to {mention(str(detail['to']))}"
    if entry.action == Action.ASSIGN.value and detail.get("to"):
        what = f"assigned it to {mention(str(detail['to']))} by rotation"
    if detail.get("department"):
        extras.append(safe_mrkdwn(str(detail["department"]), NAME_LIMIT))
    if detail.get("clock"):
        extras.append(f"{safe_mrkdwn(str(detail['clock']), 20)} clock")
    if detail.get("late_seconds"):
        extras.append("late")
    if entry.action == Action.RECEIVE.value and detail.get("priority") == "high":
        extras.append("high priority")
    if detail.get("note"):
        extras.append(safe_mrkdwn(str(detail["note"]), REASON_LIMIT))
    suffix = f" ({'; '.join(extras)})" if extras else ""
    return f"`{clock(entry.at, now, tz)}` {who} {what}{suffix}"


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


_PERIOD_WORDS = {"today": "Today", "7d": "The last 7 days", "30d": "The last 30 days"}


def render_stats(stats: Stats, tz: ZoneInfo, ack_window: timedelta) -> Message:
    since = (
        clock(stats.start, stats.end, tz)
        if stats.period == "today"
        else stats.start.astimezone(tz).strftime("%a %d %b")
    )
    title = f"*{_PERIOD_WORDS.get(stats.period, stats.period)}* (since {since}, {tz.key})"
    percent = f" ({stats.in_window_percent:.0f}%)" if stats.in_window_percent is not None else ""
    median = span(stats.ack_median) if stats.ack_median is not None else "—"
    sources = ", ".join(f"{source_name(name)} {count:,}" for name, count in stats.top_sources) or "—"
    fields = [
        f"*Received*\n{stats.received:,}",
        f"*Acknowledged within {span(ack_window)}*\n{stats.acknowledged_in_window:,}{percent}",
        f"*Median time to acknowledge*\n{median}",
        f"*Breaches*\n{stats.breaches:,}",
        f"*Resolved*\n{stats.resolved:,}",
        f"*Top sources*\n{sources}",
    ]
    block = SectionBlock(
        text=MarkdownTextObject(text=title),
        fields=[MarkdownTextObject(text=field, verbatim=True) for field in fields],
    )
    footer = context_line("Complaints count on the day they were posted; breaches and resolutions when they happened.")
    text = f"{_plain(title)}: {stats.received:,} received, {stats.acknowledged_in_window:,} acknowledged in time"
    attainment: list[Block] = []
    if stats.attainment is not None:
        attainment = attainment_blocks(stats.attainment)
    return _message(text, [block, footer, *attainment])


def render_who(answer: WhoAnswer) -> Message:
    topic = quoted(answer.topic)
    if not answer.has_directory:
        text = "There is no escalation directory yet: copy `directory.example.toml` to `directory.toml` and fill it in."
        return render_refusal(text)
    if not answer.departments:
        known = ", ".join(safe_mrkdwn(name, NAME_LIMIT) for name in answer.known) or "none"
        text = f"No department in the directory mentions {topic}. Departments: {known}."
        return _message(f"No department handles {topic}", [_section(text)])
    blocks: list[Block] = [_section(f"*Who handles {topic}*")]
    blocks.extend(_section(department_text(department)) for department in answer.departments[:20])
    if len(answer.departments) > 20:
        blocks.append(context_line(f"… and {len(answer.departments) - 20} more departments"))
    names = ", ".join(department.name for department in answer.departments)
    return _message(f"Who handles {topic}: {safe_mrkdwn(names, FALLBACK_LIMIT)}", blocks)


def department_text(department: Department) -> str:
    lines = [f"*{safe_mrkdwn(department.name, NAME_LIMIT)}*"]
    if department.handles:
        lines[0] += f" — {safe_mrkdwn(department.handles, DESCRIPTION_LIMIT)}"
    reach: list[str] = []
    # The ids were validated by the directory (C…, U…, S…), so they are safe to wrap in Slack's markup.
    if department.channel:
        reach.append(f"channel <#{department.channel}>")
    if department.users:
        reach.append("people " + ", ".join(f"<@{user}>" for user in department.users[:20]))
    if department.user_groups:
        reach.append("groups " + ", ".join(f"<!subteam^{group}>" for group in department.user_groups[:20]))
    lines.append("Reach them: " + ("; ".join(reach) if reach else "no contacts listed"))
    if department.needs_approval:
        lines.append(":lock: A manager approves escalations to them first (Escalate on the card asks).")
    else:
        lines.append("Escalate on the card tells them at once.")
    if department.keywords:
        lines.append(f"_Keywords: {safe_mrkdwn(', '.join(department.keywords), DESCRIPTION_LIMIT)}_")
    return "\n".join(lines)
