"""Meta's webhooks, parsed: every recorded or documented delivery, the Page's own comments left out, one bad change
never stopping its neighbours, signatures over the raw bytes, and the subscription handshake."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.platforms.meta.webhook import (
    CommentAdded,
    CommentEdited,
    CommentHidden,
    CommentRemoved,
    InvalidDelivery,
    MentionToFetch,
    parse_delivery,
    signature_is_valid,
    verify_subscription,
)
from sandbox.fake_graph import FakeGraph, sign

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "meta"
DELIVERIES = sorted(FIXTURES.glob("*/webhook-*.json"))
RECORDED_PAGE = "1234567890321"  # the Page id restfb's anonymised recordings carry
SECRET = "0123456789abcdef0123456789abcdef"


def fixture(name: str) -> bytes:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path.read_bytes()


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def page_delivery(*values: Any, page: str = "1000") -> bytes:
    changes = [{"field": "feed", "value": value} for value in values]
    return json.dumps({"object": "page", "entry": [{"id": page, "time": 1700000000, "changes": changes}]}).encode()


def comment(n: int, **overrides: Any) -> dict[str, Any]:
    value = {
        "item": "comment",
        "verb": "add",
        "comment_id": f"2000_{n}",
        "post_id": "1000_2000",
        "parent_id": "1000_2000",
        "from": {"id": f"77{n}", "name": f"Person {n}"},
        "created_time": 1700000000 + n,
        "message": f"comment {n}",
    }
    value.update(overrides)
    return value


# -- every delivery on file ------------------------------------------------------------------------------------------


def test_the_fixtures_are_there() -> None:
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/meta is not available")
    assert len(DELIVERIES) >= 12


@pytest.mark.parametrize("path", DELIVERIES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_delivery_on_file_parses_into_changes_or_reasons(path: Path) -> None:
    document = json.loads(path.read_bytes())

    delivery = parse_delivery(path.read_bytes(), None, None)

    total = sum(len(entry["changes"]) for entry in document["entry"])
    assert len(delivery.changes) + len(delivery.skipped) == total
    assert all(reason.startswith("entry[0].changes[0]") for reason in delivery.skipped)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "facebook/webhook-feed-comment-add-v2.11.restfb-anonymised.json",
            CommentAdded(
                platform="facebook",
                comment_id="901097836652708_903438993085259",
                post_id="1234567890321_901097836652708",
                parent_id="1234567890321_901097836652708",
                thread_id="901097836652708_903438993085259",
                author_id="1234567890321",
                author_name="Tester",
                author_handle="Tester",
                text="and the next one",
                created_at=at(1449135003),
                url="https://www.facebook.com/1234567890321/posts/901097836652708/?comment_id=903438993085259",
                raw={},
            ),
            id="recorded-page-comment",
        ),
        pytest.param(
            "instagram/webhook-comments.docs-example.json",
            CommentAdded(
                platform="instagram",
                comment_id="123456789",
                post_id="76543987",
                parent_id="987654321",
                thread_id="987654321",
                author_id="1234536447",
                author_name="testuser",
                author_handle="testuser",
                text="This is an example.",
                created_at=at(1519399307),
                url=None,
                raw={},
            ),
            id="documented-instagram-comment",
        ),
    ],
)
def test_a_single_comment(name: str, expected: CommentAdded) -> None:
    body = fixture(name)
    (sent,) = json.loads(body)["entry"][0]["changes"]

    (change,) = parse_delivery(body, None, None).changes

    assert change == expected
    assert (change.raw["field"], change.raw["value"]) == (sent["field"], sent["value"])  # kept as Meta sent it


def test_the_older_sender_shape_reads_the_same() -> None:
    older = parse_delivery(fixture("facebook/webhook-feed-comment-add-v2.5.restfb-anonymised.json"), None, None)
    newer = parse_delivery(fixture("facebook/webhook-feed-comment-add-v2.11.restfb-anonymised.json"), None, None)

    assert older.changes == newer.changes  # sender_id is a number there, an id string here


def test_edits_removals_and_hiding() -> None:
    (edited,) = parse_delivery(
        fixture("facebook/webhook-feed-comment-edited.restfb-anonymised.json"), None, None
    ).changes
    (removed,) = parse_delivery(
        fixture("facebook/webhook-feed-comment-remove.restfb-anonymised.json"), None, None
    ).changes
    (hidden,) = parse_delivery(fixture("facebook/webhook-feed-comment-hide.restfb-anonymised.json"), None, None).changes
    (shown,) = parse_delivery(
        fixture("facebook/webhook-feed-comment-unhide.restfb-anonymised.json"), None, None
    ).changes

    hidden_comment = "900728623356296_900744590021366"
    assert edited == CommentEdited(
        "facebook", hidden_comment, {}, text="Let's see the Webhooks in action :D", edited_at=at(1448555737)
    )
    assert removed == CommentRemoved("facebook", "905578656204626_905579239537901", {}, removed_at=at(1452107182))
    assert hidden == CommentHidden("facebook", hidden_comment, {}, hidden=True, at=at(1467894562))
    assert shown == CommentHidden("facebook", hidden_comment, {}, hidden=False, at=at(1467894562))


def test_page_mentions_are_skipped_with_a_reason() -> None:
    for name in ("webhook-mention-comment-add", "webhook-mention-post-add-real"):
        delivery = parse_delivery(fixture(f"facebook/{name}.restfb-anonymised.json"), RECORDED_PAGE, None)
        assert delivery.changes == []
        assert "(mention): a mention of the Page is not handled" in delivery.skipped[0]


def test_instagram_mentions_ask_for_a_fetch_and_older_shapes_are_skipped() -> None:
    (mention,) = parse_delivery(fixture("instagram/webhook-mentions.docs-example.json"), None, None).changes
    old = parse_delivery(fixture("instagram/webhook-comments-old.docs-example.json"), None, None)
    live = parse_delivery(fixture("instagram/webhook-live_comments.docs-example.json"), None, None)

    assert mention == MentionToFetch(comment_id="17887498072083520", media_id="17887498072083520", raw={})
    assert mention.platform == "instagram"
    assert old.changes == [] and "has no 'from'" in old.skipped[0]
    assert live.changes == [] and "live comments are not handled" in live.skipped[0]


def test_meta_sample_deliveries_are_skipped_once_the_account_is_configured() -> None:
    delivery = parse_delivery(fixture("instagram/webhook-comments.docs-example.json"), None, "17841400000000001")

    assert delivery.changes == []
    assert "Meta's sample delivery" in delivery.skipped[0]


# -- what is left out ------------------------------------------------------------------------------------------------


def test_the_pages_own_comment_is_skipped() -> None:
    body = fixture("facebook/webhook-feed-comment-add-v2.11.restfb-anonymised.json")

    delivery = parse_delivery(body, RECORDED_PAGE, None)

    assert delivery.changes == []
    assert delivery.skipped == ["entry[0].changes[0] (feed): comment 901097836652708_903438993085259 is the Page's own"]


def test_the_accounts_own_instagram_reply_is_skipped() -> None:
    graph = FakeGraph()
    media = graph.add_ig_media("Drop")
    theirs = graph.add_ig_comment(media["id"], "178001", "dana.r", "late again")
    ours = graph.add_ig_comment(media["id"], graph.instagram_account_id, "acme", "sorry!", parent_id=theirs["id"])

    delivery = parse_delivery(json.dumps(graph.webhook_delivery_for(ours)).encode(), None, graph.instagram_account_id)

    assert delivery.changes == [] and "the account's own" in delivery.skipped[0]


def test_an_entry_for_another_page_is_skipped() -> None:
    delivery = parse_delivery(page_delivery(comment(1), page="999"), "1000", None)

    assert delivery.changes == []
    assert delivery.skipped == ["entry[0]: for facebook account 999, not the configured 1000"]


def test_one_bad_change_never_stops_its_neighbours() -> None:
    body = page_delivery(
        comment(1),
        comment(2, message=42),
        comment(3, **{"from": "Person 3"}),
        "not a change at all",
        comment(5, created_time="yesterday"),
        comment(6, item="status"),
        comment(7, verb="like"),
        comment(8),
    )

    delivery = parse_delivery(body, "1000", None)

    assert [change.comment_id for change in delivery.changes] == ["2000_1", "2000_8"]
    assert delivery.skipped == [
        "entry[0].changes[1] (feed): value.message is not text (int)",
        "entry[0].changes[2] (feed): value.from is not an object",
        "entry[0].changes[3] (feed): value is not an object",
        "entry[0].changes[4] (feed): value.created_time is not a time",
        "entry[0].changes[5] (feed): item 'status' is not a comment",
        "entry[0].changes[6] (feed): verb 'like' is not handled",
    ]


def test_malformed_entries_are_skipped_and_the_rest_kept() -> None:
    good = {"id": "1000", "time": 1, "changes": [{"field": "feed", "value": comment(1)}]}
    body = json.dumps(
        {"object": "page", "entry": ["junk", {"id": "1000", "messaging": []}, {"id": "1000", "changes": {}}, good]}
    ).encode()

    delivery = parse_delivery(body, "1000", None)

    assert [change.comment_id for change in delivery.changes] == ["2000_1"]
    assert delivery.skipped == [
        "entry[0]: not an object",
        "entry[1]: messaging events, not comments",
        "entry[2]: no changes list",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"\xff\xfe\x00", "body"),
        (b"[1, 2]", "body"),
        (b'{"object": "user", "entry": []}', "object"),
        (b'{"object": "page"}', "entry"),
        (b'{"object": "instagram", "entry": {}}', "entry"),
    ],
)
def test_an_unusable_body_is_invalid_as_a_whole(body: bytes, field: str) -> None:
    with pytest.raises(InvalidDelivery) as raised:
        parse_delivery(body, None, None)

    assert raised.value.field == field


# -- what is kept ----------------------------------------------------------------------------------------------------


def test_a_reply_joins_its_thread_and_links_as_a_reply() -> None:
    (reply,) = parse_delivery(page_delivery(comment(2, parent_id="2000_1")), "1000", None).changes

    assert isinstance(reply, CommentAdded)
    assert (reply.parent_id, reply.thread_id) == ("2000_1", "2000_1")
    assert reply.url == "https://www.facebook.com/1000/posts/2000/?comment_id=1&reply_comment_id=2"


def test_hostile_text_stays_text() -> None:
    text = "<script>alert(1)</script> &amp; <@U123> *bold* \u202eevil"

    (change,) = parse_delivery(page_delivery(comment(1, message=text)), "1000", None).changes

    assert isinstance(change, CommentAdded) and change.text == text


def test_a_comment_without_from_is_kept_with_no_author() -> None:
    value = comment(1)
    del value["from"]

    (change,) = parse_delivery(page_delivery(value), "1000", None).changes

    assert isinstance(change, CommentAdded)
    assert (change.author_id, change.author_name, change.author_handle) == (None, None, None)


def test_the_fakes_deliveries_round_trip() -> None:
    graph = FakeGraph()
    post = graph.add_post("Open")
    first = graph.add_comment(post["id"], "5550001", "Dana Reyes", "My order never came")
    second = graph.add_comment(post["id"], "5550002", "Eli", "same here", parent_id=first["id"])
    media = graph.add_ig_media("Drop")
    ig = graph.add_ig_comment(media["id"], "178001", "dana.r", "Where is it?")

    fb = parse_delivery(json.dumps(graph.webhook_delivery_for(second)).encode(), graph.page_id, None)
    insta = parse_delivery(json.dumps(graph.webhook_delivery_for(ig)).encode(), None, graph.instagram_account_id)
    mention = parse_delivery(json.dumps(graph.mention_delivery_for(ig)).encode(), None, graph.instagram_account_id)

    (fb_change,) = fb.changes
    assert isinstance(fb_change, CommentAdded)
    assert (fb_change.comment_id, fb_change.post_id, fb_change.thread_id) == (second["id"], post["id"], first["id"])
    assert (fb_change.author_id, fb_change.author_name, fb_change.text) == ("5550002", "Eli", "same here")
    (ig_change,) = insta.changes
    assert isinstance(ig_change, CommentAdded)
    assert (ig_change.comment_id, ig_change.post_id, ig_change.author_handle) == (ig["id"], media["id"], "dana.r")
    assert mention.changes == [MentionToFetch(comment_id=ig["id"], media_id=media["id"], raw={})]


# -- signature and handshake -----------------------------------------------------------------------------------------


def test_signature_over_the_raw_bytes() -> None:
    body = fixture("facebook/webhook-feed-comment-add-v2.11.restfb-anonymised.json")
    header = sign(body, SECRET)
    reencoded = json.dumps(json.loads(body)).encode()

    assert signature_is_valid(SECRET, body, header)
    assert signature_is_valid(SECRET, body, "SHA256=" + header[len("sha256=") :].upper())
    assert not signature_is_valid(SECRET, reencoded, header)  # the same JSON, other bytes
    assert not signature_is_valid("another-app-secret-0123456789abc", body, header)
    assert not signature_is_valid(SECRET, body, None)
    assert not signature_is_valid(SECRET, body, "")
    assert not signature_is_valid(SECRET, body, header[len("sha256=") :])  # no scheme
    assert not signature_is_valid(SECRET, body, "sha1=" + header[len("sha256=") :])
    assert not signature_is_valid("", body, sign(body, ""))  # never with an empty secret


def test_subscription_handshake() -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "meatyhamhock-0123456789"}

    assert verify_subscription(query, "meatyhamhock-0123456789") == "1158201444"
    assert verify_subscription(query, "another-token-0123456789") is None
    assert verify_subscription({**query, "hub.mode": "unsubscribe"}, "meatyhamhock-0123456789") is None
    assert verify_subscription({"hub.challenge": "1"}, "meatyhamhock-0123456789") is None
    assert verify_subscription({**query, "hub.challenge": "<script>x</script>"}, "meatyhamhock-0123456789") is None
    assert verify_subscription({**query, "hub.verify_token": ""}, "") is None
