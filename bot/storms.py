"""Storms: what a storm is (its records, who is kept out of it, the words its complaints share) and what it shows
in Slack (the storm card, and each complaint's line in its thread). The use cases are in bot/services/storms.py.

A complaint filed into a storm keeps its own record, clock, audit trail and `/complaints <id>` answer; only its
place in Slack differs: its card row renders a line in the storm card's thread (re-rendered on every change like a
card), and the thread is where its nags and joined posts go. Its per-action thread-log lines are left out (the
audit trail keeps them): a bulk claim of 300 complaints would otherwise bury the thread.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import delivery
from bot import reminder_batches as batches
from bot.blocks.replies import COPY, DRAFTED, REPLACED
from bot.blocks.storm import LINES_PER_MESSAGE, StormView, storm_card, storm_lines
from bot.config import Settings
from bot.delivery import NotReady, Outgoing
from bot.delivery import priority as priorities
from bot.lifecycle import Status
from storage.models import Complaint, Delivery, Reply, Storm

OPEN = "open"
ENDED = "ended"
STORM = "storm"  # the outbox kind of the storm card
# Every line of the storm waits for the storm card's ts (NotReady until it is posted): it goes ahead of them, and of
# new cards, or the lines and clock messages due meanwhile would take every slot of the channel and starve it.
priorities.register(STORM, priorities.ALERT)
# The outbox kind of a complaint's card (bot/projections.py), whose row renders its line when it is in a storm.
CARD = "card"
# Replies queued by a holding statement carry this prefix in their request key (one per statement and complaint).
STATEMENT_KEY = "storm"
# A line waits at most this long for others to be listed with it (unless a message's worth are waiting).
LINE_GATHER = timedelta(seconds=10)
TOP_WORDS = 3
WORDS_FROM = 500  # the newest complaints' texts the top words are counted over

_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP_WORDS = """
    the and for you your yours are was were this that these those with have has had not but they them their what
    when where which who why how all any can could would should will just from into out about again also been being
    than then there here our ours very too only its it's i'm im ive i've dont don't doesnt doesn't didnt didn't cant
    can't wont won't isnt isn't arent aren't still even ever get got getting please thanks thank hey hello anyone
    one two now today yesterday since because still more most some such same other his her him she hers myself
    yourself does did doing done make made really why let lets let's over under off again nothing something
    everything anything way back time times day days week weeks hour hours minute minutes after before while
    well like want need needs know see say said going gone come came help via amp http https www com
    que los las por para una del con como pero mas más muy sus esta este está son hay nos les
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def exempt(complaint: Complaint, settings: Settings) -> bool:
    """High-priority, VIP and threatening complaints keep their own cards in a storm (high-priority ones within
    `own_card_allowance`)."""
    return complaint.priority == "high" or always_own_card(complaint, settings)


def always_own_card(complaint: Complaint, settings: Settings) -> bool:
    """VIPs and threats (for Legal) get their own card however many arrive: they are few, and each needs a person."""
    followers = complaint.author_followers or 0
    return followers >= settings.triage.vip_followers or bool(complaint.threats)


def own_card_allowance(settings: Settings) -> int:
    """In a storm, high-priority complaints keep their own cards up to half STORM_THRESHOLD per STORM_WINDOW (15 a
    minute by default, a quarter of the channel's one message a second); past that they are listed in the storm's
    thread, marked high priority. Measured: in an outage a fifth of the complaints are urgent (refunds, double
    charges), and 100 urgent cards in a minute held every storm line and nag behind them for two minutes."""
    return max(1, (settings.storm_threshold or 0) // 2)


def top_words(texts: Iterable[str], count: int = TOP_WORDS) -> list[str]:
    """The words most complaints mention (each complaint counts a word once), stop-words and handles left out."""
    mentions: Counter[str] = Counter()
    for text in texts:
        cleaned = re.sub(r"(https?://\S+|[@#]\w+)", " ", text.casefold())
        mentions.update({word for word in _WORD.findall(cleaned) if word not in STOP_WORDS})
    ranked = sorted(mentions.items(), key=lambda item: (-item[1], item[0]))
    return [word for word, times in ranked[:count] if times > 1 or len(ranked) == 1]


def refresh_storm_card(session: Session, storm: Storm, now: datetime, *, fresh: bool = False) -> None:
    delivery.refresh(
        session,
        kind=STORM,
        key=f"{STORM}:{storm.id}",
        complaint_id=None,
        ref_id=storm.id,
        now=now,
        payload={"to": storm.channel},
        fresh=fresh,
    )


def storm_view(session: Session, storm: Storm) -> StormView:
    in_storm = Complaint.storm_id == storm.id
    total, acknowledged, claimed = session.execute(
        select(func.count(Complaint.id), func.count(Complaint.acknowledged_at), func.count(Complaint.owner_id)).where(
            in_storm
        )
    ).one()
    resolved = session.scalar(
        select(func.count(Complaint.id)).where(in_storm, Complaint.status == Status.RESOLVED.value)
    )
    texts = session.scalars(select(Complaint.text).where(in_storm).order_by(Complaint.id.desc()).limit(WORDS_FROM))
    replies = dict(
        session.execute(
            select(Reply.channel, func.count(Reply.id))
            .join(Complaint, Complaint.id == Reply.complaint_id)
            .where(in_storm, Reply.request_key.startswith(f"{STATEMENT_KEY}:"), Reply.status != REPLACED)
            .group_by(Reply.channel)
        ).all()
    )
    drafts = session.scalar(
        select(func.count(Reply.id))
        .join(Complaint, Complaint.id == Reply.complaint_id)
        .where(in_storm, Reply.request_key.startswith(f"{STATEMENT_KEY}:"), Reply.status == DRAFTED)
    )
    sent = sum(number for channel, number in replies.items() if channel != COPY)
    return StormView(
        storm=storm,
        complaints=int(total or 0),
        words=top_words(texts),
        acknowledged=int(acknowledged or 0),
        claimed=int(claimed or 0),
        resolved=int(resolved or 0),
        replies_sent=sent,
        drafts=int(drafts or 0),
    )


class StormProjections:
    """The storm card (its own outbox kind) and the complaint lines (rendered for the complaint's card row)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def renderers(self) -> Mapping[str, delivery.Renderer]:
        return {STORM: self.card}

    def card(self, session: Session, row: Delivery, now: datetime) -> Outgoing | None:
        storm = session.get(Storm, row.ref_id)
        if storm is None:
            return None
        return Outgoing(
            storm.channel, storm_card(storm_view(session, storm), now, self.settings.timezone), want_permalink=True
        )

    def line(self, session: Session, row: Delivery, complaint: Complaint, now: datetime) -> Outgoing | None:
        """The complaint's line in the storm's thread. A first render lists the other lines of the storm waiting
        to be posted with it (up to LINES_PER_MESSAGE): their rows are folded into this one (`folded_into`, as for
        clock messages in bot/reminder_batches.py), so a storm costs the channel one message per batch of arrivals,
        not one per complaint. A later change to a listed complaint re-renders the message that lists it."""
        if batches.folded(row):
            batches.forward(session, row, now)  # listed in another message of the thread: that one shows it
            return None
        storm = session.get(Storm, complaint.storm_id)
        if storm is None:
            return None
        if storm.slack_ts is None:
            raise NotReady  # the line belongs in the storm card's thread, which is about to be posted
        if row.ts is None and batches.BATCH not in row.payload:
            others = _waiting_lines(session, row, storm, now)
            waited = now - (row.queued_at or now)
            if len(others) < LINES_PER_MESSAGE - 1 and waited < LINE_GATHER:
                # Few lines waiting: wait for more (a line's target is a minute), so that a storm of two a second
                # costs the channel a message every few seconds, not each of its slots, and leaves room for clock
                # messages, cards and thread lines.
                raise NotReady(LINE_GATHER - waited)
            if others:
                batches.fold(session, row, others, storm.channel, now)
                for other in others:
                    # Nothing of their own to post from now on: a change re-renders this message (`forward`) at
                    # once, without first waiting for a slot of the channel's pace it would give back unused.
                    other.pace_key = None
                    other.payload = {k: v for k, v in other.payload.items() if k != "to"}
                row.payload = {**row.payload, batches.BATCH: [complaint.id, *(o.complaint_id for o in others)]}
        listed = [int(cid) for cid in row.payload.get(batches.BATCH) or [complaint.id]]
        complaints = {c.id: c for c in session.scalars(select(Complaint).where(Complaint.id.in_(listed)))}
        replies: dict[int, list[Reply]] = {cid: [] for cid in listed}
        for reply in session.scalars(select(Reply).where(Reply.complaint_id.in_(listed)).order_by(Reply.id)):
            replies[reply.complaint_id].append(reply)
        if row.ts is not None and any(complaints[cid].slack_ts is None for cid in listed if cid in complaints):
            link = next((c.slack_permalink for c in complaints.values() if c.slack_permalink), None)
            _fill_places(session, listed, storm.channel, link)
        lines = [(complaints[cid], replies[cid]) for cid in listed if cid in complaints]
        message = storm_lines(lines, now, self.settings.timezone)
        return Outgoing(storm.channel, message, thread_ts=storm.slack_ts, want_permalink=True)


def _waiting_lines(session: Session, row: Delivery, storm: Storm, now: datetime) -> list[Delivery]:
    """Other lines of `storm` not posted yet (waiting to be listed too), oldest first, locked for this transaction
    (rows another copy holds are skipped: it is posting them)."""
    rows = session.scalars(
        select(Delivery)
        .join(Complaint, Complaint.id == Delivery.complaint_id)
        .where(
            Delivery.kind == CARD,
            Delivery.status == delivery.PENDING,
            Delivery.ts.is_(None),
            Delivery.id != row.id,
            Complaint.storm_id == storm.id,
        )
        .order_by(Delivery.id)
        .limit(LINES_PER_MESSAGE * 2)
        .with_for_update(skip_locked=True, of=Delivery)
    ).all()
    fresh = [other for other in rows if not batches.folded(other) and batches.BATCH not in other.payload]
    return fresh[: LINES_PER_MESSAGE - 1]


def remember_storm_place(session: Session, row: Delivery, channel: str, ts: str, permalink: str | None) -> None:
    storm = session.get(Storm, row.ref_id)
    if storm is not None:
        storm.slack_ts = ts
        storm.slack_permalink = permalink or storm.slack_permalink


def remember_line_place(session: Session, row: Delivery, channel: str, permalink: str | None) -> None:
    """A message of lines was posted: each complaint it lists has the storm card's thread (for nags and joined
    posts) and the message's link. Complaints another transaction holds (Claim all, Resolve all) are not waited for:
    it holds them while it bumps outbox rows this one may already hold, so each would wait on the other for good.
    Their change re-renders this message, and that render fills in what is missing (`_fill_places`)."""
    listed = [int(cid) for cid in row.payload.get(batches.BATCH) or [row.complaint_id]]
    _fill_places(session, listed, channel, permalink)


def _fill_places(session: Session, listed: list[int], channel: str, permalink: str | None) -> None:
    complaints = session.scalars(
        select(Complaint)
        .where(Complaint.id.in_(listed), Complaint.slack_ts.is_(None))
        .with_for_update(skip_locked=True)
    ).all()
    for complaint in complaints:
        storm = session.get(Storm, complaint.storm_id) if complaint.storm_id is not None else None
        complaint.slack_channel = channel
        complaint.slack_ts = storm.slack_ts if storm is not None else None
        complaint.slack_permalink = permalink or complaint.slack_permalink
