"""Storms and routing, end to end over HTTP: complaints pour in from a webhook bridge for X (`/ingest`) and from
Facebook (Meta's signed webhook, the fake Graph API), the care team works the storm card in the (fake) Slack, and
the customers see their replies on the (fake) networks."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest
import responses
from sqlalchemy import select

from app import Heard, main
from bot.config import ConfigError, load_settings
from bot.delivery.gate import RateGate
from bot.storms import top_words
from sandbox.fake_graph import FakeGraph
from sandbox.fake_slack import Call, FakeSlack
from sandbox.slack_driver import FORM, SlackDriver
from storage.db import Database
from storage.models import AuditEvent, Complaint, Delivery, Reply, Storm
from tests.care_team import CareTeam, buttons, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET, heard_environment
from tests.meta_desk import ANA, PAGE_ID, MetaDesk, meta_settings, running_graph, start_desk, wait_until
from tests.support import Ingester
from tests.x_writes import ReplyX

X_AUTH = {
    "X_CONSUMER_KEY": "test-consumer-key",
    "X_CONSUMER_SECRET": "test-consumer-secret",
    "X_ACCESS_TOKEN": "test-access-token",
    "X_ACCESS_TOKEN_SECRET": "test-access-token-secret",
}
URGENT = "C0URGENT"
STATEMENT = "Hi {first_name}, we know the app login is failing and we're on it. Next update by 11:00."


@pytest.fixture
def x_writes() -> Iterator[ReplyX]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield ReplyX(mock)


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with running_graph() as graph:
        yield graph


@pytest.fixture
def desk(
    graph: FakeGraph, x_writes: ReplyX, start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> MetaDesk:
    settings = {**meta_settings(graph, instagram=False), **X_AUTH, "STORM_THRESHOLD": "20/5m"}
    desk = start_desk(start_heard, graph, fake_slack, database, **settings)
    fast(desk.heard)
    return desk


def fast(heard: Heard) -> None:
    """Slack's pace is not the subject here (bench/ measures it): let the fake take messages as fast as they come."""
    heard.delivery.gate = RateGate(post_rate_per_second=1000, burst=1000)
    pace = getattr(heard.delivery, "pace", None)
    if pace is not None:
        heard.delivery.pace = type(pace)(interval=0.001, burst=1000)


def bridge(desk: MetaDesk) -> Ingester:
    return Ingester(f"{desk.base}/ingest", INGEST_SECRET)


def tweet_in(desk: MetaDesk, number: int, text: str, name: str) -> int:
    """A post from X forwarded by the team's bridge to /ingest (its source names the X adapter: replies go to X)."""
    answer = bridge(desk).complain(
        source="x",
        id=f"19{number:017d}",
        author={"handle": f"{name.lower()}_x", "name": f"{name} Ruiz"},
        text=text,
        url=f"https://x.com/{name.lower()}_x/status/19{number:017d}",
    )
    assert answer.status == 202, answer.body
    return int(answer.body["complaint_id"])


def comment_in(desk: MetaDesk, post: dict[str, Any], number: int, text: str, name: str) -> dict[str, Any]:
    comment = desk.graph.add_comment(post["id"], f"77{number:05d}", f"{name} Costa", text)
    assert desk.deliver(desk.graph.webhook_delivery_for(comment)).status == 200
    return comment


def top_level(fake: FakeSlack, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [m for m in fake.messages(channel) if m.get("thread_ts") in (None, m.get("ts"))]


def is_card(message: dict[str, Any]) -> bool:
    return any(block.get("block_id") == "card_actions" for block in message.get("blocks") or [])


def is_storm_card(message: dict[str, Any]) -> bool:
    return "Surge" in visible_text(message)


def storm_card(fake: FakeSlack) -> dict[str, Any]:
    (card,) = [m for m in top_level(fake) if is_storm_card(m)]
    return card


def complaints(database: Database) -> list[Complaint]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(Complaint).order_by(Complaint.id)))


def resend(driver: SlackDriver, payload: dict[str, Any]) -> int:
    """The same signed view_submission again, as Slack retries it when the answer was slow."""
    headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    return driver.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM, headers=headers).status


def test_a_storm_lists_complaints_in_one_card_and_one_holding_statement_reaches_each_customer_once(
    desk: MetaDesk, x_writes: ReplyX, fake_slack: FakeSlack, database: Database
) -> None:
    team = desk.team
    # A quiet start: twenty complaints, a card each.
    for number in range(20):
        tweet_in(desk, number, f"Where is my parcel number {number}?", f"Early{number}")
    wait_until(lambda: len([m for m in top_level(fake_slack) if is_card(m)]) == 20, timeout=20, what="20 cards")

    # Then the login outage: thirty more from two sources within the window, and one that is urgent.
    post = desk.graph.add_post("Our new app is here")
    x_ids, comments = [], []
    for number in range(15):
        x_ids.append(tweet_in(desk, 100 + number, f"Can't login to the app again ({number})", f"Xavi{number}"))
        comments.append(comment_in(desk, post, number, f"The app login page is broken {number}", f"Fabi{number}"))
    urgent = tweet_in(desk, 999, "The app login failed and I was charged twice, I want a refund", "Vera")

    # One storm card; each of the thirty is a line in its thread; the urgent one has its own card.
    wait_until(lambda: any(is_storm_card(m) for m in top_level(fake_slack)), timeout=20, what="the storm card")
    card = storm_card(fake_slack)
    stormed = [c for c in complaints(database) if c.storm_id is not None]
    assert len(stormed) == 30

    def lines() -> list[str]:
        return [visible_text(m) for m in fake_slack.replies(CHANNEL, card["ts"]) if m["ts"] != card["ts"]]

    # Lines that arrive together share a message of the thread (the channel shows about one a second); each
    # complaint is listed exactly once.
    wait_until(lambda: all(any(f"#{c.id} " in line for line in lines()) for c in stormed), timeout=20, what="30 lines")
    assert all(sum(f"*#{c.id}* " in line for line in lines()) == 1 for c in stormed)
    assert len(lines()) <= 30
    assert any("Xavi3 Ruiz" in line and "x.com/xavi3_x" in line for line in lines())
    cards = [m for m in top_level(fake_slack) if is_card(m)]
    assert len(cards) == 21 and any(f"Complaint #{urgent}" in visible_text(m) for m in cards)
    shown = visible_text(fake_slack.message(CHANNEL, card["ts"]))
    wait_until(lambda: "30 complaints" in visible_text(fake_slack.message(CHANNEL, card["ts"])), what="the count")
    shown = visible_text(fake_slack.message(CHANNEL, card["ts"]))
    assert "Surge since" in shown and "most mention *app*, *login*" in shown
    assert buttons(fake_slack.message(CHANNEL, card["ts"])) == [
        "Send holding statement",
        "Claim all",
        "Resolve all",
        "End storm",
    ]

    # One holding statement from the storm card; Slack retries the submission.
    view = desk.reply_form(fake_slack.message(CHANNEL, card["ts"]), "Send holding statement")
    assert "*30* customers" in json.dumps(view["blocks"])
    answer = team.slack.submit_view(view, ANA, {"Holding statement": STATEMENT})
    assert answer.status == 200 and answer.outcome == "closed", answer.body
    assert resend(team.slack, answer.payload) == 200

    def sent() -> int:
        with database.unit_of_work() as session:
            return len([r for r in session.scalars(select(Reply)) if r.status == "sent"])

    wait_until(lambda: sent() == 30, timeout=20, what="30 replies sent")
    # Each customer got exactly one reply, with their own name, where they posted.
    assert sorted(t.text for t in x_writes.tweets) == sorted(
        STATEMENT.replace("{first_name}", f"Xavi{n}") for n in range(15)
    )
    for number, comment in enumerate(comments):
        replies = [r for r in desk.graph.thread(comment["id"])["replies"] if r["from"]["id"] == PAGE_ID]
        assert [r["message"] for r in replies] == [STATEMENT.replace("{first_name}", f"Fabi{number}")]
    assert all(c.acknowledged_by == ANA for c in complaints(database) if c.storm_id is not None)
    assert next(c for c in complaints(database) if c.id == urgent).acknowledged_at is None  # not in the storm

    # Claim all, resolve all, end the storm.
    team.click(ANA, "Claim all", on=fake_slack.message(CHANNEL, card["ts"]))
    wait_until(lambda: all(c.owner_id == ANA for c in complaints(database) if c.storm_id), what="all claimed")
    team.click(ANA, "Resolve all", on=fake_slack.message(CHANNEL, card["ts"]))
    wait_until(lambda: all(c.status == "resolved" for c in complaints(database) if c.storm_id), what="resolved")
    team.click(ANA, "End storm", on=fake_slack.message(CHANNEL, card["ts"]))
    wait_until(lambda: f"Ended by <@{ANA}>" in visible_text(fake_slack.message(CHANNEL, card["ts"])), what="ended")
    with database.unit_of_work() as session:
        (storm,) = session.scalars(select(Storm))
        assert storm.status == "ended" and storm.ended_by == ANA
        trail = {
            c: [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == c))]
            for c in x_ids
        }
    assert all(actions == ["received", "acknowledged", "replied", "claimed", "resolved"] for actions in trail.values())
    wait_until(
        lambda: (
            "Resolved by"
            in visible_text(fake_slack.message(CHANNEL, fake_slack.replies(CHANNEL, card["ts"])[-1]["ts"]))
        ),
        what="the lines show the resolution",
    )

    # After the end, a new complaint gets its own card again; the stormed ones still answer /complaints <id>.
    after = tweet_in(desk, 2000, "Still can't login to the app", "Late")
    wait_until(lambda: any(f"Complaint #{after}" in visible_text(m) for m in top_level(fake_slack) if is_card(m)))
    record = team.slack.command("/complaints", str(x_ids[0]), user=ANA, channel=CHANNEL)
    assert record.status == 200 and f"#{x_ids[0]}" in json.dumps(record.answer())
    assert fake_slack.problems == []


# -- routing ----------------------------------------------------------------------------------------------------


def test_a_high_priority_complaint_lands_in_the_urgent_channel_and_others_in_heard_channel(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    heard = start_heard(HEARD_ROUTES=f"priority=high:{URGENT}; source=instagram:C0SOCIAL")
    customer = Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET)

    urgent = customer.complain(text="You charged me twice. I want a refund now.").body["complaint_id"]
    calm = customer.complain(text="The parcel is late again.").body["complaint_id"]

    fake_slack.wait_for("chat.postMessage", where=lambda call: call.args.get("channel") == URGENT)
    fake_slack.wait_for("chat.postMessage", where=lambda call: call.args.get("channel") == CHANNEL)
    assert [f"Complaint #{urgent}" in visible_text(m) for m in fake_slack.messages(URGENT)] == [True]
    assert [f"Complaint #{calm}" in visible_text(m) for m in fake_slack.messages(CHANNEL)] == [True]
    channels = {c.id: c.slack_channel for c in complaints(database)}
    assert channels == {urgent: URGENT, calm: CHANNEL}


def test_a_bad_heard_routes_stops_start_up_naming_the_rule(
    fake_slack: FakeSlack, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = heard_environment(
        fake_slack, database_url, HEARD_ROUTES="priority=high:C0URGENT; category=biling:C0BILLING"
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(environment, env_file=None)
    assert refused.value.problems == [
        "HEARD_ROUTES rule 2 ('category=biling:C0BILLING'): 'biling' is not a category; the categories are "
        "billing, delivery, account, product, service"
    ]

    assert main(["serve"], {**environment, "HEARD_ROUTES": "priority=high:#urgent"}) == 2
    assert "HEARD_ROUTES rule 1 ('priority=high:#urgent'): '#urgent' is not a channel id" in capsys.readouterr().err


def test_storm_settings_are_read_and_checked(fake_slack: FakeSlack, database_url: str) -> None:
    settings = load_settings(heard_environment(fake_slack, database_url, STORM_THRESHOLD="50/10m"), env_file=None)
    assert settings.storm_threshold == 50 and settings.storm_window.total_seconds() == 600
    with pytest.raises(ConfigError) as refused:
        load_settings(heard_environment(fake_slack, database_url, STORM_THRESHOLD="lots"), env_file=None)
    assert refused.value.problems[0].startswith("STORM_THRESHOLD='lots' is not a rate")


def test_the_storm_card_names_the_words_most_complaints_share() -> None:
    texts = ["Can't login to the app!", "The app login page is broken", "login fails @acme https://x.co/1", "app?"]
    assert top_words(texts) == ["app", "login"]


def test_two_copies_of_heard_open_one_storm_and_a_calm_storm_ends_by_itself(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    copies = [start_heard(STORM_THRESHOLD="3/3s", STORM_CALM="1s") for _ in range(2)]
    for heard in copies:
        fast(heard)
    senders = [Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET) for heard in copies]
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda n: senders[n % 2].complain(text=f"The app is down {n}"), range(10)))
    assert all(answer.status == 202 for answer in answers)
    with database.unit_of_work() as session:
        storms = list(session.scalars(select(Storm)))
    assert len(storms) == 1 and storms[0].status == "open"
    # Three got cards before the threshold; on PostgreSQL the copies' batches in flight do not see each other, so a
    # post or two more may get its card before the storm opens. Never a second storm.
    stormed = [c for c in complaints(database) if c.storm_id is not None]
    assert 4 <= len(stormed) <= 7 and {c.storm_id for c in stormed} == {storms[0].id}
    wait_until(lambda: any(is_storm_card(m) for m in top_level(fake_slack)), what="the storm card")

    # Arrivals stop: below the threshold for STORM_CALM, the storm ends by itself (whichever copy sweeps).
    def ended() -> bool:
        for heard in copies:
            heard.services.storms.sweep()
        with database.unit_of_work() as session:
            return session.scalars(select(Storm)).one().status == "ended"

    wait_until(ended, timeout=10, what="the storm to end by itself")
    wait_until(lambda: "Ended by itself" in visible_text(storm_card(fake_slack)), what="the card to say so")
    after = senders[0].complain(text="Is the app still down?").body["complaint_id"]
    wait_until(lambda: any(f"Complaint #{after}" in visible_text(m) for m in top_level(fake_slack) if is_card(m)))


# -- what a storm's lines cost the channel, and what each one offers ------------------------------------------------


def storm_team(heard: Heard, fake_slack: FakeSlack) -> tuple[CareTeam, Ingester]:
    base = f"http://127.0.0.1:{heard.port}"
    team = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    return team, Ingester(f"{base}/ingest", INGEST_SECRET)


def complain_at_once(customer: Ingester, count: int, first: int = 0) -> None:
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: customer.complain(text=f"The app is down again {n}"), range(first, count)))
    assert all(answer.status == 202 for answer in answers)


def one_line(message: dict[str, Any], complaint_id: int) -> dict[str, Any]:
    """What a person sees of one complaint in a message of the storm's thread: its actions block."""
    blocks = [b for b in message["blocks"] if b.get("block_id") == f"storm_line:{complaint_id}"]
    return {**message, "blocks": blocks}


def owners(database: Database) -> dict[int, str | None]:
    return {c.id: c.owner_id for c in complaints(database)}


def test_each_complaint_listed_in_a_storm_message_has_its_own_buttons_and_a_click_acts_on_that_one_only(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    fake_slack.post_message_rate, fake_slack.burst = 1.0, 3  # lines wait for the channel, so several share a message
    team, customer = storm_team(start_heard(STORM_THRESHOLD="2/5m", HEARD_THREAD_LOG="off"), fake_slack)
    complain_at_once(customer, 14)

    def listing() -> dict[str, Any] | None:
        cards = [m for m in top_level(fake_slack) if is_storm_card(m)]
        thread = fake_slack.replies(CHANNEL, cards[0]["ts"]) if cards else []
        return next((m for m in thread if "complaints in this storm" in m.get("text", "")), None)

    message = wait_until(listing, timeout=20, what="a message listing several lines")
    listed = [int(b["block_id"].split(":")[1]) for b in message["blocks"] if b.get("block_id", "").startswith("storm")]
    assert len(listed) >= 2
    assert all(buttons(one_line(message, cid)) == ["Acknowledge", "Claim", "Resolve"] for cid in listed)
    assert all(f"*#{cid}*" in visible_text(message) for cid in listed)

    # Claim on the second complaint claims that one; the message is re-rendered to show it, the others unchanged.
    team.click(ANA, "Claim", on=one_line(message, listed[1]))
    wait_until(lambda: owners(database)[listed[1]] == ANA, what="the second complaint claimed")
    assert all(owners(database)[cid] is None for cid in listed if cid != listed[1])

    def updated() -> dict[str, Any]:
        return fake_slack.message(CHANNEL, message["ts"])

    wait_until(lambda: buttons(one_line(updated(), listed[1])) == ["Acknowledge", "Release", "Resolve"], what="shown")
    assert f"Owner: <@{ANA}>" in visible_text(updated())
    assert buttons(one_line(updated(), listed[0])) == ["Acknowledge", "Claim", "Resolve"]

    # A value without the revision the line showed is answered "out of date", and nothing happens.
    forged = one_line(updated(), listed[0])
    forged["blocks"][0]["elements"][1]["value"] = str(listed[0])
    team.click(ANA, "Claim", on=forged)
    team.told(ANA, "This card is out of date")
    assert owners(database)[listed[0]] is None
    assert fake_slack.problems == []


def test_a_nag_due_during_a_storm_goes_before_the_storms_waiting_lines(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    fake_slack.post_message_rate, fake_slack.burst = 1.0, 3  # Slack's limit: the channel's budget is the subject
    heard = start_heard(
        STORM_THRESHOLD="3/5m", ACK_WINDOW="20s", NAG_BEFORE="12s", BREACH_REPEATS="0", HEARD_THREAD_LOG="off"
    )
    customer = storm_team(heard, fake_slack)[1]
    complain_at_once(customer, 3)  # three cards, unclaimed: their nags go to their threads in the channel
    fake_slack.wait_for("chat.postMessage", count=3, where=lambda c: c.ok and "Complaint #" in c.args["text"])
    complain_at_once(customer, 160, first=3)  # the storm: about ten messages of lines wait for the channel

    def nag_posts() -> list[Call]:
        return [c for c in fake_slack.calls_to("chat.postMessage") if c.ok and "to acknowledge" in c.args["text"]]

    (nag,) = fake_slack.wait_for("chat.postMessage", where=lambda c: c in nag_posts(), timeout=20)[:1]
    with database.unit_of_work() as session:
        first_due = min(c.ack_deadline for c in session.scalars(select(Complaint).where(Complaint.id <= 3)))
    due = (first_due.timestamp() - 12) - time.time() + time.monotonic()  # NAG_BEFORE, on the calls' clock
    # Within the 5 s: up to 2 s gathering the nags due with it into one message, then the channel's next slot.
    assert nag.at - due < 5, f"the nag went {nag.at - due:.1f} s after it was due"

    def lines_after() -> list[Call]:
        return [
            c
            for c in fake_slack.calls_to("chat.postMessage")
            if c.ok and c.at > nag.at and "complaints in this storm" in c.args["text"]
        ]

    wait_until(lambda: len(lines_after()) >= 1, timeout=20, what="lines still waiting when the nag went")


def test_steps_taken_on_a_complaint_in_a_storm_show_on_its_line_and_queue_nothing_for_a_thread_it_has_not(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    """With the thread log on, a claim on a storm line changes the line; no thread-log line is queued for a card the
    complaint does not have, so none waits at the back of the channel's queue (where /healthz would count it)."""
    heard = start_heard(STORM_THRESHOLD="2/5m")
    team, customer = storm_team(heard, fake_slack)
    complain_at_once(customer, 6)
    stormed = wait_until(
        lambda: [c.id for c in complaints(database) if c.storm_id is not None] or None, what="complaints in a storm"
    )

    def first_line() -> dict[str, Any] | None:
        cards = [m for m in top_level(fake_slack) if is_storm_card(m)]
        thread = fake_slack.replies(CHANNEL, cards[0]["ts"]) if cards else []
        return next((m for m in thread if f"storm_line:{stormed[0]}" in json.dumps(m)), None)

    line = wait_until(first_line, timeout=20, what="the first storm line")

    team.click(ANA, "Claim", on=one_line(line, stormed[0]))

    wait_until(lambda: owners(database)[stormed[0]] == ANA, what="claimed")
    with database.unit_of_work() as session:
        logs = session.scalars(select(AuditEvent.id).where(AuditEvent.complaint_id.in_(stormed))).all()
        queued = session.scalars(
            select(Delivery.key).where(Delivery.kind == "thread_log", Delivery.complaint_id.in_(stormed))
        ).all()
    assert logs and queued == []
    wait_until(lambda: f"Owner: <@{ANA}>" in visible_text(fake_slack.message(CHANNEL, line["ts"])), what="line shows")


def test_in_a_storm_urgent_complaints_keep_their_own_cards_while_the_channel_has_room_then_are_listed(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    heard = start_heard(STORM_THRESHOLD="10/5m")  # in a storm, at most 5 urgent cards per 5 minutes
    fast(heard)
    customer = storm_team(heard, fake_slack)[1]
    complain_at_once(customer, 12)  # the outage: past ten arrivals the storm opens
    wait_until(lambda: any(is_storm_card(m) for m in top_level(fake_slack)), timeout=20, what="the storm card")

    # Then a wave of double charges (urgent), and one threat for Legal after the allowance is spent.
    urgent = [customer.complain(text=f"You charged me twice ({n}), I want a refund now").body for n in range(8)]
    threat = customer.complain(text="Charged twice again. I will burn down your shop").body
    ids = [int(answer["complaint_id"]) for answer in [*urgent, threat]]

    def own_card(complaint_id: int) -> bool:
        return any(is_card(m) and f"Complaint #{complaint_id} " in visible_text(m) for m in top_level(fake_slack))

    wait_until(lambda: all(own_card(i) for i in ids[:5]) and own_card(ids[-1]), timeout=20, what="5 urgent cards")
    by_id = {c.id: c for c in complaints(database)}
    assert [by_id[i].priority for i in ids] == ["high"] * 9
    assert [by_id[i].storm_id is None for i in ids] == [True] * 5 + [False] * 3 + [True]
    # The three past the allowance are listed in the storm's thread, like the rest, with their own clocks.
    card = storm_card(fake_slack)

    def listed(complaint_id: int) -> bool:
        return any(f"*#{complaint_id}* " in visible_text(m) for m in fake_slack.replies(CHANNEL, card["ts"]))

    wait_until(lambda: all(listed(i) for i in ids[5:8]), timeout=20, what="3 urgent lines")
    assert not any(own_card(i) for i in ids[5:8])
    # Each is marked on its line (a section of the thread's messages), and only they are.
    shown: dict[int, str] = {}
    for message in fake_slack.replies(CHANNEL, card["ts"]):
        if single := re.match(r"#(\d+) from ", message.get("text") or ""):  # a message of one line
            shown[int(single.group(1))] = visible_text(message)
            continue
        for block in message.get("blocks") or []:
            text = (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
            if listed_line := re.match(r"\*#(\d+)\* ", text):
                shown[int(listed_line.group(1))] = text
    assert {number for number, text in shown.items() if "High priority" in text} == set(ids[5:8])
