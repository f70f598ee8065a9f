"""chat.postMessage's pace per conversation, shared by every copy of Heard through the database.

Slack allows about one message per second per channel with short bursts; counted per process, three copies would
post three a second and meet 429s. Each conversation has a row in `delivery_pace` holding its GCRA state (the
theoretical arrival time of its next message): a copy that wants to post locks that row, checks and moves it in
the transaction that claims the outbox row, so between them all the copies post at the pace, and a 429's
Retry-After holds the conversation for every copy.

Rows of a conversation that must wait are not rendered or even read: the claim leaves out the conversations that
`blocked()` names, and the waiting rows keep their place (priority, then age), so when the next slot comes the
most important message takes it — a new card overtakes a backlog of thread lines.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import DeliveryPace

# A little under one a second, so the jitter of the network between two posts does not meet Slack's own bucket.
POST_INTERVAL_SECONDS = 1.05
POST_BURST = 3


# Read before every claim of the outbox; built once, as building it cost more than running it.
_WAITING = select(DeliveryPace.channel, DeliveryPace.tat).where(DeliveryPace.tat > bindparam("after"))


class SharedPace:
    def __init__(self, interval: float = POST_INTERVAL_SECONDS, burst: int = POST_BURST) -> None:
        self.interval = interval
        self.tolerance = (burst - 1) * interval

    def blocked(self, session: Session, now: datetime) -> dict[str, float]:
        """Conversations that may not be posted to yet, and when each may (seconds since the epoch)."""
        rows = session.execute(_WAITING, {"after": now.timestamp() + self.tolerance}).all()
        return {channel: tat - self.tolerance for channel, tat in rows}

    def take(self, session: Session, channel: str, now: datetime) -> float:
        """0 and a slot taken when a message may be posted to `channel` now; else how many seconds to wait.
        Holds the conversation's row lock until the caller's transaction ends: call it once per transaction."""
        moment = now.timestamp()
        tat = self._locked_tat(session, channel, moment)
        free_at = tat - self.tolerance
        if free_at > moment:
            return free_at - moment
        session.execute(
            update(DeliveryPace).where(DeliveryPace.channel == channel).values(tat=max(tat, moment) + self.interval)
        )
        return 0.0

    def give_back(self, session: Session, channel: str) -> None:
        """Undo this transaction's `take` on `channel` (the row that took the slot turned out to have nothing to
        send yet, e.g. a line waiting for the storm card's ts): the slot goes to the next message, not to waste."""
        session.execute(
            update(DeliveryPace).where(DeliveryPace.channel == channel).values(tat=DeliveryPace.tat - self.interval)
        )

    def hold(self, session: Session, channel: str, seconds: float, now: datetime) -> None:
        """Slack said 429: nobody posts to `channel` for `seconds`."""
        moment = now.timestamp()
        tat = self._locked_tat(session, channel, moment)
        session.execute(
            update(DeliveryPace)
            .where(DeliveryPace.channel == channel)
            .values(tat=max(tat, moment + seconds + self.tolerance))
        )

    def _locked_tat(self, session: Session, channel: str, moment: float) -> float:
        tat = session.scalar(select(DeliveryPace.tat).where(DeliveryPace.channel == channel).with_for_update())
        if tat is not None:
            return float(tat)
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(DeliveryPace).values(channel=channel, tat=moment).on_conflict_do_nothing())
        tat = session.scalar(select(DeliveryPace.tat).where(DeliveryPace.channel == channel).with_for_update())
        return float(tat if tat is not None else moment)
