"""Moderation, never deletion: hide (on the source where its API allows, else in Heard), flag a threat to Legal,
warn an author (a strike) and, after STRIKES_BEFORE_BLOCK strikes, block them (recorded; muted on X where the API
allows), keep the evidence as a file sent privately (the asker's DM, or EVIDENCE_CHANNEL), and write up hard cases
for the weekly digest.

Each is a use case like the card's other buttons: who asks, lock, lifecycle (an audit event), card and thread log
refreshed through the outbox. Calls to X happen before the lock is taken, with a short timeout (someone waits on
Slack's 3 seconds); hiding and muting are idempotent on X, so clicking again after a failure is safe.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import delivery, lifecycle, moderation, projections
from bot.blocks import Message, ids
from bot.blocks.card import fallback
from bot.blocks.messages import warning_message
from bot.blocks.moderation import HIDE_REASONS, hide_modal, write_up_modal
from bot.blocks.when import clock
from bot.delivery import utcnow
from bot.delivery.direct import SlackUnavailable
from bot.directory import Department
from bot.i18n import N_, _, n_
from bot.lifecycle import Action, Outcome, TransitionRefused, mention
from bot.platforms.base import Capability, Done
from bot.services.base import GONE, NO_MEMBERSHIP, NOT_AN_AGENT, FieldErrors, Requester, UseCases
from storage.models import AuditEvent, Complaint, WriteUp

log = logging.getLogger("heard.services.moderation")

# Translators: "legal" is the key written in the directory file: keep it as it is.
NO_LEGAL = N_(
    'There is no Legal department (key "legal") in the escalation directory, so nobody can be told about this threat. '
    "Add one with its users, user groups or channel."
)


class ModerationUseCases(UseCases):
    # -- forms -------------------------------------------------------------------------------------------------------

    def open_moderation_form(self, form: str, complaint_id: int, requester: Requester, trigger_id: str) -> None:
        """Hide and Write up open a modal; unlike the card's other forms they work on resolved complaints too."""

        def view_of(session: Session, complaint: Complaint) -> dict | str:
            if form == ids.HIDE_VIEW and complaint.hidden_at is not None:
                return _("Already hidden by %(person)s.", person=mention(complaint.hidden_by))
            ref = ids.ComplaintRef(complaint.id, complaint.revision).encode()
            if form == ids.HIDE_VIEW:
                return hide_modal(ref, fallback(complaint), self._where_hidden(complaint))
            write_up = session.scalar(select(WriteUp).where(WriteUp.complaint_id == complaint.id))
            return write_up_modal(
                ref,
                fallback(complaint),
                write_up.what_happened if write_up else "",
                write_up.what_we_learned if write_up else "",
            )

        self._open_modal(complaint_id, requester, trigger_id, view_of)

    # -- hide ----------------------------------------------------------------------------------------------------------

    def hide(self, complaint_id: int, requester: Requester, reason: str | None, note: str | None) -> FieldErrors | None:
        if reason not in HIDE_REASONS:
            return {ids.HIDE_REASON_INPUT: _("Choose why it is hidden.")}
        if not self._safely(self.roles.is_agent, requester.user_id):
            self._tell(requester, _(NOT_AN_AGENT))
            return None
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id)
            target = (
                (self.platforms.of(complaint), self.post_ref(complaint), complaint.hidden_at) if complaint else None
            )
        if target is None:
            self._tell(requester, _(GONE))
            return None
        platform, post, hidden_at = target
        # Outside the lock: the network may take its time. A repeat does not ask it again.
        on_source = platform.hide(post) if hidden_at is None else Done(done=False)

        def hide_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            if complaint.hidden_at is not None:
                return Outcome(
                    changed=False, notice=_("Already hidden by %(person)s.", person=mention(complaint.hidden_by))
                )
            complaint.hidden_at, complaint.hidden_by = now, requester.user_id
            complaint.hidden_reason = reason
            complaint.hidden_note = (note or "").strip() or None
            complaint.hidden_on_source = on_source.done
            complaint.hidden_source_refusal = on_source.refusal
            detail = {
                "reason": reason,
                "note": complaint.hidden_note,
                "on_source": on_source.done,
                "source_refusal": on_source.refusal,
            }
            return lifecycle.apply(session, complaint, Action.HIDE, requester.actor, now, detail)

        if self._change(complaint_id, requester, hide_now) and not on_source.done:
            # Translators: the network did not hide the post; %(reason)s is its refusal, in words.
            self._tell(requester, _("Hidden in Heard only: %(reason)s.", reason=on_source.refusal))
        return None

    def unhide(self, complaint_id: int, requester: Requester) -> None:
        """Hiding is undone the same way: on the network where Heard hid it there, and in Heard."""
        if not self._safely(self.roles.is_agent, requester.user_id):
            self._tell(requester, _(NOT_AN_AGENT))
            return
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id)
            target = (
                (self.platforms.of(complaint), self.post_ref(complaint), complaint.hidden_on_source)
                if complaint
                else None
            )
        if target is None:
            self._tell(requester, _(GONE))
            return
        platform, post, on_network = target
        on_source = platform.unhide(post) if on_network else Done(done=False)

        def unhide_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            if complaint.hidden_at is None:
                return Outcome(changed=False, notice=_("It is not hidden."))
            detail = {
                "hidden_by": complaint.hidden_by,
                "reason": complaint.hidden_reason,
                "on_source": on_source.done,
                "source_refusal": on_source.refusal,
            }
            complaint.hidden_at = complaint.hidden_by = complaint.hidden_reason = complaint.hidden_note = None
            complaint.hidden_on_source = None
            complaint.hidden_source_refusal = None
            return lifecycle.apply(session, complaint, Action.UNHIDE, requester.actor, now, detail)

        if self._change(complaint_id, requester, unhide_now) and on_network and not on_source.done:
            # Translators: %(network)s is e.g. X or Facebook; %(reason)s the network's refusal, in words.
            shown = _(
                "Shown again in Heard, but still hidden on %(network)s: %(reason)s.",
                network=platform.label,
                reason=on_source.refusal,
            )
            self._tell(requester, shown)

    def _where_hidden(self, complaint: Complaint) -> str:
        platform = self.platforms.of(complaint)
        capabilities = platform.capabilities()
        if capabilities.can(Capability.HIDE):
            # Translators: in the Hide form; %(network)s is e.g. X or Facebook.
            return _(
                "%(network)s hides it too where it allows; otherwise it is hidden in Heard only.",
                network=platform.label,
            )
        # Translators: in the Hide form; %(reason)s says why the network cannot hide it, in words.
        return _("%(reason)s: it is hidden in Heard only.", reason=capabilities.why_not(Capability.HIDE))

    # -- flag threat ---------------------------------------------------------------------------------------------------

    def flag_threat(self, complaint_id: int, requester: Requester) -> None:
        legal = self.directory.current().get(moderation.LEGAL) if self.directory else None
        if legal is None:
            self._tell(requester, _(NO_LEGAL))
            return
        try:
            recipients, mentions = self._legal_contacts(legal)
        except SlackUnavailable:
            self._tell(requester, _(NO_MEMBERSHIP))
            return

        def flag_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            if complaint.threat_flagged_at is not None:
                when = clock(complaint.threat_flagged_at, now, self.settings.timezone)
                return Outcome(
                    changed=False,
                    notice=_(
                        "Already flagged to Legal by %(person)s at %(time)s.",
                        person=mention(complaint.threat_flagged_by),
                        time=when,
                    ),
                )
            complaint.threat_flagged_at, complaint.threat_flagged_by = now, requester.user_id
            detail = {"to": legal.name, "recipients": recipients}
            outcome = lifecycle.apply(session, complaint, Action.FLAG_THREAT, requester.actor, now, detail)
            moderation.notify_legal(session, complaint, recipients, mentions, now)
            return outcome

        self._change(complaint_id, requester, flag_now)

    def _legal_contacts(self, legal: Department) -> tuple[list[str], str]:
        """As escalations reach a department: its users by DM, its channel (mentioning its groups) or else the
        groups' members by DM; the complaints channel when the directory names nobody."""
        recipients = list(legal.users)
        mentions = " ".join(f"<!subteam^{group}>" for group in legal.user_groups)
        if legal.channel:
            recipients.append(legal.channel)
        else:
            for group in legal.user_groups:
                recipients.extend(user for user in sorted(self.slack.group_members(group)) if user not in recipients)
        return recipients or [self.settings.heard_channel], mentions

    # -- warn and block ------------------------------------------------------------------------------------------------

    def warn_author(self, complaint_id: int, requester: Requester) -> None:
        warned: list[Message] = []
        threshold = self.settings.strikes_before_block

        def warn_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            earlier = session.scalar(
                select(AuditEvent.actor)
                .where(AuditEvent.complaint_id == complaint.id, AuditEvent.action == Action.WARN_AUTHOR.value)
                .limit(1)
            )
            if earlier is not None:
                return Outcome(
                    changed=False,
                    notice=_(
                        "%(person)s already warned this author about this post (one strike per post).",
                        person=mention(earlier),
                    ),
                )
            author = moderation.lock_author(session, complaint)
            author.strikes += 1
            author.last_strike_at = now
            detail = {"strike": author.strikes, "of": threshold, "author": author.author_key}
            outcome = lifecycle.apply(session, complaint, Action.WARN_AUTHOR, requester.actor, now, detail)
            self._refresh_author_cards(session, complaint, now)
            draft = moderation.warning_draft(complaint, self._policy_url)
            warned.append(warning_message(complaint, author.strikes, threshold, draft, self._policy_url is not None))
            return outcome

        if self._change(complaint_id, requester, warn_now) and warned:
            self._tell_message(requester, warned[0])

    @property
    def _policy_url(self) -> str | None:
        return self.settings.community_policy_url

    def block_author(self, complaint_id: int, requester: Requester) -> None:
        if not self._safely(self.roles.is_agent, requester.user_id):
            self._tell(requester, _(NOT_AN_AGENT))
            return
        threshold = self.settings.strikes_before_block
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id)
            if complaint is None:
                self._tell(requester, _(GONE))
                return
            author = moderation.author_row(session, complaint)
            platform, post = self.platforms.of(complaint), self.post_ref(complaint)
            strikes = author.strikes if author else 0
            already = author is not None and author.blocked_at is not None
        on_source = Done(done=False)
        if not already and strikes >= threshold:
            on_source = platform.block(post)

        def block_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            author = moderation.lock_author(session, complaint)
            if author.blocked_at is not None:
                return Outcome(
                    changed=False,
                    notice=_("%(person)s already blocked this author.", person=mention(author.blocked_by)),
                )
            if author.strikes < threshold:
                # Translators: %(count)s strikes (warnings) are needed before Block; the author has %(strikes)s.
                refusal = n_(
                    "Block comes after %(count)s strike; this author has %(strikes)s. Warn them first.",
                    "Block comes after %(count)s strikes; this author has %(strikes)s. Warn them first.",
                    threshold,
                    strikes=author.strikes,
                )
                raise TransitionRefused(refusal)
            author.blocked_at, author.blocked_by = now, requester.user_id
            author.muted_on_source = on_source.done
            if on_source.done:
                author.block_note = platform.capabilities().block_means
            else:
                # Translators: stored with the block and shown on the card; %(reason)s is the network's refusal.
                author.block_note = _("%(reason)s; block them there by hand", reason=on_source.refusal)
            detail = {"author": author.author_key, "muted": on_source.done, "note": author.block_note}
            outcome = lifecycle.apply(session, complaint, Action.BLOCK_AUTHOR, requester.actor, now, detail)
            self._refresh_author_cards(session, complaint, now)
            return outcome

        self._change(complaint_id, requester, block_now)

    def _refresh_author_cards(self, session: Session, complaint: Complaint, now: datetime) -> None:
        for other in moderation.other_cards_of_author(session, complaint):
            projections.refresh_card(session, other, now)

    # -- evidence and write-ups ----------------------------------------------------------------------------------------

    def keep_evidence(self, complaint_id: int, requester: Requester) -> None:
        def keep_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            latest = session.scalar(
                select(AuditEvent.action)
                .where(AuditEvent.complaint_id == complaint.id)
                .order_by(AuditEvent.id.desc())
                .limit(1)
            )
            if latest == Action.KEEP_EVIDENCE.value:
                # A double click, or nothing new since: the file already sent is the complete record.
                return Outcome(changed=False, notice=_("The evidence file already sent is the complete record."))
            outcome = lifecycle.apply(session, complaint, Action.KEEP_EVIDENCE, requester.actor, now)
            assert outcome.event is not None
            to = moderation.evidence_recipient(self.settings, requester.user_id)
            moderation.keep_evidence(session, complaint, outcome.event, to, now)
            return outcome

        self._change(complaint_id, requester, keep_now)

    def write_up(
        self, complaint_id: int, requester: Requester, what_happened: str | None, what_we_learned: str | None
    ) -> FieldErrors | None:
        happened, learned = (what_happened or "").strip(), (what_we_learned or "").strip()
        errors: FieldErrors = {}
        if not happened:
            errors[ids.WHAT_HAPPENED_INPUT] = _("Say what happened, for whoever reads this later.")
        if not learned:
            errors[ids.WHAT_WE_LEARNED_INPUT] = _("Say what the team learned; it goes into the weekly digest.")
        if errors:
            return errors

        def write_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            existing = session.scalar(select(WriteUp).where(WriteUp.complaint_id == complaint.id))
            if existing and (existing.what_happened, existing.what_we_learned) == (happened, learned):
                return Outcome(changed=False)
            if existing is None:
                session.add(
                    WriteUp(
                        complaint_id=complaint.id,
                        what_happened=happened,
                        what_we_learned=learned,
                        written_by=requester.user_id,
                        written_at=now,
                    )
                )
            else:
                existing.what_happened, existing.what_we_learned = happened, learned
                existing.written_by, existing.written_at = requester.user_id, now
            # The texts go into the audit trail too, so an edit never loses what was written before.
            detail = {"edited": existing is not None, "what_happened": happened, "what_we_learned": learned}
            return lifecycle.apply(session, complaint, Action.WRITE_UP, requester.actor, now, detail)

        self._change(complaint_id, requester, write_now)
        return None

    def _tell_message(self, requester: Requester, message: Message) -> None:
        """A private answer with Heard's own blocks (the warning draft), as `_tell` sends a sentence."""
        with self.database.unit_of_work() as session:
            delivery.send_ephemeral(
                session,
                response_url=requester.response_url,
                channel=requester.channel or self.settings.heard_channel,
                user=requester.user_id,
                message=message,
                now=utcnow(),
            )
        self._wake_delivery()
