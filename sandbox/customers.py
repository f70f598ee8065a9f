"""The customers' side of the sandbox: complaints posted to Heard's `/ingest` as a webhook source would post them
(signed with INGEST_SECRET), one at a time from the page's form or replayed from the bundled sample of real
customer-care conversations at a chosen pace."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
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

log = logging.getLogger("heard.sandbox")

SAMPLE_PATH = Path(__file__).resolve().parent / "sample_conversations.json"
SOURCES = ("facebook", "instagram", "x", "email", "webchat")
MIN_EVERY, MAX_EVERY = 1.0, 600.0


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


def load_sample(path: Path = SAMPLE_PATH) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["conversations"])


def sample_complaint(conversation: dict[str, Any], round_number: int) -> dict[str, Any]:
    """A real conversation's opening as a complaint arriving now (its clock starts now, not in 2020). Each round
    through the sample gets new ids, so a second replay files the complaints again rather than as repeats."""
    suffix = "" if round_number == 1 else f"-{round_number}"
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
    """Posts the sample's complaints one every `every` seconds on a thread of its own, until stopped or done."""

    def __init__(
        self, ingest: Ingest, on_change: Callable[[], None], sample: list[dict[str, Any]] | None = None
    ) -> None:
        self._ingest = ingest
        self._on_change = on_change
        self._sample = load_sample() if sample is None else sample
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._position = 0
        self._round = 1
        self._every = 20.0
        self._next_at: float | None = None
        self._last: str | None = None

    def start(self, every: float) -> None:
        """Start (or change the pace of) the replay; after the last conversation it starts again from the first."""
        with self._lock:
            self._every = min(max(float(every), MIN_EVERY), MAX_EVERY)
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
            self._position += 1
            if self._position == len(self._sample):
                self._position, self._round = 0, self._round + 1
        try:
            posted = self._ingest.post(complaint)
        except OSError as error:  # Heard stopping under us; the replay just ends
            log.warning("sandbox replay: could not post to /ingest (%s)", error)
            self._stop.set()
            return
        if posted.status >= 400:
            log.warning("sandbox replay: /ingest answered %s %s", posted.status, posted.body)
        with self._lock:
            self._last = f"@{conversation['handle']} to @{conversation['brand']}"
