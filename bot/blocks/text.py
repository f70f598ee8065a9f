"""Making untrusted text safe for Slack: escaped for mrkdwn, neutralised bidi controls, cut to a limit; links
(`link_to`) and mentions (`mention`) that cannot be turned into other markup.

Lengths are counted in UTF-16 code units, which is never less than the code-point count Slack may use, so a text
that fits here fits there too. Cuts never split a code point, an `&amp;` entity, or an emoji sequence.

What a customer wrote reaches Slack as `plain_text` (Slack reads no markup, mention or link in it), cut to what a
reader takes in at a glance (`at_a_glance`: columns and lines, at a grapheme boundary); `plain_chunks` splits the
whole of it into sections where it is shown in full (`/complaints <id>`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlparse

from bot.i18n import _

ELLIPSIS = "…"

# Explicit embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI) can flip the
# surrounding card text ("evil.com" shown as "moc.live"); the stored original keeps them, the card does not.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_MRKDWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ZERO_WIDTH_JOINER = "\u200d"


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _display_char(char: str) -> str:
    if char in _BIDI_CONTROLS:
        return ""
    return _MRKDWN_ESCAPES.get(char, char)


def _joins_previous(char: str) -> bool:
    """True when `char` belongs to the grapheme before it (combining marks, variation selectors, skin tones)."""
    code = ord(char)
    return (
        char == _ZERO_WIDTH_JOINER
        or unicodedata.category(char) in ("Mn", "Me")
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences (subdivision flags)
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def safe_mrkdwn(text: str, limit: int) -> str:
    """Escape untrusted `text` for mrkdwn and cut it to at most `limit` UTF-16 units, ending in an ellipsis."""
    return _fit((_display_char(char) for char in text), limit)


def safe_plain(text: str, limit: int) -> str:
    """Untrusted text for `plain_text` fields (buttons, headers): no escaping needed, bidi controls removed."""
    return _fit((char for char in text if char not in _BIDI_CONTROLS), limit)


# Slack's limits on Heard's own (translated) texts: Finnish and Greek run 30-60% longer than English, so every
# translated text that goes into a limited field is cut with `safe_plain` (plain text) or `cut_markup` (mrkdwn).
BUTTON_TEXT_LIMIT = 75
OPTION_TEXT_LIMIT = 75
PLACEHOLDER_LIMIT = 150
HEADER_LIMIT = 150
LABEL_LIMIT = 2000
HINT_LIMIT = 2000
MODAL_TITLE_LIMIT = 24
CONFIRM_TITLE_LIMIT = 100
CONFIRM_BUTTON_LIMIT = 30
MARKUP_LIMIT = 3000


def cut_markup(text: str, limit: int = MARKUP_LIMIT) -> str:
    """Heard's own mrkdwn (already escaped, with links and mentions) cut to `limit` UTF-16 units, ending in an
    ellipsis: never inside a `<…>` link or mention, an `&amp;` entity or a code point. Text within the limit (all
    of it, in practice) is returned as it is."""
    if len(text) <= limit // 2 or utf16_length(text) <= limit:
        return text
    budget = limit - utf16_length(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for char in text:
        used += utf16_length(char)
        if used > budget:
            break
        kept.append(char)
    cut = "".join(kept)
    opened = cut.rfind("<")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    amp = cut.rfind("&")
    if amp > cut.rfind(";") and len(cut) - amp < 6:
        cut = cut[:amp]
    while cut and _joins_previous(cut[-1]):
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def _fit(chars: Iterable[str], limit: int) -> str:
    pieces = list(chars)
    whole = "".join(pieces)
    if len(whole) <= limit // 2 or utf16_length(whole) <= limit:  # a UTF-16 unit count is at most twice len()
        return whole
    budget = limit - utf16_length(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for piece in pieces:
        size = utf16_length(piece)
        if used + size > budget:
            break
        kept.append(piece)
        used += size
    # Back off to a grapheme boundary: never end on a joiner or separate a modifier from its base.
    while kept and (
        kept[-1] == _ZERO_WIDTH_JOINER or (len(kept) < len(pieces) and _joins_previous(pieces[len(kept)][0]))
    ):
        kept.pop()
    regional = 0
    for piece in reversed(kept):
        if not _is_regional_indicator(piece[0]):
            break
        regional += 1
    if regional % 2:
        kept.pop()  # a lone half of a flag renders as a stray letter
    return "".join(kept).rstrip() + ELLIPSIS


# -- a customer's words as plain text ---------------------------------------------------------------------------------

# What a card shows of a post: about ten lines of a message pane; an emoji or a CJK character is as wide as two letters.
GLANCE_COLUMNS = 700
GLANCE_LINES = 12
SECTION_TEXT_LIMIT = 3000


@dataclass(frozen=True)
class Glance:
    """Untrusted text ready for a `plain_text` object, and whether it was shortened (then it ends in an ellipsis)."""

    text: str
    cut: bool


def graphemes(text: str) -> list[str]:
    """`text` as the characters a reader sees: a base with its combining marks, variation selectors and skin tones,
    emoji joined by zero-width joiners, and flags (pairs of regional indicators) each stay one piece."""
    clusters: list[str] = []
    joined = False  # the previous character was a zero-width joiner: this one belongs to the same cluster
    for char in text:
        if clusters and (joined or _joins_previous(char) or _completes_flag(clusters[-1], char)):
            clusters[-1] += char
        else:
            clusters.append(char)
        joined = char == _ZERO_WIDTH_JOINER
    return clusters


def _completes_flag(cluster: str, char: str) -> bool:
    return _is_regional_indicator(char) and len(cluster) == 1 and _is_regional_indicator(cluster)


def _columns(cluster: str) -> int:
    """How wide a reader sees one grapheme: two for emoji, flags and East Asian wide characters, else one."""
    first = cluster[0]
    if _is_regional_indicator(first) or unicodedata.east_asian_width(first) in ("W", "F"):
        return 2
    return 1


def at_a_glance(
    text: str, columns: int = GLANCE_COLUMNS, lines: int = GLANCE_LINES, limit: int = SECTION_TEXT_LIMIT
) -> Glance:
    """Untrusted `text` for a `plain_text` object (bidi controls dropped, nothing escaped: Slack reads no markup
    there), cut to at most `columns` columns and `lines` lines as a reader sees them, and `limit` UTF-16 units, at
    a grapheme boundary; a cut text ends in an ellipsis, within those bounds."""
    if text.isascii() and len(text) <= min(columns, limit) and text.count("\n") < lines:
        return Glance(text, False)  # the common case: one column and one UTF-16 unit per character, no controls
    clusters = graphemes("".join(char for char in text if char not in _BIDI_CONTROLS))
    width = sum(_columns(cluster) for cluster in clusters)
    breaks = sum(cluster == "\n" for cluster in clusters)
    size = sum(utf16_length(cluster) for cluster in clusters)
    if width <= columns and breaks < lines and size <= limit:
        return Glance("".join(clusters), False)
    kept: list[str] = []
    width = breaks = 0
    size = utf16_length(ELLIPSIS)
    for cluster in clusters:
        width += _columns(cluster)
        size += utf16_length(cluster)
        breaks += cluster == "\n"
        if width > columns - 1 or breaks >= lines or size > limit:
            break
        kept.append(cluster)
    return Glance("".join(kept).rstrip() + ELLIPSIS, True)


def plain_chunks(text: str, limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """The whole of untrusted `text` (bidi controls dropped) in pieces of at most `limit` UTF-16 units, one per
    `plain_text` section: split after a line break or a space where one is near the end, never inside a grapheme."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for cluster in graphemes("".join(char for char in text if char not in _BIDI_CONTROLS)):
        length = utf16_length(cluster)
        if current and size + length > limit:
            cut = _last_break(current)
            chunks.append("".join(current[:cut]))
            current = current[cut:]
            size = sum(utf16_length(piece) for piece in current)
        current.append(cluster)
        size += length
    if current:
        chunks.append("".join(current))
    return chunks


def _last_break(clusters: list[str]) -> int:
    """Where to end a full chunk: after its last line break or space in its second half, else at its end."""
    for index in range(len(clusters) - 1, len(clusters) // 2, -1):
        if clusters[index].isspace():
            return index + 1
    return len(clusters)


LINK_LABEL_LIMIT = 200
# Characters that would end or split Slack's `<url|label>` (or a URL Slack would cut at whitespace).
_LINK_BREAKERS = frozenset("<>| \n\t")


def safe_url(url: str | None) -> str | None:
    """`url` ready to go inside `<…|…>`: only http(s) links, none with a character that could break out of the
    link syntax, `&` escaped as mrkdwn wants; None for anything else (a `javascript:` link, a forged label)."""
    if not url or any(char in _LINK_BREAKERS for char in url):
        return None
    try:
        scheme = urlparse(url).scheme
    except ValueError:  # e.g. an unclosed `[` where an IPv6 address would be
        return None
    return url.replace("&", "&amp;") if scheme in ("http", "https") else None


def link_to(url: str | None, label: str, limit: int = LINK_LABEL_LIMIT) -> str | None:
    """A mrkdwn link `<url|label>`, or None when `url` is not safe to link (say the label as plain text then).
    `label` is plain text, untrusted or not: it is escaped and cut to `limit` here, so pass it unescaped."""
    link = safe_url(url)
    return f"<{link}|{safe_mrkdwn(label, limit)}>" if link else None


def person(user_id: str | None) -> str:
    """A Slack user Heard stored from Slack itself (who clicked), as a mention."""
    return f"<@{user_id}>"


def complaints_command(complaint_id: int | str, subcommand: str = "") -> str:
    """`/complaints 42` (or `/complaints open`) as code: people type it in English, so it is never translated."""
    words = " ".join(str(word) for word in (complaint_id, subcommand) if word != "")
    return f"`/complaints {words}`"


def quoted(text: str, limit: int) -> str:
    """What someone wrote, escaped, cut and between quotation marks."""
    return f"“{safe_mrkdwn(text, limit)}”"


_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def mention(user_id: str | None) -> str:
    """A person Heard stored from Slack as a mention; anything else (a network that acted, an id nobody checked)
    as plain text, never as markup that could ping."""
    if user_id and _SLACK_USER_ID.match(user_id):
        return f"<@{user_id}>"
    if not user_id:
        # Translators: stands for a person Heard has no record of, e.g. "someone claimed it".
        return _("someone")
    # Imported here: the platform registry imports the projections, which import this module.
    from bot.platforms import source_label

    return safe_mrkdwn(source_label(user_id, user_id), 120)
