"""The generic webhook (`POST /ingest`): its signature and its JSON body, checked field by field.

Errors name the field and say what is wrong, because the reader is whoever wires up a new source.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from bot.platforms.base import NewComplaint

SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_TEXT_CHARS = 40_000
MAX_ID_CHARS = 256
MAX_NAME_CHARS = 256
# Requests signed longer ago than this are refused (as Slack's are), so a captured request cannot be replayed later.
MAX_SIGNATURE_AGE_SECONDS = 5 * 60
# A complaint is a flat object with an author inside; a bridge may add its own record of the post, a few levels
# deep. Deeper than this is no complaint (and 100,000 levels would exhaust the parser's recursion).
MAX_NESTING = 32
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class InvalidPayload(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def signature_is_valid(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None
) -> bool:
    """Same scheme as Slack's (`v0:{timestamp}:{body}`, HMAC-SHA256), and stale after 5 minutes like Slack's.

    Computed here over the raw bytes rather than through slack_sdk's verifier, which decodes the body as UTF-8 and
    reads the timestamp with int(): a body that is not UTF-8 or a timestamp that is not a number raised there, and
    was answered 503 "retry later" instead of 401."""
    if not timestamp or not signature or not _TIMESTAMP.fullmatch(timestamp):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_SIGNATURE_AGE_SECONDS:
        return False
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}".encode(), signature.encode("utf-8", "replace"))


def parse(body: bytes) -> NewComplaint:
    try:
        data = json.loads(body)
    except UnicodeDecodeError as exc:
        raise InvalidPayload("body", "is not UTF-8 text (JSON must be sent as UTF-8)") from exc
    except RecursionError as exc:
        raise InvalidPayload("body", f"is nested more than {MAX_NESTING} levels deep") from exc
    except ValueError as exc:  # JSONDecodeError, and integers too long to read (over 4,300 digits)
        raise InvalidPayload("body", f"is not valid JSON ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict):
        raise InvalidPayload("body", "must be a JSON object")
    if _nesting(data) > MAX_NESTING:
        raise InvalidPayload("body", f"is nested more than {MAX_NESTING} levels deep")
    author = data.get("author")
    if not isinstance(author, dict):
        raise InvalidPayload("author", 'is required: an object such as {"handle": "maria", "name": "Maria"}')
    source = _text(data, "source", required=True, limit=64)
    if not SOURCE_PATTERN.match(source):
        raise InvalidPayload("source", "must be lower-case letters, digits, '.', '_' or '-', e.g. facebook")
    return NewComplaint(
        source=source,
        external_id=_external_id(data),
        author_handle=_text(author, "handle", required=True, limit=MAX_NAME_CHARS, prefix="author."),
        author_name=_text(author, "name", required=False, limit=MAX_NAME_CHARS, prefix="author.", words=True) or None,
        author_id=_scalar_id(author, "id", prefix="author."),
        text=_text(data, "text", required=True, limit=MAX_TEXT_CHARS, words=True),
        url=_url(data),
        posted_at=_created_at(data),
        raw=data,
    )


def _nesting(data: Any) -> int:
    """How many objects and arrays deep `data` goes (without recursion: the depth is what is being checked)."""
    deepest, waiting = 0, [(data, 1)]
    while waiting:
        value, depth = waiting.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            break
        waiting.extend((child, depth + 1) for child in children)
    return deepest


# NUL and lone surrogates. PostgreSQL refuses NUL in text, and a lone surrogate (half of a UTF-16 pair, as in JSON's
# "\ud800", typically an emoji a sender cut in two) has no UTF-8 form for any database. Neither is a word anyone
# wrote, so they are treated by what the field is:
# - the customer's words (text, author.name) are kept and cleaned: NUL is dropped and a lone surrogate becomes
#   U+FFFD, the replacement character, marking where a character was lost. Refusing would lose the whole complaint
#   over a character its author never typed, and a sender that cannot fix its bridge would retry it forever;
# - identifiers (id, author.handle, author.id, url, created_at) are refused, naming the field: a silently changed
#   identifier would no longer be the one the source knows (repeats, replies, links), and two different ones
#   could become one.
def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored as it is, or None."""
    if "\x00" in value:
        return "contains a NUL character (U+0000), which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (half of a UTF-16 pair, such as \\ud800), which cannot be stored"
    return None


def storable_words(value: str) -> str:
    """The customer's words as they can be stored: NUL dropped, lone surrogates replaced by U+FFFD (a pair that
    arrived as two halves is joined again)."""
    if unstorable(value) is None:
        return value
    value = value.replace("\x00", "")
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def unstorable_field(post: NewComplaint) -> str | None:
    """The first field of `post`, named as in the body, that cannot be stored as it is (for a post that got past
    `parse` and failed its insert anyway)."""
    fields = {
        "source": post.source,
        "id": post.external_id,
        "author.handle": post.author_handle,
        "author.name": post.author_name,
        "author.id": post.author_id,
        "text": post.text,
        "url": post.url,
    }
    return next((field for field, value in fields.items() if value and unstorable(value)), None)


def _storable_id(field: str, value: str) -> str:
    reason = unstorable(value)
    if reason is not None:
        raise InvalidPayload(field, reason)
    return value


def _text(data: dict[str, Any], name: str, *, required: bool, limit: int, prefix: str = "", words: bool = False) -> str:
    """A string field: the customer's `words` are cleaned (see `storable_words`), anything else must be storable."""
    value = data.get(name)
    field = prefix + name
    if isinstance(value, str):
        value = storable_words(value) if words else _storable_id(field, value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidPayload(field, "is required and must be a non-empty string")
        return ""
    if not isinstance(value, str):
        raise InvalidPayload(field, f"must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidPayload(field, f"is longer than {limit} characters")
    return value.strip()


def _scalar_id(data: dict[str, Any], name: str, prefix: str = "") -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidPayload(prefix + name, "must be a string or an integer")
    text = _storable_id(prefix + name, str(value)).strip()
    if len(text) > MAX_ID_CHARS:
        raise InvalidPayload(prefix + name, f"is longer than {MAX_ID_CHARS} characters")
    return text or None


def _external_id(data: dict[str, Any]) -> str:
    value = _scalar_id(data, "id")
    if value is None:
        raise InvalidPayload("id", "is required: the complaint's id at its source, used to recognise repeats")
    return value


def _url(data: dict[str, Any]) -> str | None:
    value = _text(data, "url", required=False, limit=3000)
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidPayload("url", "must be an http(s) URL")
    return value


def _created_at(data: dict[str, Any]) -> datetime | None:
    value = data.get("created_at")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidPayload("created_at", "must be an ISO 8601 string such as 2026-11-22T10:15:00Z")
    _storable_id("created_at", value)
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidPayload("created_at", "must be an ISO 8601 string such as 2026-11-22T10:15:00Z") from exc
    if moment.tzinfo is None:
        raise InvalidPayload("created_at", "must include a time zone, e.g. 2026-11-22T10:15:00Z or +01:00")
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+14:00, before the first moment a datetime can hold
        raise InvalidPayload("created_at", "is outside the range of dates Heard can store") from exc
