"""Rotations, auto-assignment and escalation that follows the rotation, end to end over HTTP with the real scheduler
and short windows: handoffs (the DM, the Home tab, `/complaints who`), overrides, round-robin across a restart and
two copies, least-loaded with a cap, away agents, nobody available, routed complaints, breach reminders walking the
rotation, and a schedule file with an error."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import responses
from sqlalchemy import select

import app as app_module
from app import Heard
from bot.assignment import kinds_of
from bot.config import load_settings
from bot.rotations import RotationsError, RotationsFile, parse_rotations
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import FORM, block_actions_payload
from storage.db import Database
from storage.models import AuditEvent, Complaint, Delivery
from tests.care_team import visible_text
from tests.conftest import CHANNEL, heard_environment
from tests.desk import Desk as BaseDesk
from tests.test_x_feeds import X_SETTINGS
from tests.x_api import MARIA, Author, FakeX, page, post

ANA, BEN, CAT, SAM, BOSS = "U0ANA", "U0BEN", "U0CAT", "U0SAM", "U0BOSS"
UTC_TZ = ZoneInfo("UTC")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_second() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Desk(BaseDesk):
    """One running copy of Heard as the care team and the customers see it."""

    def complain(self, **fields: Any) -> int:
        return super().complain(created_at=None, **fields)

    def card(self, number: int) -> dict[str, Any]:
        """The card of the `number`-th complaint, once posted (the channel's pace posts about one a second)."""
        self.fake.wait_for(
            "chat.postMessage", where=lambda c: c.args.get("channel") == CHANNEL, count=number, timeout=15
        )
        return self.team.card(number - 1)

    def ask(self, typed: str, user: str = ANA) -> str:
        shown = len(self.fake.ephemerals(CHANNEL, user))
        response = self.driver.command("/complaints", typed, user=user, channel=CHANNEL)
        assert response.status == 200 and response.outcome == "ephemeral", response.body
        answers = self.fake.ephemerals(CHANNEL, user)
        assert len(answers) == shown + 1
        return visible_text(answers[-1])

    def home(self, user: str) -> dict[str, Any]:
        published = len([c for c in self.fake.calls_to("views.publish") if c.args.get("user_id") == user])
        assert self.driver.open_home(user).status == 200
        call = self.fake.wait_for("views.publish", where=lambda c: c.args.get("user_id") == user, count=published + 1)[
            published
        ]
        assert call.ok, call.summary()
        view = self.fake.home(user)
        assert view is not None
        return view


def click_on_home(desk: Desk, text: str, user: str) -> None:
    """Click a button on `user`'s Home tab as Slack sends it: a block_actions payload from a view, no channel."""
    view = desk.fake.home(user)
    assert view is not None
    payload = block_actions_payload(
        desk.fake, text, on={"ts": "0", "blocks": view["blocks"]}, channel=CHANNEL, user=user
    )
    payload["container"] = {"type": "view", "view_id": view.get("id", "V0HOME")}
    for key in ("channel", "message", "response_url"):
        payload.pop(key, None)
    payload["view"] = {**view, "id": view.get("id", "V0HOME")}
    answer = desk.driver.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)
    assert answer.status == 200, answer.body


def home_text(view: dict[str, Any]) -> str:
    return visible_text({"blocks": view["blocks"]})


def owners(database: Database) -> list[str | None]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(Complaint.owner_id).order_by(Complaint.id)))


def assigned_events(database: Database) -> Counter[int]:
    with database.unit_of_work() as session:
        return Counter(session.scalars(select(AuditEvent.complaint_id).where(AuditEvent.action == "assigned")))


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


# -- the schedule, as pure functions -----------------------------------------------------------------------------------


SCHEDULE = """
[[rotation]]
name = "Care"
people = ["U0ANA", "U0BEN", "U0CAT"]
length = "daily"
handoff = "09:00"
starts = 2026-12-01
timezone = "Europe/Madrid"

[[rotation]]
name = "Senior"
people = ["U0SAM"]
length = "weekly"
starts = 2026-11-30
hours = "Mon-Fri 08:00-18:00"
takes = ["vip", "legal"]

[[override]]
who = "U0BEN"
covers = "U0ANA"
from = 2026-12-24
until = 2026-12-26
"""


def test_shifts_follow_the_order_hand_off_at_the_local_time_and_overrides_cover_whole_days(tmp_path: Path) -> None:
    schedule = parse_rotations(SCHEDULE, tmp_path / "rotations.toml", UTC_TZ)
    care, senior = schedule.rotations
    madrid = ZoneInfo("Europe/Madrid")
    # 1 Dec 09:00 Madrid: Ana; 2 Dec Ben; 3 Dec Cat; 4 Dec Ana again. Before 09:00 the day before's person.
    assert schedule.shift_at(care, datetime(2026, 12, 2, 10, tzinfo=madrid)).people == (BEN,)
    assert schedule.shift_at(care, datetime(2026, 12, 3, 8, 59, tzinfo=madrid)).people == (BEN,)
    now, following = schedule.now_and_next(care, datetime(2026, 12, 4, 12, tzinfo=madrid))
    assert now.people == (ANA,) and following.people == (BEN,)
    assert now.end == datetime(2026, 12, 5, 9, tzinfo=madrid)
    # Across the change to winter time the handoff stays at 09:00 local.
    assert schedule.shift_at(care, datetime(2027, 3, 29, 9, 0, tzinfo=madrid)).start.hour == 9
    # 24–26 Dec included: Ben covers Ana, who is on leave; the 27th is hers again.
    christmas = datetime(2026, 12, 25, 12, tzinfo=madrid)  # Ana's day (25 - 1 = 24 = 8 * 3)
    assert schedule.shift_at(care, christmas).people == (BEN,) and schedule.on_leave(ANA, christmas)
    assert not schedule.on_leave(ANA, datetime(2026, 12, 27, 0, 1, tzinfo=UTC))
    # Business hours: nobody of Senior on duty at night or at the weekend.
    assert schedule.on_duty(datetime(2026, 12, 5, 12, tzinfo=UTC), [senior]) == ()
    assert schedule.on_duty(datetime(2026, 12, 4, 12, tzinfo=UTC), [senior]) == (SAM,)
    # Routing: VIP / Legal to Senior, everything else to the rotations that take nothing in particular.
    assert schedule.taking(["legal"]) == (senior,) and schedule.general() == (care,)
    # A breach reminder walks the owner's rotation after them, skipping whoever is on leave.
    assert schedule.walk_after(care, ANA, datetime(2026, 12, 4, tzinfo=UTC)) == (BEN, CAT)
    assert schedule.walk_after(care, CAT, christmas) == (BEN,)


def test_a_rotation_started_at_a_moment_before_the_handoff_gives_its_first_person_the_hours_until_it(
    tmp_path: Path,
) -> None:
    # Started at 02:00 (a team going live at night): Ana is on duty at once, until 09:00, then Ben's day begins.
    schedule = parse_rotations(
        f'[[rotation]]\nname = "Care"\npeople = ["{ANA}", "{BEN}", "{CAT}"]\nstarts = 2026-12-05T02:00:00Z\n',
        tmp_path / "rotations.toml",
        UTC_TZ,
    )
    (care,) = schedule.rotations
    first = schedule.shift_at(care, datetime(2026, 12, 5, 3, tzinfo=UTC))
    assert first.people == (ANA,)
    assert (first.start, first.end) == (datetime(2026, 12, 5, 2, tzinfo=UTC), datetime(2026, 12, 5, 9, tzinfo=UTC))
    assert schedule.shift_at(care, datetime(2026, 12, 5, 9, tzinfo=UTC)).people == (BEN,)
    assert schedule.shift_at(care, datetime(2026, 12, 7, 8, 59, tzinfo=UTC)).people == (CAT,)
    # Started after the handoff: the first shift still runs to the next day's handoff.
    later = parse_rotations(
        f'[[rotation]]\nname = "Care"\npeople = ["{ANA}", "{BEN}"]\nstarts = 2026-12-05T14:00:00Z\nlength = "weekly"\n',
        tmp_path / "rotations.toml",
        UTC_TZ,
    )
    shift = later.shift_at(later.rotations[0], datetime(2026, 12, 5, 15, tzinfo=UTC))
    assert shift.people == (ANA,) and shift.end == datetime(2026, 12, 12, 9, tzinfo=UTC)
    # Weekly handoffs keep the weekday of `starts` (a Tuesday), however early that day it starts.
    tuesday = parse_rotations(
        f'[[rotation]]\nname = "Care"\npeople = ["{ANA}", "{BEN}"]\nstarts = 2026-12-08T02:00:00Z\nlength = "weekly"\n',
        tmp_path / "rotations.toml",
        UTC_TZ,
    )
    first, second = tuesday.now_and_next(tuesday.rotations[0], datetime(2026, 12, 8, 3, tzinfo=UTC))
    assert first.people == (ANA,) and first.end == datetime(2026, 12, 8, 9, tzinfo=UTC)
    assert second.people == (BEN,) and second.end == datetime(2026, 12, 15, 9, tzinfo=UTC)


def test_vip_high_and_legal_are_recognised() -> None:
    class Seen:
        author_followers = 50_000
        priority = "high"
        threats = ("bomb",)

    assert kinds_of(Seen(), 10_000) == ["vip", "high", "legal"]


def test_the_schedule_file_with_errors_names_each_line(tmp_path: Path) -> None:
    text = """[[rotation]]
name = "Care"
people = ["U0ANA", "ana"]
length = "fortnightly"
starts = 2026-12-01
hour = "Mon-Fri"

[[override]]
who = "U0BEN"
covers = "U0ANA"
from = 2026-12-26
until = 2026-12-24
rotation = "Nights"
"""
    with pytest.raises(RotationsError) as error:
        parse_rotations(text, tmp_path / "rotations.toml", UTC_TZ)
    problems = error.value.problems
    assert any(p.startswith("line 3:") and "'ana'" not in p and "ana" in p for p in problems), problems
    assert any(p.startswith("line 4:") and "daily, weekly" in p for p in problems), problems
    assert any(p.startswith("line 6:") and "did you mean 'hours'" in p for p in problems), problems
    assert any(p.startswith("line 12:") and "after from" in p for p in problems), problems
    assert any(p.startswith("line 13:") and "'Nights'" in p for p in problems), problems


def test_a_broken_file_stops_start_up_with_the_line_and_a_broken_edit_keeps_the_last_good_schedule(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rotations.toml"
    path.write_text('[[rotation]]\nname = "Care"\npeople = ["U0ANA"]\nstarts = "yesterday"\n')
    environment = heard_environment(fake_slack, database_url, ROTATIONS_FILE=str(path))
    assert app_module.main(["serve"], environ=environment) == 2
    assert f"heard: {path}: line 4: starts in rotation 'Care'" in capsys.readouterr().err

    path.write_text('[[rotation]]\nname = "Care"\npeople = ["U0ANA"]\nstarts = 2026-12-01\n')
    watched = RotationsFile(path, UTC_TZ)
    assert watched.current().rotations[0].people == (ANA,)
    path.write_text('[[rotation]]\nname = "Care"\npeople = ["U0ANA", "U0BEN"]\nstarts = 2026-12-01\n')
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert watched.current().rotations[0].people == (ANA, BEN)
    path.write_text('[[rotation]]\nname = "Care"\npeople = "U0ANA"\nstarts = 2026-12-01\n')
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert watched.current().rotations[0].people == (ANA, BEN)  # the last good one stays


# -- end to end --------------------------------------------------------------------------------------------------------


def test_a_rotation_hands_off_with_a_dm_the_home_tab_and_who(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, tmp_path: Path
) -> None:
    start = whole_second()
    rotations = write(
        tmp_path / "rotations.toml",
        f'[[rotation]]\nname = "Care"\npeople = ["{ANA}", "{BEN}"]\nlength = "4s"\nstarts = {stamp(start)}\n',
    )
    desk = Desk(start_heard(ROTATIONS_FILE=rotations, HEARD_AGENTS=f"{ANA},{BEN}"), fake_slack)
    number = desk.complain(text="Still no refund for my order")

    # Ana's turn began at start-up: her DM (once), with the open queue.
    first = desk.team.dm(ANA, "You are on duty for", timeout=5)
    assert "Care" in visible_text(first)
    who = desk.ask("who")
    assert f"on duty now <@{ANA}>" in who and f"next <@{BEN}>" in who
    assert f"on duty now <@{ANA}>" in home_text(desk.home(BEN))

    # At the handoff, Ben's DM lists what is open; Who and the Home tab follow.
    handed = desk.team.dm(BEN, "You are on duty for", timeout=8)
    assert f"#{number}" in visible_text(handed) and "1 open" in visible_text(handed)
    assert time.time() >= (start + timedelta(seconds=4)).timestamp() - 0.5
    assert f"on duty now <@{BEN}>" in desk.ask("who")
    assert f"on duty now <@{BEN}>" in home_text(desk.home(ANA))
    # With a topic, `who` still answers which department handles it.
    assert "escalation directory" in desk.ask("who refund")
    # One DM per person and turn.
    to_ana = [m for m in fake_slack.dms(ANA) if "You are on duty" in visible_text(m)]
    assert len(to_ana) == 1 or time.time() > (start + timedelta(seconds=8)).timestamp()


def test_an_override_puts_the_cover_on_duty_and_the_covered_on_leave(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database, tmp_path: Path
) -> None:
    today = whole_second()
    rotations = write(
        tmp_path / "rotations.toml",
        f'[[rotation]]\nname = "Care"\npeople = ["{ANA}", "{BEN}", "{CAT}"]\non_duty = 2\nlength = "1d"\n'
        f"starts = {stamp(today - timedelta(hours=1))}\n\n"
        f'[[override]]\nwho = "{CAT}"\ncovers = "{ANA}"\nfrom = {stamp(today - timedelta(minutes=1))}\n'
        f"until = {stamp(today + timedelta(hours=2))}\n",
    )
    desk = Desk(start_heard(ROTATIONS_FILE=rotations, AUTO_ASSIGN="round-robin"), fake_slack)
    who = desk.ask("who")
    assert f"on duty now <@{CAT}>, <@{BEN}>" in who and f"<@{CAT}> covers <@{ANA}>" in who
    for _ in range(4):
        desk.complain()
    assert sorted(owners(database)) == [BEN, BEN, CAT, CAT]  # never Ana, who is covered
    desk.team.dm(CAT, "You are on duty for")


def test_round_robin_over_three_agents_across_a_restart_and_two_copies(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database, database_url: str
) -> None:
    settings = {"HEARD_AGENTS": f"{ANA},{BEN},{CAT}", "AUTO_ASSIGN": "round-robin"}
    first = Heard(
        load_settings(heard_environment(fake_slack, database_url, **settings), env_file=None), host="127.0.0.1"
    )
    first.start()
    try:
        desk = Desk(first, fake_slack)
        for _ in range(4):
            desk.complain()
        card = desk.team.card()
        assert f"Assigned to <@{ANA}> by rotation" in visible_text(card)
    finally:
        first.stop()
    assert owners(database) == [ANA, BEN, CAT, ANA]

    copies = [Desk(start_heard(**settings), fake_slack) for _ in range(2)]  # after the restart, two copies
    copies[0].complain()
    assert owners(database)[-1] == BEN  # the place was remembered
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: copies[i % 2].complain(), range(13)))
    counts = Counter(owners(database))
    assert counts == {ANA: 6, BEN: 6, CAT: 6}, counts  # nobody skipped or doubled
    assert set(assigned_events(database).values()) == {1} and len(assigned_events(database)) == 18

    # The timeline shows who assigned it.
    assert f"assigned it to <@{ANA}> by rotation" in copies[1].ask("1")


def test_least_loaded_with_a_cap_release_and_nobody_available(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    desk = Desk(
        start_heard(
            HEARD_AGENTS=f"{ANA},{BEN},{CAT}",
            AUTO_ASSIGN="least-loaded",
            AGENT_CAP="2",
            HEARD_ON_DUTY=BOSS,
            ACK_WINDOW="30s",
            NAG_BEFORE="25s",
        ),
        fake_slack,
    )
    for _ in range(3):
        desk.complain()
    assert owners(database) == [ANA, BEN, CAT]
    # Ben gives his back: he now has the fewest open, so the next one is his.
    second = desk.card(2)
    desk.team.click(BEN, "Release", on=second)
    desk.team.card_shows("Unclaimed", index=1)
    desk.complain()
    assert owners(database)[-1] == BEN
    for _ in range(3):
        desk.complain()
    assert Counter(owners(database)) == {ANA: 2, BEN: 2, CAT: 2, None: 1}
    # Everyone at the cap: unassigned, and whoever is on duty is nagged in the card's thread as today.
    last = desk.complain()
    assert owners(database)[-1] is None
    card = desk.card(last)
    assert "Unclaimed" in visible_text(card)
    fake_slack.wait_for(
        "chat.postMessage",
        where=lambda c: (
            f"<@{BOSS}>" in visible_text(c.args)
            and (c.args.get("thread_ts") == card["ts"] or f"#{last}" in visible_text(c.args))
        ),
        timeout=15,
    )


def test_an_agent_away_gets_nothing_until_back(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    desk = Desk(start_heard(HEARD_AGENTS=f"{ANA},{BEN}", AUTO_ASSIGN="round-robin"), fake_slack)
    view = desk.home(ANA)
    assert "You are available" in home_text(view)
    click_on_home(desk, "I'm away", ANA)
    fake_slack.wait_for(
        "views.publish",
        where=lambda c: c.args.get("user_id") == ANA and "You are *away*" in home_text(c.args["view"]),
    )
    who = desk.ask("who", user=BEN)
    assert f"Away (no complaints assigned): <@{ANA}>" in who and "There are no rotations yet" in who
    for _ in range(3):
        desk.complain()
    assert owners(database) == [BEN, BEN, BEN]
    click_on_home(desk, "I'm back", ANA)
    fake_slack.wait_for(
        "views.publish",
        where=lambda c: c.args.get("user_id") == ANA and "You are available" in home_text(c.args["view"]),
    )
    desk.complain()
    desk.complain()
    assert sorted(owners(database)[-2:]) == [ANA, BEN]  # back in turn


def test_high_priority_and_legal_flagged_go_to_the_senior_rotation(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database, tmp_path: Path
) -> None:
    start = whole_second() - timedelta(hours=1)
    rotations = write(
        tmp_path / "rotations.toml",
        f'[[rotation]]\nname = "Care"\npeople = ["{ANA}", "{BEN}"]\non_duty = 2\nstarts = {stamp(start)}\n\n'
        f'[[rotation]]\nname = "Senior"\npeople = ["{SAM}"]\nstarts = {stamp(start)}\n'
        'takes = ["vip", "high", "legal"]\n',
    )
    desk = Desk(start_heard(ROTATIONS_FILE=rotations, AUTO_ASSIGN="round-robin"), fake_slack)
    desk.complain(text="My parcel is late")
    desk.complain(text="I want a refund right now")  # urgent: high priority
    desk.complain(text="I will burn down your shop")  # a threat: flagged for Legal
    desk.complain(text="The app crashes")
    assert owners(database) == [ANA, SAM, SAM, BEN]


def test_a_vip_found_on_x_goes_to_the_senior_rotation(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database, tmp_path: Path
) -> None:
    start = whole_second() - timedelta(hours=1)
    rotations = write(
        tmp_path / "rotations.toml",
        f'[[rotation]]\nname = "Care"\npeople = ["{ANA}", "{BEN}"]\nstarts = {stamp(start)}\n\n'
        f'[[rotation]]\nname = "Senior"\npeople = ["{SAM}"]\nstarts = {stamp(start)}\ntakes = ["vip"]\n',
    )
    big_voice = Author("7", "bigvoice", "Big Voice", followers=250_000)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        x_api = FakeX(mock)
        x_api.answer(
            "mentions",
            page([post("@Twitter my app crashes", big_voice), post("@Twitter same", MARIA)], [big_voice, MARIA]),
        )
        heard = start_heard(
            **{**X_SETTINGS, "X_QUERY": ""},
            X_VIP_FOLLOWERS="100000",
            ROTATIONS_FILE=rotations,
            AUTO_ASSIGN="round-robin",
        )
        assert heard.listener("x-poll").wait_for_polls(1), "the start-up poll did not finish"

    with database.unit_of_work() as session:
        by_author = dict(session.execute(select(Complaint.author_handle, Complaint.owner_id)).all())
    assert by_author == {"bigvoice": SAM, MARIA.username: ANA}
    fake_slack.wait_for("chat.postMessage", count=2)
    vip_card = next(card for card in fake_slack.messages(CHANNEL) if "bigvoice" in visible_text(card))
    assert f"Assigned to <@{SAM}> by rotation" in visible_text(vip_card)


def test_a_repeated_breach_reminder_walks_the_rotation_then_reaches_the_managers(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database, tmp_path: Path
) -> None:
    start = whole_second() - timedelta(hours=1)
    rotations = write(
        tmp_path / "rotations.toml",
        f'[[rotation]]\nname = "Care"\npeople = ["{ANA}", "{BEN}", "{CAT}"]\nstarts = {stamp(start)}\n',
    )
    desk = Desk(
        start_heard(
            ROTATIONS_FILE=rotations,
            AUTO_ASSIGN="round-robin",
            HEARD_MANAGERS=BOSS,
            ACK_WINDOW="3s",
            NAG_BEFORE="1s",
            BREACH_REPEAT="2s",
            BREACH_REPEATS="3",
            ALERT_INTERVAL="1s",
            HEARD_THREAD_LOG="off",
        ),
        fake_slack,
    )
    desk.complain()
    breach = "Not acknowledged in time"

    def alerted(user: str, count: int = 1) -> None:
        fake_slack.wait_for(
            "chat.postMessage",
            where=lambda c: c.args.get("channel") == user and breach in visible_text(c.args),
            count=count,
            timeout=12,
        )

    alerted(BOSS)  # the breach: the managers, as today
    alerted(BEN)  # reminder 1: the next on Ana's rotation
    alerted(CAT)  # reminder 2: the one after
    # Reminder 3: back to the managers (posted, or added to the alert message they already have).
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline and len(reminders(database)) < 3:
        time.sleep(0.2)
    assert reminders(database) == [BEN, CAT, None]
    with database.unit_of_work() as session:
        to_boss = session.scalars(select(Delivery.payload).where(Delivery.kind == "breach")).all()
    assert any(p.get("to") == BOSS and p.get("reminder") == 3 for p in to_boss), to_boss
    assert not [m for m in fake_slack.dms(ANA) if breach in visible_text(m)]


def reminders(database: Database) -> list[str | None]:
    with database.unit_of_work() as session:
        details = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "breach reminder").order_by(AuditEvent.id)
        ).all()
    return [detail.get("to") for detail in details]
