"""X (Twitter) API v2 through tweepy: the two feeds Heard reads, and a post turned into a complaint.

Heard asks tweepy for the raw `requests.Response` so it can read X's `x-rate-limit-*` headers; tweepy still builds
the request, authenticates and turns error statuses into its exceptions.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from bot.config import XSettings, XUserAuth
from bot.i18n import N_, _
from bot.platforms.base import NewComplaint

SOURCE = "x"
MENTIONS = "mentions"
SEARCH = "search"
FEED_LABELS = {
    # Translators: X's feed of posts that mention the brand, e.g. "X mentions has stopped".
    MENTIONS: N_("mentions"),
    # Translators: X's feed of posts found by keywords, e.g. "X keyword search has stopped".
    SEARCH: N_("keyword search"),
}
TWEET_FIELDS = ["author_id", "created_at", "conversation_id", "lang", "referenced_tweets", "in_reply_to_user_id"]
USER_FIELDS = ["name", "username", "public_metrics", "verified"]
EXPANSIONS = ["author_id"]
PAGE_SIZE = 100
# X refuses smaller pages than these; with less read budget left than this, Heard waits for the next day.
SMALLEST_PAGE = {MENTIONS: 5, SEARCH: 10}
# The name of the pagination parameter differs between the two endpoints (meta.next_token feeds both).
PAGE_PARAMETER = {MENTIONS: "pagination_token", SEARCH: "next_token"}


def _not_counted(status: str) -> None:
    return None


class TimeoutSession(requests.Session):
    """tweepy sets no timeout; a hung connection would stall polling for good. Every X call passes here, so failures
    are counted here too (`failed`: the HTTP status, or "timeout" / "connection")."""

    def __init__(self, timeout: timedelta, failed: Callable[[str], None] = _not_counted) -> None:
        super().__init__()
        self.timeout = timeout.total_seconds()
        self.failed = failed

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = super().request(*args, **kwargs)
        except requests.Timeout:
            self.failed("timeout")
            raise
        except requests.RequestException:
            self.failed("connection")
            raise
        if response.status_code >= 400:
            self.failed(str(response.status_code))
        return response


# tweepy logs each request's headers at DEBUG, the bearer token and OAuth signatures among them; oauthlib and
# requests_oauthlib (which sign X writes) log the consumer key, the access token and the signed headers.
SECRET_LOGGING_LIBRARIES = ("tweepy", "oauthlib", "requests_oauthlib")


def quiet_tweepy() -> None:
    """Never let X's credentials reach a log, whatever LOG_LEVEL says: the libraries that see them stay at INFO."""
    for name in SECRET_LOGGING_LIBRARIES:
        # Their own level, not the effective one: a root logger set to DEBUG later must not open them up again.
        if logging.getLogger(name).level < logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)


def make_user_client(
    auth: XUserAuth, timeout: timedelta, failed: Callable[[str], None] = _not_counted
) -> tweepy.Client:
    """Writing in the brand's name (replies, DMs, hiding, muting) needs user-context keys; the bearer token reads."""
    quiet_tweepy()
    client = tweepy.Client(
        consumer_key=auth.consumer_key,
        consumer_secret=auth.consumer_secret,
        access_token=auth.access_token,
        access_token_secret=auth.access_token_secret,
        return_type=requests.Response,
    )
    client.session = TimeoutSession(timeout, failed)
    return client


def make_client(settings: XSettings, failed: Callable[[str], None] = _not_counted) -> tweepy.Client:
    quiet_tweepy()
    client = tweepy.Client(bearer_token=settings.bearer_token, return_type=requests.Response)
    client.session = TimeoutSession(settings.timeout, failed)
    return client


def token_fingerprint(token: str) -> str:
    """Recognises a changed token without storing it."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def search_query(query: str, brand_handle: str | None) -> str:
    """Reposts and the brand's own posts are never complaints; X can leave them out before they are billed."""
    query = f"({query}) -is:retweet"
    return f"{query} -from:{brand_handle}" if brand_handle else query


@dataclass(frozen=True)
class Page:
    posts: list[dict[str, Any]]
    users: dict[str, dict[str, Any]]
    result_count: int
    newest_id: str | None
    next_token: str | None
    # X's own view of the rate limit after this request.
    remaining: int | None
    reset_at: datetime | None
    raw: dict[str, Any]


def read_page(response: requests.Response) -> Page:
    body = response.json() if response.content else {}
    meta = body.get("meta") or {}
    users = {str(user["id"]): user for user in (body.get("includes") or {}).get("users", []) if "id" in user}
    posts = [post for post in body.get("data") or [] if isinstance(post, dict) and "id" in post]
    return Page(
        posts=posts,
        users=users,
        result_count=int(meta.get("result_count", len(posts))),
        newest_id=meta.get("newest_id"),
        next_token=meta.get("next_token"),
        remaining=_int_header(response.headers, "x-rate-limit-remaining"),
        reset_at=reset_time(_int_header(response.headers, "x-rate-limit-reset")),
        raw=body,
    )


def reset_time(epoch_seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch_seconds, UTC) if epoch_seconds else None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def is_repost(post: Mapping[str, Any]) -> bool:
    references = post.get("referenced_tweets") or []
    return any(ref.get("type") == "retweeted" for ref in references) or str(post.get("text", "")).startswith("RT @")


def to_complaint(
    post: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], brand_id: str | None, brand_handle: str | None
) -> NewComplaint | None:
    """A post as a complaint, or None for what is never one: the brand's own posts and reposts."""
    author_id = str(post["author_id"]) if post.get("author_id") is not None else None
    author = users.get(author_id or "", {})
    username = author.get("username")
    if is_repost(post) or (brand_id and author_id == brand_id):
        return None
    if brand_handle and username and username.lower() == brand_handle.lower():
        return None
    post_id = str(post["id"])
    metrics = author.get("public_metrics") or {}
    followers = metrics.get("followers_count")
    return NewComplaint(
        source=SOURCE,
        external_id=post_id,
        author_handle=username or (f"id:{author_id}" if author_id else "unknown"),
        author_name=author.get("name"),
        author_id=author_id,
        author_followers=int(followers) if isinstance(followers, int) else None,
        author_verified=author.get("verified") if isinstance(author.get("verified"), bool) else None,
        text=str(post.get("text", "")),
        url=f"https://x.com/{username}/status/{post_id}" if username else f"https://x.com/i/web/status/{post_id}",
        posted_at=_created_at(post.get("created_at")),
        lang=post.get("lang"),
        conversation_id=str(post["conversation_id"]) if post.get("conversation_id") else None,
        raw={"post": dict(post), "author": dict(author) if author else None},
        platform=SOURCE,
    )


def _created_at(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def describe_failure(error: Exception, timeout: timedelta) -> str:
    """What went wrong, in words for the channel and the log (never the token)."""
    if isinstance(error, tweepy.TooManyRequests):
        return _("429 rate limit from X")
    if isinstance(error, tweepy.Unauthorized):
        # Translators: X_BEARER_TOKEN is a setting's name: keep it as it is.
        return _("401 Unauthorized from X: check X_BEARER_TOKEN")
    if isinstance(error, tweepy.HTTPException):
        status = error.response.status_code if error.response is not None else "error"
        detail = (error.api_messages or [""])[0]
        if detail:
            # Translators: an HTTP status from X, then what X said (in English).
            return _("%(status)s from X (%(detail)s)", status=status, detail=detail[:200])
        return _("%(status)s from X", status=status)
    if isinstance(error, requests.Timeout):
        return _("X did not answer within %(seconds)s s", seconds=int(timeout.total_seconds()))
    if isinstance(error, requests.ConnectionError):
        return _("could not reach X")
    return _("unexpected answer from X (%(error)s)", error=error.__class__.__name__)
