"""Socket Mode end to end: Heard connects to the fake Slack over a WebSocket (apps.connections.open with the
app-level token), receives clicks as envelopes and acks them; complaints still arrive over HTTP at /ingest."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from app import Heard
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver, SocketModeDriver
from storage.db import Database
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester, stored_complaint
from tests.test_card_workflow import ANA, audit_trail, card_text, the_card


@pytest.fixture
def start_socket_mode_heard(start_heard: Callable[..., Heard], fake_slack: FakeSlack) -> Callable[[], Heard]:
    """Start Heard in Socket Mode: the fake's app token, no signing secret (Slack signs nothing in Socket Mode)."""

    def start() -> Heard:
        return start_heard(SLACK_APP_TOKEN=fake_slack.app_token, SLACK_SIGNING_SECRET="")

    return start


def ingester(heard: Heard) -> Ingester:
    return Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET)


def claim_over_the_socket(fake_slack: FakeSlack, card: dict[str, Any]) -> str:
    """Click Claim on ``card`` as Ana through the socket; returns the envelope id once Heard has acked it."""
    slack = SocketModeDriver(fake_slack)
    envelope_id = slack.click("Claim", on=card, channel=CHANNEL, user=ANA)
    ack = slack.ack(envelope_id)
    assert ack.args == {"envelope_id": envelope_id}  # an empty ack: block_actions take no response payload
    assert ack.ok
    return envelope_id


def test_claim_through_the_socket_makes_the_clicker_the_owner(
    start_socket_mode_heard: Callable[[], Heard], fake_slack: FakeSlack, database: Database
) -> None:
    heard = start_socket_mode_heard()
    assert fake_slack.socket_connected(timeout=5), [c.summary() for c in fake_slack.calls]

    answer = ingester(heard).complain()

    assert answer.status == 202
    complaint_id = answer.body["complaint_id"]
    card = the_card(fake_slack)
    claim_over_the_socket(fake_slack, card)
    (update,) = fake_slack.wait_for("chat.update")
    assert update.args["ts"] == card["ts"]
    assert f"Owner: <@{ANA}>" in card_text(fake_slack.message(CHANNEL, card["ts"]))
    complaint = stored_complaint(database, complaint_id)
    assert complaint.owner_id == ANA and complaint.claimed_at is not None
    assert audit_trail(database, complaint_id) == [("received", "facebook"), ("claimed", ANA)]
    (connection_open,) = fake_slack.calls_to("apps.connections.open")
    assert connection_open.headers["Authorization"] == f"Bearer {fake_slack.app_token}"
    assert fake_slack.problems == []


def test_slack_events_is_not_served_in_socket_mode(
    start_socket_mode_heard: Callable[[], Heard], fake_slack: FakeSlack, database: Database
) -> None:
    heard = start_socket_mode_heard()
    complaint_id = ingester(heard).complain().body["complaint_id"]
    card = the_card(fake_slack)
    http = SlackDriver(f"http://127.0.0.1:{heard.port}/slack/events", SIGNING_SECRET, fake_slack)

    # Even a correctly signed click: in Socket Mode nothing checks signatures, so nothing may be served.
    response = http.click("Claim", on=card, channel=CHANNEL, user=ANA)

    assert response.status == 404
    assert stored_complaint(database, complaint_id).owner_id is None
    assert audit_trail(database, complaint_id) == [("received", "facebook")]


@pytest.mark.parametrize(
    "failure",
    [pytest.param({"status": 500}, id="slack-down"), pytest.param({"error": "invalid_auth"}, id="token-refused")],
)
def test_heard_keeps_ingesting_while_slack_refuses_the_connection_and_connects_later(
    start_socket_mode_heard: Callable[[], Heard],
    fake_slack: FakeSlack,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    failure: dict[str, Any],
) -> None:
    caplog.set_level(logging.INFO, logger="heard")
    fake_slack.fail_next("apps.connections.open", **failure)

    heard = start_socket_mode_heard()
    (refused,) = fake_slack.wait_for("apps.connections.open")
    # Heard waits 1 s before it tries again: ample time to see it is not connected.
    assert not fake_slack.socket_connected(timeout=0)
    answer = ingester(heard).complain()

    assert answer.status == 202
    card = the_card(fake_slack)
    assert fake_slack.socket_connected(timeout=5), [c.summary() for c in fake_slack.calls]
    refused, accepted = fake_slack.calls_to("apps.connections.open")
    assert not refused.ok and accepted.ok
    assert accepted.at - refused.at >= 0.9  # the backoff, not a tight loop
    (connected,) = fake_slack.calls_to("socket_mode.connect")
    assert connected.status == 101
    errors = [r.getMessage() for r in caplog.records if r.name == "heard" and r.levelno == logging.ERROR]
    assert any("retrying in 1s" in message for message in errors), errors

    claim_over_the_socket(fake_slack, card)
    fake_slack.wait_for("chat.update")
    assert stored_complaint(database, answer.body["complaint_id"]).owner_id == ANA
    assert fake_slack.problems == []


def test_a_refused_websocket_handshake_is_retried_with_a_fresh_url(
    start_socket_mode_heard: Callable[[], Heard], fake_slack: FakeSlack, database: Database
) -> None:
    # apps.connections.open succeeds but the WebSocket upgrade is refused (a proxy in the way, a Slack hiccup).
    fake_slack.fail_next("socket_mode.connect", status=503)

    heard = start_socket_mode_heard()

    assert fake_slack.socket_connected(timeout=15), [c.summary() for c in fake_slack.calls]
    refused, accepted = fake_slack.calls_to("socket_mode.connect")
    assert (refused.status, accepted.status) == (503, 101)
    assert refused.args["ticket"] != accepted.args["ticket"]
    assert len(fake_slack.calls_to("apps.connections.open")) == 2
    complaint_id = ingester(heard).complain().body["complaint_id"]
    claim_over_the_socket(fake_slack, the_card(fake_slack))
    fake_slack.wait_for("chat.update")
    assert stored_complaint(database, complaint_id).owner_id == ANA
    assert fake_slack.problems == []
