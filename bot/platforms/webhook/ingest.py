"""The generic webhook (`POST /ingest`): its signature and its JSON body, checked field by field.

Errors name the field and say what is wrong, because the reader is whoever wires up a new source.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from slack_sdk.signature import SignatureVerifier

from bot.platforms.base import NewComplaint

SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_TEXT_CHARS = 40_000
MAX_ID_CHARS = 256
MAX_NAME_CHARS = 256


class InvalidPayload(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def signature_is_valid(secret: str, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    """Same scheme as Slack's (`v0:{timestamp}:{body}`, HMAC-SHA256), and stale after 5 minutes like Slack's."""
    if not timestamp or not signature:
        return False
    return SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature)


def parse(body: bytes) -> NewComplaint:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPayload("body", f"is not valid JSON ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict):
        raise InvalidPayload("body", "must be a JSON object")
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
        author_name=_text(author, "name", required=False, limit=MAX_NAME_CHARS, prefix="author.") or None,
        author_id=_scalar_id(author, "id", prefix="author."),
        text=_text(data, "text", required=True, limit=MAX_TEXT_CHARS),
        url=_url(data),
        posted_at=_created_at(data),
        raw=data,
    )


def _text(data: dict[str, Any], name: str, *, required: bool, limit: int, prefix: str = "") -> str:
    value = data.get(name)
    field = prefix + name
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
    text = str(value).strip()
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
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidPayload("created_at", "must be an ISO 8601 string such as 2026-11-22T10:15:00Z") from exc
    if moment.tzinfo is None:
        raise InvalidPayload("created_at", "must include a time zone, e.g. 2026-11-22T10:15:00Z or +01:00")
    return moment.astimezone(UTC)
