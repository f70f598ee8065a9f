"""The customers' side of the sandbox: complaints posted to Heard's `/ingest` as a webhook source would post them
(signed with INGEST_SECRET), or as Facebook and Instagram comments: added to the fake Graph API, then delivered to
Heard's `/webhooks/meta` exactly as Meta delivers them (built by `FakeGraph`, signed with the app secret). One at a
time from the page's form, or replayed from the bundled sample of real customer-care conversations at a chosen pace.

`Commenters.view()` is the customers' side of those comments: each thread as the fake Graph API holds it (the Page's
replies, whether it is hidden, the private replies its author received)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.fake_graph import FakeGraph

log = logging.getLogger("heard.sandbox")

SAMPLE_PATH = Path(__file__).resolve().parent / "sample_conversations.json"
#: A webhook source's names. Facebook and Instagram are not among them: Heard has their adapters here, so they are
#: posted as comments on the fake Graph API instead (a webhook post naming them would belong to an adapter that
#: cannot find the comment).
SOURCES = ("x", "email", "webchat")
FACEBOOK = "facebook"
INSTAGRAM = "instagram"
WEBHOOK = "webhook"
#: What the page's "Post as" offers.
POST_AS = (WEBHOOK, FACEBOOK, INSTAGRAM)
MIN_EVERY, MAX_EVERY = 1.0, 600.0
#: The customer's view shows the newest threads first, this many.
THREADS_SHOWN = 30
#: What the sandbox's Page and Instagram account posted, for the customers to comment on.
PAGE_POST = "Our spring collection is in stores and online now. Free delivery on every order this week!"
INSTAGRAM_CAPTION = "Spring is here 🌷 New collection in stores and online now. #acme #spring"
_USERNAME = re.compile(r"[^a-z0-9._]")


@dataclass(frozen=True)
class Posted:
    """What Heard answered to one complaint: 202 with its number, 200 for a repeat, 400 naming the bad field."""

    status: int
    body: dict[str, Any]


class Ingest:
    """Posts complaints to Heard's `/ingest`, signed like a real integration."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self._secret = secret.encode()

    def post(self, complaint: dict[str, Any]) -> Posted:
        body = json.dumps(complaint).encode()
        stamp = str(int(time.time()))
        digest = hmac.new(self._secret, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Heard-Timestamp": stamp,
                "X-Heard-Signature": f"v0={digest}",
            },
        )
        return _send(request)


def typed_complaint(source: str, handle: str, name: str, text: str) -> dict[str, Any]:
    """A complaint from the page's form, as a webhook source would describe it. Heard checks the fields."""
    author: dict[str, Any] = {"handle": handle.strip()}
    if name.strip():
        author["name"] = name.strip()
    return {
        "source": source,
        "id": f"sandbox-{uuid.uuid4().hex[:12]}",
        "author": author,
        "text": text,
        "created_at": _now(),
    }


class Commenters:
    """Facebook and Instagram customers: each comment is added to the fake Graph API (on the Page's post or the
    account's media, by a made-up person with the name given), then delivered to Heard's `/webhooks/meta` as Meta
    delivers it: the body built by `FakeGraph.webhook_delivery_for`, signed by `FakeGraph.signed` with the app secret
    Heard was given."""

    def __init__(self, graph: FakeGraph, url: str) -> None:
        self.graph = graph
        self.url = url
        self._lock = threading.Lock()
        self._posted: list[tuple[str, str]] = []  # (platform, comment id), oldest first
        self.post = graph.add_post(PAGE_POST)
        self.media = graph.add_ig_media(INSTAGRAM_CAPTION)

    def comment(self, platform: str, handle: str, name: str, text: str) -> tuple[dict[str, Any], Posted]:
        """Comment as a customer; returns the comment as the fake Graph API holds it and what Heard answered Meta's
        delivery. On Facebook the customer is their name (Facebook has no handles); on Instagram, their username."""
        if not text.strip():
            raise ValueError("write the comment first")
        if platform == FACEBOOK:
            person = name.strip() or handle.strip().lstrip("@") or "Facebook user"
            comment = self.graph.add_comment(self.post["id"], _person_id(FACEBOOK, person), person, text)
        elif platform == INSTAGRAM:
            username = instagram_username(handle or name)
            comment = self.graph.add_ig_comment(self.media["id"], _person_id(INSTAGRAM, username), username, text)
        else:
            raise ValueError(f"post as {FACEBOOK} or {INSTAGRAM}, not {platform!r}")
        with self._lock:
            self._posted.append((platform, comment["id"]))
        return comment, self.deliver(self.graph.webhook_delivery_for(comment))

    def deliver(self, delivery: dict[str, Any]) -> Posted:
        """POST a delivery to Heard's `/webhooks/meta` with Meta's headers and `X-Hub-Signature-256`."""
        body, signature = self.graph.signed(delivery)
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "facebookexternalua",
                "X-Hub-Signature-256": signature,
            },
        )
        return _send(request)

    def posted(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._posted)

    def view(self) -> list[dict[str, Any]]:
        """What the customers see of their comments, newest first: the comment (hidden comments stay visible to
        their author, greyed), the brand's public replies under it, and the private replies its author received."""
        private: dict[str, list[dict[str, Any]]] = {}
        for sent in self.graph.private_replies():
            private.setdefault(sent["comment_id"], []).append(sent)
        threads = []
        for platform, comment_id in reversed(self.posted()[-THREADS_SHOWN:]):
            thread = self.graph.thread(comment_id)
            in_thread = [thread["comment"], *thread["replies"]]
            threads.append(
                {
                    "platform": platform,
                    "comment_id": comment_id,
                    "account": self.graph.page_name if platform == FACEBOOK else f"@{self.graph.instagram_username}",
                    "post": self.post["message"] if platform == FACEBOOK else self.media["caption"],
                    **self._said(platform, thread["comment"]),
                    "hidden": thread["hidden"],
                    "replies": [self._said(platform, reply) for reply in thread["replies"]],
                    "private_replies": [
                        {"text": sent["text"], "to": comment["id"]}
                        for comment in in_thread
                        for sent in private.get(comment["id"], [])
                    ],
                }
            )
        return threads

    def _said(self, platform: str, comment: dict[str, Any]) -> dict[str, Any]:
        author = comment.get("from") or {}
        if platform == FACEBOOK:
            by_brand = author.get("id") == self.graph.page_id
            name, text, at = author.get("name") or "someone", comment["message"], comment["created_time"]
            hidden = bool(comment.get("is_hidden"))
        else:
            by_brand = author.get("id") == self.graph.instagram_account_id
            name, text, at = comment.get("username") or "someone", comment["text"], comment["timestamp"]
            hidden = bool(comment.get("hidden"))
        return {"author": name, "by_brand": by_brand, "text": text, "at": _iso(at), "hidden": hidden}


class GraphWatcher:
    """Tells `on_change` when the fake Graph API took a write (a reply, a hide, a private reply), so the page's long
    poll answers with the customer's view as it now is. The fake has no subscription of its own: its calls are
    counted a few times a second."""

    def __init__(self, graph: FakeGraph, on_change: Callable[[], None], every: float = 0.2) -> None:
        self._graph = graph
        self._on_change = on_change
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-graph-watch", daemon=True)

    def start(self) -> GraphWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        seen = 0
        while not self._stop.wait(self._every):
            writes = len(self._graph.calls("POST"))
            if writes != seen:
                seen = writes
                self._on_change()


def instagram_username(typed: str) -> str:
    """An Instagram username from what was typed: lower case letters, digits, `.` and `_`, 30 at most."""
    username = _USERNAME.sub("", typed.strip().lstrip("@").lower().replace(" ", "_"))[:30]
    return username or "instagram_user"


def _person_id(platform: str, name: str) -> str:
    """A made-up, stable id for a commenter (the same name is the same person), digits only as Meta's are."""
    digest = int(hashlib.sha256(f"{platform}:{name}".encode()).hexdigest()[:13], 16)
    return str(10**15 + digest % (9 * 10**15))


def _iso(graph_time: str) -> str:
    """Graph's `2021-08-10T18:45:03+0000` as ISO 8601 the page's Date reads."""
    return graph_time.replace("+0000", "Z")


def _send(request: urllib.request.Request) -> Posted:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        answer = json.loads(raw) if raw else {}
    except ValueError:
        answer = {"message": raw.decode("utf-8", "replace")}
    return Posted(status, answer if isinstance(answer, dict) else {"answer": answer})


def load_sample(path: Path = SAMPLE_PATH) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["conversations"])


def sample_complaint(conversation: dict[str, Any], round_number: int) -> dict[str, Any]:
    """A conversation's opening as a complaint arriving now (its clock starts now, not in 2020). Each round through
    the sample gets new ids, so a second replay files the complaints again rather than as repeats."""
    suffix = "" if round_number == 1 else f"-{round_number}"
    if conversation.get("written_for_sandbox"):
        # Written for the sandbox in Finnish, Portuguese, Bulgarian or Greek (not a real post): a webchat or e-mail
        # complaint with no language given, so Heard detects it.
        return {
            "source": conversation["source"],
            "id": f"{conversation['id']}{suffix}",
            "author": {"handle": conversation["handle"], "name": conversation["name"]},
            "text": "\n".join(conversation["turns"]),
            "created_at": _now(),
        }
    return {
        "source": "x",
        "id": f"{conversation['tweet_id']}{suffix}",
        "author": {"handle": conversation["handle"]},
        "text": "\n".join(conversation["turns"]),
        "url": f"https://x.com/{conversation['handle']}/status/{conversation['tweet_id']}",
        "created_at": _now(),
    }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Replay:
    """Posts the sample's complaints one every `every` seconds on a thread of its own, until stopped or done. With
    `mix` (and `commenters`), every second and third one is posted as a Facebook and an Instagram comment instead."""

    def __init__(
        self,
        ingest: Ingest,
        on_change: Callable[[], None],
        sample: list[dict[str, Any]] | None = None,
        commenters: Commenters | None = None,
    ) -> None:
        self._ingest = ingest
        self._commenters = commenters
        self._on_change = on_change
        self._mix = False
        self._sample = load_sample() if sample is None else sample
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._position = 0
        self._round = 1
        self._every = 20.0
        self._next_at: float | None = None
        self._last: str | None = None

    def start(self, every: float, mix: bool = False) -> None:
        """Start (or change the pace or the mix of) the replay; after the last conversation it starts again from the
        first."""
        with self._lock:
            self._every = min(max(float(every), MIN_EVERY), MAX_EVERY)
            self._mix = bool(mix) and self._commenters is not None
            running = self._thread is not None and self._thread.is_alive()
            if running:
                self._next_at = min(self._next_at or time.monotonic(), time.monotonic() + self._every)
            else:
                self._stop.clear()
                self._next_at = time.monotonic()
                self._thread = threading.Thread(target=self._run, name="sandbox-replay", daemon=True)
                self._thread.start()
        self._on_change()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=15)
        with self._lock:
            self._thread = None
            self._next_at = None
        self._on_change()

    def status(self) -> dict[str, Any]:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive() and not self._stop.is_set()
            return {
                "running": running,
                "every": self._every,
                "sent": self._position,
                "total": len(self._sample),
                "round": self._round,
                "next_in": max(0.0, self._next_at - time.monotonic()) if running and self._next_at else None,
                "last": self._last,
                "mix": self._mix,
                "can_mix": self._commenters is not None,
            }

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                wait = (self._next_at or 0) - time.monotonic()
            if wait > 0:
                # Woken early by stop(); a pace change moves _next_at, so the wait is re-measured each second.
                self._stop.wait(min(wait, 1.0))
                continue
            self._post_next()
            with self._lock:
                self._next_at = time.monotonic() + self._every
            self._on_change()

    def _post_next(self) -> None:
        with self._lock:
            conversation = self._sample[self._position]
            complaint = sample_complaint(conversation, self._round)
            platform = (WEBHOOK, FACEBOOK, INSTAGRAM)[self._position % 3] if self._mix else WEBHOOK
            self._position += 1
            if self._position == len(self._sample):
                self._position, self._round = 0, self._round + 1
        try:
            if platform == WEBHOOK or self._commenters is None:
                posted = self._ingest.post(complaint)
                last = f"@{conversation['handle']} to @{conversation['brand']}"
            else:
                _, posted = self._commenters.comment(platform, conversation["handle"], "", complaint["text"])
                last = f"{conversation['handle']}, a {platform.title()} comment"
        except OSError as error:  # Heard stopping under us; the replay just ends
            log.warning("sandbox replay: could not post to Heard (%s)", error)
            self._stop.set()
            return
        if posted.status >= 400:
            log.warning("sandbox replay: Heard answered %s %s", posted.status, posted.body)
        with self._lock:
            self._last = last
