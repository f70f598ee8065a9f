"""Complaints from X: the brand's mentions and a keyword search, read through tweepy from (replayed) real X API
bodies, filed once, resumed after restarts, and honest about what X refused."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import responses
from sqlalchemy import func, select

from app import Heard
from sandbox.fake_slack import FakeSlack
from storage.db import Database
from storage.models import AuditEvent, Complaint, ComplaintPost, XFeed
from tests.care_team import visible_text
from tests.conftest import CHANNEL
from tests.support import Ingester
from tests.x_api import BRAND, BRAND_ID, MARIA, Author, FakeX, page, post, real_mention_texts, recorded

X_SETTINGS = {
    "X_BEARER_TOKEN": "AAAA-test-bearer-token",
    "X_USER_ID": BRAND_ID,
    "X_HANDLE": "Twitter",
    "X_QUERY": 'twitter OR "twitter support"',
    # Tests poll by hand after the start-up poll, so nothing runs behind their back.
    "X_POLL_INTERVAL": "1h",
}


@pytest.fixture
def x_api() -> Iterator[FakeX]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeX(mock)


@pytest.fixture
def start_polling(start_heard: Callable[..., Heard]) -> Callable[..., Heard]:
    def start(**settings: str) -> Heard:
        heard = start_heard(**{**X_SETTINGS, **settings})
        assert heard.listener("x-poll") is not None
        assert heard.listener("x-poll").wait_for_polls(1), "the start-up poll did not finish"
        return heard

    return start


def poll(heard: Heard, at: datetime | None = None) -> None:
    assert heard.listener("x-poll") is not None
    if at is not None:
        heard.listener("x-poll").clock = lambda: at
    heard.listener("x-poll").poll()


def cards(fake: FakeSlack, count: int) -> list[dict]:
    # Cards are paced at about one per second per channel, as Slack requires.
    fake.wait_for(
        "chat.postMessage",
        count=count,
        where=lambda call: call.args.get("channel") == CHANNEL and not call.args.get("thread_ts"),
        timeout=5 + count,
    )
    return [m for m in fake.messages(CHANNEL) if m.get("metadata", {}).get("event_type") != "x"]


def channel_notices(fake: FakeSlack, text: str, count: int = 1) -> list[str]:
    fake.wait_for(
        "chat.postMessage",
        count=count,
        where=lambda call: call.args.get("channel") == CHANNEL and text in visible_text(call.args),
        timeout=15,
    )
    return [visible_text(m) for m in fake.messages(CHANNEL) if text in visible_text(m)]


def complaints(database: Database) -> list[Complaint]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(Complaint).order_by(Complaint.id)))


def test_a_mention_becomes_a_card_with_the_author_and_a_link_to_the_post(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    text = real_mention_texts()[0]  # "@Twitter @TwitterSupport this is my ENTIRE feed ... respond to my ticket."
    mention = post(text, MARIA, lang="en")
    x_api.answer("mentions", page([mention], [MARIA]))

    start_polling()

    card = visible_text(cards(fake_slack, 1)[0])
    assert "María López" in card and "@maria_lopez" in card
    assert "1.2k followers" in card and "lang en" in card
    assert f"https://x.com/maria_lopez/status/{mention['id']}" in str(cards(fake_slack, 1)[0]["blocks"])
    assert "respond to my ticket" in card
    request = x_api.of("mentions")[0]
    assert request.params["expansions"] == "author_id"
    assert "conversation_id" in request.params["tweet.fields"] and "created_at" in request.params["tweet.fields"]
    assert "public_metrics" in request.params["user.fields"]
    assert "start_time" in request.params  # the very first read looks back X_FIRST_LOOKBACK
    [complaint] = complaints(database)
    assert (complaint.source, complaint.external_id, complaint.author_followers) == ("x", mention["id"], 1250)


def test_the_real_recorded_page_without_author_expansions_is_filed_too(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    body = recorded("get_users_mentions")  # exactly as X sent it to tweepy's test suite: no includes, no author_id
    x_api.answer("mentions", body)

    start_polling(X_QUERY="")

    assert len(cards(fake_slack, body["meta"]["result_count"])) == body["meta"]["result_count"]
    filed = complaints(database)
    assert {c.external_id for c in filed} == {p["id"] for p in body["data"]}
    assert all(c.url and c.url.startswith("https://x.com/i/web/status/") for c in filed)
    with database.unit_of_work() as session:
        assert session.get(XFeed, "mentions").since_id == body["meta"]["newest_id"]  # type: ignore[union-attr]


def test_a_post_found_by_mentions_and_by_search_is_one_complaint(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    both = post("@Twitter my account is locked and twitter support ignores me", MARIA)
    only_search = post("twitter support has been useless for a week", Author("42", "sam", "Sam"))
    x_api.answer("mentions", page([both], [MARIA]))
    x_api.answer("search", page([both, only_search], [MARIA, Author("42", "sam", "Sam")]))

    start_polling()

    cards(fake_slack, 2)
    assert sorted(c.external_id for c in complaints(database)) == sorted([both["id"], only_search["id"]])
    query = x_api.of("search")[0].params["query"]
    assert query == '(twitter OR "twitter support") -is:retweet -from:Twitter'


def test_the_brands_own_posts_and_reposts_are_never_filed(
    x_api: FakeX, start_polling: Callable[..., Heard], database: Database
) -> None:
    own_reply = post("@maria_lopez Sorry to hear that! Please DM us.", BRAND)
    repost = post("RT @maria_lopez: my account is locked", MARIA, reposted="1578516295611748353")
    real = post("@Twitter still locked out", MARIA)
    x_api.answer("mentions", page([own_reply, repost, real], [BRAND, MARIA]))

    start_polling(X_QUERY="")

    assert [c.external_id for c in complaints(database)] == [real["id"]]


def test_since_id_resumes_after_a_restart_so_nothing_is_read_twice_or_skipped(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    first = post("@Twitter first", MARIA)
    x_api.answer("mentions", page([first], [MARIA]))
    heard = start_polling(X_QUERY="")
    cards(fake_slack, 1)
    heard.stop()

    later = post("@Twitter written while Heard was down", MARIA, conversation_id="1")
    x_api.answer("mentions", page([later], [MARIA]))
    start_polling(X_QUERY="")

    restarted = x_api.of("mentions")[-1]
    assert restarted.params["since_id"] == first["id"]
    assert "start_time" not in restarted.params
    assert [c.external_id for c in complaints(database)] == [first["id"], later["id"]]


def test_a_paged_read_follows_next_token_and_moves_since_id_to_the_newest_post(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    posts = [post(f"@Twitter complaint number {n}", Author(str(100 + n), f"user{n}", f"User {n}")) for n in range(5)]
    authors = [Author(str(100 + n), f"user{n}", f"User {n}") for n in range(5)]
    newest_first = sorted(posts, key=lambda p: int(p["id"]), reverse=True)
    x_api.answer(
        "mentions", page(newest_first[:3], authors[:5], next_token="7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i")
    )
    x_api.answer("mentions", page(newest_first[3:], authors[:5]))

    start_polling(X_QUERY="")

    first, second = x_api.of("mentions")[:2]
    assert "pagination_token" not in first.params
    assert second.params["pagination_token"] == "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"
    assert len(cards(fake_slack, 5)) == 5
    with database.unit_of_work() as session:
        feed = session.get(XFeed, "mentions")
        assert feed is not None and feed.since_id == newest_first[0]["id"] and feed.page_token is None


def test_a_reply_in_the_same_conversation_joins_the_open_complaint(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    opening = post("@Twitter my order never arrived", MARIA, minutes_ago=3)
    x_api.answer("mentions", page([opening], [MARIA]))
    heard = start_polling(X_QUERY="")
    [card] = cards(fake_slack, 1)

    again = post("@Twitter it has been a week, refund me", MARIA, conversation_id=opening["id"])
    x_api.answer("mentions", page([again], [MARIA]))
    poll(heard)

    fake_slack.wait_for("chat.postMessage", where=lambda call: call.args.get("thread_ts") == card["ts"])
    [reply] = [m for m in fake_slack.replies(CHANNEL, card["ts"]) if m["ts"] != card["ts"]]
    assert "@maria_lopez* wrote again" in visible_text(reply) and "refund me" in visible_text(reply)
    fake_slack.wait_for(
        "chat.update", where=lambda call: call.args.get("ts") == card["ts"] and "+1 more" in visible_text(call.args)
    )
    [complaint] = complaints(database)
    assert complaint.extra_posts == 1 and complaint.priority == "high"  # "refund" is an urgent word
    with database.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(ComplaintPost)) == 1
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.complaint_id == complaint.id)).all()
    assert actions == ["received", "post joined"]


def test_429_waits_for_the_reset_without_asking_again(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    x_api.fail("mentions", 429, reset_in=600)
    heard = start_polling(X_QUERY="")
    asked = len(x_api.of("mentions"))

    poll(heard)  # before the reset: X is not asked again
    assert len(x_api.of("mentions")) == asked

    waiting = post("@Twitter posted while Heard waited", MARIA)
    x_api.answer("mentions", page([waiting], [MARIA]))
    poll(heard, at=datetime.now(UTC) + timedelta(minutes=11))
    assert len(x_api.of("mentions")) == asked + 1
    assert [c.external_id for c in complaints(database)] == [waiting["id"]]


def test_503_backs_off_reports_the_gap_once_then_reports_the_recovery(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    x_api.fail("mentions", 503, times=3)
    heard = start_polling(X_QUERY="", X_GAP_ALERT="10m", X_POLL_INTERVAL="1m")
    with database.unit_of_work() as session:
        started = session.get(XFeed, "mentions").failing_since  # type: ignore[union-attr]
    assert started is not None

    poll(heard, at=started + timedelta(seconds=30))  # backing off: not asked
    assert len(x_api.of("mentions")) == 1
    poll(heard, at=started + timedelta(minutes=5))
    poll(heard, at=started + timedelta(minutes=11))
    assert len(x_api.of("mentions")) == 3
    [gap] = channel_notices(fake_slack, "No X data")
    # A moment on another day than now names its day too ("since Fri 4 Dec, 23:54"), as near midnight.
    assert re.search(rf"since (\w+ \d+ \w+, )?{started:%H:%M}", gap) and "503 from X" in gap, gap

    poll(heard, at=started + timedelta(minutes=30))  # still nothing, already said: said once
    missed = post("@Twitter posted during the outage", MARIA, minutes_ago=20)
    x_api.answer("mentions", page([missed], [MARIA]))
    poll(heard, at=started + timedelta(minutes=40))

    [back] = channel_notices(fake_slack, "is back")
    assert re.search(rf"No X data (\w+ \d+ \w+, )?{started:%H:%M}–", back) and "503 from X" in back, back
    assert len(channel_notices(fake_slack, "No X data (mentions) since")) == 1
    assert [c.external_id for c in complaints(database)] == [missed["id"]]


def test_a_refused_token_stops_the_feed_with_one_log_line_and_one_message(
    x_api: FakeX,
    start_polling: Callable[..., Heard],
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    x_api.fail("mentions", 401, times=5)
    with caplog.at_level(logging.INFO, logger="heard.x"):
        heard = start_polling(X_QUERY="")
        poll(heard)
        poll(heard)

    assert len(x_api.of("mentions")) == 1  # stopped: no crash loop
    [message] = channel_notices(fake_slack, "has stopped")
    assert "401 Unauthorized from X: check X_BEARER_TOKEN" in message
    stopped = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(stopped) == 1 and "401" in stopped[0].getMessage()
    assert "AAAA-test-bearer-token" not in caplog.text


def test_the_daily_read_cap_stops_reading_and_says_so_once(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    authors = [Author(str(500 + n), f"fan{n}", f"Fan {n}") for n in range(12)]
    x_api.answer("mentions", page([post(f"@Twitter help {n}", a) for n, a in enumerate(authors[:8])], authors))
    heard = start_polling(X_MAX_READS_PER_DAY="15")

    mentions, search = x_api.of("mentions"), x_api.of("search")
    assert mentions[0].params["max_results"] == "15"
    assert search == []  # 7 reads left today, and X's search pages hold at least 10
    poll(heard)
    assert x_api.of("mentions")[-1].params["max_results"] == "7"
    poll(heard)
    [cap] = channel_notices(fake_slack, "X_MAX_READS_PER_DAY")
    assert "15 posts" in cap
    assert len(complaints(database)) == 8


def test_two_copies_poll_through_one_lease(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    x_api.answer("mentions", page([post("@Twitter one", MARIA)], [MARIA]))
    first = start_polling(X_QUERY="")
    second = start_polling(X_QUERY="")
    asked = len(x_api.of("mentions"))
    assert asked == 1  # the second copy's start-up poll found the lease taken

    poll(second)
    assert len(x_api.of("mentions")) == asked
    first.stop()  # gives the lease back
    poll(second)
    assert len(x_api.of("mentions")) == asked + 1
    assert len(complaints(database)) == 1


@pytest.mark.parametrize(
    ("author", "text", "expected"),
    [
        (Author("7", "bigvoice", "Big Voice", followers=250_000), "@Twitter my app crashes", "250k followers"),
        (MARIA, "@Twitter I want a refund today", "urgent: refund"),
        (MARIA, "@Twitter my email is maria.lopez@example.com please call", "Personal data in a public post"),
        (MARIA, "@Twitter I know where you live", "Flagged for Legal"),
    ],
    ids=["vip", "urgent-word", "personal-data", "threat"],
)
def test_triage_marks_the_card(
    x_api: FakeX,
    start_polling: Callable[..., Heard],
    fake_slack: FakeSlack,
    database: Database,
    author: Author,
    text: str,
    expected: str,
) -> None:
    x_api.answer("mentions", page([post(text, author)], [author]))
    start_polling(X_QUERY="", X_VIP_FOLLOWERS="100000")

    card = visible_text(cards(fake_slack, 1)[0])
    assert expected in card
    assert "High priority" in card
    [complaint] = complaints(database)
    assert complaint.priority == "high"


def test_an_ordinary_post_is_normal_priority_and_its_card_shows_no_flags(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    x_api.answer("mentions", page([post("@Twitter make an emoji reaction available in dms", MARIA)], [MARIA]))
    start_polling(X_QUERY="")

    card = visible_text(cards(fake_slack, 1)[0])
    assert "High priority" not in card and "Flagged" not in card and "Personal data" not in card
    assert complaints(database)[0].priority == "normal"


def test_the_brand_account_is_looked_up_from_its_handle_once(x_api: FakeX, start_polling: Callable[..., Heard]) -> None:
    heard = start_polling(X_USER_ID="", X_QUERY="")
    poll(heard)

    assert len(x_api.of("user")) == 1 and x_api.of("user")[0].params["username"] == "Twitter"
    assert all(f"/2/users/{BRAND_ID}/mentions" in request.url for request in x_api.of("mentions"))
    assert len(x_api.of("mentions")) == 2


def test_an_unknown_handle_stops_the_mentions_feed_and_says_why(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    start_polling(X_USER_ID="", X_HANDLE="nosuchbrand", X_QUERY="")

    [message] = channel_notices(fake_slack, "has stopped")
    assert "X has no account @nosuchbrand: check X_HANDLE" in message
    assert x_api.of("mentions") == []


def test_a_webhook_complaint_is_triaged_too(
    start_heard: Callable[..., Heard], customer: Ingester, fake_slack: FakeSlack, database: Database
) -> None:
    start_heard()
    customer.complain(text="Call me on +34 612 345 678, I want to cancel my contract")

    card = visible_text(cards(fake_slack, 1)[0])
    assert "High priority" in card and "Personal data in a public post: take it to DM" in card
    assert complaints(database)[0].personal_data == ["phone number"]


def test_a_conversation_opened_and_continued_within_one_page_is_one_complaint(
    x_api: FakeX, start_polling: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    opening = post("@Twitter my parcel is lost", MARIA, minutes_ago=4)
    reply = post("@Twitter and nobody answers the chat", MARIA, minutes_ago=2, conversation_id=opening["id"])
    other = post("@Twitter unrelated: the app logs me out", Author("77", "li", "Li"), minutes_ago=3)
    x_api.answer("mentions", page([reply, other, opening, opening], [MARIA, Author("77", "li", "Li")]))

    start_polling(X_QUERY="")

    assert len(cards(fake_slack, 2)) == 2
    filed = complaints(database)
    assert [c.external_id for c in filed] == [opening["id"], other["id"]]
    assert filed[0].extra_posts == 1
