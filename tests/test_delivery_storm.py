"""A storm while clock messages are due, end to end against the fake Slack with its per-channel limit on and two
copies of Heard: the storm card takes a slot ahead of the lines that wait for it, every line follows, and the
channel's budget is spent on messages that are sent (a row that takes a slot and then cannot render gives it
back)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import Call, FakeSlack
from storage.db import Database
from storage.models import Complaint
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

    # Then every line, at about one message a second in the channel (about 1 s each, plus clock messages).
    wanted = {f"card:{number}" for number in stormed}
    deadline = time.monotonic() + len(stormed) * 1.05 + 20
    while not wanted <= {key(call) for call in channel_posts(fake_slack)}:
        missing = wanted - {key(call) for call in channel_posts(fake_slack)}
        assert time.monotonic() < deadline, f"{len(missing)} storm lines never reached Slack: {sorted(missing)[:5]}"
        time.sleep(0.2)

    lines = [call for call in channel_posts(fake_slack) if key(call) in wanted]
    assert len({call.args.get("thread_ts") for call in lines}) == 1 and lines[0].args.get("thread_ts")
    first, last = min(call.at for call in lines), max(call.at for call in lines)
    sent = [call for call in channel_posts(fake_slack) if first <= call.at <= last]
    assert len(sent) / max(last - first, 1.0) >= 0.75, f"{len(sent)} posts in {last - first:.1f}s"
    refused = [call for call in fake_slack.calls_to("chat.postMessage") if call.status == 429]
    assert len(refused) <= 2, [call.summary() for call in refused]
