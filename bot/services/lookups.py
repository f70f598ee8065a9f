"""Lookups: the `/complaints` slash command and each person's App Home.

Everything here reads; nothing changes a complaint. The queries (`storage/queries.py`) answer from indexes, so a
lookup fits in Slack's 3 seconds on millions of complaints, and each query method returns plain frozen dataclasses
(no ORM object leaves its unit of work), which the renderers in `bot/blocks/lookups.py` and `bot/blocks/home.py`
turn into Block Kit.

`lookup()` answers a typed command (the listener acks with it); `more()` answers a click on "More" under a paged
answer through the outbox, replacing the page clicked; `publish_home()` shows a person their Home tab.
"""

from __future__ import annotations

import contextlib
import logging
import re
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from bot import delivery
from bot.attainment import Attainment, compute_attainment
from bot.blocks import Message
from bot.blocks import home as home_blocks
from bot.blocks import lookups as blocks
from bot.blocks import rotations as rotation_blocks
from bot.blocks.ids import LookupPage
from bot.blocks.language import with_language_picker
from bot.delivery import utcnow
from bot.delivery.direct import SlackUnavailable
from bot.delivery.lag import oldest_waiting
from bot.directory import Department
from bot.i18n import N_, _, n_, speaking
from bot.lifecycle import Action
from bot.services.base import Context, Requester, UseCases
from bot.services.rotations import DutyBoard, RotationUseCases
from storage import queries
from storage.models import AuditEvent, Complaint, ComplaintPost, Escalation, FollowUp

log = logging.getLogger("heard.services.lookups")

# Items per page of a list, and audit events per page of one complaint's history: a page stays far below
# Block Kit's 50 blocks and 3,000 characters per section, and is what a person reads at a glance.
PAGE_SIZE = 10
HISTORY_PAGE_SIZE = 20
# Totals are counted only so far, so every count stays a bounded index range: at least this far (past it a list
# says "more than 10,000"; a queue that long needs no exact figure), and always to a whole thousand past the page
# shown, so "More" is offered for as long as there is more. A search, which a common word makes long, counts less.
COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1000
# What may follow a subcommand: keeps the More button's value within Slack's 2,000 characters.
MAX_ARGUMENT_CHARS = 300
# Escalations and follow-ups listed on one complaint (the history has every one of them).
RECORD_LIST_LIMIT = 10
# Later posts of the conversation shown in full on one complaint (the card's thread has every one of them).
RECORD_POSTS_LIMIT = 20
TOP_SOURCES = 5
# The App Home's lists: enough to work from, and with the counters well below the 100 blocks of a Home tab.
HOME_CLAIMED_SHOWN = 20
HOME_FOLLOW_UPS_SHOWN = 10
HOME_ESCALATIONS_SHOWN = 10
STATS_PERIODS = {"today": 1, "7d": 7, "30d": 30}
# SLA attainment under the stats: the period's, and the team's by day (7d) or by week (30d).
STATS_ATTAINMENT_BY = {"7d": ("day",), "30d": ("week",)}

# Translators: HEARD_AGENTS is the name of a setting: keep it as it is.
FOR_AGENTS_ONLY = N_(
    "Sorry, `/complaints` is for the care team. If you should be part of it, ask your Heard admin to add you to "
    "HEARD_AGENTS."
)
# Translators: a click on “More” under a list Heard cannot continue.
PAGE_GONE = N_("This card is out of date: that list can no longer be continued; type the command again.")
_COMPLAINT_ID = re.compile(r"#?(\d{1,18})")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_FILLER_WORDS = frozenset({"and", "the", "for", "with", "any", "that", "this", "about", "from", "who", "what"})

T = TypeVar("T")


# -- what lookups return ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list. `total` is exact unless `total_is_floor` (then there are at least that many)."""

    items: tuple[T, ...]
    offset: int
    total: int
    total_is_floor: bool = False

    @property
    def first(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items)

    @property
    def has_more(self) -> bool:
        return self.last < self.total

    @property
    def next_offset(self) -> int:
        return self.last


@dataclass(frozen=True)
class ComplaintLine:
    """A complaint as a list shows it. `author_handle`, `author_name`, `source` and `excerpt` are untrusted."""

    complaint_id: int
    source: str
    author_handle: str
    author_name: str | None
    excerpt: str
    status: str
    priority: str
    owner_id: str | None
    posted_at: datetime
    acknowledged_at: datetime | None
    ack_deadline: datetime
    resolve_deadline: datetime
    resolved_at: datetime | None
    permalink: str | None

    @property
    def next_deadline(self) -> datetime:
        """Acknowledge by, then (once acknowledged) resolve by; the same order the open queue is sorted in."""
        return self.ack_deadline if self.acknowledged_at is None else self.resolve_deadline


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str  # a Slack user id, "scheduler", or a source name (untrusted)
    action: str
    surface: str
    detail: Mapping[str, Any]

    @property
    def actor_is_person(self) -> bool:
        return bool(_USER_ID.match(self.actor))


@dataclass(frozen=True)
class EscalationEntry:
    escalation_id: int
    complaint_id: int
    department_name: str
    severity: str
    status: str
    reason: str  # untrusted (typed by an agent, may quote the customer)
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    accepted_by: str | None = None
    author_handle: str = ""
    permalink: str | None = None


@dataclass(frozen=True)
class FollowUpEntry:
    follow_up_id: int
    complaint_id: int
    due_at: datetime
    status: str
    note: str
    assignee: str
    author_handle: str = ""
    permalink: str | None = None


@dataclass(frozen=True)
class PostEntry:
    """A later post of the same conversation. `text` and `url` are untrusted."""

    text: str
    url: str | None
    posted_at: datetime


@dataclass(frozen=True)
class ComplaintRecord:
    """One complaint in full, for `/complaints <id>`: its whole text and the later posts' (the card shows them at a
    glance), its state, escalations, follow-ups and a page of history."""

    line: ComplaintLine
    text: str
    url: str | None
    author_followers: int | None
    category: str | None
    triage_reasons: tuple[str, ...]
    claimed_at: datetime | None
    acknowledged_by: str | None
    resolved_by: str | None
    resolution_note: str | None
    extra_posts: int
    escalations: tuple[EscalationEntry, ...]
    escalations_total: int
    follow_ups: tuple[FollowUpEntry, ...]
    follow_ups_total: int
    history: Page[HistoryEntry]
    # The first RECORD_POSTS_LIMIT later posts, oldest first (`extra_posts` counts them all).
    posts: tuple[PostEntry, ...] = ()


@dataclass(frozen=True)
class Stats:
    period: str  # "today", "7d", "30d"
    start: datetime
    end: datetime
    received: int
    acknowledged_in_window: int
    ack_median: timedelta | None
    breaches: int
    resolved: int
    top_sources: tuple[tuple[str, int], ...]  # untrusted names, most first
    # SLA attainment per agent and for the team, by day (7d) or week (30d): bot/attainment.py.
    attainment: Attainment | None = None

    @property
    def in_window_percent(self) -> float | None:
        return 100.0 * self.acknowledged_in_window / self.received if self.received else None


@dataclass(frozen=True)
class WhoAnswer:
    topic: str  # as typed: untrusted
    departments: tuple[Department, ...]  # the ones that handle it, best match first
    known: tuple[str, ...] = ()  # every department's name, offered when none matched
    has_directory: bool = True


@dataclass(frozen=True)
class TeamCounters:
    """Each counted up to `cap`; a figure above it means "more than `cap`"."""

    open: int
    unclaimed: int
    overdue: int
    received_today: int
    cap: int


@dataclass(frozen=True)
class HomeState:
    user: str
    is_agent: bool
    counters: TeamCounters | None = None
    claimed: Page[ComplaintLine] | None = None
    follow_ups: Page[FollowUpEntry] | None = None
    escalations: Page[EscalationEntry] | None = None
    departments: tuple[str, ...] = field(default_factory=tuple)  # those the person is a contact of
    # How long the oldest message still waiting to reach Slack has waited since it was queued (None: none waits).
    slack_lag: timedelta | None = None
    # Who is on duty now and next, and who is away (None: no rotations and no auto-assignment).
    duty: DutyBoard | None = None


# A subcommand's answer: (what was typed after it, who asks, the page offset) -> the message to show.
Answer = Callable[[str, Requester, int], Message]


class LookupUseCases(UseCases):
    def __init__(self, context: Context, more_subcommands: Callable[[], Mapping[str, Answer]] | None = None) -> None:
        super().__init__(context)
        # Other areas' answers to `/complaints …` (the digest's preview and export).
        self._more_subcommands = more_subcommands
        self.rotations = RotationUseCases(context)

    # -- the slash command -------------------------------------------------------------------------------------------

    def lookup(self, typed: str, requester: Requester) -> Message:
        """The answer to `/complaints <typed>`, shown privately to the person who typed it."""
        subcommand, args = _split(typed)
        return self._answer(subcommand, args, requester, offset=0)

    def more(self, value: str, requester: Requester) -> None:
        """A click on "More": the next page replaces the one clicked (through the click's response_url)."""
        try:
            page = LookupPage.decode(value)
        except ValueError:
            log.warning("ignored a More click with an unreadable value")
            message = blocks.render_refusal(_(PAGE_GONE))
        else:
            message = self._answer(page.subcommand, page.args, requester, offset=page.offset)
        with self.database.unit_of_work() as session:
            delivery.send_ephemeral(
                session,
                response_url=requester.response_url,
                channel=requester.channel or self.settings.heard_channel,
                user=requester.user_id,
                message=message,
                now=utcnow(),
                replace_original=True,
            )
        self._wake_delivery()

    def lookup_subcommands(self) -> dict[str, Answer]:
        """Subcommand -> its answer, each taking (what was typed after it, who asks, page offset). `<id>` and
        `@handle` are recognised by their shape and answered as "complaint" and "author" (see `_answer`)."""
        return {
            **(self._more_subcommands() if self._more_subcommands is not None else {}),
            "help": self._help,
            "open": self._open,
            "mine": self._mine,
            "overdue": self._overdue,
            "search": self._search,
            "stats": self._stats,
            "who": self._who,
            "complaint": self._record,
            "author": self._author,
        }

    def _answer(self, subcommand: str, args: str, requester: Requester, offset: int) -> Message:
        if not self._safely(self.roles.is_agent, requester.user_id):
            return blocks.render_refusal(_(FOR_AGENTS_ONLY))
        if len(args) > MAX_ARGUMENT_CHARS:
            too_long = n_(
                "That is too long to look up; use at most %(count)s character.",
                "That is too long to look up; use at most %(count)s characters.",
                MAX_ARGUMENT_CHARS,
            )
            return blocks.render_refusal(too_long)
        answers = self.lookup_subcommands()
        if subcommand not in answers:
            if _COMPLAINT_ID.fullmatch(subcommand):
                subcommand, args = "complaint", subcommand
            elif subcommand.startswith("@") and len(subcommand) > 1:
                subcommand, args = "author", subcommand
            elif subcommand:
                return blocks.render_help(unknown=subcommand)
            else:
                subcommand = "help"
        return answers[subcommand](args, requester, offset)

    # -- lists -------------------------------------------------------------------------------------------------------

    def _help(self, args: str, requester: Requester, offset: int) -> Message:
        return blocks.render_help()

    def _open(self, args: str, requester: Requester, offset: int) -> Message:
        now = utcnow()
        page = self.open_complaints(offset=offset)
        return blocks.render_complaint_list(
            blocks.ListKind.OPEN, page, now, self.settings.timezone, _more("open", args, page)
        )

    def _mine(self, args: str, requester: Requester, offset: int) -> Message:
        now = utcnow()
        page = self.open_complaints(offset=offset, owner=requester.user_id)
        return blocks.render_complaint_list(
            blocks.ListKind.MINE, page, now, self.settings.timezone, _more("mine", args, page)
        )

    def _overdue(self, args: str, requester: Requester, offset: int) -> Message:
        now = utcnow()
        page = self.open_complaints(offset=offset, overdue_at=now)
        return blocks.render_complaint_list(
            blocks.ListKind.OVERDUE, page, now, self.settings.timezone, _more("overdue", args, page)
        )

    def open_complaints(
        self, *, offset: int = 0, limit: int = PAGE_SIZE, owner: str | None = None, overdue_at: datetime | None = None
    ) -> Page[ComplaintLine]:
        """Open complaints, high priority first, then by the deadline that matters now (nearest first): all of them,
        those `owner` owns, or those whose deadline passed before `overdue_at`."""
        with self.database.unit_of_work() as session:
            cap = _count_cap(offset, limit, COUNT_CAP)
            rows, counted = queries.open_queue(
                session, offset=offset, limit=limit, count_cap=cap + 1, owner=owner, overdue_at=overdue_at
            )
        return _capped_page(tuple(_line(row) for row in rows), offset, counted, cap)

    def _author(self, typed: str, requester: Requester, offset: int) -> Message:
        handle = typed.split()[0] if typed.split() else ""
        page = self.complaints_by_author(handle, offset=offset)
        more = _more("author", handle, page)
        return blocks.render_complaint_list(
            blocks.ListKind.AUTHOR, page, utcnow(), self.settings.timezone, more, subject=queries.author_key(handle)
        )

    def complaints_by_author(self, handle: str, *, offset: int = 0, limit: int = PAGE_SIZE) -> Page[ComplaintLine]:
        """Everything from one author (any case, with or without the @), newest first."""
        with self.database.unit_of_work() as session:
            cap = _count_cap(offset, limit, COUNT_CAP)
            rows, counted = queries.by_author(session, handle, offset=offset, limit=limit, count_cap=cap + 1)
        return _capped_page(tuple(_line(row) for row in rows), offset, counted, cap)

    def _search(self, typed: str, requester: Requester, offset: int) -> Message:
        words = queries.search_words(typed)
        if not words:
            # Translators: %(command)s is typed as it is; %(example)s is an example of words to search for.
            refusal = _(
                "Search for what? Type %(command)s and some words, e.g. %(example)s.",
                command="`/complaints search`",
                example="`refund`",
            )
            return blocks.render_refusal(refusal)
        page = self.search_complaints(typed, offset=offset)
        more = _more("search", " ".join(words), page)
        return blocks.render_complaint_list(
            blocks.ListKind.SEARCH, page, utcnow(), self.settings.timezone, more, subject=" ".join(words)
        )

    def search_complaints(self, typed: str, *, offset: int = 0, limit: int = PAGE_SIZE) -> Page[ComplaintLine]:
        """Complaints whose text has every word typed (whole words, any case), newest first."""
        words = queries.search_words(typed)
        cap = _count_cap(offset, limit, SEARCH_COUNT_CAP)
        with self.database.unit_of_work() as session:
            rows, counted = queries.search(session, words, offset=offset, limit=limit, count_cap=cap + 1)
        return _capped_page(tuple(_line(row) for row in rows), offset, counted, cap)

    # -- one complaint -----------------------------------------------------------------------------------------------

    def _record(self, typed: str, requester: Requester, offset: int) -> Message:
        match = _COMPLAINT_ID.fullmatch(typed.strip())
        record = self.complaint_record(int(match.group(1)), history_offset=offset) if match else None
        if record is None:
            # Translators: %(typed)s is what the person typed, in quotes.
            return blocks.render_refusal(_("There is no complaint %(typed)s in Heard.", typed=blocks.quoted(typed)))
        more = None
        if record.history.has_more:
            more = LookupPage("complaint", str(record.line.complaint_id), record.history.next_offset).encode()
        return blocks.render_complaint_record(record, utcnow(), self.settings.timezone, more)

    def complaint_record(
        self, complaint_id: int, *, history_offset: int = 0, history_limit: int = HISTORY_PAGE_SIZE
    ) -> ComplaintRecord | None:
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id)
            if complaint is None:
                return None
            escalations = session.scalars(
                select(Escalation)
                .where(Escalation.complaint_id == complaint_id)
                .order_by(Escalation.requested_at.desc(), Escalation.id.desc())
                .limit(RECORD_LIST_LIMIT)
            ).all()
            follow_ups = session.scalars(
                select(FollowUp)
                .where(FollowUp.complaint_id == complaint_id)
                .order_by(FollowUp.due_at.desc(), FollowUp.id.desc())
                .limit(RECORD_LIST_LIMIT)
            ).all()
            posts = session.scalars(
                select(ComplaintPost)
                .where(ComplaintPost.complaint_id == complaint_id)
                .order_by(ComplaintPost.posted_at, ComplaintPost.id)
                .limit(RECORD_POSTS_LIMIT)
            ).all()
            events = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.complaint_id == complaint_id)
                .order_by(AuditEvent.at, AuditEvent.id)
                .offset(history_offset)
                .limit(history_limit)
            ).all()
            return ComplaintRecord(
                line=_line_of(complaint),
                text=complaint.text,
                url=complaint.url,
                author_followers=complaint.author_followers,
                category=complaint.category,
                triage_reasons=tuple(complaint.triage_reasons or ()),
                claimed_at=complaint.claimed_at,
                acknowledged_by=complaint.acknowledged_by,
                resolved_by=complaint.resolved_by,
                resolution_note=complaint.resolution_note,
                extra_posts=complaint.extra_posts,
                # Newest last, as the history reads.
                escalations=tuple(_escalation_entry(escalation) for escalation in reversed(escalations)),
                escalations_total=_count(session, Escalation, Escalation.complaint_id == complaint_id),
                follow_ups=tuple(_follow_up_entry(follow_up) for follow_up in reversed(follow_ups)),
                follow_ups_total=_count(session, FollowUp, FollowUp.complaint_id == complaint_id),
                history=Page(
                    tuple(_history_entry(event) for event in events),
                    history_offset,
                    _count(session, AuditEvent, AuditEvent.complaint_id == complaint_id),
                ),
                posts=tuple(PostEntry(post.text, post.url, post.posted_at) for post in posts),
            )

    # -- figures -----------------------------------------------------------------------------------------------------

    def _stats(self, typed: str, requester: Requester, offset: int) -> Message:
        period = (typed.split() or ["today"])[0].lower()
        if period not in STATS_PERIODS:
            # Translators: `today`, `7d`, `30d` and the command are typed as they are: keep them.
            refusal = _(
                "Stats are for %(today)s, %(week)s or %(month)s, e.g. %(example)s.",
                today="`today`",
                week="`7d`",
                month="`30d`",
                example="`/complaints stats 7d`",
            )
            return blocks.render_refusal(refusal)
        stats = self.complaint_stats(period, utcnow())
        return blocks.render_stats(stats, self.settings.timezone, self.settings.ack_window)

    def complaint_stats(self, period: str, now: datetime) -> Stats:
        """Complaints posted from the start of the period (local midnight in HEARD_TZ, today or `days - 1` days
        before) until `now`: the same rules as the digest (acknowledged in the window: by the deadline)."""
        days = STATS_PERIODS[period]
        today = now.astimezone(self.settings.timezone).date()
        first_day = today - timedelta(days=days - 1)
        start = datetime.combine(first_day, time(0), tzinfo=self.settings.timezone).astimezone(UTC)
        posted = (Complaint.posted_at >= start, Complaint.posted_at <= now)
        with self.database.unit_of_work() as session:
            received, in_window = session.execute(
                select(func.count(), func.count().filter(Complaint.acknowledged_at <= Complaint.ack_deadline)).where(
                    *posted
                )
            ).one()
            waits = session.scalars(
                select(queries.seconds_between(session, Complaint.acknowledged_at, Complaint.posted_at)).where(
                    *posted, Complaint.acknowledged_at.is_not(None)
                )
            ).all()
            breaches = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == Action.BREACH.value, AuditEvent.at >= start, AuditEvent.at <= now)
            )
            resolved = session.scalar(
                select(func.count()).where(Complaint.resolved_at >= start, Complaint.resolved_at <= now)
            )
            sources = session.execute(
                select(Complaint.source, func.count().label("complaints"))
                .where(*posted)
                .group_by(Complaint.source)
                .order_by(func.count().desc(), Complaint.source)
                .limit(TOP_SOURCES)
            ).all()
            attainment = compute_attainment(
                session,
                first_day=first_day,
                last_day=today,
                tz=self.settings.timezone,
                now=now,
                calendar=self.settings.calendar,
                ack_window=self.settings.ack_window,
                resolve_window=self.settings.resolve_window,
                until=now + timedelta(microseconds=1),  # posted up to and including `now`, as above
                by=STATS_ATTAINMENT_BY.get(period, ()),
            )
        # A source's clock running ahead of ours makes a wait negative: it was answered at once.
        median = statistics.median(max(0.0, float(wait)) for wait in waits) if waits else None
        return Stats(
            period=period,
            start=start,
            end=now,
            received=int(received),
            acknowledged_in_window=int(in_window),
            ack_median=timedelta(seconds=round(median)) if median is not None else None,
            breaches=int(breaches or 0),
            resolved=int(resolved or 0),
            top_sources=tuple((source, int(count)) for source, count in sources),
            attainment=attainment,
        )

    # -- the directory -----------------------------------------------------------------------------------------------

    def _who(self, typed: str, requester: Requester, offset: int) -> Message:
        if not typed.strip() and (board := self.rotations.duty_board(utcnow())) is not None:
            return rotation_blocks.render_duty(board, utcnow(), self.settings.timezone)
        if not typed.strip():
            # Translators: %(example)s is a command typed as it is.
            refusal = _("Who handles what? Type a topic, e.g. %(example)s.", example="`/complaints who refund`")
            return blocks.render_refusal(refusal)
        return blocks.render_who(self.who_handles(typed))

    def who_handles(self, topic: str) -> WhoAnswer:
        """The departments whose keywords, name or description mention the topic's words, best match first."""
        if self.directory is None:
            return WhoAnswer(topic, (), has_directory=False)
        departments = self.directory.current().departments
        words = {_stem(word) for word in queries.search_words(topic)}
        scored = [(_score(department, words), index, department) for index, department in enumerate(departments)]
        found = tuple(department for score, _, department in sorted(scored, key=lambda s: (-s[0], s[1])) if score)
        return WhoAnswer(topic, found, known=tuple(department.name for department in departments))

    # -- App Home ----------------------------------------------------------------------------------------------------

    def publish_home(self, user: str) -> None:
        """Show `user` their Home tab as things are now. Losing one is harmless: the next opening publishes again."""
        now = utcnow()
        with speaking(self.language_of(user)):  # the person's language, also on Bolt's lazy-listener thread
            view = home_blocks.render_home(self.home_state(user, now), now, self.settings.timezone)
            view = with_language_picker(view, self.languages.choice_of(user) if self.languages else None)
        with contextlib.suppress(SlackUnavailable):  # logged by SlackDirect
            self.slack.publish_home(user, view)

    def home_state(self, user: str, now: datetime) -> HomeState:
        if not self._safely(self.roles.is_agent, user):
            return HomeState(user=user, is_agent=False)
        departments = self._departments_of(user)
        day_start = datetime.combine(now.astimezone(self.settings.timezone).date(), time(0), self.settings.timezone)
        cap = COUNT_CAP + 1
        with self.database.unit_of_work() as session:
            claimed, claimed_total = queries.open_queue(
                session, offset=0, limit=HOME_CLAIMED_SHOWN, count_cap=cap, owner=user
            )
            follow_ups, follow_ups_total = queries.follow_ups_due(session, user, limit=HOME_FOLLOW_UPS_SHOWN)
            escalations, escalations_total = queries.escalations_waiting(
                session, [department.key for department in departments], limit=HOME_ESCALATIONS_SHOWN
            )
            counters = TeamCounters(
                open=queries.count_open(session, count_cap=cap),
                unclaimed=queries.count_open(session, count_cap=cap, unclaimed=True),
                overdue=queries.count_open(session, count_cap=cap, overdue_at=now),
                received_today=queries.count_posted_since(session, day_start.astimezone(UTC), count_cap=cap),
                cap=COUNT_CAP,
            )
            slack_lag = oldest_waiting(session, now)
        return HomeState(
            user=user,
            is_agent=True,
            counters=counters,
            claimed=_capped_page(tuple(_line(row) for row in claimed), 0, claimed_total, COUNT_CAP),
            follow_ups=Page(tuple(_follow_up_row(row, user) for row in follow_ups), 0, follow_ups_total),
            escalations=Page(tuple(_escalation_row(row) for row in escalations), 0, escalations_total),
            departments=tuple(department.name for department in departments),
            slack_lag=slack_lag,
            duty=self.rotations.duty_board(now),
        )

    def _departments_of(self, user: str) -> list[Department]:
        """The departments `user` is a contact of: named in `users`, or a member of one of its `user_groups`."""
        if self.directory is None:
            return []
        mine = []
        for department in self.directory.current().departments:
            if user in department.users or any(self._in_group(user, group) for group in department.user_groups):
                mine.append(department)
        return mine

    def _in_group(self, user: str, group: str) -> bool:
        try:
            return user in self.slack.group_members(group)
        except SlackUnavailable:
            return False  # the Home tab shows less until Slack answers; it is published again at the next opening


# -- helpers ---------------------------------------------------------------------------------------------------------


def _split(typed: str) -> tuple[str, str]:
    """`"search  Refund now"` -> `("search", "Refund now")`; the subcommand in lower case, the rest as typed."""
    parts = typed.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")


def _count_cap(offset: int, limit: int, least: int) -> int:
    """How far to count a list's total: `least`, or the whole thousand past the page shown if that is further."""
    return max(least, -(-(offset + limit + 1) // 1000) * 1000)


def _capped_page(items: tuple[T, ...], offset: int, counted: int, cap: int) -> Page[T]:
    """A page whose total was counted up to `cap + 1`: more than `cap` is said as such."""
    return Page(items, offset, min(counted, cap), total_is_floor=counted > cap)


def _more(subcommand: str, args: str, page: Page[Any]) -> str | None:
    return LookupPage(subcommand, args, page.next_offset).encode() if page.has_more else None


def _count(session: Session, model: Any, condition: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(condition)) or 0)


def _line(row: Row[Any]) -> ComplaintLine:
    return ComplaintLine(
        complaint_id=row.id,
        source=row.source,
        author_handle=row.author_handle,
        author_name=row.author_name,
        excerpt=row.excerpt,
        status=row.status,
        priority=row.priority,
        owner_id=row.owner_id,
        posted_at=row.posted_at,
        acknowledged_at=row.acknowledged_at,
        ack_deadline=row.ack_deadline,
        resolve_deadline=row.resolve_deadline,
        resolved_at=row.resolved_at,
        permalink=row.slack_permalink,
    )


def _line_of(complaint: Complaint) -> ComplaintLine:
    return ComplaintLine(
        complaint_id=complaint.id,
        source=complaint.source,
        author_handle=complaint.author_handle,
        author_name=complaint.author_name,
        excerpt=complaint.text[: queries.EXCERPT_CHARS],
        status=complaint.status,
        priority=complaint.priority,
        owner_id=complaint.owner_id,
        posted_at=complaint.posted_at,
        acknowledged_at=complaint.acknowledged_at,
        ack_deadline=complaint.ack_deadline,
        resolve_deadline=complaint.resolve_deadline,
        resolved_at=complaint.resolved_at,
        permalink=complaint.slack_permalink,
    )


def _history_entry(event: AuditEvent) -> HistoryEntry:
    return HistoryEntry(event.at, event.actor, event.action, event.surface, dict(event.detail or {}))


def _escalation_entry(escalation: Escalation) -> EscalationEntry:
    return EscalationEntry(
        escalation_id=escalation.id,
        complaint_id=escalation.complaint_id,
        department_name=escalation.department_name,
        severity=escalation.severity,
        status=escalation.status,
        reason=escalation.reason,
        requested_by=escalation.requested_by,
        requested_at=escalation.requested_at,
        decided_by=escalation.decided_by,
        accepted_by=escalation.accepted_by,
    )


def _follow_up_entry(follow_up: FollowUp) -> FollowUpEntry:
    return FollowUpEntry(
        follow_up_id=follow_up.id,
        complaint_id=follow_up.complaint_id,
        due_at=follow_up.due_at,
        status=follow_up.status,
        note=follow_up.note,
        assignee=follow_up.assignee,
    )


def _follow_up_row(row: Row[Any], assignee: str) -> FollowUpEntry:
    return FollowUpEntry(
        follow_up_id=row.id,
        complaint_id=row.complaint_id,
        due_at=row.due_at,
        status=row.status,
        note=row.note,
        assignee=assignee,
        author_handle=row.author_handle,
        permalink=row.slack_permalink,
    )


def _escalation_row(row: Row[Any]) -> EscalationEntry:
    return EscalationEntry(
        escalation_id=row.id,
        complaint_id=row.complaint_id,
        department_name=row.department_name,
        severity=row.severity,
        status=row.status,
        reason=row.reason,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        author_handle=row.author_handle,
        permalink=row.slack_permalink,
    )


def _stem(word: str) -> str:
    """Plural and singular alike ("refunds" finds "refund"); enough for matching a topic to a directory."""
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _score(department: Department, topic_words: set[str]) -> int:
    """How well a department answers a topic: its keywords count most, then its name, then what it handles.
    Whole words only, so "bad" does not find the keyword "ad"; short and filler words only match keywords."""
    if not topic_words:
        return 0

    def words_of(text: str) -> set[str]:
        return {_stem(word) for word in queries.search_words(text)}

    keywords = set().union(*(words_of(keyword) for keyword in department.keywords))
    telling = {word for word in topic_words if len(word) >= 3 and word not in _FILLER_WORDS}
    name = words_of(department.name) | words_of(department.key)
    handles = words_of(department.handles)
    return 3 * len(topic_words & keywords) + 2 * len(telling & name) + len(telling & handles)
