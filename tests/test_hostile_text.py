"""Complaint text comes from strangers: it must never ping anyone, break a card, or exceed Block Kit limits."""

from __future__ import annotations

import unicodedata

from bot.blocks.text import safe_mrkdwn, utf16_length
from sandbox.fake_slack import FakeSlack
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
    shown = card_text(card) + card["text"]
    assert "<!channel>" not in shown and "<!here>" not in shown and "<@U123>" not in shown
    assert "<@U0BOSS>" not in shown and "<http://evil.example" not in shown
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;http://evil.example|click me&gt; &amp; more" in shown
    assert RTL_OVERRIDE not in shown
    for block in card["blocks"]:
        if block["type"] == "section":
            assert utf16_length(block["text"]["text"]) <= 3000
    assert "😡" in shown and shown.count("…") >= 1
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
