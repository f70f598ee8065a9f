"""The App Home end to end: a person opens Heard's Home tab (a signed `app_home_opened` event) and sees their own
queue, published with `views.publish` to the fake Slack, validated as Slack validates a Home tab."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from app import Heard
from bot.lifecycle import EscalationStatus, FollowUpStatus, Status
from sandbox.fake_slack import MAX_VIEW_BLOCKS, Call, FakeSlack, validate_view
from sandbox.slack_driver import SlackDriver, SocketModeDriver
from storage.db import Database
from storage.models import Complaint, Escalation, FollowUp
from tests.conftest import INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester
from tests.test_lookups import text_objects

ANA, BEN = "U0ANA", "U0BEN"  # agents; Ana is Legal's contact, Ben is in the care team's user group
BOSS = "U0BOSS"
EVE = "U0EVE"  # not on the care team
CARE_GROUP = "S0CARE"

DIRECTORY = f"""
[[department]]
name = "Customer service"
handles = "Orders and refunds"
user_groups = ["{CARE_GROUP}"]

[[department]]
name = "Legal"
handles = "Threats of legal action"
users = ["{ANA}"]
needs_approval = true
"""


class Home:
    def __init__(self, fake: FakeSlack, driver: SlackDriver, customer: Ingester, database: Database) -> None:
        self.fake = fake
        self.driver = driver
        self.customer = customer
        self.database = database

    def open(self, user: str) -> dict[str, Any]:
        """`user` opens the Home tab; what it shows once Heard has published it (the view Heard sent is checked
        as Slack checks a Home tab)."""

        def for_user(call: Call) -> bool:
            return call.args.get("user_id") == user

        published = len([call for call in self.fake.calls_to("views.publish") if for_user(call)])
        answer = self.driver.open_home(user)
        assert answer.status == 200 and answer.elapsed_ms < 3000
        call = self.fake.wait_for("views.publish", where=for_user, count=published + 1)[published]
        assert call.ok, call.summary()
        assert validate_view(call.args["view"], kind="home") == []
        view = self.fake.home(user)
        assert view is not None
        return view

    def complain(self, **fields: Any) -> int:
        answer = self.customer.complain(**fields)
        assert answer.status == 202, answer.body
        return int(answer.body["complaint_id"])

    def own(self, complaint_id: int, user: str) -> None:
        with self.database.unit_of_work() as session:
            session.execute(
                update(Complaint)
                .where(Complaint.id == complaint_id)
                .values(owner_id=user, claimed_by=user, claimed_at=datetime.now(UTC))
            )


@pytest.fixture
def home(start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database, tmp_path: Path) -> Home:
    directory = tmp_path / "directory.toml"
    directory.write_text(DIRECTORY)
    fake_slack.set_user_group(CARE_GROUP, [BEN])
    heard = start_heard(HEARD_AGENTS=f"{ANA},{BEN}", HEARD_MANAGERS=BOSS, HEARD_DIRECTORY=str(directory))
    base = f"http://127.0.0.1:{heard.port}"
    return Home(
        fake_slack,
        SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack),
        Ingester(f"{base}/ingest", INGEST_SECRET),
        database,
    )


def texts(view: dict[str, Any]) -> str:
    parts: list[str] = []
    for block in view["blocks"]:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts.extend(field["text"] for field in block.get("fields", []))
        parts.extend(element.get("text", "") for element in block.get("elements", []) if isinstance(element, dict))
    return "\n".join(parts)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_my_queue_follow_ups_escalations_and_the_team_counters(home: Home, fake_slack: FakeSlack) -> None:
    now = datetime.now(UTC)
    normal = home.complain(text="Parcel is late", created_at=iso(now - timedelta(minutes=30)))
    urgent = home.complain(text="I want a refund", created_at=iso(now - timedelta(minutes=5)))
    bens = home.complain(text="Ben has this one")
    late = home.complain(text="Nobody answered", created_at=iso(now - timedelta(hours=3)))
    home.own(normal, ANA)
    home.own(urgent, ANA)
    home.own(bens, BEN)
    with home.database.unit_of_work() as session:
        session.add_all(
            [
                FollowUp(complaint_id=normal, due_at=now + timedelta(hours=2), note="Call back", assignee=ANA,
                         scheduled_by=ANA, scheduled_at=now, status=FollowUpStatus.SCHEDULED.value),
                FollowUp(complaint_id=bens, due_at=now - timedelta(hours=1), note="Ask again", assignee=ANA,
                         scheduled_by=BEN, scheduled_at=now, status=FollowUpStatus.SENT.value),
                FollowUp(complaint_id=bens, due_at=now, note="Done already", assignee=ANA,
                         scheduled_by=BEN, scheduled_at=now, status=FollowUpStatus.DONE.value),
                Escalation(complaint_id=late, department_key="legal", department_name="Legal",
                           reason="Threatens to sue", severity="high", requested_by=BEN, requested_at=now,
                           status=EscalationStatus.AWAITING_APPROVAL.value),
                Escalation(complaint_id=bens, department_key="legal", department_name="Legal",
                           reason="Old one", severity="normal", requested_by=BEN, requested_at=now,
                           status=EscalationStatus.ACCEPTED.value),
                Escalation(complaint_id=normal, department_key="customer-service",
                           department_name="Customer service", reason="Refund needed", severity="normal",
                           requested_by=ANA, requested_at=now, status=EscalationStatus.OPEN.value),
            ]
        )  # fmt: skip

    view = home.open(ANA)

    shown = texts(view)
    claimed = shown[shown.index("*Claimed by you* (2 open)") : shown.index("*Your follow-ups*")]
    # High priority first, then by deadline.
    assert claimed.index(f"*#{urgent}*") < claimed.index(f"*#{normal}*")
    assert f"#{bens}*" not in claimed
    follow_ups = shown[shown.index("*Your follow-ups* (2 to do)") : shown.index("*Escalations waiting")]
    assert follow_ups.index("Ask again") < follow_ups.index("Call back")
    assert "overdue" in follow_ups and "Done already" not in follow_ups
    escalations = shown[shown.index("*Escalations waiting for Legal* (1)") :]
    assert "Threatens to sue" in escalations and "waiting for a manager's approval" in escalations
    assert "Refund needed" not in escalations and "Old one" not in escalations
    assert "*Open*\n4" in shown and "*Unclaimed*\n1" in shown and "*Overdue*\n1" in shown
    assert "*Received today*\n" in shown
    assert fake_slack.problems == []

    # Ben is a contact of Customer service through its user group.
    bens_view = texts(home.open(BEN))
    assert "*Escalations waiting for Customer service* (1)" in bens_view and "Refund needed" in bens_view
    assert "*Claimed by you* (1 open)" in bens_view


def test_a_long_queue_is_cut_with_the_command_that_shows_it_all(home: Home) -> None:
    for n in range(25):
        home.own(home.complain(text=f"Complaint {n}"), ANA)

    view = home.open(ANA)

    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    shown = texts(view)
    assert "*Claimed by you* (25 open)" in shown
    assert "… and 5 more: `/complaints mine`" in shown


def test_someone_outside_the_care_team_sees_what_heard_is(home: Home) -> None:
    home.complain(text="Secret complaint")
    view = home.open(EVE)
    shown = texts(view)
    assert "HEARD_AGENTS" in shown and "Secret complaint" not in shown


def test_the_home_is_published_again_on_each_opening_and_not_for_the_messages_tab(
    home: Home, fake_slack: FakeSlack
) -> None:
    assert "(0 open)" in texts(home.open(ANA))
    home.own(home.complain(text="New one"), ANA)
    assert "(1 open)" in texts(home.open(ANA))

    published = len(fake_slack.calls_to("views.publish"))
    assert home.driver.open_home(ANA, tab="messages").status == 200
    home.open(BEN)  # a later event is handled, so the Messages tab's would have been by now
    assert [call.args["user_id"] for call in fake_slack.calls_to("views.publish")[published:]] == [BEN]


def test_hostile_text_on_the_home_tab_stays_text(home: Home, fake_slack: FakeSlack) -> None:
    complaint_id = home.complain(text="<!channel> <@U0BOSS> <https://evil.example|win>", author={"handle": "<!here>"})
    home.own(complaint_id, ANA)
    with home.database.unit_of_work() as session:
        session.execute(update(Complaint).where(Complaint.id == complaint_id).values(status=Status.ACKNOWLEDGED.value))

    blocks = home.open(ANA)["blocks"]

    # What Slack reads as markup is escaped; the customer's words are plain_text, shown as they wrote them.
    raw = "\n".join(text_objects(blocks, "mrkdwn"))
    assert "<!channel>" not in raw and "<!here>" not in raw and "<@U0BOSS>" not in raw
    assert "&lt;!here&gt;" in raw
    assert "<!channel> <@U0BOSS> <https://evil.example|win>" in text_objects(blocks, "plain_text")
    assert fake_slack.problems == []


def test_in_socket_mode_opening_the_home_tab_publishes_it(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    start_heard(SLACK_APP_TOKEN=fake_slack.app_token, SLACK_SIGNING_SECRET="", HEARD_AGENTS=ANA)
    assert fake_slack.socket_connected(timeout=5)

    SocketModeDriver(fake_slack).open_home(ANA)

    (published,) = fake_slack.wait_for("views.publish")
    assert published.args["user_id"] == ANA and validate_view(published.args["view"], kind="home") == []
    assert "*Claimed by you* (0 open)" in texts(fake_slack.home(ANA) or {"blocks": []})
