"""Personal data in a customer's words: e-mail addresses, phone numbers and payment card numbers, found and masked.

The one home of these patterns. Triage (`bot/triage.py`) asks which kinds a post shows (the card's flag and "Take it
private"); intake masks card numbers before anything is stored (`mask_card_numbers`, `mask_card_numbers_in` for the
payload the source sent), so no copy of one exists anywhere; what leaves the care team's cards (the digest, the CSV
exports, the logs: `bot/masked_logs.py`) masks all three (`mask`).

Detection is deliberately conservative: a false "phone number" on every order id or timestamp would teach people to
ignore the flag. A card number is 13 to 19 digits, grouped by single spaces or dashes, starting 2-6 and passing the
Luhn check; a number a word names as an identifier ("order no. ...") is neither a phone nor a card. The identifier
words and phone regions come from the languages' triage files (`[personal_data]` in bot/triage_words/<code>.toml).

Text comes from strangers, so every regex here is linear (no nested ambiguous quantifiers, nothing rescanned from
every position). Most texts have no "@" and fewer than nine digits, which a few counts tell.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import phonenumbers

from bot.folding import fold_text

EMAIL = "e-mail address"
PHONE = "phone number"
CARD = "card number"
KINDS = (EMAIL, PHONE, CARD)
MASK = "\u2022"  # •
# Keys of a source's payload that hold identifiers, never words: a long numeric id may pass the Luhn check.
_ID_KEY = re.compile(r"(?:^|_)ids?$|Ids?$")


@dataclass(frozen=True)
class PersonalRules:
    """What detection reads from the languages' files (built by `bot/triage.py`): the words that name an identifier
    (exact, or stems), the filler words between such a word and its number, and the phone regions."""

    id_words: frozenset[str]
    id_stems: tuple[str, ...]
    card_words: frozenset[str]
    filler_words: frozenset[str]
    regions_valid: tuple[str, ...]
    regions_possible: tuple[str, ...]

    def names_an_id(self, label: str) -> bool:
        return label in self.id_words or (bool(self.id_stems) and label.startswith(self.id_stems))


class Found(NamedTuple):
    kind: str  # EMAIL, PHONE or CARD
    start: int
    end: int


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
_CARD_SHAPE = re.compile(r"[0-9]+(?:[ \-][0-9]+)*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_WORD_OR_HASH = re.compile(r"[^\W\d_]+|#")
_ONLY_DIGITS = str.maketrans("", "", "+() .-")
_ESCAPED_BREAKS = frozenset({"\\n", "\\r", "\\t"})

# Which words name an identifier (so the number after them is no phone) and the phone regions are in each
# language's file ([personal_data] in bot/triage_words/<code>.toml).
_GLUE_BEFORE = frozenset("#@$€£¥/\\=&%*^~+._")  # "#4025...", "$1234567890", "?id=...", "v.123..." are not phones
_GLUE_AFTER = frozenset("@/\\%$€£¥=&*^~+_")


def personal_data_kinds(text: str, rules: PersonalRules) -> tuple[str, ...]:
    """Which kinds of personal data `text` shows, in the order of KINDS (triage's flag)."""
    kinds: list[str] = []
    if "@" in text and next(_emails(text), None) is not None:
        kinds.append(EMAIL)
    phone = card = False
    for found in _numbers(text, rules, every_one=False):
        phone, card = phone or found.kind == PHONE, card or found.kind == CARD
        if phone and card:
            break
    kinds.extend(kind for kind, seen in ((PHONE, phone), (CARD, card)) if seen)
    return tuple(kinds)


def find(text: str, rules: PersonalRules | None = None) -> list[Found]:
    """Every e-mail address, phone number and card number in `text`, in order."""
    rules = rules or _every_language()
    found = list(_emails(text)) if "@" in text else []
    found.extend(_numbers(text, rules, every_one=True))
    return sorted(found, key=lambda item: item.start)


def mask(text: str, rules: PersonalRules | None = None) -> str:
    """`text` with every e-mail address, phone number and card number masked: what leaves the care team's cards."""
    if "@" not in text and _digit_count(text) < 9:
        return text
    return _masked(text, find(text, rules))


def mask_card_numbers(text: str, rules: PersonalRules | None = None) -> str:
    """`text` with its card numbers masked down to their last four digits (`•••• •••• •••• 1111`)."""
    if len(text) < 13 or _digit_count(text) < 13:  # most strings of a source's payload: ids, names, dates
        return text
    return _masked(text, list(_numbers(text, rules or _every_language(), every_one=True, cards_only=True)))


def mask_card_numbers_in(value: Any, rules: PersonalRules | None = None) -> Any:
    """A source's payload (JSON: objects, arrays, strings, numbers) with the card numbers in its strings masked;
    identifiers (keys `id`, `*_id`, `*Id`) are left as they are."""
    if isinstance(value, str):
        return mask_card_numbers(value, rules)
    if isinstance(value, list):
        return [mask_card_numbers_in(item, rules) for item in value]
    if isinstance(value, dict):
        return {
            key: item if isinstance(key, str) and _ID_KEY.search(key) else mask_card_numbers_in(item, rules)
            for key, item in value.items()
        }
    return value


def _masked(text: str, found: list[Found]) -> str:
    if not found:
        return text
    parts: list[str] = []
    done = 0
    for kind, start, end in found:
        if start < done:
            continue  # a number inside an e-mail address already masked
        parts.append(text[done:start])
        parts.append(_MASKERS[kind](text[start:end]))
        done = end
    parts.append(text[done:])
    return "".join(parts)


def _masked_email(address: str) -> str:
    """`m•••@•••.com`: the first character and the top-level domain say which address it was to whoever has it."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}{MASK * 3}@{MASK * 3}.{domain.rsplit('.', 1)[-1]}"


def _masked_phone(number: str) -> str:
    digits = number.translate(_ONLY_DIGITS)
    return MASK * (len(digits) - 2) + digits[-2:]


def _masked_card(number: str) -> str:
    digits = number.translate(_ONLY_DIGITS)
    return f"{MASK * 4} {MASK * 4} {MASK * 4} {digits[-4:]}"


_MASKERS = {EMAIL: _masked_email, PHONE: _masked_phone, CARD: _masked_card}


@functools.cache
def _every_language() -> PersonalRules:
    # bot/triage.py reads the languages' files and imports this module, so it is asked only when first needed.
    from bot.triage import personal_rules_of_every_language

    return personal_rules_of_every_language()


def _digit_count(text: str) -> int:
    return sum(map(text.count, "0123456789"))


# The local part of an address, read back from its "@": letters, digits and . _ % + - (RFC 5322's usual subset).
_LOCAL_CHARS = frozenset(".%+-_")


def _emails(text: str) -> Iterator[Found]:
    """Addresses such as "jo@example.com", but not a handle: "@acme.com", ".@acme.co"."""
    for at in _EMAIL_AT.finditer(text):
        position = at.start()
        if not position or not _is_word_char(text[position - 1]):
            continue
        start = position - 1
        # Each "@" reads back no further than the one before it: linear over the text.
        while start > 0 and (_is_word_char(text[start - 1]) or text[start - 1] in _LOCAL_CHARS):
            start -= 1
        yield Found(EMAIL, start, at.end())


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _numbers(text: str, rules: PersonalRules, *, every_one: bool, cards_only: bool = False) -> Iterator[Found]:
    """The phone and card numbers in `text` (only cards when `cards_only`: no number is read as a phone, which is
    most of the cost); unless `every_one`, only cards once a phone is found (the flag needs no more). Most posts have
    fewer than nine digits in all, so that is checked first."""
    if _digit_count(text) < (13 if cards_only else 9):
        return
    has_slash = "/" in text
    phone = False
    for match in _NUMBER.finditer(text):
        digits = len(match.group().translate(_ONLY_DIGITS))
        if digits < (13 if cards_only or (phone and not every_one) else 9):
            continue
        found = _number_kind(text, match.start(), match.end(), has_slash, rules, cards_only)
        if found is not None:
            phone = phone or found.kind == PHONE
            yield found


def _number_kind(
    text: str, start: int, end: int, has_slash: bool, personal: PersonalRules, cards_only: bool = False
) -> Found | None:
    """A phone or card number in the run text[start:end] (its span narrowed to the number), or None; every doubt
    resolves to None."""
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
    # An escaped line break or tab ("\\n" in a JSON body a log line quotes) separates like the character it stands for.
    before = " " if not start or text[max(0, start - 2) : start] in _ESCAPED_BREAKS else text[start - 1]
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before in _GLUE_BEFORE or text[max(0, start - 3) : start].rstrip().endswith("#"):
        return None  # part of a word, an amount, a handle, a query string or a "#"-order number
    if after.isalnum() or after in _GLUE_AFTER or (after in ".," and text[end + 1 : end + 2].isalnum()):
        return None  # "1920x1080", "123456789@host", "12345678901.jpg"
    if has_slash and _in_slashed_token(text, start, end):
        return None  # URLs ("x.com/acme/status/1578516295611748353", "t.co/..."), paths, "07/10/2022"
    label = _label_before(text, start, personal.filler_words)
    if personal.names_an_id(label):
        return None

    if len(digits) >= 13 and digits[0] in "23456" and _CARD_SHAPE.fullmatch(number) and _luhn_ok(digits):
        # Real card numbers start with 2-6 (Mastercard; Amex, Diners, JCB; Visa; Mastercard, Maestro; Discover,
        # UnionPay); requiring that halves the long ids that pass Luhn by chance.
        return Found(CARD, start, end)
    if cards_only or len(digits) > 15 or label in personal.card_words:
        return None  # "smart card no: 10052474284" is not a phone; for cards "card" is apt
    groups = _DIGIT_GROUP.findall(number)[1 if number.startswith("+") else 0 :]
    if len(groups) > 1 and max(map(len, groups)) > 10:
        return None  # someone who groups a phone number does not leave 11 digits together: "8-4750000030256"
    if "." in number and any(not 2 <= len(group) <= 4 for group in groups):
        return None  # dotted phone numbers have short groups (555.123.4567); "1909 18563.592" is a Windows build
    return Found(PHONE, start, end) if _is_phone(number, personal) else None


def _is_phone(number: str, personal: PersonalRules) -> bool:
    """Read by libphonenumber: an international number ("+358 40 123 4567", "+44 (0)20 7946 0958") that is possible
    for its country; else a valid national number of one of the languages' regions ("040 123 4567" in FI, "0888 123
    456" in BG, "912 345 678" in PT, "694 123 4567" in GR), or a well-formed one of the lenient regions (US)."""
    try:
        if number.startswith("+"):
            return phonenumbers.is_possible_number(phonenumbers.parse(number, None))
        if any(phonenumbers.is_valid_number(phonenumbers.parse(number, r)) for r in personal.regions_valid):
            return True
        return any(phonenumbers.is_possible_number(phonenumbers.parse(number, r)) for r in personal.regions_possible)
    except phonenumbers.NumberParseException:
        return False


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


def _label_before(text: str, start: int, fillers: frozenset[str]) -> str:
    """The word that names the number, skipping "no.", "number", "#", "is": "order no. 123..." -> "order"."""
    words = _WORD_OR_HASH.findall(fold_text(text[max(0, start - 40) : start]))
    while words and words[-1] in fillers:
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
