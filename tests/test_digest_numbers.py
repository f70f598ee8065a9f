"""The managers' digest: its numbers against hand-computed expectations in the real migrated database (SQLite, and
PostgreSQL with TEST_DATABASE_URL), its local-day boundaries across time zones and DST, its chart and its message.

The main scenario (HEARD_TZ America/New_York, EST = UTC-5, ACK_WINDOW 60 min) reports Tuesday 10 Nov 2026 at
08:00 on Wednesday 11 Nov, against Monday 9 Nov. All times below are local unless they say UTC.
"""

from __future__ import annotations

import dataclasses
import struct
from datetime import UTC, date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.blocks.digest import digest_message
from bot.digest import (
    Breach,
    Counted,
    Digest,
    FollowUpDue,
    HourCount,
    OwnerBacklog,
    chart_alt_text,
    compute_digest,
    period_of,
    quantile,
    render_chart,
)
from bot.lifecycle import Action
from sandbox.fake_slack import MAX_ALT_TEXT, validate_blocks
from storage.db import Database
from storage.models import AuditEvent, Complaint, Escalation, FollowUp

NEW_YORK = ZoneInfo("America/New_York")
WINDOW = timedelta(minutes=60)
RESOLVE_WINDOW = timedelta(hours=24)
DAY = date(2026, 11, 10)  # a Tuesday
NOW = datetime(2026, 11, 11, 8, 0, tzinfo=NEW_YORK).astimezone(UTC)
PERMALINK = "https://acme.slack.com/archives/C0COMPLAINTS/p{}"
_ids = count(1)


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def add_complaint(
    session: Session,
    posted: datetime,
    *,
    source: str = "x",
    category: str | None = None,
    acked_after: timedelta | None = None,
    resolved: datetime | None = None,
    owner: str | None = None,
    handle: str | None = None,
) -> Complaint:
    number = next(_ids)
    acknowledged_at = posted + acked_after if acked_after is not None else None
    if resolved is not None and acknowledged_at is None:
        acknowledged_at = resolved  # resolving acknowledges, as bot.lifecycle does
    status = "resolved" if resolved is not None else "acknowledged" if acknowledged_at is not None else "new"
    complaint = Complaint(
        source=source,
        external_id=f"post-{number}",
        author_handle=handle or f"customer{number}",
        text="It broke.",
        posted_at=posted,
        received_at=posted + timedelta(seconds=2),
        status=status,
        owner_id=owner,
        acknowledged_by="U0AGENT" if acknowledged_at else None,
        acknowledged_at=acknowledged_at,
        ack_deadline=posted + WINDOW,
        resolve_deadline=posted + RESOLVE_WINDOW,
        resolved_by="U0AGENT" if resolved else None,
        resolved_at=resolved,
        category=category,
        slack_channel="C0COMPLAINTS",
        slack_ts=f"1700000000.{number:06d}",
        slack_permalink=PERMALINK.format(number),
    )
    session.add(complaint)
    session.flush()
    return complaint


def add_event(session: Session, complaint: Complaint, action: Action, at: datetime, **detail: object) -> None:
    session.add(
        AuditEvent(
            complaint_id=complaint.id, at=at, actor="scheduler", action=action.value, surface="scheduler", detail=detail
        )
    )


def add_escalation(session: Session, complaint: Complaint, department: str, at: datetime) -> None:
    session.add(
        Escalation(
            complaint_id=complaint.id,
            department_key=department.lower(),
            department_name=department,
            reason="needs them",
            severity="high",
            status="open",
            requested_by="U0AGENT",
            requested_at=at,
        )
    )


def add_follow_up(session: Session, complaint: Complaint, due: datetime, status: str, assignee: str) -> None:
    session.add(
        FollowUp(
            complaint_id=complaint.id,
            due_at=due,
            note="",
            assignee=assignee,
            scheduled_by="U0AGENT",
            scheduled_at=due - timedelta(days=2),
            status=status,
        )
    )


@pytest.fixture
def tuesday(database: Database) -> Database:
    arrange_tuesday(database)
    return database


def arrange_tuesday(database: Database) -> None:
    """The main scenario; comments give what each row is there to show."""
    with database.unit_of_work() as s:
        # Tuesday's seven complaints: acknowledged after 5, 10, 20, 20, 45 and 90 minutes, and one never.
        c1 = add_complaint(s, ny(11, 10, 9, 10), category="delivery", acked_after=minutes(5), resolved=ny(11, 10, 11))
        add_complaint(s, ny(11, 10, 9, 40), category="delivery", acked_after=minutes(10), owner="U0ANA")
        c3 = add_complaint(
            s,
            ny(11, 10, 10, 5),
            source="facebook",
            category="billing",
            acked_after=minutes(20),
            resolved=ny(11, 10, 13, 5),
        )
        c4 = add_complaint(s, ny(11, 10, 10, 30), source="webhook", acked_after=minutes(20), owner="U0ANA")
        c5 = add_complaint(s, ny(11, 10, 14), category="billing", acked_after=minutes(45), owner="U0BEN")
        c6 = add_complaint(s, ny(11, 10, 16, 15), source="facebook", acked_after=minutes(90), owner="U0BEN")
        # 03:30 UTC on Wednesday is 22:30 on Tuesday in New York: Tuesday's. Its handle is hostile.
        c7 = add_complaint(
            s, datetime(2026, 11, 11, 3, 30, tzinfo=UTC), category="delivery", handle="<!channel> *gotcha*"
        )
        # Monday's four (o2 below is one): 03:30 UTC on Tuesday is 22:30 on Monday. Acknowledged after 30, 10, 40, 30.
        p1 = add_complaint(
            s, datetime(2026, 11, 10, 3, 30, tzinfo=UTC), acked_after=minutes(30), resolved=ny(11, 9, 23, 30)
        )
        p2 = add_complaint(s, ny(11, 9, 10), category="delivery", acked_after=minutes(10), resolved=ny(11, 10, 8))
        add_complaint(s, ny(11, 9, 9, 20), source="instagram", category="billing", acked_after=minutes(40))
        # o1 (Sunday's) resolved on Tuesday after 48 hours; o2 (Monday's) still open, its resolve clock breached.
        o1 = add_complaint(s, ny(11, 8, 12), acked_after=minutes(15), resolved=ny(11, 10, 12))
        o2 = add_complaint(s, ny(11, 9, 6), acked_after=minutes(30), owner="U0ANA")

        add_event(s, c6, Action.BREACH, ny(11, 10, 17, 15), clock="acknowledge", stage=3)
        add_event(s, c7, Action.BREACH, ny(11, 10, 23, 30), clock="acknowledge", stage=3)
        add_event(s, c7, Action.REMIND, ny(11, 11, 0, 30), clock="acknowledge", stage=4)  # not a breach
        add_event(s, o2, Action.BREACH, ny(11, 10, 6), clock="resolve", stage=1)
        add_event(s, o1, Action.BREACH, ny(11, 9, 1), clock="resolve", stage=1)  # Monday's one breach
        add_event(s, c1, Action.ACKNOWLEDGE, ny(11, 10, 9, 15))  # other events do not count

        add_escalation(s, c3, "Legal", ny(11, 10, 11))
        add_escalation(s, c5, "Product", ny(11, 10, 15))
        add_escalation(s, c6, "Legal", ny(11, 10, 18))
        add_escalation(s, p2, "Legal", ny(11, 9, 12))

        add_follow_up(s, o2, ny(11, 11, 10), "scheduled", "U0ANA")  # due today
        add_follow_up(s, p1, ny(11, 11, 7), "sent", "U0BEN")  # due today, already reminded
        add_follow_up(s, c1, ny(11, 11, 9), "done", "U0ANA")  # done: not listed
        add_follow_up(s, c3, ny(11, 12, 0, 30), "scheduled", "U0ANA")  # tomorrow
        add_follow_up(s, c4, datetime(2026, 11, 11, 3, 0, tzinfo=UTC), "sent", "U0ANA")  # 22:00 Tuesday: overdue
        add_follow_up(s, c5, ny(11, 11, 11), "cancelled", "U0ANA")


def digest_for(
    database: Database, day: date = DAY, tz: ZoneInfo = NEW_YORK, now: datetime = NOW, days: int = 1
) -> Digest:
    with database.unit_of_work() as session:
        return compute_digest(session, day=day, tz=tz, now=now, ack_window=WINDOW, days=days)


def test_the_day_in_numbers(tuesday: Database) -> None:
    digest = digest_for(tuesday)

    assert digest.period.start == datetime(2026, 11, 10, 5, 0, tzinfo=UTC)
    assert digest.period.end == datetime(2026, 11, 11, 5, 0, tzinfo=UTC)
    assert digest.previous_period.first_day == date(2026, 11, 9)
    today = digest.current
    assert today.received == 7
    assert today.acknowledged == 6
    assert today.acknowledged_in_window == 5  # the 90-minute one missed the 60-minute window
    assert today.acknowledged_in_window_pct == pytest.approx(100 * 5 / 7)
    # Sorted: 5, 10, 20, 20, 45, 90 -> median (20 + 20) / 2; p90 at rank 0.9 * 5 = 4.5: 45 + 0.5 * (90 - 45).
    assert today.ack_median == minutes(20)
    assert today.ack_p90 == minutes(67.5)
    assert sorted(digest.ack_seconds) == [300, 600, 1200, 1200, 2700, 5400]
    # Resolved on Tuesday: c1 after 1 h 50, c3 after 3 h, p2 (Monday's) after 22 h, o1 after 48 h.
    assert today.resolved == 4
    assert today.resolve_median == timedelta(hours=12, minutes=30)
    assert today.breaches == 3
    assert today.escalations == 3
    assert today.per_hour[9] == 2 and today.per_hour[10] == 2
    assert today.per_hour[14] == today.per_hour[16] == today.per_hour[22] == 1
    assert sum(today.per_hour) == 7

    monday = digest.previous
    assert (monday.received, monday.acknowledged, monday.acknowledged_in_window) == (4, 4, 4)
    # Sorted: 10, 30, 30, 40 -> median 30; p90 at rank 0.9 * 3 = 2.7: 30 + 0.7 * 10.
    assert monday.ack_median == minutes(30)
    assert monday.ack_p90 == minutes(37)
    assert (monday.resolved, monday.resolve_median) == (1, timedelta(hours=1))
    assert (monday.breaches, monday.escalations) == (1, 1)
    assert {hour: n for hour, n in enumerate(monday.per_hour) if n} == {6: 1, 9: 1, 10: 1, 22: 1}

    assert digest.top_sources == (Counted("x", 4, 3), Counted("facebook", 2, 0), Counted("webhook", 1, 0))
    assert digest.top_categories == (
        Counted("delivery", 3, 1),
        Counted("billing", 2, 1),
        Counted("uncategorised", 2, 2),
    )
    assert digest.busiest_hours == (HourCount(9, 2, 1), HourCount(10, 2, 1), HourCount(14, 1, 0))
    assert digest.escalations_by_department == (Counted("Legal", 2, 1), Counted("Product", 1, 0))


def test_breaches_say_how_late(tuesday: Database) -> None:
    digest = digest_for(tuesday)

    # Still unmet first, the latest first: o2 (resolve deadline Tuesday 06:00, still open at Wednesday 08:00),
    # c7 (never acknowledged; deadline 23:30); then c6 (acknowledged 30 minutes after its deadline).
    assert [(b.clock, b.late, b.still_open) for b in digest.breaches] == [
        ("resolve", timedelta(hours=26), True),
        ("acknowledge", timedelta(hours=8, minutes=30), True),
        ("acknowledge", minutes(30), False),
    ]
    second = digest.breaches[1]
    assert isinstance(second, Breach)
    assert second.author_handle == "<!channel> *gotcha*"
    assert second.permalink is not None and second.permalink.startswith("https://acme.slack.com/")


def test_the_state_now(tuesday: Database) -> None:
    digest = digest_for(tuesday)

    # Open: c2, c4, o2 (Ana), c5, c6 (Ben), c7 (unclaimed, not acknowledged) and Monday's p3 (unclaimed).
    assert digest.open_total == 7
    assert digest.backlog == (
        OwnerBacklog(None, 2, 1),
        OwnerBacklog("U0ANA", 3, 0),
        OwnerBacklog("U0BEN", 2, 0),
    )
    oldest = digest.oldest_open
    assert oldest is not None
    assert oldest.posted_at == ny(11, 9, 6)
    assert oldest.age == timedelta(hours=50)
    assert oldest.owner_id == "U0ANA"
    assert [(f.assignee, f.due_at, f.status) for f in digest.follow_ups_today] == [
        ("U0BEN", ny(11, 11, 7), "sent"),
        ("U0ANA", ny(11, 11, 10), "scheduled"),
    ]
    assert all(isinstance(item, FollowUpDue) for item in digest.follow_ups_today)
    assert digest.follow_ups_today_total == 2
    assert digest.follow_ups_overdue == 1


def test_the_message_reads_and_fits(tuesday: Database) -> None:
    digest = digest_for(tuesday)
    message = digest_message(digest, NEW_YORK, NOW)

    assert validate_blocks(message.blocks) == []
    text = str(message.blocks)
    assert "Daily digest · Tuesday 10 Nov" in text
    assert "*Received*\\n7 (+3 vs Monday)" in text
    assert "5 of 7 · 71% (\N{MINUS SIGN}29 pts vs Monday)" in text
    assert "median 20 mins (\N{MINUS SIGN}10 mins vs Monday)" in text
    assert "*Breaches*\\n3 (+2 vs Monday)" in text
    assert f"<{digest.breaches[2].permalink}|#{digest.breaches[2].complaint_id}> @customer" in text
    assert "acknowledged 30 mins late" in text and "not resolved yet, 1 day 2 hrs past the deadline" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "Unclaimed: 2 (1 not acknowledged)" in text
    assert "<@U0ANA>: 3" in text
    assert "Follow-ups due today: 2* (and 1 overdue from earlier days)" in text
    assert "x 4 (+1)" in text and "uncategorised 2 (\N{PLUS-MINUS SIGN}0)" in text
    assert "09:00\N{EN DASH}10:00 2 (+1)" in text
    assert "Legal: 2 (+1)" in text
    assert message.text.startswith("Daily digest · Tuesday 10 Nov: 7 complaints, 71% acknowledged")


def test_the_chart_is_a_png_of_sensible_size(tuesday: Database) -> None:
    digest = digest_for(tuesday)

    png = render_chart(digest, WINDOW)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1100, 420)
    assert 10_000 < len(png) < 500_000
    alt = chart_alt_text(digest)
    assert len(alt) <= MAX_ALT_TEXT
    assert "median 20 mins" in alt and "09:00 (2)" in alt and "1 hr window" in alt


def test_a_quiet_day_still_gets_a_short_digest(tuesday: Database) -> None:
    # Wednesday 11 Nov: nothing posted or resolved, but c2's resolve clock (posted Tuesday 09:40) breached at 09:40;
    # the digest goes out on Thursday at 08:00 and Tuesday's backlog is still open.
    with tuesday.unit_of_work() as s:
        c2 = s.scalars(select(Complaint).where(Complaint.posted_at == ny(11, 10, 9, 40))).one()
        add_event(s, c2, Action.BREACH, ny(11, 11, 9, 40), clock="resolve", stage=1)
    now = ny(11, 12, 8)
    digest = digest_for(tuesday, day=date(2026, 11, 11), now=now)
    assert digest.quiet
    assert digest.current.received == 0 and digest.current.ack_median is None
    assert digest.follow_ups_today_total == 1 and digest.follow_ups_overdue == 3
    message = digest_message(digest, NEW_YORK, now)

    assert validate_blocks(message.blocks) == []
    assert len(message.blocks) <= 8
    text = str(message.blocks)
    assert "*No complaints yesterday.* (Tuesday: 7)" in text
    assert "Of older complaints: 1 breach." in text
    assert f"<{c2.slack_permalink}|#{c2.id}> @customer" in text
    assert "not resolved yet, 22 hrs 20 mins past the deadline" in text
    assert "Open now: 7" in text
    assert "Follow-ups due today: 1* (and 3 overdue from earlier days)" in text
    assert "Top sources" not in text
    assert message.text == "Daily digest: no complaints yesterday; 7 open now."
    assert render_chart(digest, WINDOW).startswith(b"\x89PNG")
    assert "No complaints were posted" in chart_alt_text(digest)


def test_an_empty_database(database: Database) -> None:
    digest = digest_for(database)
    message = digest_message(digest, NEW_YORK, NOW)
    assert digest.quiet and digest.open_total == 0 and digest.oldest_open is None
    assert validate_blocks(message.blocks) == []
    assert "Open now: none" in str(message.blocks)


def test_a_week(tuesday: Database) -> None:
    # The week Wednesday 4 .. Tuesday 10 Nov holds Monday's and Tuesday's complaints and o1 (Sunday 8 Nov).
    digest = digest_for(tuesday, days=7)
    assert digest.weekly
    assert (digest.period.first_day, digest.period.last_day) == (date(2026, 11, 4), DAY)
    assert digest.previous_period.last_day == date(2026, 11, 3)
    assert digest.current.received == 12
    assert digest.previous.received == 0
    assert digest.current.breaches == 4
    message = digest_message(digest, NEW_YORK, NOW)
    assert validate_blocks(message.blocks) == []
    # The period as Babel's locale data writes a range of days (en_GB: thin spaces around the dash).
    assert message.blocks[0]["text"]["text"] == "Weekly digest · 4\N{THIN SPACE}\N{EN DASH}\N{THIN SPACE}10 Nov 2026"
    assert "(+12 vs the week before)" in str(message.blocks)


@pytest.mark.parametrize(
    ("day", "hours", "expected"),
    [
        # Spring forward: 02:00 EST becomes 03:00 EDT; the day has 23 hours and no 02:00.
        (date(2026, 3, 8), 23, {0: 1, 1: 1, 3: 1, 23: 1}),
        # Fall back: 02:00 EDT becomes 01:00 EST; the day has 25 hours and two 01:00s.
        (date(2026, 11, 1), 25, {0: 1, 1: 2, 23: 1}),
    ],
)
def test_days_across_a_dst_change(database: Database, day: date, hours: int, expected: dict[int, int]) -> None:
    utc = {
        date(2026, 3, 8): [
            datetime(2026, 3, 8, 4, 59, tzinfo=UTC),  # 23:59 EST on the 7th: the day before
            datetime(2026, 3, 8, 5, 0, tzinfo=UTC),  # 00:00 EST
            datetime(2026, 3, 8, 6, 59, tzinfo=UTC),  # 01:59 EST
            datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # 03:00 EDT
            datetime(2026, 3, 9, 3, 59, tzinfo=UTC),  # 23:59 EDT
            datetime(2026, 3, 9, 4, 0, tzinfo=UTC),  # 00:00 EDT on the 9th: the day after
        ],
        date(2026, 11, 1): [
            datetime(2026, 11, 1, 3, 59, tzinfo=UTC),  # 23:59 EDT on 31 Oct: the day before
            datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # 00:00 EDT
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT
            datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # 01:30 EST, the second time round
            datetime(2026, 11, 2, 4, 59, tzinfo=UTC),  # 23:59 EST
            datetime(2026, 11, 2, 5, 0, tzinfo=UTC),  # 00:00 EST on the 2nd: the day after
        ],
    }[day]
    with database.unit_of_work() as s:
        for posted in utc:
            add_complaint(s, posted, acked_after=minutes(10))
    digest = digest_for(database, day=day, now=datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC))

    assert digest.period.end - digest.period.start == timedelta(hours=hours)
    assert digest.current.received == 4
    assert {hour: n for hour, n in enumerate(digest.current.per_hour) if n} == expected
    assert digest.previous.received == 1  # the 23:59 the day before


def test_a_day_whose_midnight_is_skipped() -> None:
    # Cuba moves its clocks from 00:00 straight to 01:00: 10 March 2024 begins at 01:00 CDT and lasts 23 hours.
    havana = ZoneInfo("America/Havana")
    day = period_of(date(2024, 3, 10), havana)
    assert day.start == datetime(2024, 3, 10, 5, 0, tzinfo=UTC)
    assert day.end - day.start == timedelta(hours=23)


def test_a_half_hour_time_zone(database: Database) -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+5:30: local hours begin at half past in UTC
    with database.unit_of_work() as s:
        add_complaint(s, datetime(2026, 11, 9, 18, 29, 59, tzinfo=UTC))  # 23:59:59 on the 9th: the day before
        add_complaint(s, datetime(2026, 11, 9, 18, 30, tzinfo=UTC))  # 00:00 on the 10th
        add_complaint(s, datetime(2026, 11, 10, 4, 29, tzinfo=UTC))  # 09:59
        add_complaint(s, datetime(2026, 11, 10, 4, 30, tzinfo=UTC))  # 10:00
    digest = digest_for(database, tz=kolkata, now=datetime(2026, 11, 11, 3, 0, tzinfo=UTC))

    assert digest.current.received == 3
    assert {hour: n for hour, n in enumerate(digest.current.per_hour) if n} == {0: 1, 9: 1, 10: 1}
    assert digest.previous.per_hour[23] == 1


def test_quantiles_interpolate() -> None:
    assert quantile([], 0.5) is None
    assert quantile([7.0], 0.9) == 7.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([10.0, 30.0, 40.0], 0.9) == pytest.approx(38.0)


def test_long_lists_are_cut_to_fit_block_kit(tuesday: Database) -> None:
    digest = digest_for(tuesday)
    long_link = "https://acme.slack.com/archives/C0COMPLAINTS/p" + "1" * 440
    breaches = tuple(Breach(n, "acknowledge", "ü" * 300, long_link, NOW, minutes(n), n % 2 == 0) for n in range(1, 501))
    owners = tuple(OwnerBacklog(f"U{n:08d}", 600 - n, n % 3) for n in range(1, 300))
    departments = tuple(Counted("Department of " + "x" * 200 + str(n), n, n - 1) for n in range(40))
    crowded = dataclasses.replace(
        digest,
        breaches=breaches,
        current=dataclasses.replace(digest.current, breaches=1234),
        backlog=owners,
        open_total=sum(row.open for row in owners),
        escalations_by_department=departments,
        top_sources=tuple(Counted("s" * 300, 9, 1) for _ in range(5)),
    )
    message = digest_message(crowded, NEW_YORK, NOW)

    assert validate_blocks(message.blocks) == []
    text = str(message.blocks)
    assert "and 1,2" in text and "more" in text  # 1,234 breaches, a few shown
    assert "owners" in text
