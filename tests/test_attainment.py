"""SLA attainment per agent and for the team, end to end: `/complaints stats`, the digest (its message and its
chart's alt text) and the attainment CSV, against a small data set computed by hand (wall-clock and business hours),
on SQLite and PostgreSQL; and the open-time arithmetic against the calendar's own.

The wall-clock scenario (HEARD_TZ UTC, ACK_WINDOW 60m, RESOLVE_WINDOW 24h) is looked at on Wednesday 11 Nov 2026
at 10:00; the digest reports Tuesday 10 Nov. ANA and BEN are agents; "unclaimed" collects the missed clocks of
complaints nobody owns.

    complaint  posted     acknowledged        resolved              owner  ack clock           resolve clock
    a1         Tue 09:00  Ana 09:20 (20 min)  Ana Tue 12:00 (3 h)   Ana    in time             in time
    a2         Tue 10:00  Ana 11:30 (90 min)  Ben Wed 09:00 (23 h)  Ana    late (Ana)          in time (Ben)
    b1         Tue 11:00  Ben 11:10 (10 min)  -                     Ben    in time             pending (Ben)
    u1         Tue 12:00  -                   -                     -      missed (unclaimed)  pending (unclaimed)
    o1         Mon 08:00  -                   -                     Ana    missed (Ana)        missed (Ana)
    n1         Wed 09:30  -                   -                     -      pending (unclaimed) pending (unclaimed)

Team over the 7 days: acknowledged 2 of 5 due in time (40%), times 10, 20, 90 min: median 20 min, 90th percentile
20 + 0.8 x 70 = 76 min; resolved 2 of 3 due (67%), times 3 h and 23 h: median 13 h, 90th percentile 21 h.
Ana: acknowledged 1 of 3 (33%), times 20 and 90 min: median 55 min, 90th 83 min; resolved 1 of 2 (50%), 3 h.
Ben: acknowledged 1 of 1, 10 min; resolved 1 of 1, 23 h, and b1 still in its window.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import update

from app import Heard
from bot.attainment import _OpenTime, compute_attainment
from bot.blocks.digest import digest_message
from bot.business_hours import BusinessCalendar
from bot.digest import compute_digest
from bot.export import ATTAINMENT_COLUMNS
from sandbox.fake_slack import FakeSlack, validate_blocks
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import Complaint
from tests.care_team import visible_text
from tests.conftest import INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester
from tests.test_lookups import ANA, BEN, BOSS, Desk, iso, shown

NOW = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)  # a Wednesday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def travel() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def team_desk(travel: None, start_heard: Callable[..., Heard], fake_slack: FakeSlack) -> Callable[..., Desk]:
    def start(**overrides: str) -> Desk:
        heard = start_heard(HEARD_AGENTS=f"{ANA},{BEN}", HEARD_MANAGERS=BOSS, **overrides)
        base = f"http://127.0.0.1:{heard.port}"
        return Desk(
            fake_slack,
            SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack),
            Ingester(f"{base}/ingest", INGEST_SECRET),
            heard,
        )

    return start


def arrange(desk: Desk, database: Database, posted: datetime, **values: Any) -> int:
    """A complaint filed through /ingest (so its deadlines are Heard's own), then acknowledged, resolved or owned as
    the scenario says (the clicks themselves are tested elsewhere; their effect on these columns is the point)."""
    complaint_id = desk.complain(text="It broke", created_at=iso(posted))
    if values.get("resolved_at") is not None:
        values["status"] = "resolved"
    elif values.get("acknowledged_at") is not None:
        values["status"] = "acknowledged"
    if values:
        with database.unit_of_work() as session:
            session.execute(update(Complaint).where(Complaint.id == complaint_id).values(**values))
    return complaint_id


def arrange_week(desk: Desk, database: Database) -> None:
    arrange(desk, database, at(10, 9), acknowledged_at=at(10, 9, 20), acknowledged_by=ANA, owner_id=ANA,
            resolved_at=at(10, 12), resolved_by=ANA)  # fmt: skip
    arrange(desk, database, at(10, 10), acknowledged_at=at(10, 11, 30), acknowledged_by=ANA, owner_id=ANA,
            resolved_at=at(11, 9), resolved_by=BEN)  # fmt: skip
    arrange(desk, database, at(10, 11), acknowledged_at=at(10, 11, 10), acknowledged_by=BEN, owner_id=BEN)
    arrange(desk, database, at(10, 12))
    arrange(desk, database, at(9, 8), owner_id=ANA)
    arrange(desk, database, at(11, 9, 30))


def lines_of(text: str) -> list[str]:
    return [line.strip().removeprefix("• ") for line in text.splitlines()]


# -- /complaints stats -------------------------------------------------------------------------------------------------


def test_stats_show_attainment_per_agent_and_team_by_day(
    team_desk: Callable[..., Desk], database: Database, fake_slack: FakeSlack
) -> None:
    desk = team_desk()
    arrange_week(desk, database)

    answer = desk.ask("stats 7d")
    assert validate_blocks(answer["blocks"]) == [] and len(answer["blocks"]) <= 50
    lines = lines_of(shown(answer))

    assert ":stopwatch: *Within the windows* — acknowledge 1 hr, resolve 1 day" in lines
    assert (
        "*Team*: acknowledged 2 of 5 in time (40%), median 20 mins, 90% within 1 hr 16 mins; 1 still in the window"
        " · resolved 2 of 3 in time (67%), median 13 hrs, 90% within 21 hrs; 3 still in the window"
    ) in lines
    assert (
        f"<@{ANA}>: acknowledged 1 of 3 in time (33%), median 55 mins, 90% within 1 hr 23 mins"
        " · resolved 1 of 2 in time (50%), median 3 hrs, 90% within 3 hrs"
    ) in lines
    assert (
        f"<@{BEN}>: acknowledged 1 of 1 in time (100%), median 10 mins, 90% within 10 mins"
        " · resolved 1 of 1 in time (100%), median 23 hrs, 90% within 23 hrs; 1 still in the window"
    ) in lines
    assert ("Unclaimed: acknowledged 0 of 1 in time (0%); 1 still in the window · resolved: none due yet") in lines
    # Ana answers for the most clocks: listed first.
    first = {who: next(i for i, line in enumerate(lines) if who in line) for who in (ANA, BEN)}
    assert first[ANA] < first[BEN]

    # By day, the team: Monday's o1 missed both; Tuesday's four; Wednesday's n1 still in its windows.
    assert "*By day* (the team)" in lines
    assert "Monday 9 Nov: acknowledged 0 of 1 in time (0%) · resolved 0 of 1 in time (0%)" in lines
    assert (
        "Tuesday 10 Nov: acknowledged 2 of 4 in time (50%), median 20 mins, 90% within 1 hr 16 mins"
        " · resolved 2 of 2 in time (100%), median 13 hrs, 90% within 21 hrs; 2 still in the window"
    ) in lines
    assert "Wednesday 11 Nov: acknowledged: none due yet · resolved: none due yet" in lines
    assert "Thursday 5 Nov: acknowledged: none · resolved: none" in lines

    # Today alone: only n1, still in its windows; no breakdown for one day.
    today = shown(desk.ask("stats"))
    assert "*Team*: acknowledged: none due yet · resolved: none due yet" in today
    assert "By day" not in today and "By week" not in today

    month = lines_of(shown(desk.ask("stats 30d")))
    assert "*By week* (the team)" in month
    assert (
        "Monday 9 Nov – Wednesday 11 Nov: acknowledged 2 of 5 in time (40%), median 20 mins, 90% within 1 hr 16 mins; "
        "1 still in the window · resolved 2 of 3 in time (67%), median 13 hrs, 90% within 21 hrs; 3 still in the window"
    ) in month
    assert "Tuesday 13 Oct – Sunday 18 Oct: acknowledged: none · resolved: none" in month
    assert fake_slack.problems == []


def test_business_hours_count_open_time_only(
    team_desk: Callable[..., Desk], database: Database, fake_slack: FakeSlack
) -> None:
    """Mon-Fri 09:00-17:00 UTC, windows of 60 minutes and 8 hours (of open time).

    f1, posted Friday 6 Nov 16:30: due Monday 09:30 to acknowledge (30 min on Friday, 30 on Monday) and Monday 16:30
    to resolve. Ana acknowledged Monday 09:20 (50 min of open time; 64 h 50 min on the wall clock): in time; she
    resolved Tuesday 10:00: 30 min + 8 h + 1 h = 9 h 30 min, late.
    m1, posted Monday 9 Nov 08:00 (closed: the clocks start at 09:00): Ben acknowledged at 10:30 (1 h 30 min, late)
    and resolved at 15:00 (6 h, in time).
    Team: acknowledged 1 of 2 (50%), 50 and 90 min: median 1 h 10 min, 90th 50 + 0.9 x 40 = 86 min; resolved 1 of
    2 (50%), 6 h and 9 h 30 min: median 7 h 45 min, 90th 6 h + 0.9 x 3 h 30 min = 9 h 9 min.
    """
    desk = team_desk(BUSINESS_HOURS="Mon-Fri 09:00-17:00", RESOLVE_WINDOW="8h")
    friday = arrange(desk, database, at(6, 16, 30), acknowledged_at=at(9, 9, 20), acknowledged_by=ANA,
                     owner_id=ANA, resolved_at=at(10, 10), resolved_by=ANA)  # fmt: skip
    arrange(desk, database, at(9, 8), acknowledged_at=at(9, 10, 30), acknowledged_by=BEN, owner_id=BEN,
            resolved_at=at(9, 15), resolved_by=BEN)  # fmt: skip
    with database.unit_of_work() as session:
        complaint = session.get(Complaint, friday)
        assert complaint is not None
        assert (complaint.ack_deadline, complaint.resolve_deadline) == (at(9, 9, 30), at(9, 16, 30))

    lines = lines_of(shown(desk.ask("stats 7d")))
    assert ":stopwatch: *Within the windows* — acknowledge 1 hr, resolve 8 hrs (business hours)" in lines
    assert (
        "*Team*: acknowledged 1 of 2 in time (50%), median 1 hr 10 mins, 90% within 1 hr 26 mins"
        " · resolved 1 of 2 in time (50%), median 7 hrs 45 mins, 90% within 9 hrs 9 mins"
    ) in lines
    assert (
        f"<@{ANA}>: acknowledged 1 of 1 in time (100%), median 50 mins, 90% within 50 mins"
        " · resolved 0 of 1 in time (0%), median 9 hrs 30 mins, 90% within 9 hrs 30 mins"
    ) in lines
    assert (
        f"<@{BEN}>: acknowledged 0 of 1 in time (0%), median 1 hr 30 mins, 90% within 1 hr 30 mins"
        " · resolved 1 of 1 in time (100%), median 6 hrs, 90% within 6 hrs"
    ) in lines

    answer = shown(desk.ask("export attainment 7d", user=BOSS))
    assert "SLA attainment CSV of the last 7 days is on its way" in answer
    fake_slack.wait_for("files.completeUploadExternal", timeout=10)
    [exported] = fake_slack.files()
    rows = list(csv.DictReader(io.StringIO(exported["content"].decode("utf-8"))))
    days = {r["first_day"]: r for r in rows if r["period"] == "day" and r["scope"] == "team"}
    assert (days["2026-11-06"]["ack_median_minutes"], days["2026-11-06"]["resolve_median_minutes"]) == ("50.0", "570.0")
    assert (days["2026-11-09"]["ack_median_minutes"], days["2026-11-09"]["resolve_median_minutes"]) == ("90.0", "360.0")
    assert {r["time_counted"] for r in rows} == {"business hours"}


def test_a_long_list_of_agents_is_cut_and_says_how_many_more(
    team_desk: Callable[..., Desk], database: Database, fake_slack: FakeSlack
) -> None:
    desk = team_desk()
    agents = [f"U0AGENT{n:02d}" for n in range(14)]
    for minute, agent in enumerate(agents):
        arrange(desk, database, at(11, 8, minute), acknowledged_at=at(11, 8, 30), acknowledged_by=agent, owner_id=agent)

    answer = desk.ask("stats")
    assert validate_blocks(answer["blocks"]) == [] and len(answer["blocks"]) <= 50
    text = shown(answer)
    assert "… and 4 more agents" in text
    assert sum(f"<@{agent}>" in text for agent in agents) == 10
    assert "*Team*: acknowledged 14 of 14 in time (100%)" in text
    assert fake_slack.problems == []


# -- the digest ----------------------------------------------------------------------------------------------------


def test_the_digest_and_its_chart_show_yesterdays_attainment(
    team_desk: Callable[..., Desk], database: Database, fake_slack: FakeSlack
) -> None:
    """Tuesday alone: a1, a2, b1, u1. The team acknowledged 2 of 4 in time, resolved 2 of 2 (b1, u1 pending)."""
    desk = team_desk()
    arrange_week(desk, database)

    preview = lines_of(shown(desk.ask("digest")))
    assert "Daily digest · Tuesday 10 Nov" in " ".join(preview)
    assert (
        "*Team*: acknowledged 2 of 4 in time (50%), median 20 mins, 90% within 1 hr 16 mins"
        " · resolved 2 of 2 in time (100%), median 13 hrs, 90% within 21 hrs; 2 still in the window"
    ) in preview
    assert (
        f"<@{ANA}>: acknowledged 1 of 2 in time (50%), median 55 mins, 90% within 1 hr 23 mins"
        " · resolved 1 of 1 in time (100%), median 3 hrs, 90% within 3 hrs"
    ) in preview
    assert (
        f"<@{BEN}>: acknowledged 1 of 1 in time (100%), median 10 mins, 90% within 10 mins"
        " · resolved 1 of 1 in time (100%), median 23 hrs, 90% within 23 hrs; 1 still in the window"
    ) in preview
    assert "Unclaimed: acknowledged 0 of 1 in time (0%) · resolved: none due yet" in preview
    assert "By day" not in " ".join(preview)

    # Restarted with today's digest due (DIGEST_AT passed): sent to the manager at start-up, then its chart.
    desk.heard.stop()
    team_desk(DIGEST_AT="09:00")
    fake_slack.wait_for("files.completeUploadExternal", timeout=20)
    [digest] = [m for m in fake_slack.dms(BOSS) if "Daily digest" in visible_text(m)]
    assert validate_blocks(digest["blocks"]) == []
    assert "acknowledged 2 of 4 in time (50%)" in shown(digest)
    [chart] = [f for f in fake_slack.files() if fake_slack.dm_channel(BOSS) in f["channels"]]
    assert (
        "The title gives the team's SLA attainment: acknowledged within 1 hr 50% (2 of 4), "
        "resolved within 1 day 100% (2 of 2)." in chart["alt_txt"]
    )
    assert len(chart["alt_txt"]) <= 1000

    # The week to Tuesday (Wed 4 - Tue 10 Nov): the same people, and the team's days.
    with database.unit_of_work() as session:
        weekly = compute_digest(
            session, day=date(2026, 11, 10), tz=ZoneInfo("UTC"), now=NOW, ack_window=timedelta(hours=1), days=7
        )
    message = digest_message(weekly, ZoneInfo("UTC"), NOW)
    assert validate_blocks(message.blocks) == []
    week = lines_of(shown({"text": message.text, "blocks": message.blocks}))
    assert "*By day* (the team)" in week
    assert "Monday 9 Nov: acknowledged 0 of 1 in time (0%) · resolved 0 of 1 in time (0%)" in week
    assert "Wednesday 4 Nov: acknowledged: none · resolved: none" in week
    assert (
        "*Team*: acknowledged 2 of 5 in time (40%), median 20 mins, 90% within 1 hr 16 mins"
        " · resolved 2 of 3 in time (67%), median 13 hrs, 90% within 21 hrs; 2 still in the window"
    ) in week


# -- the CSV -----------------------------------------------------------------------------------------------------------


def test_the_attainment_csv_has_the_same_figures(
    team_desk: Callable[..., Desk], database: Database, fake_slack: FakeSlack
) -> None:
    desk = team_desk()
    arrange_week(desk, database)

    assert "`7d` or `30d`" in shown(desk.ask("export attainment 1y", user=BOSS))
    assert "Only managers" in shown(desk.ask("export attainment", user=ANA))
    assert "on its way" in shown(desk.ask("export attainment", user=BOSS))
    fake_slack.wait_for("files.completeUploadExternal", timeout=10)
    [exported] = fake_slack.files()
    assert exported["name"] == "heard-attainment-2026-11-05-to-2026-11-11.csv"
    reader = csv.reader(io.StringIO(exported["content"].decode("utf-8")))
    assert tuple(next(reader)) == ATTAINMENT_COLUMNS
    rows = [dict(zip(ATTAINMENT_COLUMNS, row, strict=True)) for row in reader]

    def row(period: str, first_day: str, scope: str, agent: str = "") -> dict[str, str]:
        key = (period, first_day, scope, agent)
        [found] = [r for r in rows if (r["period"], r["first_day"], r["scope"], r["agent"]) == key]
        return found

    # 7 days (team only where nothing happened), then the weeks: Thu 5 - Sun 8 Nov, Mon 9 - Wed 11 Nov.
    assert [r["first_day"] for r in rows if r["period"] == "week" and r["scope"] == "team"] == [
        "2026-11-05",
        "2026-11-09",
    ]
    week = row("week", "2026-11-09", "team")
    assert week["last_day"] == "2026-11-11"
    assert [week[c] for c in ATTAINMENT_COLUMNS[5:]] == [
        "5", "2", "40.0", "1", "20.0", "76.0",  # acknowledge: due, in window, %, pending, median, p90 (minutes)
        "3", "2", "66.7", "3", "780.0", "1260.0",  # resolve
        "wall clock",
    ]  # fmt: skip
    ana = row("week", "2026-11-09", "agent", ANA)
    assert [ana[c] for c in ATTAINMENT_COLUMNS[5:17]] == [
        "3", "1", "33.3", "0", "55.0", "83.0", "2", "1", "50.0", "0", "180.0", "180.0",
    ]  # fmt: skip
    ben_tuesday = row("day", "2026-11-10", "agent", BEN)
    assert [ben_tuesday[c] for c in ATTAINMENT_COLUMNS[5:17]] == [
        "1", "1", "100.0", "0", "10.0", "10.0", "1", "1", "100.0", "1", "1380.0", "1380.0",
    ]  # fmt: skip
    unclaimed = row("day", "2026-11-11", "unclaimed")
    assert [unclaimed[c] for c in ("ack_due", "ack_pending", "resolve_due", "resolve_pending")] == ["0", "1", "0", "1"]
    assert row("day", "2026-11-06", "team")["ack_due"] == "0"
    assert len([r for r in rows if r["period"] == "day" and r["scope"] == "team"]) == 7


def test_csv_cells_are_defused() -> None:
    from bot.attainment import Bucket, ClockFigures, Row
    from bot.export import _attainment_row, csv_writer

    row = Row("agent", "=cmd|' /C calc'!A0", ClockFigures(), ClockFigures())
    written = io.StringIO()
    csv_writer(written).writerow(_attainment_row(Bucket("day", date(2026, 11, 10), date(2026, 11, 10), row), row))
    assert next(csv.reader(io.StringIO(written.getvalue())))[4].startswith("'=")


# -- the arithmetic ----------------------------------------------------------------------------------------------------


def test_open_time_index_agrees_with_the_calendar_across_dst() -> None:
    paris = ZoneInfo("Europe/Paris")
    calendar = BusinessCalendar.parse("Mon-Fri 08:00-18:00, Sat 10:00-14:00", paris, [date(2026, 3, 30)])
    first = datetime(2026, 3, 20, tzinfo=UTC)
    meter = _OpenTime(calendar, first.timestamp(), (first + timedelta(days=20)).timestamp())
    for start_hours in range(0, 20 * 24 - 80, 7):
        for length_hours in (0.5, 3, 17, 49, 75):
            start = first + timedelta(hours=start_hours, minutes=13)
            end = start + timedelta(hours=length_hours)
            expected = calendar.open_time_between(start, end).total_seconds()
            assert meter.between(start.timestamp(), end.timestamp()) == pytest.approx(expected, abs=1e-3)


def test_an_empty_period_is_empty(database: Database) -> None:
    with database.unit_of_work() as session:
        attainment = compute_attainment(
            session, first_day=date(2026, 11, 2), last_day=date(2026, 11, 8), tz=ZoneInfo("UTC"), now=NOW
        )
    assert attainment.empty and len(attainment.days) == 7 and len(attainment.weeks) == 1
    assert attainment.whole.team.ack.percent is None and attainment.whole.agents == ()


def test_a_complaint_posted_at_local_midnight_is_that_days(database: Database) -> None:
    new_york = ZoneInfo("America/New_York")
    midnight = datetime(2026, 11, 10, tzinfo=new_york).astimezone(UTC)
    with database.unit_of_work() as session:
        session.add(
            Complaint(
                source="x",
                external_id="midnight",
                author_handle="owl",
                text="Up late",
                posted_at=midnight,
                received_at=midnight,
                status="acknowledged",
                acknowledged_by=ANA,
                acknowledged_at=midnight + timedelta(minutes=10),
                ack_deadline=midnight + timedelta(hours=1),
                resolve_deadline=midnight + timedelta(hours=24),
            )
        )
    with database.unit_of_work() as session:
        attainment = compute_attainment(
            session, first_day=date(2026, 11, 9), last_day=date(2026, 11, 10), tz=new_york, now=NOW
        )
    monday, tuesday = attainment.days
    assert (monday.team.ack.due, tuesday.team.ack.due, tuesday.team.ack.in_window) == (0, 1, 1)
    assert tuesday.team.ack.median == timedelta(minutes=10)
    # Not resolved by Wednesday 05:00 UTC, and nobody owns it: the missed resolution is the unclaimed one.
    assert (tuesday.team.resolve.due, tuesday.team.resolve.in_window) == (1, 0)
    [ana] = attainment.whole.agents
    assert (ana.agent, ana.ack.in_window, ana.resolve.due) == (ANA, 1, 0)
    assert attainment.whole.unclaimed is not None and attainment.whole.unclaimed.resolve.due == 1
