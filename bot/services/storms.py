"""Storms, the use cases: filing arrivals into a storm (called by intake inside its unit of work), and what the
team does from the storm card: one holding statement to every customer in it, Claim all, Resolve all, End storm;
and the sweep that ends a storm by itself once arrivals calm down.

Exactly once across copies of Heard: a storm is opened with an insert that does nothing when the channel already
has an open storm (a partial unique index), and ended with a conditional update (`WHERE status = 'open'`). A
holding statement is one `replies` row per complaint keyed by the modal view and the complaint, so a Slack retry or
a double submit finds its rows; the rows are sent by `ReplyUseCases.send_due_replies`, exactly once each.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot import lifecycle, projections, sla
from bot.blocks.modals import submitted_value
from bot.blocks.replies import COPY, DRAFTED, PENDING, PUBLIC
from bot.blocks.storm import STATEMENT_INPUT, statement_modal
from bot.config import Settings
from bot.delivery import utcnow
from bot.i18n import N_, _, n_
from bot.lifecycle import Action, Status, TransitionRefused
from bot.replies import ACKNOWLEDGE, eta_moment, eta_words, fill, first_name, template_values
from bot.services.base import NOT_AN_AGENT, Context, Requester, UseCases
from bot.services.replies import ReplyUseCases
from bot.storms import ENDED, OPEN, STATEMENT_KEY, always_own_card, exempt, own_card_allowance, refresh_storm_card
from storage.models import Complaint, Reply, Storm

log = logging.getLogger("heard.storms")

GONE = N_("This storm no longer exists in Heard.")
# PostgreSQL's SQLSTATE for a transaction it ended to break a deadlock, and how often a bulk change is tried.
DEADLOCK = "40P01"
BULK_ATTEMPTS = 3
# Translators: the draft of the holding statement an agent edits, then sends to every customer of a storm. Keep
# {first_name}, {eta} and {agent_first_name} as they are: each customer's name, their own deadline (e.g. "by 3 pm
# today") and the agent's first name are put there.
STATEMENT = N_(
    "Hi {first_name}, thank you for telling us. We know about this problem and we're working on it right now. "
    "We'll post our next update {eta}. {agent_first_name}, care team"
)


# -- intake: filing arrivals into a storm ---------------------------------------------------------------------------


def file_arrivals(session: Session, settings: Settings, complaints: Sequence[Complaint], now: datetime) -> None:
    """Called by intake before the batch's complaints are flushed: per channel, count the arrivals of the last
    STORM_THRESHOLD window (since the channel's last storm ended, so complaints after an end get cards again); past
    the threshold, open the channel's storm (or find the one another copy opened) and file every arrival into it
    but VIPs, threats, and high-priority ones within `own_card_allowance` (bot/storms.py)."""
    if settings.storm_threshold is None or not complaints:
        return
    by_channel: dict[str, list[Complaint]] = defaultdict(list)
    for complaint in complaints:
        if complaint.slack_channel:
            by_channel[complaint.slack_channel].append(complaint)
    with session.no_autoflush:  # the batch is flushed once, by intake, with storm_id set
        for channel, arrivals in by_channel.items():
            storm_id = _open_storm(session, channel)
            opened = False
            count: int | None = None
            filed = 0
            own_cards: int | None = None  # high-priority cards of this storm's window so far (counted when needed)
            for complaint in arrivals:
                if storm_id is None:
                    count = (_recent_arrivals(session, settings, channel, now) if count is None else count) + 1
                    if count > settings.storm_threshold and not exempt(complaint, settings):
                        storm_id, opened = _start_storm(session, channel, now)
                if storm_id is None or always_own_card(complaint, settings):
                    continue
                if exempt(complaint, settings):
                    own_cards = _own_cards(session, settings, channel, now) if own_cards is None else own_cards
                    if own_cards < own_card_allowance(settings):
                        own_cards += 1
                        continue
                complaint.storm_id = storm_id
                filed += 1
            if storm_id is not None and filed:
                storm = session.get(Storm, storm_id)
                if storm is not None:
                    if storm.calm_since is not None:
                        storm.calm_since = None
                    refresh_storm_card(session, storm, now, fresh=opened)
                if opened:
                    log.info("storm opened in %s: complaints are listed in its thread", channel)


def _open_storm(session: Session, channel: str) -> int | None:
    return session.scalar(select(Storm.id).where(Storm.channel == channel, Storm.status == OPEN))


def _recent_arrivals(session: Session, settings: Settings, channel: str, now: datetime) -> int:
    since = now - settings.storm_window
    last_end = session.scalar(select(func.max(Storm.ended_at)).where(Storm.channel == channel))
    if last_end is not None and last_end > since:
        since = last_end
    return int(
        session.scalar(
            select(func.count(Complaint.id)).where(Complaint.slack_channel == channel, Complaint.received_at >= since)
        )
        or 0
    )


def _own_cards(session: Session, settings: Settings, channel: str, now: datetime) -> int:
    """High-priority complaints given their own card in the channel during the storm's last window."""
    started = session.scalar(select(Storm.started_at).where(Storm.channel == channel, Storm.status == OPEN))
    since = now - settings.storm_window
    if started is not None and started > since:
        since = started
    return int(
        session.scalar(
            select(func.count(Complaint.id)).where(
                Complaint.slack_channel == channel,
                Complaint.received_at >= since,
                Complaint.storm_id.is_(None),
                Complaint.priority == "high",
            )
        )
        or 0
    )


def _start_storm(session: Session, channel: str, now: datetime) -> tuple[int, bool]:
    """Open the channel's storm, or find the one another copy of Heard opened meanwhile: (storm id, opened it)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Storm)
        .values(channel=channel, status=OPEN, started_at=now)
        .on_conflict_do_nothing(index_elements=["channel"], index_where=text("status = 'open'"))
    )
    opened = session.execute(statement).rowcount == 1
    storm_id = _open_storm(session, channel)
    assert storm_id is not None
    return storm_id, opened


# -- what the team does from the storm card ---------------------------------------------------------------------------


class StormUseCases(UseCases):
    def __init__(self, context: Context, replies: ReplyUseCases) -> None:
        super().__init__(context)
        self.replies = replies

    def open_statement_form(self, storm_id: int, requester: Requester, trigger_id: str) -> None:
        may_act = self._safely(self.roles.is_agent, requester.user_id)
        agent_name = self.slack.real_name(requester.user_id) if may_act else None
        refusal: str | None = None
        view: dict[str, Any] | None = None
        now = utcnow()
        with self.database.unit_of_work() as session:
            storm = session.get(Storm, storm_id)
            if storm is None:
                refusal = _(GONE)
            elif not may_act:
                refusal = _(NOT_AN_AGENT)
            else:
                waiting = self._waiting(session, storm_id)
                if not waiting:
                    refusal = _("Every complaint of this storm is resolved; there is nobody left to tell.")
                else:
                    moment = eta_moment(now, now, self.settings.calendar)  # an hour of open time from now
                    draft = fill(
                        _(STATEMENT),
                        {
                            "eta": eta_words(moment, now, self.settings.timezone),
                            # Translators: signs the holding statement when the agent's name is not known.
                            "agent_first_name": first_name(agent_name) or _("the care team"),
                        },
                    )
                    view = statement_modal(storm_id, len(waiting), draft, self._notes(waiting))
        self._open_or_tell(requester, trigger_id, view, refusal)

    def _notes(self, waiting: Sequence[Complaint]) -> list[str]:
        by_hand = sum(1 for complaint in waiting if not self.replies.can_reply_on_platform(complaint))
        placeholders = "`{first_name}`, `{handle}`, `{agent_first_name}`, `{eta}`"
        # Translators: in the holding statement's form; %(placeholders)s are written as they are in the statement.
        notes = [_("Placeholders: %(placeholders)s (their own deadline).", placeholders=placeholders)]
        if by_hand:
            # Translators: “Mark replied” is the card's button of that name.
            notes.append(
                n_(
                    "%(count)s of them came from a source Heard only listens to: its line gets the filled-in draft to "
                    "copy and send yourself, then *Mark replied*.",
                    "%(count)s of them came from sources Heard only listens to: their lines get the filled-in draft "
                    "to copy and send yourself, then *Mark replied*.",
                    by_hand,
                )
            )
        return notes

    @staticmethod
    def _waiting(session: Session, storm_id: int, lock: bool = False) -> list[Complaint]:
        query = (
            select(Complaint)
            .where(Complaint.storm_id == storm_id, Complaint.status != Status.RESOLVED.value)
            .order_by(Complaint.id)
        )
        return list(session.scalars(query.with_for_update() if lock else query))

    def submit_statement(self, requester: Requester, view: dict[str, Any]) -> dict[str, Any] | None:
        """One reply per waiting complaint, each filled with its customer's name, acknowledging it; in one unit of
        work, keyed by the view and the complaint, so a Slack retry or a double submit queues nothing twice."""
        try:
            storm_id = int(str(view.get("private_metadata", "")))
        except ValueError:
            log.warning("ignored a holding statement without a readable storm")
            return None
        text = (submitted_value(view, STATEMENT_INPUT) or "").strip()
        if not text:
            return {"response_action": "errors", "errors": {STATEMENT_INPUT: _("Write the holding statement first.")}}
        if not self._safely(self.roles.is_agent, requester.user_id):
            self._tell(requester, _(NOT_AN_AGENT))
            return None
        agent_name = self.slack.real_name(requester.user_id)
        view_key = str(view.get("id") or view.get("hash") or "")
        now = utcnow()
        queued = 0
        with self.database.unit_of_work() as session:
            storm = session.get(Storm, storm_id)
            if storm is None:
                self._enqueue_notice(session, requester, _(GONE), None, now)
                return None
            complaints = self._waiting(session, storm_id, lock=True)
            keys = {complaint.id: f"{STATEMENT_KEY}:{view_key}:{complaint.id}" for complaint in complaints}
            done = set(session.scalars(select(Reply.request_key).where(Reply.request_key.in_(list(keys.values())))))
            for complaint in complaints:
                if keys[complaint.id] in done:
                    continue  # this statement already reached this complaint (a retry, a double submit)
                self._tell_one(session, complaint, requester, text, agent_name, keys[complaint.id], now)
                queued += 1
            if queued:
                refresh_storm_card(session, storm, now)
        if queued:
            log.info("holding statement queued for %d complaint(s) of storm %s", queued, storm_id)
            self._wake_delivery()
            self.send_statement()
        return None

    def _tell_one(
        self,
        session: Session,
        complaint: Complaint,
        requester: Requester,
        text: str,
        agent_name: str | None,
        request_key: str,
        now: datetime,
    ) -> None:
        moment = eta_moment(complaint.resolve_deadline, now, self.settings.calendar)
        personal = fill(
            text,
            template_values(
                author_name=complaint.author_name,
                author_handle=complaint.author_handle,
                agent_name=agent_name,
                eta=eta_words(moment, now, self.settings.timezone),
                private_contact=self.settings.private_contact,
            ),
        )
        outcome = lifecycle.apply(session, complaint, Action.ACKNOWLEDGE, requester.actor, now, {"storm": True})
        by_hand = not self.replies.can_reply_on_platform(complaint)
        reply = Reply(
            complaint_id=complaint.id,
            request_key=request_key,
            purpose=ACKNOWLEDGE,
            channel=COPY if by_hand else PUBLIC,
            text=personal,
            personalised=True,
            requested_by=requester.user_id,
            requested_at=now,
            status=DRAFTED if by_hand else PENDING,
            attempts=0,
            due_at=None if by_hand else now,
            maybe_sent=False,
        )
        session.add(reply)
        session.flush()
        if by_hand:
            detail = {"reply_id": reply.id, "text": personal, "personalised": True}
            lifecycle.apply(session, complaint, Action.DRAFT_REPLY, requester.actor, now, detail)
        elif not outcome.changed:
            complaint.revision += 1
        self._after_change(session, complaint, now)

    def send_statement(self) -> None:
        """Send the queued replies now, off the request thread, until none is due (the sweep catches the rest)."""

        def drain() -> None:
            for _round in range(1000):
                self.replies.send_due_replies()  # up to 20 a call
                with self.database.unit_of_work() as session:
                    due = session.scalar(
                        select(Reply.id).where(Reply.status == PENDING, Reply.due_at <= utcnow()).limit(1)
                    )
                if due is None:
                    return

        threading.Thread(target=drain, name="storm-statement", daemon=True).start()

    def claim_all(self, storm_id: int, requester: Requester) -> None:
        self._each(storm_id, requester, Action.CLAIM)

    def resolve_all(self, storm_id: int, requester: Requester) -> None:
        # Translators: the resolution note of each complaint resolved with its storm (shown on its card).
        self._each(storm_id, requester, Action.RESOLVE, {"note": _("Resolved with the storm")})

    def _each(self, storm_id: int, requester: Requester, action: Action, detail: dict[str, Any] | None = None) -> None:
        """Apply `action` to every open complaint of the storm in one unit of work; the ones it does not apply to
        (claimed by someone else) are counted and said."""
        if not self._safely(self.roles.is_agent, requester.user_id):
            self._tell(requester, _(NOT_AN_AGENT))
            return
        for attempt in range(1, BULK_ATTEMPTS + 1):
            try:
                self._each_once(storm_id, requester, action, detail)
                return
            except OperationalError as error:
                # Bumping the lines of hundreds of complaints in one transaction can meet the delivery worker
                # recording several of those messages in another order; PostgreSQL ends one of the two. Every step
                # here is a no-op once done, so the whole change is simply made again.
                if getattr(error.orig, "sqlstate", None) != DEADLOCK or attempt == BULK_ATTEMPTS:
                    raise
                log.info("%s of storm %s met a deadlock; trying again (%s)", action.value, storm_id, attempt)

    def _each_once(self, storm_id: int, requester: Requester, action: Action, detail: dict[str, Any] | None) -> None:
        now = utcnow()
        changed, skipped = 0, []
        due: list[datetime] = []
        with self.database.unit_of_work() as session:
            storm = session.get(Storm, storm_id)
            if storm is None:
                self._enqueue_notice(session, requester, _(GONE), None, now)
                return
            for complaint in self._waiting(session, storm_id, lock=True):
                try:
                    outcome = lifecycle.apply(session, complaint, action, requester.actor, now, detail)
                except TransitionRefused:
                    skipped.append(complaint)
                    continue
                if outcome.changed:
                    changed += 1
                    moment = self._after_change(session, complaint, now)
                    if moment is not None:
                        due.append(moment)
            refresh_storm_card(session, storm, now)
            notice = _bulk_words(action, changed)
            if skipped:
                owners = sorted({lifecycle.mention(complaint.owner_id) for complaint in skipped if complaint.owner_id})
                notice += " " + _skipped_words(len(skipped), owners)
            self._enqueue_notice(session, requester, notice, storm.channel, now)
        if due:
            self._wake_at(min(due))
        self._wake_delivery()

    def _after_change(self, session: Session, complaint: Complaint, now: datetime) -> datetime | None:
        """Its line shows the change; its clocks are re-armed (acknowledged or resolved ones stop)."""
        projections.refresh_card(session, complaint, now)
        if complaint.status == Status.RESOLVED or complaint.acknowledged_at is not None:
            projections.refresh_reminders(session, complaint, now)
        complaint.sla_due_at = sla.next_due(complaint, self.sla)
        return complaint.sla_due_at

    def end(self, storm_id: int, requester: Requester) -> None:
        if not self._safely(self.roles.is_agent, requester.user_id):
            self._tell(requester, _(NOT_AN_AGENT))
            return
        now = utcnow()
        with self.database.unit_of_work() as session:
            if not _end(session, storm_id, now, requester.user_id):
                storm = session.get(Storm, storm_id)
                notice = _(GONE) if storm is None else _("This storm has already ended.")
                self._enqueue_notice(session, requester, notice, None, now)
        self._wake_delivery()

    # -- the sweep: a storm ends by itself once arrivals calm down ------------------------------------------------

    def sweep(self) -> datetime | None:
        if self.settings.storm_threshold is None:
            return None
        now = utcnow()
        with self.database.unit_of_work() as session:
            for storm in session.scalars(select(Storm).where(Storm.status == OPEN)).all():
                arrivals = session.scalar(
                    select(func.count(Complaint.id)).where(
                        Complaint.slack_channel == storm.channel,
                        Complaint.received_at >= now - self.settings.storm_window,
                    )
                )
                calm = (arrivals or 0) < self.settings.storm_threshold
                if not calm:
                    if storm.calm_since is not None:
                        session.execute(update(Storm).where(Storm.id == storm.id).values(calm_since=None))
                elif storm.calm_since is None:
                    session.execute(
                        update(Storm).where(Storm.id == storm.id, Storm.calm_since.is_(None)).values(calm_since=now)
                    )
                elif now - storm.calm_since >= self.settings.storm_calm and _end(session, storm.id, now, None):
                    log.info("storm %s in %s ended by itself: arrivals calmed down", storm.id, storm.channel)
        self._wake_delivery()
        return None


def _bulk_words(action: Action, changed: int) -> str:
    """What Claim all / Resolve all did, said to whoever clicked."""
    if action is Action.CLAIM:
        return n_("%(count)s complaint claimed.", "%(count)s complaints claimed.", changed)
    return n_("%(count)s complaint resolved.", "%(count)s complaints resolved.", changed)


def _skipped_words(count: int, owners: Sequence[str]) -> str:
    """The storm's complaints Claim all / Resolve all did not change, and who owns them."""
    if owners:
        # Translators: after "5 complaints claimed.": the ones others own stayed as they were.
        return n_(
            "%(count)s left as it was (owned by %(owners)s).",
            "%(count)s left as they were (owned by %(owners)s).",
            count,
            owners=", ".join(owners),
        )
    return n_("%(count)s left as it was.", "%(count)s left as they were.", count)


def _end(session: Session, storm_id: int, now: datetime, by: str | None) -> bool:
    """End the storm if it is open (a conditional update: one copy of Heard, one click, wins)."""
    ended = session.execute(
        update(Storm).where(Storm.id == storm_id, Storm.status == OPEN).values(status=ENDED, ended_at=now, ended_by=by)
    ).rowcount
    if ended != 1:
        return False
    storm = session.get(Storm, storm_id)
    if storm is not None:
        session.refresh(storm)
        refresh_storm_card(session, storm, now)
    return True
