"""Replies to the customer: the Acknowledge and "Take it private" modals, sending through the complaint's platform
exactly once, and drafts an agent sends by hand (Mark replied).

A submission is one unit of work: it acknowledges the complaint (Acknowledge) and records the reply row, keyed by
the modal view that asked, so a Slack retry or a double submit finds the row instead of sending twice. Sending
happens after the commit, outside Slack's 3 seconds (`send_due_replies`, started at once and by the scheduler's
sweep): each attempt is recorded before the network is called; after an attempt whose outcome was not heard, the
adapter looks for the text (the brand's replies, the private conversation) before it is posted again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, object_session

from bot import lifecycle, projections
from bot.blocks import ids
from bot.blocks.card import fallback
from bot.blocks.modals import submitted_value
from bot.blocks.replies import (
    COPY,
    DM,
    DRAFTED,
    FAILED,
    INTERNAL,
    PENDING,
    PUBLIC,
    REPLACED,
    SENDING,
    SENT,
    ReplyForm,
    ReplyWords,
    fingerprint,
    reply_modal,
)
from bot.blocks.text import mention
from bot.blocks.triage import personal_data_words
from bot.delivery import utcnow
from bot.i18n import N_, _
from bot.lifecycle import Action, Actor, Outcome
from bot.platforms.base import Capability, Duplicate, Platform, PostRef, Refused, Sent, Unsure
from bot.replies import (
    ACKNOWLEDGE,
    PRIVATE,
    TemplatesFile,
    as_written,
    eta_moment,
    eta_words,
    fill,
    template_values,
)
from bot.services.base import GONE, Context, Requester, UseCases
from storage.models import Complaint, Reply

log = logging.getLogger("heard.replies")

# After an attempt whose outcome was not heard: look, then try again after these pauses; then give up and ask.
UNSURE_RETRIES = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2))
NOT_SENT_YET = N_("That reply is being sent now; its outcome will show on the card.")


@dataclass(frozen=True)
class _Attempt:
    reply_id: int
    attempt: int
    channel: str
    text: str
    post: PostRef
    look_first: bool


class ReplyUseCases(UseCases):
    def __init__(self, context: Context, templates: TemplatesFile) -> None:
        super().__init__(context)
        # Validated at start-up by whoever builds it (app.py): a broken file stops Heard, naming the problem.
        self.templates = templates

    def can_reply_on_platform(self, complaint: Complaint) -> bool:
        return self.platforms.of(complaint).capabilities().can(Capability.PUBLIC_REPLY)

    def private_reply_refusal(self, complaint: Complaint, now: datetime) -> str | None:
        """Why the complaint's network will not take a private reply now (its window, once only), or None."""
        session = object_session(complaint)
        already = session is not None and (
            session.scalar(
                select(Reply.id)
                .where(Reply.complaint_id == complaint.id, Reply.channel == DM, Reply.status.in_(LIVE))
                .limit(1)
            )
            is not None
        )
        return self.platforms.of(complaint).private_reply_refusal(self.post_ref(complaint), now, already)

    # -- the modal ---------------------------------------------------------------------------------------------------

    def open_reply_form(
        self, complaint_id: int, requester: Requester, trigger_id: str, purpose: str, edits: int | None = None
    ) -> None:
        agent_name: str | None = None

        def ask_slack() -> None:  # the agent's name for the template, asked before the unit of work
            nonlocal agent_name
            agent_name = self.slack.real_name(requester.user_id)

        def view_of(session: Session, complaint: Complaint) -> dict[str, Any]:
            draft = session.get(Reply, edits) if edits is not None else None
            return self._reply_view(complaint, agent_name, purpose, draft)

        self._open_modal(
            complaint_id, requester, trigger_id, view_of, refuse_resolved=edits is None, ask_slack=ask_slack
        )

    def _reply_view(
        self,
        complaint: Complaint,
        agent_name: str | None,
        purpose: str,
        draft: Reply | None = None,
        text: str | None = None,
        template: str | None = None,
        warned: bool = False,
    ) -> dict[str, Any]:
        if template is None or text is None:
            filled = self.filled_template(complaint, agent_name, purpose, utcnow())
            template = template or fingerprint(filled)
            text = text if text is not None else (draft.text if draft is not None else filled)
        form = ReplyForm(complaint.id, purpose, template, warned, draft.id if draft is not None else None)
        return reply_modal(
            form,
            fallback(complaint),
            text,
            self._choices(complaint, purpose, draft),
            self._notes(complaint, purpose),
            ReplyWords.of(complaint),
        )

    def filled_template(self, complaint: Complaint, agent_name: str | None, purpose: str, now: datetime) -> str:
        template, language = self.templates.current().get(purpose, complaint.source, complaint.lang)
        moment = eta_moment(complaint.resolve_deadline, now, self.settings.calendar)
        values = template_values(
            author_name=complaint.author_name,
            author_handle=complaint.author_handle,
            agent_name=agent_name,
            eta=eta_words(moment, now, self.settings.timezone, language),
            private_contact=self.settings.private_contact,
            language=language,
        )
        return fill(template, values)

    def _choices(self, complaint: Complaint, purpose: str, draft: Reply | None) -> list[str]:
        if self.can_reply_on_platform(complaint):
            choices = [PUBLIC]
            privately = self.private_reply_refusal(complaint, utcnow()) is None
            if purpose == PRIVATE and privately:
                choices.append(DM)
            if draft is not None and draft.channel == DM and privately:
                choices = [DM, PUBLIC]
        else:
            choices = [COPY]
        if purpose == ACKNOWLEDGE and draft is None and complaint.acknowledged_at is None:
            choices.append(INTERNAL)
        return choices

    def _notes(self, complaint: Complaint, purpose: str) -> list[str]:
        notes = []
        capabilities = self.platforms.of(complaint).capabilities()
        if not capabilities.can(Capability.PUBLIC_REPLY):
            # Translators: in the reply form; %(reason)s says why Heard cannot reply on that network. “Mark replied” is
            # the card's button of that name.
            note = _(
                "%(reason)s: copy the reply, send it yourself from the brand account, then press *Mark replied* on the "
                "card so the record is complete.",
                reason=capabilities.why_not(Capability.PUBLIC_REPLY),
            )
            notes.append(note)
        elif purpose == PRIVATE:
            refusal = self.private_reply_refusal(complaint, utcnow())
            if refusal is not None:
                # Translators: in the reply form; %(reason)s says why a private reply is not possible now.
                note = _("%(reason)s. Reply in public, or copy it and write to them yourself.", reason=refusal)
                notes.append(f":no_entry_sign: {note}")
            elif capabilities.private_reply_rule:
                notes.append(f"{capabilities.private_reply_rule}.")
        if purpose == ACKNOWLEDGE and complaint.personal_data:
            # Translators: in the reply form; %(kinds)s are kinds of personal data (phone, email …). “Take it private”
            # is the card's button of that name.
            note = _(
                "This post has personal data (%(kinds)s): consider *Take it private* instead of answering in public.",
                kinds=personal_data_words(complaint.personal_data),
            )
            notes.append(f":lock: {note}")
        return notes

    # -- submitting ----------------------------------------------------------------------------------------------

    def submit_reply(self, requester: Requester, view: dict[str, Any]) -> dict[str, Any] | None:
        """The modal's answer: None closes it; otherwise what to ack with (field errors, or the "Make it
        personal?" question, asked once when the template is sent unchanged)."""
        try:
            form = ReplyForm.decode(view.get("private_metadata", ""))
        except ValueError:
            log.warning("refused a reply modal without a readable reference")
            self.out_of_date(requester)
            return None
        # As written, in NFC: the template's fingerprint is of NFC text, so an unchanged Greek, Bulgarian, Portuguese
        # or Finnish template is recognised whichever form of its accents the agent's keyboard or Slack sent back.
        text = as_written(submitted_value(view, ids.REPLY_TEXT_INPUT) or "")
        how = submitted_value(view, ids.REPLY_HOW_INPUT) or INTERNAL
        if how not in (PUBLIC, DM, COPY, INTERNAL):
            return _errors(ids.REPLY_HOW_INPUT, _("Choose what to do with the reply."))
        if how != INTERNAL and not text:
            # Translators: “Acknowledge only” is the reply form's choice of that name.
            return _errors(ids.REPLY_TEXT_INPUT, _("Write the reply first (or choose Acknowledge only)."))
        if how == DM:
            refusal = self._private_refusal_now(form.complaint_id)
            if refusal is not None:
                # Translators: %(reason)s says why a private reply is not possible now.
                return _errors(ids.REPLY_HOW_INPUT, _("%(reason)s. Choose a public reply, or copy it.", reason=refusal))
        if how != INTERNAL and not form.warned and fingerprint(text) == form.template:
            return self._ask_to_personalise(form, requester, text)
        request_key = f"view:{view.get('id') or view.get('hash') or ''}"
        started: list[bool] = []

        def reply_now(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            return self._record_reply(session, complaint, requester, form, how, text, request_key, now, started)

        self._change(form.complaint_id, requester, reply_now)
        if started:
            self.start_sending()
        return None

    def _private_refusal_now(self, complaint_id: int) -> str | None:
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, complaint_id)
            return None if complaint is None else self.private_reply_refusal(complaint, utcnow())

    def _ask_to_personalise(self, form: ReplyForm, requester: Requester, text: str) -> dict[str, Any] | None:
        with self.database.unit_of_work() as session:
            complaint = session.get(Complaint, form.complaint_id)
            if complaint is None:
                return _errors(ids.REPLY_TEXT_INPUT, _(GONE))
            draft = session.get(Reply, form.edits) if form.edits is not None else None
            # With the text and template given, no name is needed: nothing is asked of Slack here.
            view = self._reply_view(
                complaint, None, form.purpose, draft, text=text, template=form.template, warned=True
            )
        return {"response_action": "update", "view": view}

    def _record_reply(
        self,
        session: Session,
        complaint: Complaint,
        requester: Requester,
        form: ReplyForm,
        how: str,
        text: str,
        request_key: str,
        now: datetime,
        started: list[bool],
    ) -> Outcome:
        """Under the complaint's lock: a repeat of the same submission (Slack retry, double click) finds its row."""
        if session.scalar(select(Reply.id).where(Reply.request_key == request_key)) is not None:
            return Outcome(changed=False)
        events = []
        notice = None
        if form.purpose == ACKNOWLEDGE and form.edits is None:
            acknowledged = lifecycle.apply(session, complaint, Action.ACKNOWLEDGE, requester.actor, now)
            notice = acknowledged.notice
            if acknowledged.event is not None:
                events.append(acknowledged.event)
        if how == INTERNAL:
            return Outcome(changed=bool(events), notice=notice, event=events[0] if events else None)
        if (how in (PUBLIC, DM)) and not self.can_reply_on_platform(complaint):
            how = COPY  # credentials removed since the modal opened: nothing is lost, it is copied by hand
        if how == DM and (refusal := self.private_reply_refusal(complaint, now)) is not None:
            # Under the lock: a second submission raced the first to the network's one private reply.
            # Translators: a private reply was refused; %(reason)s says why, in words.
            return Outcome(
                changed=bool(events), notice=_("%(reason)s.", reason=refusal), event=events[0] if events else None
            )
        reply = Reply(
            complaint_id=complaint.id,
            request_key=request_key,
            purpose=form.purpose,
            channel=how,
            text=text,
            personalised=fingerprint(text) != form.template,
            requested_by=requester.user_id,
            requested_at=now,
            status=DRAFTED if how == COPY else PENDING,
            attempts=0,
            due_at=None if how == COPY else now,
            maybe_sent=False,
        )
        session.add(reply)
        session.flush()
        if form.edits is not None:
            edited = session.get(Reply, form.edits, with_for_update=True)
            if edited is not None and edited.complaint_id == complaint.id and edited.status == FAILED:
                edited.status = REPLACED
        if how == COPY:
            detail = {"reply_id": reply.id, "text": text, "personalised": reply.personalised}
            events.append(lifecycle.apply(session, complaint, Action.DRAFT_REPLY, requester.actor, now, detail).event)
        else:
            complaint.revision += 1
            started.append(True)
        for event in events[1:]:
            self._log(session, complaint, Outcome(changed=True, event=event), now)
        return Outcome(changed=True, notice=notice, event=events[0] if events else None)

    # -- on the card: Retry, Edit, Mark replied -------------------------------------------------------------------

    def retry_reply(self, reply_id: int, requester: Requester) -> None:
        started: list[bool] = []

        def retry(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            reply = session.get(Reply, reply_id, with_for_update=True)
            if reply is None or reply.complaint_id != complaint.id:
                return Outcome(changed=False, notice=_(GONE))
            if reply.status != FAILED:
                return Outcome(changed=False, notice=_not_failed(reply))
            reply.status, reply.due_at, reply.error = PENDING, now, None
            complaint.revision += 1
            started.append(True)
            return Outcome(changed=True)

        self._on_reply(reply_id, requester, retry)
        if started:
            self.start_sending()

    def edit_reply(self, reply_id: int, requester: Requester, trigger_id: str) -> None:
        with self.database.unit_of_work() as session:
            reply = session.get(Reply, reply_id)
            found = (reply.complaint_id, reply.purpose, reply.status) if reply is not None else None
        if found is None:
            self._tell(requester, _(GONE))
        elif found[2] != FAILED:
            self._tell(
                requester, _("That reply is no longer waiting to be edited; the card shows what happened to it.")
            )
        else:
            self.open_reply_form(found[0], requester, trigger_id, found[1], edits=reply_id)

    def mark_replied(self, reply_id: int, requester: Requester) -> None:
        def mark(session: Session, complaint: Complaint, now: datetime) -> Outcome:
            reply = session.get(Reply, reply_id, with_for_update=True)
            if reply is None or reply.complaint_id != complaint.id:
                return Outcome(changed=False, notice=_(GONE))
            if reply.status == SENT:
                by = reply.sent_by or reply.requested_by
                marked = _("Already marked by %(person)s.", person=mention(by))
                return Outcome(changed=False, notice=None if by == requester.user_id else marked)
            if reply.status != DRAFTED:
                return Outcome(changed=False, notice=_not_failed(reply))
            reply.status, reply.sent_at, reply.sent_by = SENT, now, requester.user_id
            detail = {"reply_id": reply.id, "text": reply.text, "channel": COPY}
            return lifecycle.apply(session, complaint, Action.MARK_REPLIED, requester.actor, now, detail)

        self._on_reply(reply_id, requester, mark)

    def _on_reply(self, reply_id: int, requester: Requester, change: Any) -> None:
        with self.database.unit_of_work() as session:
            complaint_id = session.scalar(select(Reply.complaint_id).where(Reply.id == reply_id))
        if complaint_id is None:
            self._tell(requester, _(GONE))
            return
        self._change(complaint_id, requester, change)

    # -- sending through the platform, exactly once ------------------------------------------------------------------

    def start_sending(self) -> None:
        """Send what was just committed now, off the request thread (Slack's 3 seconds)."""
        threading.Thread(target=self.send_due_replies, name="replies", daemon=True).start()

    def send_due_replies(self) -> None:
        """Every reply due (new, to try again, or left by a sender that died) is attempted once by one sender."""
        now = utcnow()
        with self.database.unit_of_work() as session:
            due = session.scalars(
                select(Reply.id)
                .where(
                    or_(
                        and_(Reply.status == PENDING, Reply.due_at <= now),
                        and_(Reply.status == SENDING, Reply.lease_until < now),
                    )
                )
                .order_by(Reply.id)
                .limit(20)
            ).all()
        for reply_id in due:
            try:
                self._send_reply(reply_id)
            except Exception:
                log.exception("reply %s: sending failed unexpectedly; the sweep tries again", reply_id)

    def _send_reply(self, reply_id: int) -> None:
        claimed = self._claim_reply(reply_id)
        if claimed is None:
            return
        attempt, platform = claimed
        sent: Sent | None = None
        error: str | None = None
        unsure: str | None = None
        try:
            if attempt.look_first:
                try:
                    sent = self._look_for_reply(platform, attempt)
                except Refused as refused:
                    # Not allowed to look (a refused token, a rate limit): the earlier attempt may still have gone
                    # out, so this is no "not sent": it stays unsure, and every later attempt looks first.
                    raise Unsure(f"{refused}; Heard could not look for its earlier attempt") from refused
            if sent is None:
                sent = self._post_reply(platform, attempt)
        except Duplicate as duplicate:
            if attempt.look_first:
                sent = Sent(None)  # our unheard attempt got through; the network refuses the same text twice
            else:
                # Translators: why a reply was not sent, stored and shown on the card; %(network)s is e.g. X.
                error = _(
                    "%(network)s refused it as a duplicate of a recent post from the brand account (%(detail)s); "
                    "edit it",
                    network=platform.label,
                    detail=str(duplicate),
                )
        except Refused as refused:
            error = str(refused)
        except Unsure as not_heard:
            unsure = str(not_heard)
        self._finish_reply(attempt, platform, sent, error, unsure)

    def _claim_reply(self, reply_id: int) -> tuple[_Attempt, Platform] | None:
        now = utcnow()
        with self.database.unit_of_work() as session:
            reply = session.get(Reply, reply_id, with_for_update=True)
            if reply is None:
                return None
            taken_over = reply.status == SENDING and reply.lease_until is not None and reply.lease_until < now
            if not (reply.status == PENDING and reply.due_at is not None and reply.due_at <= now) and not taken_over:
                return None  # another sender has it, or it is done
            complaint = session.get(Complaint, reply.complaint_id)
            if complaint is None:
                return None
            platform = self.platforms.of(complaint)
            if not platform.capabilities().can(Capability.PUBLIC_REPLY):
                # Credentials removed while it waited: keep the draft for the agent to send by hand.
                reply.status, reply.due_at, reply.channel = DRAFTED, None, COPY
                complaint.revision += 1
                projections.refresh_card(session, complaint, now)
                return None
            look_first = reply.maybe_sent or taken_over
            reply.status = SENDING
            reply.attempts += 1
            # A sender that died is taken over after a few of the network's timeouts.
            reply.lease_until = now + platform.timeout * 3
            # Committed before the network is called: from here on, a crash or a timeout means "look before
            # sending again".
            reply.maybe_sent = True
            attempt = _Attempt(
                reply.id, reply.attempts, reply.channel, reply.text, self.post_ref(complaint), look_first
            )
            return attempt, platform

    @staticmethod
    def _look_for_reply(platform: Platform, attempt: _Attempt) -> Sent | None:
        if attempt.channel == DM:
            return platform.find_private_reply(attempt.post, attempt.text)
        return platform.find_reply(attempt.post, attempt.text)

    @staticmethod
    def _post_reply(platform: Platform, attempt: _Attempt) -> Sent:
        if attempt.channel == DM:
            return platform.reply_privately(attempt.post, attempt.text)
        return platform.reply(attempt.post, attempt.text)

    def _finish_reply(
        self, attempt: _Attempt, platform: Platform, sent: Sent | None, error: str | None, unsure: str | None
    ) -> None:
        now = utcnow()
        due: datetime | None = None
        with self.database.unit_of_work() as session:
            reply = session.get(Reply, attempt.reply_id)
            complaint = session.get(Complaint, reply.complaint_id, with_for_update=True) if reply else None
            if reply is None or complaint is None:
                return
            session.refresh(reply, with_for_update=True)
            if reply.status != SENDING or reply.attempts != attempt.attempt:
                return  # our lease ran out and another sender took over; it records the outcome
            actor = Actor(reply.requested_by, platform.key)
            outcome: Outcome | None = None
            if sent is not None:
                reply.status, reply.sent_at, reply.maybe_sent, reply.lease_until = SENT, now, False, None
                reply.external_id, reply.url = sent.external_id, sent.url
                action = Action.SEND_DM if reply.channel == DM else Action.REPLY
                detail = {"reply_id": reply.id, "text": reply.text, "url": sent.url, "external_id": sent.external_id}
                outcome = lifecycle.apply(session, complaint, action, actor, now, detail)
            elif unsure is not None and reply.attempts <= len(UNSURE_RETRIES):
                reply.status, reply.lease_until = PENDING, None
                reply.due_at = due = now + UNSURE_RETRIES[reply.attempts - 1]
                reply.error = unsure
                log.warning("reply %s: outcome unknown (%s); looking again at %s", reply.id, unsure, due)
            else:
                if unsure is not None:
                    # Translators: why a reply failed, stored and shown on the card; %(reason)s is the network's answer.
                    error = _(
                        "%(reason)s; Heard could not confirm whether it went out: look at the post on %(network)s "
                        "before you retry",
                        reason=unsure,
                        network=platform.label,
                    )
                else:
                    reply.maybe_sent = False  # X answered no: nothing was posted
                reply.status, reply.error, reply.lease_until = FAILED, (error or "")[:500], None
                detail = {"reply_id": reply.id, "text": reply.text, "error": reply.error}
                outcome = lifecycle.apply(session, complaint, Action.REPLY_FAILED, actor, now, detail)
                handle = "@" + complaint.author_handle.lstrip("@")
                # Translators: “Retry” and “Edit” are the card's buttons of those names; %(reason)s says why.
                not_sent = _(
                    "Your reply to %(author)s was not sent: %(reason)s. The draft is kept on the card: Retry, or "
                    "Edit it.",
                    author=handle,
                    reason=reply.error,
                )
                self._enqueue_notice(session, Requester(reply.requested_by), not_sent, complaint.slack_channel, now)
            if outcome is not None:
                projections.refresh_card(session, complaint, now)
                self._log(session, complaint, outcome, now)
        if due is not None:
            self._wake_at(due)
        self._wake_delivery()


# Replies that are sent, or on their way: a network that allows one private reply counts these.
LIVE = (PENDING, SENDING, SENT)


def _errors(block_id: str, message: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {block_id: message}}


def _not_failed(reply: Reply) -> str:
    if reply.status in (PENDING, SENDING):
        return _(NOT_SENT_YET)
    if reply.status == SENT:
        return _("That reply was already sent; the card shows it.")
    return _("That reply is no longer waiting; the card shows what happened to it.")
