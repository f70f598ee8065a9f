"""Every word of a person's own views comes from the catalogs: the card's modals, the Home tab, each `/complaints`
answer, the digest with its chart's words and alt text, and the CSV headers, rendered in the pseudo-language
(every catalogued message shows inside ⟦ ⟧), with nothing but the data put in left outside the brackets.

Numbers and dates come from Babel's locale data, and translated words are cut to Block Kit's limits: a long
language cannot break a modal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import SectionBlock

from app import Heard
from bot.attainment import DAY, Attainment, Bucket, ClockFigures, Row
from bot.blocks import Message, modals
from bot.blocks.digest import digest_message
from bot.blocks.figures import day_range, number, percent
from bot.blocks.home import render_home
from bot.blocks.lookups import (
    ListKind,
    render_complaint_list,
    render_complaint_record,
    render_help,
    render_stats,
    render_who,
)
from bot.digest import (
    UNCATEGORISED,
    Breach,
    Counted,
    Digest,
    FollowUpDue,
    HourCount,
    OldestOpen,
    OwnerBacklog,
    PeriodFigures,
    WriteUpItem,
    chart_alt_text,
    chart_labels,
    chart_title,
    period_of,
)
from bot.directory import Department
from bot.export import ATTAINMENT_COLUMNS, COLUMNS, export_attainment_csv, export_csv, headers
from bot.i18n import PSEUDO, speaking
from bot.languages import Languages
from bot.lifecycle import Action, EscalationStatus, FollowUpStatus, Status
from bot.services.lookups import (
    ComplaintLine,
    ComplaintRecord,
    EscalationEntry,
    FollowUpEntry,
    HistoryEntry,
    HomeState,
    Page,
    PostEntry,
    Stats,
    TeamCounters,
    WhoAnswer,
)
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from tests.conftest import CHANNEL, SIGNING_SECRET
from tests.i18n_support import block_kit_limits, escaped_strings, leftover_words, visible_texts

TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 11, 9, 30, tzinfo=UTC)
# Words Heard takes from elsewhere: the time zone, the networks' names, the scheduler's name.
DATA = ("Europe/Paris", "Heard", "X", "x", "webhook")


def assert_catalogued(view: Any, data: Iterable[str] = ()) -> None:
    """Nothing `view` shows came from outside the catalogs but `data`, and every text fits Block Kit."""
    assert list(visible_texts(view)), "nothing visible was found"
    assert escaped_strings(view, (*data, *DATA)) == []
    assert block_kit_limits(view) == []


def escaped_words(text: str) -> list[str]:
    return leftover_words(text, DATA)


@pytest.fixture(autouse=True)
def pseudo() -> Iterator[None]:
    with speaking(PSEUDO):
        yield


# -- data ------------------------------------------------------------------------------------------------------------

CUSTOMER = ("María López", "@maria_l", "maria_l", "My refund never arrived, third time asking")
DEPARTMENTS = (
    Department(
        key="legal",
        name="Legal",
        handles="Threats, lawsuits",
        keywords=("lawyer", "sue"),
        users=("U0LEG",),
        user_groups=("S0LEGAL",),
        channel="C0LEGAL",
        needs_approval=True,
    ),
    Department(
        key="billing",
        name="Billing",
        handles="Refunds and invoices",
        keywords=("refund",),
        users=(),
        user_groups=(),
        channel=None,
        needs_approval=False,
    ),
)
DEPARTMENT_DATA = ("Legal", "Threats, lawsuits", "lawyer", "sue", "Billing", "Refunds and invoices", "refund")


def line(complaint_id: int = 42, **changes: Any) -> ComplaintLine:
    values: dict[str, Any] = {
        "complaint_id": complaint_id,
        "source": "x",
        "author_handle": "maria_l",
        "author_name": "María López",
        "excerpt": CUSTOMER[3],
        "status": Status.NEW.value,
        "priority": "high",
        "owner_id": "U0ANA",
        "posted_at": NOW - timedelta(hours=3),
        "acknowledged_at": None,
        "ack_deadline": NOW - timedelta(hours=2),
        "resolve_deadline": NOW + timedelta(hours=20),
        "resolved_at": None,
        "permalink": "https://acme.slack.com/archives/C0HEARD/p1",
    }
    values.update(changes)
    return ComplaintLine(**values)


def lines() -> tuple[ComplaintLine, ...]:
    return (
        line(42),
        line(43, priority="normal", owner_id=None, ack_deadline=NOW + timedelta(minutes=20)),
        line(44, acknowledged_at=NOW - timedelta(hours=1), resolve_deadline=NOW - timedelta(minutes=5)),
        line(45, acknowledged_at=NOW - timedelta(hours=1)),
        line(46, status=Status.RESOLVED.value, resolved_at=NOW - timedelta(minutes=10)),
    )


def escalation(status: str, **changes: Any) -> EscalationEntry:
    values: dict[str, Any] = {
        "escalation_id": 7,
        "complaint_id": 42,
        "department_name": "Legal",
        "severity": "high",
        "status": status,
        "reason": "Threatens to sue",
        "requested_by": "U0ANA",
        "requested_at": NOW - timedelta(hours=1),
        "decided_by": "U0BOSS",
        "accepted_by": "U0LEG",
        "author_handle": "maria_l",
        "permalink": "https://acme.slack.com/archives/C0HEARD/p1",
    }
    values.update(changes)
    return EscalationEntry(**values)


def follow_up(status: str, due: timedelta) -> FollowUpEntry:
    return FollowUpEntry(
        follow_up_id=3,
        complaint_id=42,
        due_at=NOW + due,
        status=status,
        note="Check the courier",
        assignee="U0ANA",
        author_handle="maria_l",
        permalink="https://acme.slack.com/archives/C0HEARD/p1",
    )


CASE_DATA = (*CUSTOMER, "Legal", "Threatens to sue", "Check the courier", "Refund promised", "refund", "missing parcel")


# -- modals ----------------------------------------------------------------------------------------------------------


def modals_built() -> list[dict[str, Any]]:
    summary = "Complaint #42 from @maria_l"
    return [
        modals.escalate_modal("42.3", summary, DEPARTMENTS),
        modals.follow_up_modal("42.3", summary, date(2026, 11, 12), datetime(2026, 11, 12, 9).time(), "Europe/Paris"),
        modals.resolve_modal("42.3", summary),
        modals.reassign_modal("42.3", summary, "U0ANA"),
    ]


def test_every_modal_speaks_from_the_catalogs() -> None:
    for view in modals_built():
        assert_catalogued(view, data=("Complaint #42 from @maria_l", *DEPARTMENT_DATA))
        assert view["close"]["text"] == "⟦Cancel⟧"


def test_modal_words_are_cut_to_block_kit_limits_in_any_language() -> None:
    for view in modals_built():
        assert len(view["title"]["text"]) <= modals.TITLE_LIMIT
        assert len(view["submit"]["text"]) <= modals.BUTTON_LIMIT
        assert len(view["close"]["text"]) <= modals.BUTTON_LIMIT
        for block in view["blocks"]:
            element = block.get("element", {})
            for option in element.get("options", []):
                assert len(option["text"]["text"]) <= modals.OPTION_LIMIT
            if "placeholder" in element:
                assert len(element["placeholder"]["text"]) <= modals.PLACEHOLDER_LIMIT
    # The source titles fit without a cut: a cut title only ever happens in a long language.
    with speaking("en"):
        assert [view["title"]["text"] for view in modals_built()] == [
            "Escalate complaint",
            "Schedule follow-up",
            "Resolve complaint",
            "Reassign complaint",
        ]


def test_a_modal_frame_cuts_a_long_title_instead_of_breaking() -> None:
    blocks = [SectionBlock(text="Valitus #42")]
    view = modals.modal_frame(
        "x", "Eskaloi asiakkaan valitus osastolle", "Lähetä eteenpäin osastolle nyt", "1.1", blocks
    )
    assert len(view["title"]["text"]) <= 24 and view["title"]["text"].endswith("…")
    assert len(view["submit"]["text"]) <= 24


# -- the Home tab ----------------------------------------------------------------------------------------------------


def test_the_home_tab_speaks_from_the_catalogs() -> None:
    state = HomeState(
        user="U0ANA",
        is_agent=True,
        counters=TeamCounters(open=12_345, unclaimed=3, overdue=2, received_today=7, cap=10_000),
        claimed=Page(lines(), 0, 25),
        follow_ups=Page(
            (follow_up(FollowUpStatus.SCHEDULED, timedelta(hours=2)), follow_up(FollowUpStatus.SENT, -timedelta(1))),
            0,
            14,
        ),
        escalations=Page((escalation(EscalationStatus.OPEN), escalation(EscalationStatus.AWAITING_APPROVAL)), 0, 13),
        departments=("Legal",),
        slack_lag=timedelta(seconds=30),
    )
    view = render_home(state, NOW, TZ)
    assert_catalogued(view, data=CASE_DATA)
    assert any(
        "⟦more than 10,000⟧" in text for text in visible_texts(view)
    )  # numbers through Babel, in the placeholders
    assert_catalogued(render_home(HomeState(user="U0NEW", is_agent=False), NOW, TZ))
    empty = HomeState(
        user="U0ANA",
        is_agent=True,
        counters=TeamCounters(0, 0, 0, 0, 10_000),
        claimed=Page((), 0, 0),
        follow_ups=Page((), 0, 0),
        escalations=Page((), 0, 0),
        departments=("Legal",),
    )
    assert_catalogued(render_home(empty, NOW, TZ), data=CASE_DATA)


# -- /complaints answers ---------------------------------------------------------------------------------------------


def test_help_speaks_from_the_catalogs_and_keeps_the_typed_words() -> None:
    assert_catalogued(render_help())
    assert any("`/complaints stats [today|7d|30d]`" in text for text in visible_texts(render_help()))
    assert_catalogued(render_help(unknown="frobnicate"), data=("frobnicate",))


@pytest.mark.parametrize("kind", list(ListKind))
def test_every_list_speaks_from_the_catalogs(kind: ListKind) -> None:
    page = Page(lines(), 10, 10_500, total_is_floor=True)
    assert_catalogued(render_complaint_list(kind, page, NOW, TZ, "more", subject="refund"), data=CASE_DATA)
    assert_catalogued(render_complaint_list(kind, Page((), 0, 0), NOW, TZ, None, subject="refund"), data=CASE_DATA)
    assert_catalogued(render_complaint_list(kind, Page((), 20, 20), NOW, TZ, None, subject="refund"), data=CASE_DATA)


def test_one_complaint_speaks_from_the_catalogs() -> None:
    history = tuple(
        HistoryEntry(NOW - timedelta(minutes=60 - n), actor, action.value, "slack:button", detail)
        for n, (actor, action, detail) in enumerate(
            [
                ("x", Action.RECEIVE, {"priority": "high"}),
                ("U0ANA", Action.CLAIM, {}),
                ("U0ANA", Action.REASSIGN, {"to": "U0BEN"}),
                ("scheduler", Action.ASSIGN, {"to": "U0BEN"}),
                ("scheduler", Action.BREACH, {"clock": "acknowledge", "late_seconds": 30}),
                ("U0BEN", Action.ESCALATE, {"department": "Legal", "note": "Refund promised"}),
                *[("U0BEN", action, {}) for action in Action if action not in (Action.REASSIGN, Action.ASSIGN)],
            ]
        )
    )
    record = ComplaintRecord(
        line=line(42, acknowledged_at=NOW - timedelta(hours=2), status=Status.RESOLVED.value, resolved_at=NOW),
        text=CUSTOMER[3],
        url="https://x.com/maria_l/status/1",
        author_followers=1,
        category="refund",
        triage_reasons=("missing parcel",),
        claimed_at=NOW - timedelta(hours=2),
        acknowledged_by="U0ANA",
        resolved_by="U0BEN",
        resolution_note="Refund promised",
        extra_posts=3,
        escalations=tuple(escalation(status) for status in EscalationStatus),
        escalations_total=12,
        follow_ups=tuple(follow_up(status, -timedelta(hours=1)) for status in FollowUpStatus),
        follow_ups_total=11,
        history=Page(history, 0, len(history) + 5),
        posts=(PostEntry("Still waiting", "https://x.com/maria_l/status/2", NOW - timedelta(minutes=30)),),
    )
    message = render_complaint_record(record, NOW, TZ, "more")
    assert_catalogued(message, data=(*CASE_DATA, "Still waiting", "Legal"))
    open_record = ComplaintRecord(
        **{**record.__dict__, "line": line(42), "author_followers": None, "history": Page((), 20, 20), "url": None}
    )
    assert_catalogued(render_complaint_record(open_record, NOW, TZ, None), data=(*CASE_DATA, "Still waiting"))


def attainment(business_hours: bool = True) -> Attainment:
    row = Row("team", None, ClockFigures(4, 3, 1, timedelta(minutes=20), timedelta(minutes=40)), ClockFigures(0, 0, 2))
    agent = Row("agent", "U0ANA", ClockFigures(2, 2), ClockFigures())
    unclaimed = Row(
        "unclaimed", None, ClockFigures(1, 0), ClockFigures(1, 1, 0, timedelta(hours=3), timedelta(hours=5))
    )
    whole = Bucket("period", date(2026, 11, 4), date(2026, 11, 10), row, (agent,) * 12, unclaimed)
    days = tuple(Bucket(DAY, date(2026, 11, d), date(2026, 11, d), row) for d in range(4, 11))
    return Attainment(
        date(2026, 11, 4),
        date(2026, 11, 10),
        "Europe/Paris",
        business_hours,
        timedelta(minutes=30),
        timedelta(hours=24),
        whole,
        days=days,
    )


@pytest.mark.parametrize("period", ["today", "7d", "30d"])
def test_stats_speak_from_the_catalogs(period: str) -> None:
    stats = Stats(
        period=period,
        start=NOW - timedelta(days=6),
        end=NOW,
        received=1234,
        acknowledged_in_window=1000,
        ack_median=timedelta(minutes=12),
        breaches=3,
        resolved=900,
        top_sources=(("x", 1000), ("webhook", 234)),
        attainment=attainment(business_hours=period == "30d"),
    )
    message = render_stats(stats, TZ, timedelta(minutes=30))
    assert_catalogued(message)
    shown = list(visible_texts(message))
    assert any("1,234" in text for text in shown) and any("81%" in text for text in shown)


def test_who_speaks_from_the_catalogs() -> None:
    assert_catalogued(render_who(WhoAnswer("refund", DEPARTMENTS * 11)), data=DEPARTMENT_DATA)
    assert_catalogued(
        render_who(WhoAnswer("bad weather", (), known=("Legal", "Billing"))), data=("bad weather", *DEPARTMENT_DATA)
    )
    assert_catalogued(render_who(WhoAnswer("bad weather", ())), data=("bad weather",))
    assert_catalogued(render_who(WhoAnswer("refund", (), has_directory=False)), data=("refund",))


# -- the digest ------------------------------------------------------------------------------------------------------


def figures(received: int, **changes: Any) -> PeriodFigures:
    values: dict[str, Any] = {
        "received": received,
        "acknowledged": received,
        "acknowledged_in_window": received - 1 if received else 0,
        "ack_median": timedelta(minutes=12) if received else None,
        "ack_p90": timedelta(minutes=50) if received else None,
        "breaches": 2,
        "resolved": 5,
        "resolve_median": timedelta(hours=5) if received else None,
        "escalations": 1,
        "per_hour": tuple(range(24)),
    }
    values.update(changes)
    return PeriodFigures(**values)


def digest(days: int = 1, received: int = 7, last_day: date = date(2026, 11, 10)) -> Digest:
    period = period_of(last_day, TZ, days)
    return Digest(
        period=period,
        previous_period=period_of(period.first_day - timedelta(days=1), TZ, days),
        tz_name="Europe/Paris",
        now=NOW,
        ack_window=timedelta(minutes=30),
        current=figures(received),
        previous=figures(4, resolved=5, breaches=4),
        breaches=(
            Breach(42, "acknowledge", "maria_l", None, NOW, timedelta(minutes=20), True),
            Breach(43, "resolve", "maria_l", None, NOW, timedelta(hours=2), True),
            Breach(44, "acknowledge", "maria_l", None, NOW, timedelta(minutes=20), False),
            Breach(
                45, "resolve", "maria_l", "https://acme.slack.com/archives/C0HEARD/p1", NOW, timedelta(hours=2), False
            ),
        ),
        escalations_by_department=(Counted("Legal", 2, 1),),
        open_total=9,
        backlog=(OwnerBacklog(None, 4, 2), OwnerBacklog("U0ANA", 5, 0)),
        oldest_open=OldestOpen(42, "maria_l", None, NOW - timedelta(days=2), timedelta(days=2), None),
        follow_ups_today=(
            FollowUpDue(3, 42, None, "U0ANA", NOW + timedelta(hours=1), "sent"),
            FollowUpDue(4, 43, None, "U0BEN", NOW + timedelta(hours=2), "scheduled"),
        ),
        follow_ups_today_total=2,
        follow_ups_overdue=1,
        top_sources=(Counted("x", 5, 2), Counted("webhook", 2, 2)),
        top_categories=(Counted("refund", 3, 0), Counted(UNCATEGORISED, 1, 1)),
        busiest_hours=(HourCount(9, 3, 1), HourCount(23, 2, 2)),
        ack_seconds=(60.0, 600.0, 7200.0),
        ack_sample_truncated=False,
        write_ups=(WriteUpItem(42, None, "maria_l", "Refund promised", "missing parcel", "U0ANA"),),
        attainment=attainment(),
    )


DIGESTS = {
    "daily": lambda: digest(),
    "weekly": lambda: digest(days=7),
    "quiet daily": lambda: digest(received=0),
    "quiet weekly": lambda: digest(days=7, received=0),
    "daily, not yesterday": lambda: digest(last_day=date(2026, 11, 5)),
    "quiet, not yesterday": lambda: digest(received=0, last_day=date(2026, 11, 5)),
    "quiet week, not last week": lambda: digest(days=7, received=0, last_day=date(2026, 11, 5)),
}


@pytest.mark.parametrize("which", list(DIGESTS))
def test_the_digest_speaks_from_the_catalogs(which: str) -> None:
    message = digest_message(DIGESTS[which](), TZ, NOW)
    assert_catalogued(message, data=(*CASE_DATA, "Legal"))


@pytest.mark.parametrize("which", list(DIGESTS))
def test_the_charts_words_and_alt_text_speak_from_the_catalogs(which: str) -> None:
    shown = DIGESTS[which]()
    words = [*chart_labels(shown, timedelta(minutes=30)).values(), chart_title(shown), chart_alt_text(shown)]
    for text in filter(None, words):
        assert not escaped_words(text), text
    assert "⟦" in chart_labels(shown, timedelta(hours=8))["ack_x"]


def test_the_chart_is_drawn_in_any_language() -> None:
    from bot.digest import render_chart

    for language in ("el", PSEUDO):
        with speaking(language):
            assert render_chart(digest(), timedelta(minutes=30)).startswith(b"\x89PNG")


# -- exports ---------------------------------------------------------------------------------------------------------


def test_csv_headers_speak_from_the_catalogs() -> None:
    assert headers(COLUMNS) == [f"⟦{column}⟧" for column in COLUMNS]
    assert headers(ATTAINMENT_COLUMNS) == [f"⟦{column}⟧" for column in ATTAINMENT_COLUMNS]
    with speaking("en"):
        assert headers(COLUMNS) == list(COLUMNS)


def test_export_files_speak_from_the_catalogs(database: Database) -> None:
    from bot.business_hours import BusinessCalendar

    with database.unit_of_work() as session:
        complaints = export_csv(session, 7, TZ, NOW)
        sla = export_attainment_csv(
            session,
            7,
            TZ,
            NOW,
            now=NOW,
            calendar=BusinessCalendar.always_open(),
            ack_window=timedelta(minutes=30),
            resolve_window=timedelta(hours=24),
        )
    for exported, columns in ((complaints, COLUMNS), (sla, ATTAINMENT_COLUMNS)):
        assert next(csv.reader(io.StringIO(exported.content.decode()))) == [f"⟦{c}⟧" for c in columns]
        for text in (exported.title, exported.comment):
            assert text.startswith("⟦") and not escaped_words(text), text
        assert exported.filename.startswith("heard-") and "⟦" not in exported.filename


# -- numbers and dates -----------------------------------------------------------------------------------------------


def test_numbers_and_days_follow_the_language() -> None:
    assert (number(12345), percent(75.4), day_range(date(2026, 11, 16), date(2026, 11, 22))) == (
        "12,345",
        "75%",
        "16\u2009–\u200922 Nov 2026",
    )
    with speaking("fi"):
        assert (number(12345), percent(75.4)) == ("12\xa0345", "75\xa0%")
        assert day_range(date(2026, 11, 16), date(2026, 11, 22)) == "16.–22. marraskuuta 2026"
    with speaking("el"):
        assert number(12345) == "12.345"


# -- the private answers of the use cases, through a running Heard ---------------------------------------------------


@pytest.fixture
def heard_in_pseudo(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> SlackDriver:
    """Heard as the care team reaches it, each person's own views in the pseudo-language."""
    monkeypatch.setattr(Languages, "language_of", lambda _languages, _user: PSEUDO)
    heard = start_heard(HEARD_AGENTS="U0ANA,U0BEN", HEARD_MANAGERS="U0BOSS")
    return SlackDriver(f"http://127.0.0.1:{heard.port}/slack/events", SIGNING_SECRET, fake_slack)


@pytest.mark.parametrize(
    ("typed", "user", "data"),
    [
        ("stats forever", "U0ANA", ()),
        ("search", "U0ANA", ()),
        ("search the", "U0ANA", ()),
        ("999", "U0ANA", ()),
        ("who", "U0ANA", ()),
        ("who refund", "U0ANA", ("refund",)),
        ("open", "U0ANA", ()),
        ("mine", "U0ANA", ()),
        ("@nobody", "U0ANA", ("@nobody", "nobody")),
        ("frobnicate", "U0ANA", ("frobnicate",)),
        ("export", "U0ANA", ()),
        ("export 1y", "U0BOSS", ()),
        ("export 7d", "U0BOSS", ()),
        ("export attainment 30d", "U0BOSS", ()),
        ("digest", "U0EVE", ()),
        ("open", "U0EVE", ()),
        ("search " + "refund " * 60, "U0ANA", ()),
    ],
)
def test_every_private_answer_speaks_from_the_catalogs(
    heard_in_pseudo: SlackDriver, fake_slack: FakeSlack, typed: str, user: str, data: tuple[str, ...]
) -> None:
    response = heard_in_pseudo.command("/complaints", typed, user=user, channel=CHANNEL)
    assert response.status == 200, response.body
    [answer] = fake_slack.ephemerals(CHANNEL, user)
    assert_catalogued(Message(text=answer.get("text") or "", blocks=answer.get("blocks") or []), data=data)
