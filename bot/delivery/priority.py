"""Which due messages spend Slack's budget first. Lower goes sooner.

Slack allows about one chat.postMessage per second per channel; in a storm that budget is the scarce thing, so a
new complaint's card goes before clock messages (nags, breach alerts), which go before everything else, and lines
in a card's thread go last. A storm's lines (how complaints filed into a storm become visible) rank after clock
messages: their target is a minute where a nag's is seconds, and they are listed several to a message, so waiting
for a clock message costs them one slot, where a nag behind a storm's lines would miss its deadline. Card updates
(chat.update) and private answers have limits of their own and are never held by the postMessage pace; a card row
that is already posted becomes an update (`UPDATE`).
"""

from __future__ import annotations

# Heard telling the channel that Slack is behind: it is about the backlog it would otherwise wait behind.
ALERT = -1
NEW_CARD = 0
CLOCK = 1
UPDATE = 2
OTHER = 2
# A complaint's line in a storm card's thread: after clock messages, with other messages (by age), before thread logs.
STORM_LINE = 2
THREAD = 3

# By outbox kind (the names `bot/projections.py` gives them); kinds not named here are OTHER.
BY_KIND: dict[str, int] = {
    "card": NEW_CARD,
    "ephemeral": NEW_CARD,  # a private answer to a click: someone is waiting, and it costs no postMessage
    "nag": CLOCK,
    "breach": CLOCK,
    "thread_log": THREAD,
    "joined_post": THREAD,
}


def of(kind: str) -> int:
    return BY_KIND.get(kind, OTHER)


def register(kind: str, priority: int) -> None:
    """A projection kind defined elsewhere (a storm card, ...) says where it stands."""
    BY_KIND[kind] = priority
