"""Block Kit as pure functions of state: each builder returns a `Message` (fallback text plus blocks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject


@dataclass(frozen=True)
class Message:
    """What Slack needs to show something: `text` is the fallback used by notifications and screen readers."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def context_line(text: str, *, verbatim: bool | None = None) -> ContextBlock:
    """One small grey line of Heard's own mrkdwn under a message (who did what, when)."""
    return ContextBlock(elements=[MarkdownTextObject(text=text, verbatim=verbatim)])
