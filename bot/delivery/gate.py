"""Per-process pacing of Slack calls: Retry-After (and a per-process chat.postMessage pace, which the worker no
longer uses: that pace is shared by all copies through the database, see `pace.py`)."""

from __future__ import annotations

import threading
import time
from typing import Any

SLOT_SLACK_SECONDS = 0.01
MAX_RESERVATIONS = 10_000


def retry_after_seconds(headers: Any) -> float:
    """Seconds from a Retry-After header, whatever its capitalisation; 1 s when Slack gave none."""
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value))
            except (TypeError, ValueError):
                break
    return 1.0


class RateGate:
    """Retry-After blocks a method (per channel where Slack limits per channel), and chat.postMessage is paced
    at about one per second per channel with a small burst, as Slack asks.

    Pacing is a generic cell-rate algorithm with reservations: a message that must wait is given its own future
    slot (its ticket), so a backlog of a thousand thread replies is spread one per second, each row looked at
    once when its slot comes, instead of all of them retrying every second.
    """

    def __init__(self, post_rate_per_second: float = 1.0, burst: int = 3) -> None:
        self._lock = threading.Lock()
        self._blocked_until: dict[tuple[str, str], float] = {}
        self._next_slot: dict[str, float] = {}
        self._reserved: dict[int, float] = {}
        self._interval = 1.0 / post_rate_per_second
        self._tolerance = (burst - 1) * self._interval

    def wait_seconds(self, method: str, channel: str, ticket: int | None = None) -> float:
        """0 when a call may go now; else how long to wait. `ticket` (the outbox row) keeps a reserved slot."""
        now = time.monotonic()
        with self._lock:
            blocked = max(self._blocked_until.get((method, channel), 0.0), self._blocked_until.get((method, ""), 0.0))
            if blocked > now:
                return blocked - now
            if method != "chat.postMessage":
                return 0.0
            if ticket is not None and ticket in self._reserved:
                slot = self._reserved[ticket]
                if slot <= now + SLOT_SLACK_SECONDS:
                    del self._reserved[ticket]
                    return 0.0
                return slot - now
            arrival = max(self._next_slot.get(channel, now), now)
            slot = arrival - self._tolerance
            self._next_slot[channel] = arrival + self._interval
            if slot <= now:
                return 0.0
            if ticket is not None:
                self._forget_stale_reservations(now)
                self._reserved[ticket] = slot
            return slot - now

    def blocked_seconds(self, method: str, channel: str) -> float:
        """How long a 429's Retry-After still blocks `method` (per channel) in this process; 0 when it does not.
        chat.postMessage's own pace is shared by every copy through the database (`pace.py`), not kept here."""
        now = time.monotonic()
        with self._lock:
            blocked = max(self._blocked_until.get((method, channel), 0.0), self._blocked_until.get((method, ""), 0.0))
        return max(0.0, blocked - now)

    def _forget_stale_reservations(self, now: float) -> None:
        """A reserved row may have been sent by another copy of Heard; its slot then lapses."""
        if len(self._reserved) > MAX_RESERVATIONS:
            for ticket in [t for t, slot in self._reserved.items() if slot < now - 60]:
                del self._reserved[ticket]

    def block(self, method: str, channel: str, seconds: float) -> None:
        with self._lock:
            key = (method, channel)
            self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), time.monotonic() + seconds)
