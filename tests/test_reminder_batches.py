"""Storms of clock messages, end to end against the fake Slack (issue 13 item 2): nags falling due over several
sweeps while the channel is busy all reach a posted list (or are dropped at their deadline, on the record), no list
is folded away unsent, the thread says "sent a reminder" only for what was posted; and a manager's backlog of
breach alerts is one message per `ALERT_INTERVAL`, updated to list every alert falling due within it and naming the
ones past what it shows in full ("and N more"), within Block Kit's limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app import Heard
from bot import reminder_batches as batches
from sandbox.fake_slack import Call, FakeSlack, _resolve_channel
from storage.db import Database
from storage.models import AuditEvent, Delivery
from tests.care_team import visible_text
from tests.conftest import CHANNEL
from tests.test_delivery_priority import BOSS, COMPLAINT, desk, is_card, listed, posts, shown_to, wait_until


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(database: Database, kind: str) -> list[Delivery]:
    with database.unit_of_work() as session:
        rows = list(session.scalars(select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id)).all())
        session.expunge_all()
        return rows


def _actions(database: Database, action: str) -> list[int]:
    with database.unit_of_work() as session:
        return sorted(
            int(cid) for cid in session.scalars(select(AuditEvent.complaint_id).where(AuditEvent.action == action))
        )


def test_nags_due_over_several_sweeps_in_a_busy_channel_all_reach_a_posted_list(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    heard = start_heard(ACK_WINDOW="30s", NAG_BEFORE="15s", BREACH_REPEATS="0", HEARD_THREAD_LOG="off")
    customer = desk(heard, fake_slack)[1]
    start = datetime.now(UTC)
    for index in range(30):  # nags fall due from now to about 20 s from now, while 30 cards keep the channel busy
        posted = start - timedelta(seconds=15) + timedelta(seconds=round(index * 0.7))
        customer.complain(created_at=_at(posted), text=f"Complaint number {index}: the app is down.")

    def settled() -> bool:
        rows = _rows(database, "nag")
        return len(rows) == 30 and all(row.status not in ("pending", "sending") for row in rows)

    wait_until(settled, 45, "every nag sent or dropped")

    def nag_lists() -> list[Call]:
        return posts(fake_slack, lambda c: c.args["channel"] == CHANNEL and "to acknowledge" in visible_text(c.args))

    def single_nags() -> list[Call]:
        return posts(fake_slack, lambda c: c.args.get("thread_ts") is not None and "Acknowledge by" in c.args["text"])

    # A list already posted is updated to name a nag falling due just after it (chat.update), and drops one whose
    # deadline has passed since: a nag reached Slack if any version of a list Slack accepted named it.
    versions = [
        call
        for call in fake_slack.calls_to("chat.postMessage") + fake_slack.calls_to("chat.update")
        if call.ok and call.args.get("channel") == CHANNEL and "to acknowledge" in visible_text(call.args)
    ]
    posted = set(listed(versions)) | {
        int(number) for call in single_nags() for number in COMPLAINT.findall(call.args["text"])
    }
    dropped = set(_actions(database, batches.NAG_DROPPED))
    missing = set(range(1, 31)) - posted - dropped
    rows = [(r.key, r.status, r.ts, r.payload) for r in _rows(database, "nag") if r.complaint_id in missing]
    assert not missing, (sorted(missing), rows, [call.args["text"] for call in versions])
    assert not posted & dropped
    # New cards take the channel's slots first (priority.py): nags whose deadline passed meanwhile were dropped.
    assert len(posted) >= 5, sorted(posted)
    by_key = {row.key: row for row in _rows(database, "nag")}
    for row in by_key.values():  # nothing folded into a list that was never posted
        leader = row
        while batches.FOLDED_INTO in (leader.payload or {}):
            leader = by_key[leader.payload[batches.FOLDED_INTO]]
        if leader is not row:
            assert leader.ts is not None or row.complaint_id in dropped, (row.key, leader.key)
    assert len(nag_lists()) + len(single_nags()) <= 10  # lists, not thirty messages
    assert len(posts(fake_slack, is_card)) == 30


def test_the_thread_says_sent_a_reminder_only_for_a_nag_that_was_posted(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    heard = start_heard(ACK_WINDOW="8s", NAG_BEFORE="4s", BREACH_REPEATS="0")
    team, customer = desk(heard, fake_slack)
    for index in range(4):
        customer.complain(created_at=None, text=f"Complaint number {index}: the app is down.")
    fake_slack.wait_for("chat.postMessage", count=4, where=is_card)
    fake_slack.wait_for(
        "chat.postMessage", where=lambda c: "complaints to acknowledge soon" in visible_text(c.args), timeout=10
    )

    def reminder_lines() -> list[Call]:
        return posts(fake_slack, lambda c: c.args.get("thread_ts") is not None and "reminder" in c.args["text"])

    wait_until(lambda: len(reminder_lines()) == 4, 15, "a line in each card's thread")
    cards = {int(n) for c in posts(fake_slack, is_card) for n in listed([c])[:1]}
    assert cards == {1, 2, 3, 4}
    texts = [call.args["text"] for call in reminder_lines()]
    assert sum("listed with" in text for text in texts) >= 3, texts
    del team


def test_a_managers_breach_alerts_are_one_message_per_interval_listing_every_one_and_the_rest_as_and_n_more(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    heard = start_heard(
        ACK_WINDOW="30s",
        NAG_BEFORE="0s",
        BREACH_REPEATS="0",
        HEARD_MANAGERS=BOSS,
        HEARD_THREAD_LOG="off",
        ALERT_INTERVAL="20s",
    )
    customer = desk(heard, fake_slack)[1]
    start = datetime.now(UTC)
    count = 60  # more than one message shows in full: the rest are named, "and N more"
    for index in range(count):  # breached already, over a few sweeps' worth of seconds
        posted = start - timedelta(seconds=60) + timedelta(seconds=index // 10)
        customer.complain(created_at=_at(posted), text=f"Complaint number {index}: the app is down.")
    filed = time.monotonic()

    def alerts() -> list[Call]:
        return posts(fake_slack, lambda c: c.args["channel"] == BOSS and "overdue" in visible_text(c.args))

    # Every breach is in Slack within seconds: the interval's message is updated to list those falling due after it.
    wait_until(lambda: shown_to(fake_slack, BOSS, "overdue") == list(range(1, count + 1)), 20, "every breach listed")
    assert time.monotonic() - filed < 15
    assert len(alerts()) == 1, [call.args["text"][:80] for call in alerts()]  # one new message in the interval
    (message,) = fake_slack.messages(_resolve_channel(BOSS))
    shown = visible_text(message)
    assert len(message["blocks"]) <= 50 and f"{count} complaints overdue" in shown
    assert f"…and *{count - batches.MAX_LISTED} more* overdue" in shown and "/complaints overdue" in shown
    assert all(f"#{number}" in shown for number in range(1, count + 1))  # each named, the first ones in full
    assert fake_slack.problems == []  # within Block Kit's limits, as the fake checks them
