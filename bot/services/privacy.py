"""Data-subject requests, legal hold and retention: `/complaints privacy @handle` (everything Heard holds about an
author, as a JSON file by DM), `/complaints erase @handle` (a question naming how many complaints will be redacted,
then its button), `/complaints hold lift #id`, all for managers; and the daily retention sweep
(PERSONAL_DATA_RETENTION), claimed once a day across copies of Heard by a `digest_runs` row as the digest is.
The records and the one redaction they share are in `bot/privacy.py`."""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import delivery, lifecycle, privacy, projections
from bot.blocks import Message
from bot.blocks.notice import render_notice
from bot.blocks.privacy import ErasureRequest, erase_question, held_line
from bot.blocks.text import safe_mrkdwn
from bot.delivery import utcnow
from bot.i18n import N_, _, n_, speaking
from bot.lifecycle import Action, Status
from bot.services.base import GONE, Requester, UseCases
from bot.services.lookups import Answer
from storage import queries
from storage.models import Complaint, DigestRun

log = logging.getLogger("heard.services.privacy")

# Translators: HEARD_MANAGERS is the name of a setting: keep it as it is.
NOT_A_MANAGER_PRIVACY = N_("Only managers (HEARD_MANAGERS) can answer personal data requests and lift legal holds.")
# The once-a-day claim of the retention sweep (a `digest_runs` row: unique per kind, day and recipient).
RETENTION_RUN = "retention"
RETENTION_RUNNER = "heard"
# Complaints redacted per unit of work by the retention sweep.
RETENTION_BATCH = 200
# A handle as stored (complaints.author_handle is 256 characters at most).
MAX_HANDLE_CHARS = 256
_COMPLAINT_ID = re.compile(r"#?([1-9][0-9]{0,17})")


class PrivacyUseCases(UseCases):
    def subcommands(self) -> dict[str, Answer]:
        """`/complaints privacy`, `erase` and `hold`, answered by this area (given to the lookups)."""
        return {
            "privacy": lambda args, requester, offset: self.export(args, requester),
            "erase": lambda args, requester, offset: self.ask_to_erase(args, requester),
            "hold": lambda args, requester, offset: self.lift_hold(args, requester),
        }

    # -- access: one file by DM --------------------------------------------------------------------------------------

    def export(self, typed: str, requester: Requester) -> Message:
        """Queue everything Heard holds about the author to the manager who asked; the file is built by the
        delivery worker, so the command is answered at once."""
        refusal = self._refuse(requester, typed, "privacy")
        if refusal is not None:
            return refusal
        author = queries.author_key(typed.split()[0])
        now = utcnow()
        with self.database.unit_of_work() as session:
            count = len(privacy.author_complaints(session, author))
            if count:
                privacy.send_privacy_export(session, author, requester.user_id, now)
        if not count:
            return render_notice(_("Heard holds nothing about @%(handle)s.", handle=_handle(author)))
        self._wake_delivery()
        return render_notice(
            n_(
                "Everything Heard holds about @%(handle)s (%(count)s complaint) is on its way to you in a direct "
                "message, as a JSON file.",
                "Everything Heard holds about @%(handle)s (%(count)s complaints) is on its way to you in a direct "
                "message, as a JSON file.",
                count,
                handle=_handle(author),
            )
        )

    # -- erasure: a question, then its button ------------------------------------------------------------------------

    def ask_to_erase(self, typed: str, requester: Requester) -> Message:
        refusal = self._refuse(requester, typed, "erase")
        if refusal is not None:
            return refusal
        author = queries.author_key(typed.split()[0])
        with self.database.unit_of_work() as session:
            complaints = [c for c in privacy.author_complaints(session, author) if c.erased_at is None]
            if not complaints:
                return render_notice(_("Heard holds no personal data of @%(handle)s to erase.", handle=_handle(author)))
            held = _held(complaints)
            if held:
                return render_notice(held)
            return erase_question(author, len(complaints), ErasureRequest(author, complaints[-1].id))

    def erase(self, value: str, requester: Requester) -> None:
        """The manager confirmed: redact every complaint the question counted, unless one went on hold meanwhile.
        The answer replaces the question, so its button cannot be clicked twice."""
        with speaking(self.language_of(requester.user_id)):  # also on Bolt's lazy-listener thread
            self._erase(value, requester)

    def _erase(self, value: str, requester: Requester) -> None:
        try:
            request = ErasureRequest.decode(value)
        except ValueError:
            self.out_of_date(requester)
            return
        if not self._safely(self.roles.is_manager, requester.user_id):
            self._tell(requester, _(NOT_A_MANAGER_PRIVACY))
            return
        now = utcnow()
        with self.database.unit_of_work() as session:
            complaints = _locked(session, privacy.author_complaints(session, request.author, up_to=request.up_to))
            complaints = [c for c in complaints if c.erased_at is None]
            answer = _held(complaints)
            if answer is None:
                files = 0
                for complaint in complaints:
                    event = privacy.redact(
                        session,
                        complaint,
                        requester.actor,
                        now,
                        privacy.ON_REQUEST,
                        thread_log=self.settings.thread_log,
                    )
                    files += int(event.detail.get(privacy.FILES_DELETED) or 0)
                # Not naming the author: this answer waits in the outbox like any other.
                answer = n_(
                    "Done: the author's personal data is erased from %(count)s complaint; its card shows it.",
                    "Done: the author's personal data is erased from %(count)s complaints; their cards show it.",
                    len(complaints),
                )
                if files:
                    # Translators: follows "Done: the author's personal data is erased …"; the files are evidence
                    # files and data access files Heard sent privately in Slack.
                    deleted = n_(
                        "%(count)s file Heard shared in Slack about these complaints is being deleted.",
                        "%(count)s files Heard shared in Slack about these complaints are being deleted.",
                        files,
                    )
                    answer = f"{answer} {deleted}"
                log.info(
                    "personal data of one author erased from %d complaint(s) by %s", len(complaints), requester.user_id
                )
            delivery.send_ephemeral(
                session,
                response_url=requester.response_url,
                channel=requester.channel or self.settings.heard_channel,
                user=requester.user_id,
                message=render_notice(answer),
                now=now,
                replace_original=True,
            )
        self._wake_delivery()

    # -- legal hold ---------------------------------------------------------------------------------------------------

    def lift_hold(self, typed: str, requester: Requester) -> Message:
        if not self._safely(self.roles.is_manager, requester.user_id):
            return render_notice(_(NOT_A_MANAGER_PRIVACY))
        words = typed.split()
        match = _COMPLAINT_ID.fullmatch(words[1]) if len(words) == 2 and words[0].lower() == "lift" else None
        if match is None:
            # Translators: the command is typed as it is: keep it.
            return render_notice(_("To lift a legal hold, type %(example)s.", example="`/complaints hold lift #42`"))
        complaint_id = int(match.group(1))
        now = utcnow()
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id, with_for_update=True)
            if complaint is None:
                return render_notice(_(GONE))
            if not privacy.on_hold(complaint):
                return render_notice(_("Complaint #%(id)s is not on legal hold.", id=complaint_id))
            reason = privacy.hold_reason(complaint)
            complaint.hold_lifted_at, complaint.hold_lifted_by = now, requester.user_id
            held_for = {"flagged_by": complaint.threat_flagged_by, "threats": list(complaint.threats or ())}
            outcome = lifecycle.apply(session, complaint, Action.LIFT_HOLD, requester.actor, now, held_for)
            projections.refresh_card(session, complaint, now)
            if self.settings.thread_log and outcome.event is not None:
                projections.log_in_thread(session, complaint, outcome.event, now)
        self._wake_delivery()
        return render_notice(
            _(
                "Legal hold lifted on #%(id)s (it was %(reason)s). Its personal data can now be erased; this is in its "
                "audit trail.",
                id=complaint_id,
                reason=reason,
            )
        )

    # -- retention ----------------------------------------------------------------------------------------------------

    def apply_retention(self) -> datetime | None:
        """Sweep: once a day (claimed across copies), redact the personal data of complaints resolved longer ago than
        PERSONAL_DATA_RETENTION, except those on legal hold. Says when the next day begins.

        The day is claimed in a unit of work of its own (a `digest_runs` row under its unique key: another copy's
        claim stops this one), then the complaints are redacted in batches, each its own unit of work, so no lock is
        held long; a copy stopped midway leaves the rest to the next day's run."""
        keep_for = self.settings.personal_data_retention
        if keep_for is None:
            return None
        now = utcnow()
        tz = self.settings.timezone
        today = now.astimezone(tz).date()
        tomorrow = datetime.combine(today + timedelta(days=1), time(0), tz)
        if self._retention_ran(today):
            return tomorrow
        try:
            with self.database.unit_of_work() as session:
                session.add(DigestRun(kind=RETENTION_RUN, last_day=today, recipient=RETENTION_RUNNER, created_at=now))
        except IntegrityError:
            return tomorrow  # another copy claimed today's run
        redacted, after = 0, 0
        while True:
            with self.database.unit_of_work() as session:
                due = session.scalars(
                    select(Complaint)
                    .where(
                        Complaint.id > after,
                        Complaint.status == Status.RESOLVED.value,
                        Complaint.resolved_at < now - keep_for,
                        Complaint.erased_at.is_(None),
                    )
                    .order_by(Complaint.id)
                    .limit(RETENTION_BATCH)
                    .with_for_update()
                ).all()
                for complaint in due:
                    if privacy.on_hold(complaint):
                        continue
                    privacy.redact(
                        session,
                        complaint,
                        privacy.RETENTION_ACTOR,
                        now,
                        privacy.UNDER_RETENTION,
                        thread_log=self.settings.thread_log,
                    )
                    redacted += 1
            if due:
                self._wake_delivery()
            if len(due) < RETENTION_BATCH:
                break
            after = due[-1].id
        if redacted:
            log.info("retention: personal data of %d resolved complaint(s) redacted", redacted)
        return tomorrow

    def _retention_ran(self, day: object) -> bool:
        with self.database.unit_of_work() as session:
            claimed = select(DigestRun.id).where(DigestRun.kind == RETENTION_RUN, DigestRun.last_day == day)
            return session.scalar(claimed) is not None

    # -- shared -------------------------------------------------------------------------------------------------------

    def _refuse(self, requester: Requester, typed: str, subcommand: str) -> Message | None:
        if not self._safely(self.roles.is_manager, requester.user_id):
            return render_notice(_(NOT_A_MANAGER_PRIVACY))
        words = typed.split()
        if len(words) != 1 or not 0 < len(queries.author_key(words[0])) <= MAX_HANDLE_CHARS:
            example = f"`/complaints {subcommand} @maria_l`"
            # Translators: the command is typed as it is: keep it.
            return render_notice(_("Type the author's handle, e.g. %(example)s.", example=example))
        return None


def _held(complaints: list[Complaint]) -> str | None:
    """Why an erasure cannot go ahead (the complaints on legal hold, and why each), or None."""
    held = [complaint for complaint in complaints if privacy.on_hold(complaint)]
    if not held:
        return None
    lines = "\n".join(f"• {held_line(complaint.id, privacy.hold_reason(complaint))}" for complaint in held)
    head = n_(
        "Heard cannot erase this author's personal data yet: %(count)s complaint is on legal hold.",
        "Heard cannot erase this author's personal data yet: %(count)s complaints are on legal hold.",
        len(held),
    )
    example = f"`/complaints hold lift #{held[0].id}`"
    # Translators: the command is typed as it is: keep it.
    tail = _("Once Legal agrees, a manager lifts a hold with %(example)s; then erase again.", example=example)
    return f"{head}\n{lines}\n{tail}"


def _locked(session: Session, complaints: list[Complaint]) -> list[Complaint]:
    """The same complaints, locked (PostgreSQL; SQLite's writer lock is already held) and read afresh."""
    if not complaints:
        return []
    ids = [complaint.id for complaint in complaints]
    locked = select(Complaint).where(Complaint.id.in_(ids)).order_by(Complaint.id).with_for_update()
    return list(session.scalars(locked.execution_options(populate_existing=True)))


def _handle(author: str) -> str:
    return safe_mrkdwn(author, 120)
