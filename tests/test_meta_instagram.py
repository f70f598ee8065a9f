"""Instagram comments and mentions, end to end over HTTP: Meta's signed `comments` and `mentions` deliveries to
`/webhooks/meta` become cards; replies go to the comment's `/replies` edge once, hiding uses `hide`, the one private
reply goes through the account's `/messages`, and the account's own comments are never complaints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from app import Heard
from sandbox.fake_graph import FakeGraph
from sandbox.fake_slack import FakeSlack
from storage.db import Database
from tests.care_team import visible_text
from tests.meta_desk import (
    ANA,
    BEN,
    INSTAGRAM_ID,
    MetaDesk,
    meta_settings,
    recorded,
    running_graph,
    secrets_stay_secret,  # noqa: F401  (used through pytestmark)
    start_desk,
)

pytestmark = pytest.mark.usefixtures("secrets_stay_secret")

DANA = ("17841455550001", "dana.reyes")
COMPLAINT = "Ordered the blue one, got a pink one. Twice. @acme please sort this out"
PUBLICLY = "Reply publicly on Instagram"
PRIVATELY = "Send it as an Instagram private reply"
PERSONAL = "Hi Dana, Ana here. So sorry about the colour mix-up: the blue one ships today, on us."


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with running_graph() as graph:
        yield graph


@pytest.fixture
def desk(graph: FakeGraph, start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database) -> MetaDesk:
    return start_desk(start_heard, graph, fake_slack, database, **meta_settings(graph, facebook=False))


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.services.replies.UNSURE_RETRIES", (timedelta(milliseconds=200),) * 3)


def comment_on_instagram(desk: MetaDesk, text: str = COMPLAINT, who: tuple[str, str] = DANA) -> dict[str, Any]:
    media = desk.graph.add_ig_media("New in: the blue collection")
    comment = desk.graph.add_ig_comment(media["id"], who[0], who[1], text)
    answer = desk.deliver(desk.graph.webhook_delivery_for(comment))
    assert answer.status == 200, answer.body
    return comment


def account_replies(graph: FakeGraph, comment_id: str) -> list[dict[str, Any]]:
    return [reply for reply in graph.thread(comment_id)["replies"] if reply["from"]["id"] == INSTAGRAM_ID]


def options_of(view: dict[str, Any]) -> list[str]:
    block = next(block for block in view["blocks"] if block.get("block_id") == "reply_how")
    return [option["text"]["text"] for option in block["element"]["options"]]


# -- comments become cards -----------------------------------------------------------------------------------------


def test_a_comments_delivery_becomes_a_card_with_instagram_and_the_username(desk: MetaDesk) -> None:
    # Meta's documented sample delivery, addressed to the account Heard watches (the sample says entry id "0").
    sample = recorded("instagram/webhook-comments.docs-example.json")
    sample["entry"][0]["id"] = INSTAGRAM_ID

    assert desk.deliver(sample).status == 200

    (card,) = desk.cards(1)
    shown = visible_text(card)
    assert "Instagram" in shown and "@testuser" in shown and "This is an example." in shown
    (filed,) = desk.complaints()
    assert (filed.source, filed.platform, filed.external_id, filed.author_id) == (
        "instagram",
        "instagram",
        "123456789",
        "1234536447",
    )
    # A reply's thread is its top-level comment: a later comment there by the same person joins this complaint.
    assert filed.conversation_id == "987654321"


def test_meta_sample_deliveries_and_the_accounts_own_comments_are_not_complaints(desk: MetaDesk) -> None:
    sample = recorded("instagram/webhook-comments.docs-example.json")  # entry id "0": the dashboard's Test button
    old_shape = recorded("instagram/webhook-comments-old.docs-example.json")
    media = desk.graph.add_ig_media("New in: the blue collection")
    customer = desk.graph.add_ig_comment(media["id"], *DANA, COMPLAINT)
    own = desk.graph.add_ig_comment(media["id"], INSTAGRAM_ID, "acme", "Sorry Dana! DM us", customer["id"])

    answers = [desk.deliver(body).status for body in (sample, old_shape, desk.graph.webhook_delivery_for(own))]

    assert answers == [200, 200, 200]
    assert desk.complaints() == []


def test_a_mention_is_fetched_from_graph_and_filed(desk: MetaDesk) -> None:
    # Someone else's post: the comment tags the account, and Meta sends only the ids.
    elsewhere = desk.graph.add_ig_comment("17900000000000099", "17841455550002", "leo.m", "@acme my parcel is lost")

    answer = desk.deliver(desk.graph.mention_delivery_for(elsewhere))

    assert answer.status == 200
    (card,) = desk.cards(1)
    assert "@leo.m" in visible_text(card) and "my parcel is lost" in visible_text(card)
    (fetched,) = [call for call in desk.graph.calls("GET") if call.path == f"/{INSTAGRAM_ID}"]
    assert f"mentioned_comment.comment_id({elsewhere['id']})" in fetched.params["fields"]
    (filed,) = desk.complaints()
    assert (filed.platform, filed.external_id) == ("instagram", elsewhere["id"])


# -- replies -------------------------------------------------------------------------------------------------------


def test_a_reply_goes_to_the_comments_replies_once_even_after_a_timeout(desk: MetaDesk, quick_retries: None) -> None:
    comment = comment_on_instagram(desk)
    card = desk.cards(1)[0]
    view = desk.reply_form(card)
    assert options_of(view)[0] == PUBLICLY
    desk.graph.fail_next(f"{comment['id']}/replies", "timeout_after_doing")

    desk.team.slack.submit_view(view, ANA, {"Reply": PERSONAL, "What to do": PUBLICLY})

    desk.team.card_shows("Replied publicly on Instagram", timeout=10)
    (reply,) = account_replies(desk.graph, comment["id"])
    assert reply["text"] == PERSONAL
    assert len(desk.graph.calls("POST", f"/{comment['id']}/replies")) == 1
    assert desk.graph.calls("GET", f"/{comment['id']}/replies")  # looked before trying again
    (sent,) = desk.replies()
    assert (sent.status, sent.external_id) == ("sent", reply["id"])


def test_a_private_reply_goes_through_the_accounts_messages_once(desk: MetaDesk, quick_retries: None) -> None:
    comment = comment_on_instagram(desk)
    card = desk.cards(1)[0]
    view = desk.reply_form(card, "Take it private")
    assert PRIVATELY in options_of(view)
    desk.graph.fail_next(f"{INSTAGRAM_ID}/messages", "timeout_after_doing")
    text = "Hi Dana, Ana here: send me your order number and I'll swap it for the blue one today."

    desk.team.slack.submit_view(view, ANA, {"Reply": text, "What to do": PRIVATELY})

    desk.team.card_shows("Private reply sent on Instagram", timeout=10)
    (sent,) = desk.graph.private_replies()
    assert (sent["comment_id"], sent["text"], sent["platform"]) == (comment["id"], text, "instagram")
    # The answer was lost; the second attempt heard "already replied" (one per comment) and took it as sent.
    assert len(desk.graph.calls("POST", f"/{INSTAGRAM_ID}/messages")) == 2
    assert account_replies(desk.graph, comment["id"]) == []
    assert [reply.status for reply in desk.replies()] == ["sent"]


# -- moderation ----------------------------------------------------------------------------------------------------


def test_hide_and_unhide_use_instagrams_hide(desk: MetaDesk) -> None:
    comment = comment_on_instagram(desk, "Scam shop, everyone report them, buy at fake-deals.example instead")
    card = desk.cards(1)[0]

    hide = desk.team.open_form(ANA, "Hide", on=card)
    assert desk.team.slack.submit_view(hide, ANA, {"Reason": "Spam"}).field_errors() == {}
    card = desk.team.card_shows("Hidden on Instagram")
    assert desk.graph.comment(comment["id"])["hidden"] is True
    desk.team.click(BEN, "Unhide", on=card)
    desk.fake.wait_for(
        "chat.update",
        where=lambda call: call.args.get("ts") == card["ts"] and "Hidden on" not in visible_text(call.args),
    )

    assert desk.graph.comment(comment["id"])["hidden"] is False
    flags = [call.params.get("hide") for call in desk.graph.calls("POST") if call.path == f"/{comment['id']}"]
    assert flags == ["true", "false"]
    assert desk.graph.comment(comment["id"])["text"].startswith("Scam shop")  # nothing deleted
    assert [event.action for event in desk.events()] == ["received", "hidden", "unhidden"]
