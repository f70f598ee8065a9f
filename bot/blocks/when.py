"""Times, durations and numbers the way people read them on a card, from Babel's locale data for the language being
spoken (`bot.i18n.locale()`): `10:15` today and `Wed 25 Nov, 10:15` on another day in English, `10.15` and
`ke 25.11. 10.15` in Finnish; `2 hrs 5 mins`, `2 t 5 min`."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton
from babel.lists import format_list
from babel.numbers import format_compact_decimal, format_decimal
from babel.units import format_unit

from bot.i18n import locale


def clock(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """The time alone today (`10:15`), with the weekday and date on any other day (`Wed 25 Nov, 10:15`), in the
    team's time zone."""
    where = locale()
    local = moment.astimezone(tz)
    time = _time(local, where)
    if local.date() == now.astimezone(tz).date():
        return time
    return _date_and_time(format_skeleton("MMMEd", local, locale=where), time, where)


def long_time(moment: datetime, tz: ZoneInfo) -> str:
    """A moment for the record (evidence for Legal): `Wed, 25 Nov 2026, 10:15 EET`, whatever the day."""
    where = locale()
    local = moment.astimezone(tz)
    when = _date_and_time(format_skeleton("yMMMEd", local, locale=where), _time(local, where), where)
    return f"{when} {local.strftime('%Z')}".rstrip()


def _time(local: datetime, where: Locale) -> str:
    """The 24-hour clock in every language (`10:15`, Finnish `10.15`): CLDR's short time is 12-hour in Greek, and
    a care team in Athens reads deadlines on the 24-hour clock like everyone else on the card."""
    return format_skeleton("Hm", local, locale=where)


def _date_and_time(date: str, time: str, where: Locale) -> str:
    pattern = where.datetime_formats.get("short") or "{1} {0}"
    return str(pattern).replace("{1}", date).replace("{0}", time)


_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def span(delta: timedelta) -> str:
    """`42 mins`, `2 hrs 5 mins`, `3 days 4 hrs` (short unit names, to the minute); under a minute is `<1 min`."""
    where = locale()
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "<" + format_unit(1, "duration-minute", length="short", locale=where)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        parts = [(days, "day"), (hours, "hour")]
    elif hours:
        parts = [(hours, "hour"), (minutes, "minute")]
    else:
        parts = [(minutes, "minute")]
    shown = [format_unit(count, f"duration-{unit}", length="short", locale=where) for count, unit in parts if count]
    return _join_units(shown, where)


def in_words(delta: timedelta) -> str:
    """A configured delay as a button says it, with the unit's whole name: `3 days`, `1 day`, `4 hours`,
    `30 minutes`, `8 seconds`."""
    where = locale()
    seconds = int(delta.total_seconds())
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return format_unit(seconds // size, f"duration-{unit}", length="long", locale=where)
    return format_unit(seconds, "duration-second", length="long", locale=where)


def _join_units(parts: list[str], where: Locale) -> str:
    """`2 hrs 5 mins` as the language lists measurements; a plain space where Babel's data has no such list."""
    if len(parts) == 1:
        return parts[0]
    for style in ("unit-narrow", "unit-short", "unit"):
        try:
            return format_list(parts, style=style, locale=where)
        except (KeyError, ValueError):
            continue
    return " ".join(parts)


def number(value: int | float) -> str:
    """A count with the language's grouping: `12,345` in English, `12 345` in Finnish."""
    return format_decimal(value, locale=locale())


def compact(value: int) -> str:
    """A large count at a glance: `12.4k` in English, `12,4 t.` in Finnish (the exact figure is elsewhere)."""
    return format_compact_decimal(value, format_type="short", fraction_digits=1, locale=locale())
