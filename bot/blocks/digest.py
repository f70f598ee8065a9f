"""The managers' digest as a Slack message: a pure function of a computed `bot.digest.Digest`.

Every list is cut to fit Block Kit (a section's text at most 3,000 characters, a field 2,000) and says how many
it left out ("… and 12 more"); untrusted text (authors' handles, sources, categories) is escaped, and sections that
carry it are `verbatim` so Slack adds no links or mentions of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.attainment import DAY, Attainment, Bucket, ClockFigures, Row
from bot.blocks import Message, context_line
from bot.blocks.text import ELLIPSIS, link_to, safe_mrkdwn, utf16_length
from bot.blocks.when import clock, span
from bot.digest import Breach, Counted, Digest, HourCount, PeriodFigures, WriteUpItem

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
# Lines shown per list before "… and N more": enough to act on, short enough to read on a phone.
BREACHES_SHOWN = 10
OWNERS_SHOWN = 12
FOLLOW_UPS_SHOWN = 8
DEPARTMENTS_SHOWN = 8
# Agents listed under SLA attainment before "… and N more agents" (the CSV export has every one).
AGENTS_SHOWN = 10
HANDLE_LIMIT = 60
NAME_LIMIT = 40
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MINUS = "\N{MINUS SIGN}"
EN_DASH = "\N{EN DASH}"


def digest_message(digest: Digest, tz: ZoneInfo, now: datetime) -> Message:
    """The digest for one manager (the same for all of them). A period without complaints gets a short message
    that says so, still with the backlog and today's follow-ups."""
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_title(digest), emoji=False)),
        context_line(_context_words(digest, now, tz)),
    ]
    if digest.quiet:
        blocks.extend(_quiet_period(digest, now, tz))
    else:
        blocks.extend(_period(digest))
    blocks.extend(_now(digest, now, tz))
    if not digest.quiet:
        blocks.extend(_patterns(digest))
    if digest.weekly and digest.write_ups:
        blocks.append(_section(_write_up_list(digest.write_ups)))
    return Message(text=_fallback(digest, now, tz), blocks=[block.to_dict() for block in blocks])


# -- the period ------------------------------------------------------------------------------------------------------


def _period(digest: Digest) -> list[Block]:
    current, previous, vs = digest.current, digest.previous, _vs_short(digest)
    window = span(digest.ack_window)
    pct = current.acknowledged_in_window_pct
    in_window = f"{current.acknowledged_in_window:,} of {current.received:,}"
    if pct is not None:
        in_window += f" · {pct:.0f}%{_points(pct, previous.acknowledged_in_window_pct, vs)}"
    resolved = f"{current.resolved:,}{_change(current.resolved, previous.resolved, vs)}"
    if current.resolve_median is not None:
        resolved += f"\nmedian {span(current.resolve_median)} from posting"
        resolved += _duration_change(current.resolve_median, previous.resolve_median, vs)
    fields = [
        _field("Received", f"{current.received:,}{_change(current.received, previous.received, vs)}"),
        _field(f"Acknowledged within {window}", in_window),
        _field("Time to acknowledge", _ack_times(current, previous, vs)),
        _field("Breaches", f"{current.breaches:,}{_change(current.breaches, previous.breaches, vs)}"),
        _field("Resolved", resolved),
        _field("Escalations", f"{current.escalations:,}{_change(current.escalations, previous.escalations, vs)}"),
    ]
    blocks: list[Block] = [SectionBlock(fields=fields)]
    if digest.attainment is not None:
        blocks.extend(attainment_blocks(digest.attainment))
    if digest.breaches:
        blocks.append(_section(_breach_list(digest)))
    if digest.escalations_by_department:
        blocks.append(_section(_departments(digest.escalations_by_department)))
    return blocks


def _quiet_period(digest: Digest, now: datetime, tz: ZoneInfo) -> list[Block]:
    lines = [f":zzz: *No complaints {_relative_words(digest, now, tz)}.*"]
    if digest.previous.received:
        lines[0] += f" ({_vs(digest)}: {digest.previous.received:,})"
    # Older complaints still move on a quiet day: say so in one line, and list any breach (it needs a look).
    also = []
    if digest.current.resolved:
        also.append(f"{digest.current.resolved:,} resolved")
    if digest.current.breaches:
        also.append(f"{digest.current.breaches:,} breach{'es' if digest.current.breaches != 1 else ''}")
    if digest.current.escalations:
        also.append(f"{digest.current.escalations:,} escalated")
    if also:
        lines.append(f"Of older complaints: {', '.join(also)}.")
    blocks: list[Block] = [_section("\n".join(lines))]
    if digest.breaches:
        blocks.append(_section(_breach_list(digest)))
    return blocks


def _ack_times(current: PeriodFigures, previous: PeriodFigures, vs: str) -> str:
    if current.ack_median is None:
        return "none acknowledged yet"
    text = f"median {span(current.ack_median)}{_duration_change(current.ack_median, previous.ack_median, vs)}"
    if current.ack_p90 is not None:
        text += f"\n90% within {span(current.ack_p90)}{_duration_change(current.ack_p90, previous.ack_p90, vs)}"
    return text


def _breach_list(digest: Digest) -> str:
    lines = [_breach_line(breach) for breach in digest.breaches]
    total = digest.current.breaches
    head = f":rotating_light: *Breaches* ({total:,})"
    return _bullets(head, lines, total=max(total, len(lines)), shown=BREACHES_SHOWN)


def _breach_line(breach: Breach) -> str:
    what = "acknowledge" if breach.clock == "acknowledge" else "resolve"
    if breach.still_open:
        lateness = f"not {what}d yet, {span(breach.late)} past the deadline"
    else:
        lateness = f"{what}d {span(breach.late)} late"
    return f"{_complaint_link(breach.complaint_id, breach.permalink)} {_handle(breach.author_handle)} · {lateness}"


def _departments(departments: Sequence[Counted]) -> str:
    lines = [
        f"{safe_mrkdwn(row.name, NAME_LIMIT)}: {row.count:,}{_change(row.count, row.previous, '')}"
        for row in departments
    ]
    return _bullets(":arrow_up: *Escalations by department*", lines, total=len(lines), shown=DEPARTMENTS_SHOWN)


# -- SLA attainment (also under `/complaints stats`) ------------------------------------------------------------------


def attainment_blocks(attainment: Attainment) -> list[Block]:
    """The team's and each agent's share within the windows and their times for the whole period, then the team's
    figures by day or by week (whichever was computed; days first). Nothing when no complaint was posted."""
    if attainment.empty:
        return []
    whole = attainment.whole
    counted = " (business hours)" if attainment.business_hours else ""
    head = (
        f":stopwatch: *Within the windows* \N{EM DASH} acknowledge {span(attainment.ack_window)}, "
        f"resolve {span(attainment.resolve_window)}{counted}\n{attainment_line('*Team*', whole.team)}"
    )
    lines = [attainment_line(f"<@{row.agent}>", row) for row in whole.agents]
    if whole.unclaimed is not None:
        lines.append(attainment_line("Unclaimed", whole.unclaimed))
    blocks: list[Block] = [
        _section(_bullets(head, lines, total=len(lines), shown=AGENTS_SHOWN, more="more agents") if lines else head)
    ]
    buckets = attainment.days or attainment.weeks
    if len(buckets) > 1:
        title = "By day" if buckets[0].kind == DAY else "By week"
        rows = [attainment_line(_bucket_words(bucket), bucket.team) for bucket in buckets]
        blocks.append(_section(_bullets(f"*{title}* (the team)", rows, total=len(rows), shown=len(rows))))
    note = "Counted from posting; agents are who acknowledged or resolved (missed and still open: the owner)."
    blocks.append(context_line(note + " Still in their window: not counted yet."))
    return blocks


def attainment_line(who: str, row: Row) -> str:
    """`<@U0ANA>: acknowledged 3 of 4 in time (75%), median 20 min, 90% within 40 min · resolved 2 of 2 …`"""
    return f"{who}: {_clock_words('acknowledged', row.ack)} · {_clock_words('resolved', row.resolve)}"


def _clock_words(what: str, figures: ClockFigures) -> str:
    if not figures.due:
        text = f"{what}: none due yet" if figures.pending else f"{what}: none"
    else:
        text = f"{what} {figures.in_window:,} of {figures.due:,} in time ({figures.percent:.0f}%)"
    if figures.median is not None and figures.p90 is not None:
        text += f", median {span(figures.median)}, 90% within {span(figures.p90)}"
    if figures.pending and figures.due:
        text += f"; {figures.pending:,} still in the window"
    return text


def _bucket_words(bucket: Bucket) -> str:
    if bucket.first_day == bucket.last_day:
        return _day_words(bucket.first_day)
    first, last = bucket.first_day, bucket.last_day
    return f"{_day_words(first)} {EN_DASH} {_day_words(last)}"


# -- now -------------------------------------------------------------------------------------------------------------


def _now(digest: Digest, now: datetime, tz: ZoneInfo) -> list[Block]:
    blocks: list[Block] = [DividerBlock()]
    if digest.open_total:
        lines = [
            f"{'Unclaimed' if row.owner_id is None else f'<@{row.owner_id}>'}: {row.open:,}"
            + (f" ({row.unacknowledged:,} not acknowledged)" if row.unacknowledged else "")
            for row in digest.backlog
        ]
        head = f":inbox_tray: *Open now: {digest.open_total:,}*"
        blocks.append(_section(_bullets(head, lines, total=len(lines), shown=OWNERS_SHOWN, more="more owners")))
    else:
        blocks.append(_section(":white_check_mark: *Open now: none.* Every complaint is resolved."))
    if digest.oldest_open is not None:
        oldest = digest.oldest_open
        owner = f"<@{oldest.owner_id}>" if oldest.owner_id else "unclaimed"
        blocks.append(
            _section(
                f":hourglass: *Oldest open:* {_complaint_link(oldest.complaint_id, oldest.permalink)} "
                f"{_handle(oldest.author_handle)}, posted {clock(oldest.posted_at, now, tz)} "
                f"({span(oldest.age)} ago), {owner}"
            )
        )
    if digest.follow_ups_today_total or digest.follow_ups_overdue:
        head = f":calendar: *Follow-ups due today: {digest.follow_ups_today_total:,}*"
        if digest.follow_ups_overdue:
            head += f" (and {digest.follow_ups_overdue:,} overdue from earlier days)"
        lines = [
            f"{clock(item.due_at, now, tz)} <@{item.assignee}> · {_complaint_link(item.complaint_id, item.permalink)}"
            + (" (reminded)" if item.status == "sent" else "")
            for item in digest.follow_ups_today
        ]
        blocks.append(_section(_bullets(head, lines, total=digest.follow_ups_today_total, shown=FOLLOW_UPS_SHOWN)))
    return blocks


# -- patterns --------------------------------------------------------------------------------------------------------


def _patterns(digest: Digest) -> list[Block]:
    fields = [
        _field("Top sources", _ranked_lines(digest.top_sources)),
        _field("Top categories", _ranked_lines(digest.top_categories)),
        _field("Busiest hours", _hour_lines(digest.busiest_hours)),
    ]
    return [
        DividerBlock(),
        SectionBlock(fields=fields),
        context_line(f"Changes in brackets are against {_vs(digest)}. Hours are {digest.tz_name} time."),
    ]


def _ranked_lines(rows: Sequence[Counted]) -> str:
    if not rows:
        return "none"
    return "\n".join(
        f"{safe_mrkdwn(row.name, NAME_LIMIT)} {row.count:,}{_change(row.count, row.previous, '')}" for row in rows
    )


def _hour_lines(rows: Sequence[HourCount]) -> str:
    if not rows:
        return "none"
    return "\n".join(
        f"{row.hour:02d}:00{EN_DASH}{(row.hour + 1) % 24:02d}:00 {row.count:,}{_change(row.count, row.previous, '')}"
        for row in rows
    )


# -- words -----------------------------------------------------------------------------------------------------------


def _title(digest: Digest) -> str:
    if digest.weekly:
        return f"Weekly digest · {_range_words(digest)}"
    return f"Daily digest · {_day_words(digest.period.first_day)}"


def _day_words(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.day} {day.strftime('%b')}"


def _range_words(digest: Digest) -> str:
    first, last = digest.period.first_day, digest.period.last_day
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}{EN_DASH}{last.day} {last.strftime('%b %Y')}"
    return f"{first.day} {first.strftime('%b')} {EN_DASH} {last.day} {last.strftime('%b %Y')}"


def _relative_words(digest: Digest, now: datetime, tz: ZoneInfo) -> str:
    """`yesterday` / `last week` when the period ends yesterday (the usual case), else `on Monday 12 May`."""
    ends_yesterday = (now.astimezone(tz).date() - digest.period.last_day).days == 1
    if digest.weekly:
        return "last week" if ends_yesterday else f"in the week {_range_words(digest)}"
    return "yesterday" if ends_yesterday else f"on {_day_words(digest.period.first_day)}"


def _context_words(digest: Digest, now: datetime, tz: ZoneInfo) -> str:
    """`Yesterday in Europe/Paris, compared with Monday.` under the title."""
    if digest.weekly:
        when = f"{digest.period.days} days to {_day_words(digest.period.last_day)}"
    else:
        when = _relative_words(digest, now, tz).removeprefix("on ")
    text = f"{when[0].upper()}{when[1:]} in {digest.tz_name}"
    return f"{text}." if digest.quiet else f"{text}, compared with {_vs(digest)}."


def _vs(digest: Digest) -> str:
    if digest.weekly:
        return "the week before"
    return WEEKDAYS[digest.previous_period.first_day.weekday()]


def _vs_short(digest: Digest) -> str:
    return f" vs {_vs(digest)}"


def _change(current: int, previous: int, vs: str) -> str:
    """` (+3 vs Monday)`; with an empty `vs`, the short ` (+3)` used in lists."""
    difference = current - previous
    if difference == 0:
        return f" (same as {vs.removeprefix(' vs ')})" if vs else " (\N{PLUS-MINUS SIGN}0)"
    sign = "+" if difference > 0 else MINUS
    return f" ({sign}{abs(difference):,}{vs})"


def _points(current: float, previous: float | None, vs: str) -> str:
    if previous is None:
        return ""
    difference = round(current) - round(previous)
    if difference == 0:
        return f" (same as {vs.removeprefix(' vs ')})"
    sign = "+" if difference > 0 else MINUS
    return f" ({sign}{abs(difference):,} pts{vs})"


def _duration_change(current: timedelta, previous: timedelta | None, vs: str) -> str:
    if previous is None:
        return ""
    difference = current - previous
    if abs(difference) < timedelta(minutes=1):
        return f" (same as {vs.removeprefix(' vs ')})"
    sign = "+" if difference > timedelta(0) else MINUS
    return f" ({sign}{span(abs(difference))}{vs})"


def _fallback(digest: Digest, now: datetime, tz: ZoneInfo) -> str:
    kind = "Weekly" if digest.weekly else "Daily"
    open_now = f"{digest.open_total:,} open now"
    if digest.quiet:
        return f"{kind} digest: no complaints {_relative_words(digest, now, tz)}; {open_now}."
    current = digest.current
    pct = current.acknowledged_in_window_pct or 0.0
    breaches = f"{current.breaches:,} breach{'es' if current.breaches != 1 else ''}"
    return (
        f"{_title(digest)}: {current.received:,} complaints, {pct:.0f}% acknowledged within {span(digest.ack_window)}, "
        f"{breaches}, {current.resolved:,} resolved; {open_now}."
    )


def _write_up_list(write_ups: Sequence[WriteUpItem]) -> str:
    """The week's hard cases, each with what happened and what the team learned (strangers' text stays text)."""
    lines = [
        f"{_complaint_link(item.complaint_id, item.permalink)} {_handle(item.author_handle)}, by <@{item.written_by}>: "
        f"{safe_mrkdwn(item.what_happened, 300)} — _learned:_ {safe_mrkdwn(item.what_we_learned, 300)}"
        for item in write_ups
    ]
    return _bullets(":memo: *Written up this week*", lines, total=len(write_ups), shown=len(write_ups))


# -- blocks and safe text --------------------------------------------------------------------------------------------


def _field(title: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=_fit(f"*{title}*\n{value}", FIELD_LIMIT), verbatim=True)


def _section(text: str) -> SectionBlock:
    # verbatim: handles and names are strangers' text; Slack must not turn "@here" or a URL in them into anything.
    return SectionBlock(text=MarkdownTextObject(text=_fit(text, SECTION_LIMIT), verbatim=True))


def _bullets(head: str, lines: Sequence[str], *, total: int, shown: int, more: str = "more") -> str:
    """`head`, then up to `shown` bullet lines that fit in a section, then "… and N more" for the rest of `total`
    (which may exceed len(lines) when the query itself was capped)."""
    text = head
    # Room for the longest tail "\n… and 1,000,000 owners" so the cut line always fits.
    budget = SECTION_LIMIT - utf16_length(f"\n{ELLIPSIS} and {total:,} {more}")
    used = 0
    for line in lines[:shown]:
        candidate = f"{text}\n• {line}"
        if utf16_length(candidate) > budget:
            break
        text, used = candidate, used + 1
    if total > used:
        text += f"\n{ELLIPSIS} and {total - used:,} {more}"
    return text


def _fit(text: str, limit: int) -> str:
    """Our own mrkdwn is built to fit; this is the last guard (cut at a line end, never inside a link)."""
    if utf16_length(text) <= limit:
        return text
    kept = text
    while utf16_length(kept) > limit - 1 and "\n" in kept:
        kept = kept.rsplit("\n", 1)[0]
    while utf16_length(kept) > limit - 1:  # one line too long on its own: not reached with the limits above
        kept = kept[:-1]
    return kept + ELLIPSIS


def _handle(handle: str) -> str:
    return f"@{safe_mrkdwn(handle.lstrip('@'), HANDLE_LIMIT)}"


def _complaint_link(complaint_id: int, permalink: str | None) -> str:
    """`<permalink|#42>` to the card, or a plain `#42` when there is no card yet or the link is not a clean URL."""
    return link_to(permalink, f"#{complaint_id}") or f"#{complaint_id}"


def digest_period_words(digest: Digest) -> str:
    """The period a digest covers, as its title says it ("Sat 21 Nov", "16–22 Nov 2026")."""
    return _range_words(digest) if digest.weekly else _day_words(digest.period.first_day)
