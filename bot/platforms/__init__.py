"""Platforms: one adapter per social network, each in its own folder (`x/`, `meta/`, `webhook/`), all on the contract
in `base.py`; `registry.py` finds the adapter of a complaint. Nothing outside an adapter names a network."""

from __future__ import annotations


def source_label(platform: str | None, source: str) -> str:
    """How a card or a lookup names where a post was made: the network's name, or the generic webhook's source as
    its sender called it."""
    # Imported here: the adapters import the projections, which render cards that call this.
    from bot.platforms.registry import LABELS

    return LABELS.get(platform or "") or source


def private_reply_name(platform: str | None) -> str:
    """What the network calls a private reply ("DM" on X, "private reply" on Facebook and Instagram), in the language
    being spoken."""
    from bot.i18n import _
    from bot.platforms.registry import PRIVATE_REPLY_NAMES

    return _(PRIVATE_REPLY_NAMES.get(platform or "") or "private reply")
