"""Block Kit as pure functions of state: each builder returns a `Message` (fallback text plus blocks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    """What Slack needs to show something: `text` is the fallback used by notifications and screen readers."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
