"""What a click or a modal carries back from Slack is untrusted: anyone can forge it. A value Heard cannot read as
one of its own (a number too long for the database, a complaint reference without the revision the card showed)
is answered privately, "This card is out of date", and nothing happens: never an HTTP 500, never an action taken
on a guess."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import FORM, DriverResponse, SlackDriver, block_actions_payload, view_submission_payload
from storage.db import Database
from storage.models import AuditEvent, Complaint
from tests.care_team import CareTeam
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester

ANA, BEN = "U0ANA", "U0BEN"
OUT_OF_DATE = "This card is out of date"
TWENTY_DIGITS = "9" * 20


@pytest.fixture
def people(start_heard: Callable[..., Heard], fake_slack: FakeSlack) -> CareTeam:
    heard = start_heard(HEARD_AGENTS=f"{ANA},{BEN}")
    base = f"http://127.0.0.1:{heard.port}"
    Ingester(f"{base}/ingest", INGEST_SECRET).complain()
    return CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)


def events(database: Database) -> list[str]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def the_complaint(database: Database) -> Complaint:
    with database.unit_of_work() as session:
        found = session.get(Complaint, 1)
        assert found is not None
        return found


def forged_click(people: CareTeam, action_id: str, value: Any, *, button: str = "Claim") -> DriverResponse:
    """A click on the card's `button`, sent with another action id and value, as anyone could forge it."""
    payload = block_actions_payload(people.fake, button, on=people.card(), channel=CHANNEL, user=ANA)
    payload["actions"][0]["action_id"] = action_id
    payload["actions"][0]["value"] = value
    return people.slack.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)


def nothing_happened(people: CareTeam, database: Database) -> None:
    complaint = the_complaint(database)
    assert (complaint.owner_id, complaint.status, complaint.acknowledged_at) == (None, "new", None)
    assert events(database) == ["received"]
    assert people.fake.calls_to("views.open") == []


@pytest.mark.parametrize(
    "value",
    [
        f"{TWENTY_DIGITS}.1",  # too long for a database integer
        f"1.{TWENTY_DIGITS}",
        "1",  # without the revision the card showed
        "01.1",
        "1.1.1",
    ],
)
@pytest.mark.parametrize("action_id", ["claim", "escalate", "moderate_warn", "acknowledge"])
def test_a_card_button_with_a_value_heard_cannot_read_is_answered_out_of_date(
    people: CareTeam, database: Database, action_id: str, value: str
) -> None:
    answer = forged_click(people, action_id, value)

    assert answer.status == 200, answer.body
    people.told(ANA, OUT_OF_DATE)
    nothing_happened(people, database)


@pytest.mark.parametrize(
    "action_id", ["accept_escalation", "approve_escalation", "follow_up_done", "retry_reply", "mark_replied"]
)
@pytest.mark.parametrize("value", [TWENTY_DIGITS, "1.5"])
def test_a_notice_button_with_a_value_heard_cannot_read_is_answered_out_of_date(
    people: CareTeam, database: Database, action_id: str, value: str
) -> None:
    answer = forged_click(people, action_id, value)

    assert answer.status == 200, answer.body
    people.told(ANA, OUT_OF_DATE)
    nothing_happened(people, database)


@pytest.mark.parametrize(
    "value", [f"reassign:{TWENTY_DIGITS}.1", "moderate_warn:1", f"moderate_warn:1.{TWENTY_DIGITS}"]
)
def test_a_more_choice_with_a_value_heard_cannot_read_is_answered_out_of_date(
    people: CareTeam, database: Database, value: str
) -> None:
    payload = block_actions_payload(people.fake, "Warn", on=people.card(), channel=CHANNEL, user=ANA)
    payload["actions"][0]["selected_option"]["value"] = value

    answer = people.slack.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)

    assert answer.status == 200, answer.body
    people.told(ANA, OUT_OF_DATE)
    nothing_happened(people, database)


@pytest.mark.parametrize(
    "value", [f'["open", "", {TWENTY_DIGITS}]', '["open", "", 1e400]', "[" * 5000, f'["open", "", {"9" * 5000}]']
)
def test_a_lookup_more_with_a_value_heard_cannot_read_is_answered_out_of_date(
    people: CareTeam, database: Database, value: str
) -> None:
    answer = forged_click(people, "lookup_more", value)

    assert answer.status == 200, answer.body
    people.told(ANA, OUT_OF_DATE)
    nothing_happened(people, database)


def submit_with_metadata(people: CareTeam, button: str, metadata: str, values: dict[str, Any]) -> DriverResponse:
    view = people.open_form(ANA, button)
    payload = view_submission_payload(people.fake, view, ANA, values)
    payload["view"]["private_metadata"] = metadata
    return people.slack.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)


@pytest.mark.parametrize("metadata", ["1", f"{TWENTY_DIGITS}.1", "1.x", ""])
def test_a_modal_whose_reference_heard_cannot_read_does_nothing_and_says_out_of_date(
    people: CareTeam, database: Database, metadata: str
) -> None:
    answer = submit_with_metadata(people, "Resolve", metadata, {"Resolution note": "Refund sent"})

    assert answer.status == 200, answer.body
    people.told(ANA, OUT_OF_DATE, via="chat.postEphemeral")
    complaint = the_complaint(database)
    assert (complaint.status, complaint.resolved_at) == ("new", None)
    assert events(database) == ["received"]


@pytest.mark.parametrize(
    "form",
    [
        {"c": int(TWENTY_DIGITS), "p": "acknowledge", "t": "x"},
        {"c": 1, "p": "acknowledge", "t": "x", "e": int(TWENTY_DIGITS)},
        {"c": "1.5", "p": "acknowledge", "t": "x"},
        {"c": True, "p": "acknowledge", "t": "x"},
    ],
)
def test_a_reply_modal_whose_reference_heard_cannot_read_does_nothing_and_says_out_of_date(
    people: CareTeam, database: Database, form: dict[str, Any]
) -> None:
    answer = submit_with_metadata(
        people, "Acknowledge", json.dumps(form), {"What to do": "Acknowledge only (internal)"}
    )

    assert answer.status == 200, answer.body
    people.told(ANA, OUT_OF_DATE, via="chat.postEphemeral")
    complaint = the_complaint(database)
    assert complaint.acknowledged_at is None
    assert events(database) == ["received"]


def test_a_button_with_its_revision_still_acts(people: CareTeam, database: Database) -> None:
    people.click(ANA, "Claim")

    people.card_shows("Release")
    assert the_complaint(database).owner_id == ANA
