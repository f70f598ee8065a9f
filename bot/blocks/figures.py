"""Numbers, shares and days as the reader's language writes them, from Babel's locale data for the language being
spoken (`bot.i18n.locale()`): `12,345` / `12 345`, `75%` / `75 %`, `Tuesday 10 Nov` / `ti 10.11.`.

Lists, the digest, the Home tab, the chart and the exports use these; times and durations come from
`bot/blocks/when.py`.
"""

from __future__ import annotations

from datetime import date, time

from babel.dates import format_date, format_interval, format_skeleton
from babel.numbers import format_compact_decimal, format_decimal, format_percent

from bot.i18n import locale

MINUS = "\N{MINUS SIGN}"


def number(value: float) -> str:
    """A count or a figure with the language's grouping: `12,345`, `12 345`, `12.345`."""
    return format_decimal(value, locale=locale())


def compact(value: int) -> str:
    """A large count at a glance: `12.4k`, `12,4 t.`, `1.2m` (followers); small counts in full."""
    return format_compact_decimal(value, fraction_digits=1, locale=locale())


def signed(difference: int) -> str:
    """A change as a count: `+3`, `-12` with a minus sign (U+2212), not a hyphen; zero is `±0`."""
    if difference == 0:
        return "\N{PLUS-MINUS SIGN}0"
    return f"{'+' if difference > 0 else MINUS}{number(abs(difference))}"


def percent(value: float) -> str:
    """A share out of 100 (`75.4`) to the whole per cent: `75%`, `75 %`."""
    return format_percent(value / 100, locale=locale())


def weekday(day: date) -> str:
    """The weekday's name on its own (`Monday`, `maanantai`), as a label or a comparison names it."""
    return format_date(day, "cccc", locale=locale())


def day_words(day: date) -> str:
    """A day with its weekday, without the year: `Tuesday 10 Nov`."""
    return format_skeleton("MMMEEEEd", day, locale=locale())


def short_day(day: date) -> str:
    """A day with its short weekday, without the year: `Tue 10 Nov`."""
    return format_skeleton("MMMEd", day, locale=locale())


def full_day(day: date) -> str:
    """A day with its short weekday and the year: `Tue, 10 Nov 2026`."""
    return format_skeleton("yMMMEd", day, locale=locale())


def day_range(first: date, last: date) -> str:
    """Days from `first` to `last` with the year, each part said once: `16–22 Nov 2026`."""
    return format_interval(first, last, "yMMMd", locale=locale())


def full_day_range(first: date, last: date) -> str:
    """Days from `first` to `last` with their weekdays and the year: `Mon, 16 Nov – Sun, 22 Nov 2026`."""
    return format_interval(first, last, "yMMMEd", locale=locale())


def hour_range(hour: int) -> str:
    """The local hour `hour` (0..23) as a stretch of the clock: `09:00–10:00`, `9.00–10.00`."""
    return format_interval(time(hour), time((hour + 1) % 24), "Hm", locale=locale())
