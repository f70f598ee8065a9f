"""The card's "More…" menu: the actions that are not among the card's primary buttons, in one select.

Why a `static_select` and not an overflow menu: an overflow takes 2 to 5 options and shows only "⋯", while the card
has up to eight secondary actions today (Reassign, Take it private and six moderation actions), more as platforms
declare their own. A static_select takes up to 100 options and shows its placeholder, "More…", so a person sees at
a glance that there is more, and one menu holds everything. The price: Slack's client keeps showing the chosen
option (instead of "More…") until the card is next rendered, which every change to the complaint does; only a form
opened from the menu and then cancelled leaves it showing.

Neither element can ask to confirm one option and not another: a select's `confirm` is one dialog for every choice,
with one text. Asking "Are you sure?" before Reassign or Write up would teach people to click through it, and a
dialog that cannot name the chosen action does not catch the slip a menu invites (the option next to the one
meant). So no option carries a confirm; the choices that used to ask (Flag threat, Block) open their own small
modal with the same words, and act only when it is submitted (`bot/blocks/moderation.py`, `handlers/card_menu.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.blocks import BlockDict, ids, plain_text
from bot.blocks.text import OPTION_TEXT_LIMIT, PLACEHOLDER_LIMIT, safe_plain
from bot.i18n import N_, _

# Translators: the placeholder of the card's menu of further actions (Reassign, Hide, Warn…).
PLACEHOLDER = N_("More…")
# Slack's limits: 100 options in a static_select, 75 characters in an option's text.
OPTIONS_LIMIT = 100


@dataclass(frozen=True)
class MenuItem:
    """One choice in the menu: its visible text (translated) and the action it stands for (an action_id from `ids`,
    the one the button had before the menu, so a choice reaches the same use case)."""

    text: str
    action_id: str


def more_menu(items: Sequence[MenuItem], ref: ids.ComplaintRef) -> BlockDict | None:
    """The "More…" select for `items` on the complaint `ref`; None when there is nothing to put in it."""
    if not items:
        return None
    if len(items) > OPTIONS_LIMIT:
        raise ValueError(f"{len(items)} menu choices do not fit in one select ({OPTIONS_LIMIT} at most)")
    return {
        "action_id": ids.CARD_MORE,
        "options": [
            {
                "text": plain_text(safe_plain(item.text, OPTION_TEXT_LIMIT)),
                "value": ids.MenuChoice(item.action_id, ref).encode(),
            }
            for item in items
        ],
        "placeholder": plain_text(safe_plain(_(PLACEHOLDER), PLACEHOLDER_LIMIT)),
        "type": "static_select",
    }
