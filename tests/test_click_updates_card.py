"""A click's own card changes by the time the click is answered: the thread that handled it sends the update, so
a busy worker (or a flood of clicks) cannot keep the person who clicked looking at a stale card. When Slack is slow
the click is still answered in time and the worker updates the card later."""

from __future__ import annotations

from app import Heard
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from tests.conftest import CHANNEL
from tests.support import Ingester, stored_complaint
from tests.test_card_workflow import card_text, the_card

ANA = "U0ANA"


def test_the_card_is_updated_before_the_click_is_answered(
    heard: Heard, customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver
) -> None:
    customer.complain()
    card = the_card(fake_slack)
    heard.delivery.stop()  # no worker thread left: only the click's own thread can update the card

    response = slack.click("Claim", on=card, channel=CHANNEL, user=ANA)

    assert response.status == 200
    updates = [call for call in fake_slack.calls_to("chat.update") if call.args["ts"] == card["ts"]]
    assert len(updates) == 1, "the update was sent before the answer, exactly once"
    assert f"Owner: <@{ANA}>" in card_text(fake_slack.message(CHANNEL, card["ts"]))


def test_a_slow_slack_does_not_hold_the_click_and_the_worker_updates_the_card_later(
    customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver, heard: Heard
) -> None:
    complaint_id = customer.complain().body["complaint_id"]
    card = the_card(fake_slack)
    fake_slack.hang_next("chat.update", seconds=4, apply=False)

    response = slack.click("Claim", on=card, channel=CHANNEL, user=ANA)

    assert response.status == 200
    assert response.elapsed_ms < 2500, "Slack gives up on an answer after 3 s"
    assert stored_complaint(heard.database, complaint_id).owner_id == ANA
    fake_slack.wait_for("chat.update", timeout=15, where=lambda call: call.ok)
    assert f"Owner: <@{ANA}>" in card_text(fake_slack.message(CHANNEL, card["ts"]))
    assert fake_slack.problems == []
