"""A storm while clock messages are due, end to end against the fake Slack with its per-channel limit on and two
copies of Heard: the storm card takes a slot ahead of the lines that wait for it, every line follows (the lines
waiting together listed in one message of the thread), and the channel's budget is spent on messages that are sent
(a row that takes a slot and then cannot render gives it back)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import Call, FakeSlack
from storage.db import Database
from storage.models import Complaint, Delivery
from tests.conftest import CHANNEL, INGEST_SECRET
from tests.support import Ingester

BOSS = "U0BOSS"
COMPLAINTS = 40


def key(call: Call) -> str:
    return str(((call.args.get("metadata") or {}).get("event_payload") or {}).get("key", ""))


def channel_posts(fake_slack: FakeSlack) -> list[Call]:
    return [c for c in fake_slack.calls_to("chat.postMessage") if c.ok and c.args.get("channel") == CHANNEL]


def test_the_storm_card_and_every_line_reach_slack_at_the_channels_pace(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    fake_slack.post_message_rate, fake_slack.burst = 1.0, 3  # Slack's limit: 429 beyond it
    clocks = {"ACK_WINDOW": "20s", "NAG_BEFORE": "12s", "BREACH_REPEATS": "0", "HEARD_MANAGERS": BOSS}
    copies = [start_heard(STORM_THRESHOLD="5/5m", HEARD_THREAD_LOG="off", **clocks) for _ in range(2)]
    senders = [Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET) for heard in copies]
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda n: senders[n % 2].complain(text=f"The app is down again {n}"), range(COMPLAINTS))
        )
    assert all(answer.status == 202 for answer in answers)
    with database.unit_of_work() as session:
        stormed = [c.id for c in session.scalars(select(Complaint).where(Complaint.storm_id.is_not(None)))]
    assert len(stormed) >= COMPLAINTS - 10

    # Only the few cards before the storm and a nag or two may go first: the storm card is near the front.
    (storm,) = fake_slack.wait_for("chat.postMessage", where=lambda c: c.ok and key(c).startswith("storm:"), timeout=20)
    assert storm.at - started < 15

    # Then every line: those that arrived together share a message of the thread, so the whole storm takes a few
    # slots of the channel's one message a second, not one per complaint.
    def shown_in() -> dict[int, str]:
        """Each stormed complaint's line: the message key it was posted under (its own, or the one listing it)."""
        with database.unit_of_work() as session:
            rows = {row.complaint_id: row for row in session.scalars(select(Delivery).where(Delivery.kind == "card"))}
            return {cid: str(rows[cid].payload.get("folded_into") or rows[cid].key) for cid in stormed}

    deadline = time.monotonic() + 30
    while not set(shown_in().values()) <= {key(call) for call in channel_posts(fake_slack)}:
        missing = set(shown_in().values()) - {key(call) for call in channel_posts(fake_slack)}
        assert time.monotonic() < deadline, f"{len(missing)} storm lines never reached Slack: {sorted(missing)[:5]}"
        time.sleep(0.2)

    messages = set(shown_in().values())
    lines = [call for call in channel_posts(fake_slack) if key(call) in messages]
    assert len(lines) == len(messages) < len(stormed) / 2  # each message posted once, listing several
    assert len({call.args.get("thread_ts") for call in lines}) == 1 and lines[0].args.get("thread_ts")
    assert all(line.at - storm.at < 20 for line in lines)
    refused = [call for call in fake_slack.calls_to("chat.postMessage") if call.status == 429]
    assert len(refused) <= 2, [call.summary() for call in refused]
