"""What arrives at Heard's door: forged, stale, malformed, oversized and repeated requests lose nothing and store
nothing they should not."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import AuditEvent, Complaint
from tests.conftest import CHANNEL
from tests.support import Ingester, complaint_payload, http_post, sign_ingest
from tests.test_card_workflow import the_card

SIX_MINUTES = 6 * 60


def stored_complaints(database: Database) -> int:
    with database.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Complaint)) or 0


def stored_events(database: Database) -> int:
    with database.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_the_same_complaint_twice_is_one_complaint_and_one_card(
    customer: Ingester, fake_slack: FakeSlack, database: Database
) -> None:
    payload = complaint_payload(id="fb-777")

    first = customer.post_raw(json.dumps(payload).encode())
    second = customer.post_raw(json.dumps(payload).encode())

    assert (first.status, first.body) == (202, {"complaint_id": 1, "duplicate": False})
    assert (second.status, second.body) == (200, {"complaint_id": 1, "duplicate": True})
    fake_slack.wait_for("chat.postMessage")
    assert stored_complaints(database) == 1
    assert len(fake_slack.messages(CHANNEL)) == 1


def test_forged_and_stale_ingest_signatures_are_refused(customer: Ingester, database: Database) -> None:
    body = json.dumps(complaint_payload()).encode()

    forged = customer.post_raw(body, secret="not-the-secret")
    stale = customer.post_raw(body, timestamp=int(time.time()) - SIX_MINUTES)
    unsigned = http_post(customer.url, body, {"Content-Type": "application/json"})

    assert [forged.status, stale.status, unsigned.status] == [401, 401, 401]
    assert "signature" in forged.body["error"]
    assert stored_complaints(database) == 0


def test_forged_and_stale_slack_signatures_are_refused(
    customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver, database: Database
) -> None:
    customer.complain()
    card = the_card(fake_slack)
    payload = "payload=" + json.dumps({"type": "block_actions", "user": {"id": "U0EVE"}, "actions": []})

    forged = slack.post_signed(payload, signature="v0=" + "0" * 64)
    stale = slack.post_signed(payload, timestamp=int(time.time()) - SIX_MINUTES)

    assert [forged.status, stale.status] == [401, 401]
    with database.unit_of_work() as session:
        complaint = session.get(Complaint, 1)
        assert complaint is not None and complaint.owner_id is None
    assert stored_events(database) == 1  # only "received"
    assert card["ts"] and fake_slack.calls_to("chat.update") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({k: v for k, v in complaint_payload().items() if k != "text"}).encode(), "text"),
        (json.dumps(complaint_payload(text=42)).encode(), "text"),
        (json.dumps(complaint_payload(author="maria")).encode(), "author"),
        (json.dumps(complaint_payload(author={"name": "No Handle"})).encode(), "author.handle"),
        (json.dumps(complaint_payload(created_at="yesterday")).encode(), "created_at"),
        (json.dumps(complaint_payload(url="javascript:alert(1)")).encode(), "url"),
        (json.dumps(complaint_payload(source="Face Book!")).encode(), "source"),
        (json.dumps({k: v for k, v in complaint_payload().items() if k != "id"}).encode(), "id"),
    ],
)
def test_malformed_bodies_are_refused_naming_the_field(
    customer: Ingester, database: Database, body: bytes, field: str
) -> None:
    answer = customer.post_raw(body)

    assert answer.status == 400
    assert answer.body["field"] == field
    assert field.split(".")[-1] in answer.body["message"] or field == "body"
    assert stored_complaints(database) == 0


def test_a_one_megabyte_body_is_refused_as_too_large(customer: Ingester, database: Database) -> None:
    body = json.dumps(complaint_payload(text="x" * 1024 * 1024)).encode()

    answer = http_post(customer.url, body, {"Content-Type": "application/json", **sign_ingest(customer.secret, body)})

    assert answer.status == 413
    assert stored_complaints(database) == 0


def test_health_reports_database_and_outbox(base_url: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{base_url}/healthz", timeout=5) as response:
        health = json.loads(response.read())

    assert health["status"] == "ok"
    assert health["outbox"] == {"pending": 0, "failed": 0, "oldest_pending_seconds": 0}
