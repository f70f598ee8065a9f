"""Checking that Heard's words come from the catalogs: render inside `with speaking(PSEUDO):` (every catalogued
message is shown as ⟦message⟧) and ask `escaped_strings` for what a person would read that came from neither a
catalog nor the data the test put in.

    with speaking(PSEUDO):
        message = render_card(view, now, tz)
    assert escaped_strings(message, data=[complaint.text, "maria_l", "Maria López"]) == []

How a string is judged: the catalog messages are found innermost first (a message's values may hold other
messages); each must be one of the extracted messages with its placeholders filled in, and what filled them is
judged like the rest. What is left may hold no word except the words of `data` (and, where a text was cut, the
start of one), mentions, links' addresses, emoji
shortcodes, inline code (`/complaints 42` is typed in English), numbers, and the date, time and unit words of
Babel's locale data (they are the locale's, not ours).

`block_kit_limits` lists every text longer than Slack allows for its field (button 75, option 75, header 150,
modal title 24…), for renders in long languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from babel import Locale

from bot.blocks.text import utf16_length
from bot.i18n import locale

_SPAN = re.compile(r"⟦([^⟦⟧]*)⟧")
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]|%%")
_MENTION = re.compile(r"<[@#!][^<>]*>")
_LINK = re.compile(r"<(?:https?://|mailto:)[^|<>]*\|([^<>]*)>|<(?:https?://|mailto:)[^|<>]*>")
_EMOJI = re.compile(r":[a-z0-9_+\-']+:")
_CODE = re.compile(r"```.*?```|`[^`]*`", re.S)
_WORD = re.compile(r"[^\W\d_]{2,}")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")


@cache
def _templates() -> tuple[re.Pattern[str], ...]:
    """Every extracted message (singular and plural forms) as a pattern its rendered text fully matches."""
    from bot.i18n.extract import extract_catalog

    patterns = []
    for message in extract_catalog():
        if not message.id:
            continue
        forms = message.id if isinstance(message.id, tuple) else (message.id,)
        for form in forms:
            patterns.append(re.compile(_as_pattern(form), re.S))
            if "%" in form:  # a message shown without values keeps its `%%` and placeholders as written
                patterns.append(re.compile(re.escape(form), re.S))
    return tuple(patterns)


def _as_pattern(message: str) -> str:
    message = message.replace("*", "")  # emphasis is no word (a notification text may drop it)
    pieces, at = [], 0
    for found in _PLACEHOLDER.finditer(message):
        pieces.append(re.escape(message[at : found.start()]))
        pieces.append("%" if found.group(0) == "%%" else "(.*?)")
        at = found.end()
    pieces.append(re.escape(message[at:]))
    return "".join(pieces)


def _values(content: str) -> list[str] | None:
    """What filled the placeholders of the catalog message `content` is (None: it is no catalog message). Of the
    messages it could be, the one that explains most of it with its own words (`%(who)s %(what)s` matches any two
    words, `claimed it` matches them better)."""
    best: list[str] | None = None
    for pattern in _templates():
        matched = pattern.fullmatch(content)
        if matched and (best is None or sum(map(len, matched.groups())) < sum(map(len, best))):
            best = list(matched.groups())
            if not best:
                break
    return best


@cache
def _locale_words(name: str) -> frozenset[str]:
    """Words Babel's locale data puts in dates, times and durations (weekdays, months, units, am/pm)."""
    where = Locale.parse(name)
    words: set[str] = set()
    for context in ("format", "stand-alone"):
        for width in ("abbreviated", "wide", "short", "narrow"):
            words.update(where.days.get(context, {}).get(width, {}).values())
            words.update(where.months.get(context, {}).get(width, {}).values())
    for periods in where.day_periods.values():
        for width in periods.values():
            words.update(width.values())
    from babel.units import format_unit

    for unit in ("day", "hour", "minute", "second"):
        for length in ("long", "short", "narrow"):
            for count in (0, 1, 2, 5):
                words.update(format_unit(count, f"duration-{unit}", length=length, locale=where).split())
    return frozenset(word.strip(".").casefold() for text in words for word in _WORD.findall(text))


def visible_texts(rendered: Any) -> Iterator[str]:
    """Every text a person reads in `rendered`: a `Message` (its notification text and blocks), a list of blocks,
    a modal view or Home tab, or a block; text objects of every kind, and images' alt text."""
    text = getattr(rendered, "text", None)
    blocks = getattr(rendered, "blocks", None)
    if isinstance(text, str) and blocks is not None:
        yield text
        yield from visible_texts(blocks)
        return
    if isinstance(rendered, Mapping):
        if rendered.get("type") in ("plain_text", "mrkdwn") and isinstance(rendered.get("text"), str):
            yield rendered["text"]
            return
        for key, value in rendered.items():
            if key == "alt_text" and isinstance(value, str):
                yield value
            elif isinstance(value, (Mapping, list, tuple)):
                yield from visible_texts(value)
    elif isinstance(rendered, (list, tuple)):
        for item in rendered:
            yield from visible_texts(item.to_dict() if hasattr(item, "to_dict") else item)
    elif hasattr(rendered, "to_dict"):
        yield from visible_texts(rendered.to_dict())


def leftover_words(text: str, data: Iterable[str] = ()) -> list[str]:
    """The words of `text` that came neither from a catalog message nor from `data` (see the module docstring);
    a catalog-looking ⟦…⟧ that is no extracted message counts as escaped too."""
    escaped: list[str] = []
    while True:
        found = _SPAN.search(text)
        if found is None:
            break
        values = _values(found.group(1).replace("*", ""))
        if values is None:
            escaped.append(f"⟦{found.group(1)}⟧ (not an extracted message)")
            values = []
        text = f"{text[: found.start()]} {' '.join(values)} {text[found.end() :]}"
    text = _CODE.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _LINK.sub(lambda link: f" {link.group(1) or ''} ", text)
    text = _EMOJI.sub(" ", text)
    text = _ENTITY.sub(" ", text)
    known = _locale_words(str(locale())) | _data_words(tuple(data))
    for found in _WORD.finditer(text):
        word = found.group(0).casefold()
        if word in known:
            continue
        cut = text.startswith("…", found.end())  # a data word cut short where the text was shortened
        if cut and any(other.startswith(word) for other in known):
            continue
        escaped.append(found.group(0))
    return escaped


@cache
def _data_words(data: tuple[str, ...]) -> frozenset[str]:
    return frozenset(word.casefold() for value in data for word in _WORD.findall(value))


def escaped_strings(rendered: Any, data: Iterable[str] = ()) -> list[tuple[str, list[str]]]:
    """Each visible text of `rendered` that has words from outside the catalogs and `data`, with those words.
    Render inside `with speaking(PSEUDO):`, and call this inside it too (dates and units are the locale's)."""
    data = list(data)
    found = []
    for text in visible_texts(rendered):
        words = leftover_words(text, data)
        if words:
            found.append((text, words))
    return found


# -- Block Kit limits ------------------------------------------------------------------------------------------------

# Where a text object sits -> the most characters Slack takes there.
_LIMITS = {
    "button": 75,
    "option": 75,
    "placeholder": 150,
    "header": 150,
    "label": 2000,
    "hint": 2000,
    "title": 24,
    "submit": 24,
    "close": 24,
    "confirm_title": 100,
    "confirm_button": 30,
    "section": 3000,
    "context": 3000,
}


def block_kit_limits(rendered: Any) -> list[str]:
    """Texts longer than Slack allows where they are (an empty list when everything fits)."""
    found: list[str] = []

    def check(text: Any, where: str) -> None:
        if isinstance(text, Mapping):
            text = text.get("text")
        if isinstance(text, str) and utf16_length(text) > _LIMITS[where]:
            found.append(f"{where} ({utf16_length(text)} > {_LIMITS[where]}): {text[:80]}…")

    def walk(node: Any, parent: str | None = None) -> None:
        if isinstance(node, (list, tuple)):
            for item in node:
                walk(item.to_dict() if hasattr(item, "to_dict") else item, parent)
            return
        if not isinstance(node, Mapping):
            return
        kind = node.get("type")
        if kind == "button":
            check(node.get("text"), "button")
        if kind == "header":
            check(node.get("text"), "header")
        if kind in ("section", "context") and node.get("text") is not None:
            check(node.get("text"), kind)
        if parent == "context" and kind in ("mrkdwn", "plain_text"):
            check(node, "context")
        if "placeholder" in node:
            check(node["placeholder"], "placeholder")
        if "options" in node and isinstance(node["options"], Sequence):
            for option in node["options"]:
                check(option.get("text"), "option")
        if kind == "input":
            check(node.get("label"), "label")
            check(node.get("hint"), "hint")
        if kind in ("modal", "home"):
            for key in ("title", "submit", "close"):
                if key in node:
                    check(node[key], key)
        if "confirm" in node and isinstance(node["confirm"], Mapping):
            confirm = node["confirm"]
            check(confirm.get("title"), "confirm_title")
            check(confirm.get("confirm"), "confirm_button")
            check(confirm.get("deny"), "confirm_button")
        for key, value in node.items():
            if key in ("elements", "blocks", "accessory", "fields", "element"):
                walk(value, kind)

    if hasattr(rendered, "blocks") and hasattr(rendered, "text"):
        walk(rendered.blocks)
    else:
        walk(rendered.to_dict() if hasattr(rendered, "to_dict") else rendered)
    return found
