"""`LOG_FORMAT=json`: `python app.py` as an operator runs it writes one JSON object per line, and the lines written
while serving a request carry that request's id, which the answer echoes."""

from __future__ import annotations

import json
import logging
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from bot.observability.logs import JsonFormatter
from sandbox.fake_slack import FakeSlack
from tests.conftest import INGEST_SECRET, heard_environment
from tests.support import HeardProcess, complaint_payload, sign_ingest


@pytest.fixture
def heard_process(fake_slack: FakeSlack, database_url: str) -> Iterator[HeardProcess]:
    process = HeardProcess(heard_environment(fake_slack, database_url, LOG_FORMAT="json"))
    yield process
    process.stop()


def send(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST `body` (GET without one); the status and the X-Request-Id Heard answered with."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers["X-Request-Id"]
    except urllib.error.HTTPError as error:
        return error.code, error.headers["X-Request-Id"]


def test_every_line_is_json_and_a_request_s_lines_carry_its_id(
    heard_process: HeardProcess, fake_slack: FakeSlack
) -> None:
    body = json.dumps(complaint_payload(text="The app crashed and charged me twice.")).encode()
    signed = {"Content-Type": "application/json", **sign_ingest(INGEST_SECRET, body)}

    filed = send(f"{heard_process.url}/ingest", body, {**signed, "X-Request-Id": "lb-7f3a9c"})
    refused = send(f"{heard_process.url}/ingest", body, {"Content-Type": "application/json", "X-Request-Id": "a b"})
    unnamed = send(f"{heard_process.url}/nowhere")
    fake_slack.wait_for("chat.postMessage")  # the card: the delivery thread logs nothing of a request
    heard_process.stop()
    assert heard_process.process.stderr is not None
    lines = [*heard_process.log, *heard_process.process.stderr.read().splitlines()]

    assert filed == (202, "lb-7f3a9c")  # the load balancer's id, echoed
    assert refused[0] == 401 and re.fullmatch(r"[0-9a-f]{32}", refused[1])  # not a sane id: one of Heard's own
    assert unnamed[0] == 404 and re.fullmatch(r"[0-9a-f]{32}", unnamed[1]) and unnamed[1] != refused[1]
    entries = [json.loads(line) for line in lines if line.strip()]
    assert len(entries) == len([line for line in lines if line.strip()]) >= 4
    assert all({"time", "level", "logger", "message", "request_id"} <= entry.keys() for entry in entries)
    started = next(entry for entry in entries if "listening on port" in entry["message"])
    assert started["request_id"] is None and started["level"] == "INFO"
    (access,) = [entry for entry in entries if entry["request_id"] == "lb-7f3a9c"]
    assert access["logger"] == "heard.http" and access["message"].startswith("POST /ingest 202 in ")
    (other,) = [entry for entry in entries if entry["request_id"] == unnamed[1]]
    assert other["message"].startswith("GET (other path) 404 in ")  # what the caller sent is not repeated
    assert any(entry["request_id"] == refused[1] and " 401 in " in entry["message"] for entry in entries)


def test_an_exception_and_a_customer_s_line_breaks_stay_inside_one_line() -> None:
    record = logging.LogRecord("heard.delivery", logging.ERROR, __file__, 1, "could not file %s", None, None)
    record.args = ("Broken\nline\u2028and a forged {} entry",)
    try:
        raise ValueError("the database said no")
    except ValueError:
        record.exc_info = sys.exc_info()

    line = JsonFormatter().format(record)

    assert "\n" not in line and "\u2028" not in line
    entry = json.loads(line)
    assert entry["message"] == "could not file Broken\nline\u2028and a forged {} entry"
    assert entry["exception"].startswith("Traceback") and "ValueError: the database said no" in entry["exception"]
    assert entry["request_id"] is None and entry["logger"] == "heard.delivery" and entry["level"] == "ERROR"
