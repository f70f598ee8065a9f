"""Times and durations the way people read them on a card."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def clock(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """`10:15` today, `Wed 25 Nov 10:15` on any other day (in the team's time zone)."""
    local = moment.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return local.strftime("%a %d %b %H:%M")


def span(delta: timedelta) -> str:
    """`42 min`, `2 h 5 min`, `3 d 4 h`; under a minute is `<1 min`."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "<1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def in_words(delta: timedelta) -> str:
    """A configured delay as a button says it: `3 days`, `1 day`, `4 hours`, `30 minutes`, `8 seconds`."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"
