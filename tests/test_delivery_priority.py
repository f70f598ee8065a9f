"""Slack's budget spent on what matters, end to end over HTTP against the fake Slack: a new card overtakes a backlog
of thread lines; two copies of Heard share one channel's pace through the database; nags and breach alerts due
together go out as one message per recipient; a nag is never sent after its deadline; and the lag is honest
(`/healthz`, and the channel told once when Slack falls behind and once when it catches up)."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable

from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import Call, FakeSlack, _resolve_channel
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import AuditEvent
from tests.care_team import CareTeam, buttons, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester

ANA, BOSS = "U0ANA", "U0BOSS"
COMPLAINT = re.compile(r"#(\d+)")


def desk(heard: Heard, fake_slack: FakeSlack) -> tuple[CareTeam, Ingester]:
    base = f"http://127.0.0.1:{heard.port}"
    team = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    return team, Ingester(f"{base}/ingest", INGEST_SECRET)


def wait_until(condition: Callable[[], bool], timeout: float, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def posts(fake_slack: FakeSlack, where: Callable[[Call], bool] = lambda call: True) -> list[Call]:
    return [call for call in fake_slack.calls_to("chat.postMessage") if call.ok and where(call)]


def is_card(call: Call) -> bool:
    return call.args.get("channel") == CHANNEL and not call.args.get("thread_ts") and "Complaint #" in call.args["text"]


def listed(calls: list[Call]) -> list[int]:
    return sorted(int(number) for call in calls for number in COMPLAINT.findall(call.args["text"]))


def shown_to(fake_slack: FakeSlack, user: str, words: str) -> list[int]:
    """The complaints the messages in `user`'s DM that say `words` name now (as last updated)."""
    messages = [m for m in fake_slack.messages(_resolve_channel(user)) if words in visible_text(m)]
    return sorted(int(number) for message in messages for number in COMPLAINT.findall(message["text"]))


def test_a_new_card_overtakes_a_backlog_of_thread_lines(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    team, customer = desk(start_heard(), fake_slack)
    customer.complain()
    card = team.card()
    for _ in range(15):  # 30 lines for the card's thread, paced at about one a second
        team.click(ANA, "Claim")
        wait_until(lambda: "Release" in buttons(team.card()), 5, "Release")
        team.click(ANA, "Release")
        wait_until(lambda: "Claim" in buttons(team.card()), 5, "Claim")

    customer.complain(text="The app logs me out every five minutes.")
    (second,) = fake_slack.wait_for("chat.postMessage", where=lambda c: is_card(c) and "#2" in c.args["text"])

    lines = posts(fake_slack, lambda call: call.args.get("thread_ts") == card["ts"])
    assert len([line for line in lines if line.at < second.at]) <= 8  # the burst and a slot or two, not thirty
    assert second.at - card_clicks_done(fake_slack) < 2.5


def card_clicks_done(fake_slack: FakeSlack) -> float:
    """When the last click's card update reached Slack (the new complaint was filed right after it)."""
    return max(call.at for call in fake_slack.calls_to("chat.update"))


def test_two_copies_share_one_channel_pace(start_heard: Callable[..., Heard], fake_slack: FakeSlack) -> None:
    fake_slack.post_message_rate, fake_slack.burst = 1.0, 3  # Slack's limit: 429 beyond it
    copies = [start_heard(HEARD_THREAD_LOG="off") for _ in range(2)]
    for index in range(8):
        Ingester(f"http://127.0.0.1:{copies[index % 2].port}/ingest", INGEST_SECRET).complain()

    fake_slack.wait_for("chat.postMessage", count=8, where=lambda c: c.ok and is_card(c), timeout=15)

    cards = sorted(call.at for call in posts(fake_slack, is_card))
    refused = [call for call in fake_slack.calls_to("chat.postMessage") if call.status == 429]
    assert len(refused) <= 1, [call.summary() for call in refused]
    # Three at once (the burst), then about one a second between both copies, not one a second each.
    assert cards[-1] - cards[0] >= (8 - 3) * 0.9


def test_nags_and_breaches_due_together_go_out_as_one_message_per_recipient(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    heard = start_heard(
        ACK_WINDOW="6s",
        NAG_BEFORE="3s",
        BREACH_REPEATS="0",
        HEARD_MANAGERS=BOSS,
        HEARD_THREAD_LOG="off",
        ALERT_INTERVAL="3s",
    )
    team, customer = desk(heard, fake_slack)
    for number in range(5):
        customer.complain(created_at=None, text=f"Complaint number {number}: the app is down.")
    fake_slack.wait_for("chat.postMessage", count=5, where=is_card)
    for index in range(5):
        team.click(ANA, "Claim", on=team.card(index))

    def nags_to_ana() -> list[Call]:
        return posts(fake_slack, lambda c: c.args["channel"] == ANA and "Acknowledge by" in visible_text(c.args))

    def alerts_to_boss() -> list[Call]:
        return posts(fake_slack, lambda c: c.args["channel"] == BOSS and "acknowledged in time" in visible_text(c.args))

    # Alerts falling due after a message to the same person are added to it (chat.update) within its interval.
    alerts = "acknowledged in time"
    wait_until(lambda: shown_to(fake_slack, BOSS, alerts) == [1, 2, 3, 4, 5], 12, "every complaint in the alerts")
    assert shown_to(fake_slack, ANA, "Acknowledge by") == [1, 2, 3, 4, 5]  # each nagged once, before its deadline
    assert len(nags_to_ana()) <= 2 and len(alerts_to_boss()) <= 2  # not five each
    together = team.dm(ANA, "complaints to acknowledge soon")  # one line each, with its Acknowledge button
    assert buttons(together).count("Acknowledge") >= 2


def test_a_nag_that_cannot_reach_slack_before_its_deadline_is_dropped_and_recorded(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    heard = start_heard(
        ACK_WINDOW="4s", NAG_BEFORE="2s", BREACH_REPEATS="0", HEARD_MANAGERS=BOSS, HEARD_THREAD_LOG="off"
    )
    team, customer = desk(heard, fake_slack)
    customer.complain(created_at=None)
    team.card()
    team.click(ANA, "Claim")
    team.card_shows("Owner: <@U0ANA>")
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=4)  # the nag's DM, until after the deadline

    fake_slack.wait_for("chat.postMessage", where=lambda c: c.ok and c.args["channel"] == BOSS, timeout=10)

    def actions() -> list[str]:
        with database.unit_of_work() as session:
            return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all())

    wait_until(lambda: "nag dropped" in actions(), 8, "the nag's retry, after the deadline")  # Retry-After: 4
    assert actions() == ["received", "claimed", "nagged", "breached", "nag dropped"]
    assert posts(fake_slack, lambda c: c.args["channel"] == ANA) == []  # the breach alert said it instead


def health(heard: Heard) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{heard.port}/healthz", timeout=5) as answer:
        return dict(json.load(answer))


def test_healthz_shows_the_true_wait_and_the_channel_hears_once_when_behind_and_once_when_caught_up(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    heard = start_heard(DELIVERY_LAG_ALERT="1s", HEARD_THREAD_LOG="off")
    customer = desk(heard, fake_slack)[1]
    filed = time.monotonic()
    for _ in range(8):  # three at once, then one a second: the last card waits about five seconds
        customer.complain()

    def notices(words: str) -> list[Call]:
        return posts(fake_slack, lambda c: c.args["channel"] == CHANNEL and words in visible_text(c.args))

    fake_slack.wait_for("chat.postMessage", where=lambda c: "Slack is behind" in visible_text(c.args))
    outbox = health(heard)["outbox"]
    assert isinstance(outbox, dict)
    waited = time.monotonic() - filed
    assert outbox["pending"] >= 1 and abs(int(outbox["oldest_pending_seconds"]) - waited) <= 1.5

    fake_slack.wait_for("chat.postMessage", where=lambda c: "Slack has caught up" in visible_text(c.args), timeout=15)
    assert len(posts(fake_slack, is_card)) == 8
    behind = notices("Slack is behind")[0]
    assert behind.at < max(call.at for call in posts(fake_slack, is_card))  # ahead of the backlog it is about
    time.sleep(1.5)
    assert len(notices("Slack is behind")) == 1 and len(notices("Slack has caught up")) == 1
    assert health(heard)["outbox"] == {"pending": 0, "failed": 0, "oldest_pending_seconds": 0}
