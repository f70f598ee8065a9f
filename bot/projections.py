"""What each outbox kind shows: renderers that read the committed state and build the message to send.

Use cases call the `refresh_*` helpers inside their unit of work; the delivery worker calls the renderers when it
sends, so a message always shows the state as it is at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select, tuple_
from sqlalchemy.orm import Session

from bot import delivery, moderation, storms
from bot import reminder_batches as batches
from bot.blocks import Message, reminders
from bot.blocks.card import CardView, render_card
from bot.blocks.digest import digest_message, digest_period_words
from bot.blocks.messages import (
    approval_request,
    escalation_notice,
    follow_up_reminder,
    joined_post_message,
    thread_log_line,
)
from bot.blocks.notice import render_notice
from bot.config import Settings
from bot.delivery import FileUpload, NotReady, Outgoing
from bot.delivery import priority as priorities
from bot.delivery.worker import PostedHook
from bot.digest import Digest, chart_alt_text, compute_digest, render_chart
from bot.directory import DirectoryFile
from bot.export import export_attainment_csv, export_csv
from bot.i18n import _, speaking
from bot.languages import Languages, speaking_to
from bot.lifecycle import Action, FollowUpStatus
from bot.sla import Clock, clock_applies, clock_deadline
from storage.models import (
    AuditEvent,
    Complaint,
    ComplaintPost,
    Delivery,
    DigestRun,
    Escalation,
    FollowUp,
    ModeratedAuthor,
    Reply,
    WriteUp,
)

CARD = "card"
ESCALATION_NOTICE = "escalation_notice"
APPROVAL_REQUEST = "approval_request"
FOLLOW_UP = "follow_up"
THREAD_LOG = "thread_log"
NAG = "nag"
BREACH = "breach"
JOINED_POST = "joined_post"
CHANNEL_NOTICE = "channel_notice"
DIGEST = "digest"
DIGEST_CHART = "digest_chart"
EXPORT = "export"
# What an export row sends: the complaints themselves, or SLA attainment per agent and team (bot/attainment.py).
EXPORT_COMPLAINTS = "complaints"
EXPORT_ATTAINMENT = "attainment"
DIGEST_DAYS = {"daily": 1, "weekly": 7}

EARLIER_LINE_RETRY = timedelta(milliseconds=200)
# The thread shows people's actions; what the card itself says (it arrived) needs no line.
MAX_FORWARDS = 8  # a nag listed in a list listed in another (older data): followed this far
NOT_LOGGED = {Action.RECEIVE.value, Action.JOIN.value}


def card_key(complaint_id: int) -> str:
    return f"{CARD}:{complaint_id}"


def refresh_card(session: Session, complaint: Complaint, now: datetime) -> None:
    delivery.refresh(session, kind=CARD, key=card_key(complaint.id), complaint_id=complaint.id, now=now)


def card_row(complaint: Complaint, now: datetime) -> dict[str, Any]:
    """A new complaint's card, as an outbox row to insert with others. Its channel is known, so the worker paces
    it before rendering it: a burst of new complaints waits its turn without being rendered over and over."""
    row = delivery.row_values(
        key=f"{CARD}:{complaint.id}",
        kind=CARD,
        complaint_id=complaint.id,
        now=now,
        payload={"to": complaint.slack_channel} if complaint.slack_channel else None,
    )
    if complaint.storm_id is not None:
        row["priority"] = priorities.STORM_LINE  # a line in the storm's thread goes after clock messages
    return row


def notify_department(
    session: Session, escalation: Escalation, recipients: list[str], mentions: str, now: datetime
) -> None:
    """One notice per recipient (a user id for a DM, or a channel id); all are kept up to date together."""
    _per_recipient(session, ESCALATION_NOTICE, "escalation", escalation, recipients, now, {"mentions": mentions})


def ask_for_approval(session: Session, escalation: Escalation, recipients: list[str], now: datetime) -> None:
    _per_recipient(session, APPROVAL_REQUEST, "approval", escalation, recipients, now, {})


def _per_recipient(
    session: Session,
    kind: str,
    prefix: str,
    escalation: Escalation,
    recipients: list[str],
    now: datetime,
    payload: dict[str, str],
) -> None:
    for recipient in recipients:
        delivery.refresh(
            session,
            kind=kind,
            key=f"{prefix}:{escalation.id}:{recipient}",
            complaint_id=escalation.complaint_id,
            ref_id=escalation.id,
            now=now,
            payload={"to": recipient, **payload},
        )


def refresh_escalation(session: Session, escalation: Escalation, now: datetime) -> None:
    for kind in (ESCALATION_NOTICE, APPROVAL_REQUEST):
        delivery.refresh_existing(
            session, complaint_id=escalation.complaint_id, kind=kind, ref_id=escalation.id, now=now
        )


def refresh_follow_up(session: Session, follow_up: FollowUp, now: datetime) -> None:
    """Post the reminder DM the first time; afterwards keep it showing the follow-up's state."""
    delivery.refresh(
        session,
        kind=FOLLOW_UP,
        key=f"{FOLLOW_UP}:{follow_up.id}",
        complaint_id=follow_up.complaint_id,
        ref_id=follow_up.id,
        now=now,
    )


def send_nag(session: Session, complaint: Complaint, which: Clock, stage: int, now: datetime) -> None:
    """To the owner by DM when there is one, else in the card's thread for whoever is on duty."""
    delivery.refresh(
        session,
        kind=NAG,
        key=f"{NAG}:{complaint.id}:{which.value}:{stage}",
        complaint_id=complaint.id,
        now=now,
        payload={"clock": which.value},
        fresh=True,
    )


def alert_breach(
    session: Session,
    complaint: Complaint,
    which: Clock,
    stage: int,
    reminder: int,
    recipients: list[str],
    now: datetime,
) -> None:
    for recipient in recipients:
        delivery.refresh(
            session,
            kind=BREACH,
            key=f"{BREACH}:{complaint.id}:{which.value}:{stage}:{recipient}",
            complaint_id=complaint.id,
            now=now,
            payload={"clock": which.value, "to": recipient, "reminder": reminder},
            fresh=True,
        )


def refresh_reminders(session: Session, complaint: Complaint, now: datetime) -> None:
    """Nags and breach alerts already sent show when the clock stops (and lose their buttons)."""
    for kind in (NAG, BREACH):
        delivery.refresh_existing(session, complaint_id=complaint.id, kind=kind, now=now)


def log_in_thread(session: Session, complaint: Complaint, event: AuditEvent, now: datetime) -> None:
    if event.action in NOT_LOGGED or complaint.storm_id is not None:
        # A complaint in a storm shows its state on its line, and the audit trail keeps the steps: a line queued for
        # it would only wait (last in the channel's queue, counted by /healthz as late) to render to nothing.
        return
    session.flush()  # the event's id names its line
    _in_thread(session, THREAD_LOG, f"log:{event.id}", complaint, event.id, now)


def show_joined_post(session: Session, complaint: Complaint, post: ComplaintPost, now: datetime) -> None:
    """A later post by the same author appears in the card's thread, so the whole conversation is in one place."""
    _in_thread(session, JOINED_POST, f"{JOINED_POST}:{post.id}", complaint, post.id, now)


def _in_thread(session: Session, kind: str, key: str, complaint: Complaint, ref_id: int, now: datetime) -> None:
    """A new message under the card. Its channel is known up front, so one that must wait for Slack's pace is not
    rendered for nothing."""
    delivery.refresh(
        session,
        kind=kind,
        key=key,
        complaint_id=complaint.id,
        ref_id=ref_id,
        now=now,
        payload={"to": complaint.slack_channel} if complaint.slack_channel else None,
        fresh=True,
    )


def tell_channel(session: Session, key: str, text: str, now: datetime) -> None:
    """One message of Heard's own (not about one complaint) to the team's channel, posted once per `key`:
    a feed that stopped, a gap in the data, a cap reached. `text` is Heard's own mrkdwn."""
    if session.scalar(select(Delivery.id).where(Delivery.key == f"{CHANNEL_NOTICE}:{key}")) is not None:
        return
    delivery.refresh(
        session, kind=CHANNEL_NOTICE, key=f"{CHANNEL_NOTICE}:{key}", complaint_id=None, now=now, payload={"text": text}
    )


def send_digest(session: Session, run: DigestRun, now: datetime) -> None:
    """The digest message, then its chart as a file in the same conversation."""
    for kind, payload in ((DIGEST, {}), (DIGEST_CHART, {delivery.UPLOAD: True})):
        delivery.refresh(
            session,
            kind=kind,
            key=f"{kind}:{run.id}",
            complaint_id=None,
            ref_id=run.id,
            now=now,
            payload={"to": run.recipient, **payload},
            fresh=True,
        )


def send_export(session: Session, user: str, days: int, now: datetime, what: str = EXPORT_COMPLAINTS) -> None:
    """A CSV of the last `days` days' complaints (or their SLA attainment), built when it is sent, to the manager
    who asked, by DM."""
    suffix = "" if what == EXPORT_COMPLAINTS else f":{what}"
    delivery.refresh(
        session,
        kind=EXPORT,
        key=f"{EXPORT}:{user}:{now.isoformat()}{suffix}",
        complaint_id=None,
        now=now,
        payload={"to": user, "days": days, "asked_at": now.isoformat(), "what": what, delivery.UPLOAD: True},
        fresh=True,
    )


def card_coming(session: Session, complaint: Complaint) -> bool:
    """The card is not in Slack yet but will be (a card Slack refused for good must not hold up the rest)."""
    if complaint.slack_ts is not None:
        return False
    status = session.scalar(select(Delivery.status).where(Delivery.key == f"{CARD}:{complaint.id}"))
    return status in (delivery.PENDING, delivery.SENDING)


# Where `prefetch_cards` leaves what a batch of cards shows, in the claiming session's `info`.
CARD_PARTS = "heard.card_parts"


@dataclass(frozen=True)
class _CardParts:
    escalations: Sequence[Escalation]
    next_follow_up: FollowUp | None
    replies: Sequence[Reply]
    author: ModeratedAuthor | None
    write_up: WriteUp | None


def prefetch_cards(session: Session, rows: Sequence[Delivery]) -> None:
    """Read what the card updates among `rows` show together (a click storm's updates are claimed several at a
    time), leaving it in the session for `card_view`."""
    # Updates only: a new card waits for its channel's pace, so most new ones among `rows` are not rendered now.
    ids = list(dict.fromkeys(row.complaint_id for row in rows if row.kind == CARD and row.ts and row.complaint_id))
    ids = ids[: delivery.worker.CLAIM_JOBS]
    if len(ids) < 2:
        return  # a card alone reads its parts when it is rendered, after its own complaint
    complaints = session.scalars(select(Complaint).where(Complaint.id.in_(ids))).all()
    session.info[CARD_PARTS] = card_parts(session, complaints)


# Two comparisons rather than IN (…): an IN list is an expanding parameter, rendered into the SQL at every run.
_OPEN_FOLLOW_UP = or_(FollowUp.status == FollowUpStatus.SCHEDULED.value, FollowUp.status == FollowUpStatus.SENT.value)


def _card_parts_probe(complaint_is: Callable[[Any], Any], author_is: Any) -> Any:
    """Which kinds of parts the cards have at all: one query, each kind an EXISTS on the complaints `complaint_is`
    picks (given a table's complaint_id column) and the authors `author_is` picks."""
    return select(
        exists().where(complaint_is(Escalation.complaint_id)),
        exists().where(complaint_is(FollowUp.complaint_id), _OPEN_FOLLOW_UP),
        exists().where(complaint_is(Reply.complaint_id)),
        exists().where(complaint_is(WriteUp.complaint_id)),
        exists().where(author_is),
    )


# Built once: building these statements cost more than running them. Several cards (a claimed batch of updates)…
_CARD_PARTS_PROBE = _card_parts_probe(
    lambda column: column.in_(bindparam("ids", expanding=True)),
    tuple_(ModeratedAuthor.source, ModeratedAuthor.author_key).in_(bindparam("keys", expanding=True)),
)
# … and one card (a click's), with plain parameters, as expanding ones are rendered into the SQL at every run.
_ONE_CARD_PARTS_PROBE = _card_parts_probe(
    lambda column: column == bindparam("id"),
    and_(ModeratedAuthor.source == bindparam("source"), ModeratedAuthor.author_key == bindparam("key")),
)


def card_parts(session: Session, complaints: Sequence[Complaint]) -> dict[int, _CardParts]:
    """What the cards of `complaints` show besides the complaint itself. Most complaints have none of it, so one
    query first asks which kinds exist at all, and only those are read (one query per kind, not per card)."""
    ids = [c.id for c in complaints]
    keys = {(c.source, moderation.author_key(c)) for c in complaints}
    if len(complaints) == 1:
        [(source, key)] = keys
        has = session.execute(_ONE_CARD_PARTS_PROBE, {"id": ids[0], "source": source, "key": key}).one()
    else:
        has = session.execute(_CARD_PARTS_PROBE, {"ids": ids, "keys": list(keys)}).one()
    escalations: dict[int, list[Escalation]] = {cid: [] for cid in ids}
    if has[0]:
        for escalation in session.scalars(
            select(Escalation).where(Escalation.complaint_id.in_(ids)).order_by(Escalation.id)
        ):
            escalations[escalation.complaint_id].append(escalation)
    follow_ups: dict[int, FollowUp] = {}
    if has[1]:
        for follow_up in session.scalars(
            select(FollowUp).where(FollowUp.complaint_id.in_(ids), _OPEN_FOLLOW_UP).order_by(FollowUp.due_at)
        ):
            follow_ups.setdefault(follow_up.complaint_id, follow_up)
    replies: dict[int, list[Reply]] = {cid: [] for cid in ids}
    if has[2]:
        for reply in session.scalars(select(Reply).where(Reply.complaint_id.in_(ids)).order_by(Reply.id)):
            replies[reply.complaint_id].append(reply)
    write_ups: dict[int, WriteUp] = {}
    if has[3]:
        write_ups = {w.complaint_id: w for w in session.scalars(select(WriteUp).where(WriteUp.complaint_id.in_(ids)))}
    authors: dict[tuple[str, str], ModeratedAuthor] = {}
    if has[4]:
        authors = {
            (a.source, a.author_key): a
            for a in session.scalars(
                select(ModeratedAuthor).where(tuple_(ModeratedAuthor.source, ModeratedAuthor.author_key).in_(keys))
            )
        }
    return {
        c.id: _CardParts(
            escalations=escalations[c.id],
            next_follow_up=follow_ups.get(c.id),
            replies=replies[c.id],
            author=authors.get((c.source, moderation.author_key(c))),
            write_up=write_ups.get(c.id),
        )
        for c in complaints
    }


def card_view(session: Session, complaint: Complaint, settings: Settings, can_escalate: bool) -> CardView:
    parts = session.info.get(CARD_PARTS, {}).get(complaint.id) or card_parts(session, [complaint])[complaint.id]
    return CardView(
        complaint=complaint,
        escalations=parts.escalations,
        next_follow_up=parts.next_follow_up,
        can_escalate=can_escalate,
        quick_follow_up=settings.follow_up_after,
        replies=parts.replies,
        moderation=moderation.moderation_view(
            session, complaint, settings, can_flag_threat=can_escalate, loaded=(parts.author, parts.write_up)
        ),
    )


class Projections:
    """Shared messages render in the team's language (the worker starts every render in it); a DM renders inside
    `speaking_to(...)` its recipient, whose language comes from memory or `person_languages`, never from Slack."""

    def __init__(self, settings: Settings, directory: DirectoryFile | None, languages: Languages | None = None) -> None:
        self.settings = settings
        self.directory = directory
        self.timezone = settings.timezone
        self.languages = languages

    @property
    def renderers(self) -> Mapping[str, delivery.Renderer]:
        return {
            CARD: self.card,
            ESCALATION_NOTICE: self.escalation_notice,
            APPROVAL_REQUEST: self.approval_request,
            FOLLOW_UP: self.follow_up,
            THREAD_LOG: self.thread_log,
            NAG: self.nag,
            BREACH: self.breach,
            JOINED_POST: self.joined_post,
            CHANNEL_NOTICE: self.channel_notice,
            DIGEST: self.digest,
            DIGEST_CHART: self.digest_chart,
            EXPORT: self.export,
            **moderation.ModerationProjections(self.settings, self.languages).renderers,
            **storms.StormProjections(self.settings).renderers,
        }

    @property
    def on_posted(self) -> Mapping[str, PostedHook]:
        return {CARD: remember_card_place, storms.STORM: storms.remember_storm_place}

    def card(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        complaint = session.get(Complaint, row.complaint_id)
        if complaint is None:
            return None
        if complaint.storm_id is not None:
            return storms.StormProjections(self.settings).line(session, row, complaint, now)  # its line in the storm
        view = card_view(session, complaint, self.settings, can_escalate=self.directory is not None)
        return Outgoing(
            complaint.slack_channel or self.settings.heard_channel,
            render_card(view, now, self.timezone),
            want_permalink=True,
        )

    def escalation_notice(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        complaint, escalation = self._escalation(session, row)
        if escalation is None or complaint is None:
            return None
        if card_coming(session, complaint):
            raise NotReady  # the notice links to the card, which is about to be posted
        with speaking_to(self.languages, session, row.payload["to"]):  # a DM, or a channel (the team's language)
            message = escalation_notice(complaint, escalation, row.payload.get("mentions", ""), now, self.timezone)
        return Outgoing(row.payload["to"], message)

    def approval_request(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        complaint, escalation = self._escalation(session, row)
        if escalation is None or complaint is None:
            return None
        if card_coming(session, complaint):
            raise NotReady  # the request links to the card, which is about to be posted
        with speaking_to(self.languages, session, row.payload["to"]):
            return Outgoing(row.payload["to"], approval_request(complaint, escalation, now, self.timezone))

    def follow_up(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        follow_up = session.get(FollowUp, row.ref_id)
        complaint = session.get(Complaint, row.complaint_id)
        if follow_up is None or complaint is None:
            return None
        with speaking_to(self.languages, session, follow_up.assignee):
            return Outgoing(follow_up.assignee, follow_up_reminder(complaint, follow_up, now, self.timezone))

    def thread_log(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        event = session.get(AuditEvent, row.ref_id)
        complaint = session.get(Complaint, row.complaint_id)
        if event is None or complaint is None or complaint.storm_id is not None:
            return None  # filed into a storm after the line was queued: its line in the storm shows its state
        if complaint.slack_ts is None or complaint.slack_channel is None:
            raise NotReady  # the line belongs under the card, which is not posted yet
        earlier_unsent = session.scalar(
            select(Delivery.id)
            .where(
                Delivery.kind == THREAD_LOG,
                Delivery.complaint_id == complaint.id,
                Delivery.ref_id < row.ref_id,
                Delivery.status.in_((delivery.PENDING, delivery.SENDING)),
            )
            .limit(1)
        )
        if earlier_unsent is not None:
            raise NotReady(EARLIER_LINE_RETRY)  # lines appear in the order things happened
        listed_with = None
        if event.action == Action.NAG.value:
            sent = self._nag_fate(session, complaint, event, now)
            if sent is None:
                return None  # not sent (dropped at its deadline, or the clock stopped first): nothing to log
            listed_with = sent
        line = thread_log_line(event, complaint, now, self.timezone, listed_with=listed_with)
        return Outgoing(complaint.slack_channel, line, complaint.slack_ts)

    @staticmethod
    def _nag_fate(session: Session, complaint: Complaint, event: AuditEvent, now: datetime) -> int | None:
        """How many other complaints the nag this event records was listed with once posted (0: on its own), None
        when it was not posted; NotReady while it still waits."""
        detail = event.detail or {}
        key = f"{NAG}:{complaint.id}:{detail.get('clock')}:{detail.get('stage')}"
        row = session.scalar(select(Delivery).where(Delivery.key == key))
        for _attempt in range(MAX_FORWARDS):
            if row is None or not batches.folded(row):
                break
            row = session.scalar(select(Delivery).where(Delivery.key == row.payload[batches.FOLDED_INTO]))
        if row is None:
            return None
        if row.status in (delivery.PENDING, delivery.SENDING):
            raise NotReady(EARLIER_LINE_RETRY)  # the line follows the nag
        if row.ts is None:
            return None
        items = row.payload.get(batches.BATCH)
        if not items:
            return 0
        ids = [int(item["complaint"]) for item in items]
        return len(ids) - 1 if complaint.id in ids else None

    def nag(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        try:
            return self._nag(session, row, now)
        except batches.Joined:
            return None  # listed in a message waiting for its slot

    def _nag(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        if batches.folded(row):
            batches.forward(session, row, now)  # listed in another nag message: that one shows the change
            return None
        if batches.BATCH in row.payload:
            return self._nag_list(session, row, now)
        complaint = session.get(Complaint, row.complaint_id)
        if complaint is None:
            return None
        which = Clock(row.payload["clock"])
        if row.ts is None and not clock_applies(complaint, which):
            return None  # re-checked at send time: nobody is nagged about what is already done
        if row.ts is None and batches.drop_if_late(session, row, complaint, which, now):
            return None  # a nag after its deadline warns of nothing: the breach alert says it
        if row.ts is not None or complaint.owner_id:
            to = str(row.channel or complaint.owner_id)
            with speaking_to(self.languages, session, _owner_dm(to, complaint)):  # before any nag is gathered
                if row.ts is None and (listed := self._gather_nags(session, row, complaint, which, to, now)):
                    return listed
                return Outgoing(to, reminders.nag(complaint, which, "", now, self.timezone))
        if complaint.slack_ts is None or complaint.slack_channel is None:
            raise NotReady
        if listed := self._gather_nags(session, row, complaint, which, complaint.slack_channel, now):
            return listed
        message = reminders.nag(complaint, which, self.on_duty_mention(), now, self.timezone)
        return Outgoing(complaint.slack_channel, message, complaint.slack_ts)

    def _gather_nags(
        self, session: Session, row: Delivery, complaint: Complaint, which: Clock, to: str, now: datetime
    ) -> Outgoing | None:
        """Other nags waiting for the same person (or the channel): one message listing them all, or None."""
        item = {"complaint": complaint.id, "clock": which.value}
        pending = None
        for window in (batches.NAG_WINDOW, batches.NAG_FALLBACK):  # the list posted lately shows it at once
            leader = batches.posted_list(session, NAG, row, to, window, now, lists_only=True)
            if leader is not None and complaint.id not in batches.listed_in(leader):  # a later stage pings anew
                batches.join_posted(session, leader, [(row, item)], item, to, now)
                raise batches.Joined
            pending = pending or batches.pending_list(session, NAG, row, batches.nag_recipient(complaint))
            if pending is None:
                break  # no new list waiting for a slot: this nag starts one
        if pending is not None:  # a list for them is waiting for its slot: this nag goes in it
            batches.join(session, pending, row, item, to, now)
            raise batches.Joined
        latest = clock_deadline(complaint, which) - batches.NAG_MARGIN
        batches.hold(session, NAG, row, to, batches.NAG_GAP, now, latest)
        items = [(row, complaint, which)]
        recipient = batches.nag_recipient(complaint)
        for other, other_complaint in batches.gather(session, NAG, row, recipient, now, batches.MAX_ALERTED * 2):
            other_which = Clock(other.payload["clock"])
            if not clock_applies(other_complaint, other_which) or batches.drop_if_late(
                session, other, other_complaint, other_which, now
            ):
                other.status = delivery.DONE  # what its own render would conclude
            elif len(items) < batches.MAX_ALERTED:
                items.append((other, other_complaint, other_which))
        if len(items) == 1:
            waited = now - (row.queued_at or now)
            soon = waited < batches.NAG_COLLECT and now + batches.NAG_COLLECT - waited < latest
            if soon and batches.more_due_soon(session, complaint, now):
                raise NotReady(batches.NAG_COLLECT - waited)  # others fall due with it in a moment
            return None
        batches.fold(session, row, [other for other, _, _ in items[1:]], to, now)
        row.payload = {
            **row.payload,
            "target": to,
            "on_duty": not complaint.owner_id,
            batches.BATCH: [{"complaint": c.id, "clock": w.value} for _, c, w in items],
        }
        return self._nag_list(session, row, now)

    def _nag_list(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        items = [(c, Clock(item["clock"])) for c, item in batches.batch_items(session, row)]
        if row.ts is None:
            # Not posted yet (a retry): what was acknowledged or reached its deadline meanwhile is left out.
            items = [
                (c, w) for c, w in items if clock_applies(c, w) and not batches.drop_if_late(session, row, c, w, now)
            ]
            row.payload = {**row.payload, batches.BATCH: [{"complaint": c.id, "clock": w.value} for c, w in items]}
            if not items:
                return None
        mention = self.on_duty_mention() if row.payload.get("on_duty") else ""
        with speaking_to(self.languages, session, None if row.payload.get("on_duty") else row.payload.get("target")):
            message = reminders.nag_list(items, mention, now, self.timezone)
        return Outgoing(str(row.channel or row.payload["target"]), message)

    def breach(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        if batches.folded(row):
            batches.forward(session, row, now)  # listed in another alert message: that one shows the change
            return None
        if batches.BATCH in row.payload:
            return self._breach_list(session, row, now)
        complaint = session.get(Complaint, row.complaint_id)
        if complaint is None:
            return None
        which = Clock(row.payload["clock"])
        if row.ts is None and not clock_applies(complaint, which):
            return None
        language = self.languages.for_recipient(session, row.payload["to"]) if self.languages else None
        try:
            if row.ts is None and (listed := self._gather_breaches(session, row, now)):
                return listed
        except batches.Joined:
            return None  # added to the manager's alert message of this interval, which is updated to show it
        with speaking(language):
            message = reminders.breach(complaint, which, int(row.payload.get("reminder", 0)), now, self.timezone)
        return Outgoing(row.payload["to"], message)

    def _gather_breaches(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        """While alerts about other complaints keep coming, a manager gets one message per ALERT_INTERVAL,
        listing every alert that fell due for them meanwhile."""
        to = str(row.payload["to"])
        leader = batches.posted_list(session, BREACH, row, to, self.settings.alert_interval, now, lists_only=False)
        # A reminder about a complaint that message already shows is a new message (it pings again), in its turn.
        if leader is not None and row.complaint_id not in batches.listed_in(leader):
            due = batches.gather(session, BREACH, row, Delivery.pace_key == to, now, batches.MAX_ALERTED)
            joined = [(row, _breach_item(row)), *((other, _breach_item(other)) for other, _ in due)]
            batches.join_posted(session, leader, joined, _breach_item(leader), to, now)
            raise batches.Joined
        batches.hold(session, BREACH, row, to, self.settings.alert_interval, now, None)
        listed: dict[tuple[int, str], dict[str, Any]] = {
            (row.complaint_id or 0, row.payload["clock"]): _breach_item(row)
        }
        others = []
        for other, _listed in batches.gather(
            session, BREACH, row, Delivery.pace_key == to, now, batches.MAX_ALERTED * 2
        ):
            key = (other.complaint_id or 0, other.payload["clock"])
            if key not in listed and len(listed) >= batches.MAX_ALERTED:
                continue
            others.append(other)
            item = _breach_item(other)
            if key not in listed or item["reminder"] > listed[key]["reminder"]:
                listed[key] = item
        if not others:
            return None
        batches.fold(session, row, others, to, now)
        row.payload = {**row.payload, batches.BATCH: list(listed.values())}
        return self._breach_list(session, row, now)

    def _breach_list(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        items = [(c, Clock(item["clock"]), int(item["reminder"])) for c, item in batches.batch_items(session, row)]
        if row.ts is None:
            items = [(c, w, r) for c, w, r in items if clock_applies(c, w)]  # acted on meanwhile: nothing to say
            if not items:
                return None
        with speaking_to(self.languages, session, row.payload["to"]):
            return Outgoing(row.payload["to"], reminders.breach_list(items, now, self.timezone))

    def joined_post(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        post = session.get(ComplaintPost, row.ref_id)
        complaint = session.get(Complaint, row.complaint_id)
        if post is None or complaint is None:
            return None
        if complaint.slack_ts is None or complaint.slack_channel is None:
            raise NotReady
        return Outgoing(
            complaint.slack_channel, joined_post_message(complaint, post, now, self.timezone), complaint.slack_ts
        )

    def channel_notice(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        return Outgoing(self.settings.heard_channel, render_notice(str(row.payload["text"])))

    def digest(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        run = session.get(DigestRun, row.ref_id)
        if run is None:
            return None
        with speaking_to(self.languages, session, run.recipient):  # a manager's DM, or a channel's digest
            return Outgoing(run.recipient, digest_message(self._digest(session, run, now), self.timezone, now))

    def digest_chart(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        run = session.get(DigestRun, row.ref_id)
        if run is None:
            return None
        message = session.scalar(select(Delivery.status).where(Delivery.key == f"{DIGEST}:{run.id}"))
        if message in (delivery.PENDING, delivery.SENDING):
            raise NotReady  # the chart follows its digest
        digest = self._digest(session, run, now)
        if digest.quiet:
            return None  # nothing to draw on a day without complaints
        with speaking_to(self.languages, session, run.recipient):
            chart = FileUpload(
                filename=f"heard-{run.kind}-digest-{run.last_day.isoformat()}-{run.id}.png",
                content=render_chart(digest, self.settings.ack_window),
                # Translators: the digest chart's title; the period is e.g. "Mon 23 Nov".
                title=_("Complaints per hour and time to acknowledge, %(period)s", period=digest_period_words(digest)),
                alt_text=chart_alt_text(digest),
            )
        return Outgoing(run.recipient, Message(text=chart.title), file=chart)

    def export(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        asked_at = datetime.fromisoformat(str(row.payload["asked_at"]))
        days = int(row.payload["days"])
        with speaking_to(self.languages, session, str(row.payload["to"])):  # headers and title in theirs
            return self._export(session, row, days, asked_at, now)

    def _export(self, session: Session, row: Delivery, days: int, asked_at: datetime, now: datetime) -> Outgoing:
        if row.payload.get("what") == EXPORT_ATTAINMENT:
            csv_file = export_attainment_csv(
                session,
                days,
                self.timezone,
                asked_at,
                now=now,
                calendar=self.settings.calendar,
                ack_window=self.settings.ack_window,
                resolve_window=self.settings.resolve_window,
            )
        else:
            csv_file = export_csv(session, days, self.timezone, asked_at)
        upload = FileUpload(
            filename=csv_file.filename, content=csv_file.content, title=csv_file.title, comment=csv_file.comment
        )
        return Outgoing(str(row.payload["to"]), Message(text=csv_file.title), file=upload)

    def _digest(self, session: Session, run: DigestRun, now: datetime) -> Digest:
        return compute_digest(
            session,
            day=run.last_day,
            tz=self.timezone,
            now=now,
            ack_window=self.settings.ack_window,
            days=DIGEST_DAYS.get(run.kind, 1),
            resolve_window=self.settings.resolve_window,
            calendar=self.settings.calendar,
        )

    def on_duty_mention(self) -> str:
        people = [f"<!subteam^{who}>" if who.startswith("S") else f"<@{who}>" for who in self.settings.on_duty]
        return " ".join(people) or "<!here>"

    @staticmethod
    def _escalation(session: Session, row: Delivery) -> tuple[Complaint | None, Escalation | None]:
        return session.get(Complaint, row.complaint_id), session.get(Escalation, row.ref_id)


def _owner_dm(to: str, complaint: Complaint) -> str | None:
    """Whose DM a nag posted to `to` is: the owner's, unless it went to a channel (the card's thread)."""
    return None if to.startswith(("C", "G")) else complaint.owner_id


def _breach_item(row: Delivery) -> dict[str, Any]:
    return {
        "complaint": row.complaint_id,
        "clock": row.payload["clock"],
        "reminder": int(row.payload.get("reminder", 0)),
    }


def remember_card_place(session: Session, row: Delivery, channel: str, ts: str, permalink: str | None) -> None:
    complaint = session.get(Complaint, row.complaint_id)
    if complaint is not None and complaint.storm_id is not None:
        storms.remember_line_place(session, row, channel, permalink)
    elif complaint is not None:
        complaint.slack_channel = channel
        complaint.slack_ts = ts
        complaint.slack_permalink = permalink or complaint.slack_permalink
