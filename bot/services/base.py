"""The mechanics every use case shares: who asks, locking the complaint, refreshing what shows it, and
answering privately when a request did not (or did not need to) apply."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import delivery, lifecycle, projections, sla
from bot.blocks.notice import render_notice
from bot.config import Settings
from bot.delivery import utcnow
from bot.delivery.direct import SlackDirect, SlackUnavailable
from bot.delivery.prompt import NoPromptSender, PromptSender
from bot.directory import DirectoryFile
from bot.i18n import N_, _
from bot.languages import Languages
from bot.lifecycle import Action, Actor, Outcome, Status, TransitionRefused
from bot.observability.metrics import HeardMetrics
from bot.platforms.base import PostRef
from bot.platforms.registry import Platforms
from bot.roles import Roles
from bot.rotations import RotationsFile
from bot.sla import SlaPolicy
from storage import complaint_rows
from storage.db import Database
from storage.models import Complaint

log = logging.getLogger("heard.services")

# A post dated in the future (a sender's clock running fast) would stretch the window; trust our clock then.
MAX_CLOCK_SKEW = timedelta(minutes=2)
SNOOZE = timedelta(days=1)
RESOLUTION_SNOOZE = timedelta(hours=1)
# Stages done more than this after their moment are marked late in the audit trail.
LATE_AFTER = timedelta(seconds=5)
# Private answers, in the language of the person who asked (translated where they are said: `_(GONE)`).
# Translators: HEARD_AGENTS is the name of a setting: keep it as it is.
NOT_AN_AGENT = N_(
    "Sorry, only the care team can act on complaints in Heard. If you should be part of it, ask your Heard admin "
    "to add you to HEARD_AGENTS."
)
# Translators: HEARD_MANAGERS is the name of a setting: keep it as it is.
NOT_A_MANAGER = N_(
    "Only managers can approve or decline escalations. If you should, ask your Heard admin to add you to "
    "HEARD_MANAGERS."
)
GONE = N_("This complaint no longer exists in Heard.")
# A click or a modal whose value Heard cannot read as one it wrote (forged, garbled, or from a card drawn long ago).
OUT_OF_DATE = N_("This card is out of date, so Heard did nothing. Please use the card as it shows in the channel now.")
# Slack did not open a form (`views.open` failed or timed out).
NOT_OPENED = N_("Slack did not open the form; please click the button again.")
# Slack could not say who is in a user group (permissions depend on it).
NO_MEMBERSHIP = N_("Heard could not check your team membership with Slack; try again soon.")


@dataclass(frozen=True)
class IngestResult:
    complaint_id: int
    duplicate: bool
    # The post joined an open complaint of the same author and conversation instead of opening one.
    joined: bool = False
    due_at: datetime | None = None


@dataclass(frozen=True)
class Requester:
    """Who asked, and where a private answer to them should go."""

    user_id: str
    channel: str = ""
    response_url: str | None = None
    surface: str = "slack:button"

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.surface)


# Field errors for a modal: block_id -> message, shown by Slack under the field.
FieldErrors = dict[str, str]


@dataclass(frozen=True)
class Context:
    """What every area of use cases shares, built once in app.py and handed to each: nothing is built lazily or
    kept in class attributes behind the areas' backs."""

    settings: Settings
    database: Database
    wake_delivery: delivery.Waker
    slack: SlackDirect
    directory: DirectoryFile | None
    # The adapter of each complaint's network: replies, private replies, hiding and blocking go through it.
    platforms: Platforms
    roles: Roles
    sla: SlaPolicy
    wake_at: Callable[[datetime], None] = lambda _due: None
    rotations: RotationsFile | None = None  # ROTATIONS_FILE; None: no rotations
    # Sends a posted message's update from the calling thread once its change is committed (claimed inside the
    # change's unit of work); the worker, woken as well, does it when this cannot.
    prompt: PromptSender = field(default_factory=NoPromptSender)
    # Each person's language for their own views (bot/languages.py); None only where nothing is built with it.
    languages: Languages | None = None
    # What /metrics counts (bot/observability/metrics.py); a registry nobody scrapes unless app.py gives Heard's.
    metrics: HeardMetrics = field(default_factory=HeardMetrics)

    @classmethod
    def build(
        cls,
        settings: Settings,
        database: Database,
        wake_delivery: delivery.Waker,
        slack: SlackDirect,
        directory: DirectoryFile | None,
        wake_at: Callable[[datetime], None] = lambda _due: None,
        platforms: Platforms | None = None,
        rotations: RotationsFile | None = None,
        prompt: PromptSender | None = None,
        languages: Languages | None = None,
        metrics: HeardMetrics | None = None,
    ) -> Context:
        return cls(
            settings=settings,
            database=database,
            wake_delivery=wake_delivery,
            slack=slack,
            directory=directory,
            platforms=platforms if platforms is not None else Platforms(settings),
            roles=Roles(settings.agents, settings.managers, slack),
            sla=SlaPolicy(
                ack_window=settings.ack_window,
                resolve_window=settings.resolve_window,
                nag_before=settings.nag_before,
                breach_repeat=settings.breach_repeat,
                breach_repeats=settings.breach_repeats,
                calendar=settings.calendar,
            ),
            wake_at=wake_at,
            rotations=rotations,
            prompt=prompt or NoPromptSender(),
            languages=languages or Languages(database, slack),
            metrics=metrics or HeardMetrics(settings.ack_window),
        )


class UseCases:
    """The mechanics each area inherits; each area is its own object, composed in `bot.services.Services`."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.settings
        self.platforms = context.platforms
        self.database = context.database
        self._wake_delivery = context.wake_delivery
        self.slack = context.slack
        self.directory = context.directory
        self.roles = context.roles
        self._wake_at = context.wake_at
        self._prompt = context.prompt
        self.sla = context.sla
        self.languages = context.languages
        self.metrics = context.metrics

    @staticmethod
    def post_ref(complaint: Complaint) -> PostRef:
        return PostRef(
            external_id=complaint.external_id,
            author_id=complaint.author_id,
            author_handle=complaint.author_handle,
            posted_at=complaint.posted_at,
            conversation_id=complaint.conversation_id,
        )

    # -- shared mechanics ------------------------------------------------------------------------------------------

    def _act(self, complaint_id: int, action: Action, requester: Requester, detail: dict | None = None) -> None:
        """A change of the complaint alone (the card's own buttons): read and written with prebuilt Core statements,
        its audit event too (`plain`), as a flood of clicks spends most of its time here."""

        def change(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            return lifecycle.apply(session, complaint, action, requester.actor, now, detail, lifecycle.insert_event)

        self._change(complaint_id, requester, change, plain=True)

    def _change(
        self,
        complaint_id: int,
        requester: Requester,
        change: Callable[[Session, Complaint, datetime], Outcome],
        *,
        plain: bool = False,
    ) -> bool:
        """Check who asks, lock the complaint, apply `change`, refresh what shows it, and answer privately when
        the request did not (or did not need to) apply. Returns whether something changed.

        `plain`: `change` only sets the complaint's own columns and audits with `lifecycle.insert_event` (nothing
        else in the session to flush), so the complaint is read and written with Core (storage/complaint_rows.py)."""
        if not self._safely(self.roles.is_agent, requester.user_id):
            self._tell(requester, _(NOT_AN_AGENT))
            return False
        now = utcnow()
        changed = False
        due: datetime | None = None
        card: Any = None
        with self.database.unit_of_work() as session:
            read: dict[str, Any] | None = None
            if plain:
                complaint, read = complaint_rows.lock(session, complaint_id) or (None, None)
            else:
                complaint = session.get(Complaint, complaint_id, with_for_update=True)
            if complaint is None:
                notice: str | None = _(GONE)
            else:
                try:
                    outcome = change(session, complaint, now)
                    notice, changed = outcome.notice, outcome.changed
                    if changed:
                        # The clocks first: the complaint's row is then written once, with its new deadline, by
                        # `_write` or when the outbox's statements below flush it (one UPDATE per click, not two).
                        due = self._rearm_sla(session, complaint, now)
                        if read is not None:
                            self._write(session, complaint, read)
                        self._log(session, complaint, outcome, now)
                        # The card first, by this thread once committed: the person who clicked is looking at it.
                        card_key = projections.card_key(complaint.id)
                        card = self._prompt.claim_now(session, card_key, now)
                        if card is None and card_key not in delivery.queued(session):  # the worker sends it
                            projections.refresh_card(session, complaint, now)
                except TransitionRefused as refused:
                    notice = str(refused)
                    projections.refresh_card(session, complaint, now)  # the card they used may be stale
            if notice:
                channel = complaint.slack_channel if complaint is not None else None
                self._enqueue_notice(session, requester, notice, channel, now)
            left = delivery.queued(session)
            if card is not None:
                left.pop(card.key, None)  # this thread sends it
        if due is not None:
            self._wake_at(due)
        if card is not None:
            self._prompt.send_claimed(card)
        if self._prompt.needs_waking(left):
            self._wake_delivery()
        return changed

    def _write(self, session: Session, complaint: Complaint, read: dict[str, Any]) -> None:
        """Write a `plain` change, and count an acknowledgement in it (no flush sees a Core UPDATE)."""
        written = complaint_rows.write(session, complaint, read)
        if written.get("acknowledged_at") is not None and read["acknowledged_at"] is None:
            self.metrics.complaint_acknowledged(session, complaint, written["acknowledged_at"])

    def _rearm_sla(self, session: Session, complaint: Complaint, now: datetime) -> datetime | None:
        """After a change the clocks may have stopped (acknowledged, resolved) or restarted (reopened)."""
        complaint.sla_due_at = sla.next_due(complaint, self.sla)  # before any statement flushes the row
        if complaint.status == Status.RESOLVED or complaint.acknowledged_at is not None:
            projections.refresh_reminders(session, complaint, now)
        return complaint.sla_due_at

    def _log(self, session: Session, complaint: Complaint, outcome: Outcome, now: datetime) -> None:
        if self.settings.thread_log and outcome.event is not None:
            projections.log_in_thread(session, complaint, outcome.event, now)

    def language_of(self, user: str) -> str | None:
        """The language `user` sees their own views in (None: the team's); outside any unit of work."""
        return self.languages.language_of(user) if self.languages is not None else None

    def _safely(self, check: Callable[..., bool], *args: object) -> bool:
        """Permission checks may need Slack (user groups); when it cannot answer, refuse rather than guess."""
        try:
            return check(*args)
        except SlackUnavailable:
            return False

    def out_of_date(self, requester: Requester) -> None:
        """Answer a click or a submission whose value Heard cannot read, privately; nothing else happens."""
        self._tell(requester, _(OUT_OF_DATE))

    def _open_modal(
        self,
        complaint_id: int,
        requester: Requester,
        trigger_id: str,
        view_of: Callable[[Session, Complaint], dict[str, Any] | str],
        *,
        refuse_resolved: bool = False,
        ask_slack: Callable[[], None] | None = None,
    ) -> None:
        """Open the modal `view_of` builds for this complaint, or tell the person privately why not: the complaint
        is gone, they are not on the care team, it is resolved (with `refuse_resolved`; the card they used is
        refreshed, it may be stale), `view_of` returned a refusal in words, or Slack did not open it.

        Slack is asked (user groups, then `ask_slack` once they may act) before the unit of work, never while it
        holds the row or SQLite's writer."""
        refusal: str | None = None
        view: dict[str, Any] | None = None
        may_act = self._safely(self.roles.is_agent, requester.user_id)
        if may_act and ask_slack is not None:
            ask_slack()
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id)
            if complaint is None:
                refusal = _(GONE)
            elif not may_act:
                refusal = _(NOT_AN_AGENT)
            elif refuse_resolved and complaint.status == Status.RESOLVED:
                refusal = _(
                    "This complaint was resolved by %(person)s; reopen it first.",
                    person=lifecycle.mention(complaint.resolved_by),
                )
                projections.refresh_card(session, complaint, utcnow())
            else:
                built = view_of(session, complaint)
                if isinstance(built, str):
                    refusal = built
                else:
                    view = built
        self._open_or_tell(requester, trigger_id, view, refusal)

    def _open_or_tell(
        self, requester: Requester, trigger_id: str, view: dict[str, Any] | None, refusal: str | None
    ) -> None:
        """Open `view` if there is one (outside any unit of work), else tell the person why not, privately."""
        if view is not None:
            try:
                self.slack.open_modal(trigger_id, view)
                return
            except SlackUnavailable:
                refusal = _(NOT_OPENED)
        self._tell(requester, refusal or _(NOT_OPENED))

    def _tell(self, requester: Requester, text: str) -> None:
        with self.database.unit_of_work() as session:
            self._enqueue_notice(session, requester, text, None, utcnow())
        self._wake_delivery()

    def _enqueue_notice(
        self, session: Session, requester: Requester, text: str, fallback_channel: str | None, now: datetime
    ) -> None:
        delivery.send_ephemeral(
            session,
            response_url=requester.response_url,
            channel=requester.channel or fallback_channel or self.settings.heard_channel,
            user=requester.user_id,
            message=render_notice(text),
            now=now,
        )


def default_follow_up(settings: Settings, now: datetime) -> datetime:
    """FOLLOW_UP_AFTER from now; whole days land on FOLLOW_UP_TIME in the team's time zone."""
    after = settings.follow_up_after
    if after < timedelta(days=1):
        return now + after
    local_day = (now + after).astimezone(settings.timezone).date()
    return datetime.combine(local_day, settings.follow_up_time, settings.timezone)
