"""Slack slow, failing or rate-limiting, and Heard killed halfway: every card still arrives, and only once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import Complaint, Delivery
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET, heard_environment
from tests.support import HeardProcess, Ingester


def card_ts(database: Database, complaint_id: int) -> str | None:
    with database.unit_of_work() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint.slack_ts


def outbox_statuses(database: Database) -> list[str]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(Delivery.status)))


def test_500_then_429_delays_the_card_but_it_arrives_once(
    customer: Ingester, fake_slack: FakeSlack, database: Database
) -> None:
    fake_slack.fail_next("chat.postMessage", status=500)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)

    answer = customer.complain()

    assert answer.status == 202 and answer.elapsed_ms < 1000  # the sender is not held up by Slack
    posts = fake_slack.wait_for("chat.postMessage", count=3, timeout=15)
    assert [post.status for post in posts] == [500, 429, 200]
    assert posts[2].at - posts[1].at >= 0.9  # Retry-After honoured
    assert len(fake_slack.messages(CHANNEL)) == 1
    _wait_for_ts(database, answer.body["complaint_id"], fake_slack.messages(CHANNEL)[0]["ts"])
    assert outbox_statuses(database) == ["done"]


def test_a_timeout_after_slack_posted_does_not_post_twice(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    heard = start_heard(SLACK_TIMEOUT="1s")
    customer = Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET)
    fake_slack.hang_next("chat.postMessage", seconds=2.5, apply=True)

    complaint_id = customer.complain().body["complaint_id"]

    fake_slack.wait_for("conversations.history", timeout=15)
    assert len(fake_slack.messages(CHANNEL)) == 1
    (message,) = fake_slack.messages(CHANNEL)
    _wait_for_ts(database, complaint_id, message["ts"])
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


@pytest.fixture
def heard_process(fake_slack: FakeSlack, database_url: str) -> Iterator[Callable[[], HeardProcess]]:
    started: list[HeardProcess] = []

    def start() -> HeardProcess:
        process = HeardProcess(heard_environment(fake_slack, database_url, SLACK_TIMEOUT="1s"))
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.mark.parametrize("slack_acted", [False, True], ids=["before-slack-acted", "after-slack-acted"])
def test_killed_mid_delivery_and_restarted_the_card_is_posted_once(
    heard_process: Callable[[], HeardProcess], fake_slack: FakeSlack, database: Database, slack_acted: bool
) -> None:
    first = heard_process()
    fake_slack.hang_next("chat.postMessage", seconds=5, apply=slack_acted)
    complaint_id = Ingester(f"{first.url}/ingest", INGEST_SECRET).complain().body["complaint_id"]
    fake_slack.wait_for("chat.postMessage")  # the call is in flight...

    first.kill()  # ...and Heard dies before it learns the outcome
    heard_process()

    if slack_acted:
        fake_slack.wait_for("conversations.history", timeout=15)
        _wait_for_ts(database, complaint_id, fake_slack.messages(CHANNEL)[0]["ts"])
        assert len(fake_slack.calls_to("chat.postMessage")) == 1
    else:
        fake_slack.wait_for("chat.postMessage", count=2, timeout=15)
    (message,) = fake_slack.messages(CHANNEL)
    _wait_for_ts(database, complaint_id, message["ts"])


@pytest.mark.parametrize("update_fails", [False, True], ids=["updated", "update-failed-once"])
def test_a_card_adopted_after_a_timeout_shows_what_changed_meanwhile(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database, update_fails: bool
) -> None:
    """Slack posted the card but Heard did not hear it; the complaint was claimed before the retry. The retry
    finds the card Slack kept (no second card) and brings it up to date: it must not keep showing "Unclaimed".
    Should that update fail, the card found is kept, and the next attempt updates it without looking again."""
    heard = start_heard(SLACK_TIMEOUT="1s")
    customer = Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET)
    slack = SlackDriver(f"http://127.0.0.1:{heard.port}/slack/events", SIGNING_SECRET, fake_slack)
    fake_slack.hang_next("chat.postMessage", seconds=2.5, apply=True)
    complaint_id = customer.complain().body["complaint_id"]
    fake_slack.wait_for("chat.postMessage")  # Slack has the card; Heard is still waiting for the answer

    (card,) = fake_slack.messages(CHANNEL)
    assert slack.click("Claim", on=card, channel=CHANNEL, user="U0ANA").status == 200
    if update_fails:
        fake_slack.fail_next("chat.update", status=500)

    fake_slack.wait_for("conversations.history", timeout=15)
    _wait_for_card_delivered(database, complaint_id)
    (card,) = fake_slack.messages(CHANNEL)
    assert "Owner: <@U0ANA>" in _shown(card) and "Unclaimed" not in _shown(card)
    _wait_for_ts(database, complaint_id, card["ts"])
    # One card; the thread's log line ("claimed by ...") may follow it under the card.
    assert len([call for call in fake_slack.calls_to("chat.postMessage") if not call.args.get("thread_ts")]) == 1
    assert len(fake_slack.calls_to("conversations.history")) == 1
    assert [call.status for call in fake_slack.calls_to("chat.update")] == ([500, 200] if update_fails else [200])
    assert fake_slack.problems == []


def test_a_card_adopted_after_a_crash_shows_what_changed_meanwhile(
    heard_process: Callable[[], HeardProcess], fake_slack: FakeSlack, database: Database
) -> None:
    first = heard_process()
    fake_slack.hang_next("chat.postMessage", seconds=5, apply=True)
    complaint_id = Ingester(f"{first.url}/ingest", INGEST_SECRET).complain().body["complaint_id"]
    fake_slack.wait_for("chat.postMessage")
    (card,) = fake_slack.messages(CHANNEL)
    slack = SlackDriver(f"{first.url}/slack/events", SIGNING_SECRET, fake_slack)
    assert slack.click("Claim", on=card, channel=CHANNEL, user="U0ANA").status == 200

    first.kill()  # dies before hearing Slack's answer; the claim is committed
    heard_process()

    fake_slack.wait_for("conversations.history", timeout=15)
    _wait_for_card_delivered(database, complaint_id)
    (card,) = fake_slack.messages(CHANNEL)
    assert "Owner: <@U0ANA>" in _shown(card) and "Unclaimed" not in _shown(card)
    assert len([call for call in fake_slack.calls_to("chat.postMessage") if not call.args.get("thread_ts")]) == 1


def _shown(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def _wait_for_card_delivered(database: Database, complaint_id: int) -> None:
    deadline = time.monotonic() + 15
    while True:
        with database.unit_of_work() as session:
            status = session.scalar(select(Delivery.status).where(Delivery.key == f"card:{complaint_id}"))
        if status == "done":
            return
        assert time.monotonic() < deadline, f"the card's outbox row is still {status}"
        time.sleep(0.05)


def _wait_for_ts(database: Database, complaint_id: int, ts: str) -> None:
    """The ts is written right after Slack answers; allow the worker a moment to commit it."""
    deadline = time.monotonic() + 5
    while card_ts(database, complaint_id) != ts:
        assert time.monotonic() < deadline, "the card's ts never reached the database"
        time.sleep(0.05)
