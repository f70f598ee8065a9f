"""The card reads at a glance: five primary buttons, and everything else under one "More…" menu.

A care team uses it as they would in Slack: they see Acknowledge, Claim, Escalate, Schedule follow-up and Resolve;
they open "More…" and choose Reassign or Hide, which open the same forms the buttons did; Flag threat and Block ask
first, as their buttons' confirm dialogs did. A choice somebody forged is answered privately, never with an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import MAX_MESSAGE_BLOCKS, FakeSlack
from sandbox.slack_driver import FORM, SlackDriver, block_actions_payload
from storage.db import Database
from storage.models import AuditEvent
from tests.care_team import CareTeam, menus, shown_buttons, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester, stored_complaint

ANA, BEN = "U0ANA", "U0BEN"
LEGAL = "U0LEGAL01"
DIRECTORY = f"""
[[department]]
name = "Legal"
handles = "Threats, defamation"
users = ["{LEGAL}"]
needs_approval = true
"""
PRIMARY = ["Acknowledge", "Claim", "Escalate", "Schedule follow-up", "Resolve"]
MORE = ["Reassign", "Take it private", "Hide", "Flag threat", "Warn", "Keep evidence", "Write up"]


@pytest.fixture
def team(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, tmp_path: Path
) -> Callable[..., tuple[CareTeam, Ingester]]:
    directory = tmp_path / "directory.toml"
    directory.write_text(DIRECTORY)

    def start(**settings: str) -> tuple[CareTeam, Ingester]:
        heard = start_heard(HEARD_AGENTS=f"{ANA},{BEN}", HEARD_DIRECTORY=str(directory), **settings)
        base = f"http://127.0.0.1:{heard.port}"
        people = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
        return people, Ingester(f"{base}/ingest", INGEST_SECRET)

    return start


def events(database: Database) -> list[str]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def opened(fake: FakeSlack, user: str, count: int) -> dict[str, Any]:
    """The modal Heard opened for `user`, once it has opened `count` in all."""
    fake.wait_for("views.open", count=count)
    return fake.open_views(user)[-1]


# -- what the card shows ---------------------------------------------------------------------------------------------


def test_the_card_shows_five_primary_buttons_and_more_for_the_rest(team: Callable, fake_slack: FakeSlack) -> None:
    people, customer = team()

    customer.complain(text="Three weeks waiting for my refund")

    card = people.card()
    assert shown_buttons(card) == PRIMARY
    assert menus(card) == {"More…": MORE}
    assert [block["type"] for block in card["blocks"]].count("actions") == 1  # one row
    assert len(card["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert fake_slack.problems == []  # the fake Slack validated the select as Slack would


def test_personal_data_keeps_take_it_private_a_suggested_button(team: Callable, fake_slack: FakeSlack) -> None:
    people, customer = team()

    customer.complain(text="Still no refund. Call me on +34 612 345 678 or write to maria.lopez@example.com")

    card = people.card()
    assert shown_buttons(card) == ["Take it private", *PRIMARY]
    actions = next(block for block in card["blocks"] if block["type"] == "actions")
    assert actions["elements"][0].get("style") == "primary"  # the suggested step, first
    assert "Take it private" not in menus(card)["More…"]  # shown once
    assert fake_slack.problems == []


def test_a_resolved_card_offers_reopen_and_follow_up_with_moderation_under_more(
    team: Callable, fake_slack: FakeSlack
) -> None:
    people, customer = team()
    customer.complain()
    people.fill(ANA, "Resolve", {})

    card = people.card_shows("Resolved")

    assert shown_buttons(card)[0] == "Reopen" and "Schedule follow-up" in shown_buttons(card)
    assert menus(card) == {"More…": ["Hide", "Flag threat", "Warn", "Keep evidence", "Write up"]}


# -- choosing from "More…" ---------------------------------------------------------------------------------------------


def test_choosing_reassign_opens_the_reassign_form_and_reassigns(
    team: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer = team()
    customer.complain()

    chosen = people.slack.click("Reassign", on=people.card(), channel=CHANNEL, user=ANA)

    assert chosen.status == 200
    action = chosen.payload["actions"][0]  # what Slack sends for a select
    assert action["type"] == "static_select" and action["selected_option"]["text"]["text"] == "Reassign"
    view = opened(fake_slack, ANA, 1)
    assert view["callback_id"] == "reassign_view" and view["title"]["text"] == "Reassign complaint"
    answer = people.slack.submit_view(view, ANA, {"New owner": BEN})
    assert answer.field_errors() == {}
    people.card_shows(f"Owner: <@{BEN}>")
    assert stored_complaint(database).owner_id == BEN
    assert fake_slack.problems == []


def test_choosing_hide_opens_the_hide_form_and_the_card_says_so(
    team: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer = team()
    customer.complain(text="Buy cheap followers at spam.example")

    view = people.open_form(ANA, "Hide")

    assert view["callback_id"] == "hide_view" and view["title"]["text"] == "Hide complaint"
    people.slack.submit_view(view, ANA, {"Reason": "Spam"})
    card = people.card_shows("Hidden in Heard only")
    assert "Hide" not in menus(card)["More…"]
    assert stored_complaint(database).hidden_reason == "spam"


def test_warn_acts_at_once_from_the_menu(team: Callable, fake_slack: FakeSlack, database: Database) -> None:
    people, customer = team()
    customer.complain(text="You are all idiots")

    people.click(ANA, "Warn")

    assert "⚠ 1 strike" in visible_text(people.card_shows("⚠ 1 strike"))
    assert fake_slack.calls_to("views.open") == []
    [event] = [e for e in events(database) if e != "received"]
    assert event == "author warned"


def test_flag_threat_asks_first_and_nothing_happens_on_cancel(
    team: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer = team()
    customer.complain(text="I know where your shop is and you will regret it")

    question = people.open_form(ANA, "Flag threat")

    assert question["title"]["text"] == "Flag as a threat?" and question["submit"]["text"] == "Notify Legal"
    assert "Legal gets the post, its author and a link to this card" in visible_text(question)
    fake_slack.close_view(question["id"])  # Cancel
    assert stored_complaint(database).threat_flagged_at is None and fake_slack.dms(LEGAL) == []

    people.confirm(ANA, "Flag threat")

    people.card_shows("Threat flagged to Legal")
    people.dm(LEGAL, "Threat flagged for Legal")
    assert stored_complaint(database).threat_flagged_by == ANA


def test_block_asks_first_then_blocks(team: Callable, fake_slack: FakeSlack, database: Database) -> None:
    people, customer = team(STRIKES_BEFORE_BLOCK="1")
    customer.complain(text="Trash company, trash people")
    people.click(ANA, "Warn")
    suggested = people.card_shows("Block* is suggested")

    question = people.open_form(ANA, "Block", on=suggested)

    assert question["title"]["text"] == "Block this author?" and question["submit"]["text"] == "Block"
    assert "Author blocked" not in visible_text(people.card())
    people.slack.submit_view(question, ANA)
    people.card_shows("Author blocked")
    assert "author blocked" in events(database)


def test_someone_outside_the_care_team_is_refused_from_the_menu_too(
    team: Callable, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer = team()
    customer.complain()

    people.click("U0EVE", "Reassign")
    people.click("U0EVE", "Flag threat")

    people.told("U0EVE", "only the care team")
    fake_slack.wait_for("response_url", count=2)
    assert fake_slack.calls_to("views.open") == []
    assert events(database) == ["received"]


# -- forged choices --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "",
        None,
        "moderate_delete:1.1",  # an action Heard does not offer
        "acknowledge:1.1",  # a primary button's action is not a menu choice
        "reassign:1",  # a reference without its revision
        "reassign:1.",
        "reassign:01.1",
        "reassign:-1.1",
        "reassign: 1.1",
        "reassign:1.1.1",
        "reassign:1.1\n",
        "reassign:" + "9" * 40 + ".1",
        {"nested": "object"},
    ],
)
def test_a_forged_choice_is_answered_privately(
    team: Callable, fake_slack: FakeSlack, database: Database, value: Any
) -> None:
    people, customer = team()
    customer.complain()
    payload = block_actions_payload(fake_slack, "Reassign", on=people.card(), channel=CHANNEL, user=ANA)
    payload["actions"][0]["selected_option"]["value"] = value

    answer = people.slack.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)

    assert answer.status == 200
    people.told(ANA, "Heard could not read that choice")
    assert fake_slack.calls_to("views.open") == []
    assert events(database) == ["received"]


def test_a_choice_without_an_option_is_answered_privately(team: Callable, fake_slack: FakeSlack) -> None:
    people, customer = team()
    customer.complain()
    payload = block_actions_payload(fake_slack, "Hide", on=people.card(), channel=CHANNEL, user=ANA)
    del payload["actions"][0]["selected_option"]

    answer = people.slack.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)

    assert answer.status == 200
    people.told(ANA, "Heard could not read that choice")


def test_a_well_formed_choice_for_a_complaint_that_does_not_exist(team: Callable, fake_slack: FakeSlack) -> None:
    people, customer = team()
    customer.complain()
    payload = block_actions_payload(fake_slack, "Flag threat", on=people.card(), channel=CHANNEL, user=ANA)
    payload["actions"][0]["selected_option"]["value"] = "moderate_flag_threat:999.1"

    answer = people.slack.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)

    assert answer.status == 200
    people.told(ANA, "no longer exists")
    assert fake_slack.calls_to("views.open") == []
