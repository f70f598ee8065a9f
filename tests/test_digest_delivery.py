"""The managers' digest arrives at DIGEST_AT through the real scheduler: a DM per manager with the figures, then the
chart uploaded as a PNG with alt text — once per day and recipient, across restarts and several copies."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from app import Heard
from sandbox.fake_slack import FakeSlack
from storage.db import Database
from storage.models import DigestRun
from tests.care_team import visible_text
from tests.conftest import INGEST_SECRET
from tests.support import Ingester

BOSS, DEPUTY = "U0BOSS", "U0DEPUTY"
MANAGERS = {"HEARD_MANAGERS": f"{BOSS},{DEPUTY}"}


def yesterday_at(hour: int) -> str:
    moment = (datetime.now(UTC) - timedelta(days=1)).replace(hour=hour, minute=5, second=0, microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def digests_to(fake: FakeSlack, user: str) -> list[dict]:
    return [m for m in fake.dms(user) if "digest" in visible_text(m).lower() and not m.get("files")]


def charts_to(fake: FakeSlack, user: str) -> list[dict]:
    return [f for f in fake.files() if fake.dm_channel(user) in f["channels"]]


def file_yesterdays_complaints(customer: Ingester) -> None:
    for hour, text in ((9, "My refund is three weeks late"), (9, "The app crashes at login"), (15, "Wrong parcel")):
        assert customer.complain(text=text, created_at=yesterday_at(hour)).status == 202


def test_the_digest_arrives_at_digest_at_with_its_chart_once_per_manager(
    start_heard: Callable[..., Heard], customer: Ingester, fake_slack: FakeSlack, database: Database
) -> None:
    file_yesterdays_complaints(customer)
    soon = datetime.now(UTC) + timedelta(seconds=3)
    heard = start_heard(**MANAGERS, DIGEST_AT=soon.strftime("%H:%M:%S"))
    del heard  # the scheduler armed for DIGEST_AT does the rest

    for manager in (BOSS, DEPUTY):
        fake_slack.wait_for(
            "files.completeUploadExternal",
            count=2,
            timeout=20,
        )
        [digest] = digests_to(fake_slack, manager)
        text = visible_text(digest)
        assert "Daily digest" in text and "3" in text
        [chart] = charts_to(fake_slack, manager)
        assert chart["content"].startswith(b"\x89PNG") and chart["alt_txt"]
        assert chart["name"].endswith(".png")
    with database.unit_of_work() as session:
        runs = session.scalars(select(DigestRun)).all()
    assert len(runs) == 2
    # Claimed at DIGEST_AT (the scheduler's wake-up), not at start-up and not at the next 10-second sweep.
    assert all(soon - timedelta(seconds=1) <= run.created_at <= soon + timedelta(seconds=2) for run in runs)


def test_a_restart_and_a_second_copy_do_not_send_it_again(
    start_heard: Callable[..., Heard], customer: Ingester, fake_slack: FakeSlack, database: Database
) -> None:
    file_yesterdays_complaints(customer)
    passed = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
    first = start_heard(**MANAGERS, DIGEST_AT=passed)
    fake_slack.wait_for("files.completeUploadExternal", count=2, timeout=20)
    first.stop()

    start_heard(**MANAGERS, DIGEST_AT=passed)
    start_heard(**MANAGERS, DIGEST_AT=passed)
    time.sleep(2)  # both copies have swept at start-up; nothing new may appear

    assert len(digests_to(fake_slack, BOSS)) == 1 and len(digests_to(fake_slack, DEPUTY)) == 1
    assert len(charts_to(fake_slack, BOSS)) == 1
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 2


def test_a_quiet_day_still_gets_a_short_digest_without_a_chart(
    start_heard: Callable[..., Heard], customer: Ingester, fake_slack: FakeSlack
) -> None:
    assert customer.complain(text="Posted today, not yesterday").status == 202
    passed = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
    start_heard(HEARD_MANAGERS=BOSS, DIGEST_AT=passed)

    fake_slack.wait_for("chat.postMessage", where=lambda call: call.args.get("channel") == BOSS, timeout=10)
    [digest] = digests_to(fake_slack, BOSS)
    assert "No complaints" in visible_text(digest)
    time.sleep(1)
    assert charts_to(fake_slack, BOSS) == []


def test_without_managers_the_digest_goes_to_digest_channel(
    start_heard: Callable[..., Heard], customer: Ingester, fake_slack: FakeSlack
) -> None:
    file_yesterdays_complaints(customer)
    passed = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
    start_heard(DIGEST_AT=passed, DIGEST_CHANNEL="C0MANAGERS")

    fake_slack.wait_for("files.completeUploadExternal", timeout=20)
    assert any("Daily digest" in visible_text(m) for m in fake_slack.messages("C0MANAGERS"))
    assert any("C0MANAGERS" in f["channels"] for f in fake_slack.files())


def test_on_mondays_the_weekly_summary_comes_too_when_switched_on(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC), tick=True):  # a Monday
        heard = start_heard(HEARD_MANAGERS=BOSS, DIGEST_AT="09:00", WEEKLY_DIGEST="on")
        customer = Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET)
        for day in (17, 19, 21):
            assert customer.complain(text="Parcel lost again", created_at=f"2026-11-{day}T10:00:00Z").status == 202
        heard.scheduler.sweep()

        fake_slack.wait_for(
            "chat.postMessage",
            count=2,
            where=lambda c: c.args.get("channel") == BOSS and "digest" in visible_text(c.args).lower(),
            timeout=15,
        )
        shown = [visible_text(m) for m in digests_to(fake_slack, BOSS)]

    assert len(shown) == 2
    assert any("Weekly digest · 16\N{THIN SPACE}–\N{THIN SPACE}22 Nov 2026" in text for text in shown)
    assert any("Daily digest" in text and "Weekly" not in text for text in shown)
