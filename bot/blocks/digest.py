"""The managers' digest as a Slack message: a pure function of a computed `bot.digest.Digest`.

Every list is cut to fit Block Kit (a section's text at most 3,000 characters, a field 2,000) and says how many
it left out ("… and 12 more"); untrusted text (authors' handles, sources, categories) is escaped, and sections that
carry it are `verbatim` so Slack adds no links or mentions of its own. E-mail addresses, phone numbers and card
numbers in handles and write-ups are masked: the digest goes beyond the care team's cards (a channel, DMs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
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
from bot.blocks import Message, as_dicts, context_line
from bot.blocks.figures import MINUS, day_range, day_words, hour_range, number, percent, signed, weekday
from bot.blocks.text import ELLIPSIS, link_to, mention, safe_mrkdwn, safe_plain, utf16_length
from bot.blocks.when import clock, span
from bot.digest import UNCATEGORISED, Breach, Counted, Digest, HourCount, PeriodFigures, WriteUpItem
from bot.i18n import _, _c, n_
from bot.personal_data import mask

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
# Lines shown per list before "… and N more": enough to act on, short enough to read on a phone.
BREACHES_SHOWN = 10
OWNERS_SHOWN = 12
FOLLOW_UPS_SHOWN = 8
DEPARTMENTS_SHOWN = 8
# Agents listed under SLA attainment before "… and N more agents" (the CSV export has every one).
AGENTS_SHOWN = 10
HANDLE_LIMIT = 60
NAME_LIMIT = 40
EN_DASH = "\N{EN DASH}"
# The longest "… and N more" a list may end with, in any language: room is kept for it when a list is cut.
TAIL_ROOM = 200


def digest_message(digest: Digest, tz: ZoneInfo, now: datetime) -> Message:
    """The digest for one manager (the same for all of them). A period without complaints gets a short message
    that says so, still with the backlog and today's follow-ups."""
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=safe_plain(_title(digest), HEADER_LIMIT), emoji=False)),
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
    if digest.weekly and digest.redacted_under_retention:
        count = digest.redacted_under_retention
        # Translators: in the weekly digest; the retention policy is PERSONAL_DATA_RETENTION.
        redacted = n_(
            ":wastebasket: %(count)s complaint's personal data redacted under the retention policy",
            ":wastebasket: %(count)s complaints' personal data redacted under the retention policy",
            count,
        )
        blocks.append(_section(redacted))
    return Message(text=_fallback(digest, now, tz), blocks=as_dicts(blocks))


# -- the period ------------------------------------------------------------------------------------------------------


def _period(digest: Digest) -> list[Block]:
    current, previous, vs = digest.current, digest.previous, _vs(digest)
    pct = current.acknowledged_in_window_pct
    # Translators: how many of the period's complaints were acknowledged within the window, e.g. "5 of 7".
    in_window = _(
        "%(count)s of %(total)s", count=number(current.acknowledged_in_window), total=number(current.received)
    )
    if pct is not None:
        in_window += f" · {percent(pct)}{_points(pct, previous.acknowledged_in_window_pct, vs)}"
    resolved = f"{number(current.resolved)}{_change(current.resolved, previous.resolved, vs)}"
    if current.resolve_median is not None:
        # Translators: the median time from the customer's post to the complaint's resolution.
        median = _("median %(duration)s from posting", duration=span(current.resolve_median))
        resolved += f"\n{median}{_duration_change(current.resolve_median, previous.resolve_median, vs)}"
    fields = [
        _field(_("Received"), f"{number(current.received)}{_change(current.received, previous.received, vs)}"),
        _field(_("Acknowledged within %(duration)s", duration=span(digest.ack_window)), in_window),
        _field(_("Time to acknowledge"), _ack_times(current, previous, vs)),
        _field(_("Breaches"), f"{number(current.breaches)}{_change(current.breaches, previous.breaches, vs)}"),
        _field(_c("figure", "Resolved"), resolved),
        # Translators: a figure's label: how many escalations to departments were asked for.
        _field(
            _("Escalations"), f"{number(current.escalations)}{_change(current.escalations, previous.escalations, vs)}"
        ),
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
    line = _no_complaints(digest, now, tz)
    if digest.previous.received:
        # Translators: after "No complaints yesterday.": how many the period compared with had.
        line += " " + _("(%(period)s: %(count)s)", period=_vs(digest), count=number(digest.previous.received))
    lines = [f":zzz: {line}"]
    # Older complaints still move on a quiet day: say so in one line, and list any breach (it needs a look).
    also = []
    current = digest.current
    if current.resolved:
        also.append(n_("%(count)s resolved", "%(count)s resolved", current.resolved, count=number(current.resolved)))
    if current.breaches:
        also.append(_breaches(current.breaches))
    if current.escalations:
        also.append(
            n_("%(count)s escalated", "%(count)s escalated", current.escalations, count=number(current.escalations))
        )
    if also:
        # Translators: on a day without new complaints, what happened to older ones, e.g. "3 resolved, 1 breach".
        lines.append(_("Of older complaints: %(figures)s.", figures=", ".join(also)))
    blocks: list[Block] = [_section("\n".join(lines))]
    if digest.breaches:
        blocks.append(_section(_breach_list(digest)))
    return blocks


def _no_complaints(digest: Digest, now: datetime, tz: ZoneInfo) -> str:
    """`*No complaints yesterday.*` (bold), as the quiet digest says it."""
    if _ends_yesterday(digest, now, tz):
        return _("*No complaints last week.*") if digest.weekly else _("*No complaints yesterday.*")
    if digest.weekly:
        return _("*No complaints in the week %(period)s.*", period=_range_words(digest))
    # Translators: %(day)s is a day with its weekday, e.g. "Monday 12 May".
    return _("*No complaints on %(day)s.*", day=day_words(digest.period.first_day))


def _breaches(count: int) -> str:
    # Translators: missed SLA deadlines (a noun).
    return n_("%(count)s breach", "%(count)s breaches", count, count=number(count))


def _ack_times(current: PeriodFigures, previous: PeriodFigures, vs: str) -> str:
    if current.ack_median is None:
        return _("none acknowledged yet")
    text = _("median %(duration)s", duration=span(current.ack_median))
    text += _duration_change(current.ack_median, previous.ack_median, vs)
    if current.ack_p90 is not None:
        # Translators: the 90th percentile: %(percent)s (90%%) of the complaints were acknowledged within %(duration)s.
        p90 = _("%(percent)s within %(duration)s", percent=percent(90), duration=span(current.ack_p90))
        text += f"\n{p90}{_duration_change(current.ack_p90, previous.ack_p90, vs)}"
    return text


def _breach_list(digest: Digest) -> str:
    lines = [_breach_line(breach) for breach in digest.breaches]
    total = digest.current.breaches
    # Translators: a heading (keep the asterisks: bold): the period's missed SLA deadlines.
    head = _("*Breaches* (%(count)s)", count=number(total))
    return _bullets(f":rotating_light: {head}", lines, total=max(total, len(lines)), shown=BREACHES_SHOWN)


def _breach_line(breach: Breach) -> str:
    late = span(breach.late)
    acknowledge = breach.clock == "acknowledge"
    if breach.still_open:
        if acknowledge:
            lateness = _("not acknowledged yet, %(duration)s past the deadline", duration=late)
        else:
            lateness = _("not resolved yet, %(duration)s past the deadline", duration=late)
    elif acknowledge:
        lateness = _("acknowledged %(duration)s late", duration=late)
    else:
        lateness = _("resolved %(duration)s late", duration=late)
    return f"{_complaint_link(breach.complaint_id, breach.permalink)} {_handle(breach.author_handle)} · {lateness}"


def _departments(departments: Sequence[Counted]) -> str:
    lines = [
        f"{safe_mrkdwn(row.name, NAME_LIMIT)}: {number(row.count)}{_change(row.count, row.previous, None)}"
        for row in departments
    ]
    head = _("*Escalations by department*")
    return _bullets(f":arrow_up: {head}", lines, total=len(lines), shown=DEPARTMENTS_SHOWN)


# -- SLA attainment (also under `/complaints stats`) ------------------------------------------------------------------


def attainment_blocks(attainment: Attainment) -> list[Block]:
    """The team's and each agent's share within the windows and their times for the whole period, then the team's
    figures by day or by week (whichever was computed; days first). Nothing when no complaint was posted."""
    if attainment.empty:
        return []
    whole = attainment.whole
    windows = {"acknowledge": span(attainment.ack_window), "resolve": span(attainment.resolve_window)}
    if attainment.business_hours:
        # Translators: a heading (keep the asterisks): the SLA windows, counted in business hours.
        title = _("*Within the windows* — acknowledge %(acknowledge)s, resolve %(resolve)s (business hours)", **windows)
    else:
        # Translators: a heading (keep the asterisks): the SLA windows, e.g. "acknowledge 30 min, resolve 1 d".
        title = _("*Within the windows* — acknowledge %(acknowledge)s, resolve %(resolve)s", **windows)
    # Translators: the row of the whole team in the SLA attainment (keep the asterisks: bold).
    team = _("*Team*")
    head = f":stopwatch: {title}\n{attainment_line(team, whole.team)}"
    lines = [attainment_line(f"<@{row.agent}>", row) for row in whole.agents]
    if whole.unclaimed is not None:
        # Translators: the row of the SLA attainment for complaints nobody owns.
        lines.append(attainment_line(_("Unclaimed"), whole.unclaimed))
    text = _bullets(head, lines, total=len(lines), shown=AGENTS_SHOWN, more=_more_agents) if lines else head
    blocks: list[Block] = [_section(text)]
    buckets = attainment.days or attainment.weeks
    if len(buckets) > 1:
        # Translators: a heading (keep the asterisks): the team's SLA attainment day by day (or week by week).
        title = _("*By day* (the team)") if buckets[0].kind == DAY else _("*By week* (the team)")
        rows = [attainment_line(_bucket_words(bucket), bucket.team) for bucket in buckets]
        blocks.append(_section(_bullets(title, rows, total=len(rows), shown=len(rows))))
    note = _(
        "Counted from posting; agents are who acknowledged or resolved (missed and still open: the owner). "
        "Still in their window: not counted yet."
    )
    blocks.append(context_line(note))
    return blocks


def attainment_line(who: str, row: Row) -> str:
    """`<@U0ANA>: acknowledged 3 of 4 in time (75%), median 20 min, 90% within 40 min · resolved 2 of 2 …`"""
    return f"{who}: {_clock_words(True, row.ack)} · {_clock_words(False, row.resolve)}"


def _clock_words(acknowledge: bool, figures: ClockFigures) -> str:
    if not figures.due:
        if figures.pending:
            # Translators: no complaint's acknowledgement (or resolution) deadline has come yet.
            text = _("acknowledged: none due yet") if acknowledge else _("resolved: none due yet")
        else:
            text = _("acknowledged: none") if acknowledge else _("resolved: none")
    else:
        values = {
            "count": number(figures.in_window),
            "total": number(figures.due),
            "percent": percent(figures.percent or 0.0),
        }
        if acknowledge:
            # Translators: e.g. "acknowledged 3 of 4 in time (75%)".
            text = n_(
                "acknowledged %(count)s of %(total)s in time (%(percent)s)",
                "acknowledged %(count)s of %(total)s in time (%(percent)s)",
                figures.due,
                **values,
            )
        else:
            # Translators: e.g. "resolved 3 of 4 in time (75%)".
            text = n_(
                "resolved %(count)s of %(total)s in time (%(percent)s)",
                "resolved %(count)s of %(total)s in time (%(percent)s)",
                figures.due,
                **values,
            )
    if figures.median is not None and figures.p90 is not None:
        # Translators: the median time and the 90th percentile: %(percent)s (90%%) took at most %(p90)s.
        times = _(
            "median %(median)s, %(percent)s within %(p90)s",
            median=span(figures.median),
            percent=percent(90),
            p90=span(figures.p90),
        )
        text = f"{text}, {times}"
    if figures.pending and figures.due:
        # Translators: complaints whose deadline has not come yet, not counted in the share.
        pending = n_(
            "%(count)s still in the window",
            "%(count)s still in the window",
            figures.pending,
            count=number(figures.pending),
        )
        text = f"{text}; {pending}"
    return text


def _bucket_words(bucket: Bucket) -> str:
    if bucket.first_day == bucket.last_day:
        return day_words(bucket.first_day)
    return f"{day_words(bucket.first_day)} {EN_DASH} {day_words(bucket.last_day)}"


# -- now -------------------------------------------------------------------------------------------------------------


def _now(digest: Digest, now: datetime, tz: ZoneInfo) -> list[Block]:
    blocks: list[Block] = [DividerBlock()]
    if digest.open_total:
        lines = [_backlog_line(row.owner_id, row.open, row.unacknowledged) for row in digest.backlog]
        # Translators: a heading (keep the asterisks): complaints not resolved yet, now.
        head = _("*Open now: %(count)s*", count=number(digest.open_total))
        blocks.append(
            _section(_bullets(f":inbox_tray: {head}", lines, total=len(lines), shown=OWNERS_SHOWN, more=_more_owners))
        )
    else:
        # Translators: keep the asterisks: bold.
        nothing = _("*Open now: none.* Every complaint is resolved.")
        blocks.append(_section(f":white_check_mark: {nothing}"))
    if digest.oldest_open is not None:
        oldest = digest.oldest_open
        # Translators: who owns the oldest open complaint: nobody.
        owner = f"<@{oldest.owner_id}>" if oldest.owner_id else _("unclaimed")
        # Translators: the oldest open complaint: its number, its author, when it was posted, how long ago, its owner.
        text = _(
            "*Oldest open:* %(complaint)s %(author)s, posted %(time)s (%(duration)s ago), %(owner)s",
            complaint=_complaint_link(oldest.complaint_id, oldest.permalink),
            author=_handle(oldest.author_handle),
            time=clock(oldest.posted_at, now, tz),
            duration=span(oldest.age),
            owner=owner,
        )
        blocks.append(_section(f":hourglass: {text}"))
    if digest.follow_ups_today_total or digest.follow_ups_overdue:
        total = number(digest.follow_ups_today_total)
        if digest.follow_ups_overdue:
            # Translators: keep the asterisks: bold. %(overdue)s follow-ups were due on earlier days and are not done.
            head = n_(
                "*Follow-ups due today: %(total)s* (and %(count)s overdue from earlier days)",
                "*Follow-ups due today: %(total)s* (and %(count)s overdue from earlier days)",
                digest.follow_ups_overdue,
                total=total,
                count=number(digest.follow_ups_overdue),
            )
        else:
            # Translators: keep the asterisks: bold.
            head = _("*Follow-ups due today: %(total)s*", total=total)
        lines = [
            f"{clock(item.due_at, now, tz)} <@{item.assignee}> · {_complaint_link(item.complaint_id, item.permalink)}"
            + (" " + _("(reminded)") if item.status == "sent" else "")
            for item in digest.follow_ups_today
        ]
        blocks.append(
            _section(_bullets(f":calendar: {head}", lines, total=digest.follow_ups_today_total, shown=FOLLOW_UPS_SHOWN))
        )
    return blocks


def _backlog_line(owner_id: str | None, open_count: int, unacknowledged: int) -> str:
    owner = _("Unclaimed") if owner_id is None else f"<@{owner_id}>"
    line = f"{owner}: {number(open_count)}"
    if unacknowledged:
        waiting = n_(
            "%(count)s not acknowledged", "%(count)s not acknowledged", unacknowledged, count=number(unacknowledged)
        )
        line += f" ({waiting})"
    return line


# -- patterns --------------------------------------------------------------------------------------------------------


def _patterns(digest: Digest) -> list[Block]:
    fields = [
        _field(_("Top sources"), _ranked_lines(digest.top_sources)),
        # Translators: a figure's label: the kinds of complaint most often seen (delivery, refund …).
        _field(_("Top categories"), _ranked_lines(digest.top_categories)),
        # Translators: a figure's label: the hours of the day with the most complaints.
        _field(_("Busiest hours"), _hour_lines(digest.busiest_hours)),
    ]
    if digest.weekly:
        # Translators: %(timezone)s is a time zone such as Europe/Helsinki.
        note = _(
            "Changes in brackets are against the week before. Hours are %(timezone)s time.", timezone=digest.tz_name
        )
    else:
        # Translators: %(day)s is a weekday's name, e.g. Monday; %(timezone)s a time zone such as Europe/Helsinki.
        note = _(
            "Changes in brackets are against %(day)s. Hours are %(timezone)s time.",
            day=_vs(digest),
            timezone=digest.tz_name,
        )
    return [DividerBlock(), SectionBlock(fields=fields), context_line(note)]


def _ranked_lines(rows: Sequence[Counted]) -> str:
    if not rows:
        # Translators: an empty list of figures.
        return _("none")
    return "\n".join(
        f"{_ranked_name(row.name)} {number(row.count)}{_change(row.count, row.previous, None)}" for row in rows
    )


def _ranked_name(name: str) -> str:
    """A source's or a category's name; complaints without a category are counted under a word of Heard's."""
    return _(UNCATEGORISED) if name == UNCATEGORISED else safe_mrkdwn(name, NAME_LIMIT)


def _hour_lines(rows: Sequence[HourCount]) -> str:
    if not rows:
        return _("none")
    return "\n".join(
        f"{hour_range(row.hour)} {number(row.count)}{_change(row.count, row.previous, None)}" for row in rows
    )


# -- words -----------------------------------------------------------------------------------------------------------


def _title(digest: Digest) -> str:
    if digest.weekly:
        # Translators: the digest's title; %(period)s is e.g. "16–22 Nov 2026".
        return _("Weekly digest · %(period)s", period=_range_words(digest))
    # Translators: the digest's title; %(day)s is e.g. "Tuesday 10 Nov".
    return _("Daily digest · %(day)s", day=day_words(digest.period.first_day))


def _range_words(digest: Digest) -> str:
    return day_range(digest.period.first_day, digest.period.last_day)


def _ends_yesterday(digest: Digest, now: datetime, tz: ZoneInfo) -> bool:
    """The period ends yesterday: the usual case, said as "yesterday" or "last week"."""
    return (now.astimezone(tz).date() - digest.period.last_day).days == 1


def _context_words(digest: Digest, now: datetime, tz: ZoneInfo) -> str:
    """`Yesterday in Europe/Paris, compared with Monday.` under the title."""
    values = {"timezone": digest.tz_name, "vs": _vs(digest)}
    if digest.weekly:
        values.update(count=number(digest.period.days), day=day_words(digest.period.last_day))
        if digest.quiet:
            # Translators: under the weekly digest's title: %(count)s days up to %(day)s, in a time zone.
            return n_(
                "%(count)s day to %(day)s in %(timezone)s.",
                "%(count)s days to %(day)s in %(timezone)s.",
                digest.period.days,
                **values,
            )
        # Translators: under the weekly digest's title; the figures are compared with the week before.
        return n_(
            "%(count)s day to %(day)s in %(timezone)s, compared with the week before.",
            "%(count)s days to %(day)s in %(timezone)s, compared with the week before.",
            digest.period.days,
            **values,
        )
    if _ends_yesterday(digest, now, tz):
        if digest.quiet:
            # Translators: under the daily digest's title; %(timezone)s is a time zone such as Europe/Helsinki.
            return _("Yesterday in %(timezone)s.", **values)
        # Translators: under the daily digest's title; %(vs)s is a weekday's name (the day before yesterday).
        return _("Yesterday in %(timezone)s, compared with %(vs)s.", **values)
    values["day"] = day_words(digest.period.first_day)
    if digest.quiet:
        # Translators: under the daily digest's title: %(day)s is e.g. "Monday 12 May".
        return _("%(day)s in %(timezone)s.", **values)
    # Translators: under the daily digest's title: %(day)s is e.g. "Monday 12 May", %(vs)s the weekday before it.
    return _("%(day)s in %(timezone)s, compared with %(vs)s.", **values)


def _vs(digest: Digest) -> str:
    """What the figures are compared with: `the week before`, or the weekday before the digest's day."""
    if digest.weekly:
        # Translators: what a weekly digest's figures are compared with, in "(+3 vs the week before)".
        return _("the week before")
    return weekday(digest.previous_period.first_day)


def _change(current: int, previous: int, vs: str | None) -> str:
    """` (+3 vs Monday)`; without `vs`, the short ` (+3)` used in lists."""
    difference = current - previous
    if vs is None:
        return f" ({signed(difference)})"
    if difference == 0:
        return f" ({_same_as(vs)})"
    # Translators: a change against the period before, e.g. "+3 vs Monday"; %(period)s: a weekday or "the week before".
    return " (" + _("%(change)s vs %(period)s", change=signed(difference), period=vs) + ")"


def _same_as(vs: str) -> str:
    # Translators: no change against the period before; %(period)s is a weekday or "the week before".
    return _("same as %(period)s", period=vs)


def _points(current: float, previous: float | None, vs: str) -> str:
    if previous is None:
        return ""
    difference = round(current) - round(previous)
    if difference == 0:
        return f" ({_same_as(vs)})"
    # Translators: a change in percentage points against the period before, e.g. "+3 pts vs Monday".
    change = n_(
        "%(change)s pt vs %(period)s",
        "%(change)s pts vs %(period)s",
        abs(difference),
        change=signed(difference),
        period=vs,
    )
    return f" ({change})"


def _duration_change(current: timedelta, previous: timedelta | None, vs: str) -> str:
    if previous is None:
        return ""
    difference = current - previous
    if abs(difference) < timedelta(minutes=1):
        return f" ({_same_as(vs)})"
    change = ("+" if difference > timedelta(0) else MINUS) + span(abs(difference))
    return " (" + _("%(change)s vs %(period)s", change=change, period=vs) + ")"


def _fallback(digest: Digest, now: datetime, tz: ZoneInfo) -> str:
    open_now = n_("%(count)s open now", "%(count)s open now", digest.open_total, count=number(digest.open_total))
    if digest.quiet:
        yesterday = _ends_yesterday(digest, now, tz)
        if digest.weekly and yesterday:
            # Translators: a notification's text; %(open)s is e.g. "7 open now".
            return _("Weekly digest: no complaints last week; %(open)s.", open=open_now)
        if digest.weekly:
            return _(
                "Weekly digest: no complaints in the week %(period)s; %(open)s.",
                period=_range_words(digest),
                open=open_now,
            )
        if yesterday:
            # Translators: a notification's text; %(open)s is e.g. "7 open now".
            return _("Daily digest: no complaints yesterday; %(open)s.", open=open_now)
        return _(
            "Daily digest: no complaints on %(day)s; %(open)s.", day=day_words(digest.period.first_day), open=open_now
        )
    current = digest.current
    # Translators: a notification's text: the digest's title, then its main figures.
    return _(
        "%(title)s: %(complaints)s, %(acknowledged)s, %(breaches)s, %(resolved)s; %(open)s.",
        title=_title(digest),
        complaints=n_("%(count)s complaint", "%(count)s complaints", current.received, count=number(current.received)),
        # Translators: e.g. "71% acknowledged within 30 min".
        acknowledged=_(
            "%(percent)s acknowledged within %(duration)s",
            percent=percent(current.acknowledged_in_window_pct or 0.0),
            duration=span(digest.ack_window),
        ),
        breaches=_breaches(current.breaches),
        resolved=n_("%(count)s resolved", "%(count)s resolved", current.resolved, count=number(current.resolved)),
        open=open_now,
    )


def _write_up_list(write_ups: Sequence[WriteUpItem]) -> str:
    """The week's hard cases, each with what happened and what the team learned (strangers' text stays text)."""
    lines = [
        # Translators: a case written up: the complaint, its author, who wrote it up, what happened, what was learned.
        _(
            "%(complaint)s %(author)s, by %(person)s: %(what_happened)s — _learned:_ %(what_we_learned)s",
            complaint=_complaint_link(item.complaint_id, item.permalink),
            author=_handle(item.author_handle),
            person=mention(item.written_by),
            what_happened=safe_mrkdwn(mask(item.what_happened), 300),
            what_we_learned=safe_mrkdwn(mask(item.what_we_learned), 300),
        )
        for item in write_ups
    ]
    # Translators: a heading (keep the asterisks: bold): the hard cases the team wrote up this week.
    head = _("*Written up this week*")
    return _bullets(f":memo: {head}", lines, total=len(write_ups), shown=len(write_ups))


# -- blocks and safe text --------------------------------------------------------------------------------------------


def _field(title: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=_fit(f"*{title}*\n{value}", FIELD_LIMIT), verbatim=True)


def _section(text: str) -> SectionBlock:
    # verbatim: handles and names are strangers' text; Slack must not turn "@here" or a URL in them into anything.
    return SectionBlock(text=MarkdownTextObject(text=_fit(text, SECTION_LIMIT), verbatim=True))


def _more(count: int) -> str:
    # Translators: the last line of a cut list.
    return n_("… and %(count)s more", "… and %(count)s more", count, count=number(count))


def _more_agents(count: int) -> str:
    # Translators: the last line of a cut list of agents.
    return n_("… and %(count)s more agent", "… and %(count)s more agents", count, count=number(count))


def _more_owners(count: int) -> str:
    # Translators: the last line of a cut list of the people who own open complaints.
    return n_("… and %(count)s more owner", "… and %(count)s more owners", count, count=number(count))


def _bullets(head: str, lines: Sequence[str], *, total: int, shown: int, more: Callable[[int], str] = _more) -> str:
    """`head`, then up to `shown` bullet lines that fit in a section, then "… and N more" for the rest of `total`
    (which may exceed len(lines) when the query itself was capped)."""
    text = head
    # Room for the longest tail ("… and 1,000,000 more owners" in any language) so the cut line always fits.
    budget = SECTION_LIMIT - max(utf16_length(f"\n{more(total)}"), TAIL_ROOM)
    used = 0
    for line in lines[:shown]:
        candidate = f"{text}\n• {line}"
        if utf16_length(candidate) > budget:
            break
        text, used = candidate, used + 1
    if total > used:
        text += f"\n{more(total - used)}"
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
    # A source may name its customers by e-mail address or phone number; the digest leaves the care team's cards.
    return f"@{safe_mrkdwn(mask(handle.lstrip('@')), HANDLE_LIMIT)}"


def _complaint_link(complaint_id: int, permalink: str | None) -> str:
    """`<permalink|#42>` to the card, or a plain `#42` when there is no card yet or the link is not a clean URL."""
    return link_to(permalink, f"#{complaint_id}") or f"#{complaint_id}"


def digest_period_words(digest: Digest) -> str:
    """The period a digest covers, as its title says it ("Sat 21 Nov", "16–22 Nov 2026")."""
    return _range_words(digest) if digest.weekly else day_words(digest.period.first_day)
