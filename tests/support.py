"""Test helpers that act like the outside world: a webhook sender that signs like a real integration."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from storage.db import Database
from storage.models import Complaint

_ids = itertools.count(1)


def sign_ingest(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Heard-Timestamp": stamp, "X-Heard-Signature": f"v0={digest}"}


def complaint_payload(**fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "source": "facebook",
        "id": f"post-{next(_ids)}",
        "author": {"handle": "maria_l", "name": "Maria López"},
        "text": "My order arrived broken and nobody answers the phone.",
        "url": "https://facebook.com/acme/posts/1",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    payload.update(fields)
    return payload


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    elapsed_ms: float


def http_post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    elapsed = (time.perf_counter() - started) * 1000
    try:
        parsed = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        parsed = {"raw": raw.decode(errors="replace")}
    return Answer(status, parsed, elapsed)


class Ingester:
    """Posts complaints to Heard's /ingest the way a webhook integration would."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret

    def complain(self, **fields: Any) -> Answer:
        return self.post_raw(json.dumps(complaint_payload(**fields)).encode())

    def post_raw(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> Answer:
        headers = {"Content-Type": "application/json", **sign_ingest(secret or self.secret, body, timestamp)}
        return http_post(self.url, body, headers)


class HeardProcess:
    """`python app.py` in a child process, as an admin would run it; killed with SIGKILL to test crashes."""

    def __init__(self, environment: dict[str, str]) -> None:
        import os
        import subprocess
        import sys
        from pathlib import Path

        root = Path(__file__).resolve().parent.parent
        self.process = subprocess.Popen(
            [sys.executable, str(root / "app.py")],
            cwd=root,
            env={**os.environ, **environment},
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self.port = self._wait_for_port()

    def _wait_for_port(self) -> int:
        import re

        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            match = re.search(r"listening on port (\d+)", line)
            if match:
                return int(match.group(1))
        raise AssertionError("Heard exited before listening:\n" + "".join(self.log))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def stored_complaint(database: Database, complaint_id: int = 1) -> Complaint:
    """The complaint as the database holds it now."""
    with database.unit_of_work() as session:
        found = session.get(Complaint, complaint_id)
        assert found is not None, f"no complaint #{complaint_id}"
        return found
