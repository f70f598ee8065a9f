"""Block Kit as pure functions of state: each builder returns a `Message` (fallback text plus blocks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bot.blocks.text import cut_markup
from bot.i18n import _


@dataclass(frozen=True)
class Message:
    """What Slack needs to show something: `text` is the fallback used by notifications and screen readers."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def context_line(text: str, *, verbatim: bool | None = None) -> ContextBlock:
    """One small grey line of Heard's own mrkdwn under a message (who did what, when), within Slack's limit in any
    language."""
    return ContextBlock(elements=[MarkdownTextObject(text=cut_markup(text), verbatim=verbatim)])


def markup_section(text: str, *, verbatim: bool | None = None) -> SectionBlock:
    """A section of Heard's own mrkdwn (translated words around escaped values), within Slack's 3000 in any
    language."""
    return SectionBlock(text=MarkdownTextObject(text=cut_markup(text), verbatim=verbatim))


def customer_words(text: str) -> SectionBlock:
    """What a customer wrote, as they wrote it: `plain_text`, so Slack reads no formatting, mention or link in it
    (`*bold*` stays asterisks) and turns no `:shortcode:` into an emoji. `text` comes from `text.at_a_glance` or
    `text.plain_chunks` (bidi controls dropped, within a section's limit)."""
    return SectionBlock(text=PlainTextObject(text=text if text.strip() else _("(no text)"), emoji=False))
