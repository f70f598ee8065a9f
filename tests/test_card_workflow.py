"""A complaint arrives over HTTP, its card appears in Slack, and signed clicks change the database and the card."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import AuditEvent
from tests.care_team import ACKNOWLEDGE_ONLY, acknowledge_only, open_reply_modal
from tests.conftest import CHANNEL
from tests.support import Ingester, stored_complaint

ANA = "U0ANA"
BEN = "U0BEN"


def button_texts(message: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    ]


def card_text(message: dict[str, Any]) -> str:
    parts = []
    for block in message["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(element.get("text", "") for element in block.get("elements", []) if block["type"] == "context")
    return "\n".join(parts)


def the_card(fake_slack: FakeSlack) -> dict[str, Any]:
    fake_slack.wait_for("chat.postMessage")
    (card,) = fake_slack.messages(CHANNEL)
    return card


def audit_trail(database: Database, complaint_id: int) -> list[tuple[str, str]]:
    with database.unit_of_work() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.complaint_id == complaint_id).order_by(AuditEvent.id)
        ).all()
        return [(event.action, event.actor) for event in events]


def test_a_complaint_becomes_a_card_with_both_buttons(customer: Ingester, fake_slack: FakeSlack) -> None:
    answer = customer.complain(
        text="Still waiting for my refund, 3 weeks now", author={"handle": "maria_l", "name": "Maria López"}
    )

    assert answer.status == 202
    assert answer.body == {"complaint_id": 1, "duplicate": False}
    (post,) = fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == CHANNEL
    card = the_card(fake_slack)
    assert button_texts(card)[:2] == ["Acknowledge", "Claim"]
    shown = card_text(card)
    assert "Maria López" in shown and "@maria_l" in shown
    assert "Still waiting for my refund, 3 weeks now" in shown
    assert "https://facebook.com/acme/posts/1" in shown
    assert "Acknowledge by" in shown and "left" in shown
    assert "Unclaimed" in shown
    assert "Complaint #1 from @maria_l" in card["text"]
    assert fake_slack.problems == []


def test_claim_makes_the_clicker_the_owner(
    customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver, database: Database
) -> None:
    complaint_id = customer.complain().body["complaint_id"]
    card = the_card(fake_slack)
    received = stored_complaint(database, complaint_id)

    response = slack.click("Claim", on=card, channel=CHANNEL, user=ANA)

    assert response.status == 200
    assert response.elapsed_ms < 1000
    (update,) = fake_slack.wait_for("chat.update")
    assert update.args["ts"] == card["ts"]
    assert f"Owner: <@{ANA}>" in card_text(fake_slack.message(CHANNEL, card["ts"]))
    complaint = stored_complaint(database, complaint_id)
    assert complaint.owner_id == ANA and complaint.claimed_at is not None
    assert complaint.raw is not None and complaint.raw == received.raw  # the post as received, untouched
    assert complaint.revision == received.revision + 1
    assert fake_slack.problems == []


def test_a_second_claim_is_told_privately_who_owns_it(
    customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver, database: Database
) -> None:
    complaint_id = customer.complain().body["complaint_id"]
    card = the_card(fake_slack)
    slack.click("Claim", on=card, channel=CHANNEL, user=ANA)
    fake_slack.wait_for("chat.update")

    # Ben still sees the card as it was before Ana's claim reached his screen.
    slack.click("Claim", on=card, channel=CHANNEL, user=BEN)

    (refusal,) = fake_slack.wait_for("response_url")
    assert refusal.args.get("response_type", "ephemeral") == "ephemeral"
    assert f"already claimed by <@{ANA}>" in refusal.args["text"]
    assert stored_complaint(database, complaint_id).owner_id == ANA
    assert audit_trail(database, complaint_id) == [("received", "facebook"), ("claimed", ANA)]


def test_acknowledge_records_who_and_when_and_the_card_says_so(
    customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver, database: Database
) -> None:
    complaint_id = customer.complain().body["complaint_id"]
    card = the_card(fake_slack)

    acknowledge_only(slack, fake_slack, BEN, card, CHANNEL)  # "Acknowledge" opens the reply modal

    fake_slack.wait_for("chat.update")
    updated = fake_slack.message(CHANNEL, card["ts"])
    assert f"Acknowledged by <@{BEN}>" in card_text(updated)
    assert "Acknowledge" not in button_texts(updated) and "Claim" in button_texts(updated)
    complaint = stored_complaint(database, complaint_id)
    assert complaint.acknowledged_by == BEN and complaint.acknowledged_at is not None
    assert complaint.status == "acknowledged"

    slack.click("Claim", on=updated, channel=CHANNEL, user=ANA)
    fake_slack.wait_for("chat.update", count=2)
    assert audit_trail(database, complaint_id) == [
        ("received", "facebook"),
        ("acknowledged", BEN),
        ("claimed", ANA),
    ]


def test_double_click_is_harmless(
    customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver, database: Database
) -> None:
    complaint_id = customer.complain().body["complaint_id"]
    card = the_card(fake_slack)

    # A double click opens the reply modal twice; submitting both acknowledges once.
    first = open_reply_modal(slack, fake_slack, ANA, card, CHANNEL)
    second = open_reply_modal(slack, fake_slack, ANA, card, CHANNEL)
    for view in (first, second):
        slack.submit_view(view, ANA, {"What to do": ACKNOWLEDGE_ONLY})
    fake_slack.wait_for("chat.update")
    slack.click("Claim", on=card, channel=CHANNEL, user=ANA)
    slack.click("Claim", on=card, channel=CHANNEL, user=ANA)
    fake_slack.wait_for("chat.update", count=2)

    assert audit_trail(database, complaint_id) == [
        ("received", "facebook"),
        ("acknowledged", ANA),
        ("claimed", ANA),
    ]
    assert fake_slack.calls_to("response_url") == []
