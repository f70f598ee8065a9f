"""`/complaints digest` previews today's digest for whoever asks; `/complaints export` sends managers a CSV file by
DM, built from the database when it is sent (formulas in complaint text defused)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sandbox.fake_slack import FakeSlack
from tests.test_lookups import ANA, BOSS, Desk, desk, iso, shown

__all__ = ["desk"]  # the fixture, shared with test_lookups


def test_digest_previews_yesterday_for_the_person_asking(desk: Desk, fake_slack: FakeSlack) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    desk.complain(text="My refund never came", created_at=iso(yesterday.replace(hour=10)))
    desk.complain(text="Still waiting", created_at=iso(yesterday.replace(hour=11)))

    answer = shown(desk.ask("digest"))

    assert "Daily digest" in answer and "2" in answer
    # A preview, not the digest itself (the manager's DMs hold only the breach alerts for these late complaints).
    assert not [m for m in fake_slack.dms(BOSS) if "digest" in shown(m).lower()]


def test_a_manager_gets_the_export_as_a_csv_file_by_dm(desk: Desk, fake_slack: FakeSlack) -> None:
    desk.complain(text='=HYPERLINK("http://evil.example","click")', author={"handle": "mallory"})
    desk.complain(text="Parcel lost, please help", author={"handle": "maria"})

    answer = shown(desk.ask("export 30d", user=BOSS))

    assert "on its way to you in a direct message" in answer
    fake_slack.wait_for("files.completeUploadExternal", timeout=10)
    [exported] = fake_slack.files()
    assert fake_slack.dm_channel(BOSS) in exported["channels"]
    assert exported["name"].endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(exported["content"].decode("utf-8"))))
    assert [row["author_handle"] for row in rows] == ["mallory", "maria"]
    assert rows[0]["text"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it


def test_export_is_for_managers_only_and_says_which_periods_exist(desk: Desk, fake_slack: FakeSlack) -> None:
    refused = shown(desk.ask("export", user=ANA))
    assert "Only managers can export complaints." in refused and "add you to HEARD_MANAGERS" in refused
    assert "`7d` or `30d`" in shown(desk.ask("export 1y", user=BOSS))
    assert fake_slack.files() == []
