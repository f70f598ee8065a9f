"""Complaint text comes from strangers: it must never ping anyone, break a card, or exceed Block Kit limits."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.blocks import as_dicts
from bot.blocks.lookups import complaint_entry
from bot.blocks.messages import joined_post_message
from bot.blocks.text import Glance, at_a_glance, graphemes, plain_chunks, safe_mrkdwn, utf16_length
from bot.services.lookups import ComplaintLine
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.models import Complaint, ComplaintPost
from tests.conftest import CHANNEL
from tests.support import Ingester
from tests.test_card_workflow import card_text, the_card

RTL_OVERRIDE = "\u202e"
RTL_MARK = "\u200f"


def test_mentions_links_emoji_and_rtl_marks_arrive_escaped_and_within_limits(
    customer: Ingester, fake_slack: FakeSlack
) -> None:
    hostile = (
        "<!channel> <!here> <@U123> <http://evil.example|click me> & more "
        + RTL_OVERRIDE
        + "moc.live"
        + RTL_MARK
        + "😡" * 5000
    )
    answer = customer.complain(text=hostile, author={"handle": "<!channel>", "name": "*<@U0BOSS>*"})

    assert answer.status == 202
    card = the_card(fake_slack)
    # The customer's words are plain_text: shown as typed, never read as mentions or links.
    [words] = words_sections(card)
    assert words["text"]["text"].startswith("<!channel> <!here> <@U123> <http://evil.example|click me> & more")
    # Everything Slack reads as mrkdwn (the author's name and handle, the fallback text) is escaped.
    markup = "\n".join(
        [card["text"]]
        + [b["text"]["text"] for b in card["blocks"] if b["type"] == "section" and b["text"]["type"] == "mrkdwn"]
        + [e.get("text", "") for b in card["blocks"] if b["type"] == "context" for e in b["elements"]]
    )
    assert "<!channel>" not in markup and "<!here>" not in markup and "<@U123>" not in markup
    assert "<@U0BOSS>" not in markup and "<http://evil.example" not in markup
    assert "&lt;!channel&gt;" in markup and "&lt;@U0BOSS&gt;" in markup
    assert RTL_OVERRIDE not in card_text(card) + card["text"]
    for block in card["blocks"]:
        if block["type"] == "section":
            assert utf16_length(block["text"]["text"]) <= 3000
    assert "😡" in words["text"]["text"] and words["text"]["text"].endswith("…")
    assert fake_slack.problems == []


def test_cutting_never_splits_an_entity_or_an_emoji_sequence() -> None:
    family = "👩\u200d👩\u200d👧"
    for limit in range(3, 40):
        cut = safe_mrkdwn("a&b" * 4 + family * 5 + "🇪🇸" * 5, limit)
        assert utf16_length(cut) <= limit
        body = cut.removesuffix("…")
        assert not body.endswith(("&", "&a", "&am", "&amp", "\u200d"))
        assert not (body and unicodedata.category(body[-1]) == "Cs")
        assert body.count("🇪") == body.count("🇸")  # never half a flag
        assert body.count("\u200d") % 2 == 0  # families are kept or dropped whole


def test_short_text_is_only_escaped() -> None:
    assert safe_mrkdwn("a < b & c > d", 100) == "a &lt; b &amp; c &gt; d"


# -- the customer's words, as they wrote them, at a glance --------------------------------------------------------


def words_sections(message: dict) -> list[dict]:
    """The sections carrying a customer's words: plain_text, so Slack reads no markup in them."""
    return [b for b in message["blocks"] if b["type"] == "section" and b["text"]["type"] == "plain_text"]


def test_formatting_typed_by_a_stranger_stays_text_on_the_card(customer: Ingester, fake_slack: FakeSlack) -> None:
    words = "*bold* and _italic_ ~struck~ `code` > quoted <!here> & :fire:"
    customer.complain(text=words, author={"handle": "maria_l", "name": "Maria López"})

    card = the_card(fake_slack)

    [section] = words_sections(card)
    assert section["text"]["text"] == words and section["text"].get("emoji") is False
    markup = [b["text"]["text"] for b in card["blocks"] if b["type"] == "section" and b["text"]["type"] == "mrkdwn"]
    assert not any("bold" in text or "italic" in text for text in markup)
    assert fake_slack.problems == []


def test_a_long_post_is_cut_to_a_glance_and_the_whole_of_it_is_one_command_away(
    customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver
) -> None:
    emoji = "😡" * 3000
    complaint_id = customer.complain(text=emoji).body["complaint_id"]
    card = the_card(fake_slack)

    [section] = words_sections(card)
    shown = section["text"]["text"]
    assert shown.endswith("…") and set(shown.removesuffix("…")) == {"😡"}
    assert len(shown) <= 400  # an emoji is as wide as two letters: at most 350 of them, not 3,000
    assert f"/complaints {complaint_id}" in card_text(card)

    answer = slack.command("/complaints", str(complaint_id), user="U0ANA", channel=CHANNEL)
    assert answer.status == 200 and answer.outcome == "ephemeral"
    record = fake_slack.ephemerals(CHANNEL, "U0ANA")[-1]
    assert "".join(s["text"]["text"] for s in words_sections(record)) == emoji
    assert all(utf16_length(s["text"]["text"]) <= 3000 for s in words_sections(record))
    assert fake_slack.problems == []


def test_many_short_lines_are_cut_to_twelve(customer: Ingester, fake_slack: FakeSlack) -> None:
    customer.complain(text="\n".join(f"line {n}" for n in range(1, 41)))

    [section] = words_sections(the_card(fake_slack))

    assert section["text"]["text"].splitlines() == [f"line {n}" for n in range(1, 12)] + ["line 12…"]


def test_a_glance_never_splits_what_a_reader_sees_as_one_character() -> None:
    family = "👩\u200d👩\u200d👧"
    flags = "🇪🇸" * 400
    zalgo = "e" + "\u0301" * 50
    for text in (family * 800, flags, zalgo * 200, "a" * 699 + family * 3):
        shown = at_a_glance(text)
        assert shown.cut and shown.text.endswith("…")
        body = shown.text.removesuffix("…")
        assert text.startswith(body) and graphemes(body) == graphemes(text)[: len(graphemes(body))]
        assert utf16_length(shown.text) <= 3000
    assert at_a_glance("short *text*") == Glance("short *text*", False)
    assert at_a_glance("x" * 700) == Glance("x" * 700, False)
    assert at_a_glance("x" * 701).text == "x" * 699 + "…"
    assert at_a_glance("\u202eevil").text == "evil"  # bidi overrides are dropped, as everywhere


def test_the_whole_text_is_split_into_sections_at_word_boundaries() -> None:
    text = ("refund " * 1000).strip()
    parts = plain_chunks(text, 3000)
    assert "".join(parts) == text and all(utf16_length(part) <= 3000 for part in parts)
    assert all(part.endswith(" ") for part in parts[:-1])
    assert plain_chunks("👩\u200d👩\u200d👧" * 1000, 3000)[0].endswith("👧")


def test_a_later_post_in_the_thread_follows_the_same_rule() -> None:
    posted = datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    complaint = Complaint(id=42, author_handle="maria_l", owner_id="U0ANA", text="first")
    angry = "*still* _waiting_ " + "😡" * 3000
    long_post = ComplaintPost(id=1, complaint_id=42, text=angry, url=None, posted_at=posted)

    message = vars(joined_post_message(complaint, long_post, posted, ZoneInfo("UTC")))

    [words] = words_sections(message)
    assert words["text"]["text"].startswith("*still* _waiting_ 😡") and words["text"]["text"].endswith("…")
    assert len(words["text"]["text"]) <= 400
    assert "/complaints 42" in str(message["blocks"])
    short = ComplaintPost(id=2, complaint_id=42, text="*refund*", url=None, posted_at=posted)
    [words] = words_sections(vars(joined_post_message(complaint, short, posted, ZoneInfo("UTC"))))
    assert words["text"]["text"] == "*refund*"


def test_a_list_shows_each_customers_words_as_plain_text_at_a_glance() -> None:
    posted = datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    line = ComplaintLine(
        complaint_id=7,
        source="facebook",
        author_handle="maria_l",
        author_name=None,
        excerpt="*bold*\n\n" + "word " * 200,
        status="new",
        priority="normal",
        owner_id=None,
        posted_at=posted,
        acknowledged_at=None,
        ack_deadline=posted,
        resolve_deadline=posted,
        resolved_at=None,
        permalink=None,
    )

    head, words = as_dicts(complaint_entry(line, posted, ZoneInfo("UTC")))

    assert head["text"]["text"].startswith("*#7*") and "bold" not in head["text"]["text"]
    assert words["text"]["type"] == "plain_text" and words["text"]["text"].startswith("*bold* word word")
    assert "\n" not in words["text"]["text"] and len(words["text"]["text"]) <= 280
