"""`/complaints` end to end: signed slash commands to a running Heard, answers read where the person reads them (the
ephemeral Slack shows from the ack, or the page that replaces it after "More"), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update

from app import Heard
from bot.blocks.ids import LookupPage
from bot.blocks.lookups import showing
from bot.lifecycle import Action, Status
from bot.services.lookups import _capped_page, _count_cap
from sandbox.fake_slack import FakeSlack, validate_blocks
from sandbox.slack_driver import SlackDriver, SocketModeDriver
from storage import queries
from storage.db import Database
from storage.models import AuditEvent, Complaint
from tests.care_team import acknowledge_only, buttons, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester

ANA, BEN = "U0ANA", "U0BEN"  # agents
BOSS = "U0BOSS"  # manager
EVE = "U0EVE"  # not on the care team
LEGAL = "U0LEGAL"
CARE_CHANNEL = "C0CARETEAM"
CARE_GROUP = "S0CARE"

DIRECTORY = f"""
[[department]]
name = "Customer service"
handles = "Orders, deliveries, refunds, account questions"
keywords = ["order", "delivery", "refund"]
user_groups = ["{CARE_GROUP}"]
channel = "{CARE_CHANNEL}"

[[department]]
name = "Content"
handles = "Posts, campaigns and ads"
keywords = ["ad", "campaign"]
users = ["U0CONTENT"]

[[department]]
name = "Legal"
handles = "Threats of legal action, defamation, personal data"
keywords = ["lawyer", "sue", "gdpr"]
users = ["{LEGAL}"]
needs_approval = true
"""


class Desk:
    """A care team member at Slack: types `/complaints`, reads the private answer, clicks "More"."""

    def __init__(self, fake: FakeSlack, driver: SlackDriver, customer: Ingester, heard: Heard) -> None:
        self.fake = fake
        self.driver = driver
        self.customer = customer
        self.heard = heard

    def ask(self, typed: str, user: str = ANA) -> dict[str, Any]:
        """Type `/complaints <typed>`; the answer Slack shows the person (only them) in the channel."""
        shown = len(self.fake.ephemerals(CHANNEL, user))
        response = self.driver.command("/complaints", typed, user=user, channel=CHANNEL)
        assert response.status == 200, response.body
        assert response.elapsed_ms < 3000
        assert response.outcome == "ephemeral", f"Slack showed {response.outcome}: {response.body}"
        answers = self.fake.ephemerals(CHANNEL, user)
        assert len(answers) == shown + 1
        return answers[-1]

    def more(self, page: dict[str, Any], user: str = ANA) -> dict[str, Any]:
        """Click "More" under `page`; the next page, as the person sees it in its place."""
        replaced = len(self.fake.calls_to("response_url"))
        answer = self.driver.click("More", on=page, channel=CHANNEL, user=user)
        assert answer.status == 200 and answer.elapsed_ms < 3000
        (replace, *_) = self.fake.wait_for("response_url", count=replaced + 1)[replaced:]
        # Heard asks Slack to show the next page in place of the one clicked.
        assert replace.args.get("replace_original") is True
        assert replace.args.get("response_type", "ephemeral") == "ephemeral"
        return {"text": replace.args["text"], "blocks": replace.args["blocks"], "ts": page["ts"]}

    def complain(self, **fields: Any) -> int:
        answer = self.customer.complain(**fields)
        assert answer.status == 202, answer.body
        return int(answer.body["complaint_id"])


@pytest.fixture
def desk(start_heard: Callable[..., Heard], fake_slack: FakeSlack, tmp_path: Path) -> Desk:
    directory = tmp_path / "directory.toml"
    directory.write_text(DIRECTORY)
    fake_slack.set_user_group(CARE_GROUP, [BEN])
    heard = start_heard(HEARD_AGENTS=f"{ANA},{BEN}", HEARD_MANAGERS=BOSS, HEARD_DIRECTORY=str(directory))
    base = f"http://127.0.0.1:{heard.port}"
    return Desk(
        fake_slack,
        SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack),
        Ingester(f"{base}/ingest", INGEST_SECRET),
        heard,
    )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(message: dict[str, Any]) -> str:
    """Everything the person reads, section fields included."""
    fields = [field["text"] for block in message.get("blocks", []) for field in block.get("fields", [])]
    return "\n".join([visible_text(message), *fields])


def complaint_numbers(message: dict[str, Any]) -> list[int]:
    """The complaints a list shows, in order (each item starts with `*#<id>*`)."""
    numbers = []
    for block in message.get("blocks", []):
        body = (block.get("text") or {}).get("text", "")
        if body.startswith("*#"):
            numbers.append(int(body[2:].split("*", 1)[0]))
    return numbers


def assert_fits_slack(message: dict[str, Any]) -> None:
    assert validate_blocks(message["blocks"]) == []
    assert len(message["blocks"]) <= 50


def set_owner(database: Database, complaint_id: int, owner: str) -> None:
    with database.unit_of_work() as session:
        session.execute(
            update(Complaint)
            .where(Complaint.id == complaint_id)
            .values(owner_id=owner, claimed_by=owner, claimed_at=datetime.now(UTC))
        )


# -- help, refusals ----------------------------------------------------------------------------------------------------


def test_help_lists_every_subcommand_and_an_unknown_one_gets_help(desk: Desk, fake_slack: FakeSlack) -> None:
    help_text = shown(desk.ask("help"))
    for usage in (
        "/complaints &lt;id&gt;` — one complaint (`42` or `#42`)",
        "/complaints open` — open complaints, high priority first",
        "/complaints mine`",
        "/complaints overdue`",
        "/complaints @handle` — everything from one author",
        "/complaints search &lt;words&gt;`",
        "/complaints stats [today|7d|30d]`",
        "/complaints who &lt;topic&gt;`",
        "/complaints digest` — a preview of today's digest, just for you",
        "/complaints export [7d|30d]` — CSV file (managers)",
    ):
        assert usage in help_text, usage
    assert "<id>" not in help_text  # Slack would read it as markup
    assert "/complaints open" in shown(desk.ask(""))

    unknown = shown(desk.ask("frobnicate <!channel>"))
    assert "I don't know “frobnicate”" in unknown and "/complaints search &lt;words&gt;" in unknown
    assert fake_slack.problems == []


def test_someone_outside_the_care_team_is_politely_refused(desk: Desk) -> None:
    desk.complain(text="Where is my parcel?")
    for typed in ("open", "1", "search parcel", "help"):
        answer = shown(desk.ask(typed, user=EVE))
        assert "is for the care team" in answer and "HEARD_AGENTS" in answer
        assert "parcel" not in answer


# -- the queue ---------------------------------------------------------------------------------------------------------


def test_open_lists_high_priority_first_then_by_deadline_with_time_left(
    desk: Desk, database: Database, fake_slack: FakeSlack
) -> None:
    now = datetime.now(UTC)
    later = desk.complain(text="The app logs me out", created_at=iso(now - timedelta(minutes=5)))
    sooner = desk.complain(text="Parcel never came", created_at=iso(now - timedelta(minutes=40)))
    urgent = desk.complain(text="I want a refund now", created_at=iso(now - timedelta(minutes=1)))
    done = desk.complain(text="Solved already")
    with database.unit_of_work() as session:
        session.execute(update(Complaint).where(Complaint.id == done).values(status=Status.RESOLVED.value))

    answer = desk.ask("open")

    assert complaint_numbers(answer) == [urgent, sooner, later]
    text_shown = shown(answer)
    assert ":red_circle: *High*" in text_shown
    assert "Acknowledge by" in text_shown and "left" in text_shown
    assert "Showing 1–3 of 3" in text_shown
    assert "More" not in buttons(answer)
    assert_fits_slack(answer)
    assert fake_slack.problems == []


def test_a_long_list_is_paged_with_more_and_nothing_is_cut(desk: Desk, fake_slack: FakeSlack) -> None:
    ids = [desk.complain(text=f"Complaint number {n}") for n in range(23)]

    first = desk.ask("open")
    assert complaint_numbers(first) == ids[:10]
    assert "Showing 1–10 of 23" in shown(first) and buttons(first) == ["More"]
    assert_fits_slack(first)

    second = desk.more(first)
    assert complaint_numbers(second) == ids[10:20]
    assert "Showing 11–20 of 23" in shown(second) and buttons(second) == ["More"]

    third = desk.more(second)
    assert complaint_numbers(third) == ids[20:]
    assert "Showing 21–23 of 23" in shown(third) and buttons(third) == []
    assert_fits_slack(third)
    # What the person sees after each click is the next page (Slack replaces the page clicked).
    fake_slack.wait_for("chat.postEphemeral", count=2)
    assert "Showing 21–23 of 23" in shown(fake_slack.ephemerals(CHANNEL, ANA)[-1])


def test_a_forged_or_outside_more_click_is_refused_without_harm(desk: Desk, fake_slack: FakeSlack) -> None:
    for n in range(12):
        desk.complain(text=f"Complaint {n}")
    page = desk.ask("open")
    forged = {
        **page,
        "blocks": [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "More"},
                        "action_id": "lookup_more",
                        "value": '["open", "", -5]',
                    }
                ],
            }
        ],
    }
    assert "can no longer be continued" in shown(desk.more(forged))
    assert "is for the care team" in shown(desk.more(page, user=EVE))
    assert fake_slack.problems == []


def test_mine_shows_only_what_i_own_and_overdue_what_is_late(desk: Desk, database: Database) -> None:
    now = datetime.now(UTC)
    mine = desk.complain(text="Mine, due soon", created_at=iso(now - timedelta(minutes=50)))
    bens = desk.complain(text="Ben's", created_at=iso(now - timedelta(minutes=10)))
    late = desk.complain(text="Nobody answered", created_at=iso(now - timedelta(hours=2)))
    set_owner(database, mine, ANA)
    set_owner(database, bens, BEN)

    answer = desk.ask("mine")
    assert complaint_numbers(answer) == [mine]
    assert "Your open complaints" in shown(answer)

    overdue = desk.ask("overdue")
    assert complaint_numbers(overdue) == [late]
    assert "Acknowledge overdue by 1 hr" in shown(overdue)

    assert complaint_numbers(desk.ask("mine", user=BEN)) == [bens]
    assert "You own no open complaints" in shown(desk.ask("mine", user=BOSS))


# -- one complaint -----------------------------------------------------------------------------------------------------


def test_one_complaint_with_its_history_and_a_link_to_the_card(desk: Desk, fake_slack: FakeSlack) -> None:
    complaint_id = desk.complain(text="My order arrived broken", author={"handle": "maria_l", "name": "Maria López"})
    fake_slack.wait_for("chat.getPermalink")  # the card is in Slack
    card = fake_slack.messages(CHANNEL)[0]
    desk.driver.click("Claim", on=card, channel=CHANNEL, user=ANA)
    acknowledge_only(desk.driver, fake_slack, ANA, card, CHANNEL)

    for typed in (str(complaint_id), f"#{complaint_id}"):
        answer = desk.ask(typed)
        text_shown = shown(answer)
        assert "Maria López" in text_shown and "@maria_l" in text_shown
        assert "My order arrived broken" in text_shown
        assert f"Owner <@{ANA}>" in text_shown and f"Acknowledged by <@{ANA}>" in text_shown
        assert "Open the card" in text_shown and "fake.slack.com" in text_shown
        history = text_shown[text_shown.index("*History*") :]
        assert history.index("received it") < history.index("claimed it") < history.index("acknowledged it")
        assert_fits_slack(answer)

    assert "There is no complaint “#999”" in shown(desk.ask("#999"))
    assert fake_slack.problems == []


def test_a_long_history_is_paged(desk: Desk, database: Database) -> None:
    complaint_id = desk.complain(text="Nagged a lot")
    start = datetime.now(UTC)
    with database.unit_of_work() as session:
        for n in range(30):
            session.add(
                AuditEvent(
                    complaint_id=complaint_id,
                    at=start + timedelta(seconds=n + 1),
                    actor="scheduler",
                    action=Action.NAG.value,
                    surface="scheduler",
                    detail={"clock": "acknowledge", "stage": n},
                )
            )

    first = desk.ask(f"#{complaint_id}")
    assert "History: Showing 1–20 of 31" in shown(first) and buttons(first) == ["More"]
    second = desk.more(first)
    assert "History: Showing 21–31 of 31" in shown(second) and buttons(second) == []
    assert "Nagged a lot" in shown(second)  # the complaint itself stays on every page
    assert_fits_slack(first)
    assert_fits_slack(second)


# -- authors and search ------------------------------------------------------------------------------------------------


def test_at_handle_finds_one_author_in_any_case_with_or_without_the_at(desk: Desk) -> None:
    first = desk.complain(text="One", author={"handle": "Maria_L"})
    second = desk.complain(text="Two", author={"handle": "@maria_l"})
    desk.complain(text="Someone else", author={"handle": "maria_lopez"})

    answer = desk.ask("@MARIA_L")

    assert complaint_numbers(answer) == [second, first]
    assert "Complaints from @maria_l" in shown(answer) and "Showing 1–2 of 2" in shown(answer)
    assert "No complaints from @nobody" in shown(desk.ask("@nobody"))


def test_search_finds_whole_words_newest_first_and_never_substrings(desk: Desk) -> None:
    broken = desk.complain(text="My order arrived BROKEN and late")
    other = desk.complain(text="The brokenness of your service")
    both = desk.complain(text="Broken again; the order was wrong")
    desk.complain(text="Nothing to see")

    assert complaint_numbers(desk.ask("search broken")) == [both, broken]
    assert complaint_numbers(desk.ask("search order broken")) == [both, broken]
    assert complaint_numbers(desk.ask("search brokenness")) == [other]
    assert complaint_numbers(desk.ask("search broke")) == []
    assert "No complaint has all of “broke”" in shown(desk.ask("search broke"))


@pytest.mark.parametrize(
    "typed",
    ['"broken', "broken*", "NEAR(broken order)", "broken OR 1=1; --", "order:broken", "^broken", "col:x AND NOT y"],
)
def test_search_syntax_typed_by_a_person_is_only_words(desk: Desk, typed: str) -> None:
    broken = desk.complain(text="order broken")
    answer = desk.ask(f"search {typed}")
    assert "Complaints with" in shown(answer) or "No complaint has all of" in shown(answer)
    if typed in ('"broken', "broken*", "^broken"):
        assert complaint_numbers(answer) == [broken]


def test_search_says_so_when_nothing_to_search_for(desk: Desk) -> None:
    assert "Search for what?" in shown(desk.ask("search"))
    assert "Search for what?" in shown(desk.ask("search ?!"))


def test_hostile_text_in_answers_stays_text(desk: Desk, fake_slack: FakeSlack) -> None:
    hostile = "<!channel> call <@U0BOSS> now <https://evil.example|click> & win"
    complaint_id = desk.complain(text=hostile, author={"handle": "<!here>", "name": "<@U0BOSS> *bold*"})

    for typed in ("open", f"#{complaint_id}", "search channel win", "@<!here>"):
        answer = desk.ask(typed)
        # What Slack reads as markup is escaped; the customer's words are plain_text, shown as they wrote them.
        raw = "\n".join([answer["text"], *text_objects(answer["blocks"], "mrkdwn")])
        assert "<!channel>" not in raw and "<!here>" not in raw and "<@U0BOSS>" not in raw, typed
        assert "<https://evil.example" not in raw
        assert "&lt;!here&gt;" in raw or "&lt;!channel&gt;" in raw, typed
        assert any(hostile in words for words in text_objects(answer["blocks"], "plain_text")), typed
    assert fake_slack.problems == []


def text_objects(node: Any, kind: str) -> list[str]:
    """The texts of every text object of type `kind` (mrkdwn or plain_text) anywhere in `node`."""
    if isinstance(node, list):
        return [text for item in node for text in text_objects(item, kind)]
    if not isinstance(node, dict):
        return []
    found = [node["text"]] if node.get("type") == kind and isinstance(node.get("text"), str) else []
    return found + [text for value in node.values() for text in text_objects(value, kind)]


# -- stats and who -----------------------------------------------------------------------------------------------------


def test_stats_count_today_in_the_teams_time_zone(desk: Desk, database: Database) -> None:
    now = datetime.now(UTC)
    # Today in HEARD_TZ (UTC here), even when the test runs a few seconds after midnight.
    recent = iso(max(now - timedelta(minutes=1), now.replace(hour=0, minute=0, second=0, microsecond=0)))
    quick = desk.complain(text="One", source="x", created_at=recent)
    desk.complain(text="Two", source="x", created_at=recent)
    desk.complain(text="Three", source="facebook", created_at=recent)
    desk.complain(text="Old", source="facebook", created_at=iso(now - timedelta(days=3)))
    with database.unit_of_work() as session:
        session.execute(
            update(Complaint)
            .where(Complaint.id == quick)
            .values(
                status=Status.RESOLVED.value,
                acknowledged_at=now,
                acknowledged_by=ANA,
                resolved_at=now,
                resolved_by=ANA,
            )
        )
        session.add(AuditEvent(complaint_id=quick, at=now, actor="scheduler", action=Action.BREACH.value,
                               surface="scheduler", detail={"clock": "acknowledge"}))  # fmt: skip

    today = shown(desk.ask("stats"))
    assert "*Received*\n3" in today
    assert "*Acknowledged within 1 hr*\n1 (33%)" in today
    assert "*Median time to acknowledge*\n1 min" in today or "*Median time to acknowledge*\n<1 min" in today
    assert "*Breaches*\n1" in today and "*Resolved*\n1" in today
    assert "X 2, Facebook 1" in today

    week = shown(desk.ask("stats 7d"))
    assert "*Received*\n4" in week and "The last 7 days" in week
    assert "Stats are for `today`, `7d` or `30d`" in shown(desk.ask("stats forever"))


def test_who_names_the_department_and_how_to_reach_them(desk: Desk) -> None:
    refunds = shown(desk.ask("who refunds"))
    assert "Customer service" in refunds and f"<#{CARE_CHANNEL}>" in refunds and f"<!subteam^{CARE_GROUP}>" in refunds
    assert "Legal" not in refunds

    lawyer = shown(desk.ask("who my lawyer"))
    assert "*Legal*" in lawyer and f"<@{LEGAL}>" in lawyer and "A manager approves" in lawyer

    # Whole words: "bad" is not the keyword "ad".
    nothing = shown(desk.ask("who bad weather"))
    assert "No department in the directory mentions “bad weather”" in nothing
    assert "Customer service, Content, Legal" in nothing

    assert "Type a topic" in shown(desk.ask("who"))


# -- speed: the indexes the lookups rely on ----------------------------------------------------------------------------


def explain(database: Database, statement: str, parameters: Any) -> str:
    """The plan of a statement as the lookups sent it (literal SQL and parameters, in the driver's own format)."""
    with database.engine.connect() as connection:
        if database.is_sqlite:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            return "\n".join(str(row[-1]) for row in rows)
        # The test database is tiny, so PostgreSQL would rightly scan and sort it; forbid that to see that the
        # index can serve (the literal SQL matches its expressions and its condition) and gives the order shown.
        connection.exec_driver_sql("SET enable_seqscan = off")
        connection.exec_driver_sql("SET enable_sort = off")
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters))


def test_open_author_and_search_lookups_use_their_indexes(desk: Desk, database: Database) -> None:
    desk.complain(text="Broken order", author={"handle": "Maria_L"})
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append((statement, parameters))

    def plans_of(lookup: Callable[[Any], object]) -> str:
        sent.clear()
        event.listen(database.engine, "before_cursor_execute", record)
        try:
            with database.unit_of_work() as session:
                lookup(session)
        finally:
            event.remove(database.engine, "before_cursor_execute", record)
        return "\n".join(explain(database, statement, parameters) for statement, parameters in sent
                         if statement.lstrip().upper().startswith("SELECT"))  # fmt: skip

    now = datetime.now(UTC)
    page = {"offset": 0, "limit": 10, "count_cap": 100}
    assert "ix_complaints_open_queue" in plans_of(lambda session: queries.open_queue(session, **page))
    assert "ix_complaints_open_queue" in plans_of(lambda session: queries.open_queue(session, **page, overdue_at=now))
    assert "ix_complaints_owner_queue" in plans_of(lambda session: queries.open_queue(session, **page, owner=ANA))
    assert "ix_complaints_author_key" in plans_of(lambda session: queries.by_author(session, "@X", **page))
    search = plans_of(lambda session: queries.search(session, ["broken"], **page))
    assert ("complaints_fts VIRTUAL TABLE INDEX" if database.is_sqlite else "ix_complaints_text_search") in search


# -- the More button's value -------------------------------------------------------------------------------------------


def test_the_more_value_round_trips_and_refuses_what_it_did_not_make() -> None:
    page = LookupPage("search", "refund broken", 20)
    assert LookupPage.decode(page.encode()) == page
    for forged in ("", "[]", '["open", "", -1]', '["open", "", "10"]', '["open", 3, 10]', '{"a": 1}', "[1, 2, 3, 4]"):
        with pytest.raises(ValueError):
            LookupPage.decode(forged)
    with pytest.raises(ValueError):
        LookupPage("search", "x" * 2000, 0).encode()


def test_too_long_to_look_up_is_said_and_the_longest_search_still_pages(desk: Desk) -> None:
    assert "too long to look up" in shown(desk.ask("search " + "refund " * 60))
    words = " ".join(["refünd"] * 42)  # 293 characters, the longest search there is, in non-ASCII letters
    for _ in range(11):
        desk.complain(text="refünd")
    page = desk.ask(f"search {words}")
    assert buttons(page) == ["More"]
    (button,) = [element for block in page["blocks"] if block["type"] == "actions" for element in block["elements"]]
    assert len(button["value"]) <= 2000
    assert "Showing 11–11 of 11" in shown(desk.more(page))


def test_in_socket_mode_the_command_is_answered_in_the_envelopes_ack(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    heard = start_heard(SLACK_APP_TOKEN=fake_slack.app_token, SLACK_SIGNING_SECRET="", HEARD_AGENTS=ANA)
    assert fake_slack.socket_connected(timeout=5)
    Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET).complain(text="Socket complaint")

    envelope_id = SocketModeDriver(fake_slack).command("/complaints", "open", user=ANA, channel=CHANNEL)

    fake_slack.wait_for("socket_mode.ack", where=lambda call: call.args.get("envelope_id") == envelope_id)
    (answer,) = fake_slack.ephemerals(CHANNEL, ANA)
    assert "Socket complaint" in shown(answer) and "Showing 1–1 of 1" in shown(answer)
    assert fake_slack.problems == []


def test_a_search_matching_more_than_a_thousand_says_so_and_keeps_paging(desk: Desk, database: Database) -> None:
    now = datetime.now(UTC)
    with database.unit_of_work() as session:
        session.add_all(
            Complaint(
                source="webhook",
                external_id=f"bulk-{n}",
                author_handle=f"author{n}",
                text=f"Zebra crossing number {n}",
                posted_at=now,
                received_at=now,
                status=Status.NEW.value,
                ack_deadline=now + timedelta(hours=1),
                resolve_deadline=now + timedelta(hours=24),
                priority="normal",
            )
            for n in range(1005)
        )

    first = desk.ask("search zebra")

    assert "Showing 1–10 of more than 1,000" in shown(first) and buttons(first) == ["More"]
    assert shown(first).count("Zebra crossing number 1004") == 1  # newest first
    assert "Showing 11–20 of more than 1,000" in shown(desk.more(first))


def test_totals_are_counted_far_enough_to_keep_more_honest() -> None:
    assert _count_cap(0, 10, 10_000) == 10_000
    assert _count_cap(9_995, 10, 10_000) == 11_000  # past the first cap, still past the page shown
    assert _count_cap(990, 10, 1_000) == 2_000
    page = _capped_page(tuple(range(10)), 9_990, 11_001, 11_000)
    assert page.has_more and page.total_is_floor
    assert showing(page) == "Showing 9,991–10,000 of more than 11,000"
