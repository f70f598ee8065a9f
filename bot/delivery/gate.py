"""Per-process pacing of Slack calls: Retry-After and chat.postMessage's per-channel limit."""

from __future__ import annotations

import threading
import time
from typing import Any


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
    at about one per second per channel with a small burst, as Slack asks."""

    def __init__(self, post_rate_per_second: float = 1.0, burst: int = 3) -> None:
        self._lock = threading.Lock()
        self._blocked_until: dict[tuple[str, str], float] = {}
        self._tokens: dict[str, tuple[float, float]] = {}
        self._rate = post_rate_per_second
        self._burst = burst

    def wait_seconds(self, method: str, channel: str) -> float:
        """0 when a call may go now (and takes its token); else how long to wait before trying again."""
        now = time.monotonic()
        with self._lock:
            blocked = max(self._blocked_until.get((method, channel), 0.0), self._blocked_until.get((method, ""), 0.0))
            if blocked > now:
                return blocked - now
            if method != "chat.postMessage":
                return 0.0
            tokens, stamp = self._tokens.get(channel, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - stamp) * self._rate)
            if tokens < 1.0:
                self._tokens[channel] = (tokens, now)
                return (1.0 - tokens) / self._rate
            self._tokens[channel] = (tokens - 1.0, now)
            return 0.0

    def block(self, method: str, channel: str, seconds: float) -> None:
        with self._lock:
            key = (method, channel)
            self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), time.monotonic() + seconds)
