"""Heard speaks each person's language with the team's translations, end to end: a Finnish manager's digest
arrives in Finnish while the channel's stays in the team's English, a Greek agent's form opens in Greek over the
English card, and every card, in every language, keeps to Block Kit's limits.

What each language says comes from its catalog (`bot/i18n/locales/`); the tests compare with the catalog's own
words (`said_in`), so a translator's rewording does not break them, but a view left in English does."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import Heard
from bot.blocks.card import render_card
from bot.i18n import LANGUAGES, _, set_team_language, speaking, team_language
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from tests.care_team import CareTeam, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.i18n_support import block_kit_limits
from tests.support import Ingester
from tests.test_card_golden import CASES, MADRID

BOSS, ELENI = "U0BOSS", "U0ELENI"


@pytest.fixture(autouse=True)
def team_language_restored() -> Iterator[None]:
    before = team_language()
    yield
    set_team_language(before)


def said_in(language: str, message: str) -> str:
    """`message` as the language's catalog says it (and it must say it in its own words)."""
    with speaking(language):
        translated = _(message)
    assert translated != message, f"the {language} catalog does not translate {message!r}"
    return translated


def everything_in(message: dict[str, Any]) -> str:
    """Every text of a message, its sections' fields too."""
    return json.dumps({"text": message.get("text"), "blocks": message.get("blocks")}, ensure_ascii=False)


def test_a_finnish_managers_digest_arrives_in_finnish_and_the_channels_in_the_teams_english(
    start_heard: Callable[..., Heard], customer: Ingester, fake_slack: FakeSlack
) -> None:
    fake_slack.set_user(BOSS, locale="fi-FI")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=5, second=0, microsecond=0)
    assert customer.complain(text="Refund late", created_at=yesterday.strftime("%Y-%m-%dT%H:%M:%SZ")).status == 202
    passed = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
    start_heard(HEARD_MANAGERS=BOSS, DIGEST_AT=passed, DIGEST_CHANNEL="C0DIGEST")

    fake_slack.wait_for("files.completeUploadExternal", count=2, timeout=20)
    [dm] = [m for m in fake_slack.dms(BOSS) if not m.get("files")]
    [posted] = [m for m in fake_slack.messages("C0DIGEST") if not m.get("files")]
    for heading in ("Time to acknowledge", "Breaches", "Received"):  # the digest's fields
        assert said_in("fi", heading) in everything_in(dm)
        assert heading in everything_in(posted)
    charts = {channel: f for f in fake_slack.files() for channel in f["channels"]}
    assert charts[fake_slack.dm_channel(BOSS)]["alt_txt"] != charts["C0DIGEST"]["alt_txt"]


def test_a_greek_agents_form_opens_in_greek_over_the_teams_english_card(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    fake_slack.set_user(ELENI, locale="el-GR")
    heard = start_heard(HEARD_AGENTS=ELENI)
    base = f"http://127.0.0.1:{heard.port}"
    team = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    assert Ingester(f"{base}/ingest", INGEST_SECRET).complain(text="My refund is three weeks late").status == 202

    card = team.card()
    assert "Schedule follow-up" in visible_text(card)  # the card is shared: the team's language
    view = team.open_form(ELENI, "Schedule follow-up", on=card)
    assert view["title"]["text"] == said_in("el", "Schedule follow-up")
    assert view["submit"]["text"] == said_in("el", "Schedule")
    labels = [block["label"]["text"] for block in view["blocks"] if block.get("type") == "input"]
    assert said_in("el", "Date") in labels


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_card_keeps_to_block_kits_limits_in_every_language(language: str) -> None:
    for state, (subject, now) in CASES.items():
        with speaking(language):
            message = render_card(subject, now, MADRID)
        assert block_kit_limits(message) == [], f"{state} in {language}"
