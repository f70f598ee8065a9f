"""Use cases: one unit of work each. Handlers, sources and the scheduler call these; nothing here knows HTTP or Bolt.

Every use case that someone triggers from Slack takes a `Requester`, checks what that person may do, applies the
change through `lifecycle`, re-renders what shows it (card, notices, DMs, thread log) through the outbox, and
answers privately when the request did not (or did not need to) change anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import delivery, lifecycle, projections, sla
from bot.blocks import modals
from bot.blocks.card import fallback
from bot.blocks.notice import render_notice
from bot.blocks.when import clock
from bot.config import Settings
from bot.delivery import utcnow
from bot.delivery.direct import SlackDirect, SlackUnavailable
from bot.directory import Department, DirectoryFile
from bot.lifecycle import Action, Actor, EscalationStatus, FollowUpStatus, Outcome, Status, TransitionRefused
from bot.roles import Roles
from bot.sla import Clock, SlaPolicy, StageKind
from bot.sources import NewComplaint
from storage.db import Database
from storage.models import Complaint, Escalation, FollowUp

log = logging.getLogger("heard.services")

# A post dated in the future (a sender's clock running fast) would stretch the window; trust our clock then.
MAX_CLOCK_SKEW = timedelta(minutes=2)
SNOOZE = timedelta(days=1)
RESOLUTION_SNOOZE = timedelta(hours=1)
# Stages done more than this after their moment are marked late in the audit trail.
LATE_AFTER = timedelta(seconds=5)
NOT_AN_AGENT = (
    "Sorry, only the care team can act on complaints in Heard. If you should be part of it, ask your Heard admin "
    "to add you to HEARD_AGENTS."
)
NOT_A_MANAGER = "Only managers (HEARD_MANAGERS) can approve or decline escalations."
GONE = "This complaint no longer exists in Heard."


@dataclass(frozen=True)
class IngestResult:
    complaint_id: int
    duplicate: bool


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


class Services:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        wake_delivery: delivery.Waker,
        slack: SlackDirect,
        directory: DirectoryFile | None,
        wake_at: Callable[[datetime], None] = lambda _due: None,
    ) -> None:
        self.settings = settings
        self.database = database
        self._wake_delivery = wake_delivery
        self.slack = slack
        self.directory = directory
        self.roles = Roles(settings.agents, settings.managers, slack)
        self._wake_at = wake_at
        self.sla = SlaPolicy(
            ack_window=settings.ack_window,
            resolve_window=settings.resolve_window,
            nag_before=settings.nag_before,
            breach_repeat=settings.breach_repeat,
            breach_repeats=settings.breach_repeats,
            calendar=settings.calendar,
        )

    # -- complaints arrive ----------------------------------------------------------------------------------------

    def ingest(self, new: NewComplaint) -> IngestResult:
        """Commit a complaint and its card's delivery together; the same (source, id) again is a duplicate."""
        existing = self._find(new.source, new.external_id)
        if existing is not None:
            return IngestResult(existing, duplicate=True)
        try:
            with self.database.unit_of_work() as session:
                complaint = self._create(session, new)
        except IntegrityError:
            existing = self._find(new.source, new.external_id)  # two deliveries of one post raced; one won
            if existing is None:
                raise
            return IngestResult(existing, duplicate=True)
        log.info("complaint %s received from %s", complaint.id, new.source)
        if complaint.sla_due_at is not None:
            self._wake_at(complaint.sla_due_at)
        self._wake_delivery()
        return IngestResult(complaint.id, duplicate=False)

    def _find(self, source: str, external_id: str) -> int | None:
        with self.database.unit_of_work() as session:
            return session.scalar(
                select(Complaint.id).where(Complaint.source == source, Complaint.external_id == external_id)
            )

    def _create(self, session: Session, new: NewComplaint) -> Complaint:
        now = utcnow()
        posted_at = new.posted_at or now
        if posted_at > now + MAX_CLOCK_SKEW:
            posted_at = now
        complaint = Complaint(
            source=new.source,
            external_id=new.external_id,
            author_handle=new.author_handle,
            author_name=new.author_name,
            author_id=new.author_id,
            text=new.text,
            url=new.url,
            posted_at=posted_at,
            received_at=now,
            status=Status.NEW.value,
            ack_deadline=self.sla.deadline(posted_at, Clock.ACK),
            resolve_deadline=self.sla.deadline(posted_at, Clock.RESOLVE),
            ack_stage=0,
            resolve_stage=0,
            slack_channel=self.settings.heard_channel,
            revision=1,
        )
        complaint.sla_due_at = sla.next_due(complaint, self.sla)
        session.add(complaint)
        session.flush()  # assigns the id the audit event and the delivery refer to
        lifecycle.record(
            session, complaint, Action.RECEIVE, Actor(new.source, "ingest"), now, {"external_id": new.external_id}
        )
        projections.refresh_card(session, complaint, now)
        return complaint

    # -- buttons on the card --------------------------------------------------------------------------------------

    def claim(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.CLAIM, requester)

    def release(self, complaint_id: int, requester: Requester) -> None:
        as_manager = bool(self.settings.managers) and self._safely(self.roles.is_manager, requester.user_id)
        self._act(complaint_id, Action.RELEASE, requester, {"as_manager": as_manager})

    def acknowledge(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.ACKNOWLEDGE, requester)

    def reopen(self, complaint_id: int, requester: Requester) -> None:
        self._act(complaint_id, Action.REOPEN, requester)

    def reassign(self, complaint_id: int, requester: Requester, to_user: str | None) -> FieldErrors | None:
        if not to_user:
            return {modals.ids.ASSIGNEE_INPUT: "Choose who should own this complaint."}
        if not self._safely(self.roles.is_agent, to_user):
            return {modals.ids.ASSIGNEE_INPUT: "That person is not on the care team (HEARD_AGENTS)."}
        self._act(complaint_id, Action.REASSIGN, requester, {"to": to_user})
        return None

    def resolve(self, complaint_id: int, requester: Requester, note: str | None) -> None:
        self._act(complaint_id, Action.RESOLVE, requester, {"note": (note or "").strip()})

    # -- modals: opened first thing, while the trigger is fresh -----------------------------------------------------

    def open_form(self, form: str, complaint_id: int, requester: Requester, trigger_id: str) -> None:
        """Open the modal for `form` (one of ids.*_VIEW) if this person may use it on this complaint now."""
        refusal: str | None = None
        view: dict | str = ""
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id)
            if complaint is None:
                refusal = GONE
            elif not self._safely(self.roles.is_agent, requester.user_id):
                refusal = NOT_AN_AGENT
            elif form != modals.ids.FOLLOW_UP_VIEW and complaint.status == Status.RESOLVED:
                refusal = f"This complaint was resolved by {lifecycle.mention(complaint.resolved_by)}; reopen it first."
                projections.refresh_card(session, complaint, utcnow())
            else:
                view = self._form(form, complaint)
                if isinstance(view, str):
                    refusal = view
        if refusal is None and isinstance(view, dict):
            try:
                self.slack.open_modal(trigger_id, view)
                return
            except SlackUnavailable as unavailable:
                refusal = str(unavailable)
        self._tell(requester, refusal or "Slack did not open the form; please try again.")

    def _form(self, form: str, complaint: Complaint) -> dict | str:
        ref = modals.ids.ComplaintRef(complaint.id, complaint.revision).encode()
        summary = fallback(complaint)
        if form == modals.ids.ESCALATE_VIEW:
            if self.directory is None:
                return "Escalation is not set up: the admin needs to create the escalation directory file."
            return modals.escalate_modal(ref, summary, self.directory.current().departments)
        if form == modals.ids.FOLLOW_UP_VIEW:
            due = self.default_follow_up(utcnow()).astimezone(self.settings.timezone)
            return modals.follow_up_modal(ref, summary, due.date(), due.time(), self.settings.timezone.key)
        if form == modals.ids.RESOLVE_VIEW:
            return modals.resolve_modal(ref, summary)
        return modals.reassign_modal(ref, summary, complaint.owner_id)

    def default_follow_up(self, now: datetime) -> datetime:
        """FOLLOW_UP_AFTER from now; whole days land on FOLLOW_UP_TIME in the team's time zone."""
        after = self.settings.follow_up_after
        if after < timedelta(days=1):
            return now + after
        local_day = (now + after).astimezone(self.settings.timezone).date()
        return datetime.combine(local_day, self.settings.follow_up_time, self.settings.timezone)

    # -- escalation ------------------------------------------------------------------------------------------------

    def escalate(
        self,
        complaint_id: int,
        requester: Requester,
        department_key: str | None,
        reason: str | None,
        severity: str | None,
    ) -> FieldErrors | None:
        department = self.directory.current().get(department_key or "") if self.directory else None
        errors: FieldErrors = {}
        if department is None:
            errors[modals.ids.DEPARTMENT_INPUT] = "Choose a department from the list."
        if not (reason or "").strip():
            errors[modals.ids.REASON_INPUT] = "Say why, so the department knows what to do."
        if errors:
            return errors
        assert department is not None
        try:
            recipients, mentions = self._department_recipients(department)
            approvers = self.roles.manager_recipients() if department.needs_approval else []
        except SlackUnavailable as unavailable:
            return {modals.ids.DEPARTMENT_INPUT: str(unavailable)}

        def escalate_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            outcome = lifecycle.apply(
                session,
                complaint,
                Action.ESCALATE,
                requester.actor,
                now,
                {"department": department.name, "reason": reason, "severity": severity},
            )
            escalation = Escalation(
                complaint_id=complaint.id,
                department_key=department.key,
                department_name=department.name,
                reason=(reason or "").strip(),
                severity=(severity or "medium"),
                status=(EscalationStatus.AWAITING_APPROVAL if department.needs_approval else EscalationStatus.OPEN),
                requested_by=requester.user_id,
                requested_at=now,
            )
            session.add(escalation)
            session.flush()
            if department.needs_approval:
                projections.ask_for_approval(session, escalation, approvers or [self.settings.heard_channel], now)
            else:
                projections.notify_department(session, escalation, recipients, mentions, now)
            return outcome

        self._change(complaint_id, requester, escalate_now)
        return None

    def _department_recipients(self, department: Department) -> tuple[list[str], str]:
        """DMs for the listed people; the channel (mentioning the groups) when there is one, else DMs to the
        groups' members; the complaints channel when nothing else reaches anyone."""
        recipients = list(department.users)
        mentions = " ".join(f"<!subteam^{group}>" for group in department.user_groups)
        if department.channel:
            recipients.append(department.channel)
        else:
            for group in department.user_groups:
                recipients.extend(user for user in sorted(self.slack.group_members(group)) if user not in recipients)
        return recipients or [self.settings.heard_channel], mentions

    def decide_escalation(self, escalation_id: int, requester: Requester, approve: bool) -> None:
        if not self._safely(self.roles.is_manager, requester.user_id):
            self._tell(requester, NOT_A_MANAGER)
            return
        action = Action.APPROVE_ESCALATION if approve else Action.DECLINE_ESCALATION
        self._escalation_step(escalation_id, requester, action)

    def accept_escalation(self, escalation_id: int, requester: Requester) -> None:
        self._escalation_step(escalation_id, requester, Action.ACCEPT_ESCALATION)

    def _escalation_step(self, escalation_id: int, requester: Requester, action: Action) -> None:
        now = utcnow()
        notice: str | None = None
        with self.database.unit_of_work() as session:
            escalation = session.get(Escalation, escalation_id, with_for_update=True)
            complaint = session.get(Complaint, escalation.complaint_id, with_for_update=True) if escalation else None
            if escalation is None or complaint is None:
                notice = GONE
            else:
                department = self.directory.current().get(escalation.department_key) if self.directory else None
                if action is Action.ACCEPT_ESCALATION and not self._safely(
                    self.roles.may_accept, requester.user_id, department
                ):
                    notice = f"Only {escalation.department_name}'s contacts or a manager can accept this escalation."
                else:
                    notice = self._escalation_transition(
                        session, complaint, escalation, action, requester, department, now
                    )
        if notice:
            self._tell(requester, notice)
        self._wake_delivery()

    def _escalation_transition(
        self,
        session: Session,
        complaint: Complaint,
        escalation: Escalation,
        action: Action,
        requester: Requester,
        department: Department | None,
        now: datetime,
    ) -> str | None:
        try:
            outcome = lifecycle.apply_to_escalation(session, complaint, escalation, action, requester.actor, now)
        except TransitionRefused as refused:
            projections.refresh_escalation(session, escalation, now)
            return str(refused)
        if outcome.changed:
            projections.refresh_escalation(session, escalation, now)
            projections.refresh_card(session, complaint, now)
            self._log(session, outcome, now)
            if action is Action.APPROVE_ESCALATION:
                if department is None:
                    return f"{escalation.department_name} is no longer in the directory; nobody was notified."
                recipients, mentions = self._department_recipients(department)
                projections.notify_department(session, escalation, recipients, mentions, now)
        return outcome.notice

    # -- follow-ups ------------------------------------------------------------------------------------------------

    def schedule_follow_up(
        self, complaint_id: int, requester: Requester, day: str | None, at: str | None, note: str | None
    ) -> FieldErrors | None:
        try:
            due = datetime.combine(date.fromisoformat(day or ""), time.fromisoformat(at or ""), self.settings.timezone)
        except ValueError:
            return {modals.ids.DATE_INPUT: "Choose a date and a time."}
        if due <= utcnow():
            return {modals.ids.DATE_INPUT: "That moment has passed; choose a time in the future."}
        self._add_follow_up(complaint_id, requester, due, (note or "").strip())
        return None

    def quick_follow_up(self, complaint_id: int, requester: Requester) -> None:
        self._add_follow_up(complaint_id, requester, self.default_follow_up(utcnow()), "")

    def _add_follow_up(self, complaint_id: int, requester: Requester, due: datetime, note: str) -> None:
        def schedule(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            outcome = lifecycle.apply(
                session, complaint, Action.SCHEDULE_FOLLOW_UP, requester.actor, now, {"due_at": due.isoformat()}
            )
            session.add(
                FollowUp(
                    complaint_id=complaint.id,
                    due_at=due,
                    note=note,
                    assignee=complaint.owner_id or requester.user_id,
                    scheduled_by=requester.user_id,
                    scheduled_at=now,
                    status=FollowUpStatus.SCHEDULED.value,
                )
            )
            return outcome

        if self._change(complaint_id, requester, schedule):
            self._wake_at(due)

    def finish_follow_up(self, follow_up_id: int, requester: Requester) -> None:
        self._follow_up_step(follow_up_id, requester, Action.FINISH_FOLLOW_UP)

    def snooze_follow_up(self, follow_up_id: int, requester: Requester) -> None:
        self._follow_up_step(follow_up_id, requester, Action.SNOOZE_FOLLOW_UP)

    def _follow_up_step(self, follow_up_id: int, requester: Requester, action: Action) -> None:
        now = utcnow()
        notice: str | None = None
        snoozed_until: datetime | None = None
        with self.database.unit_of_work() as session:
            follow_up = session.get(FollowUp, follow_up_id, with_for_update=True)
            complaint = session.get(Complaint, follow_up.complaint_id, with_for_update=True) if follow_up else None
            if follow_up is None or complaint is None:
                notice = GONE
            elif requester.user_id != follow_up.assignee and not self._safely(self.roles.is_agent, requester.user_id):
                notice = NOT_AN_AGENT
            else:
                detail = {"until": now + SNOOZE} if action is Action.SNOOZE_FOLLOW_UP else None
                try:
                    outcome = lifecycle.apply_to_follow_up(
                        session, complaint, follow_up, action, requester.actor, now, detail
                    )
                    notice = outcome.notice
                    if outcome.changed:
                        projections.refresh_card(session, complaint, now)
                        self._log(session, outcome, now)
                        if action is Action.SNOOZE_FOLLOW_UP:
                            snoozed_until = follow_up.due_at
                            when = clock(snoozed_until, now, self.settings.timezone)
                            notice = f"Snoozed: Heard will remind you again {when}."
                except TransitionRefused as refused:
                    notice = str(refused)
                projections.refresh_follow_up(session, follow_up, now)
        if notice:
            self._tell(requester, notice)
        if snoozed_until:
            self._wake_at(snoozed_until)
        self._wake_delivery()

    def send_due_follow_ups(self, limit: int = 200) -> datetime | None:
        """Claim every follow-up that is due and queue its DM, in one transaction per batch: with several
        copies of Heard each follow-up is taken by exactly one (the row lock and the status change decide).
        Returns when the next one falls due, so the scheduler can wake up then."""
        now = utcnow()
        actor = Actor("scheduler", "scheduler")
        with self.database.unit_of_work() as session:
            due = session.scalars(
                select(FollowUp)
                .where(FollowUp.status == FollowUpStatus.SCHEDULED.value, FollowUp.due_at <= now)
                .order_by(FollowUp.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for follow_up in due:
                complaint = session.get(Complaint, follow_up.complaint_id)
                assert complaint is not None
                late = now - follow_up.due_at
                detail = {"late_seconds": int(late.total_seconds())} if late > timedelta(minutes=1) else None
                outcome = lifecycle.apply_to_follow_up(
                    session, complaint, follow_up, Action.SEND_FOLLOW_UP, actor, now, detail
                )
                projections.refresh_follow_up(session, follow_up, now)
                projections.refresh_card(session, complaint, now)
                self._log(session, outcome, now)
            upcoming = session.scalar(
                select(FollowUp.due_at)
                .where(FollowUp.status == FollowUpStatus.SCHEDULED.value, FollowUp.due_at > now)
                .order_by(FollowUp.due_at)
                .limit(1)
            )
        if due:
            log.info("sent %d follow-up reminder(s)", len(due))
            self._wake_delivery()
        if len(due) == limit:
            return self.send_due_follow_ups(limit)  # more was due than one batch takes
        return upcoming

    # -- shared mechanics ------------------------------------------------------------------------------------------

    def _act(self, complaint_id: int, action: Action, requester: Requester, detail: dict | None = None) -> None:
        def change(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            return lifecycle.apply(session, complaint, action, requester.actor, now, detail)

        self._change(complaint_id, requester, change)

    def _change(
        self, complaint_id: int, requester: Requester, change: Callable[[Session, Complaint, datetime], Outcome]
    ) -> bool:
        """Check who asks, lock the complaint, apply `change`, refresh what shows it, and answer privately when
        the request did not (or did not need to) apply. Returns whether something changed."""
        if not self._safely(self.roles.is_agent, requester.user_id):
            self._tell(requester, NOT_AN_AGENT)
            return False
        now = utcnow()
        changed = False
        due: datetime | None = None
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id, with_for_update=True)
            if complaint is None:
                notice: str | None = GONE
            else:
                try:
                    outcome = change(session, complaint, now)
                    notice, changed = outcome.notice, outcome.changed
                    if changed:
                        projections.refresh_card(session, complaint, now)
                        self._log(session, outcome, now)
                        due = self._rearm_sla(session, complaint, now)
                except TransitionRefused as refused:
                    notice = str(refused)
                    projections.refresh_card(session, complaint, now)  # the card they used may be stale
            if notice:
                channel = complaint.slack_channel if complaint is not None else None
                self._enqueue_notice(session, requester, notice, channel, now)
        if due is not None:
            self._wake_at(due)
        self._wake_delivery()
        return changed

    def _rearm_sla(self, session: Session, complaint: Complaint, now: datetime) -> datetime | None:
        """After a change the clocks may have stopped (acknowledged, resolved) or restarted (reopened)."""
        if complaint.status == Status.RESOLVED or complaint.acknowledged_at is not None:
            projections.refresh_reminders(session, complaint, now)
        complaint.sla_due_at = sla.next_due(complaint, self.sla)
        return complaint.sla_due_at

    # -- the SLA clocks ----------------------------------------------------------------------------------------------

    def snooze_resolution(self, complaint_id: int, requester: Requester) -> None:
        """The owner may quiet their own resolution reminders for a while (acknowledgement nags never snooze)."""

        def snooze(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            if complaint.owner_id not in (None, requester.user_id):
                raise TransitionRefused(f"Only its owner, {lifecycle.mention(complaint.owner_id)}, can snooze these.")
            until = now + RESOLUTION_SNOOZE
            outcome = lifecycle.apply(
                session, complaint, Action.SNOOZE_RESOLUTION, requester.actor, now, {"until": until.isoformat()}
            )
            complaint.resolve_snoozed_until = until
            return outcome

        self._change(complaint_id, requester, snooze)

    def run_sla(self, limit: int = 500) -> datetime | None:
        """Do every nag, breach and reminder that has fallen due, each exactly once: the complaint row is locked
        (FOR UPDATE SKIP LOCKED, so copies of Heard share the work) and its stage counter moves in the same
        transaction as the message is queued. Work that fell due while Heard was down is done now, marked late;
        of several stages missed, only the latest is sent. Returns when the next one falls due."""
        now = utcnow()
        managers = self._breach_recipients()
        actor = Actor("scheduler", "scheduler")
        woke: list[int] = []
        with self.database.unit_of_work() as session:
            due = session.scalars(
                select(Complaint)
                .where(Complaint.sla_due_at <= now)
                .order_by(Complaint.sla_due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for complaint in due:
                for which in sla.Clock:
                    self._do_stages(session, complaint, which, now, actor, managers)
                complaint.sla_due_at = sla.next_due(complaint, self.sla)
                woke.append(complaint.id)
            upcoming = session.scalar(
                select(Complaint.sla_due_at).where(Complaint.sla_due_at > now).order_by(Complaint.sla_due_at).limit(1)
            )
        if woke:
            self._wake_delivery()
        if len(due) == limit:
            return self.run_sla(limit)  # more was due than one batch takes
        return upcoming

    def _do_stages(
        self, session: Session, complaint: Complaint, which: Clock, now: datetime, actor: Actor, managers: list[str]
    ) -> None:
        stages = sla.due_stages(complaint, which, self.sla, now)
        if not stages:
            return
        stage = stages[-1]
        sla.set_done_stages(complaint, which, stage.number)
        late = now - stage.at
        detail: dict[str, object] = {"clock": which.value, "stage": stage.number}
        if late > LATE_AFTER:
            detail["late_seconds"] = round(late.total_seconds(), 1)
        if len(stages) > 1:
            detail["skipped_stages"] = [skipped.number for skipped in stages[:-1]]
        if stage.kind is StageKind.NAG:
            action = Action.NAG
            projections.send_nag(session, complaint, which, stage.number, now)
        else:
            action = Action.BREACH if stage.kind is StageKind.BREACH else Action.REMIND
            reminder = stage.number - self._breach_stage_number(complaint, which)
            projections.alert_breach(session, complaint, which, stage.number, reminder, managers, now)
            projections.refresh_card(session, complaint, now)  # the card turns overdue
        outcome = lifecycle.apply(session, complaint, action, actor, now, detail)
        self._log(session, outcome, now)

    def _breach_stage_number(self, complaint: Complaint, which: Clock) -> int:
        stages = self.sla.stages(sla.clock_start(complaint), sla.clock_deadline(complaint, which))
        return next(stage.number for stage in stages if stage.kind is StageKind.BREACH)

    def _breach_recipients(self) -> list[str]:
        """Managers by DM; without HEARD_MANAGERS (or when Slack cannot list a group) the complaints channel."""
        if not self.settings.managers:
            return [self.settings.heard_channel]
        try:
            return self.roles.manager_recipients() or [self.settings.heard_channel]
        except SlackUnavailable:
            return [self.settings.heard_channel]

    def _log(self, session: Session, outcome: Outcome, now: datetime) -> None:
        if self.settings.thread_log and outcome.event is not None:
            projections.log_in_thread(session, outcome.event, now)

    def _safely(self, check: Callable[..., bool], *args: object) -> bool:
        """Permission checks may need Slack (user groups); when it cannot answer, refuse rather than guess."""
        try:
            return check(*args)
        except SlackUnavailable:
            return False

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
