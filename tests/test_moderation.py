"""Moderation end to end, as a care team lives it: hide (on X where the API allows, else in Heard, and saying so),
flag a threat to Legal, warn an author until Block is suggested, block (recorded, muted on X), keep the evidence as
a file sent to whoever asked, and write up a hard case for the weekly digest. Never delete."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import select

from app import Heard
from bot.blocks.digest import digest_message
from bot.delivery import utcnow
from bot.digest import compute_digest
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import AuditEvent, ModeratedAuthor, WriteUp
from tests.care_team import CareTeam, buttons, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester, stored_complaint
from tests.x_api import BRAND_ID, MARIA, FakeX, ModerationX, page, post

ANA, BEN = "U0ANA", "U0BEN"
LEGAL_USER, LEGAL_CHANNEL = "U0LEGAL01", "C0LEGAL"
POLICY = "https://acme.example/community-policy"
DIRECTORY = f"""
[[department]]
name = "Legal"
handles = "Threats, defamation"
users = ["{LEGAL_USER}"]
channel = "{LEGAL_CHANNEL}"
needs_approval = true
"""
# The access token's prefix is the brand's user id, as X issues them; tweepy mutes in that account's name.
SETTINGS = {
    "HEARD_AGENTS": f"{ANA},{BEN}",
    "X_BEARER_TOKEN": "test-bearer-token",
    "X_USER_ID": BRAND_ID,
    "X_POLL_INTERVAL": "1h",
    "X_CONSUMER_KEY": "test-consumer-key",
    "X_CONSUMER_SECRET": "test-consumer-secret",
    "X_ACCESS_TOKEN": f"{BRAND_ID}-test-access-token",
    "X_ACCESS_TOKEN_SECRET": "test-access-token-secret",
    "COMMUNITY_POLICY_URL": POLICY,
    "STRIKES_BEFORE_BLOCK": "3",
}


@pytest.fixture
def x_api() -> Iterator[tuple[FakeX, ModerationX]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeX(mock), ModerationX(mock)


@pytest.fixture
def start(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, tmp_path: Path
) -> Callable[..., tuple[CareTeam, Ingester, Heard]]:
    directory = tmp_path / "directory.toml"
    directory.write_text(DIRECTORY)

    def start_team(**overrides: str) -> tuple[CareTeam, Ingester, Heard]:
        heard = start_heard(**{**SETTINGS, "HEARD_DIRECTORY": str(directory), **overrides})
        assert heard.listener("x-poll") is not None and heard.listener("x-poll").wait_for_polls(1)
        base = f"http://127.0.0.1:{heard.port}"
        driver = SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack)
        return CareTeam(fake_slack, driver, CHANNEL), Ingester(f"{base}/ingest", INGEST_SECRET), heard

    return start_team


def cards(fake: FakeSlack, count: int) -> list[dict[str, Any]]:
    fake.wait_for(
        "chat.postMessage", count=count, where=lambda call: call.args.get("channel") == CHANNEL, timeout=5 + count
    )
    return [m for m in fake.messages(CHANNEL) if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]


def audit(database: Database, action: str) -> list[AuditEvent]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def thread_shows(people: CareTeam, text: str, card: dict[str, Any], timeout: float = 5.0) -> None:
    people.fake.wait_for(
        "chat.postMessage",
        where=lambda call: call.args.get("thread_ts") == card["ts"] and text in visible_text(call.args),
        timeout=timeout,
    )


# -- hide ----------------------------------------------------------------------------------------------------------


def test_hide_on_x_where_the_brand_started_the_conversation(
    x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    feeds, x_writes = x_api
    reply = post("@Twitter you are all scammers, buy cheap followers at spam.example", MARIA)
    feeds.answer("mentions", page([reply], [MARIA]))
    people, _, _ = start()
    card = cards(fake_slack, 1)[0]
    assert "Hide" in buttons(card) and not any("Delete" in label for label in buttons(card))

    answer = people.fill(ANA, "Hide", {"Reason": "Spam", "Note": "Link to a follower shop"})

    assert answer.status == 200 and answer.field_errors() == {}
    shown = people.card_shows("Hidden on X")
    assert "by <@U0ANA>" in visible_text(shown) and "Spam: Link to a follower shop" in visible_text(shown)
    assert "Hide" not in buttons(shown)
    assert x_writes.hidden == [reply["id"]]
    assert x_writes.authorizations[0].startswith("OAuth ")  # user context, not the app's bearer token
    thread_shows(people, "hid it (Spam, on the source)", card)
    hidden = stored_complaint(database)
    assert (hidden.hidden_by, hidden.hidden_reason, hidden.hidden_on_source) == (ANA, "spam", True)
    [event] = audit(database, "hidden")
    assert event.actor == ANA and event.detail["on_source"] is True
    assert hidden.text == reply["text"]  # the post itself is kept, never deleted
    assert fake_slack.problems == []


def test_x_refuses_to_hide_a_reply_in_a_conversation_the_brand_did_not_start(
    x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    feeds, x_writes = x_api
    mention = post("@Twitter I know where your CEO lives", MARIA)
    x_writes.forbidden.add(mention["id"])
    feeds.answer("mentions", page([mention], [MARIA]))
    people, _, _ = start()
    cards(fake_slack, 1)

    people.fill(ANA, "Hide", {"Reason": "Threat"})

    shown = visible_text(people.card_shows("Hidden in Heard only"))
    assert "X hides replies only in conversations the brand started" in shown
    people.told(ANA, "Hidden in Heard only", via="chat.postEphemeral")
    assert x_writes.hidden == []
    hidden = stored_complaint(database)
    assert hidden.hidden_at is not None and hidden.hidden_on_source is False
    assert audit(database, "hidden")[0].detail["on_source"] is False


def test_a_webhook_post_is_hidden_in_heard_and_the_card_says_so(
    x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    _, x_writes = x_api
    people, customer, _ = start()
    customer.complain(text="You are all liars and thieves")
    cards(fake_slack, 1)

    answer = people.fill(BEN, "Hide", {"Reason": "Defamation"})

    assert answer.field_errors() == {}
    shown = visible_text(people.card_shows("Hidden in Heard only"))
    assert "facebook posts cannot be hidden from Heard" in shown
    assert x_writes.hidden == [] and x_writes.authorizations == []  # nothing asked of X for a webhook source
    assert stored_complaint(database).hidden_on_source is False


def test_hide_needs_a_reason(x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack) -> None:
    people, customer, _ = start()
    customer.complain()
    cards(fake_slack, 1)

    view = people.open_form(ANA, "Hide")
    answer = people.slack.submit_view(view, ANA, {"Note": "no reason given"}, require_inputs=False)

    assert "hide_reason" in answer.field_errors()


# -- threats ---------------------------------------------------------------------------------------------------------


def test_a_threat_flag_reaches_legal_with_the_evidence_and_the_card_mentions_the_police(
    x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer, _ = start()
    customer.complain(
        text="I will come to your shop tomorrow and you will regret it",
        author={"handle": "angry_al", "name": "Al"},
        url="https://facebook.com/acme/posts/42",
    )
    card = cards(fake_slack, 1)[0]

    people.confirm(ANA, "Flag threat")  # from the card's "More…" menu; Heard asks first, as before

    shown = visible_text(people.card_shows("Threat flagged to Legal"))
    assert "Illegal threats are reported to the police." in shown
    assert "Flag threat" not in buttons(people.card())
    for where in (LEGAL_USER, LEGAL_CHANNEL):
        people.fake.wait_for("chat.postMessage", where=lambda call, to=where: call.args.get("channel") == to)
    notice = visible_text(people.dm(LEGAL_USER, "Threat flagged for Legal"))
    assert "you will regret it" in notice  # the text
    assert "@angry_al" in notice  # the author
    assert "https://facebook.com/acme/posts/42" in str(fake_slack.dms(LEGAL_USER)[-1]["blocks"])  # the link
    assert "Posted " in notice  # the time
    assert "Open the card" in notice and "reported to the police" in notice
    [in_channel] = fake_slack.messages(LEGAL_CHANNEL)
    assert "you will regret it" in visible_text(in_channel)
    thread_shows(people, "flagged it as a threat", card)
    [event] = audit(database, "threat flagged")
    assert event.actor == ANA and event.detail["recipients"] == [LEGAL_USER, LEGAL_CHANNEL]

    people.slack.click("Warn", on=people.card(), channel=CHANNEL, user=BEN)  # other moderation still works
    assert len(fake_slack.dms(LEGAL_USER)) == 1  # and Legal is told once
    assert fake_slack.problems == []


# -- strikes and block -----------------------------------------------------------------------------------------------


def test_three_warnings_suggest_block_which_is_recorded_and_mutes_the_author_on_x(
    x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    feeds, x_writes = x_api
    posts = [post(f"@Twitter you idiots, part {n}", MARIA, minutes_ago=10 - n) for n in range(3)]
    feeds.answer("mentions", page(posts, [MARIA]))
    people, _, _ = start()
    first, second, third = cards(fake_slack, 3)

    people.click(ANA, "Warn", on=first)

    draft = people.told(ANA, "1 strike")
    assert POLICY in visible_text(draft.args) and "@maria_lopez" in visible_text(draft.args)
    people.card_shows("⚠ 1 strike", index=0)
    people.card_shows("⚠ 1 strike", index=2)  # every card of that author shows it
    people.click(ANA, "Warn", on=first)  # a double click is not a second strike
    people.told(ANA, "one strike per post")

    people.click(BEN, "Warn", on=fake_slack.message(CHANNEL, second["ts"]))
    people.card_shows("⚠ 2 strikes", index=0)
    assert "Block" not in buttons(people.card_shows("⚠ 2 strikes", index=2))
    people.click(BEN, "Warn", on=fake_slack.message(CHANNEL, third["ts"]))

    suggested = people.card_shows("Block* is suggested", index=0)
    assert "⚠ 3 strikes" in visible_text(suggested) and "Block" in buttons(suggested)
    assert "Block" in buttons(people.card_shows("⚠ 3 strikes", index=1))
    people.confirm(ANA, "Block", on=suggested)

    blocked = people.card_shows("Author blocked", index=0)
    assert "muted on the source" in visible_text(blocked) and "block endpoint is not open" in visible_text(blocked)
    assert "Block" not in buttons(blocked) and "Warn" not in buttons(blocked)
    people.card_shows("Author blocked", index=2)
    assert x_writes.muted == [(BRAND_ID, MARIA.id)]
    with database.unit_of_work() as session:
        author = session.get(ModeratedAuthor, ("x", MARIA.id))
        assert author is not None
        assert (author.strikes, author.blocked_by, author.muted_on_source) == (3, ANA, True)
    assert [e.detail["strike"] for e in audit(database, "author warned")] == [1, 2, 3]
    assert [e.actor for e in audit(database, "author blocked")] == [ANA]
    assert fake_slack.problems == []


def test_block_on_a_webhook_source_is_recorded_in_heard_only(
    x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    _, x_writes = x_api
    people, customer, _ = start(STRIKES_BEFORE_BLOCK="1")
    customer.complain(text="Trash company, trash people")
    cards(fake_slack, 1)

    people.click(ANA, "Warn")
    people.confirm(ANA, "Block", on=people.card_shows("Block* is suggested"))

    shown = visible_text(people.card_shows("Author blocked"))
    assert "recorded in Heard only" in shown and "facebook accounts cannot be blocked from Heard" in shown
    assert x_writes.muted == []


# -- evidence --------------------------------------------------------------------------------------------------------


def test_keep_evidence_sends_the_complete_record_to_whoever_asked(
    x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer, _ = start()
    customer.complain(text="Your driver threatened me", id="fb-evidence-1")
    card = cards(fake_slack, 1)[0]
    people.click(ANA, "Claim")
    people.card_shows("Owner: <@U0ANA>")

    people.click(ANA, "Keep evidence")

    fake_slack.wait_for("files.completeUploadExternal")
    [upload] = fake_slack.files()
    # By DM: it holds the customer's personal data, never the card's public thread (test_personal_data_masking.py).
    assert upload["thread_ts"] is None and upload["channels"] == [fake_slack.dm_channel(ANA)]
    assert upload["name"].startswith("heard-complaint-1-evidence-") and upload["name"].endswith(".json")
    record = json.loads(fake_slack.file(upload["id"])["content"])
    assert record["complaint"]["text"] == "Your driver threatened me"
    assert record["complaint"]["raw"]["id"] == "fb-evidence-1"  # the original payload as the source sent it
    assert [e["action"] for e in record["audit_trail"]] == ["received", "claimed", "evidence kept"]
    assert record["conversation"] == [] and "escalations" in record and "follow_ups" in record
    thread_shows(people, "kept the evidence", card)

    people.click(ANA, "Keep evidence")  # nothing new since: no second file
    people.told(ANA, "already sent is the complete record")
    assert len(fake_slack.files()) == 1
    assert len(audit(database, "evidence kept")) == 1
    assert fake_slack.problems == []


# -- write-ups -------------------------------------------------------------------------------------------------------


def test_a_write_up_is_saved_with_the_complaint_and_listed_in_the_weekly_digest(
    x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer, heard = start()
    customer.complain(text="Public meltdown about a refund", author={"handle": "loud_lou", "name": "Lou"})
    cards(fake_slack, 1)

    answer = people.fill(
        ANA,
        "Write up",
        {"What happened": "Refund took 3 weeks; thread went viral", "What we learned": "Refunds need an owner"},
    )

    assert answer.field_errors() == {}
    shown = people.card_shows("Written up by <@U0ANA>")
    assert "Edit write-up" in buttons(shown)
    with database.unit_of_work() as session:
        [write_up] = session.scalars(select(WriteUp)).all()
        assert (write_up.complaint_id, write_up.what_we_learned) == (1, "Refunds need an owner")
        now = utcnow()
        weekly = compute_digest(
            session,
            day=now.astimezone(heard.settings.timezone).date(),
            tz=heard.settings.timezone,
            now=now,
            ack_window=heard.settings.ack_window,
            days=7,
        )
        daily = compute_digest(
            session,
            day=now.astimezone(heard.settings.timezone).date(),
            tz=heard.settings.timezone,
            now=now,
            ack_window=heard.settings.ack_window,
        )
    assert [item.what_happened for item in weekly.write_ups] == ["Refund took 3 weeks; thread went viral"]
    listed = visible_text(digest_message(weekly, heard.settings.timezone, now).__dict__)
    assert "Written up this week" in listed and "Refunds need an owner" in listed and "@loud_lou" in listed
    assert "Written up this week" not in visible_text(digest_message(daily, heard.settings.timezone, now).__dict__)
    [event] = audit(database, "written up")
    assert event.detail["what_we_learned"] == "Refunds need an owner"

    edited = people.open_form(ANA, "Edit write-up", on=shown)
    assert "Refunds need an owner" in json.dumps(edited["blocks"])  # the modal opens with what was written


def test_a_write_up_needs_both_parts(x_api: tuple[FakeX, ModerationX], start: Callable, fake_slack: FakeSlack) -> None:
    people, customer, _ = start()
    customer.complain()
    cards(fake_slack, 1)

    view = people.open_form(ANA, "Write up")
    answer = people.slack.submit_view(view, ANA, {"What happened": "  ", "What we learned": "x"}, require_inputs=False)

    assert "what_happened" in answer.field_errors()


# -- settings --------------------------------------------------------------------------------------------------------


def test_moderation_settings_are_checked_at_start_up() -> None:
    from bot.config import ConfigError, load_settings

    base = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret-0123456789abcdef0123456789",
        "HEARD_CHANNEL": CHANNEL,
        "INGEST_SECRET": "ingest-0123456789abcdef0123456789",
    }
    settings = load_settings(base, env_file=None)
    assert (settings.strikes_before_block, settings.community_policy_url, settings.x_user_auth) == (3, None, None)
    with pytest.raises(ConfigError) as refused:
        load_settings(
            {**base, "STRIKES_BEFORE_BLOCK": "0", "COMMUNITY_POLICY_URL": "policy", "X_ACCESS_TOKEN": "1-secret"},
            env_file=None,
        )
    problems = "\n".join(refused.value.problems)
    assert "STRIKES_BEFORE_BLOCK" in problems and "COMMUNITY_POLICY_URL" in problems
    assert "X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN_SECRET not set" in problems
    assert "1-secret" not in problems  # secrets are never echoed
