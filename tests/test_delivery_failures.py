"""Slack slow, failing or rate-limiting, and Heard killed halfway: every card still arrives, and only once."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import FakeSlack
from storage.db import Database
from storage.models import Complaint, Delivery
from tests.conftest import CHANNEL, INGEST_SECRET, heard_environment
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


def _wait_for_ts(database: Database, complaint_id: int, ts: str) -> None:
    """The ts is written right after Slack answers; allow the worker a moment to commit it."""
    import time

    deadline = time.monotonic() + 5
    while card_ts(database, complaint_id) != ts:
        assert time.monotonic() < deadline, "the card's ts never reached the database"
        time.sleep(0.05)
