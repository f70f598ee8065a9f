"""Roles fail closed: exporting and approving need someone named in HEARD_MANAGERS, guest accounts never act on
complaints (listed or not), and a person Slack cannot vouch for is refused rather than guessed at."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import FakeSlack
from storage.db import Database
from storage.models import Complaint, Escalation
from tests.care_team import buttons, visible_text
from tests.conftest import CHANNEL
from tests.desk import Desk as BaseDesk

ANA = "U0ANA"  # on the care team
BOSS = "U0BOSS"  # a manager, when there are managers
GUS = "U0GUS"  # a multi-channel guest: an agency's community manager invited to the complaints channel
SOL = "U0SOL"  # a single-channel guest
LEGAL = "U0LEGAL"
ASK_FOR_MANAGERS = "ask your Heard admin to add you to HEARD_MANAGERS"
NOT_ON_THE_TEAM = "only the care team can act on complaints"

DIRECTORY = f"""
[[department]]
name = "Legal"
handles = "Threats of legal action"
users = ["{LEGAL}"]
needs_approval = true
"""


class Desk(BaseDesk):
    def complain(self, text: str = "My parcel never arrived") -> int:  # type: ignore[override]
        return super().complain(text=text)

    def ask(self, typed: str, user: str) -> str:
        """Type `/complaints <typed>`; what Slack shows the person, only to them."""
        answer = self.driver.command("/complaints", typed, user=user, channel=CHANNEL)
        assert answer.status == 200 and answer.outcome == "ephemeral", answer.body
        return visible_text(self.fake.ephemerals(CHANNEL, user)[-1])


@pytest.fixture
def open_desk(start_heard: Callable[..., Heard], fake_slack: FakeSlack, tmp_path: Path) -> Callable[..., Desk]:
    def open_desk(**settings: str) -> Desk:
        directory = tmp_path / "directory.toml"
        directory.write_text(DIRECTORY)
        return Desk(start_heard(HEARD_DIRECTORY=str(directory), **settings), fake_slack)

    return open_desk


def owner(database: Database) -> str | None:
    with database.unit_of_work() as session:
        return session.scalar(select(Complaint.owner_id))


def test_without_heard_managers_nobody_exports_and_the_answer_says_whom_to_ask(
    open_desk: Callable[..., Desk], fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="heard.roles"):
        desk = open_desk()
    warnings = [record.getMessage() for record in caplog.records if record.name == "heard.roles"]
    assert [line.split(":")[0] for line in warnings] == ["HEARD_AGENTS is not set", "HEARD_MANAGERS is not set"]
    assert "nobody can export complaints or approve escalations" in warnings[1]
    desk.complain()
    desk.team.card()

    answer = desk.ask("export 30d", user=ANA)

    assert "Only managers can export complaints." in answer and ASK_FOR_MANAGERS in answer
    assert fake_slack.files(include_incomplete=True) == [] and fake_slack.dms(ANA) == []
    assert fake_slack.calls_to("files.getUploadURLExternal") == []
    # Still everyone may act on the cards (HEARD_AGENTS unset), as the warning says.
    desk.team.click(ANA, "Claim")
    desk.team.card_shows(f"Owner: <@{ANA}>")


def test_without_heard_managers_an_approval_waits_in_the_channel_and_nobody_can_give_it(
    open_desk: Callable[..., Desk], fake_slack: FakeSlack, database: Database
) -> None:
    desk = open_desk(HEARD_AGENTS=ANA)
    desk.complain("My lawyer will hear about this")
    desk.team.fill(ANA, "Escalate", {"Department": "Legal (needs approval)", "Reason": "Legal threat"})
    fake_slack.wait_for(
        "chat.postMessage",
        where=lambda call: (
            call.args.get("channel") == CHANNEL and "needs a manager's approval" in visible_text(call.args)
        ),
    )
    [request] = [m for m in fake_slack.messages(CHANNEL) if "needs a manager's approval" in visible_text(m)]
    assert buttons(request) == ["Approve", "Decline"]

    desk.team.click(ANA, "Approve", on=request)

    told = desk.team.told(ANA, "Only managers can approve or decline escalations.")
    assert ASK_FOR_MANAGERS in visible_text(told.args)
    assert fake_slack.dms(LEGAL) == []
    with database.unit_of_work() as session:
        assert session.scalar(select(Escalation.status)) == "awaiting approval"


def test_a_guest_listed_in_heard_agents_cannot_claim(
    open_desk: Callable[..., Desk], fake_slack: FakeSlack, database: Database
) -> None:
    fake_slack.set_user(GUS, guest="multi-channel")
    desk = open_desk(HEARD_AGENTS=f"{ANA},{GUS}", HEARD_MANAGERS=f"{BOSS},{GUS}")
    desk.complain()
    card = desk.team.card()

    desk.team.click(GUS, "Claim", on=card)

    desk.team.told(GUS, "Sorry, " + NOT_ON_THE_TEAM)
    assert owner(database) is None
    answer = desk.ask("export 7d", user=GUS)  # listed as a manager too: still a guest
    assert "`/complaints` is for the care team" in answer
    assert fake_slack.files(include_incomplete=True) == []
    desk.team.click(ANA, "Claim", on=card)  # the member next to him may
    desk.team.card_shows(f"Owner: <@{ANA}>")


def test_a_single_channel_guest_cannot_act_even_when_everyone_may(
    open_desk: Callable[..., Desk], fake_slack: FakeSlack, database: Database
) -> None:
    fake_slack.set_user(SOL, guest="single-channel")
    desk = open_desk()  # HEARD_AGENTS unset: everyone in the workspace, but not its guests
    desk.complain()

    desk.team.click(SOL, "Claim")

    desk.team.told(SOL, NOT_ON_THE_TEAM)
    assert owner(database) is None
    assert "`/complaints` is for the care team" in desk.ask("open", user=SOL)


def test_when_slack_cannot_say_who_someone_is_heard_refuses(
    open_desk: Callable[..., Desk], fake_slack: FakeSlack, database: Database
) -> None:
    desk = open_desk(HEARD_AGENTS=ANA)
    desk.complain()
    card = desk.team.card()
    fake_slack.fail_next("users.info", status=500, times=5)

    desk.team.click(ANA, "Claim", on=card)

    desk.team.told(ANA, NOT_ON_THE_TEAM)
    assert owner(database) is None
