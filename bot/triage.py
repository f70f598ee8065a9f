"""Triage of a complaint's text: does a human need to look now, and why.

Pure and stdlib-only so it can run inline on every ingested post (bursts of ~10,000) and be tested without Slack or
a database. Keyword matching is on casefolded text and on whole words, so a word typed into a settings box behaves
the way a support lead expects ("kill" is not found in "skill"). Personal-data detection is deliberately
conservative: a false "phone number" on every order id or timestamp would teach people to ignore the flag.

Text comes from strangers, so every regex here is linear (no nested ambiguous quantifiers, nothing rescanned from
every position) and the scanned length is capped. A tweet-sized text takes about 20 microseconds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_THREAT_WORDS",
    "DEFAULT_URGENT_WORDS",
    "MAX_SCAN_CHARS",
    "Triage",
    "TriageRules",
    "parse_categories",
    "parse_word_list",
    "triage",
]

# A tweet is 280 characters and a long post a few thousand; past this it is abuse, and the card cuts it anyway.
MAX_SCAN_CHARS = 20_000

# Words that mean money, the law or someone's safety is at stake. A trailing "*" allows any word suffix.
# Bare "fire" is left out on purpose: "Kindle Fire" and "Fire TV" complaints would all page someone.
DEFAULT_URGENT_WORDS: tuple[str, ...] = (
    "refund*",
    "cancel",
    "cancel my",
    "cancellation",
    "chargeback",
    "dispute",
    "fraud*",
    "scam*",
    "stolen",
    "hacked",
    "unauthorised",
    "unauthorized",
    "identity theft",
    "data breach",
    "lawyer",
    "attorney",
    "solicitor",
    "sue",
    "suing",
    "legal action",
    "small claims",
    "ombudsman",
    "trading standards",
    "unsafe",
    "dangerous",
    "hazard*",
    "injured",
    "injury",
    "hospital",
    "caught fire",
    "exploded",
    "explosion",
    "electric shock",
    "emergency",
    "urgent",
)

# Phrases that read as a threat against people or property; any match marks the complaint for legal. Bare "shoot"
# is left out ("shoot me an email", "prices shoot up"), as are words that are mostly figures of speech.
DEFAULT_THREAT_WORDS: tuple[str, ...] = (
    "kill you",
    "kill your",
    "i will kill",
    "i'll kill",
    "gonna kill",
    "going to kill",
    "murder you",
    "bomb",
    "shoot you",
    "shoot everyone",
    "i will shoot",
    "i'll shoot",
    "burn down",
    "burn it down",
    "hurt you",
    "beat you up",
    "stab you",
    "i know where you live",
    "watch your back",
    "you're dead",
    "you are dead",
)

# Checked in this order and the first category with a match wins, so the more specific topics come first.
# "charge*" is avoided in billing: it would file "my phone is not charging" and "charger" under billing.
DEFAULT_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "billing",
        (
            "refund*",
            "charge",
            "charged",
            "charges",
            "overcharg*",
            "invoice*",
            "payment*",
            "bill",
            "billed",
            "billing",
            "subscription*",
            "fee",
            "fees",
            "money back",
            "credit card",
            "debit card",
            "direct debit",
            "chargeback",
        ),
    ),
    (
        "delivery",
        (
            "deliver*",
            "parcel*",
            "package*",
            "shipping",
            "shipped",
            "shipment*",
            "courier",
            "tracking",
            "dispatch*",
            "arriv*",
            "in transit",
            "fedex",
            "dhl",
            "usps",
            "royal mail",
            "dpd",
        ),
    ),
    (
        "account",
        (
            "account",
            "accounts",
            "login",
            "log in",
            "log-in",
            "logged in",
            "logged out",
            "logout",
            "log out",
            "sign in",
            "password*",
            "username",
            "locked out",
            "verification",
            "verify",
            "2fa",
            "two-factor",
            "suspended",
            "deactivated",
        ),
    ),
    (
        "product",
        (
            "broken",
            "broke",
            "defect*",
            "faulty",
            "damaged",
            "cracked",
            "not working",
            "stopped working",
            "doesn't work",
            "does not work",
            "won't work",
            "quality",
            "battery",
            "screen",
            "error*",
            "bug",
            "bugs",
            "buggy",
            "crash*",
            "freez*",
            "glitch*",
            "malfunction*",
            "recall",
        ),
    ),
    (
        "service",
        (
            "customer service",
            "customer care",
            "customer support",
            "rude",
            "staff",
            "manager",
            "on hold",
            "no response",
            "no reply",
            "ignored",
            "ignoring",
            "call centre",
            "call center",
            "helpline",
            "representative",
            "unhelpful",
        ),
    ),
)


@dataclass(frozen=True)
class TriageRules:
    vip_followers: int = 10_000
    urgent_words: tuple[str, ...] = DEFAULT_URGENT_WORDS
    threat_words: tuple[str, ...] = DEFAULT_THREAT_WORDS
    categories: tuple[tuple[str, tuple[str, ...]], ...] = DEFAULT_CATEGORIES

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
        # Compile now so a bad configured word fails at startup, not on the first post of a burst.
        _compiled(self.urgent_words, self.threat_words, self.categories)


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
    compiled = _compiled(rules.urgent_words, rules.threat_words, rules.categories)
    text = text[:MAX_SCAN_CHARS]
    # Casefold (not lower) so "STRASSE"/"straße" and friends compare equal; curly apostrophes are what phones
    # type, and configured words are written with straight ones.
    found = compiled.vocabulary.matches(text.casefold().replace("\u2019", "'"))

    reasons: list[str] = []
    if followers is not None and followers >= rules.vip_followers:
        reasons.append(f"{followers:,} follower" + ("" if followers == 1 else "s"))

    urgent = compiled.urgent.pick(found)
    if urgent:
        reasons.append("urgent: " + ", ".join(_display(word) for word in urgent[:3]))

    personal_data = _personal_data(text)
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
        _stem(word)  # raises with the offending word named
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
# Every configured word, across all lists, is matched in one pass per post: the text is split into word runs once,
# plain words are a set intersection, "word*" a prefix test, and only phrases (or words with punctuation, such as
# "i'll kill") need their regex, which runs only when all of their words occur somewhere in the text. A single big
# alternation regex was measured at several times the cost for a tweet-sized text.

_WORD_RUN = re.compile(r"\w+")


def _fold(word: str) -> str:
    return " ".join(word.casefold().replace("\u2019", "'").split())


def _stem(word: str) -> tuple[str, bool]:
    """The folded word without its wildcard, and whether it had one; refuses words that could never match."""
    folded = _fold(word)
    wildcard = folded.endswith("*")
    stem = folded[:-1].rstrip() if wildcard else folded
    if not _WORD_RUN.search(stem):
        raise ValueError(f"{word!r} is not a usable word: it needs at least one letter or digit")
    return stem, wildcard


def _phrase_regex(stem: str, wildcard: bool) -> re.Pattern[str]:
    first, *rest = stem.split()
    # The word boundary is checked by a lookbehind placed after the first literal part rather than before it: a
    # pattern that starts with a literal lets the engine jump between candidate positions instead of trying each.
    boundary = rf"(?<!\w[\s\S]{{{len(first)}}})"
    body = r"\s+".join([re.escape(first) + boundary, *(re.escape(part) for part in rest)])
    return re.compile(body + (r"\w*" if wildcard else "") + r"(?!\w)")


class _Vocabulary:
    """All configured words of one rules object; `matches` says which of them (by folded key) occur in a text."""

    __slots__ = ("_anywhere", "_exact", "_phrases", "_prefix_keys", "_prefixes")

    def __init__(self, words: Iterable[str]) -> None:
        exact: set[str] = set()
        prefix_keys: dict[str, str] = {}
        phrases: dict[str, list[tuple[str, frozenset[str], re.Pattern[str]]]] = {}
        anywhere: list[tuple[str, frozenset[str], re.Pattern[str]]] = []
        for word in words:
            key = _fold(word)
            stem, wildcard = _stem(word)
            runs = _WORD_RUN.findall(stem)
            if runs == [stem]:
                if wildcard:
                    prefix_keys[stem] = key
                else:
                    exact.add(key)
                continue
            # Every word run of a phrase appears as a whole word in any text it matches, except a wildcard's last
            # run, which may only be a prefix; that makes a cheap, exact-enough pre-filter before the regex.
            required = runs[:-1] if wildcard and _WORD_RUN.match(stem[-1]) else runs
            entry = (key, frozenset(required), _phrase_regex(stem, wildcard))
            if required:
                phrases.setdefault(required[0], []).append(entry)
            else:
                anywhere.append(entry)
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefix_keys)  # a tuple, for str.startswith, which tries them all in C
        self._prefix_keys = prefix_keys
        self._phrases = {first: tuple(entries) for first, entries in phrases.items()}
        self._anywhere = tuple(anywhere)

    def matches(self, folded: str) -> set[str]:
        tokens = set(_WORD_RUN.findall(folded))
        found = tokens & self._exact
        if self._prefixes:
            for token in tokens:
                if token.startswith(self._prefixes):
                    found.update(key for prefix, key in self._prefix_keys.items() if token.startswith(prefix))
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

    def __init__(self, words: tuple[str, ...]) -> None:
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
            padded = {key: f" {key.rstrip('*')} " for key in hits}
            hits = {key for key, mine in padded.items() if not any(mine in other != mine for other in padded.values())}
        return tuple(word for key, word in self._words.items() if key in hits)

    def any_in(self, found: set[str]) -> bool:
        return not self._keys.isdisjoint(found)


def _display(word: str) -> str:
    return word[:-1] if word.endswith("*") else word


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


# Keyed on the word lists, not the rules, so rules that differ only in vip_followers share one compilation.
@functools.lru_cache(maxsize=32)
def _compiled(
    urgent_words: tuple[str, ...], threat_words: tuple[str, ...], categories: tuple[tuple[str, tuple[str, ...]], ...]
) -> _CompiledRules:
    every_word = [*urgent_words, *threat_words, *(word for _, words in categories for word in words)]
    return _CompiledRules(
        vocabulary=_Vocabulary(dict.fromkeys(every_word)),
        urgent=_WordList(urgent_words),
        threats=_WordList(threat_words),
        categories=tuple((label, _WordList(words)) for label, words in categories),
    )


# --- personal data ----------------------------------------------------------------------------------------------

EMAIL = "e-mail address"
PHONE = "phone number"
CARD = "card number"

# Starts at the "@" (a literal, which the engine finds fast); the character before it is checked separately.
_EMAIL_AT = re.compile(r"@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}(?![\w\-])")

# Digits joined by single spaces, dots, dashes or parentheses. Each step consumes one character that can mean only
# one thing, so this is linear; starting on a plain digit class lets the engine skip ahead quickly.
_NUMBER = re.compile(r"[0-9](?:[0-9)]|\((?=[0-9])|[ .\-](?=\(?[0-9]))*+")
_LEADING_DATE = re.compile(
    r"(?:[0-9]{4}[.\-][0-9]{1,2}[.\-][0-9]{1,2}|[0-9]{1,2}[.\-][0-9]{1,2}[.\-][0-9]{2,4})(?: |$)"
)
_TRAILING_DATE = re.compile(
    r"(?:^| )(?:[0-9]{4}[.\-][0-9]{1,2}[.\-][0-9]{1,2}|[0-9]{1,2}[.\-][0-9]{1,2}[.\-][0-9]{2,4})$"
)
_IPV4 = re.compile(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}")
_PHONE_SHAPE = re.compile(r"(?:\+[0-9]{1,4}[ .\-]?)?(?:\([0-9]{1,5}\)[ .\-]?)?[0-9]+(?:[ .\-][0-9]+)*")
_CARD_SHAPE = re.compile(r"[0-9]+(?:[ \-][0-9]+)*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_WORD_OR_HASH = re.compile(r"[^\W\d_]+|#")
_ONLY_DIGITS = str.maketrans("", "", "+() .-")

# A number right after one of these is an identifier of some kind, even with "no."/"number"/"#"/"is" in between.
_ID_WORDS = frozenset(
    {
        *("order", "ticket", "case", "ref", "reference", "invoice", "tracking", "awb", "booking", "confirmation"),
        *("reservation", "pnr", "serial", "imei", "sku", "model", "id", "account", "acct", "customer", "member"),
        *("membership", "policy", "claim", "transaction", "txn", "receipt", "kb", "build", "version", "error"),
        *("code", "item", "itm", "product", "asin"),
    }
)
_NOT_A_PHONE_WORDS = _ID_WORDS | {"card"}  # "smart card no: 10052474284" is not a phone; for cards "card" is apt
_FILLER_WORDS = frozenset({"no", "nr", "num", "number", "is", "was", "#"})
_GLUE_BEFORE = frozenset("#@$€£¥/\\=&%*^~+._")  # "#4025...", "$1234567890", "?id=...", "v.123..." are not phones
_GLUE_AFTER = frozenset("@/\\%$€£¥=&*^~+_")


def _personal_data(text: str) -> tuple[str, ...]:
    kinds: list[str] = []
    if "@" in text and any(_is_word_char(text[at.start() - 1]) for at in _EMAIL_AT.finditer(text) if at.start()):
        kinds.append(EMAIL)  # "jo@example.com", but not a handle: "@acme.com", ".@acme.co"
    phone, card = _numbers(text)
    if phone:
        kinds.append(PHONE)
    if card:
        kinds.append(CARD)
    return tuple(kinds)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _numbers(text: str) -> tuple[bool, bool]:
    """(phone found, card found). Most posts have fewer than nine digits in all, so that is checked first."""
    if sum(text.count(digit) for digit in "0123456789") < 9:
        return False, False
    has_slash = "/" in text
    phone = card = False
    for match in _NUMBER.finditer(text):
        digits = len(match.group().translate(_ONLY_DIGITS))
        if digits < (13 if phone else 9):  # once a phone is found, only a card could add anything
            continue
        kind = _number_kind(text, match.start(), match.end(), has_slash)
        phone = phone or kind == PHONE
        card = card or kind == CARD
        if card and phone:
            break
    return phone, card


def _number_kind(text: str, start: int, end: int, has_slash: bool) -> str | None:
    """PHONE, CARD or None for the run text[start:end]; every doubt resolves to None."""
    if start and text[start - 1] in "+(":
        start -= 1  # "+44 ...", "(555) 123-4567"
    number = text[start:end]
    # The run may have taken a bracket that belongs to the sentence: "(call 5551234567)".
    if number.startswith("(") and number.count("(") > number.count(")"):
        number, start = number[1:], start + 1
    if number.endswith(")") and number.count(")") > number.count("("):
        number, end = number[:-1], end - 1
    if number.startswith("(") and number.endswith(")") and number.count("(") == 1 and number.count(")") == 1:
        number, start, end = number[1:-1], start + 1, end - 1

    # Times and dates glued to the run: "2022-10-07 22:42:12.637103" arrives as "2022-10-07 22" before a ':'.
    if start >= 2 and text[start - 1] == ":" and text[start - 2].isdigit():
        number, start = _drop_first_group(number, start)
    if end + 1 < len(text) and text[end] == ":" and text[end + 1].isdigit():
        number, end = _drop_last_group(number, end)
    if date := _LEADING_DATE.match(number):
        number, start = number[date.end() :], start + date.end()
    if date := _TRAILING_DATE.search(number):
        number, end = number[: date.start()], end - (len(number) - date.start())

    digits = number.translate(_ONLY_DIGITS)
    if not 9 <= len(digits) <= 19 or _IPV4.fullmatch(number):
        return None
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before in _GLUE_BEFORE or text[max(0, start - 3) : start].rstrip().endswith("#"):
        return None  # part of a word, an amount, a handle, a query string or a "#"-order number
    if after.isalnum() or after in _GLUE_AFTER or (after in ".," and text[end + 1 : end + 2].isalnum()):
        return None  # "1920x1080", "123456789@host", "12345678901.jpg"
    if has_slash and _in_slashed_token(text, start, end):
        return None  # URLs ("x.com/acme/status/1578516295611748353", "t.co/..."), paths, "07/10/2022"
    label = _label_before(text, start)
    if label in _ID_WORDS:
        return None

    if len(digits) >= 13 and digits[0] in "23456" and _CARD_SHAPE.fullmatch(number) and _luhn_ok(digits):
        # Real card numbers start with 2-6 (Mastercard; Amex, Diners, JCB; Visa; Mastercard, Maestro; Discover,
        # UnionPay); requiring that halves the long ids that pass Luhn by chance.
        return CARD
    if len(digits) > 15 or label in _NOT_A_PHONE_WORDS or not _PHONE_SHAPE.fullmatch(number):
        return None
    groups = _DIGIT_GROUP.findall(number)[1 if number.startswith("+") else 0 :]
    if len(groups) > 1 and max(map(len, groups)) > 10:
        return None  # someone who groups a phone number does not leave 11 digits together: "8-4750000030256"
    if "." in number and any(not 2 <= len(group) <= 4 for group in groups):
        return None  # dotted phone numbers have short groups (555.123.4567); "1909 18563.592" is a Windows build
    return PHONE


def _drop_first_group(number: str, start: int) -> tuple[str, int]:
    cut = next((i for i, char in enumerate(number) if not char.isdigit()), len(number))
    return number[cut + 1 :], start + cut + 1


def _drop_last_group(number: str, end: int) -> tuple[str, int]:
    cut = next((i for i in range(len(number) - 1, -1, -1) if not number[i].isdigit()), -1)
    return number[: max(cut, 0)], end - (len(number) - max(cut, 0))


def _in_slashed_token(text: str, start: int, end: int) -> bool:
    token_start = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start), text.rfind("\t", 0, start)) + 1
    token_end = min((found for found in (text.find(" ", end), text.find("\n", end)) if found != -1), default=len(text))
    return text.find("/", token_start, start) != -1 or text.find("/", end, token_end) != -1


def _label_before(text: str, start: int) -> str:
    """The word that names the number, skipping "no.", "number", "#", "is": "order no. 123..." -> "order"."""
    words = _WORD_OR_HASH.findall(text[max(0, start - 40) : start].casefold())
    while words and words[-1] in _FILLER_WORDS:
        words.pop()
    return words[-1] if words else ""


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
