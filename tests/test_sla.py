"""The SLA engine through the real scheduler with short windows: nags before the deadline, the breach at it,
reminders after it, and an acknowledgement that stops them all — each exactly once, across copies and crashes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import Call, FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import AuditEvent, Complaint
from tests.care_team import CareTeam, buttons, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET, heard_environment
from tests.support import HeardProcess, Ingester

ANA, BOSS, DUTY = "U0ANA", "U0BOSS", "U0DUTY"
SHORT_WINDOWS = {
    "ACK_WINDOW": "8s",
    "NAG_BEFORE": "5s,2s",
    "BREACH_REPEAT": "2s",
    "BREACH_REPEATS": "2",
    "RESOLVE_WINDOW": "1h",
    "HEARD_MANAGERS": BOSS,
    "HEARD_ON_DUTY": DUTY,
    "HEARD_THREAD_LOG": "off",
}
# How late a stage may arrive: the target is one second; the fake Slack and CI machines add a little.
ON_TIME = 1.5
COMPLAINT = re.compile(r"#(\d+)")


def is_nag(call: Call) -> bool:
    return call.method == "chat.postMessage" and "*Acknowledge by" in visible_text(call.args)


def is_breach(call: Call) -> bool:
    return call.method == "chat.postMessage" and "Not acknowledged in time" in visible_text(call.args)


def sla_events(database: Database) -> list[tuple[int, str]]:
    with database.unit_of_work() as session:
        rows = session.execute(
            select(AuditEvent.complaint_id, AuditEvent.action)
            .where(AuditEvent.action.in_(("nagged", "breached", "breach reminder")))
            .order_by(AuditEvent.id)
        ).all()
        return [(complaint_id, action) for complaint_id, action in rows]


@pytest.fixture
def people(start_heard: Callable[..., Heard], fake_slack: FakeSlack) -> tuple[CareTeam, Ingester]:
    heard = start_heard(**SHORT_WINDOWS)
    base = f"http://127.0.0.1:{heard.port}"
    team = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    return team, Ingester(f"{base}/ingest", INGEST_SECRET)


def test_unclaimed_complaint_nags_on_duty_in_the_thread_then_breaches_to_managers_until_acknowledged(
    people: tuple[CareTeam, Ingester], fake_slack: FakeSlack, database: Database
) -> None:
    team, customer = people
    posted = time.monotonic()
    customer.complain(created_at=None)
    card = team.card()

    first, second = fake_slack.wait_for("chat.postMessage", count=2, where=is_nag, timeout=10)
    assert first.args["thread_ts"] == card["ts"] and second.args["thread_ts"] == card["ts"]
    assert f"<@{DUTY}>" in visible_text(first.args)
    assert abs(first.at - posted - 3) < ON_TIME and abs(second.at - posted - 6) < ON_TIME
    nag = fake_slack.replies(CHANNEL, card["ts"])[1]
    assert buttons(nag) == ["Acknowledge", "Claim"]

    (breach,) = fake_slack.wait_for("chat.postMessage", where=is_breach, timeout=10)
    assert breach.args["channel"] == BOSS and abs(breach.at - posted - 8) < ON_TIME
    assert "Open the card" in visible_text(breach.args)
    team.card_shows("Overdue by")
    fake_slack.wait_for("chat.postMessage", count=2, where=is_breach, timeout=10)  # the first reminder

    team.acknowledge(ANA, on=nag)  # straight from the nag in the thread
    team.card_shows("Acknowledged by <@U0ANA>")
    fake_slack.wait_for(
        "chat.update", where=lambda call: "Acknowledged by <@U0ANA>" in visible_text(call.args) and is_breach_text(call)
    )
    assert nothing_due_soon(database)
    assert len([c for c in fake_slack.calls_to("chat.postMessage") if is_breach(c)]) == 2
    assert [action for _, action in sla_events(database)] == ["nagged", "nagged", "breached", "breach reminder"]


def nothing_due_soon(database: Database) -> bool:
    """The acknowledgement clock has stopped: the next SLA moment is the resolution window's, an hour away."""
    with database.unit_of_work() as session:
        due = session.scalar(select(Complaint.sla_due_at).where(Complaint.id == 1))
    return due is not None and due > datetime.now(UTC) + timedelta(minutes=30)


def is_breach_text(call: Call) -> bool:
    return "Not acknowledged in time" in visible_text(call.args)


def test_a_claimed_complaint_nags_its_owner_by_dm_and_acknowledging_stops_the_clock(
    people: tuple[CareTeam, Ingester], fake_slack: FakeSlack, database: Database
) -> None:
    team, customer = people
    customer.complain()
    team.click(ANA, "Claim")
    team.card_shows("Owner: <@U0ANA>")

    reminder = team.dm(ANA, "*Acknowledge by", timeout=10)
    assert buttons(reminder) == ["Acknowledge"]
    team.acknowledge(ANA, on=reminder, channel=reminder["channel"])

    team.card_shows("Acknowledged by <@U0ANA>")
    fake_slack.wait_for("chat.update", where=lambda call: call.args.get("channel") == reminder["channel"])
    assert buttons(fake_slack.message(reminder["channel"], reminder["ts"])) == []
    assert nothing_due_soon(database)  # no breach will come for an acknowledged complaint
    assert [action for _, action in sla_events(database)] == ["nagged"]


def test_two_copies_share_the_clocks_and_each_stage_happens_once(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    # A short ALERT_INTERVAL: should the copies split a sweep, the rest is not held for a minute.
    copies = [start_heard(**{**SHORT_WINDOWS, "BREACH_REPEATS": "0", "ALERT_INTERVAL": "2s"}) for _ in range(2)]
    for index in range(3):
        Ingester(f"http://127.0.0.1:{copies[index % 2].port}/ingest", INGEST_SECRET).complain()

    # Due together, they are listed together (reminder_batches.py): each complaint in exactly one breach alert.
    wait_until(lambda: sorted(listed_in(fake_slack, is_breach)) == [1, 2, 3], timeout=15)

    events = sla_events(database)
    for complaint_id in (1, 2, 3):
        assert [action for cid, action in events if cid == complaint_id] == ["nagged", "nagged", "breached"]
    # A nag list already posted is updated to add a nag falling due just after it: count the lists as they stand.
    lists = nag_messages_now(fake_slack)
    named = sorted(int(number) for message in lists for number in COMPLAINT.findall(message["text"]))
    assert named == [1, 1, 2, 2, 3, 3] and len(lists) < 6, [message["text"] for message in lists]


def nag_messages_now(fake_slack: FakeSlack) -> list[dict[str, Any]]:
    """The nag messages Heard posted, as Slack shows them now (after any update that added to a list)."""
    places = {
        (call.args["channel"], call.args.get("thread_ts"))
        for call in fake_slack.calls_to("chat.postMessage")
        if call.ok and is_nag(call)
    }
    shown: list[dict[str, Any]] = []
    for channel, thread in places:
        where = fake_slack.dm_channel(channel) if channel.startswith(("U", "W")) else channel
        messages = fake_slack.replies(where, thread) if thread else fake_slack.messages(where)
        shown += [message for message in messages if "*Acknowledge by" in visible_text(message)]
    return shown


def listed_in(fake_slack: FakeSlack, kind: Callable[[Call], bool]) -> list[int]:
    """The complaints named by the messages of one kind (a message alone, or one listing several)."""
    return [
        int(number)
        for c in fake_slack.calls_to("chat.postMessage")
        if kind(c)
        for number in COMPLAINT.findall(c.args["text"])
    ]


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def heard_process(fake_slack: FakeSlack, database_url: str) -> Iterator[Callable[[], HeardProcess]]:
    started: list[HeardProcess] = []

    def start() -> HeardProcess:
        process = HeardProcess(heard_environment(fake_slack, database_url, SLACK_TIMEOUT="1s", **SHORT_WINDOWS))
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def test_killed_mid_run_and_restarted_nothing_is_dropped_or_doubled(
    heard_process: Callable[[], HeardProcess], fake_slack: FakeSlack, database: Database
) -> None:
    first = heard_process()
    Ingester(f"{first.url}/ingest", INGEST_SECRET).complain()
    fake_slack.wait_for("chat.postMessage", where=is_nag, timeout=10)

    first.kill()
    heard_process()

    fake_slack.wait_for("chat.postMessage", count=3, where=is_breach, timeout=20)  # breach + 2 reminders
    assert len([c for c in fake_slack.calls_to("chat.postMessage") if is_nag(c)]) == 2
    assert [action for _, action in sla_events(database)] == [
        "nagged",
        "nagged",
        "breached",
        "breach reminder",
        "breach reminder",
    ]
