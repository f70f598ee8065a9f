"""Where complaints come from; each source turns its input into a normalised `NewComplaint`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
