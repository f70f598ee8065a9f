"""The whole card workflow as a care team lives it: escalate (with and without a manager's approval), follow up,
resolve and reopen, release and reassign — with permissions, stale cards, bad input and the thread log."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import AuditEvent, Escalation, FollowUp
from tests.care_team import CareTeam, buttons, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET, heard_environment
from tests.support import Ingester, stored_complaint

ANA, BEN = "U0ANA", "U0BEN"  # agents
BOSS = "U0BOSS"  # manager
LEGAL = "U0LEGAL"  # Legal's contact
EVE = "U0EVE"  # not on the care team
CARE_GROUP, CARE_MEMBER = "S0CARE", "U0CARL"
PRODUCT_CHANNEL = "C0PRODUCT"
ROOT = Path(__file__).resolve().parent.parent

DIRECTORY = f"""
[[department]]
name = "Legal"
handles = "Threats of legal action"
keywords = ["lawyer", "sue"]
users = ["{LEGAL}"]
needs_approval = true

[[department]]
name = "Product"
handles = "Bugs and outages"
channel = "{PRODUCT_CHANNEL}"

[[department]]
name = "Customer service"
handles = "Orders and refunds"
user_groups = ["{CARE_GROUP}"]
"""


@pytest.fixture
def directory_file(tmp_path: Path) -> Path:
    path = tmp_path / "directory.toml"
    path.write_text(DIRECTORY)
    return path


@pytest.fixture
def team_settings(directory_file: Path) -> dict[str, str]:
    return {
        "HEARD_DIRECTORY": str(directory_file),
        "HEARD_AGENTS": f"{ANA},{BEN},{CARE_GROUP}",
        "HEARD_MANAGERS": BOSS,
        "FOLLOW_UP_AFTER": "2s",
    }


@pytest.fixture
def team(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, team_settings: dict[str, str]
) -> tuple[CareTeam, Ingester, Heard]:
    fake_slack.set_user_group(CARE_GROUP, [CARE_MEMBER])
    heard = start_heard(**team_settings)
    base = f"http://127.0.0.1:{heard.port}"
    care_team = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    return care_team, Ingester(f"{base}/ingest", INGEST_SECRET), heard


def events(database: Database) -> list[tuple[str, str]]:
    with database.unit_of_work() as session:
        return [(e.action, e.actor) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# -- escalation ------------------------------------------------------------------------------------------------------


def test_escalating_to_a_department_that_needs_no_approval(
    team: tuple, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer, _ = team
    customer.complain(text="The app crashes every time I pay")

    answer = people.fill(ANA, "Escalate", {"Department": "Product", "Reason": "Crash at checkout", "Severity": "High"})

    assert answer.status == 200 and answer.field_errors() == {}
    card = people.card_shows("Escalated to *Product* by <@U0ANA> — Crash at checkout")
    fake_slack.wait_for("chat.postMessage", where=lambda call: call.args.get("channel") == PRODUCT_CHANNEL)
    (notice,) = fake_slack.messages(PRODUCT_CHANNEL)
    assert "High* escalation to *Product*" in visible_text(notice)
    assert "The app crashes every time I pay" in visible_text(notice)
    assert "Open the card" in visible_text(notice)  # links back with chat.getPermalink
    assert buttons(notice) == ["Accept"]

    people.click(EVE, "Accept", on=notice, channel=PRODUCT_CHANNEL)
    people.told(EVE, "Only the contacts of Product or a manager can accept")
    people.click(BEN, "Accept", on=notice, channel=PRODUCT_CHANNEL)

    people.card_shows("accepted by <@U0BEN>")
    fake_slack.wait_for("chat.update", where=lambda call: call.args.get("channel") == PRODUCT_CHANNEL)
    assert buttons(fake_slack.message(PRODUCT_CHANNEL, notice["ts"])) == []
    assert "Accepted by <@U0BEN>" in visible_text(fake_slack.message(PRODUCT_CHANNEL, notice["ts"]))
    assert ("escalated", ANA) in events(database) and ("escalation accepted", BEN) in events(database)
    assert buttons(card)[:2] == ["Acknowledge", "Claim"]
    assert fake_slack.problems == []


def test_escalation_to_legal_waits_for_a_manager_then_legal_accepts_from_its_dm(
    team: tuple, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer, _ = team
    customer.complain(text="My lawyer will hear about this")

    people.fill(ANA, "Escalate", {"Department": "Legal (needs approval)", "Reason": "Legal threat"})

    people.card_shows("waiting for a manager's approval")
    request = people.dm(BOSS, "needs a manager's approval")
    assert buttons(request) == ["Approve", "Decline"]
    assert fake_slack.dms(LEGAL) == []  # nobody in Legal is bothered before approval

    people.click(BOSS, "Approve", on=request, channel=request["channel"])

    notice = people.dm(LEGAL, "escalation to *Legal*")
    assert buttons(notice) == ["Accept"]
    people.card_shows("Escalated to *Legal*")
    people.click(LEGAL, "Accept", on=notice, channel=notice["channel"])

    people.card_shows("accepted by <@U0LEGAL>")
    assert [e for e in events(database) if e[0].startswith("escalation")] == [
        ("escalation approved", BOSS),
        ("escalation accepted", LEGAL),
    ]


def test_a_declined_escalation_says_so_and_notifies_nobody(team: tuple, fake_slack: FakeSlack) -> None:
    people, customer, _ = team
    customer.complain()
    people.fill(ANA, "Escalate", {"Department": "Legal (needs approval)", "Reason": "Angry customer"})
    request = people.dm(BOSS, "needs a manager's approval")

    people.click(BOSS, "Decline", on=request, channel=request["channel"])

    people.card_shows("declined by <@U0BOSS>")
    assert fake_slack.dms(LEGAL) == []


def test_a_department_reached_by_user_group_is_messaged_member_by_member(team: tuple, fake_slack: FakeSlack) -> None:
    people, customer, _ = team
    customer.complain()

    people.fill(ANA, "Escalate", {"Department": "Customer service", "Reason": "Refund needed"})

    notice = people.dm(CARE_MEMBER, "escalation to *Customer service*")
    people.click(CARE_MEMBER, "Accept", on=notice, channel=notice["channel"])
    people.card_shows("accepted by <@U0CARL>")


def test_an_escalation_without_a_reason_is_answered_on_the_field(team: tuple, database: Database) -> None:
    people, customer, _ = team
    customer.complain()

    answer = people.fill(ANA, "Escalate", {"Department": "Product", "Reason": "   "})

    assert answer.status == 200
    assert "reason" in answer.field_errors()
    with database.unit_of_work() as session:
        assert session.scalars(select(Escalation)).all() == []


# -- follow-ups -------------------------------------------------------------------------------------------------------


def test_the_follow_up_modal_defaults_and_refuses_the_past(team: tuple, database: Database) -> None:
    people, customer, _ = team
    customer.complain()

    view = people.open_form(ANA, "Schedule follow-up")
    answer = people.slack.submit_view(view, ANA, {"Date": "2020-01-01", "Time": "10:00"})

    assert "date" in answer.field_errors()
    with database.unit_of_work() as session:
        assert session.scalars(select(FollowUp)).all() == []

    answer = people.slack.submit_view(view, ANA, {"Date": "2099-05-04", "Time": "09:30", "Note": "Check refund"})
    assert answer.field_errors() == {}
    people.card_shows("Follow-up Mon 4 May, 09:30 with <@U0ANA>")


def test_resolve_then_follow_up_fires_through_the_real_scheduler_and_is_done_once(
    team: tuple, fake_slack: FakeSlack, database: Database
) -> None:
    people, customer, _ = team
    customer.complain(text="Where is my refund?")
    people.click(ANA, "Claim")
    people.card_shows("Owner: <@U0ANA>")

    people.fill(ANA, "Resolve", {"Resolution note": "Refund sent"})
    card = people.card_shows("*Resolved* by <@U0ANA>")
    # The card's own row; the moderation row (Hide, Warn, Keep evidence, Write up …) follows it.
    assert buttons(card)[:3] == ["Reopen", "Follow up in 2 seconds", "Schedule follow-up"]

    people.click(ANA, "Follow up in 2 seconds", on=card)
    people.card_shows("Follow-up")
    reminder = people.dm(ANA, "Follow-up due", timeout=10)
    assert buttons(reminder) == ["Done", "Snooze 1 day"]
    assert "Where is my refund?" in visible_text(reminder)

    people.click(ANA, "Done", on=reminder, channel=reminder["channel"])
    people.click(ANA, "Done", on=reminder, channel=reminder["channel"])  # a double click

    fake_slack.wait_for("chat.update", where=lambda call: "Done by <@U0ANA>" in visible_text(call.args))
    reminders = [m for m in fake_slack.dms(ANA) if "Follow-up due" in visible_text(m)]
    assert len(reminders) == 1
    assert [e[0] for e in events(database)].count("follow-up done") == 1
    assert [e[0] for e in events(database)].count("follow-up sent") == 1


def test_snooze_moves_the_reminder_a_day(team: tuple, database: Database) -> None:
    people, customer, _ = team
    customer.complain()
    people.fill(ANA, "Resolve", {})
    people.click(ANA, "Follow up in 2 seconds", on=people.card_shows("Resolved"))
    reminder = people.dm(ANA, "Follow-up due", timeout=10)

    people.click(ANA, "Snooze 1 day", on=reminder, channel=reminder["channel"])

    people.told(ANA, "Snoozed")
    with database.unit_of_work() as session:
        (follow_up,) = session.scalars(select(FollowUp)).all()
        assert follow_up.status == "scheduled"
        assert follow_up.due_at > follow_up.sent_at  # type: ignore[operator]


def test_reopen_brings_a_resolved_complaint_back(team: tuple, database: Database) -> None:
    people, customer, _ = team
    customer.complain()
    people.fill(BEN, "Resolve", {})
    card = people.card_shows("Resolved")

    people.click(ANA, "Reopen", on=card)

    card = people.card_shows("Reassign")
    assert "Resolve" in buttons(card) and "Reopen" not in buttons(card)
    assert stored_complaint(database).status == "acknowledged"


# -- ownership ------------------------------------------------------------------------------------------------------


def test_release_is_for_the_owner_and_reassign_picks_a_teammate(team: tuple, database: Database) -> None:
    people, customer, _ = team
    customer.complain()
    people.click(ANA, "Claim")
    card = people.card_shows("Owner: <@U0ANA>")
    assert "Release" in buttons(card) and "Claim" not in buttons(card)

    people.click(BEN, "Release", on=card)
    people.told(BEN, "Only its owner")
    people.click(ANA, "Release", on=card)
    people.card_shows("Unclaimed")

    answer = people.fill(ANA, "Reassign", {"New owner": EVE})
    assert "assignee" in answer.field_errors()
    answer = people.fill(ANA, "Reassign", {"New owner": BEN})
    assert answer.field_errors() == {}
    people.card_shows("Owner: <@U0BEN>")
    assert stored_complaint(database).owner_id == BEN


# -- rules that hold everywhere -------------------------------------------------------------------------------------


@pytest.mark.parametrize("button", ["Acknowledge", "Claim", "Reassign", "Escalate", "Schedule follow-up", "Resolve"])
def test_someone_outside_the_care_team_is_politely_refused(
    team: tuple, fake_slack: FakeSlack, database: Database, button: str
) -> None:
    people, customer, _ = team
    customer.complain()

    people.click(EVE, button)

    people.told(EVE, "only the care team")
    assert fake_slack.calls_to("views.open") == []
    assert events(database) == [("received", "facebook")]


def test_release_and_reopen_are_refused_to_outsiders_too(team: tuple, database: Database) -> None:
    people, customer, _ = team
    customer.complain()
    people.click(ANA, "Claim")
    people.click(EVE, "Release", on=people.card_shows("Owner: <@U0ANA>"))
    people.told(EVE, "only the care team")
    people.fill(ANA, "Resolve", {})

    people.click(EVE, "Reopen", on=people.card_shows("Resolved"))

    people.told(EVE, "only the care team")
    assert stored_complaint(database).status == "resolved" and stored_complaint(database).owner_id == ANA


def test_a_stale_click_explains_itself_and_refreshes_the_card(team: tuple, fake_slack: FakeSlack) -> None:
    people, customer, _ = team
    customer.complain()
    stale = people.card()
    people.fill(ANA, "Resolve", {})
    people.card_shows("Resolved")
    updates = len(fake_slack.calls_to("chat.update"))

    people.click(BEN, "Claim", on=stale)

    people.told(BEN, "This complaint is resolved; it cannot be claimed now.")
    fake_slack.wait_for("chat.update", count=updates + 1)


def test_a_modal_left_open_while_someone_else_resolved_is_refused(team: tuple, database: Database) -> None:
    people, customer, _ = team
    customer.complain()
    view = people.open_form(BEN, "Escalate")
    people.fill(ANA, "Resolve", {})
    people.card_shows("Resolved")

    people.slack.submit_view(view, BEN, {"Department": "Product", "Reason": "Too late"})

    people.told(BEN, "This complaint is resolved", via="chat.postEphemeral")
    with database.unit_of_work() as session:
        assert session.scalars(select(Escalation)).all() == []


def test_resolve_and_escalate_at_once_have_one_outcome(team: tuple, database: Database) -> None:
    people, customer, _ = team
    customer.complain()
    escalate_view = people.open_form(ANA, "Escalate")
    resolve_view = people.open_form(BEN, "Resolve")
    start = threading.Barrier(2)

    def submit(view: dict, user: str, values: dict) -> None:
        start.wait()
        people.slack.submit_view(view, user, values)

    threads = [
        threading.Thread(target=submit, args=(escalate_view, ANA, {"Department": "Product", "Reason": "Bug"})),
        threading.Thread(target=submit, args=(resolve_view, BEN, {})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    people.card_shows("Resolved")
    assert [action for action, _ in events(database)].count("resolved") == 1
    with database.unit_of_work() as session:
        escalated = session.scalars(select(Escalation)).all()
    if not escalated:  # the resolve won the race: the escalation was refused, and Ana was told why
        people.told(ANA, "This complaint is resolved", via="chat.postEphemeral")
    assert stored_complaint(database).status == "resolved"


def test_every_action_is_a_line_in_the_cards_thread(team: tuple, fake_slack: FakeSlack) -> None:
    people, customer, _ = team
    customer.complain()
    people.click(ANA, "Claim")
    people.card_shows("Owner: <@U0ANA>")
    people.acknowledge(ANA)

    fake_slack.wait_for("chat.postMessage", count=2, where=lambda call: bool(call.args.get("thread_ts")))
    lines = people.thread()
    assert lines[0].startswith("<@U0ANA> claimed it · ")
    assert lines[1].startswith("<@U0ANA> acknowledged it · ")


def test_the_thread_log_can_be_switched_off(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, team_settings: dict[str, str]
) -> None:
    heard = start_heard(**team_settings, HEARD_THREAD_LOG="off")
    base = f"http://127.0.0.1:{heard.port}"
    people = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    Ingester(f"{base}/ingest", INGEST_SECRET).complain()

    people.click(ANA, "Claim")
    people.card_shows("Owner: <@U0ANA>")
    people.acknowledge(ANA)
    people.card_shows("Acknowledged by")

    assert [call for call in fake_slack.calls_to("chat.postMessage") if call.args.get("thread_ts")] == []


def test_a_directory_with_a_mistake_stops_heard_with_the_line(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    broken = tmp_path / "directory.toml"
    broken.write_text('[[department]]\nname = "Legal"\nusers = ["U0LEGAL"]\nneeds_aproval = true\n')
    environment = heard_environment(fake_slack, database_url, HEARD_DIRECTORY=str(broken))

    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")], env=environment, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert "line 4: unknown key 'needs_aproval' (did you mean 'needs_approval'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_follow_up_that_fell_due_while_heard_was_down_is_sent_once_at_start(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, team_settings: dict[str, str], database: Database
) -> None:
    first = start_heard(**team_settings)
    base = f"http://127.0.0.1:{first.port}"
    people = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    Ingester(f"{base}/ingest", INGEST_SECRET).complain()
    people.fill(ANA, "Resolve", {})
    people.click(ANA, "Follow up in 2 seconds", on=people.card_shows("Resolved"))
    people.card_shows("Follow-up")
    first.stop()  # Heard is down when the follow-up falls due

    with database.unit_of_work() as session:
        (follow_up,) = session.scalars(select(FollowUp)).all()
    _sleep_past(follow_up.due_at)
    start_heard(**team_settings)
    start_heard(**team_settings)  # a second copy sharing the database must not send it again

    people.dm(ANA, "Follow-up due", timeout=10)
    fake_slack.wait_for("chat.postMessage", where=lambda call: "Follow-up due" in visible_text(call.args))
    assert [e[0] for e in events(database)].count("follow-up sent") == 1
    reminders = [m for m in fake_slack.dms(ANA) if "Follow-up due" in visible_text(m)]
    assert len(reminders) == 1


def _seconds_until(moment: object) -> float:
    from datetime import UTC, datetime

    assert isinstance(moment, datetime)
    return (moment - datetime.now(UTC)).total_seconds()


def _sleep_past(moment: object) -> None:
    """The one wait that is about wall-clock time itself: the deadline has to pass while Heard is stopped."""
    import time

    time.sleep(max(0.0, _seconds_until(moment)) + 0.2)
