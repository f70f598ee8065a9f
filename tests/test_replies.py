"""Replies to the customer, end to end: a person clicks in the (fake) Slack, X's write endpoints are intercepted
(tests/x_writes.py), and we look at what X received, the card, its thread and the database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import responses
from sqlalchemy import select

from app import Heard
from bot.platforms.base import NewComplaint
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import FORM, SlackDriver
from storage.db import Database
from storage.models import AuditEvent, Reply
from tests.care_team import CareTeam, buttons, open_reply_modal, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester
from tests.x_api import MARIA
from tests.x_writes import DUPLICATE, RATE_LIMITED, ReplyX, brand

ANA = "U0ANA"
BEN = "U0BEN"
POST_ID = "1577730467436138524"
USER_AUTH = {
    "X_CONSUMER_KEY": "test-consumer-key",
    "X_CONSUMER_SECRET": "test-consumer-secret",
    "X_ACCESS_TOKEN": "test-access-token",
    "X_ACCESS_TOKEN_SECRET": "test-access-token-secret",
}
PUBLICLY = "Reply publicly on X"
PERSONAL = (
    "Hi María, Ana here. I'm so sorry the blender arrived broken; a replacement is on its way, and I'll check in "
    "with you tomorrow."
)


@pytest.fixture
def x_writes() -> Iterator[ReplyX]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield ReplyX(mock)


@pytest.fixture
def desk(start_heard: Callable[..., Heard], fake_slack: FakeSlack, x_writes: ReplyX) -> tuple[Heard, CareTeam]:
    heard = start_heard(**USER_AUTH, RESOLVE_WINDOW="4h")
    fake_slack.set_user(ANA, real_name="Ana García")
    driver = SlackDriver(f"http://127.0.0.1:{heard.port}/slack/events", SIGNING_SECRET, fake_slack)
    return heard, CareTeam(fake_slack, driver, CHANNEL)


def x_complaint(heard: Heard, text: str = "My blender arrived broken and nobody answers. Thanks a lot.") -> int:
    """A mention from X, filed the way the poller files it."""
    (result,) = heard.services.intake.ingest_many(
        [
            NewComplaint(
                source="x",
                external_id=POST_ID,
                author_handle=MARIA.username,
                author_name=MARIA.name,
                author_id=MARIA.id,
                text=text,
                url=f"https://x.com/{MARIA.username}/status/{POST_ID}",
                posted_at=datetime.now(UTC) - timedelta(minutes=2),
                lang="en",
            )
        ]
    )
    return result.complaint_id


def replies(database: Database) -> list[Reply]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(Reply).order_by(Reply.id)))


def trail(database: Database) -> list[tuple[str, str, dict]]:
    with database.unit_of_work() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(event.action, event.actor, event.detail) for event in events]


def input_value(view: dict, block_id: str) -> str:
    return next(block for block in view["blocks"] if block.get("block_id") == block_id)["element"]["initial_value"]


def resend(driver: SlackDriver, payload: dict, retry: int | None = None) -> int:
    """The same signed view_submission again: a Slack retry (with X-Slack-Retry-Num) or a second click on Send."""
    headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
    return driver.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM, headers=headers).status


# -- Acknowledge with a personal reply ----------------------------------------------------------------------------


def test_a_personalised_reply_is_posted_once_even_on_a_slack_retry_and_a_double_submit(
    desk: tuple[Heard, CareTeam], x_writes: ReplyX, fake_slack: FakeSlack, database: Database
) -> None:
    heard, team = desk
    x_complaint(heard)
    view = open_reply_modal(team.slack, fake_slack, ANA, team.card(), CHANNEL)

    prefilled = input_value(view, "reply_text")
    assert prefilled.startswith("Hi María, this is Ana from the care team.")
    # The 4-hour resolution deadline in words, in HEARD_TZ (today or, late in the day, tomorrow).
    assert re.search(r"will get back to you by (\d{1,2}(:\d\d)? [ap]m|noon) (today|tomorrow)\.$", prefilled)
    answer = team.slack.submit_view(view, ANA, {"Reply": PERSONAL, "What to do": PUBLICLY})
    assert answer.outcome == "closed"
    assert resend(team.slack, answer.payload, retry=1) == 200  # Slack did not hear us in time and retried
    assert resend(team.slack, answer.payload) == 200  # the double click that sent it again

    card = team.card_shows("Replied publicly on X")
    (posted,) = x_writes.tweets
    assert [attempt["text"] for attempt in x_writes.attempts] == [PERSONAL]
    assert x_writes.attempts[0]["reply"] == {"in_reply_to_tweet_id": POST_ID}
    assert all(auth.startswith("OAuth ") for auth in x_writes.authorizations)  # user context, not the bearer token
    shown = visible_text(card)
    link = f"https://x.com/{brand()['username']}/status/{posted.id}"
    assert f"by <@{ANA}>" in shown and "so sorry the blender arrived broken" in shown and link in shown
    assert "Acknowledge" not in buttons(card)
    actions = [(action, actor) for action, actor, _ in trail(database)]
    assert actions == [("received", "x"), ("acknowledged", ANA), ("replied", ANA)]
    assert trail(database)[-1][2]["url"] == link and trail(database)[-1][2]["text"] == PERSONAL
    fake_slack.wait_for("chat.postMessage", count=2, where=lambda call: bool(call.args.get("thread_ts")))
    assert any("replied publicly on X" in line and "view on X" in line for line in team.thread())
    (reply,) = replies(database)
    assert reply.status == "sent" and reply.personalised and reply.external_id == posted.id
    assert fake_slack.problems == []


def test_a_template_sent_unchanged_asks_once_to_make_it_personal(
    desk: tuple[Heard, CareTeam], x_writes: ReplyX, fake_slack: FakeSlack, database: Database
) -> None:
    heard, team = desk
    x_complaint(heard)
    view = open_reply_modal(team.slack, fake_slack, ANA, team.card(), CHANNEL)

    asked = team.slack.submit_view(view, ANA, {"What to do": PUBLICLY})

    assert asked.outcome == "updated" and x_writes.attempts == []
    (warned,) = fake_slack.open_views(ANA)
    assert "Make it personal?" in json.dumps(warned["blocks"])
    assert input_value(warned, "reply_text") == input_value(view, "reply_text")  # the draft is kept
    sent = team.slack.submit_view(warned, ANA, {"What to do": PUBLICLY})  # "send it as it is"
    assert sent.outcome == "closed"
    team.card_shows("Replied publicly on X")
    assert len(x_writes.tweets) == 1
    (reply,) = replies(database)
    assert reply.personalised is False  # on the record: the template went out as it was


def test_acknowledge_only_tells_nobody_outside(
    desk: tuple[Heard, CareTeam], x_writes: ReplyX, fake_slack: FakeSlack, database: Database
) -> None:
    heard, team = desk
    x_complaint(heard)

    team.acknowledge(ANA)

    team.card_shows(f"Acknowledged by <@{ANA}>")
    assert x_writes.attempts == [] and replies(database) == []


# -- failures: said in words, the draft kept, a retry never posts twice -------------------------------------------


def test_an_x_refusal_shows_on_the_card_with_the_draft_and_retry_sends_it_once(
    desk: tuple[Heard, CareTeam], x_writes: ReplyX, fake_slack: FakeSlack, database: Database
) -> None:
    heard, team = desk
    x_complaint(heard)
    x_writes.refuse("tweets", 429, RATE_LIMITED, reset_in=600)
    view = open_reply_modal(team.slack, fake_slack, ANA, team.card(), CHANNEL)
    team.slack.submit_view(view, ANA, {"Reply": PERSONAL, "What to do": PUBLICLY})

    card = team.card_shows("Reply failed")
    shown = visible_text(card)
    assert "X's limit on posts from the brand account is reached (429); it resets at" in shown
    assert "so sorry the blender arrived broken" in shown  # the draft, kept
    assert {"Retry", "Edit"} <= set(buttons(card))
    team.told(ANA, "was not sent", via="chat.postEphemeral")
    assert x_writes.tweets == []

    team.click(ANA, "Retry", on=card)
    team.click(ANA, "Retry", on=card)  # a double click on Retry

    card = team.card_shows("Replied publicly on X")
    assert len(x_writes.tweets) == 1 and len(x_writes.attempts) == 2
    assert "Reply failed" not in visible_text(card)
    assert [action for action, _, _ in trail(database)][-2:] == ["reply failed", "replied"]


def test_a_duplicate_refused_by_x_can_be_edited_and_sent_from_the_card(
    desk: tuple[Heard, CareTeam], x_writes: ReplyX, fake_slack: FakeSlack, database: Database
) -> None:
    heard, team = desk
    x_complaint(heard)
    x_writes.refuse("tweets", 403, DUPLICATE)
    view = open_reply_modal(team.slack, fake_slack, ANA, team.card(), CHANNEL)
    team.slack.submit_view(view, ANA, {"Reply": PERSONAL, "What to do": PUBLICLY})
    card = team.card_shows("Reply failed")
    assert "duplicate" in visible_text(card)

    edit = open_reply_modal(team.slack, fake_slack, ANA, card, CHANNEL, button="Edit")
    assert input_value(edit, "reply_text") == PERSONAL  # the modal reopens with the draft
    team.slack.submit_view(edit, ANA, {"Reply": PERSONAL + " Sorry again!", "What to do": PUBLICLY})

    card = team.card_shows("Replied publicly on X")
    assert "Reply failed" not in visible_text(card)
    assert [post.text for post in x_writes.tweets] == [PERSONAL + " Sorry again!"]
    assert [reply.status for reply in replies(database)] == ["replaced", "sent"]


def test_a_reply_whose_answer_was_lost_is_found_on_x_instead_of_posted_again(
    desk: tuple[Heard, CareTeam], x_writes: ReplyX, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.services.replies.UNSURE_RETRIES", (timedelta(milliseconds=300),) * 3)
    heard, team = desk
    x_complaint(heard)
    x_writes.post_then_time_out()
    text = "Hi María, Ana here: sorry about the blender & the wait. A replacement ships today."
    view = open_reply_modal(team.slack, fake_slack, ANA, team.card(), CHANNEL)
    team.slack.submit_view(view, ANA, {"Reply": text, "What to do": PUBLICLY})

    card = team.card_shows("Replied publicly on X", timeout=10)

    (posted,) = x_writes.tweets
    assert len(x_writes.attempts) == 1  # looked for it (the brand's recent posts) and adopted it
    assert "tweets" in x_writes.reads
    assert f"/status/{posted.id}" in visible_text(card)


# -- Take it private --------------------------------------------------------------------------------------------


def test_personal_data_suggests_taking_it_private_first_and_a_dm_is_sent(
    desk: tuple[Heard, CareTeam], x_writes: ReplyX, fake_slack: FakeSlack, database: Database
) -> None:
    heard, team = desk
    x_complaint(heard, text="Still no refund!! Call me on +34 612 345 678 or write to maria.lopez@example.com")
    card = team.card()
    assert buttons(card)[:2] == ["Take it private", "Acknowledge"]
    card_actions = next(block for block in card["blocks"] if block.get("block_id") == "card_actions")
    assert card_actions["elements"][0].get("style") == "primary"  # suggested first

    view = open_reply_modal(team.slack, fake_slack, ANA, card, CHANNEL, button="Take it private")
    assert view["title"]["text"] == "Take it private"
    assert "Could you send us a DM with the details?" in input_value(view, "reply_text")
    dm = "Hi María, Ana here. I've removed nothing, but please delete your number from the post; I'll call you today."
    team.slack.submit_view(view, ANA, {"Reply": dm, "What to do": "Send it as an X DM"})

    card = team.card_shows("DM sent on X")
    assert [(attempt["endpoint"], attempt["to"], attempt["text"]) for attempt in x_writes.attempts] == [
        ("dm", MARIA.id, dm)
    ]
    assert x_writes.tweets == []
    assert [action for action, _, _ in trail(database)][-1] == "sent a DM"


# -- sources Heard cannot reply on ------------------------------------------------------------------------------


def test_a_webhook_complaint_offers_the_draft_to_copy_and_mark_replied(
    desk: tuple[Heard, CareTeam], x_writes: ReplyX, fake_slack: FakeSlack, database: Database
) -> None:
    heard, team = desk
    Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET).complain()
    view = open_reply_modal(team.slack, fake_slack, ANA, team.card(), CHANNEL)
    how = next(block for block in view["blocks"] if block.get("block_id") == "reply_how")["element"]["options"]
    assert [option["text"]["text"] for option in how] == ["Copy it and send it yourself", "Acknowledge only (internal)"]
    assert "Heard cannot reply on this source" in json.dumps(view["blocks"])
    draft = "Hi Maria, Ana here. So sorry about the broken order: I've sent a replacement and will call you today."
    team.slack.submit_view(view, ANA, {"Reply": draft})

    card = team.card_shows("Reply drafted by")
    assert "I've sent a replacement" in visible_text(card) and "Mark replied" in buttons(card)
    assert f"Acknowledged by <@{ANA}>" in visible_text(card)
    team.click(BEN, "Mark replied", on=card)
    team.click(BEN, "Mark replied", on=card)

    card = team.card_shows("Replied by hand")
    assert "Mark replied" not in buttons(card)
    assert x_writes.attempts == []
    actions = [(action, actor) for action, actor, _ in trail(database)]
    assert actions == [("received", "facebook"), ("acknowledged", ANA), ("reply drafted", ANA), ("marked replied", BEN)]
    (reply,) = replies(database)
    assert reply.status == "sent" and reply.sent_by == BEN and reply.channel == "copy"
