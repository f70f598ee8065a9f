"""Short private answers to one person (a refusal, an explanation)."""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.blocks import Message


def render_notice(text: str) -> Message:
    """`text` is Heard's own sentence (it may carry mentions Heard made); it is not escaped."""
    return Message(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text)).to_dict()])
