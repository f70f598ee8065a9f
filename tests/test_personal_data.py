"""A customer's data-subject requests, end to end: a manager asks for everything Heard holds about an author (a JSON
file by DM), erases it (a question naming how many complaints, then its button), meets a legal hold and lifts it; and
the retention policy redacts old resolved complaints once a day, once across copies of Heard."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from app import Heard
from bot import privacy
from bot.blocks.card import CardView, render_card
from bot.blocks.digest import digest_message
from bot.blocks.notice import render_notice
from bot.blocks.privacy import ErasureRequest, erase_question
from bot.delivery import utcnow
from bot.digest import compute_digest
from bot.i18n import PSEUDO, speaking
from sandbox.fake_slack import FakeSlack
from storage.db import Database
from storage.models import AuditEvent, Complaint, Delivery, DigestRun, FollowUp, Reply
from tests.care_team import open_reply_modal, visible_text
from tests.conftest import CHANNEL, heard_environment
from tests.desk import Desk as BaseDesk
from tests.i18n_support import escaped_strings
from tests.meta_desk import wait_until
from tests.support import HeardProcess, stored_complaint
from tests.test_card_golden import MADRID, POSTED
from tests.test_card_golden import complaint as golden_complaint

ANA = "U0ANA"  # an agent
BOSS = "U0BOSS"  # a manager
PEOPLE = {"HEARD_AGENTS": ANA, "HEARD_MANAGERS": BOSS}
MARIA = {"handle": "Maria_L", "name": "María López"}
BROKEN = "My blender arrived broken. Call me on my mobile, I live at Calle Mayor 5, Sevilla."
AGAIN = "Still no blender and nobody answers, this is my second message."
DRAFT = "Hi María, Ana here. So sorry about the blender: a replacement is on its way to Calle Mayor 5."


class Desk(BaseDesk):
    """The care team at Slack and the customers posting, against one running Heard."""

    def ask(self, typed: str, user: str) -> dict[str, Any]:
        """Type `/complaints <typed>`; the private answer Slack shows."""
        shown = len(self.fake.ephemerals(CHANNEL, user))
        response = self.driver.command("/complaints", typed, user=user, channel=CHANNEL)
        assert response.status == 200 and response.elapsed_ms < 3000, response.body
        answers = self.fake.ephemerals(CHANNEL, user)
        assert len(answers) == shown + 1, response.body
        return answers[-1]

    def card_of(self, complaint_id: int) -> dict[str, Any]:
        self.fake.wait_for("chat.postMessage", where=lambda c: f"#{complaint_id} " in c.args.get("text", "") + " ")
        return next(m for m in self.fake.messages(CHANNEL) if f"Complaint #{complaint_id} " in m.get("text", ""))

    def draft_reply(self, complaint_id: int, words: str) -> None:
        view = open_reply_modal(self.driver, self.fake, ANA, self.card_of(complaint_id), CHANNEL)
        answer = self.driver.submit_view(view, ANA, {"Reply": words})
        assert answer.status == 200 and answer.outcome == "closed", answer.body

    def erase(self, handle: str, button: str) -> str:
        """BOSS asks to erase, reads the question and clicks its button; what Heard answers in its place."""
        question = self.ask(f"erase {handle}", BOSS)
        answered = len(self.fake.calls_to("response_url"))
        click = self.driver.click(button, on=question, channel=CHANNEL, user=BOSS)
        assert click.status == 200 and click.elapsed_ms < 3000, click.body
        (answer, *_) = self.fake.wait_for("response_url", count=answered + 1)[answered:]
        assert answer.args.get("replace_original") is True  # the question, with its button, is gone
        return visible_text(answer.args)


@pytest.fixture
def desk(start_heard: Callable[..., Heard], fake_slack: FakeSlack) -> Desk:
    return Desk(start_heard(**PEOPLE), fake_slack)


def settled(database: Database) -> Callable[[], bool]:
    """Every message Heard queued has been sent (or given up): Slack shows the last render."""

    def done() -> bool:
        with database.unit_of_work() as session:
            waiting = select(Delivery.id).where(Delivery.status.in_(("pending", "sending"))).limit(1)
            return session.scalar(waiting) is None

    return done


def trail(database: Database, complaint_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    with database.unit_of_work() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.complaint_id == complaint_id).order_by(AuditEvent.id)
        )
        return [(event.action, event.actor, dict(event.detail)) for event in events]


# -- access ----------------------------------------------------------------------------------------------------------


def test_a_manager_gets_everything_heard_holds_about_an_author_as_one_json_file_by_dm(
    desk: Desk, fake_slack: FakeSlack
) -> None:
    first = desk.complain(author=MARIA, text=BROKEN)
    second = desk.complain(author={"handle": "@maria_l", "name": "María López"}, text=AGAIN)
    desk.complain(author={"handle": "pedro"}, text="My blender is fine but the app crashes.")
    desk.draft_reply(first, DRAFT)

    answer = visible_text(desk.ask("privacy @MARIA_L", BOSS))

    assert "(2 complaints) is on its way to you in a direct message" in answer
    fake_slack.wait_for("files.completeUploadExternal", timeout=10)
    [sent] = fake_slack.files()
    assert fake_slack.dm_channel(BOSS) in sent["channels"] and sent["name"].endswith(".json")
    record = json.loads(sent["content"])
    assert record["author"] == "maria_l"
    assert [c["complaint"]["id"] for c in record["complaints"]] == [first, second]
    assert [c["complaint"]["text"] for c in record["complaints"]] == [BROKEN, AGAIN]
    assert record["complaints"][0]["complaint"]["raw"]["author"]["name"] == "María López"  # the post as sent
    assert [reply["text"] for reply in record["complaints"][0]["replies"]] == [DRAFT]
    actions = [event["action"] for event in record["complaints"][0]["audit_trail"]]
    assert actions[0] == "received" and "reply drafted" in actions
    assert "pedro" not in sent["content"].decode() and "app crashes" not in sent["content"].decode()


def test_only_managers_may_ask_for_an_authors_data_or_erase_it(desk: Desk, fake_slack: FakeSlack) -> None:
    desk.complain(author=MARIA, text=BROKEN)

    for typed in ("privacy @maria_l", "erase @maria_l", "hold lift #1"):
        assert "Only managers (HEARD_MANAGERS)" in visible_text(desk.ask(typed, ANA))
    assert "Type the author's handle" in visible_text(desk.ask("erase", BOSS))
    assert "Heard holds nothing about @nobody" in visible_text(desk.ask("privacy @nobody", BOSS))
    # A forged click on the question's button, by someone who is not a manager, erases nothing.
    question = desk.ask("erase @maria_l", BOSS)
    desk.driver.click("Erase 1 complaint", on=question, channel=CHANNEL, user=ANA)
    desk.team.told(ANA, "Only managers (HEARD_MANAGERS)")
    assert fake_slack.files() == []
    assert stored_complaint(desk.heard.database, 1).text == BROKEN


# -- erasure ---------------------------------------------------------------------------------------------------------


def test_erasure_redacts_the_author_everywhere_and_keeps_the_timeline(desk: Desk, database: Database) -> None:
    first = desk.complain(author=MARIA, text=BROKEN)
    second = desk.complain(author=MARIA, text=AGAIN)
    other = desk.complain(author={"handle": "pedro"}, text="The blender I bought has no plug.")
    desk.draft_reply(first, DRAFT)
    view = desk.team.open_form(ANA, "Schedule follow-up", on=desk.card_of(second))
    note = {"Date": "2099-05-04", "Time": "09:30", "Note": "Call María back at Calle Mayor 5"}
    assert desk.driver.submit_view(view, ANA, note).field_errors() == {}
    wait_until(settled(database), 10, "the reply's and follow-up's thread lines")
    before = [action for action, _, _ in trail(database, first)]
    assert desk.heard.services.lookups.search_complaints("blender").total == 3

    assert "is on its way" in visible_text(desk.ask("privacy @maria_l", BOSS))  # an access request came first
    question = visible_text(desk.ask("erase @maria_l", BOSS))
    assert "2 complaints will be redacted" in question
    done = desk.erase("@maria_l", "Erase 2 complaints")

    assert "erased from 2 complaints" in done
    for erased in (first, second):
        row = stored_complaint(database, erased)
        assert (row.text, row.author_handle, row.author_name) == ("[erased]", "[erased]", None)
        assert row.raw is None and row.url is None and row.author_id is None
        assert row.erased_by == BOSS and row.erased_at is not None
    assert stored_complaint(database, other).text.startswith("The blender I bought")
    # The search index forgot her words; Pedro's complaint is still found.
    found = desk.heard.services.lookups.search_complaints("blender")
    assert [line.complaint_id for line in found.items] == [other]
    assert desk.heard.services.lookups.search_complaints("Sevilla").total == 0
    assert desk.heard.services.lookups.complaints_by_author("@maria_l").total == 0
    with database.unit_of_work() as session:
        assert [reply.text for reply in session.scalars(select(Reply))] == ["[erased]"]
        assert [follow_up.note for follow_up in session.scalars(select(FollowUp))] == ["[erased]"]
    # The timeline keeps every step, plus the erasure; the reply's words are gone from the audit trail.
    events = trail(database, first)
    assert [action for action, _, _ in events] == [*before, "erased"]
    drafted = next(detail for action, _, detail in events if action == "reply drafted")
    assert drafted["text"] == "[erased]" and drafted["reply_id"] and drafted["personalised"] is True
    assert events[-1][1] == BOSS and events[-1][2]["under"] == "request"

    # Slack shows it: the cards and every line of their threads, re-rendered through the outbox.
    wait_until(settled(database), 10, "the cards and thread lines re-rendered")
    for erased in (first, second):
        card = desk.fake.message(CHANNEL, stored_complaint(database, erased).slack_ts or "")
        shown = visible_text(card) + json.dumps(card["blocks"], ensure_ascii=False)
        assert "Personal data erased on" in shown and f"<@{BOSS}>" in shown
        thread = [json.dumps(m, ensure_ascii=False) for m in desk.fake.replies(CHANNEL, card["ts"])]
        assert any("erased the author" in line for line in thread)
        for words in ("blender", "Sevilla", "María", "Maria_L", "maria_l", "Calle Mayor"):
            assert words not in shown and not any(words in line for line in thread), words
    # Nor does the outbox keep her: not in any message Heard queued, nor in the access request's row.
    with database.unit_of_work() as session:
        queued = json.dumps([row.payload for row in session.scalars(select(Delivery))], ensure_ascii=False)
    for words in ("blender", "Sevilla", "María", "maria_l", "Maria_L"):
        assert words not in queued, words
    # Nothing is left to erase; asking again says so.
    assert "no personal data of @maria_l to erase" in visible_text(desk.ask("erase @maria_l", BOSS))


def shared_files(database: Database) -> dict[str, str]:
    """The Slack file id each upload Heard made recorded on its outbox row, by row key."""
    with database.unit_of_work() as session:
        rows = session.scalars(select(Delivery).where(Delivery.kind.in_(("evidence", privacy.PRIVACY_EXPORT))))
        return {row.key: row.payload["file_id"] for row in rows if row.payload.get("file_id")}


def test_erasure_deletes_the_files_heard_shared_about_the_author_once_each_even_when_slack_fails_once(
    desk: Desk, fake_slack: FakeSlack, database: Database
) -> None:
    maria = desk.complain(author=MARIA, text=BROKEN)
    pedro = desk.complain(author={"handle": "pedro"}, text="The blender I bought has no plug.")
    desk.team.click(BOSS, "Keep evidence", on=desk.card_of(maria))
    desk.team.click(BOSS, "Keep evidence", on=desk.card_of(pedro))
    assert "is on its way" in visible_text(desk.ask("privacy @maria_l", BOSS))
    fake_slack.wait_for("files.completeUploadExternal", count=3, timeout=10)
    wait_until(lambda: len(shared_files(database)) == 3, 10, "the three uploads recorded with their file ids")
    by_name = {shared["name"]: shared for shared in fake_slack.files()}
    evidence, kept, access = (
        next(shared for name, shared in by_name.items() if name.startswith(prefix))
        for prefix in (f"heard-complaint-{maria}-evidence-", f"heard-complaint-{pedro}-evidence-", "heard-personal-")
    )
    dm = fake_slack.dm_channel(BOSS)
    assert evidence["channels"] == kept["channels"] == access["channels"] == [dm]
    assert sorted(shared_files(database).values()) == sorted(f["id"] for f in (evidence, kept, access))
    fake_slack.fail_next("files.delete", status=500)  # Slack stumbles on the first deletion: it is tried again

    done = desk.erase("@maria_l", "Erase 1 complaint")

    assert "erased from 1 complaint" in done
    assert "2 files Heard shared in Slack about these complaints are being deleted" in done
    wait_until(lambda: len(fake_slack.deleted_files()) == 2, 15, "both of María's files deleted")
    wait_until(settled(database), 10, "the deletions recorded")
    assert sorted(fake_slack.deleted_files()) == sorted((evidence["id"], access["id"]))
    calls = fake_slack.calls_to("files.delete")
    assert [call.status for call in calls] == [500, 200, 200]
    assert sorted(call.args["file"] for call in calls if call.ok) == sorted((evidence["id"], access["id"]))
    # Pedro's evidence stays; María's files and their shares are gone from the manager's DM.
    assert [shared["id"] for shared in fake_slack.files()] == [kept["id"]]
    in_dm = json.dumps(fake_slack.messages(dm), ensure_ascii=False)
    assert kept["id"] in in_dm and evidence["id"] not in in_dm and access["id"] not in in_dm
    events = trail(database, maria)
    assert events[-1][0] == "erased" and events[-1][2]["files_deleted"] == 2
    # Nothing is deleted twice: a retention run or another erasure finds nothing more to do.
    assert "no personal data of @maria_l to erase" in visible_text(desk.ask("erase @maria_l", BOSS))
    assert len(fake_slack.calls_to("files.delete")) == 3
    assert fake_slack.problems == []


def test_an_evidence_file_whose_upload_went_unheard_is_found_and_deleted_on_erasure(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    desk = Desk(start_heard(**PEOPLE, SLACK_TIMEOUT="1s"), fake_slack)
    maria = desk.complain(author=MARIA, text=BROKEN)
    desk.card_of(maria)
    # Slack shares the file but its answer comes after Heard stopped waiting: the next attempt finds the file.
    fake_slack.hang_next("files.completeUploadExternal", seconds=2.5, apply=True)
    desk.team.click(BOSS, "Keep evidence", on=desk.card_of(maria))
    wait_until(lambda: len(shared_files(database)) == 1, 15, "the unheard upload found and its file id recorded")
    [(_, file_id)] = shared_files(database).items()
    assert [shared["id"] for shared in fake_slack.files()] == [file_id]
    dm = fake_slack.dm_channel(BOSS)
    assert any(call.args.get("channel") == dm for call in fake_slack.calls_to("conversations.history"))  # looked

    done = desk.erase("@maria_l", "Erase 1 complaint")

    assert "1 file Heard shared in Slack about these complaints is being deleted" in done
    wait_until(lambda: fake_slack.deleted_files() == [file_id], 10, "the evidence file deleted")
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1 and fake_slack.files() == []
    assert [call.args["file"] for call in fake_slack.calls_to("files.delete")] == [file_id]


def test_an_evidence_file_still_waiting_for_slack_when_its_author_is_erased_is_never_sent(
    desk: Desk, fake_slack: FakeSlack, database: Database
) -> None:
    maria = desk.complain(author=MARIA, text=BROKEN)
    desk.card_of(maria)
    fake_slack.fail_next("files.getUploadURLExternal", error="service_unavailable", times=50)
    desk.team.click(BOSS, "Keep evidence", on=desk.card_of(maria))

    def waiting() -> bool:  # tried once, refused, waiting for its next attempt
        with database.unit_of_work() as session:
            row = session.scalar(select(Delivery).where(Delivery.kind == "evidence"))
            return row is not None and row.status == "pending" and row.attempts >= 1

    wait_until(waiting, 10, "the evidence upload refused once")
    done = desk.erase("@maria_l", "Erase 1 complaint")

    assert "erased from 1 complaint" in done and "being deleted" not in done
    with database.unit_of_work() as session:
        (row,) = session.scalars(select(Delivery).where(Delivery.kind == "evidence"))
        assert row.status == "done" and "file_id" not in row.payload
        assert session.scalar(select(Delivery).where(Delivery.kind == "file_deletion")) is None
    assert fake_slack.files() == [] and fake_slack.calls_to("files.delete") == []


def test_a_threat_puts_the_complaint_on_legal_hold_until_a_manager_lifts_it(desk: Desk, database: Database) -> None:
    calm = desk.complain(author=MARIA, text=BROKEN)
    threat = desk.complain(author=MARIA, text="Fix it or I know where you live.")

    refused = visible_text(desk.ask("erase @maria_l", BOSS))

    assert "1 complaint is on legal hold" in refused
    assert f"#{threat}: threat words found by triage" in refused and f"/complaints hold lift #{threat}" in refused
    assert stored_complaint(database, calm).text == BROKEN
    assert "is not on legal hold" in visible_text(desk.ask(f"hold lift #{calm}", BOSS))

    lifted = visible_text(desk.ask(f"hold lift #{threat}", BOSS))

    assert f"Legal hold lifted on #{threat}" in lifted
    assert [(action, actor) for action, actor, _ in trail(database, threat)][-1] == ("legal hold lifted", BOSS)
    assert "Erase 2 complaints" in json.dumps(desk.ask("erase @maria_l", BOSS)["blocks"])
    desk.erase("@maria_l", "Erase 2 complaints")
    assert stored_complaint(database, threat).text == "[erased]" and stored_complaint(database, calm).text == "[erased]"


# -- the audit table takes that redaction and nothing else -------------------------------------------------------------


def test_the_audit_trail_still_refuses_any_other_update_or_delete(desk: Desk, database: Database) -> None:
    kept = desk.complain(author={"handle": "pedro"}, text="The blender I bought has no plug.")
    erased = desk.complain(author=MARIA, text=BROKEN)
    desk.erase("@maria_l", "Erase 1 complaint")
    events = AuditEvent.__table__

    def refused(statement: Any) -> bool:
        try:
            with database.unit_of_work() as session:
                session.execute(statement)
        except DBAPIError as error:
            return "append-only" in str(error)
        return False

    of = events.c.complaint_id
    assert refused(update(events).where(of == kept).values(actor="U0FORGER"))
    assert refused(update(events).where(of == kept).values(detail={"external_id": "[erased]", "priority": "[erased]"}))
    assert refused(events.delete().where(of == kept))
    # Even on an erased complaint: only values may turn into the marker; no other column, key or value changes.
    assert refused(update(events).where(of == erased).values(actor="U0FORGER"))
    assert refused(update(events).where(of == erased).values(detail={}))
    assert refused(update(events).where(of == erased).values(detail={"under": "nothing happened"}))
    assert refused(events.delete().where(of == erased))
    assert refused(text("DELETE FROM audit_events"))


# -- retention -------------------------------------------------------------------------------------------------------


def test_retention_redacts_old_resolved_complaints_once_across_copies_and_respects_the_hold(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    desk = Desk(start_heard(**PEOPLE), fake_slack)
    old = desk.complain(author=MARIA, text=BROKEN)
    recent = desk.complain(author={"handle": "pedro"}, text="The blender I bought has no plug.")
    held = desk.complain(author={"handle": "rita"}, text="Refund me or I know where you live.")
    still_open = desk.complain(author={"handle": "luis"}, text="Where is my parcel?")
    for resolved in (old, recent, held):
        note = {"Resolution note": "Replacement sent to Calle Mayor 5"}
        answer = desk.team.fill(ANA, "Resolve", note, on=desk.card_of(resolved))
        assert answer.status == 200 and answer.outcome == "closed", answer.body
    # The clock moves on: two of them were resolved 400 days ago, one only yesterday.
    long_ago = utcnow() - timedelta(days=400)
    with database.unit_of_work() as session:
        session.execute(update(Complaint).where(Complaint.id.in_((old, held))).values(resolved_at=long_ago))
        session.execute(
            update(Complaint).where(Complaint.id == recent).values(resolved_at=utcnow() - timedelta(days=1))
        )
        session.execute(update(Complaint).where(Complaint.id == still_open).values(posted_at=long_ago))

    # Two copies of Heard on one database, both with the policy: each sweeps at start-up.
    copies = [start_heard(**PEOPLE, PERSONAL_DATA_RETENTION="365d") for _ in range(2)]

    wait_until(lambda: stored_complaint(database, old).erased_at is not None, 10, "the retention sweep")
    for copy in copies:
        assert copy.services.privacy.apply_retention() is not None  # today's run is done: nothing more happens
    redacted = stored_complaint(database, old)
    assert redacted.text == "[erased]" and redacted.erased_by == "heard:retention"
    assert redacted.resolution_note == "[erased]" and redacted.status == "resolved"
    assert stored_complaint(database, recent).text.startswith("The blender")
    assert stored_complaint(database, held).text.startswith("Refund me")  # on legal hold
    assert stored_complaint(database, still_open).text == "Where is my parcel?"
    erasures = [(actor, detail["under"]) for action, actor, detail in trail(database, old) if action == "erased"]
    assert erasures == [("scheduler", "retention")]  # once, whichever copy claimed the day
    with database.unit_of_work() as session:
        assert len(session.scalars(select(DigestRun).where(DigestRun.kind == "retention")).all()) == 1
    wait_until(settled(database), 10, "the card re-rendered")
    card = fake_slack.message(CHANNEL, stored_complaint(database, old).slack_ts or "")
    assert "under the retention policy" in visible_text(card) and "blender" not in json.dumps(card)

    # The week's digest counts it.
    utc, now = ZoneInfo("UTC"), datetime.now(UTC)
    with database.unit_of_work() as session:
        week = compute_digest(session, day=now.date(), tz=utc, now=now, ack_window=timedelta(hours=1), days=7)
    shown = json.dumps(digest_message(week, utc, now).blocks, ensure_ascii=False)
    assert "1 complaint's personal data redacted under the retention policy" in shown


def test_two_processes_started_together_redact_each_old_complaint_once(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database, database_url: str
) -> None:
    """Two copies of `python app.py`, as an admin runs them, start at the same moment with the policy set: one of
    them claims the day, and each old complaint is redacted by exactly one of them."""
    desk = Desk(start_heard(**PEOPLE), fake_slack)
    old = [desk.complain(author={"handle": f"old_{n}"}, text=f"Parcel {n} lost, call me") for n in range(3)]
    for number in old:
        answer = desk.team.fill(ANA, "Resolve", {"Resolution note": "Refunded"}, on=desk.card_of(number))
        assert answer.status == 200 and answer.outcome == "closed", answer.body
    with database.unit_of_work() as session:
        session.execute(update(Complaint).values(resolved_at=utcnow() - timedelta(days=400)))

    environment = heard_environment(fake_slack, database_url, **PEOPLE, PERSONAL_DATA_RETENTION="365d")
    with ThreadPoolExecutor(2) as pool:
        copies = list(pool.map(lambda _: HeardProcess(environment), range(2)))

    def all_erased() -> bool:
        return all(stored_complaint(database, number).erased_at is not None for number in old)

    try:
        wait_until(all_erased, 20, "the retention sweep of one copy")
    finally:
        for copy in copies:
            copy.stop()
    for number in old:
        erasures = [actor for action, actor, _ in trail(database, number) if action == "erased"]
        assert erasures == ["scheduler"], (number, erasures)
    with database.unit_of_work() as session:
        assert len(session.scalars(select(DigestRun).where(DigestRun.kind == "retention")).all()) == 1


def test_retention_deletes_the_evidence_files_of_the_complaints_it_redacts(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    desk = Desk(start_heard(**PEOPLE, PERSONAL_DATA_RETENTION="365d"), fake_slack)
    old = desk.complain(author=MARIA, text=BROKEN)
    desk.team.click(BOSS, "Keep evidence", on=desk.card_of(old))
    wait_until(lambda: len(shared_files(database)) == 1, 10, "the evidence file shared")
    [file_id] = shared_files(database).values()
    with database.unit_of_work() as session:
        long_ago = utcnow() - timedelta(days=400)
        session.execute(update(Complaint).where(Complaint.id == old).values(status="resolved", resolved_at=long_ago))
        session.execute(DigestRun.__table__.delete())  # today's sweep ran at start-up, before this: run it again

    desk.heard.services.privacy.apply_retention()

    wait_until(lambda: fake_slack.deleted_files() == [file_id], 10, "the evidence file deleted")
    assert stored_complaint(database, old).erased_by == "heard:retention" and fake_slack.files() == []
    assert [call.args["file"] for call in fake_slack.calls_to("files.delete")] == [file_id]


# -- in every language -----------------------------------------------------------------------------------------------


def test_the_erased_card_the_question_and_the_hold_speak_from_the_catalogs() -> None:
    """Rendered in the pseudo-language, where every catalogued message shows in ⟦ ⟧: no word is left outside."""
    erased_at = POSTED + timedelta(days=2)
    by_manager = golden_complaint(text="[erased]", author_handle="[erased]", erased_at=erased_at, erased_by=BOSS)
    by_policy = golden_complaint(
        text="[erased]", author_handle="[erased]", status="resolved", erased_at=erased_at, erased_by="heard:retention"
    )
    threat = golden_complaint(threats=["i know where you live"], threat_flagged_at=POSTED, threat_flagged_by=ANA)
    with speaking(PSEUDO):
        rendered = [
            render_card(CardView(complaint=by_manager), erased_at, MADRID),
            render_card(CardView(complaint=by_policy), erased_at, MADRID),
            erase_question("maria_l", 3, ErasureRequest("maria_l", 42)),
            render_notice(privacy.hold_reason(threat)),
            render_notice(privacy.hold_reason(golden_complaint(threats=["i know where you live"]))),
        ]
        escaped = escaped_strings(
            rendered, ["[erased]", "maria_l", "i know where you live", "facebook", "Facebook", "CET"]
        )
    assert escaped == [], escaped
    assert "⟦:wastebasket: Personal data erased on" in json.dumps(rendered[0].blocks, ensure_ascii=False)
    assert "[erased]" not in json.dumps(rendered[0].blocks)  # the card says it in words instead


def test_the_erasure_button_reads_only_what_heard_wrote() -> None:
    request = ErasureRequest("maria_l", 42)
    assert ErasureRequest.decode(request.encode()) == request
    for forged in ('["maria_l", 0]', '["Maria_L", 4]', '["a b", 4]', '["x", "4"]', "[]", "nonsense", '["x", 1e30]'):
        with pytest.raises(ValueError):
            ErasureRequest.decode(forged)
