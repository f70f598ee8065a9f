"""Triage of a complaint's text: does a human need to look now, and why.

Pure (the stdlib and libphonenumber) so it can run inline on every ingested post (bursts of ~10,000) and be tested
without Slack or a database. Keyword matching is on case-folded, accent-free text and on whole words, so a word typed
into a settings box behaves the way a support lead expects ("kill" is not found in "skill"), and a stem reaches the
inflected forms of Finnish, Portuguese, Bulgarian and Greek ("hyvity*": hyvitystä, hyvityksen). Each language's
words are a data file in bot/triage_words/ (its README has the rules). Personal data (e-mail addresses, phone
numbers, card numbers) is found by bot/personal_data.py, with the identifier words and phone regions of these files.

Text comes from strangers, so every regex here is linear (no nested ambiguous quantifiers, nothing rescanned from
every position) and the scanned length is capped. A tweet-sized text takes about 20 microseconds.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from bot.folding import fold_text as _fold_text
from bot.personal_data import PersonalRules, personal_data_kinds

__all__ = [
    "BASE_LANGUAGE",
    "DEFAULT_CATEGORIES",
    "DEFAULT_THREAT_WORDS",
    "DEFAULT_URGENT_WORDS",
    "MAX_SCAN_CHARS",
    "LanguageWords",
    "Triage",
    "TriageRules",
    "TriageWordsError",
    "language_words",
    "languages_with_words",
    "parse_categories",
    "parse_word_list",
    "personal_rules",
    "personal_rules_of_every_language",
    "triage",
]

# A tweet is 280 characters and a long post a few thousand; past this it is abuse, and the card cuts it anyway.
MAX_SCAN_CHARS = 20_000

# Each language's words live in a data file beside this module (bot/triage_words/<code>.toml; its header documents
# the format and the matching rules). English is the base: its lists are the defaults of TRIAGE_URGENT_WORDS,
# TRIAGE_THREAT_WORDS and TRIAGE_CATEGORIES, which replace them; the other languages' files are added on top.
WORDS_DIR = Path(__file__).resolve().parent / "triage_words"
BASE_LANGUAGE = "en"


# --- folding and entries (used by the loader above at import, so defined before the rules) ------------------------

_WORD_RUN = re.compile(r"\w+")
_SHOWN = re.compile(r"^(.*\S)\s+\(([^()]+)\)$")


def _pattern(word: str) -> str:
    """The entry without what it shows: "hyvity* (hyvitys)" -> "hyvity*"."""
    match = _SHOWN.match(word.strip())
    return match.group(1) if match else word


def _fold(word: str) -> str:
    return " ".join(_fold_text(_pattern(word)).split())


def _parse_entry(word: str) -> tuple[bool, list[tuple[str, bool]]]:
    """(inside a compound, [(folded word, any ending), ...]); refuses entries that could never match as written."""
    folded = _fold(word)
    compound = folded.startswith("*")
    parts = folded[1:].split() if compound else folded.split()
    if not parts:
        raise ValueError(f"{word!r} is not a usable word: it needs at least one letter or digit")
    if compound and len(parts) > 1:
        raise ValueError(f"{word!r}: a leading '*' (inside a compound) is for single words, not phrases")
    parsed: list[tuple[str, bool]] = []
    for part in parts:
        wildcard = part.endswith("*")
        stem = part[:-1] if wildcard else part
        if "*" in stem:
            raise ValueError(f"{word!r}: '*' goes at the end of a word (or at the start of a single word)")
        if not _WORD_RUN.search(stem):
            raise ValueError(f"{word!r} is not a usable word: it needs at least one letter or digit")
        parsed.append((stem, wildcard))
    return compound, parsed


def _stem(word: str) -> tuple[str, bool]:
    """The folded word without its wildcard, and whether it had one; refuses words that could never match."""
    _compound, parts = _parse_entry(word)
    return " ".join(stem for stem, _ in parts), parts[-1][1]


class TriageWordsError(ValueError):
    """A language's triage file cannot be used; `str()` names the file and the problem."""


@dataclass(frozen=True)
class LanguageWords:
    """One language's data file (bot/triage_words/<code>.toml), read and checked."""

    code: str
    urgent: tuple[str, ...] = ()
    threats: tuple[str, ...] = ()
    categories: tuple[tuple[str, tuple[str, ...]], ...] = ()
    id_words: tuple[str, ...] = ()
    filler_words: tuple[str, ...] = ()
    phone_regions: tuple[str, ...] = ()
    phone_regions_possible: tuple[str, ...] = ()


def languages_with_words() -> tuple[str, ...]:
    """The languages that have a triage file."""
    return tuple(sorted(path.stem for path in WORDS_DIR.glob("*.toml")))


@functools.cache
def language_words(code: str) -> LanguageWords:
    """Read and check `<code>.toml` once per process; raises TriageWordsError naming the file and the entry."""
    path = WORDS_DIR / f"{code}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TriageWordsError(f"{path}: there is no triage file for {code!r}") from None
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TriageWordsError(f"{path}: {error}") from error

    def words(value: object, what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise TriageWordsError(f"{path}: {what} must be a list of words in quotes")
        for item in value:
            try:
                _parse_entry(item)
            except ValueError as error:
                raise TriageWordsError(f"{path}: in {what}: {error}") from None
        return tuple(dict.fromkeys(" ".join(item.split()) for item in value))

    def regions(value: object, what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise TriageWordsError(f'{path}: {what} must be a list of region codes such as "FI"')
        unknown = [item for item in value if item.upper() not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise TriageWordsError(f"{path}: {what} has {', '.join(unknown)}: not a region libphonenumber knows")
        return tuple(item.upper() for item in value)

    known = {"urgent", "threats", "categories", "personal_data"}
    if unexpected := sorted(set(data) - known):
        raise TriageWordsError(f"{path}: unknown keys {', '.join(unexpected)}; expected {', '.join(sorted(known))}")
    categories = data.get("categories", {})
    personal = data.get("personal_data", {})
    if not isinstance(categories, dict) or not isinstance(personal, dict):
        raise TriageWordsError(f"{path}: [categories] and [personal_data] must be tables")
    return LanguageWords(
        code=code,
        urgent=words(data.get("urgent", []), "urgent"),
        threats=words(data.get("threats", []), "threats"),
        categories=tuple((label, words(items, f"categories.{label}")) for label, items in categories.items()),
        id_words=words(personal.get("id_words", []), "personal_data.id_words"),
        filler_words=words(personal.get("filler_words", []), "personal_data.filler_words"),
        phone_regions=regions(personal.get("phone_regions", []), "personal_data.phone_regions"),
        phone_regions_possible=regions(
            personal.get("phone_regions_possible", []), "personal_data.phone_regions_possible"
        ),
    )


_BASE = language_words(BASE_LANGUAGE)
# English, the base (bot/triage_words/en.toml): the defaults of TRIAGE_URGENT_WORDS, TRIAGE_THREAT_WORDS and
# TRIAGE_CATEGORIES.
DEFAULT_URGENT_WORDS: tuple[str, ...] = _BASE.urgent
DEFAULT_THREAT_WORDS: tuple[str, ...] = _BASE.threats
DEFAULT_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = _BASE.categories


@dataclass(frozen=True)
class TriageRules:
    vip_followers: int = 10_000
    urgent_words: tuple[str, ...] = DEFAULT_URGENT_WORDS
    threat_words: tuple[str, ...] = DEFAULT_THREAT_WORDS
    categories: tuple[tuple[str, tuple[str, ...]], ...] = DEFAULT_CATEGORIES
    # Languages whose files (bot/triage_words/<code>.toml) add their words to the lists above; English is always in
    # force through the lists themselves. From CUSTOMER_LANGUAGES (bot/config.py).
    languages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Lists would make the rules unhashable (and uncacheable); a bare string would silently become one "word"
        # per character, so refuse it and point at the parser.
        for name in ("urgent_words", "threat_words"):
            object.__setattr__(self, name, _as_word_tuple(getattr(self, name), name))
        object.__setattr__(
            self,
            "categories",
            tuple((str(label), _as_word_tuple(words, f"category {label!r}")) for label, words in self.categories),
        )
        if isinstance(self.languages, str):
            raise TypeError("languages must be a tuple of language codes, not a string")
        object.__setattr__(self, "languages", tuple(code for code in self.languages if code != BASE_LANGUAGE))
        # Compile now so a bad configured word (or a missing language file) fails at startup, not on the first post
        # of a burst.
        _compiled(self.urgent_words, self.threat_words, self.categories, self.languages)


@dataclass(frozen=True)
class Triage:
    priority: str  # "high" or "normal"
    reasons: tuple[str, ...]  # short phrases for the Slack card, e.g. "12,400 followers", "urgent: refund"
    personal_data: tuple[str, ...]  # from "e-mail address", "phone number", "card number", in that order
    threats: tuple[str, ...]  # threat words/phrases matched, as configured
    category: str | None  # first configured category with a match

    @property
    def legal(self) -> bool:
        return bool(self.threats)


def triage(text: str, followers: int | None, rules: TriageRules) -> Triage:
    """Decide how loudly a complaint should be announced; never raises on odd text."""
    compiled = _compiled(rules.urgent_words, rules.threat_words, rules.categories, rules.languages)
    text = text[:MAX_SCAN_CHARS]
    # Casefold (not lower) so "STRASSE"/"straße" and friends compare equal, accents dropped so "hyvitystä" meets
    # "hyvity*" and "επιστροφη" meets "επιστροφή"; curly apostrophes are what phones type, and configured words are
    # written with straight ones.
    found = compiled.vocabulary.matches(_fold_text(text))

    reasons: list[str] = []
    if followers is not None and followers >= rules.vip_followers:
        reasons.append(f"{followers:,} follower" + ("" if followers == 1 else "s"))

    urgent = compiled.urgent.pick(found)
    if urgent:
        reasons.append("urgent: " + ", ".join(_display(word) for word in urgent[:3]))

    personal_data = personal_data_kinds(text, compiled.personal)
    if personal_data:
        reasons.append("personal data: " + ", ".join(personal_data))

    threats = compiled.threats.pick(found)
    if threats:
        reasons.append("threat: " + ", ".join(_display(word) for word in threats[:3]))

    category = next((label for label, words in compiled.categories if words.any_in(found)), None)
    return Triage(
        priority="high" if reasons else "normal",
        reasons=tuple(reasons),
        personal_data=personal_data,
        threats=threats,
        category=category,
    )


def parse_word_list(raw: str) -> tuple[str, ...]:
    """Read a comma-separated setting such as "refund, cancel my order, charge*"."""
    words: dict[str, str] = {}
    for item in raw.split(","):
        word = " ".join(item.split())
        if not word:
            continue
        _parse_entry(word)  # raises with the offending word named
        words.setdefault(_fold(word), word)
    if not words:
        raise ValueError(f"no words in {raw!r}: expected comma-separated words, e.g. 'refund, cancel my order'")
    return tuple(words.values())


def parse_categories(raw: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Read a setting such as "billing: refund, invoice*; delivery: parcel, shipping" (order is priority)."""
    categories: dict[str, tuple[str, tuple[str, ...]]] = {}
    for part in raw.split(";"):
        part = part.strip()
        if not part:
            continue
        label, colon, words = part.partition(":")
        label = " ".join(label.split())
        if not colon:
            raise ValueError(f"missing ':' in {part!r}: expected 'category: word, word'")
        if not label:
            raise ValueError(f"missing category name before ':' in {part!r}")
        if _fold(label) in categories:
            raise ValueError(f"category {label!r} is given twice")
        if not words.strip(" ,\t\r\n"):
            raise ValueError(f"{label!r} has no words")
        try:
            categories[_fold(label)] = (label, parse_word_list(words))
        except ValueError as error:
            raise ValueError(f"in {label!r}: {error}") from None
    if not categories:
        raise ValueError(f"no categories in {raw!r}: expected e.g. 'billing: refund, invoice*; delivery: parcel'")
    return tuple(categories.values())


# --- keyword matching -------------------------------------------------------------------------------------------
#
# Every configured word, across all lists and languages, is matched in one pass per post: the folded text is split
# into word runs once, plain words are a set intersection, "word*" a dictionary lookup of each word's beginnings,
# "*word" a substring test over the
# post's distinct words, and only phrases (or words with punctuation, such as "i'll kill") need their regex, which
# runs only when all of their whole words occur somewhere in the text. A single big alternation regex was measured
# at several times the cost for a tweet-sized text.


def _phrase_regex(parts: list[tuple[str, bool]]) -> re.Pattern[str]:
    (first, first_wild), *rest = parts
    # The word boundary is checked by a lookbehind placed after the first literal part rather than before it: a
    # pattern that starts with a literal lets the engine jump between candidate positions instead of trying each.
    boundary = rf"(?<!\w[\s\S]{{{len(first)}}})"
    words = [re.escape(first) + boundary + (r"\w*" if first_wild else "")]
    words.extend(re.escape(stem) + (r"\w*" if wildcard else "") for stem, wildcard in rest)
    return re.compile(r"\s+".join(words) + r"(?!\w)")


class _Vocabulary:
    """All configured words of one rules object; `matches` says which of them (by folded key) occur in a text."""

    __slots__ = ("_anywhere", "_compounds", "_exact", "_phrases", "_prefix_heads", "_prefix_keys", "_prefix_lengths")

    def __init__(self, words: Iterable[str]) -> None:
        exact: set[str] = set()
        prefix_keys: dict[str, list[str]] = {}
        compounds: list[tuple[str, bool, str]] = []
        phrases: dict[str, list[tuple[str, frozenset[str], re.Pattern[str]]]] = {}
        anywhere: list[tuple[str, frozenset[str], re.Pattern[str]]] = []
        for word in words:
            key = _fold(word)
            compound, parts = _parse_entry(word)
            if len(parts) == 1 and _WORD_RUN.findall(parts[0][0]) == [parts[0][0]]:
                stem, wildcard = parts[0]
                if compound:
                    compounds.append((stem, wildcard, key))
                elif wildcard:
                    prefix_keys.setdefault(stem, []).append(key)
                else:
                    exact.add(key)
                continue
            # Every whole word of a phrase appears as a whole word in any text it matches; a wildcard word's last run
            # may only be a prefix. That makes a cheap, exact-enough pre-filter before the regex.
            required: list[str] = []
            for stem, wildcard in parts:
                runs = _WORD_RUN.findall(stem)
                required.extend(runs[:-1] if wildcard and _WORD_RUN.match(stem[-1]) else runs)
            entry = (key, frozenset(required), _phrase_regex(parts))
            if required:
                phrases.setdefault(required[0], []).append(entry)
            else:
                anywhere.append(entry)
        self._exact = frozenset(exact)
        self._prefix_keys = prefix_keys
        self._prefix_lengths = tuple(sorted({len(prefix) for prefix in prefix_keys}))
        self._prefix_heads = (
            frozenset(prefix[: self._prefix_lengths[0]] for prefix in prefix_keys) if prefix_keys else ()
        )
        self._compounds = tuple(compounds)
        self._phrases = {first: tuple(entries) for first, entries in phrases.items()}
        self._anywhere = tuple(anywhere)

    def matches(self, folded: str) -> set[str]:
        tokens = set(_WORD_RUN.findall(folded))
        found = tokens & self._exact
        if self._prefix_lengths:
            # Each word's beginnings of the lengths a stem has, looked up: with five languages' stems, this is several
            # times faster than testing every stem against every word.
            shortest = self._prefix_lengths[0]
            for token in tokens:
                if token[:shortest] not in self._prefix_heads:
                    continue  # most words begin no stem at all: one lookup tells
                for length in self._prefix_lengths:
                    if length > len(token):
                        break
                    if (keys := self._prefix_keys.get(token[:length])) is not None:
                        found.update(keys)
        if self._compounds:
            # One search of the post's words joined by spaces per entry: a stem has no space, so it is found inside
            # one word ("*hyvity*"), or at a word's end when a space follows it ("*pommi").
            joined = " ".join(tokens) + " "
            for stem, wildcard, key in self._compounds:
                if key not in found and (stem if wildcard else stem + " ") in joined:
                    found.add(key)
        for first in tokens & self._phrases.keys():
            for key, required, regex in self._phrases[first]:
                if key not in found and required <= tokens and regex.search(folded):
                    found.add(key)
        for key, _, regex in self._anywhere:
            if key not in found and regex.search(folded):
                found.add(key)
        return found


class _WordList:
    """One configured list, answering in its configured order (stable reasons, whatever the text's order)."""

    __slots__ = ("_keys", "_words")

    def __init__(self, words: Iterable[str]) -> None:
        self._words: dict[str, str] = {}
        for word in words:
            self._words.setdefault(_fold(word), word)
        self._keys = frozenset(self._words)

    def pick(self, found: set[str]) -> tuple[str, ...]:
        hits = found & self._keys
        if not hits:
            return ()
        if len(hits) > 1:
            # "cancel my order" matches both "cancel" and "cancel my"; the card only needs the more telling one.
            padded = {key: f" {key.strip('*')} " for key in hits}
            hits = {key for key, mine in padded.items() if not any(mine in other != mine for other in padded.values())}
        return tuple(_as_shown(word) for key, word in self._words.items() if key in hits)

    def any_in(self, found: set[str]) -> bool:
        return not self._keys.isdisjoint(found)


def _as_shown(word: str) -> str:
    """An entry as configured, or the word it asks to show: "σκοτωσ* (σκοτώσω)" -> "σκοτώσω"."""
    match = _SHOWN.match(word.strip())
    return match.group(2).strip() if match else word


def _display(word: str) -> str:
    shown = _as_shown(word)
    return shown if shown is not word else word.replace("*", "")


def _as_word_tuple(words: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(words, str):
        raise TypeError(f"{what} must be a tuple of words, not a string; use parse_word_list() for settings text")
    words = tuple(words)
    for word in words:
        if not isinstance(word, str):
            raise TypeError(f"{what} must contain strings, got {word!r}")
    return words


@dataclass(frozen=True)
class _CompiledRules:
    vocabulary: _Vocabulary
    urgent: _WordList
    threats: _WordList
    categories: tuple[tuple[str, _WordList], ...]
    personal: PersonalRules


# Keyed on the word lists and languages, not the rules, so rules that differ only in vip_followers share one
# compilation.
@functools.lru_cache(maxsize=32)
def _compiled(
    urgent_words: tuple[str, ...],
    threat_words: tuple[str, ...],
    categories: tuple[tuple[str, tuple[str, ...]], ...],
    languages: tuple[str, ...] = (),
) -> _CompiledRules:
    added = [language_words(code) for code in languages]
    urgent = [*urgent_words, *(word for language in added for word in language.urgent)]
    threats = [*threat_words, *(word for language in added for word in language.threats)]
    # A language's words join the categories in force by name; a category the team did not configure is not made.
    merged = [
        (label, [*words, *(w for language in added for name, ws in language.categories if name == label for w in ws)])
        for label, words in categories
    ]
    every_word = [*urgent, *threats, *(word for _, words in merged for word in words)]
    return _CompiledRules(
        vocabulary=_Vocabulary(dict.fromkeys(every_word)),
        urgent=_WordList(urgent),
        threats=_WordList(threats),
        categories=tuple((label, _WordList(words)) for label, words in merged),
        personal=_personal_rules([_BASE, *added]),
    )


def _personal_rules(languages: list[LanguageWords]) -> PersonalRules:
    exact: set[str] = set()
    stems: list[str] = []
    for language in languages:
        for word in language.id_words:
            _compound, ((stem, wildcard), *_rest) = _parse_entry(word)
            (stems.append if wildcard else exact.add)(stem)
    return PersonalRules(
        id_words=frozenset(exact),
        id_stems=tuple(stems),
        card_words=frozenset({"card"}),
        filler_words=frozenset(_fold(word) for language in languages for word in language.filler_words) | {"#"},
        regions_valid=tuple(dict.fromkeys(r for language in languages for r in language.phone_regions)),
        regions_possible=tuple(dict.fromkeys(r for language in languages for r in language.phone_regions_possible)),
    )


@functools.cache
def personal_rules_of_every_language() -> PersonalRules:
    """What masking recognises (bot/personal_data.py): the identifier words and phone regions of every language with
    a triage file, whatever CUSTOMER_LANGUAGES says, since a log line or an export may hold any of them."""
    return _personal_rules([language_words(code) for code in languages_with_words()])


def personal_rules(rules: TriageRules) -> PersonalRules:
    """The personal-data rules triage applies with these rules (their languages): intake masks card numbers with
    them, so a post flagged "card number" is a post whose card number is masked."""
    return _compiled(rules.urgent_words, rules.threat_words, rules.categories, rules.languages).personal
