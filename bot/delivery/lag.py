"""Honest lag: how long the oldest message still waiting to reach Slack has waited since it was queued, and the
channel told once when that passes `DELIVERY_LAG_ALERT` and once when it recovers.

`due_at` is no measure of waiting: pacing and retries move it into the future. `queued_at` is set when a message is
asked for and kept while it waits (a re-render of a message still waiting does not reset it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.blocks.when import span
from bot.delivery import priority
from bot.delivery.outbox import PENDING, SENDING, refresh, utcnow
from bot.i18n import _
from storage.db import Database
from storage.models import Delivery, DeliveryFlag

FLAG = "delivery_lag"


def oldest_waiting(session: Session, now: datetime) -> timedelta | None:
    """The age of the oldest message not yet delivered (None: nothing waits)."""
    queued = session.scalar(select(func.min(Delivery.queued_at)).where(Delivery.status.in_((PENDING, SENDING))))
    if queued is None:
        return None
    return max(timedelta(0), now - queued)


@dataclass
class LagWatch:
    """Run about once a second (by the delivery worker's housekeeping thread, in every copy): the shared flag row,
    raised and lowered by conditional update, makes each notice go once however many copies watch."""

    database: Database
    threshold: timedelta
    # The outbox kind that renders a channel notice from payload {"text": ...} (projections' CHANNEL_NOTICE).
    notice_kind: str
    wake: Callable[[], None] | None = None

    def check(self) -> None:
        now = utcnow()
        told = False
        with self.database.unit_of_work() as session:
            lag = oldest_waiting(session, now) or timedelta(0)
            flag = self._flag(session, now)
            if lag > self.threshold and not flag.raised:
                episode = flag.episode + 1
                if self._switch(session, raised=True, episode=episode, now=now):
                    told = self._tell(session, f"{episode}:over", self._over_text(lag), now)
            # A little below the threshold, so a lag hovering around it does not flap.
            elif (
                flag.raised
                and lag <= self.threshold / 2
                and self._switch(session, raised=False, episode=flag.episode, now=now)
            ):
                told = self._tell(session, f"{flag.episode}:recovered", self._recovered_text(flag, now), now)
        if told and self.wake is not None:
            self.wake()

    def _over_text(self, lag: timedelta) -> str:
        behind = _(
            "*Slack is behind.* The oldest message waiting to reach Slack was queued %(duration)s ago (more than "
            "%(threshold)s). New cards go first, then nags and breach alerts; nothing is lost. I will say here when it "
            "has caught up.",
            duration=span(lag),
            threshold=span(self.threshold),
        )
        return f":warning: {behind}"

    @staticmethod
    def _recovered_text(flag: DeliveryFlag, now: datetime) -> str:
        caught_up = _(
            "*Slack has caught up.* Messages are going out on time again (the delay lasted %(duration)s).",
            duration=span(now - flag.changed_at),
        )
        return f":white_check_mark: {caught_up}"

    def _flag(self, session: Session, now: datetime) -> DeliveryFlag:
        flag = session.get(DeliveryFlag, FLAG)
        if flag is None:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(
                insert(DeliveryFlag).values(name=FLAG, raised=False, episode=0, changed_at=now).on_conflict_do_nothing()
            )
            flag = session.get(DeliveryFlag, FLAG)
        assert flag is not None
        return flag

    @staticmethod
    def _switch(session: Session, *, raised: bool, episode: int, now: datetime) -> bool:
        """Raise or lower the flag; True for the one copy whose update moved it."""
        changed = session.execute(
            update(DeliveryFlag)
            .where(DeliveryFlag.name == FLAG, DeliveryFlag.raised.is_(not raised))
            .values(raised=raised, episode=episode, changed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        return bool(changed)

    def _tell(self, session: Session, key: str, text: str, now: datetime) -> bool:
        # Ahead of everything else in the channel: it is about the backlog it would otherwise wait behind.
        refresh(
            session,
            kind=self.notice_kind,
            key=f"{self.notice_kind}:{FLAG}:{key}",
            complaint_id=None,
            now=now,
            payload={"text": text},
            fresh=True,
            priority=priority.ALERT,
        )
        return True
