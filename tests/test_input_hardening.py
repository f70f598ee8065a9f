"""Bad input is the sender's to fix, so it is answered as such: 400 naming the field (or 401 for the signature), 413
for a body too large, never "503 retry later" (a retrying sender would knock forever). One bad post never fails its
neighbours' commit, and an outage writes a line a minute, not a traceback a request."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app import Heard
from bot.failure_log import FailureLog, OncePerInterval
from sandbox.fake_graph import FakeGraph, sign
from sandbox.fake_slack import FakeSlack
from storage.db import Database
from storage.models import Complaint
from tests.conftest import INGEST_SECRET, SIGNING_SECRET
from tests.meta_desk import APP_SECRET, meta_settings, running_graph, start_desk
from tests.support import Answer, Ingester, complaint_payload, http_post, sign_ingest
from tests.test_ingest_and_signatures import stored_complaints, stored_events

NUL = "\x00"
LONE_SURROGATE = "\ud800"  # half of an emoji, as a broken bridge cuts it; json.dumps sends it as "\ud800"


def deeply_nested(depth: int) -> bytes:
    return b'{"source": "facebook", "id": "x", "author": {"handle": "h"}, "text": "t", "extra": ' + (
        b"[" * depth + b"]" * depth + b"}"
    )


def stored_texts(database: Database) -> list[tuple[str, str]]:
    with database.unit_of_work() as session:
        return [(c.author_handle, c.text) for c in session.scalars(select(Complaint).order_by(Complaint.id))]


# -- 1. bad input gets 400 / 401, never 503 ------------------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_refused_naming_the_body(customer: Ingester, database: Database) -> None:
    body = json.dumps(complaint_payload(text="broken")).encode().replace(b"broken", b"br\xff\xfeken")

    answer = customer.post_raw(body)

    assert (answer.status, answer.body.get("field")) == (400, "body")
    assert "UTF-8" in answer.body["message"]
    assert stored_complaints(database) == 0


@pytest.mark.parametrize("timestamp", ["soon", "", "12e3", "-1", "\u0661\u0667" + "\u0660" * 8, "9" * 40])
def test_a_timestamp_that_is_not_a_number_is_refused_as_unsigned(
    customer: Ingester, database: Database, timestamp: str
) -> None:
    body = json.dumps(complaint_payload()).encode()
    digest = hmac.new(INGEST_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    # Header values travel as latin-1; a non-latin timestamp is sent as its UTF-8 bytes.
    stamp = timestamp.encode().decode("latin-1")

    answer = http_post(
        customer.url,
        body,
        {"Content-Type": "application/json", "X-Heard-Timestamp": stamp, "X-Heard-Signature": f"v0={digest}"},
    )

    assert answer.status == 401
    assert "signature" in answer.body["error"]
    assert stored_complaints(database) == 0


def test_a_signature_that_is_not_ascii_is_refused_as_unsigned(customer: Ingester, database: Database) -> None:
    body = json.dumps(complaint_payload()).encode()
    headers = {"Content-Type": "application/json", **sign_ingest(INGEST_SECRET, body)}
    headers["X-Heard-Signature"] = "v0=é" + headers["X-Heard-Signature"][4:]

    assert http_post(customer.url, body, headers).status == 401
    assert stored_complaints(database) == 0


def test_json_nested_100000_deep_is_refused_naming_the_body(customer: Ingester, database: Database) -> None:
    deep = customer.post_raw(deeply_nested(100_000))
    still_too_deep = customer.post_raw(deeply_nested(200))

    assert (deep.status, deep.body.get("field")) == (400, "body")
    assert "nested" in deep.body["message"]
    assert (still_too_deep.status, still_too_deep.body.get("field")) == (400, "body")
    assert stored_complaints(database) == 0
    # A bridge's own nested record (a few levels) is kept as it came.
    assert customer.complain(extra={"entities": {"urls": [{"indices": [1, 2]}]}}).status == 202


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"author": {"handle": f"maria{NUL}", "name": "Maria"}}, "author.handle"),
        ({"author": {"handle": f"maria{LONE_SURROGATE}", "name": "Maria"}}, "author.handle"),
        ({"author": {"handle": "maria", "id": f"42{NUL}"}}, "author.id"),
        ({"id": f"post{NUL}1"}, "id"),
        ({"id": f"post{LONE_SURROGATE}1"}, "id"),
        ({"url": f"https://example.com/{NUL}"}, "url"),
        ({"url": f"https://example.com/{LONE_SURROGATE}"}, "url"),
        ({"created_at": "0001-01-01T00:00:00+14:00"}, "created_at"),
        ({"created_at": f"2026-01-01T00:00:00Z{NUL}"}, "created_at"),
    ],
)
def test_identifiers_with_nul_or_a_lone_surrogate_are_refused_naming_the_field(
    customer: Ingester, database: Database, fields: dict[str, Any], field: str
) -> None:
    answer = customer.complain(**fields)

    assert (answer.status, answer.body.get("field")) == (400, field)
    assert field.split(".")[-1] in answer.body["message"]
    assert stored_complaints(database) == 0 and stored_events(database) == 0


def test_an_integer_too_long_to_read_is_refused_naming_the_body(customer: Ingester, database: Database) -> None:
    body = json.dumps(complaint_payload()).encode().replace(b'"id": "', b'"n": ' + b"9" * 5000 + b', "id": "')

    answer = customer.post_raw(body)

    assert (answer.status, answer.body.get("field")) == (400, "body")
    assert stored_complaints(database) == 0


def test_nul_and_lone_surrogates_in_the_customers_words_are_cleaned_and_the_words_kept(
    customer: Ingester, database: Database
) -> None:
    nul = customer.complain(text=f"My order{NUL} never came", author={"handle": "maria", "name": f"Mar{NUL}ia"})
    cut = customer.complain(text=f"Still broken {LONE_SURROGATE}!", author={"handle": "leo", "name": "Leo"})

    assert [nul.status, cut.status] == [202, 202]
    assert stored_texts(database) == [("maria", "My order never came"), ("leo", "Still broken \ufffd!")]
    with database.unit_of_work() as session:
        first = session.get(Complaint, 1)
        assert first is not None and first.author_name == "Maria"


def slack_signature(timestamp: str, body: bytes) -> str:
    """Signed as Slack signs, computed here: slack_sdk's own signer cannot sign a body that is not UTF-8."""
    return "v0=" + hmac.new(SIGNING_SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


def test_slack_requests_that_are_not_utf8_or_carry_a_timestamp_that_is_no_number_are_refused_not_500(
    base_url: str, database: Database
) -> None:
    url = f"{base_url}/slack/events"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    garbled = b"payload=%7B%7D\xff\xfe"
    now = str(int(time.time()))
    plain = b"payload=%7B%7D"

    not_utf8 = http_post(
        url, garbled, {**form, "X-Slack-Request-Timestamp": now, "X-Slack-Signature": slack_signature(now, garbled)}
    )
    no_number = http_post(
        url, plain, {**form, "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": slack_signature("soon", plain)}
    )

    assert (not_utf8.status, no_number.status) == (400, 401)
    assert stored_events(database) == 0


# -- 2. one bad post fails alone -----------------------------------------------------------------------------------


def send_together(customer: Ingester, bodies: list[bytes]) -> list[Answer]:
    """Every body posted at once, each by its own sender."""
    answers: list[Answer | None] = [None] * len(bodies)
    start = threading.Barrier(len(bodies))

    def send(index: int) -> None:
        start.wait(10)
        answers[index] = customer.post_raw(bodies[index])

    senders = [threading.Thread(target=send, args=(n,)) for n in range(len(bodies))]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(60)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def innocent_and_bad(bad: dict[int, dict[str, Any]], count: int = 150) -> list[bytes]:
    return [
        json.dumps(complaint_payload(**{"id": f"storm-{n}", "text": f"Complaint {n}", **bad.get(n, {})})).encode()
        for n in range(count)
    ]


BAD_POSTS = {
    7: {"author": {"handle": f"ana{NUL}"}},
    41: {"id": f"storm{LONE_SURROGATE}41"},
    77: {"author": {"handle": f"leo{LONE_SURROGATE}"}},
    120: {"url": f"https://example.com/{NUL}"},
}


def test_150_posts_at_once_with_bad_ones_among_them_file_every_innocent_one(
    customer: Ingester, database: Database
) -> None:
    answers = send_together(customer, innocent_and_bad(BAD_POSTS))

    refused = {n: answer for n, answer in enumerate(answers) if n in BAD_POSTS}
    filed = [answer for n, answer in enumerate(answers) if n not in BAD_POSTS]
    assert [answer.status for answer in filed] == [202] * 146, [a.body for a in filed if a.status != 202][:3]
    assert {n: (a.status, a.body["field"]) for n, a in refused.items()} == {
        7: (400, "author.handle"),
        41: (400, "id"),
        77: (400, "author.handle"),
        120: (400, "url"),
    }
    assert stored_complaints(database) == 146


def test_a_post_that_fails_its_insert_fails_alone_while_its_batch_commits(
    customer: Ingester, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should anything unstorable get past validation (here: the cleaning of the customer's words is switched off),
    the batch it shares is filed without it, and its sender learns which field it was. A lone surrogate fails the
    insert on every database; a NUL only on PostgreSQL (SQLite stores it)."""
    monkeypatch.setattr("bot.platforms.webhook.ingest.storable_words", lambda value: value)
    monkeypatch.setattr("bot.services.intake.storable_words", lambda value: value)
    surrogates = {n: {"text": f"broken {LONE_SURROGATE} {n}"} for n in (3, 50, 51, 149)}
    nuls = {n: {"author": {"handle": "maria", "name": f"Maria{NUL}"}} for n in (20, 90)}
    refused = {**surrogates, **({} if database.is_sqlite else nuls)}

    answers = send_together(customer, innocent_and_bad({**surrogates, **nuls}))

    statuses = {n: (answer.status, answer.body.get("field")) for n, answer in enumerate(answers)}
    assert {n: status for n, status in statuses.items() if n in refused} == {
        **dict.fromkeys(surrogates, (400, "text")),
        **dict.fromkeys(refused.keys() & nuls.keys(), (400, "author.name")),
    }
    innocent = [status for n, status in statuses.items() if n not in refused]
    assert innocent == [(202, None)] * (150 - len(refused))
    assert "could not be stored" in answers[3].body["message"]
    assert stored_complaints(database) == 150 - len(refused)


# -- 3. too large: a 413 the sender can read -----------------------------------------------------------------------

THREE_MEGABYTES = 3 * 1024 * 1024


def test_a_body_over_the_limit_sent_whole_gets_a_413_it_can_read(customer: Ingester, database: Database) -> None:
    body = json.dumps(complaint_payload(text="x" * THREE_MEGABYTES)).encode()

    answer = customer.post_raw(body)

    assert answer.status == 413
    assert answer.body["error"] == "payload too large"
    assert stored_complaints(database) == 0
    assert customer.complain().status == 202  # and the server is still there


def test_a_slack_request_over_slacks_own_size_gets_a_413(base_url: str) -> None:
    body = b"payload=" + b"x" * THREE_MEGABYTES

    answer = http_post(f"{base_url}/slack/events", body, {"Content-Type": "application/x-www-form-urlencoded"})

    assert answer.status == 413


@pytest.fixture
def graph() -> Any:
    with running_graph() as graph:
        yield graph


def test_a_meta_delivery_over_the_limit_gets_a_413_it_can_read(
    graph: FakeGraph, start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    desk = start_desk(start_heard, graph, fake_slack, database, **meta_settings(graph, instagram=False))
    body = json.dumps({"object": "page", "entry": [], "padding": "x" * THREE_MEGABYTES}).encode()

    answer = http_post(
        f"{desk.base}/webhooks/meta",
        body,
        {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)},
    )

    assert answer.status == 413
    assert answer.body["error"] == "payload too large"


# -- 5. an outage is a line a minute, not a traceback a request ----------------------------------------------------


def test_a_database_outage_logs_one_line_per_kind_not_a_traceback_per_request(
    heard: Heard, customer: Ingester, base_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.error
    import urllib.request

    def unreachable() -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    caplog.set_level(logging.INFO, logger="heard")
    monkeypatch.setattr(heard.database, "_sessions", unreachable)

    answers = [customer.complain() for _ in range(30)]
    health: list[int] = []
    for _ in range(10):
        try:
            urllib.request.urlopen(f"{base_url}/healthz", timeout=5)
        except urllib.error.HTTPError as error:
            health.append(error.code)

    assert {answer.status for answer in answers} == {503}
    assert answers[0].body["message"] == "nothing was stored; retry later"
    assert health == [503] * 10
    records = [r for r in caplog.records if r.name.startswith("heard.handlers")]
    assert len(records) == 2, [r.getMessage() for r in records]
    assert all(record.exc_info is None and "\n" not in record.getMessage() for record in records)
    assert any("OperationalError" in record.getMessage() for record in records)
    monkeypatch.undo()
    assert customer.complain().status == 202


def test_the_failure_log_says_once_a_minute_how_many_it_kept_back(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    failures = FailureLog(logging.getLogger("heard.test"), every=60.0, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="heard.test")
    outage = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    for _ in range(100):
        failures.report("ingest", outage)
        now[0] += 0.5  # 50 seconds of requests
    failures.report("health", outage)
    now[0] += 11
    failures.report("ingest", outage)

    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0].startswith("ingest: OperationalError") and "connection refused" in lines[0]
    assert lines[1].startswith("health: OperationalError")
    assert "99 more like it" in lines[2]
    assert all(len(line) < 400 for line in lines)


def test_a_busy_server_says_so_once_a_minute_not_once_per_request(caplog: pytest.LogCaptureFixture) -> None:
    """waitress warns "Task queue depth is N" for every request that waits for a thread: under a flood of clicks,
    one line per click. Heard's logging lets one a minute through, with the count it held back."""
    now = [1000.0]
    queue = logging.getLogger("waitress.queue.test")
    queue.addFilter(OncePerInterval(every=60.0, clock=lambda: now[0]))
    caplog.set_level(logging.INFO, logger="waitress.queue.test")

    for depth in range(1, 201):
        queue.warning("Task queue depth is %d", depth)
        now[0] += 0.25  # 50 seconds of a flood
    now[0] += 11
    queue.warning("Task queue depth is %d", 3)

    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["Task queue depth is 1", "Task queue depth is 3 (199 more like it in the last 61s)"]

    from app import _configure_logging  # what `python app.py` sets up

    _configure_logging("INFO")
    assert any(isinstance(f, OncePerInterval) for f in logging.getLogger("waitress.queue").filters)


def test_a_signed_ingest_with_the_signature_scheme_of_slack_still_works(customer: Ingester) -> None:
    """The verifier no longer goes through slack_sdk; the scheme is unchanged."""
    from slack_sdk.signature import SignatureVerifier

    body = json.dumps(complaint_payload()).encode()
    stamp = str(int(time.time()))
    signature = SignatureVerifier(INGEST_SECRET).generate_signature(timestamp=stamp, body=body)
    assert signature is not None and SIGNING_SECRET != INGEST_SECRET

    answer = http_post(
        customer.url,
        body,
        {"Content-Type": "application/json", "X-Heard-Timestamp": stamp, "X-Heard-Signature": signature},
    )

    assert answer.status == 202
