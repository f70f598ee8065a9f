"""Routing: which channel a new complaint's card goes to (`HEARD_ROUTES`), by priority, category or source.

Rules are read once at start-up, in order; the first that matches wins, else `HEARD_CHANNEL`. Each channel is
paced on its own (delivery keys its pace on the channel) and counts its own storms (bot/services/storms.py). A
complaint keeps the channel it was routed to: a later post that raises its priority does not move its card.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

FIELDS = ("priority", "category", "source")
PRIORITIES = ("high", "normal")
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
EXAMPLE = "priority=high:C0URGENT; category=billing:C0BILLING; source=instagram:C0SOCIAL"


@dataclass(frozen=True)
class Route:
    field: str  # one of FIELDS
    value: str  # lower-cased
    channel: str

    def matches(self, *, priority: str, category: str | None, source: str) -> bool:
        if self.field == "priority":
            return priority == self.value
        if self.field == "category":
            return (category or "").lower() == self.value
        return source.lower() == self.value


def parse_routes(text: str, categories: Sequence[str] = ()) -> tuple[Route, ...]:
    """`field=value:channel` rules separated by `;` (or new lines). Raises ValueError naming the rule to fix."""
    routes: list[Route] = []
    rules = [rule.strip() for rule in re.split(r"[;\n]", text) if rule.strip()]
    for number, rule in enumerate(rules, start=1):
        where = f"rule {number} ({rule!r})"
        condition, colon, channel = rule.rpartition(":")
        field, equals, value = condition.partition("=")
        field, value, channel = field.strip().lower(), value.strip().lower(), channel.strip()
        if not colon or not equals or not value:
            raise ValueError(f"{where} is not field=value:channel, e.g. {EXAMPLE}")
        if field not in FIELDS:
            raise ValueError(f"{where} routes by {field!r}; route by {', '.join(FIELDS)}")
        if field == "priority" and value not in PRIORITIES:
            raise ValueError(f"{where}: the priorities are {', '.join(PRIORITIES)}")
        known = [category.lower() for category in categories]
        if field == "category" and categories and value not in known:
            raise ValueError(f"{where}: {value!r} is not a category; the categories are {', '.join(known)}")
        if not CHANNEL_ID.fullmatch(channel):
            raise ValueError(f"{where}: {channel!r} is not a channel id; use the id (e.g. C0123456789), not its name")
        routes.append(Route(field, value, channel))
    return tuple(routes)


def channel_for(
    routes: Sequence[Route], default: str, *, priority: str | None, category: str | None, source: str
) -> str:
    """The channel of the first rule that matches, else `default` (HEARD_CHANNEL)."""
    for route in routes:
        if route.matches(priority=priority or "normal", category=category, source=source):
            return route.channel
    return default
