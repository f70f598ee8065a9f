"""Facebook Page comments, end to end over HTTP: Meta verifies the callback and delivers signed webhooks to
`/webhooks/meta`, the care team works the card in the (fake) Slack, and what they do reaches the (fake) Graph API:
replies in the comment's thread exactly once, one private reply within 7 days, hiding that never deletes. Failures
are said in words; the backfill poller files what no webhook brought."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from app import Heard
from bot.delivery.pace import SharedPace
from sandbox.fake_graph import FakeGraph, sign
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import FORM
from storage.db import Database
from tests.care_team import buttons, visible_text
from tests.meta_desk import (
    ANA,
    BEN,
    PAGE_ID,
    VERIFY_TOKEN,
    MetaDesk,
    meta_settings,
    recorded,
    running_graph,
    secrets_stay_secret,  # noqa: F401  (used through pytestmark)
    start_desk,
    wait_until,
)
from tests.test_customer_languages import WRITTEN_IN

pytestmark = pytest.mark.usefixtures("secrets_stay_secret")

DANA = ("5550001", "Dana Reyes")
LEO = ("5550002", "Leo Martin")
COMPLAINT = "My order #4411 never came and nobody answers the phone. Three weeks now!"
PUBLICLY = "Reply publicly on Facebook"
PRIVATELY = "Send it as a Facebook private reply"
PERSONAL = "Hi Dana, Ana here. So sorry about order #4411: a replacement ships today, and I'll check in tomorrow."


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with running_graph() as graph:
        yield graph


@pytest.fixture
def start(
    graph: FakeGraph, start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> Callable[..., MetaDesk]:
    def start_watching(**overrides: str) -> MetaDesk:
        settings = {**meta_settings(graph, instagram=False), **overrides}
        return start_desk(start_heard, graph, fake_slack, database, **settings)

    return start_watching


@pytest.fixture
def desk(start: Callable[..., MetaDesk]) -> MetaDesk:
    return start()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """After an attempt whose outcome was not heard, look again soon (production waits seconds to minutes)."""
    monkeypatch.setattr("bot.services.replies.UNSURE_RETRIES", (timedelta(milliseconds=200),) * 3)


def comment_on_the_page(
    desk: MetaDesk, text: str = COMPLAINT, who: tuple[str, str] = DANA, **options: Any
) -> dict[str, Any]:
    """A customer comments on the Page's post, and Meta tells Heard."""
    post = options.pop("post", None) or desk.graph.add_post("Our autumn collection is here")
    comment = desk.graph.add_comment(post["id"], who[0], who[1], text, **options)
    answer = desk.deliver(desk.graph.webhook_delivery_for(comment))
    assert answer.status == 200, answer.body
    return comment


def change_value(delivery: dict[str, Any]) -> dict[str, Any]:
    return delivery["entry"][0]["changes"][0]["value"]


def submit_reply(desk: MetaDesk, card: dict[str, Any], text: str, how: str, button: str = "Acknowledge") -> Any:
    view = desk.reply_form(card, button)
    answer = desk.team.slack.submit_view(view, ANA, {"Reply": text, "What to do": how})
    assert answer.status == 200 and answer.outcome == "closed", answer.body
    return answer


def options_of(view: dict[str, Any], block_id: str = "reply_how") -> list[str]:
    block = next(block for block in view["blocks"] if block.get("block_id") == block_id)
    return [option["text"]["text"] for option in block["element"]["options"]]


def page_replies(graph: FakeGraph, comment_id: str) -> list[dict[str, Any]]:
    """What the customer sees under their comment from the Page."""
    return [reply for reply in graph.thread(comment_id)["replies"] if reply["from"]["id"] == PAGE_ID]


# -- the webhook: Meta's handshake and signatures ------------------------------------------------------------------


def test_meta_verifies_the_callback_with_the_verify_token(desk: MetaDesk) -> None:
    assert desk.verify(VERIFY_TOKEN, challenge="1158201444") == (200, "1158201444")

    status, _ = desk.verify("not-the-token-we-chose")

    assert status == 403


def test_a_forged_or_missing_signature_is_refused_and_nothing_is_stored(desk: MetaDesk) -> None:
    post = desk.graph.add_post("Our autumn collection is here")
    comment = desk.graph.add_comment(post["id"], *DANA, COMPLAINT)
    body = json.dumps(desk.graph.webhook_delivery_for(comment)).encode()

    forged = desk.deliver(body, signature=sign(body, "someone-elses-app-secret-0123456"))
    missing = desk.deliver(body, signature=None)
    tampered = desk.deliver(body.replace(b"never came", b"came early"), signature=sign(body, desk.graph.app_secret))

    assert [forged.status, missing.status, tampered.status] == [401, 401, 401]
    assert desk.complaints() == [] and desk.outbox("card:") == []
    assert desk.deliver(body).status == 200  # the same body, signed by Meta, is filed
    assert len(desk.complaints()) == 1


# -- comments become cards -----------------------------------------------------------------------------------------


def test_a_comment_becomes_a_card_with_facebook_the_name_and_the_text(desk: MetaDesk) -> None:
    comment = comment_on_the_page(desk)

    (card,) = desk.cards(1)

    shown = visible_text(card)
    assert "Facebook" in shown and "Dana Reyes" in shown and COMPLAINT in shown
    number = comment["id"].split("_")[1]
    assert f"?comment_id={number}" in json.dumps(card["blocks"])  # "on Facebook" links to the comment
    (filed,) = desk.complaints()
    assert (filed.source, filed.platform, filed.external_id) == ("facebook", "facebook", comment["id"])
    assert (filed.author_id, filed.author_name, filed.text) == (DANA[0], DANA[1], COMPLAINT)
    assert desk.fake.problems == []


def test_the_pages_own_comments_are_not_complaints(desk: MetaDesk) -> None:
    # Recorded by restfb: a comment whose author is the Page itself (ids anonymised; the Page is PAGE_ID).
    own = recorded("facebook/webhook-feed-comment-add-v2.11.restfb-anonymised.json")
    assert own["entry"][0]["changes"][0]["value"]["from"]["id"] == PAGE_ID
    post = desk.graph.add_post("Our autumn collection is here")
    customer = desk.graph.add_comment(post["id"], *DANA, COMPLAINT)
    page_reply = desk.graph.add_comment(post["id"], PAGE_ID, "Acme", "Thanks Dana, we're on it", customer["id"])

    assert desk.deliver(own).status == 200
    assert desk.deliver(desk.graph.webhook_delivery_for(page_reply)).status == 200
    assert desk.complaints() == []
    assert desk.deliver(desk.graph.webhook_delivery_for(customer)).status == 200

    assert [c.external_id for c in desk.complaints()] == [customer["id"]]


def test_an_edit_updates_the_card_and_keeps_the_earlier_text(desk: MetaDesk) -> None:
    comment = comment_on_the_page(desk, "My order never came")
    desk.cards(1)
    edited = desk.graph.webhook_delivery_for(comment, verb="edited")
    change_value(edited)["message"] = "My order never came, and your chat bot hung up on me"

    assert desk.deliver(edited).status == 200
    assert desk.deliver(edited).status == 200  # Meta redelivers: still one edit

    card = desk.team.card_shows("your chat bot hung up on me")
    assert "edited by the author" in visible_text(card)
    (event,) = desk.events("edited by the author")
    assert event.detail["before"] == "My order never came"
    assert event.detail["after"] == "My order never came, and your chat bot hung up on me"
    desk.thread_shows("My order never came", card)  # the earlier text, in the card's thread
    (filed,) = desk.complaints()
    assert filed.text == "My order never came, and your chat bot hung up on me" and filed.edited_at is not None


def test_a_removal_is_noted_on_the_card_and_the_complaint_stays(desk: MetaDesk) -> None:
    comment = comment_on_the_page(desk)
    desk.cards(1)

    assert desk.deliver(desk.graph.webhook_delivery_for(comment, verb="remove")).status == 200

    card = desk.team.card_shows("removed it on Facebook")
    assert COMPLAINT in visible_text(card)
    (filed,) = desk.complaints()
    assert filed.removed_at is not None and filed.text == COMPLAINT and filed.status == "new"
    assert [event.action for event in desk.events()] == ["received", "removed by the author"]


def test_the_same_person_writing_again_in_the_thread_joins_the_open_complaint(desk: MetaDesk) -> None:
    comment = comment_on_the_page(desk)
    desk.cards(1)
    post_id = comment["post_id"]
    desk.graph.add_comment(post_id, PAGE_ID, "Acme", "Sorry Dana, checking now", comment["id"])
    again = desk.graph.add_comment(post_id, *DANA, "Still nothing. Hello??", comment["id"])

    assert desk.deliver(desk.graph.webhook_delivery_for(again)).status == 200

    card = desk.team.card_shows("+1 more")
    desk.thread_shows("Still nothing. Hello??", card)
    assert len(desk.complaints()) == 1 and len(desk.outbox("card:")) == 1
    assert [post.external_id for post in desk.joined_posts()] == [again["id"]]


def test_a_redelivered_webhook_is_one_complaint(desk: MetaDesk) -> None:
    post = desk.graph.add_post("Our autumn collection is here")
    comment = desk.graph.add_comment(post["id"], *DANA, COMPLAINT)
    body = json.dumps(desk.graph.webhook_delivery_for(comment)).encode()

    assert [desk.deliver(body).status for _ in range(2)] == [200, 200]

    desk.cards(1)
    assert len(desk.complaints()) == 1 and len(desk.outbox("card:")) == 1
    assert [event.action for event in desk.events()] == ["received"]


def one_delivery_of_comments(desk: MetaDesk, texts: Iterable[str]) -> dict[str, Any]:
    """Each text a comment by its own customer on one new post, all in one webhook delivery, as Meta batches them."""
    post = desk.graph.add_post("Our autumn collection is here")
    changes = []
    for number, text in enumerate(texts):
        comment = desk.graph.add_comment(post["id"], f"55{number:05d}", f"Customer {number}", text)
        changes.extend(desk.graph.webhook_delivery_for(comment)["entry"][0]["changes"])
    return {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": int(datetime.now(UTC).timestamp()), "changes": changes}],
    }


def test_two_hundred_comments_in_one_delivery_are_two_hundred_cards(desk: MetaDesk) -> None:
    desk.heard.delivery.pace = SharedPace(interval=0.001, burst=1000)  # Slack's pace is not the subject

    answer = desk.deliver(one_delivery_of_comments(desk, (f"Complaint {number}" for number in range(200))))

    assert answer.status == 200, answer.body
    assert sorted(c.text for c in desk.complaints()) == sorted(f"Complaint {number}" for number in range(200))
    cards = desk.cards(200)
    assert len({card["ts"] for card in cards}) == 200


def test_comments_in_five_languages_in_one_delivery_each_keep_their_own(desk: MetaDesk) -> None:
    # Meta sends no language: the batch is detected at once, on every core (bot/language.py), and each answer must
    # land on its own post.
    desk.heard.delivery.pace = SharedPace(interval=0.001, burst=1000)

    answer = desk.deliver(one_delivery_of_comments(desk, WRITTEN_IN))

    assert answer.status == 200, answer.body
    assert {complaint.text: complaint.lang for complaint in desk.complaints()} == WRITTEN_IN


# -- replies -------------------------------------------------------------------------------------------------------


def test_a_public_reply_reaches_facebook_once_even_when_graph_times_out_after_posting(
    desk: MetaDesk, quick_retries: None
) -> None:
    comment = comment_on_the_page(desk)
    card = desk.cards(1)[0]
    view = desk.reply_form(card)
    assert options_of(view)[0] == PUBLICLY
    desk.graph.fail_next(f"{comment['id']}/comments", "timeout_after_doing")

    desk.team.slack.submit_view(view, ANA, {"Reply": PERSONAL, "What to do": PUBLICLY})

    card = desk.team.card_shows("Replied publicly on Facebook", timeout=10)
    (reply,) = page_replies(desk.graph, comment["id"])
    assert reply["message"] == PERSONAL
    assert len(desk.graph.calls("POST", f"{comment['id']}/comments")) == 1  # posted once
    assert desk.graph.calls("GET", f"{comment['id']}/comments")  # the retry looked first, and found it
    (sent,) = desk.replies()
    assert (sent.status, sent.external_id, sent.attempts) == ("sent", reply["id"], 2)
    assert reply["id"].split("_")[1] in json.dumps(card["blocks"])  # a link to the reply itself
    assert [event.action for event in desk.events()][-2:] == ["acknowledged", "replied"]


def test_a_reply_heard_cannot_confirm_is_looked_for_before_any_retry(
    desk: MetaDesk, quick_retries: None, graph: FakeGraph
) -> None:
    comment = comment_on_the_page(desk)
    card = desk.cards(1)[0]
    graph.fail_next(f"{comment['id']}/comments", "timeout_after_doing")
    submit_reply(desk, card, PERSONAL, PUBLICLY)
    wait_until(lambda: page_replies(graph, comment["id"]), what="the reply on Facebook")
    graph.expire_token()  # before Heard can look for the answer it did not hear

    card = desk.team.card_shows("could not confirm whether it went out", timeout=10)
    assert "look at the post on Facebook before you retry" in visible_text(card)
    graph.set_token(graph.token)  # the token works again (in real life: a new META_PAGE_TOKEN and a restart)
    desk.team.click(ANA, "Retry", on=card)

    desk.team.card_shows("Replied publicly on Facebook")
    assert len(page_replies(graph, comment["id"])) == 1
    assert len(graph.calls("POST", f"{comment['id']}/comments")) == 1  # the Retry looked first and found it


def test_a_private_reply_goes_once(desk: MetaDesk) -> None:
    comment = comment_on_the_page(desk)
    card = desk.cards(1)[0]
    view = desk.reply_form(card, "Take it private")
    assert view["title"]["text"] == "Take it private"
    assert PRIVATELY in options_of(view)
    assert "one private reply per comment, within 7 days" in json.dumps(view["blocks"])
    text = "Hi Dana, Ana here. Could you send me your order number and address here? I'll sort it out today."

    answer = desk.team.slack.submit_view(view, ANA, {"Reply": text, "What to do": PRIVATELY})
    # Slack retries the submission it did not hear answered in time
    headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    retried = desk.team.slack.post_signed(
        urlencode({"payload": json.dumps(answer.payload)}), content_type=FORM, headers=headers
    )

    assert retried.status == 200
    card = desk.team.card_shows("Private reply sent on Facebook")
    (sent,) = desk.graph.private_replies()
    assert (sent["comment_id"], sent["text"], sent["platform"]) == (comment["id"], text, "facebook")
    assert page_replies(desk.graph, comment["id"]) == []  # nothing said in public
    again = desk.reply_form(card, "Take it private")
    assert PRIVATELY not in options_of(again)
    assert "already had its private reply" in json.dumps(again["blocks"])


def test_a_private_reply_to_a_comment_older_than_seven_days_is_refused_in_words(desk: MetaDesk) -> None:
    comment_on_the_page(desk, created_time=datetime.now(UTC) - timedelta(days=8))
    card = desk.cards(1)[0]

    view = desk.reply_form(card, "Take it private")

    assert PRIVATELY not in options_of(view) and options_of(view)[0] == PUBLICLY
    note = json.dumps(view["blocks"])
    assert "within 7 days" in note and "older than that" in note
    forged = {"text": {"type": "plain_text", "text": PRIVATELY}, "value": "dm"}  # a hand-made submission
    answer = desk.team.slack.submit_view(view, ANA, {"Reply": "Hi Dana, DM me please", "What to do": forged})
    assert "7 days" in answer.field_errors().get("reply_how", "")
    assert desk.graph.private_replies() == [] and desk.replies() == []


# -- moderation ----------------------------------------------------------------------------------------------------


def test_hide_and_unhide_from_the_card_never_delete(desk: MetaDesk) -> None:
    comment = comment_on_the_page(desk, "You are all crooks, buy followers at spam.example")
    card = desk.cards(1)[0]
    assert not any("Delete" in label for label in buttons(card))

    hide = desk.team.open_form(ANA, "Hide", on=card)
    assert "Facebook hides it too" in json.dumps(hide["blocks"])
    assert desk.team.slack.submit_view(hide, ANA, {"Reason": "Spam"}).field_errors() == {}

    card = desk.team.card_shows("Hidden on Facebook")
    assert desk.graph.thread(comment["id"])["hidden"] is True
    # Meta tells Heard about the hide it just did: nothing new.
    assert desk.deliver(desk.graph.webhook_delivery_for(comment, verb="hide")).status == 200
    desk.team.click(BEN, "Unhide", on=card)
    desk.fake.wait_for(
        "chat.update",
        where=lambda call: call.args.get("ts") == card["ts"] and "Hidden on" not in visible_text(call.args),
    )

    assert desk.graph.thread(comment["id"])["hidden"] is False
    assert desk.graph.comment(comment["id"])["message"] == "You are all crooks, buy followers at spam.example"
    hidden_flags = [call.params["is_hidden"] for call in desk.graph.calls("POST") if call.path == f"/{comment['id']}"]
    assert hidden_flags == ["true", "false"]
    assert [event.action for event in desk.events()] == ["received", "hidden", "unhidden"]


# -- failures said in words ----------------------------------------------------------------------------------------


def test_an_expired_token_is_said_on_the_card_and_once_in_the_channel(desk: MetaDesk) -> None:
    comment_on_the_page(desk)
    card = desk.cards(1)[0]
    desk.graph.expire_token()

    submit_reply(desk, card, PERSONAL, PUBLICLY)

    card = desk.team.card_shows("Reply failed")
    assert "set a new META_PAGE_TOKEN" in visible_text(card)
    assert {"Retry", "Edit"} <= set(buttons(card))
    desk.backfill.poll()
    desk.backfill.poll()
    (notice,) = desk.notices("META_PAGE_TOKEN")
    assert "Facebook has stopped" in notice
    assert len(desk.outbox("channel_notice:meta-stopped")) == 1


def test_a_rate_limit_fails_in_words_and_graph_is_left_alone_while_heard_keeps_working(desk: MetaDesk) -> None:
    first = comment_on_the_page(desk)
    comment_on_the_page(desk, "The app logs me out every five minutes", who=LEO)
    first_card, second_card = desk.cards(2)
    desk.graph.fail_next(f"{first['id']}/comments", "rate_limit")

    submit_reply(desk, first_card, PERSONAL, PUBLICLY)

    card = desk.team.card_shows("Reply failed")
    assert "Facebook's rate limit is reached" in visible_text(card)
    calls_so_far = len(desk.graph.calls())
    desk.team.click(ANA, "Retry", on=card)
    desk.fake.wait_for("chat.postEphemeral", count=2, where=lambda call: "was not sent" in visible_text(call.args))
    assert len(desk.graph.calls()) == calls_so_far  # not asked again before Meta's wait is over
    assert len(desk.events("reply failed")) == 2
    desk.team.click(BEN, "Claim", on=second_card)
    desk.team.card_shows(f"<@{BEN}>", index=1)
    assert page_replies(desk.graph, first["id"]) == []


def test_a_missing_permission_is_named_on_the_card(desk: MetaDesk) -> None:
    comment = comment_on_the_page(desk)
    card = desk.cards(1)[0]
    desk.graph.fail_next(f"{comment['id']}/comments", "permission")

    submit_reply(desk, card, PERSONAL, PUBLICLY)

    card = desk.team.card_shows("Reply failed")
    assert "pages_manage_engagement permission" in visible_text(card)


# -- backfill ------------------------------------------------------------------------------------------------------


def test_the_backfill_files_what_no_webhook_brought_once(graph: FakeGraph, start: Callable[..., MetaDesk]) -> None:
    now = datetime.now(UTC)
    post = graph.add_post("Our autumn collection is here", created_time=now - timedelta(hours=3))
    early = graph.add_comment(post["id"], *DANA, "Where is my refund?", created_time=now - timedelta(minutes=30))
    graph.add_comment(post["id"], PAGE_ID, "Acme", "Checking, Dana", early["id"], now - timedelta(minutes=20))
    later = graph.add_comment(post["id"], *LEO, "Same here, no refund", created_time=now - timedelta(minutes=5))
    graph.add_comment(post["id"], "5550003", "Old Timer", "From last week", created_time=now - timedelta(days=3))

    desk = start()  # the start-up poll is the first

    assert {c.external_id for c in desk.complaints()} == {early["id"], later["id"]}
    assert len(desk.cards(2)) == 2
    webhook = comment_on_the_page(desk, "And now the app crashes", who=("5550004", "Mia Chen"), post=post)
    desk.backfill.poll()

    assert {c.external_id for c in desk.complaints()} == {early["id"], later["id"], webhook["id"]}
    assert len(desk.outbox("card:")) == 3
    assert len(desk.cards(3)) == 3
