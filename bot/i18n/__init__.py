"""Heard's own words, in the team's language or in the language of the person reading them.

Every user-visible string in code is written in English inside `_()` (or `n_()` for counts), with named
`%(placeholder)s` values, so Babel can extract it and check each translation's placeholders:

    _("Claimed by %(who)s", who=mention(user))
    n_("%(count)s complaint", "%(count)s complaints", total)     # `count` is filled in

A string defined before any language is known (a module constant) is marked with `N_()` and translated where it is
shown: `_(LABEL)`. A literal `%` in a message with values is written `%%`.

Which language: shared messages (cards, channel notices, thread lines, the storm card) speak the team's language
(`HEARD_LANGUAGE`, set once at start-up with `set_team_language`); a person's own views are rendered inside
`with speaking(language):`. The choice lives in a context variable, so each request and each worker thread starts
in the team's language and nothing leaks from one to the next.

Catalogs are `bot/i18n/locales/<language>.po`, read with Babel at first use (no compiled files in the repository);
`python -m bot.i18n.update` extracts the messages from the code and merges them into every catalog.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from babel import Locale

from bot.i18n.catalogs import LANGUAGES, PSEUDO, babel_locale_name, translations

__all__ = [
    "LANGUAGES",
    "N_",
    "PSEUDO",
    "_",
    "_c",
    "current_language",
    "locale",
    "n_",
    "set_team_language",
    "speak",
    "speaking",
    "team_language",
]

_team_language = "en"
_speaking: ContextVar[str | None] = ContextVar("heard_speaking", default=None)


def set_team_language(language: str) -> None:
    """The language of shared messages (HEARD_LANGUAGE), set at start-up."""
    global _team_language
    _team_language = language


def team_language() -> str:
    return _team_language


def current_language() -> str:
    return _speaking.get() or _team_language


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Render what is built inside in `language` (None: the team's language)."""
    token = _speaking.set(language)
    try:
        yield
    finally:
        _speaking.reset(token)


def speak(language: str | None) -> None:
    """From here to the end of the enclosing `speaking()` block, speak `language`: for a step that learns whose
    request it is after the block began (Bolt's middleware runs before, not around, the listener)."""
    _speaking.set(language)


def locale() -> Locale:
    """Babel's locale data (dates, numbers, weekday names, lists) for the current language."""
    return _babel_locale(current_language())


@cache
def _babel_locale(language: str) -> Locale:
    # Parsed once per language: a card asks for it a dozen times, and parsing shows in a click's profile.
    return Locale.parse(babel_locale_name(language))


def _(message: str, /, **values: object) -> str:
    text = translations(current_language()).gettext(message)
    return text % values if values else text


def _c(context: str, message: str, /, **values: object) -> str:
    """`message` where the same English word means two things ("Resolved": a complaint's state, or a figure in the
    digest): the context tells the translators which."""
    text = translations(current_language()).pgettext(context, message)
    return text % values if values else text


def n_(singular: str, plural: str, count: int, /, **values: object) -> str:
    text = translations(current_language()).ngettext(singular, plural, count)
    return text % {"count": count, **values}


def N_(message: str, /) -> str:
    """Marks `message` for the catalogs where it is defined; it is translated where it is shown, with `_()`."""
    return message
