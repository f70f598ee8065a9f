"""X's write endpoints for replies, as tweepy meets them in tests: POST /2/tweets and the DM endpoints (the real
recorded answers in tests/fixtures/x-api), plus the reads Heard uses to look for a reply whose outcome it did not
hear (GET /2/users/me, GET /2/users/:id/tweets, GET /2/dm_conversations/with/:id/dm_events).

Installed on the same `responses` mock as `FakeX` (or alone). A test queues what the next writes answer: a
refusal (429, 403 duplicate, ...) or "posted, but the answer never came" (`post_then_time_out`).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import requests
import responses
from requests import PreparedRequest

from tests.x_api import recorded

TWEETS_URL = "https://api.twitter.com/2/tweets"
ME_URL = "https://api.twitter.com/2/users/me"
USER_TWEETS_URL = re.compile(r"https://api\.twitter\.com/2/users/(\d+)/tweets")
DM_URL = re.compile(r"https://api\.twitter\.com/2/dm_conversations/with/(\d+)/messages")
DM_EVENTS_URL = re.compile(r"https://api\.twitter\.com/2/dm_conversations/with/(\d+)/dm_events")
TIMEOUT = "timeout"

RATE_LIMITED = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}

_post_ids = itertools.count(1_950_000_000_000_000_000)
_dm_ids = itertools.count(1_960_000_000_000_000_000)


def brand() -> dict[str, str]:
    """The account the user-context credentials belong to (recorded GET /2/users/me)."""
    return recorded("get_me")["data"]


@dataclass
class Posted:
    id: str
    text: str
    in_reply_to: str | None = None
    to: str | None = None  # a DM's recipient


class ReplyX:
    def __init__(self, mock: responses.RequestsMock) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, deque[Any]] = {"tweets": deque(), "dm": deque()}
        self.tweets: list[Posted] = []  # what X actually posted
        self.dms: list[Posted] = []
        self.attempts: list[dict[str, Any]] = []  # every write request's JSON body
        self.reads: list[str] = []
        self.authorizations: list[str] = []
        mock.add_callback(responses.POST, TWEETS_URL, callback=self._tweet)
        mock.add_callback(responses.GET, ME_URL, callback=self._me)
        mock.add_callback(responses.GET, USER_TWEETS_URL, callback=self._user_tweets)
        mock.add_callback(responses.POST, DM_URL, callback=self._dm)
        mock.add_callback(responses.GET, DM_EVENTS_URL, callback=self._dm_events)
        mock.add_passthru(re.compile(r"http://127\.0\.0\.1"))

    def refuse(self, what: str, status: int, body: dict[str, Any], reset_in: float | None = None) -> None:
        headers = {"x-rate-limit-reset": str(int(time.time() + reset_in))} if reset_in is not None else {}
        with self._lock:
            self._next[what].append((status, body, headers))

    def post_then_time_out(self, what: str = "tweets") -> None:
        """The next write reaches X and is posted, but its answer is lost (tweepy sees a read timeout)."""
        with self._lock:
            self._next[what].append(TIMEOUT)

    def _tweet(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body or b"{}")
        with self._lock:
            self.attempts.append({"endpoint": "tweets", **body})
            self.authorizations.append(str(request.headers.get("Authorization", "")))
            planned = self._next["tweets"].popleft() if self._next["tweets"] else None
            if isinstance(planned, tuple):
                status, problem, headers = planned
                return status, {"content-type": "application/problem+json", **headers}, json.dumps(problem)
            reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            posted = Posted(str(next(_post_ids)), body.get("text", ""), in_reply_to=reply_to)
            self.tweets.append(posted)
        if planned == TIMEOUT:
            raise requests.exceptions.ReadTimeout("X did not answer in time")
        answer = recorded("create_and_delete_tweet")  # the real shape, with what this test posted
        answer["data"] = {"id": posted.id, "text": posted.text, "edit_history_tweet_ids": [posted.id]}
        return 201, {"content-type": "application/json; charset=utf-8"}, json.dumps(answer)

    def _dm(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        match = DM_URL.match(request.url or "")
        body = json.loads(request.body or b"{}")
        with self._lock:
            self.attempts.append({"endpoint": "dm", "to": match.group(1) if match else "", **body})
            self.authorizations.append(str(request.headers.get("Authorization", "")))
            planned = self._next["dm"].popleft() if self._next["dm"] else None
            if isinstance(planned, tuple):
                status, problem, headers = planned
                return status, {"content-type": "application/problem+json", **headers}, json.dumps(problem)
            posted = Posted(str(next(_dm_ids)), body.get("text", ""), to=match.group(1) if match else None)
            self.dms.append(posted)
        if planned == TIMEOUT:
            raise requests.exceptions.ReadTimeout("X did not answer in time")
        answer = {"data": {"dm_conversation_id": f"{posted.to}-{brand()['id']}", "dm_event_id": posted.id}}
        return 201, {"content-type": "application/json; charset=utf-8"}, json.dumps(answer)

    def _me(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        with self._lock:
            self.reads.append("me")
        return 200, {"content-type": "application/json"}, json.dumps(recorded("get_me"))

    def _user_tweets(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        with self._lock:
            self.reads.append("tweets")
            data = [
                {
                    "id": post.id,
                    "text": post.text.replace("&", "&amp;"),  # as X returns text
                    "edit_history_tweet_ids": [post.id],
                    **(
                        {"referenced_tweets": [{"type": "replied_to", "id": post.in_reply_to}]}
                        if post.in_reply_to
                        else {}
                    ),
                }
                for post in reversed(self.tweets)
            ]
        body = {"data": data, "meta": {"result_count": len(data)}} if data else {"meta": {"result_count": 0}}
        return 200, {"content-type": "application/json"}, json.dumps(body)

    def _dm_events(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        match = DM_EVENTS_URL.match(request.url or "")
        with self._lock:
            self.reads.append("dm_events")
            data = [
                {"event_type": "MessageCreate", "id": dm.id, "text": dm.text}
                for dm in reversed(self.dms)
                if match and dm.to == match.group(1)
            ]
        return (
            200,
            {"content-type": "application/json"},
            json.dumps({"data": data, "meta": {"result_count": len(data)}}),
        )
