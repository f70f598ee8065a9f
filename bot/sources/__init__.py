"""Where complaints come from; each source turns its input into a normalised `NewComplaint`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class NewComplaint:
    source: str
    external_id: str
    author_handle: str
    text: str
    author_name: str | None = None
    author_id: str | None = None
    url: str | None = None
    posted_at: datetime | None = None
    author_followers: int | None = None
    author_verified: bool | None = None
    lang: str | None = None
    # Posts by the same author in the same conversation join one open complaint.
    conversation_id: str | None = None
    # The post as the source sent it, kept as evidence.
    raw: dict[str, Any] | None = None
