"""Sending a message from the thread whose change asked for it (a click updating its card), rather than waiting
for a worker thread: the use case claims it inside its own unit of work and sends it once that has committed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session


class PromptSender(Protocol):
    def claim_now(self, session: Session, key: str, now: datetime) -> Any | None:
        """Bump the posted message `key` in `session`, claim it and render it. None leaves it to the worker: the
        caller refreshes it unless it is in `delivery.queued` (bumped and given back to the queue here)."""

    def send_claimed(self, job: Any) -> None:
        """Send what `claim_now` returned, after its unit of work committed."""

    def needs_waking(self, queued: Mapping[str, str | None]) -> bool:
        """Whether the rest of what a unit of work queued (`delivery.queued`) needs a worker thread woken now."""


class NoPromptSender:
    """Everything is left to the worker (use cases built without one, in tools and tests)."""

    def claim_now(self, session: Session, key: str, now: datetime) -> None:
        return None

    def send_claimed(self, job: Any) -> None:
        raise AssertionError("nothing was claimed")

    def needs_waking(self, queued: Mapping[str, str | None]) -> bool:
        return bool(queued)
