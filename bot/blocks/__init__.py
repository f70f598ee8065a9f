"""Block Kit as pure functions of state: each builder returns a `Message` (fallback text plus blocks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block

from bot.blocks.text import cut_markup
from bot.i18n import _


@dataclass(frozen=True)
class Message:
    """What Slack needs to show something: `text` is the fallback used by notifications and screen readers."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


# The blocks every message is made of are built as plain dicts, as slack_sdk's models would serialise them (keys in
# the same order): a card is rendered on every click, and building and validating model objects cost more than the
# rest of its rendering. Texts are cut to Slack's limits before they get here (`bot.blocks.text`).
BlockDict = dict[str, Any]


def as_dicts(blocks: Iterable[Block | BlockDict]) -> list[BlockDict]:
    """A message's blocks as Slack takes them, whether built as dicts or as slack_sdk models."""
    return [block if isinstance(block, dict) else block.to_dict() for block in blocks]


def plain_text(text: str, *, emoji: bool = True) -> BlockDict:
    return {"emoji": emoji, "text": text, "type": "plain_text"}


def _mrkdwn(text: str, verbatim: bool | None) -> BlockDict:
    if verbatim is None:
        return {"text": text, "type": "mrkdwn"}
    return {"text": text, "type": "mrkdwn", "verbatim": verbatim}


def context_line(text: str, *, verbatim: bool | None = None) -> BlockDict:
    """One small grey line of Heard's own mrkdwn under a message (who did what, when), within Slack's limit in any
    language."""
    return {"elements": [_mrkdwn(cut_markup(text), verbatim)], "type": "context"}


def markup_section(text: str, *, verbatim: bool | None = None) -> BlockDict:
    """A section of Heard's own mrkdwn (translated words around escaped values), within Slack's 3000 in any
    language."""
    return {"text": _mrkdwn(cut_markup(text), verbatim), "type": "section"}


def customer_words(text: str) -> BlockDict:
    """What a customer wrote, as they wrote it: `plain_text`, so Slack reads no formatting, mention or link in it
    (`*bold*` stays asterisks) and turns no `:shortcode:` into an emoji. `text` comes from `text.at_a_glance` or
    `text.plain_chunks` (bidi controls dropped, within a section's limit)."""
    return {"text": plain_text(text if text.strip() else _("(no text)"), emoji=False), "type": "section"}
