"""Two people, or two copies of Heard, acting on one complaint at the same moment: one wins, nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select

from app import Heard
from bot.lifecycle import Action
from bot.platforms.base import NewComplaint
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import DriverResponse, SlackDriver
from storage.db import Database
from storage.models import AuditEvent, Complaint, ComplaintPost
from tests.care_team import ACKNOWLEDGE_ONLY, open_reply_modal
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester
from tests.test_card_workflow import card_text, the_card

PEOPLE = ["U0ANA", "U0BEN", "U0CAT", "U0DAN"]


def click_together(drivers: list[SlackDriver], button: str, card: dict, users: list[str]) -> list[DriverResponse]:
    """Every user clicks at the same instant, each through their own connection."""
    start = threading.Barrier(len(users))
    answers: list[DriverResponse | None] = [None] * len(users)

    def click(index: int) -> None:
        start.wait()
        driver = drivers[index % len(drivers)]
        answers[index] = driver.click(button, on=card, channel=CHANNEL, user=users[index])

    threads = [threading.Thread(target=click, args=(index,)) for index in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return [answer for answer in answers if answer is not None]


def acknowledge_together(drivers: list[SlackDriver], fake: FakeSlack, card: dict, users: list[str]) -> None:
    """Each user opens the reply modal from the card (through a different copy), then all submit "Acknowledge
    only" at the same instant."""
    views = [
        open_reply_modal(drivers[index % len(drivers)], fake, user, card, CHANNEL) for index, user in enumerate(users)
    ]
    start = threading.Barrier(len(users))

    def submit(index: int) -> None:
        start.wait()
        drivers[index % len(drivers)].submit_view(views[index], users[index], {"What to do": ACKNOWLEDGE_ONLY})

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)


def test_simultaneous_claims_have_one_winner_and_the_others_are_told(
    customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver, database: Database
) -> None:
    complaint_id = customer.complain().body["complaint_id"]
    card = the_card(fake_slack)

    answers = click_together([slack], "Claim", card, PEOPLE)

    assert [answer.status for answer in answers] == [200] * len(PEOPLE)
    refusals = fake_slack.wait_for("response_url", count=len(PEOPLE) - 1)
    with database.unit_of_work() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        owner = complaint.owner_id
        claims = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "claimed")).all()
    assert owner in PEOPLE and claims == [owner]
    assert {call.args["text"] for call in refusals} == {f"This complaint is already claimed by <@{owner}>."}
    assert {call.args["url"] for call in refusals}.isdisjoint({None})
    fake_slack.wait_for("chat.update", where=lambda call: f"Owner: <@{owner}>" in str(call.args.get("blocks")))
    assert f"Owner: <@{owner}>" in card_text(fake_slack.message(CHANNEL, card["ts"]))


def test_two_copies_of_heard_share_the_work_on_one_database(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    first, second = start_heard(), start_heard()
    drivers = [
        SlackDriver(f"http://127.0.0.1:{heard.port}/slack/events", SIGNING_SECRET, fake_slack)
        for heard in (first, second)
    ]
    complaint_ids = [
        Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET).complain().body["complaint_id"]
        for heard in (first, second, first, second)
    ]
    fake_slack.wait_for("chat.postMessage", count=4)
    cards = fake_slack.messages(CHANNEL)

    for card in cards:
        acknowledge_together(drivers, fake_slack, card, PEOPLE[:2])

    fake_slack.wait_for("chat.update", count=4)
    assert len(fake_slack.messages(CHANNEL)) == 4  # each card posted once, by whichever copy sent it
    card_posts = [call for call in fake_slack.calls_to("chat.postMessage") if not call.args.get("thread_ts")]
    assert len(card_posts) == 4
    with database.unit_of_work() as session:
        acknowledged = session.scalars(select(AuditEvent.complaint_id).where(AuditEvent.action == "acknowledged"))
        assert sorted(acknowledged) == sorted(complaint_ids)


def test_a_comment_and_its_redelivery_filed_at_the_same_moment_make_one_complaint(heard: Heard) -> None:
    """Meta redelivers, and the backfill re-reads: the same top-level comment filed by two requests at once must
    never "join" the complaint it is itself (its conversation is its own id)."""
    for number in range(60):
        post = NewComplaint(
            source="facebook",
            platform="facebook",
            external_id=f"1_{number}",
            author_handle="Dana Reyes",
            author_id="555",
            text="My order never came",
            posted_at=datetime.now(UTC),
            conversation_id=f"1_{number}",
        )
        together = threading.Barrier(2)

        def file_it(post: NewComplaint = post, together: threading.Barrier = together) -> None:
            together.wait()
            heard.services.intake.ingest_many([post])

        threads = [threading.Thread(target=file_it) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    with heard.database.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 60
        assert session.scalar(select(func.count()).select_from(ComplaintPost)) == 0
        joined = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == Action.JOIN.value)
        )
        assert joined == 0
