"""A fake Meta Graph API (a Facebook Page and an Instagram professional account) on loopback, for tests and the
sandbox.

Heard's `GraphClient` is pointed at `FakeGraph.graph_url` (through `META_GRAPH_URL`), so every call travels over
real HTTP as it would to graph.facebook.com: the bearer header, form and JSON bodies, cursors, error envelopes and
usage headers. The fake

* keeps state: a Page with posts and comments (replies, hidden flags, private replies, blocked people) and an
  Instagram account with media, comments and replies; `thread()` shows a comment as its author sees it;
* answers the endpoints Heard uses (see `_route_get` / `_route_post`), with Meta's shapes: ids
  `{page}_{post}` and `{post}_{comment}`, timestamps `2021-08-10T18:45:03+0000`, `paging.cursors` + `paging.next`
  as in the recorded fixtures under ../shared/fixtures/meta/;
* checks `Authorization: Bearer <token>` (and `appsecret_proof` when it has the app secret); `expire_token()`
  makes every call fail with code 190 / 463 until `set_token()`;
* injects faults (`fail_next`) and records every call (`calls`);
* builds signed webhook deliveries for a comment (`webhook_delivery_for`, `sign`).

Where Meta's answer is not recorded anywhere public, the shape here follows Meta's documentation and is marked so
(the fixture READMEs list what is recorded and what is not).

Example::

    with FakeGraph() as graph:
        client = GraphClient(graph.graph_url, graph.token, graph.app_secret, timeout=2)
        post = graph.add_post("Our new store is open")
        comment = graph.add_comment(post["id"], "5550001", "Dana Reyes", "My order never came")
        client.post(f"{comment['id']}/comments", {"message": "Sorry, Dana: we're on it"})
        assert graph.thread(comment["id"])["replies"][0]["message"].startswith("Sorry")

All public methods are thread-safe: the server answers on one thread per request.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sandbox.loopback import FakeHandler, LoopbackFake, LoopbackServer

__all__ = ["FAULT_KINDS", "GRAPH_VERSION", "Call", "FakeGraph", "graph_time", "sign"]

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]

GRAPH_VERSION = "v23.0"
_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")
#: Meta's rule for private replies: one per comment, within 7 days of it.
PRIVATE_REPLY_WINDOW = timedelta(days=7)
FAULT_KINDS = (
    "timeout_after_doing",  # does the work, then answers only after `hang_seconds` (past the client's timeout)
    "drop_after_doing",  # does the work, then closes the connection without an answer
    "500",  # nothing done; HTTP 500, code 2 (transient)
    "rate_limit",  # nothing done; code 4 with X-App-Usage at 100 %
    "rate_limit_buc",  # nothing done; code 80001 with X-Business-Use-Case-Usage (estimated_time_to_regain_access)
    "permission",  # nothing done; code 200 naming a permission
    "token",  # nothing done; code 190 / 463 (expired)
)
_DEFAULT_LIMIT = 25
_QUERY_SECRET = re.compile(r"((?:access_token|appsecret_proof)=)[^&\s\"]+")


def graph_time(moment: datetime) -> str:
    """Graph's timestamp format: `2021-08-10T18:45:03+0000` (UTC, no colon in the offset)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta sends with a delivery: `sha256=<hex HMAC-SHA256 of the raw body>`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str
    #: Without the version prefix, e.g. "/1000_2000/comments".
    path: str
    #: Query, form and JSON body merged (the values as sent: strings, or JSON objects).
    params: JSONDict
    #: The query string alone: tests check that no token travels there.
    query: JSONDict
    #: `time.time()` when the answer was decided.
    at: float
    status: int
    #: The Graph error code answered, if any.
    error_code: int | None = None


@dataclass
class _Fault:
    path_substring: str
    kind: str
    times: int
    permission: str | None = None


@dataclass
class _Reply:
    status: int
    body: JSONDict
    headers: dict[str, str] = field(default_factory=dict)
    after: str | None = None  # "hang" or "drop": what happens after the work (timeout_after_doing ...)

    @property
    def error_code(self) -> int | None:
        error = self.body.get("error")
        return error.get("code") if isinstance(error, dict) else None


class _GraphProblem(Exception):
    """Answer with Meta's error envelope."""

    def __init__(self, status: int, code: int, message: str, subcode: int | None = None, type_: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.subcode = subcode
        self.type = type_ or "OAuthException"


def _error_body(code: int, message: str, subcode: int | None = None, type_: str = "OAuthException") -> JSONDict:
    """Meta's error envelope (recorded: fixtures/meta/facebook/error-100-*.json; fields per Graph's error handling
    docs)."""
    error: JSONDict = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:22]
    return {"error": error}


def _not_found(node: str) -> _GraphProblem:
    # Graph's usual text for an unknown id (code 100, subcode 33). Quoted from memory of Graph's answers, not from a
    # recording in the fixtures.
    return _GraphProblem(
        400,
        100,
        f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        subcode=33,
        type_="GraphMethodException",
    )


class _Handler(FakeHandler):
    server_version = "FakeGraph/1"

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries the appsecret_proof of GETs: keep it out of the log, as Heard's client does.
        logger.debug("fake graph: %s", _QUERY_SECRET.sub(r"\1[redacted]", format % args))


class FakeGraph(LoopbackFake):
    """A fake Graph API on `127.0.0.1` (see the module docstring). `stop()` releases at once the answers still held
    (`timeout_after_doing`)."""

    _name = "FakeGraph"
    _thread_name = "fake-graph"
    _handler = _Handler

    def __init__(
        self,
        token: str = "fake-page-token-0123456789",
        *,
        app_secret: str | None = "fake-app-secret-0123456789abcdef",
        page_id: str = "1000000000000001",
        page_name: str = "Acme",
        instagram_account_id: str = "17841400000000001",
        instagram_username: str = "acme",
        require_proof: bool = False,
        hang_seconds: float = 3.0,
    ) -> None:
        """Nothing listens until `start()`. With `require_proof`, calls without `appsecret_proof` are refused as
        when "Require App Secret" is on in the app's settings. `hang_seconds`: how long a `timeout_after_doing`
        answer is held (longer than the client's timeout)."""
        self.token = token
        self.app_secret = app_secret
        self.page_id = page_id
        self.page_name = page_name
        self.instagram_account_id = instagram_account_id
        self.instagram_username = instagram_username
        self.require_proof = require_proof
        self.hang_seconds = hang_seconds

        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: LoopbackServer | None = None
        self._expired = False
        self._calls: list[Call] = []
        self._faults: deque[_Fault] = deque()
        self._ids = itertools.count(900_000_000_000_001)
        # Facebook: posts and comments by id, in insertion order (replies included; `parent` links them).
        self._posts: dict[str, JSONDict] = {}
        self._comments: dict[str, JSONDict] = {}
        # Instagram: media and comments by id (replies included; `parent_id` links them).
        self._media: dict[str, JSONDict] = {}
        self._ig_comments: dict[str, JSONDict] = {}
        self._private_replies: list[JSONDict] = []
        self._blocked: list[str] = []

    # -- lifecycle -----------------------------------------------------------------------------------------------

    @property
    def graph_url(self) -> str:
        """The base URL for `GraphClient` / `META_GRAPH_URL`, versioned like Meta's and ending with '/'."""
        return f"{self.url}/{GRAPH_VERSION}/"

    # -- configuration -------------------------------------------------------------------------------------------

    def expire_token(self) -> None:
        """Every call answers code 190, subcode 463 (expired) until `set_token()`."""
        with self._lock:
            self._expired = True

    def set_token(self, token: str) -> None:
        """A new Page token: calls must carry it from now on."""
        with self._lock:
            self.token = token
            self._expired = False

    def fail_next(self, path_substring: str, kind: str, times: int = 1, *, permission: str | None = None) -> None:
        """The next `times` calls whose path contains `path_substring` fail as `kind` (one of `FAULT_KINDS`).
        `permission` names the permission a `"permission"` fault asks for (default: one fitting the call)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults.append(_Fault(path_substring, kind, times, permission))

    # -- state for tests and the sandbox -------------------------------------------------------------------------

    def add_post(self, message: str = "", *, created_time: datetime | None = None) -> JSONDict:
        """A post on the Page; returns a copy (`id` is `{page-id}_{post}`)."""
        with self._lock:
            post_id = f"{self.page_id}_{next(self._ids)}"
            post = {"id": post_id, "message": message, "created_time": created_time or _now()}
            self._posts[post_id] = post
            return _public(post)

    def add_comment(
        self,
        post_id: str,
        from_id: str,
        from_name: str,
        message: str,
        parent_id: str | None = None,
        created_time: datetime | None = None,
        *,
        can_reply_privately: bool = True,
    ) -> JSONDict:
        """A comment on a Page post (or, with `parent_id`, a reply to a comment); returns a copy. Its id is
        `{post}_{n}` where `{post}` is the post's id without the Page prefix, as Graph's are."""
        with self._lock:
            if post_id not in self._posts:
                raise KeyError(f"no post {post_id}")
            if parent_id is not None and parent_id not in self._comments:
                raise KeyError(f"no comment {parent_id}")
            comment = self._new_comment(post_id, parent_id, {"id": from_id, "name": from_name}, message, created_time)
            comment["can_reply_privately"] = can_reply_privately
            return _public(comment)

    def add_ig_media(
        self, caption: str = "", *, timestamp: datetime | None = None, media_product_type: str = "FEED"
    ) -> JSONDict:
        """A post (media) of the Instagram account; returns a copy."""
        with self._lock:
            media_id = str(next(self._ids) + 17_000_000_000_000_000)
            media = {
                "id": media_id,
                "caption": caption,
                "timestamp": timestamp or _now(),
                "media_product_type": media_product_type,
                "media_type": "IMAGE",
            }
            self._media[media_id] = media
            return _public(media)

    def add_ig_comment(
        self,
        media_id: str,
        from_id: str,
        username: str,
        text: str,
        parent_id: str | None = None,
        timestamp: datetime | None = None,
    ) -> JSONDict:
        """A comment on an Instagram media (or a reply, with `parent_id`); returns a copy. A media id the account
        does not own is accepted: that is a comment elsewhere that may @-mention the account (`mentioned_comment`)."""
        with self._lock:
            if parent_id is not None and parent_id not in self._ig_comments:
                raise KeyError(f"no Instagram comment {parent_id}")
            return _public(self._new_ig_comment(media_id, parent_id, from_id, username, text, timestamp))

    def thread(self, comment_id: str) -> JSONDict:
        """The customer's view of a comment: `{"comment", "hidden", "replies"}` with the replies oldest first
        (replies to replies included). A hidden comment stays visible to its author, so it is shown, flagged."""
        with self._lock:
            store = self._comments if comment_id in self._comments else self._ig_comments
            if comment_id not in store:
                raise KeyError(f"no comment {comment_id}")
            comment = store[comment_id]
            hidden_key = "is_hidden" if store is self._comments else "hidden"
            replies: list[JSONDict] = []
            parents = {comment_id}
            for item in store.values():  # insertion order is creation order
                parent = item.get("parent_id")
                if parent in parents:
                    parents.add(item["id"])
                    replies.append(_public(item))
            return {"comment": _public(comment), "hidden": bool(comment[hidden_key]), "replies": replies}

    def comment(self, comment_id: str) -> JSONDict:
        """A Facebook or Instagram comment as stored (a copy)."""
        with self._lock:
            found = self._comments.get(comment_id) or self._ig_comments.get(comment_id)
            if found is None:
                raise KeyError(f"no comment {comment_id}")
            return _public(found)

    def private_replies(self) -> list[JSONDict]:
        """Private replies sent: `{"comment_id", "text", "recipient_id", "message_id", "platform"}`."""
        with self._lock:
            return copy.deepcopy(self._private_replies)

    def blocked(self) -> list[str]:
        """Ids of the people the Page blocked, in order."""
        with self._lock:
            return list(self._blocked)

    def calls(self, method: str | None = None, path_contains: str | None = None) -> list[Call]:
        """Calls so far, oldest first, optionally only those with `method` and a path containing `path_contains`."""
        with self._lock:
            return [
                call
                for call in self._calls
                if (method is None or call.method == method) and (path_contains is None or path_contains in call.path)
            ]

    # -- webhooks ------------------------------------------------------------------------------------------------

    def webhook_delivery_for(self, comment: JSONDict, verb: str = "add") -> JSONDict:
        """The delivery Meta POSTs for a new comment (or `verb` edited/remove/hide/unhide on Facebook).

        Facebook: a Page `feed` change shaped like fixtures/meta/facebook/webhook-feed-comment-add-v2.11 (the
        restfb recording), `created_time` in unix seconds. Instagram: a `comments` change shaped like Meta's
        documented sample (fixtures/meta/instagram/webhook-comments.docs-example.json), with the account's id as
        `entry.id` (the sample has "0"), `parent_id` only for replies."""
        with self._lock:
            now = int(time.time())
            if comment["id"] in self._ig_comments:
                stored = self._ig_comments[comment["id"]]
                value: JSONDict = {
                    "from": dict(stored["from"]),
                    "media": {
                        "id": stored["media_id"],
                        "media_product_type": self._media.get(stored["media_id"], {}).get("media_product_type", "FEED"),
                    },
                    "id": stored["id"],
                    "text": stored["text"],
                }
                if stored["parent_id"]:
                    value["parent_id"] = stored["parent_id"]
                entry = {
                    "id": self.instagram_account_id,
                    "time": now,
                    "changes": [{"field": "comments", "value": value}],
                }
                return {"object": "instagram", "entry": [entry]}
            stored = self._comments[comment["id"]]
            value = {
                "item": "comment",
                "verb": verb,
                "comment_id": stored["id"],
                "post_id": stored["post_id"],
                "parent_id": stored["parent_id"] or stored["post_id"],
                "from": dict(stored["from"]),
            }
            if verb != "remove":  # the recorded remove delivery has neither time nor message
                value["created_time"] = int(stored["created_time"].timestamp())
                value["message"] = stored["message"]
            entry = {"id": self.page_id, "time": now, "changes": [{"field": "feed", "value": value}]}
            return {"object": "page", "entry": [entry]}

    def mention_delivery_for(self, comment: JSONDict) -> JSONDict:
        """Instagram's `mentions` delivery for a comment that @-mentions the account (Meta's documented sample:
        fixtures/meta/instagram/webhook-mentions.docs-example.json)."""
        with self._lock:
            stored = self._ig_comments[comment["id"]]
            value = {"comment_id": stored["id"], "media_id": stored["media_id"]}
            entry = {
                "id": self.instagram_account_id,
                "time": int(time.time()),
                "changes": [{"field": "mentions", "value": value}],
            }
            return {"object": "instagram", "entry": [entry]}

    def signed(self, delivery: JSONDict) -> tuple[bytes, str]:
        """The raw body and its `X-Hub-Signature-256` value, signed with the fake's app secret."""
        if not self.app_secret:
            raise RuntimeError("FakeGraph has no app_secret to sign with")
        body = json.dumps(delivery).encode()
        return body, sign(body, self.app_secret)

    # -- serving -------------------------------------------------------------------------------------------------

    def _serve(self, handler: _Handler, verb: str) -> None:
        parts = urlsplit(handler.path)
        path = _VERSION_PREFIX.sub("", parts.path) or "/"
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = _parse_body(raw, handler.headers.get("Content-Type") or "")
        params = {**query, **body}
        authorization = handler.headers.get("Authorization") or ""
        with self._lock:
            reply = self._answer(verb, path, params, authorization)
            self._calls.append(Call(verb, path, params, query, time.time(), reply.status, reply.error_code))
        if reply.after == "drop":
            handler.close_connection = True
            return  # the request handler closes the socket without a word
        if reply.after == "hang":
            self._stopping.wait(self.hang_seconds)
        data = json.dumps(reply.body).encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json; charset=UTF-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): exactly what `timeout_after_doing` simulates

    def _answer(self, verb: str, path: str, params: JSONDict, authorization: str) -> _Reply:
        """Authenticate, apply a queued fault, route (lock held)."""
        try:
            self._authenticate(authorization, params)
        except _GraphProblem as problem:
            return _Reply(problem.status, _error_body(problem.code, problem.message, problem.subcode, problem.type))
        fault = self._take_fault(path)
        if fault is not None and fault.kind not in ("timeout_after_doing", "drop_after_doing"):
            return self._fault_reply(fault, verb, path)
        try:
            segments = [segment for segment in path.split("/") if segment]
            route = self._route_get if verb == "GET" else self._route_post
            reply = _Reply(200, route(segments, params))
        except _GraphProblem as problem:
            reply = _Reply(problem.status, _error_body(problem.code, problem.message, problem.subcode, problem.type))
        if fault is not None:
            reply.after = "hang" if fault.kind == "timeout_after_doing" else "drop"
        return reply

    def _authenticate(self, authorization: str, params: JSONDict) -> None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token or not hmac.compare_digest(token, self.token):
            # Meta's text for a token it cannot read (code 190). It answers this with HTTP 400 or 401 depending on
            # the endpoint (a public recording shows 401); Heard's client classifies by the code, not the status.
            raise _GraphProblem(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if self._expired:
            # Meta's documented example of an expired token (Access Token debugging docs); the date is illustrative.
            raise _GraphProblem(
                400,
                190,
                "Error validating access token: Session has expired on Wednesday, 14-Feb-18 18:00:00 PST. "
                "The current time is Thursday, 15-Feb-18 13:46:35 PST.",
                subcode=463,
            )
        proof = params.get("appsecret_proof")
        if self.app_secret and proof is not None:
            expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(str(proof), expected):
                # Graph's text for a wrong proof (code 100, GraphMethodException), as public integrations quote it.
                raise _GraphProblem(
                    400, 100, "Invalid appsecret_proof provided in the API argument", type_="GraphMethodException"
                )
        elif self.require_proof:
            raise _GraphProblem(400, 100, "API calls from the server require an appsecret_proof argument")

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.path_substring in path:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _fault_reply(self, fault: _Fault, verb: str, path: str) -> _Reply:
        """A failure with no effect. None of these bodies or headers is recorded publicly; they follow Meta's
        documentation (Graph API error handling and rate limiting pages, developers.facebook.com/docs/graph-api)."""
        if fault.kind == "500":
            body = _error_body(2, "An unexpected error has occurred. Please retry your request later.")
            body["error"]["is_transient"] = True
            return _Reply(500, body)
        if fault.kind == "rate_limit":
            usage = {"call_count": 100, "total_cputime": 20, "total_time": 20}
            return _Reply(
                400, _error_body(4, "(#4) Application request limit reached"), {"X-App-Usage": json.dumps(usage)}
            )
        if fault.kind == "rate_limit_buc":
            usage = {
                self.page_id: [
                    {
                        "type": "pages",
                        "call_count": 100,
                        "total_cputime": 25,
                        "total_time": 25,
                        "estimated_time_to_regain_access": 7,
                    }
                ]
            }
            body = _error_body(
                80001, "(#80001) There have been too many calls to this Page account. Wait a bit and try again."
            )
            return _Reply(400, body, {"X-Business-Use-Case-Usage": json.dumps(usage)})
        if fault.kind == "permission":
            permission = fault.permission or (
                "pages_messaging" if path.endswith("/messages") else "pages_manage_engagement"
            )
            # The wording public integrations quote for code 200 (HTTP 403).
            return _Reply(403, _error_body(200, f"(#200) Requires {permission} permission to manage the object"))
        # "token"
        return _Reply(
            400,
            _error_body(
                190,
                "Error validating access token: Session has expired on Wednesday, 14-Feb-18 18:00:00 PST. "
                "The current time is Thursday, 15-Feb-18 13:46:35 PST.",
                463,
            ),
        )

    # -- GET -----------------------------------------------------------------------------------------------------

    def _route_get(self, segments: list[str], params: JSONDict) -> JSONDict:
        if len(segments) == 1:
            return self._get_node(segments[0], params)
        if len(segments) != 2:
            raise _GraphProblem(400, 100, "Unknown path components: /" + "/".join(segments[2:]))
        node, edge = segments
        node = self.page_id if node == "me" else node
        if node == self.page_id and edge in ("posts", "feed", "published_posts"):
            posts = sorted(self._posts.values(), key=lambda post: post["created_time"], reverse=True)
            return self._listing(node, edge, posts, params, self._post_fields, "created_time,message,id")
        if node in self._posts and edge == "comments":
            return self._fb_comments(node, edge, params, lambda c: c["post_id"] == node)
        if node in self._comments and edge == "comments":
            return self._fb_comments(node, edge, params, lambda c: c["parent_id"] == node, stream_ok=False)
        if node == self.instagram_account_id and edge == "media":
            media = sorted(self._media.values(), key=lambda item: item["timestamp"], reverse=True)
            return self._listing(node, edge, media, params, self._media_fields, "id")
        if node in self._media and edge == "comments":
            # Instagram lists a media's top-level comments newest first (the recorded media-comments-list pages).
            top = [c for c in self._ig_comments.values() if c["media_id"] == node and not c["parent_id"]]
            top.sort(key=lambda c: c["timestamp"], reverse=True)
            return self._listing(node, edge, top, params, self._ig_comment_fields, "timestamp,text,id")
        if node in self._ig_comments and edge == "replies":
            replies = [c for c in self._ig_comments.values() if c["parent_id"] == node]
            return self._listing(node, edge, replies, params, self._ig_comment_fields, "timestamp,text,id")
        if self._known(node):
            raise _GraphProblem(400, 100, f"(#100) Tried accessing nonexisting field ({edge})")
        raise _not_found(node)

    def _get_node(self, node: str, params: JSONDict) -> JSONDict:
        fields = str(params.get("fields") or "")
        if node in ("me", self.page_id):
            return _select({"id": self.page_id, "name": self.page_name}, fields or "name,id", "Page")
        if node == self.instagram_account_id:
            mention = re.match(r"^mentioned_comment\.comment_id\(([^)]*)\)(?:\{(.*)\})?$", fields.strip())
            if mention:
                found = self._ig_comments.get(mention.group(1))
                if found is None:
                    raise _not_found(mention.group(1))
                inner = mention.group(2) or "id,text,timestamp"
                return {"mentioned_comment": self._ig_comment_fields(found, inner), "id": node}
            account = {"id": node, "username": self.instagram_username}
            return _select(account, fields or "id", "IGUser")
        if node in self._posts:
            return self._post_fields(self._posts[node], fields or "created_time,message,id")
        if node in self._comments:
            return self._fb_comment_fields(self._comments[node], fields or "created_time,from,message,id")
        if node in self._media:
            return self._media_fields(self._media[node], fields or "id")
        if node in self._ig_comments:
            return self._ig_comment_fields(self._ig_comments[node], fields or "id")
        raise _not_found(node)

    def _fb_comments(
        self, node: str, edge: str, params: JSONDict, belongs: Callable[[JSONDict], bool], *, stream_ok: bool = True
    ) -> JSONDict:
        """`GET /{post}/comments`: top-level comments by default; `filter=stream` gives every comment (replies
        too), as Graph does. `order` chronological (Graph's default) or reverse_chronological; `since` (unix
        seconds or a date) keeps the newer ones."""
        if stream_ok and params.get("filter") == "stream":
            comments = [c for c in self._comments.values() if c["post_id"] == node]
        else:
            comments = [c for c in self._comments.values() if belongs(c) and (not stream_ok or not c["parent_id"])]
        since = _parse_since(params.get("since"))
        if since is not None:
            comments = [c for c in comments if c["created_time"] >= since]
        order = params.get("order") or "chronological"
        if order not in ("chronological", "reverse_chronological"):
            raise _GraphProblem(
                400, 100, "(#100) order must be one of the following values: chronological, reverse_chronological"
            )
        comments.sort(key=lambda c: c["created_time"], reverse=order == "reverse_chronological")
        listing = self._listing(node, edge, comments, params, self._fb_comment_fields, "created_time,from,message,id")
        listing["summary"] = {"order": order, "total_count": len(comments), "can_comment": True}
        return listing

    def _listing(
        self,
        node: str,
        edge: str,
        items: list[JSONDict],
        params: JSONDict,
        render: Callable[[JSONDict, str], JSONDict],
        default_fields: str,
    ) -> JSONDict:
        """One page of a list, with Meta's paging: `cursors` {before, after} on every non-empty page, `next` only
        when more follow, `previous` when some came before. Cursors are opaque (base64 of an item's id)."""
        try:
            limit = max(1, min(100, int(params.get("limit") or _DEFAULT_LIMIT)))
        except ValueError:
            raise _GraphProblem(400, 100, "(#100) Param limit must be a number") from None
        start = 0
        if params.get("after"):
            last = _uncursor(str(params["after"]))
            ids = [item["id"] for item in items]
            if last not in ids:
                raise _GraphProblem(400, 100, "(#100) The after cursor is invalid")
            start = ids.index(last) + 1
        page = items[start : start + limit]
        fields = str(params.get("fields") or default_fields)
        body: JSONDict = {"data": [render(item, fields) for item in page]}
        if not page:
            return body
        paging: JSONDict = {"cursors": {"before": _cursor(page[0]["id"]), "after": _cursor(page[-1]["id"])}}
        if start + limit < len(items):
            # Meta's `next` links carry the access token in the query (recorded fixtures show it sanitised as
            # `access_token=access_token`); the fake does the same, so a client that followed them would leak it.
            query = {key: value for key, value in params.items() if key not in ("after", "before", "appsecret_proof")}
            query = {"access_token": self.token, **query, "limit": limit, "after": paging["cursors"]["after"]}
            paging["next"] = f"{self.graph_url}{node}/{edge}?{urlencode(query)}"
        if start > 0:
            paging["previous"] = f"{self.graph_url}{node}/{edge}?before={paging['cursors']['before']}"
        body["paging"] = paging
        return body

    # -- POST ----------------------------------------------------------------------------------------------------

    def _route_post(self, segments: list[str], params: JSONDict) -> JSONDict:
        node = segments[0] if segments else ""
        node = self.page_id if node == "me" else node
        edge = segments[1] if len(segments) == 2 else None
        if len(segments) > 2 or not node:
            raise _GraphProblem(400, 100, "Unknown path components: /" + "/".join(segments))
        if edge == "comments" and (node in self._comments or node in self._posts):
            return self._reply_fb(node, params)
        if edge is None and node in self._comments:
            return self._set_hidden(self._comments[node], "is_hidden", params)
        if edge == "replies" and node in self._ig_comments:
            return self._reply_ig(node, params)
        if edge is None and node in self._ig_comments:
            return self._set_hidden(self._ig_comments[node], "hide", params)
        if edge == "messages" and node in (self.page_id, self.instagram_account_id):
            return self._private_reply(node, params)
        if edge == "blocked" and node == self.page_id:
            return self._block(params)
        raise _GraphProblem(
            400,
            100,
            f"Unsupported post request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation.",
            subcode=33,
            type_="GraphMethodException",
        )

    def _reply_fb(self, node: str, params: JSONDict) -> JSONDict:
        """A reply from the Page. The answer `{"id": ...}` follows Graph's reference for the comments edge (no
        public recording of a reply to a comment; the nearest is fixtures/meta/facebook/comment-create-response)."""
        message = params.get("message")
        if not isinstance(message, str) or not message.strip():
            raise _GraphProblem(400, 100, "(#100) The parameter message is required")
        if node in self._posts:
            post_id, parent_id = node, None
        else:
            post_id, parent_id = self._comments[node]["post_id"], node
        author = {"id": self.page_id, "name": self.page_name}
        comment = self._new_comment(post_id, parent_id, author, message, None)
        comment["can_reply_privately"] = False
        return {"id": comment["id"]}

    def _reply_ig(self, node: str, params: JSONDict) -> JSONDict:
        """A reply from the account, listed under the top-level comment (Instagram threads are one level deep).
        The answer `{"id": ...}` follows Meta's Instagram comment-replies reference (not recorded publicly)."""
        message = params.get("message")
        if not isinstance(message, str) or not message.strip():
            raise _GraphProblem(400, 100, "(#100) The parameter message is required")
        parent = self._ig_comments[node]
        top = parent["parent_id"] or parent["id"]
        reply = self._new_ig_comment(
            parent["media_id"], top, self.instagram_account_id, self.instagram_username, message, None
        )
        return {"id": reply["id"]}

    def _set_hidden(self, comment: JSONDict, parameter: str, params: JSONDict) -> JSONDict:
        """`is_hidden=` (Facebook) / `hide=` (Instagram). The answer `{"success": true}` is documented by Meta,
        not recorded publicly."""
        value = str(params.get(parameter, "")).lower()
        if value not in ("true", "false"):
            raise _GraphProblem(400, 100, f"(#100) Param {parameter} must be a boolean")
        key = "is_hidden" if parameter == "is_hidden" else "hidden"
        comment[key] = value == "true"
        return {"success": True}

    def _private_reply(self, owner: str, params: JSONDict) -> JSONDict:
        """The Send API with `recipient.comment_id`: once per comment, within 7 days.

        Errors: a second private reply answers `(#10900) Activity already replied to` (code 10900), as public
        integrations record it; an old comment answers code 10, subcode 2018278 "(#10) This message is sent outside
        of allowed window", listed in Meta's Messenger Platform error codes
        (developers.facebook.com/docs/messenger-platform/error-codes). The success answer `{"recipient_id",
        "message_id"}` follows Meta's Send API reference (not recorded publicly)."""
        recipient = params.get("recipient")
        message = params.get("message")
        comment_id = recipient.get("comment_id") if isinstance(recipient, dict) else None
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(comment_id, str) or not isinstance(text, str) or not text:
            raise _GraphProblem(400, 100, "(#100) Param recipient[comment_id] and message[text] are required")
        if owner == self.page_id and comment_id in self._comments:
            comment, platform = self._comments[comment_id], "facebook"
        elif comment_id in self._ig_comments:
            comment, platform = self._ig_comments[comment_id], "instagram"
        else:
            raise _GraphProblem(400, 100, "(#100) No matching user found", subcode=2018001)
        if comment["private_replied"]:
            raise _GraphProblem(400, 10900, "(#10900) Activity already replied to")
        created = comment["created_time"] if platform == "facebook" else comment["timestamp"]
        if _now() - created > PRIVATE_REPLY_WINDOW or not comment.get("can_reply_privately", True):
            raise _GraphProblem(
                400,
                10,
                "(#10) This message is sent outside of allowed window. Learn more about the new policy here: "
                "https://developers.facebook.com/docs/messenger-platform/policy-overview",
                subcode=2018278,
            )
        comment["private_replied"] = True
        recipient_id = str(int(hashlib.sha256(comment["from"]["id"].encode()).hexdigest()[:15], 16))
        message_id = "m_" + secrets.token_urlsafe(24)
        self._private_replies.append(
            {
                "comment_id": comment_id,
                "text": text,
                "recipient_id": recipient_id,
                "message_id": message_id,
                "platform": platform,
            }
        )
        return {"recipient_id": recipient_id, "message_id": message_id}

    def _block(self, params: JSONDict) -> JSONDict:
        """`POST /{page-id}/blocked` with `user`: answers `{"<user-id>": true}` per Graph's Page blocked reference
        (not recorded publicly)."""
        user = params.get("user") or params.get("uid")
        if not isinstance(user, str) or not user.strip():
            raise _GraphProblem(400, 100, "(#100) The parameter user is required")
        answer: JSONDict = {}
        for person in (part.strip() for part in user.split(",") if part.strip()):
            if person not in self._blocked:
                self._blocked.append(person)
            answer[person] = True
        return answer

    # -- objects -------------------------------------------------------------------------------------------------

    def _known(self, node: str) -> bool:
        return node in (self.page_id, self.instagram_account_id) or any(
            node in store for store in (self._posts, self._comments, self._media, self._ig_comments)
        )

    def _new_comment(
        self, post_id: str, parent_id: str | None, author: JSONDict, message: str, created: datetime | None
    ) -> JSONDict:
        post_object = post_id.split("_", 1)[-1]
        comment = {
            "id": f"{post_object}_{next(self._ids)}",
            "post_id": post_id,
            "parent_id": parent_id,
            "message": message,
            "from": dict(author),
            "created_time": created or _now(),
            "is_hidden": False,
            "can_reply_privately": True,
            "private_replied": False,
        }
        self._comments[comment["id"]] = comment
        return comment

    def _new_ig_comment(
        self, media_id: str, parent_id: str | None, from_id: str, username: str, text: str, created: datetime | None
    ) -> JSONDict:
        comment = {
            "id": str(next(self._ids) + 17_800_000_000_000_000),
            "media_id": media_id,
            "parent_id": parent_id,
            "text": text,
            "username": username,
            "from": {"id": from_id, "username": username},
            "timestamp": created or _now(),
            "hidden": False,
            "like_count": 0,
            "private_replied": False,
        }
        self._ig_comments[comment["id"]] = comment
        return comment

    def _post_fields(self, post: JSONDict, fields: str) -> JSONDict:
        page, number = post["id"].split("_", 1)
        # Graph's `updated_time`: when the post was created, edited, or last commented on.
        updated = max(
            [post["created_time"], *(c["created_time"] for c in self._comments.values() if c["post_id"] == post["id"])]
        )
        values = {
            "id": post["id"],
            "message": post["message"],
            "created_time": graph_time(post["created_time"]),
            "updated_time": graph_time(updated),
            "permalink_url": f"https://www.facebook.com/{page}/posts/{number}/",
        }
        return _select(values, fields, "Post")

    def _fb_comment_fields(self, comment: JSONDict, fields: str) -> JSONDict:
        page = comment["post_id"].split("_", 1)[0]
        post_object = comment["post_id"].split("_", 1)[-1]
        number = comment["id"].split("_", 1)[-1]
        parent = self._comments.get(comment["parent_id"] or "")
        if parent is None:
            permalink = f"https://www.facebook.com/{page}/posts/{post_object}/?comment_id={number}"
        else:
            top = parent["id"].split("_", 1)[-1]
            permalink = (
                f"https://www.facebook.com/{page}/posts/{post_object}/?comment_id={top}&reply_comment_id={number}"
            )
        values: JSONDict = {
            "id": comment["id"],
            "message": comment["message"],
            "created_time": graph_time(comment["created_time"]),
            "from": dict(comment["from"]),
            "is_hidden": comment["is_hidden"],
            "can_hide": comment["from"]["id"] != self.page_id,
            "can_reply_privately": comment["can_reply_privately"] and not comment["private_replied"],
            "comment_count": sum(1 for c in self._comments.values() if c["parent_id"] == comment["id"]),
            "like_count": 0,
            "permalink_url": permalink,
            "object": {"id": comment["post_id"]},
            "parent": None,
        }
        if parent is not None:
            values["parent"] = {
                "id": parent["id"],
                "message": parent["message"],
                "created_time": graph_time(parent["created_time"]),
                "from": dict(parent["from"]),
            }
        return _select(values, fields, "Comment")

    def _media_fields(self, media: JSONDict, fields: str) -> JSONDict:
        values = {
            "id": media["id"],
            "caption": media["caption"],
            "timestamp": graph_time(media["timestamp"]),
            "media_product_type": media["media_product_type"],
            "media_type": media["media_type"],
            "comments_count": sum(1 for c in self._ig_comments.values() if c["media_id"] == media["id"]),
            "permalink": f"https://www.instagram.com/p/{_cursor(media['id'])[:11]}/",
            "username": self.instagram_username,
        }
        return _select(values, fields, "IGMedia")

    def _ig_comment_fields(self, comment: JSONDict, fields: str) -> JSONDict:
        replies = [c for c in self._ig_comments.values() if c["parent_id"] == comment["id"]]
        values: JSONDict = {
            "id": comment["id"],
            "text": comment["text"],
            "timestamp": graph_time(comment["timestamp"]),
            "username": comment["username"],
            "from": dict(comment["from"]),
            "hidden": comment["hidden"],
            "like_count": comment["like_count"],
            "media": {"id": comment["media_id"]},
            "replies": {
                "data": [{"timestamp": graph_time(c["timestamp"]), "text": c["text"], "id": c["id"]} for c in replies]
            },
            "parent_id": comment["parent_id"],
            # Graph shows `user` for the account's own comments.
            "user": {"id": comment["from"]["id"]} if comment["from"]["id"] == self.instagram_account_id else None,
        }
        return _select(values, fields, "IGComment")


# -- helpers --------------------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _public(stored: JSONDict) -> JSONDict:
    """A copy for callers, with times in Graph's format."""
    result = copy.deepcopy(stored)
    for key in ("created_time", "timestamp"):
        if isinstance(result.get(key), datetime):
            result[key] = graph_time(result[key])
    return result


def _select(values: JSONDict, fields: str, node_type: str) -> JSONDict:
    """Graph's field selection: `id,message,from{id,name}`; an unknown field is an error, as on Graph (whose
    wording this follows). `id` comes back whether asked for or not."""
    result: JSONDict = {}
    for name, sub in _split_fields(fields):
        if name not in values:
            raise _GraphProblem(
                400, 100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
            )
        value = values[name]
        if value is None:  # a field the node can have but this one has not (a top-level comment's parent)
            continue
        if sub and isinstance(value, dict):
            wanted = {part for part, _ in _split_fields(sub)}
            value = {key: item for key, item in value.items() if key in wanted}
        result[name] = value
    result.setdefault("id", values.get("id"))
    return result


def _split_fields(fields: str) -> list[tuple[str, str]]:
    """`a,b{c,d},e.limit(5){f}` -> [("a", ""), ("b", "c,d"), ("e", "f")] (top-level names, braces kept apart)."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in fields:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    result = []
    for part in (p.strip() for p in parts if p.strip()):
        name = re.split(r"[.{(]", part, maxsplit=1)[0]
        brace = part.find("{")
        result.append((name, part[brace + 1 : part.rfind("}")] if brace >= 0 else ""))
    return result


def _parse_body(raw: bytes, content_type: str) -> JSONDict:
    if not raw:
        return {}
    if "json" in content_type:
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    values = {key: items[-1] for key, items in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
    # Graph also takes objects as JSON strings in a form (recipient={"comment_id": ...}).
    for key in ("recipient", "message"):
        text = values.get(key)
        if isinstance(text, str) and text.startswith("{"):
            with contextlib.suppress(ValueError):
                values[key] = json.loads(text)
    return values


def _parse_since(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("+0000", "+00:00"))
    except ValueError:
        raise _GraphProblem(400, 100, f"(#100) Param since is not a valid time: {text}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(item_id.encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
