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
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import delivery
from bot.blocks.replies import COPY, DRAFTED, REPLACED
from bot.blocks.storm import StormView, storm_card, storm_line
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
# Replies queued by a holding statement carry this prefix in their request key (one per statement and complaint).
STATEMENT_KEY = "storm"
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
    """High-priority and VIP complaints keep their own cards in a storm."""
    followers = complaint.author_followers or 0
    return complaint.priority == "high" or followers >= settings.triage.vip_followers


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

    def line(self, session: Session, complaint: Complaint, now: datetime) -> Outgoing | None:
        storm = session.get(Storm, complaint.storm_id)
        if storm is None:
            return None
        if storm.slack_ts is None:
            raise NotReady  # the line belongs in the storm card's thread, which is about to be posted
        replies = session.scalars(select(Reply).where(Reply.complaint_id == complaint.id).order_by(Reply.id)).all()
        message = storm_line(complaint, replies, now, self.settings.timezone)
        return Outgoing(storm.channel, message, thread_ts=storm.slack_ts, want_permalink=True)


def remember_storm_place(session: Session, row: Delivery, channel: str, ts: str, permalink: str | None) -> None:
    storm = session.get(Storm, row.ref_id)
    if storm is not None:
        storm.slack_ts = ts
        storm.slack_permalink = permalink or storm.slack_permalink


def remember_line_place(session: Session, complaint: Complaint, channel: str, permalink: str | None) -> None:
    """A complaint's line was posted: its thread (for nags and joined posts) is the storm card's, its link the
    line's own."""
    storm = session.get(Storm, complaint.storm_id)
    complaint.slack_channel = channel
    complaint.slack_ts = storm.slack_ts if storm is not None else None
    complaint.slack_permalink = permalink or complaint.slack_permalink
