"""The managers' digest: each morning at DIGEST_AT (and on Mondays the week, when WEEKLY_DIGEST is on), once per
recipient — a `digest_runs` row is claimed under its unique key before the digest is queued, so restarts and
several copies of Heard never send one twice. A preview for whoever asks, and a CSV export for managers."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot import projections
from bot.blocks import Message
from bot.blocks.digest import digest_message
from bot.blocks.notice import render_notice
from bot.delivery import utcnow
from bot.delivery.direct import SlackUnavailable
from bot.digest import compute_digest
from bot.i18n import N_, _, n_
from bot.services.base import NOT_AN_AGENT, Requester, UseCases
from bot.services.lookups import Answer
from storage.models import Complaint, DigestRun

log = logging.getLogger("heard.services")

DAILY = "daily"
WEEKLY = "weekly"
# Translators: HEARD_MANAGERS is the name of a setting: keep it as it is.
NOT_A_MANAGER_EXPORT = N_(
    "Only managers can export complaints. If you need the file, ask your Heard admin to add you to HEARD_MANAGERS."
)
EXPORT_PERIODS = {"7d": 7, "30d": 30}
EXPORT_ATTAINMENT = ("attainment", "sla")


class DigestUseCases(UseCases):
    def send_due_digests(self) -> datetime | None:
        """Sweep: claim and queue today's digests that are due; say when the next one falls due."""
        at = self.settings.digest_at
        if at is None:
            return None
        now = utcnow()
        tz = self.settings.timezone
        local = now.astimezone(tz)
        due_today = datetime.combine(local.date(), at, tz)
        if local < due_today:
            return due_today
        tomorrow = datetime.combine(local.date() + timedelta(days=1), at, tz)
        if not self._has_complaints():
            return tomorrow  # a fresh install has nothing to report yet
        try:
            recipients = self.digest_recipients()
        except SlackUnavailable:
            log.warning("digest: could not read the managers' user groups from Slack; retrying at the next sweep")
            return None
        yesterday = local.date() - timedelta(days=1)
        kinds = [DAILY] + ([WEEKLY] if self.settings.weekly_digest and local.weekday() == 0 else [])
        queued = 0
        for kind in kinds:
            already = self._claimed(kind, yesterday)
            for recipient in recipients:
                if recipient not in already and self._claim(kind, yesterday, recipient, now):
                    queued += 1
        if queued:
            log.info("digest for %s queued for %d recipient(s)", yesterday.isoformat(), queued)
            self._wake_delivery()
        return tomorrow

    def digest_recipients(self) -> list[str]:
        """Managers by DM (members of manager groups too) and/or DIGEST_CHANNEL; with neither, the team's channel."""
        people = self.roles.manager_recipients() if self.settings.digest_to_managers else []
        channels = [self.settings.digest_channel] if self.settings.digest_channel else []
        return people + channels or [self.settings.heard_channel]

    def _has_complaints(self) -> bool:
        with self.database.unit_of_work() as session:
            return session.scalar(select(Complaint.id).limit(1)) is not None

    def _claimed(self, kind: str, last_day: date) -> set[str]:
        with self.database.unit_of_work() as session:
            return set(
                session.scalars(
                    select(DigestRun.recipient).where(DigestRun.kind == kind, DigestRun.last_day == last_day)
                )
            )

    def _claim(self, kind: str, last_day: date, recipient: str, now: datetime) -> bool:
        try:
            with self.database.unit_of_work() as session:
                run = DigestRun(kind=kind, last_day=last_day, recipient=recipient, created_at=now)
                session.add(run)
                session.flush()
                projections.send_digest(session, run, now)
            return True
        except IntegrityError:
            return False  # another copy claimed it first

    # -- on request: /complaints digest, /complaints export ------------------------------------------------------------

    def subcommands(self) -> dict[str, Answer]:
        """`/complaints digest` and `/complaints export`, answered by this area (given to the lookups)."""
        return {
            "digest": lambda args, requester, offset: self.preview_digest(requester),
            "export": lambda args, requester, offset: render_notice(self.export(requester, args.strip().lower())),
        }

    def preview_digest(self, requester: Requester) -> Message:
        """Today's digest (yesterday's figures, the backlog as of now) for whoever asks; nothing is recorded."""
        if not self._safely(self.roles.is_agent, requester.user_id):
            return Message(text=_(NOT_AN_AGENT))
        now = utcnow()
        tz = self.settings.timezone
        with self.database.unit_of_work() as session:
            digest = compute_digest(
                session,
                day=now.astimezone(tz).date() - timedelta(days=1),
                tz=tz,
                now=now,
                ack_window=self.settings.ack_window,
                resolve_window=self.settings.resolve_window,
                calendar=self.settings.calendar,
            )
        return digest_message(digest, tz, now)

    def export(self, requester: Requester, period: str) -> str:
        """Queue a CSV of the last 7 or 30 days to the manager who asked, by DM; says what happens, in words.
        `attainment 30d` (or `sla 30d`) sends SLA attainment per agent and team, by day and week, instead."""
        if not self._safely(self.roles.is_manager, requester.user_id):
            return _(NOT_A_MANAGER_EXPORT)
        words = period.split()
        attainment = bool(words) and words[0] in EXPORT_ATTAINMENT
        if attainment:
            words = words[1:]
        days = EXPORT_PERIODS.get(words[0] if words else "7d") if len(words) <= 1 else None
        if days is None:
            # Translators: `7d`, `30d` and the commands are typed as they are: keep them.
            return _(
                "Export covers %(week)s or %(month)s, e.g. %(example)s or %(attainment)s.",
                week="`7d`",
                month="`30d`",
                example="`/complaints export 30d`",
                attainment="`/complaints export attainment 7d`",
            )
        with self.database.unit_of_work() as session:
            what = projections.EXPORT_ATTAINMENT if attainment else projections.EXPORT_COMPLAINTS
            projections.send_export(session, requester.user_id, days, utcnow(), what=what)
        self._wake_delivery()
        if attainment:
            return n_(
                "The SLA attainment CSV of the last %(count)s day is on its way to you in a direct message.",
                "The SLA attainment CSV of the last %(count)s days is on its way to you in a direct message.",
                days,
            )
        return n_(
            "The CSV of the last %(count)s day is on its way to you in a direct message.",
            "The CSV of the last %(count)s days is on its way to you in a direct message.",
            days,
        )
