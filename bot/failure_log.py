"""One log line per kind of failure per minute, not one (with a traceback) per request.

A database outage fails every request that arrives during it: twenty seconds of webhooks and health checks wrote
375 tracebacks (1.8 MB) that said one thing. `FailureLog.report` writes the first failure of each kind (where it
happened and the exception's class) as one line, keeps the repeats back for `every` seconds, and says how many it
kept back on the next line it writes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_DETAIL_CHARS = 200


@dataclass
class _Kind:
    since: float
    held: int = 0


class FailureLog:
    def __init__(
        self, logger: logging.Logger, every: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._logger = logger
        self._every = every
        self._clock = clock
        self._kinds: dict[tuple[str, str], _Kind] = {}
        self._lock = threading.Lock()

    def report(
        self, where: str, error: BaseException, *, level: int = logging.WARNING, traceback: bool = False
    ) -> None:
        """Log `error` as `where: Class: first line of its message`, unless a failure of the same class was logged
        for `where` less than `every` seconds ago. `traceback` adds it to the line that is written (for failures
        nobody expected, whose traceback is worth one copy a minute)."""
        kind = (where, type(error).__name__)
        with self._lock:
            now = self._clock()
            seen = self._kinds.get(kind)
            if seen is not None and now - seen.since < self._every:
                seen.held += 1
                return
            self._kinds[kind] = _Kind(since=now)
        message = f"{where}: {type(error).__name__}: {describe(error)}"
        if seen is not None and seen.held:
            message += f" ({seen.held} more like it in the last {now - seen.since:.0f}s)"
        self._logger.log(level, message, exc_info=error if traceback else None)


def describe(error: BaseException) -> str:
    """The first line of the error's message, cut short: SQLAlchemy's later lines hold the statement and its
    parameters, which may be a customer's words."""
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else "(no message)"
    return first if len(first) <= MAX_DETAIL_CHARS else first[: MAX_DETAIL_CHARS - 1] + "…"


class OncePerInterval(logging.Filter):
    """Lets one record per message template through every `every` seconds, telling on the next one how many it held
    back: waitress says "Task queue depth is N" on every request that waits for a thread, which under a flood of
    clicks is one line per click saying one thing (the server is busy)."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._every = every
        self._clock = clock
        self._kinds: dict[tuple[str, object], _Kind] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.msg)
        with self._lock:
            now = self._clock()
            seen = self._kinds.get(kind)
            if seen is not None and now - seen.since < self._every:
                seen.held += 1
                return False
            self._kinds[kind] = _Kind(since=now)
        if seen is not None and seen.held:
            record.msg = f"{record.msg} ({seen.held} more like it in the last {now - seen.since:.0f}s)"
        return True
