"""Meta's webhooks, parsed: the subscription handshake, the delivery signature, and Page `feed` and Instagram
`comments` / `mentions` changes as typed values. Pure: no database, no network.

A delivery may batch several changes (and several entries); one malformed change is skipped with a reason and
never stops its neighbours. Only a body that is unusable as a whole raises `InvalidDelivery`. Texts are kept exactly
as sent: what a customer wrote is data, rendered safely where it is shown.

Shapes: ../shared/fixtures/meta/ (recorded restfb deliveries for the Page feed, Meta's documented samples for
Instagram) and PLATFORM.md's Meta section.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "FACEBOOK",
    "INSTAGRAM",
    "Change",
    "CommentAdded",
    "CommentChange",
    "CommentEdited",
    "CommentHidden",
    "CommentRemoved",
    "Delivery",
    "InvalidDelivery",
    "MentionToFetch",
    "parse_delivery",
    "signature_is_valid",
    "verify_subscription",
]

FACEBOOK = "facebook"
INSTAGRAM = "instagram"
SIGNATURE_PREFIX = "sha256="
# Meta's challenge is a number (e.g. 1158201444 in its Getting Started page). Echo nothing else: the answer is
# reflected to whoever sent the GET.
_CHALLENGE = re.compile(r"^[A-Za-z0-9_.\-]{1,256}$")
# The id Meta puts in `entry.id` of its sample deliveries (the dashboard's Test button, the docs' samples).
SAMPLE_ENTRY_ID = "0"
_GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"


class InvalidDelivery(Exception):
    """The body as a whole is unusable (answer 400); `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CommentAdded:
    """A new comment (or reply) by someone other than the Page / the account.

    `post_id`: the Facebook post (`{page}_{post}`) or the Instagram media. `thread_id`: the thread's top-level
    comment (the comment itself when it is top-level). `author_id`/`author_name` are None when Meta left `from` out
    (an app without the permission to see people): fetch the comment before treating it as a customer's.
    `author_handle`: the Instagram username; on Facebook, which has no handles, the person's name.
    """

    platform: str
    comment_id: str
    post_id: str
    parent_id: str | None
    thread_id: str
    author_id: str | None
    author_name: str | None
    author_handle: str | None
    text: str
    created_at: datetime
    url: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class CommentChange:
    """What every change to an existing comment carries: the network, the comment, and the change as Meta sent it."""

    platform: str
    comment_id: str
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class CommentEdited(CommentChange):
    text: str
    edited_at: datetime


@dataclass(frozen=True)
class CommentRemoved(CommentChange):
    removed_at: datetime


@dataclass(frozen=True)
class CommentHidden(CommentChange):
    """Someone hid (or unhid) the comment on Facebook itself (the Page's `hide` / `unhide` verbs)."""

    hidden: bool
    at: datetime


@dataclass(frozen=True)
class MentionToFetch:
    """The Instagram account was @-mentioned in a comment; the delivery carries only ids, so the comment must be
    fetched (`GET /{ig-user-id}?fields=mentioned_comment.comment_id(<id>){...}`)."""

    comment_id: str
    media_id: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    platform: str = INSTAGRAM


Change = CommentAdded | CommentEdited | CommentRemoved | CommentHidden | MentionToFetch


@dataclass(frozen=True)
class Delivery:
    changes: list[Change]
    #: One line per change skipped, saying where it was and why.
    skipped: list[str]


# -- handshake and signature ----------------------------------------------------------------------------------------


def signature_is_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>`: an HMAC-SHA256 of the raw body bytes (as received; Meta signs its
    escaped-unicode payload, so re-encoding parsed JSON would not match) keyed with the App Secret."""
    if not app_secret or not header:
        return False
    header = header.strip()
    if not header.lower().startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len(SIGNATURE_PREFIX) :].lower().encode(), expected.encode())


def verify_subscription(query: dict[str, str], verify_token: str) -> str | None:
    """Meta's GET `?hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=<yours>`: the challenge to answer (200,
    as plain text) when the token matches, else None (answer 403)."""
    if not verify_token or query.get("hub.mode") != "subscribe":
        return None
    token = query.get("hub.verify_token") or ""
    challenge = query.get("hub.challenge") or ""
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return challenge if _CHALLENGE.match(challenge) else None


# -- deliveries -----------------------------------------------------------------------------------------------------


class _Skip(Exception):
    """This change is skipped; the message says why."""


def parse_delivery(body: bytes, page_id: str | None, instagram_account_id: str | None) -> Delivery:
    """The changes in one delivery, and a line for each change skipped.

    `page_id` / `instagram_account_id`: the configured Page and account (None: not configured, nothing filtered).
    Entries for another Page or account, Meta's sample deliveries (entry id "0") when the account is configured,
    and the Page's (account's) own comments are skipped with a reason."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidDelivery("body", "the body is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidDelivery("body", "the body is not a JSON object")
    kind = document.get("object")
    if kind not in ("page", INSTAGRAM):
        raise InvalidDelivery("object", f"object must be 'page' or 'instagram', not {_show(kind)}")
    entries = document.get("entry")
    if not isinstance(entries, list):
        raise InvalidDelivery("entry", "entry must be a list")
    platform = FACEBOOK if kind == "page" else INSTAGRAM
    account = page_id if platform == FACEBOOK else instagram_account_id
    changes: list[Change] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        where = f"entry[{index}]"
        if not isinstance(entry, dict):
            skipped.append(f"{where}: not an object")
            continue
        entry_id = _id_or_none(entry.get("id"))
        if account and entry_id is not None and entry_id != account:
            if entry_id == SAMPLE_ENTRY_ID:
                skipped.append(f"{where}: Meta's sample delivery (entry id 0, e.g. the dashboard's Test button)")
            else:
                skipped.append(f"{where}: for {platform} account {entry_id}, not the configured {account}")
            continue
        entry_changes = entry.get("changes")
        if not isinstance(entry_changes, list):
            what = "messaging events, not comments" if "messaging" in entry else "no changes list"
            skipped.append(f"{where}: {what}")
            continue
        for position, change in enumerate(entry_changes):
            at = f"{where}.changes[{position}]"
            try:
                if not isinstance(change, dict):
                    raise _Skip("not an object")
                changes.append(_parse_change(platform, entry, change, account))
            except _Skip as skip:
                name = change.get("field") if isinstance(change, dict) else None
                label = f" ({name})" if isinstance(name, str) else ""
                skipped.append(f"{at}{label}: {skip}")
            except Exception as error:  # a shape nobody foresaw must still leave the neighbours filed
                skipped.append(f"{at}: could not be read ({type(error).__name__})")
    return Delivery(changes, skipped)


def _parse_change(platform: str, entry: dict[str, Any], change: dict[str, Any], account: str | None) -> Change:
    name = change.get("field")
    value = change.get("value")
    if not isinstance(value, dict):
        raise _Skip("value is not an object")
    # What Meta sent for this change, with where it came from: kept as evidence.
    raw = {
        "object": "page" if platform == FACEBOOK else INSTAGRAM,
        "entry_id": entry.get("id"),
        "time": entry.get("time"),
        "field": name,
        "value": value,
    }
    if platform == FACEBOOK:
        if name == "feed":
            return _feed(entry, value, account, raw)
        if name == "mention":
            raise _Skip(
                "a mention of the Page is not handled: comments on the Page's posts arrive in 'feed', and Heard "
                "cannot answer on other people's posts"
            )
        raise _Skip(f"field {_show(name)} is not handled")
    if name == "comments":
        return _instagram_comment(entry, value, account, raw)
    if name == "mentions":
        comment_id = _required_id(value, "comment_id")
        media_id = _id_or_none(value.get("media_id"))
        if value.get("media_id") is not None and media_id is None:
            raise _Skip("value.media_id is not an id")
        return MentionToFetch(comment_id=comment_id, media_id=media_id, raw=raw)
    if name == "live_comments":
        raise _Skip("live comments are not handled")
    raise _Skip(f"field {_show(name)} is not handled")


def _feed(entry: dict[str, Any], value: dict[str, Any], page_id: str | None, raw: dict[str, Any]) -> Change:
    item = value.get("item")
    if item != "comment":
        raise _Skip(f"item {_show(item)} is not a comment")
    verb = value.get("verb")
    comment_id = _required_id(value, "comment_id")
    if verb == "remove":
        return CommentRemoved(FACEBOOK, comment_id, raw, removed_at=_entry_time(entry, value))
    if verb in ("hide", "unhide"):
        return CommentHidden(FACEBOOK, comment_id, raw, hidden=verb == "hide", at=_entry_time(entry, value))
    if verb not in ("add", "edited"):
        raise _Skip(f"verb {_show(verb)} is not handled")
    author_id, author_name = _facebook_author(value)
    if page_id and author_id == page_id:
        raise _Skip(f"comment {comment_id} is the Page's own")
    text = _text(value, "message")
    if verb == "edited":
        return CommentEdited(FACEBOOK, comment_id, raw, text=text, edited_at=_entry_time(entry, value))
    post_id = _required_id(value, "post_id")
    parent_id = _id_or_none(value.get("parent_id"))
    if value.get("parent_id") is not None and parent_id is None:
        raise _Skip("value.parent_id is not an id")
    top_level = parent_id is None or parent_id == post_id
    return CommentAdded(
        platform=FACEBOOK,
        comment_id=comment_id,
        post_id=post_id,
        parent_id=parent_id,
        thread_id=comment_id if top_level else parent_id or comment_id,
        author_id=author_id,
        author_name=author_name,
        author_handle=author_name,
        text=text,
        created_at=_time(value, "created_time", fallback=entry.get("time")),
        url=_facebook_url(post_id, comment_id, None if top_level else parent_id),
        raw=raw,
    )


def _instagram_comment(
    entry: dict[str, Any], value: dict[str, Any], account_id: str | None, raw: dict[str, Any]
) -> CommentAdded:
    comment_id = _required_id(value, "id")
    author = value.get("from")
    if author is None:
        # Meta's older documented shape ({text, id} only): who wrote it and where are unknown; the backfill poll
        # reads the comment with both.
        raise _Skip(f"comment {comment_id} has no 'from' (older delivery shape); the backfill poll reads it")
    if not isinstance(author, dict):
        raise _Skip("value.from is not an object")
    author_id = _id_or_none(author.get("id"))
    if author_id is None:
        raise _Skip("value.from.id is not an id")
    username = author.get("username")
    if username is not None and not isinstance(username, str):
        raise _Skip("value.from.username is not text")
    if account_id and author_id == account_id:
        raise _Skip(f"comment {comment_id} is the account's own")
    media = value.get("media")
    if not isinstance(media, dict) or _id_or_none(media.get("id")) is None:
        raise _Skip("value.media.id is missing or not an id")
    media_id = _id_or_none(media.get("id")) or ""
    parent_id = _id_or_none(value.get("parent_id"))
    if value.get("parent_id") is not None and parent_id is None:
        raise _Skip("value.parent_id is not an id")
    return CommentAdded(
        platform=INSTAGRAM,
        comment_id=comment_id,
        post_id=media_id,
        parent_id=parent_id,
        # Instagram threads are one level deep: a reply's parent is the top-level comment.
        thread_id=parent_id or comment_id,
        author_id=author_id,
        # Instagram shows people by username; the delivery carries no display name.
        author_name=username,
        author_handle=username,
        text=_text(value, "text"),
        # The comments delivery has no time of its own; the entry's is when Meta saw the change.
        created_at=_time(value, "timestamp", fallback=entry.get("time")),
        url=_text_or_none(value, "permalink"),
        raw=raw,
    )


# -- fields ---------------------------------------------------------------------------------------------------------


def _facebook_author(value: dict[str, Any]) -> tuple[str | None, str | None]:
    """`from {id, name}`, or the v2.5 shape's `sender_id` (a number) and `sender_name`."""
    author = value.get("from")
    if author is not None:
        if not isinstance(author, dict):
            raise _Skip("value.from is not an object")
        author_id, name, where = author.get("id"), author.get("name"), "value.from"
    else:
        author_id, name, where = value.get("sender_id"), value.get("sender_name"), "value.sender"
    identifier = _id_or_none(author_id)
    if author_id is not None and identifier is None:
        raise _Skip(f"{where}{'.id' if where == 'value.from' else '_id'} is not an id")
    if name is not None and not isinstance(name, str):
        raise _Skip(f"{where}{'.name' if where == 'value.from' else '_name'} is not text")
    return identifier, name or None


def _facebook_url(post_id: str, comment_id: str, parent_id: str | None) -> str:
    """Facebook's comment permalink, as Graph's `permalink_url` shapes it (recorded in the comments fixtures):
    `https://www.facebook.com/{page}/posts/{post}/?comment_id={comment}`, and for a reply
    `?comment_id={parent}&reply_comment_id={reply}` (the numbers after the `_` of each id)."""
    number = comment_id.rsplit("_", 1)[-1]
    if "_" in post_id:
        page, post = post_id.split("_", 1)
        base = f"https://www.facebook.com/{page}/posts/{post}/"
    else:
        base = f"https://www.facebook.com/{post_id}/"
    if parent_id:
        return f"{base}?comment_id={parent_id.rsplit('_', 1)[-1]}&reply_comment_id={number}"
    return f"{base}?comment_id={number}"


def _required_id(value: dict[str, Any], name: str) -> str:
    identifier = _id_or_none(value.get(name))
    if identifier is None:
        missing = value.get(name) is None
        raise _Skip(f"value.{name} is {'missing' if missing else 'not an id'}")
    return identifier


def _id_or_none(raw: Any) -> str | None:
    """Graph ids are strings of digits (with a `_` between parts); older deliveries send some as numbers."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def _text(value: dict[str, Any], name: str) -> str:
    """The text as sent. A comment without one (a photo or a sticker) has empty text."""
    text = value.get(name)
    if text is None:
        return ""
    if not isinstance(text, str):
        raise _Skip(f"value.{name} is not text ({type(text).__name__})")
    return text


def _text_or_none(value: dict[str, Any], name: str) -> str | None:
    text = value.get(name)
    return text if isinstance(text, str) and text else None


def _time(value: dict[str, Any], name: str, *, fallback: Any) -> datetime:
    """Webhook times are unix seconds; a Graph-format string (`2021-08-10T18:45:03+0000`) is read too."""
    raw = value.get(name)
    if raw is None:
        if fallback is None:
            raise _Skip(f"value.{name} is missing, and so is entry.time")
        return _unix(fallback, "entry.time")
    if isinstance(raw, str) and not raw.strip().isdigit():
        try:
            return datetime.strptime(raw.strip(), _GRAPH_TIME).astimezone(UTC)
        except ValueError:
            raise _Skip(f"value.{name} is not a time") from None
    return _unix(raw, f"value.{name}")


def _entry_time(entry: dict[str, Any], value: dict[str, Any]) -> datetime:
    """When the change happened: the entry's time (an edit or removal keeps the comment's own created_time)."""
    if entry.get("time") is not None:
        return _unix(entry["time"], "entry.time")
    return _time(value, "created_time", fallback=None)


def _unix(raw: Any, where: str) -> datetime:
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _Skip(f"{where} is not a time in unix seconds")
    try:
        return datetime.fromtimestamp(raw, UTC)
    except (OverflowError, OSError, ValueError):
        raise _Skip(f"{where} is out of range") from None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
