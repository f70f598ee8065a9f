"""X's API as tweepy meets it in tests: real v2 response bodies (tests/fixtures/x-api) replayed through tweepy's own
`requests` session, intercepted with `responses` (tweepy hard-codes https://api.twitter.com).

A test queues what each feed answers next (pages, or failures such as 429, 503, 401); a feed with nothing queued
answers an empty page, as X does when nothing new was posted. Every request is recorded with its parameters.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from requests import PreparedRequest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x-api"
BRAND_ID = "783214"  # @Twitter, whose real mentions the fixture holds
BRAND_HANDLE = "Twitter"
MENTIONS_URL = re.compile(r"https://api\.twitter\.com/2/users/(\d+)/mentions")
SEARCH_URL = "https://api.twitter.com/2/tweets/search/recent"
USER_BY_NAME_URL = re.compile(r"https://api\.twitter\.com/2/users/by/username/(\w+)")

_fresh_ids = itertools.count(1_900_000_000_000_000_000)


def recorded(name: str) -> dict[str, Any]:
    """The response body X sent for one of tweepy's recorded requests."""
    interaction = json.loads((FIXTURES / f"{name}.json").read_text())["interactions"][0]
    return interaction["response"]["body"]


def real_mention_texts() -> list[str]:
    return [post["text"] for post in recorded("get_users_mentions")["data"]]


@dataclass
class Author:
    id: str
    username: str
    name: str
    followers: int = 120
    verified: bool = False

    def as_user(self) -> dict[str, Any]:
        """`includes.users[*]` with the user fields Heard asks for, in X's documented shape."""
        return {
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "verified": self.verified,
            "public_metrics": {
                "followers_count": self.followers,
                "following_count": 80,
                "tweet_count": 4321,
                "listed_count": 2,
            },
        }


MARIA = Author("1486422771111111111", "maria_lopez", "María López", followers=1_250)
BRAND = Author(BRAND_ID, BRAND_HANDLE, "Twitter", followers=66_000_000, verified=True)


def post(
    text: str,
    author: Author | None = MARIA,
    *,
    id: str | None = None,
    conversation_id: str | None = None,
    lang: str = "en",
    minutes_ago: float = 1.0,
    reposted: str | None = None,
) -> dict[str, Any]:
    """A post as X returns it with expansions=author_id and the tweet fields Heard asks for."""
    post_id = id or str(next(_fresh_ids))
    created = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    body: dict[str, Any] = {
        "id": post_id,
        "edit_history_tweet_ids": [post_id],
        "text": text,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conversation_id": conversation_id or post_id,
        "lang": lang,
    }
    if author is not None:
        body["author_id"] = author.id
    if reposted:
        body["referenced_tweets"] = [{"type": "retweeted", "id": reposted}]
    return body


def page(posts: list[dict[str, Any]], authors: list[Author] | None = None, next_token: str | None = None) -> dict:
    """A page in X's shape: newest first, meta with newest/oldest ids and, when more follow, next_token."""
    ordered = sorted(posts, key=lambda p: int(p["id"]), reverse=True)
    body: dict[str, Any] = {"meta": {"result_count": len(ordered)}}
    if ordered:
        body["data"] = ordered
        body["meta"].update(newest_id=ordered[0]["id"], oldest_id=ordered[-1]["id"])
    if authors:
        body["includes"] = {"users": [author.as_user() for author in authors]}
    if next_token:
        body["meta"]["next_token"] = next_token
    return body


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    feed: str
    params: dict[str, str]
    at: float
    url: str = ""


class FakeX:
    """Install with `FakeX.install()` inside a test; answers the mentions, search and user-lookup endpoints."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
        self._lock = threading.Lock()
        self._queued: dict[str, deque[Answer]] = {"mentions": deque(), "search": deque()}
        self.requests: list[Request] = []
        self.remaining = 449
        mock.add_callback(responses.GET, MENTIONS_URL, callback=lambda r: self._answer("mentions", r))
        mock.add_callback(responses.GET, SEARCH_URL, callback=lambda r: self._answer("search", r))
        mock.add_callback(responses.GET, USER_BY_NAME_URL, callback=self._user_by_name)
        # Heard's own HTTP (Slack, /ingest) is not X's business.
        mock.add_passthru(re.compile(r"http://127\.0\.0\.1"))

    def answer(self, feed: str, body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._queued[feed].append(Answer(status, body, headers or {}))

    def fail(self, feed: str, status: int, *, reset_in: float | None = None, times: int = 1) -> None:
        bodies = {
            401: {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
            429: {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
            503: {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503},
        }
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0" if status == 429 else "400"}
        if reset_in is not None:
            headers["x-rate-limit-reset"] = str(int(time.time() + reset_in))
        for _ in range(times):
            self.answer(feed, bodies.get(status, {"title": "Error", "status": status}), status, headers)

    def of(self, feed: str) -> list[Request]:
        with self._lock:
            return [request for request in self.requests if request.feed == feed]

    def _answer(self, feed: str, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        params = {key: values[0] for key, values in parse_qs(urlsplit(request.url or "").query).items()}
        with self._lock:
            self.requests.append(Request(feed, params, time.time(), request.url or ""))
            queued = self._queued[feed]
            answer = queued.popleft() if queued else Answer(200, page([]))
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }
        headers.update(answer.headers)
        return answer.status, headers, json.dumps(answer.body)

    def _user_by_name(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        match = USER_BY_NAME_URL.match(request.url or "")
        username = match.group(1) if match else ""
        with self._lock:
            self.requests.append(Request("user", {"username": username}, time.time()))
        if username.lower() != BRAND_HANDLE.lower():
            return 200, {}, json.dumps({"errors": [{"title": "Not Found Error", "detail": "Could not find user"}]})
        return 200, {"content-type": "application/json"}, json.dumps(recorded("get_user"))


HIDDEN_URL = re.compile(r"https://api\.twitter\.com/2/tweets/(\d+)/hidden")
MUTING_URL = re.compile(r"https://api\.twitter\.com/2/users/(\d+)/muting")
# X's problem body for a reply in a conversation the brand did not start (documented shape; not recorded).
HIDE_FORBIDDEN = {
    "title": "Forbidden",
    "type": "about:blank",
    "status": 403,
    "detail": "You cannot hide or unhide replies to a conversation that you don't own",
}


class ModerationX:
    """The write endpoints moderation uses, on the same `responses` mock as FakeX: PUT /2/tweets/:id/hidden (the
    real recorded answer, or 403 for posts listed in `forbidden`) and POST /2/users/:me/muting."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self._lock = threading.Lock()
        self.forbidden: set[str] = set()
        self.hidden: list[str] = []
        self.muted: list[tuple[str, str]] = []  # (the brand's id from the access token, the muted user's id)
        self.authorizations: list[str] = []
        mock.add_callback(responses.PUT, HIDDEN_URL, callback=self._hide)
        mock.add_callback(responses.POST, MUTING_URL, callback=self._mute)

    def _hide(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        match = HIDDEN_URL.match(request.url or "")
        post_id = match.group(1) if match else ""
        with self._lock:
            self.authorizations.append(str(request.headers.get("Authorization", "")))
            if post_id in self.forbidden:
                return 403, {"content-type": "application/problem+json"}, json.dumps(HIDE_FORBIDDEN)
            self.hidden.append(post_id)
        return 200, {"content-type": "application/json; charset=utf-8"}, json.dumps(recorded("hide_and_unhide_reply"))

    def _mute(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        match = MUTING_URL.match(request.url or "")
        body = json.loads(request.body or b"{}")
        with self._lock:
            self.authorizations.append(str(request.headers.get("Authorization", "")))
            self.muted.append((match.group(1) if match else "", str(body.get("target_user_id"))))
        return 200, {"content-type": "application/json; charset=utf-8"}, json.dumps({"data": {"muting": True}})
