"""Shared messages speak from the catalogs: the card in every state, the messages around it (escalation, approval,
follow-up, thread log, a post joined, moderation's warning and Legal's notice), nags and breach alerts alone and in
lists, the storm card, its lines and its statement modal, moderation's and replies' modals, rotations (who is on
duty, the handoff DM), the lag notice and the refusals a person reads. Each is rendered in the pseudo-language,
where every catalogued message shows in ⟦ ⟧, and no word may be left outside them but the data the test put in
(tests/i18n_support.py says how a string is judged).

Also: times, durations and numbers come from Babel's locale data (Finnish and Greek read naturally), and Block Kit's
limits hold when the words run much longer than English (Finnish and Greek do).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import bot.i18n
from bot.blocks import messages, reminders, rotations, storm
from bot.blocks.card import CardView, render_card
from bot.blocks.moderation import (
    ModerationView,
    confirm_block_modal,
    confirm_flag_threat_modal,
    hide_modal,
    write_up_modal,
)
from bot.blocks.replies import ReplyForm, ReplyWords, reply_modal
from bot.blocks.when import clock, compact, in_words, number, span
from bot.delivery.lag import LagWatch
from bot.i18n import PSEUDO, speaking
from bot.lifecycle import Action, Actor, TransitionRefused, apply
from bot.platforms.meta.graph import GraphError
from bot.services.rotations import DutyBoard, RotationDuty
from bot.sla import Clock
from storage.models import AuditEvent, ComplaintPost, DeliveryFlag, FollowUp, Reply, Storm
from tests.i18n_support import block_kit_limits, escaped_strings, leftover_words
from tests.test_card_golden import CASES, MADRID, POSTED, complaint, escalation

NOW = POSTED + timedelta(minutes=30)
TEXT = "Three weeks waiting for my refund & nobody answers <!channel>"
# What the tests put in: the customer's words and names, departments, notes, networks' names.
DATA = [
    TEXT,
    "maria_l",
    "Maria López",
    "maria_lopez",
    "Facebook",
    "facebook",
    "Legal",
    "Product",
    "Threatens to sue <!here>",
    "Refund issued",
    "Names the shop's address",
    "X hides replies only in conversations the brand started",
    "i know where you live",
    "48,213 followers",
    "urgent: refund, lawyer",
    "personal data: e-mail address",
    "e-mail address",
    "es",
    "We are sorry, Maria",
    "Care",
    "CET",
    "Europe/Madrid",
]


@pytest.fixture(autouse=True)
def pseudo() -> Iterator[None]:
    with speaking(PSEUDO):
        yield


def assert_from_catalogs(rendered: object, *data: str) -> None:
    escaped = escaped_strings(rendered, [*DATA, *data])
    assert escaped == [], "\n".join(f"{words}: {text!r}" for text, words in escaped)


# -- the helper itself -------------------------------------------------------------------------------------------


def test_the_check_finds_words_outside_the_catalogs() -> None:
    assert leftover_words("⟦Posted 10:15⟧ · ⟦Complaint #42⟧") == []
    assert leftover_words("⟦Nobody wrote this message⟧") != []
    assert leftover_words("⟦Posted Fri 20 Nov, 10:15⟧ · edited later") == ["edited", "later"]
    # A value that is not a catalog message inside one that is: still found.
    assert leftover_words("⟦Owner: nobody here⟧") == ["nobody", "here"]
    # Mentions, emoji, commands in code and links' addresses are no words; a link's label is.
    assert leftover_words(":bust_in_silhouette: ⟦Owner: <@U0ANA>⟧ `/complaints 42`") == []
    assert leftover_words("<https://x.com/a|view it>") == ["view", "it"]
    assert leftover_words("⟦Unclaimed⟧ <https://x.com/a|maria> :tornado:", ["maria"]) == []


# -- the card ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", sorted(CASES))
def test_every_card_state_speaks_from_the_catalogs(state: str) -> None:
    view, now = CASES[state]
    assert_from_catalogs(render_card(view, now, MADRID), view.complaint.text, view.complaint.author_handle)


def test_a_card_with_replies_moderation_and_everything_speaks_from_the_catalogs() -> None:
    subject = complaint(
        status="acknowledged",
        owner_id="U0ANA",
        claimed_by="U0ANA",
        claimed_at=POSTED + timedelta(minutes=2),
        acknowledged_by="U0BEN",
        acknowledged_at=POSTED + timedelta(minutes=5),
        edited_at=POSTED + timedelta(minutes=7),
        removed_at=POSTED + timedelta(minutes=8),
        hidden_at=POSTED + timedelta(minutes=9),
        hidden_by="U0ANA",
        hidden_reason="spam",
        hidden_on_source=True,
        extra_posts=1,
        lang="es",
        author_followers=1200,
        author_verified=True,
    )
    view = CardView(
        subject,
        escalations=[
            escalation(status="declined", decided_by="U0BOSS"),
            escalation(id=8, status="open"),
        ],
        next_follow_up=FollowUp(
            id=3, complaint_id=42, due_at=NOW + timedelta(days=2), assignee="U0ANA", status="scheduled"
        ),
        replies=[
            reply(1, "sent", "public", url="https://facebook.com/acme/posts/1?c=2"),
            reply(2, "sent", "dm"),
            reply(3, "sending", "dm"),
            reply(4, "sent", "copy", sent_by="U0BEN"),
            reply(5, "failed", "public", error=None),
            reply(6, "drafted", "copy"),
        ],
        moderation=ModerationView(
            strikes=1,
            blocked_at=NOW,
            blocked_by="U0ANA",
            muted_on_source=False,
            block_note="Names the shop's address",
        ),
    )
    assert_from_catalogs(render_card(view, NOW, MADRID))
    unblocked = CardView(complaint(), moderation=ModerationView(strikes=4, strikes_before_block=3))
    assert_from_catalogs(render_card(unblocked, NOW, MADRID))


def reply(reply_id: int, status: str, channel: str, **changes: object) -> Reply:
    fields: dict[str, object] = {
        "id": reply_id,
        "complaint_id": 42,
        "request_key": f"r{reply_id}",
        "purpose": "acknowledge",
        "channel": channel,
        "text": "We are sorry, Maria",
        "personalised": True,
        "requested_by": "U0ANA",
        "requested_at": POSTED,
        "status": status,
        "sent_at": POSTED + timedelta(minutes=3) if status == "sent" else None,
        "error": None,
    }
    fields.update(changes)
    return Reply(**fields)


# -- messages around the card ------------------------------------------------------------------------------------


def test_escalation_approval_and_follow_up_messages_speak_from_the_catalogs() -> None:
    subject = complaint(slack_permalink="https://acme.slack.com/archives/C1/p1")
    for status in ("open", "accepted"):
        found = escalation(status=status, accepted_by="U0PAT", accepted_at=NOW)
        assert_from_catalogs(messages.escalation_notice(subject, found, "<@U0PAT>", NOW, MADRID))
        assert_from_catalogs(messages.escalation_notice(subject, found, "", NOW, MADRID))
    for status in ("awaiting approval", "declined", "open"):
        found = escalation(status=status, decided_by="U0BOSS", decided_at=NOW)
        assert_from_catalogs(messages.approval_request(subject, found, NOW, MADRID))
    for status in ("sent", "done", "scheduled"):
        follow_up = FollowUp(
            id=3,
            complaint_id=42,
            due_at=NOW + timedelta(days=1),
            note="" if status == "sent" else "Names the shop's address",
            assignee="U0ANA",
            scheduled_by="U0ANA",
            status=status,
            done_by="U0ANA",
            done_at=NOW,
        )
        assert_from_catalogs(messages.follow_up_reminder(subject, follow_up, NOW, MADRID))


@pytest.mark.parametrize("action", [action.value for action in Action])
def test_every_thread_log_line_speaks_from_the_catalogs(action: str) -> None:
    details = {
        Action.REASSIGN.value: {"to": "U0BEN"},
        Action.ESCALATE.value: {"department": "Legal"},
        Action.EDITED_BY_AUTHOR.value: {"before": TEXT},
        Action.HIDE.value: {"reason": "spam", "on_source": True},
        Action.WARN_AUTHOR.value: {"strike": 2, "of": 3},
        Action.REPLY.value: {"text": "We are sorry, Maria", "url": "https://facebook.com/r/1"},
        Action.SEND_DM.value: {"text": "We are sorry, Maria"},
        Action.REPLY_FAILED.value: {"error": "X hides replies only in conversations the brand started"},
        Action.ASSIGN.value: {"to": "U0BEN", "by": "round-robin", "rotation": "Care"},
    }
    event = AuditEvent(
        id=1, complaint_id=42, at=NOW, actor="U0ANA", action=action, surface="slack", detail=details.get(action, {})
    )
    # Arrivals are not logged in the thread (the card says it): their audit names have no words of their own.
    silent = {Action.RECEIVE.value, Action.JOIN.value}
    rendered = messages.thread_log_line(event, complaint(), NOW, MADRID)
    assert_from_catalogs(rendered, *(silent if action in silent else ()))
    if action == Action.NAG.value:
        assert_from_catalogs(messages.thread_log_line(event, complaint(), NOW, MADRID, listed_with=3))


def test_a_joined_post_a_warning_and_the_threat_notice_speak_from_the_catalogs() -> None:
    subject = complaint(
        owner_id="U0ANA",
        threat_flagged_by="U0ANA",
        threat_flagged_at=NOW,
        slack_permalink="https://acme.slack.com/archives/C1/p1",
    )
    post = ComplaintPost(
        id=1,
        complaint_id=42,
        source="facebook",
        external_id="fb-2",
        text="\n".join([TEXT] * 20),
        url="https://facebook.com/acme/posts/1?c=9",
        posted_at=NOW,
        received_at=NOW,
    )
    assert_from_catalogs(messages.joined_post_message(subject, post, NOW, MADRID))
    for has_policy in (True, False):
        assert_from_catalogs(messages.warning_message(subject, 2, 3, "We are sorry, Maria", has_policy))
    notice = messages.threat_notice(subject, [post], "<@U0LEGAL>", MADRID)
    assert_from_catalogs(notice, POSTED.astimezone(MADRID).strftime("%Z"))


# -- nags and breach alerts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", list(Clock))
def test_nags_and_breach_alerts_speak_from_the_catalogs(which: Clock) -> None:
    subject = complaint(slack_permalink="https://acme.slack.com/archives/C1/p1")
    acknowledged = complaint(status="acknowledged", acknowledged_by="U0BEN", acknowledged_at=NOW)
    resolved = complaint(status="resolved", resolved_by="U0BEN", resolved_at=NOW, acknowledged_at=NOW)
    late = POSTED + timedelta(days=2)
    for now in (NOW, late):
        assert_from_catalogs(reminders.nag(subject, which, "<@U0ANA>", now, MADRID))
        assert_from_catalogs(reminders.breach(subject, which, 0, now, MADRID))
        assert_from_catalogs(reminders.breach(complaint(owner_id="U0ANA"), which, 2, now, MADRID))
    assert_from_catalogs(reminders.nag(resolved, which, "", NOW, MADRID))
    assert_from_catalogs(reminders.breach(acknowledged if which is Clock.ACK else resolved, which, 1, late, MADRID))


def test_nag_and_breach_lists_with_more_than_they_show_speak_from_the_catalogs() -> None:
    many = [complaint(id=100 + n) for n in range(reminders.MAX_LISTED + 4)]
    mixed = [(c, Clock.ACK if n % 2 else Clock.RESOLVE) for n, c in enumerate(many)]
    assert_from_catalogs(reminders.nag_list(mixed, "<!here>", NOW, MADRID))
    assert_from_catalogs(reminders.nag_list([(c, Clock.ACK) for c in many[:2]], "", NOW, MADRID))
    assert_from_catalogs(reminders.breach_list([(c, w, n % 3) for n, (c, w) in enumerate(mixed)], NOW, MADRID))


# -- storms ------------------------------------------------------------------------------------------------------


def a_storm(**changes: object) -> Storm:
    fields: dict[str, object] = {"id": 5, "channel": "C1", "status": "open", "started_at": POSTED}
    fields.update(changes)
    return Storm(**fields)


def test_the_storm_card_its_lines_and_its_modal_speak_from_the_catalogs() -> None:
    for found in (a_storm(), a_storm(ended_at=NOW, ended_by="U0ANA"), a_storm(ended_at=NOW)):
        view = storm.StormView(found, 40, ("refund", "app"), 10, 12, 3, replies_sent=9, drafts=2)
        assert_from_catalogs(storm.storm_card(view, NOW, MADRID), "refund", "app")
        single = storm.StormView(found, 1, (), 1, 1, 1)
        assert_from_catalogs(storm.storm_card(single, NOW, MADRID))
    replies = [reply(1, "failed", "public", error=None), reply(2, "drafted", "copy"), reply(3, "sent", "public")]
    assert_from_catalogs(storm.storm_line(complaint(), replies, NOW, MADRID))
    lines = [
        (complaint(id=50), replies),
        (complaint(id=51, owner_id="U0ANA", acknowledged_at=NOW, acknowledged_by="U0ANA"), []),
        (complaint(id=52, status="resolved", resolved_at=NOW, resolved_by="U0ANA"), []),
        (complaint(id=53, ack_deadline=POSTED), []),
    ]
    assert_from_catalogs(storm.storm_lines(lines, NOW, MADRID))
    for customers in (1, 30):
        modal = storm.statement_modal(5, customers, "We are sorry, Maria", [])
        assert_from_catalogs(modal["blocks"])
        assert_from_catalogs([modal["title"], modal["submit"]])


# -- modals on the card ------------------------------------------------------------------------------------------


def test_moderation_and_reply_modals_speak_from_the_catalogs() -> None:
    summary = "*maria_l*"
    for modal in (
        hide_modal("ref", summary, "Facebook"),
        confirm_flag_threat_modal("ref", summary),
        confirm_block_modal("ref", summary),
        write_up_modal("ref", summary),
    ):
        assert_from_catalogs(modal["blocks"])
        assert_from_catalogs([modal["title"], modal["submit"]])
    for platform, purpose in (("x", "acknowledge"), ("facebook", "private")):
        words = ReplyWords.of(complaint(platform=platform, source=platform))
        form = ReplyForm(42, purpose, "abc", warned=True)
        modal = reply_modal(form, summary, "We are sorry, Maria", ["public", "dm", "copy", "internal"], [], words)
        assert_from_catalogs(modal["blocks"], "X")
        assert_from_catalogs([modal["title"], modal["submit"]])


# -- rotations ---------------------------------------------------------------------------------------------------


def test_who_is_on_duty_and_the_handoff_speak_from_the_catalogs() -> None:
    duty = RotationDuty(
        name="Care",
        people=("U0ANA",),
        since=NOW - timedelta(hours=2),
        until=NOW + timedelta(days=1),
        next_people=(),
        covering=(("U0ANA", "U0BEN"),),
    )
    closed = RotationDuty(
        name="Care", people=(), since=NOW, until=NOW, next_people=("U0BEN",), closed_until=NOW + timedelta(hours=3)
    )
    for board in (
        DutyBoard((duty, closed), away=("U0BEN",), auto_assign="round-robin"),
        DutyBoard((), away=(), auto_assign="least-loaded"),
    ):
        assert_from_catalogs(rotations.render_duty(board, NOW, MADRID))
        for user in ("U0ANA", "U0BEN"):
            assert_from_catalogs(rotations.home_duty(board, user, NOW, MADRID))
    assert_from_catalogs(rotations.handoff_message(duty, "U0ANA", [], 1234, 5, NOW, MADRID))
    assert_from_catalogs(rotations.handoff_message(duty, "U0ANA", [], 0, 0, NOW, MADRID))


# -- notices and refusals ----------------------------------------------------------------------------------------


def test_the_lag_notice_and_its_all_clear_speak_from_the_catalogs() -> None:
    watch = LagWatch.__new__(LagWatch)
    watch.threshold = timedelta(minutes=2)
    assert leftover_words(watch._over_text(timedelta(minutes=7))) == []
    flag = DeliveryFlag(name="lag", raised=True, episode=1, changed_at=NOW - timedelta(minutes=9))
    assert leftover_words(LagWatch._recovered_text(flag, NOW)) == []


def test_refusals_a_person_reads_speak_from_the_catalogs() -> None:
    resolved = complaint(status="resolved", resolved_by="U0ANA", resolved_at=NOW)
    for action in (Action.CLAIM, Action.ESCALATE, Action.SNOOZE_RESOLUTION):
        with pytest.raises(TransitionRefused) as refused:
            apply(None, resolved, action, Actor("U0BEN", "slack:button"), NOW)  # type: ignore[arg-type]
        assert leftover_words(str(refused.value)) == []
    for kind, reason in (("token", None), ("rate_limit", None), ("permission", None), ("unsure", "timeout")):
        error = GraphError(kind, "(#200) Permissions error", label="Facebook", reason=reason)
        assert leftover_words(str(error), ["Facebook", "(#200) Permissions error", "META_PAGE_TOKEN"]) == []


# -- times, durations and numbers from Babel's locale data -------------------------------------------------------

HELSINKI = ZoneInfo("Europe/Helsinki")
MOMENT = datetime(2026, 11, 25, 8, 5, tzinfo=UTC)  # a Wednesday, 10:05 in Helsinki and Athens


def test_english_times_and_durations_read_as_a_british_team_writes_them() -> None:
    with speaking("en"):
        assert clock(MOMENT, MOMENT, HELSINKI) == "10:05"
        assert clock(MOMENT, MOMENT + timedelta(days=1), HELSINKI) == "Wed 25 Nov, 10:05"
        assert span(timedelta(seconds=20)) == "<1 min"
        assert span(timedelta(minutes=42)) == "42 mins"
        assert span(timedelta(hours=2, minutes=5)) == "2 hrs 5 mins"
        assert span(timedelta(days=3, hours=4, minutes=9)) == "3 days 4 hrs"
        assert in_words(timedelta(days=1)) == "1 day"
        assert in_words(timedelta(days=3)) == "3 days"
        assert in_words(timedelta(seconds=8)) == "8 seconds"
        assert number(12345) == "12,345"
        assert compact(12_400) == "12.4k"


def test_finnish_times_and_durations_read_naturally() -> None:
    with speaking("fi"):
        assert clock(MOMENT, MOMENT, HELSINKI) == "10.05"
        assert clock(MOMENT, MOMENT + timedelta(days=1), HELSINKI) == "ke 25.11. 10.05"  # keskiviikko
        assert span(timedelta(hours=2, minutes=5)) == "2 t 5 min"
        assert span(timedelta(days=3, hours=4)) == "3 pv 4 t"
        assert in_words(timedelta(days=3)) == "3 päivää"
        assert in_words(timedelta(hours=1)) == "1 tunti"
        assert in_words(timedelta(minutes=30)) == "30 minuuttia"
        assert number(12345) == "12\N{NO-BREAK SPACE}345"


def test_greek_times_and_durations_read_naturally() -> None:
    athens = ZoneInfo("Europe/Athens")
    with speaking("el"):
        other_day = clock(MOMENT, MOMENT + timedelta(days=1), athens)
        assert other_day.startswith("Τετ 25 Νοε")  # Τετάρτη, Νοεμβρίου
        assert "10:05" in other_day
        assert span(timedelta(hours=2, minutes=5)) == "2 ώ. 5 λ."
        assert in_words(timedelta(days=3)) == "3 ημέρες"
        assert in_words(timedelta(days=1)) == "1 ημέρα"
        assert number(12345) == "12.345"


def test_every_language_says_a_duration_without_error() -> None:
    """Babel's data lacks some list patterns (Bulgarian's): durations still read, joined by a space."""
    for language in bot.i18n.LANGUAGES:
        with speaking(language):
            assert span(timedelta(days=1, hours=2)).strip()
            assert clock(MOMENT, MOMENT + timedelta(days=3), HELSINKI).strip()


# -- Block Kit limits in long languages --------------------------------------------------------------------------


class _Longwinded(gettext.NullTranslations):
    """Every message five times as long as English (Finnish and Greek run up to 60% longer)."""

    def gettext(self, message: str) -> str:
        return " ".join([message] * 5)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return " ".join([singular if n == 1 else plural] * 5)


@pytest.fixture
def longwinded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.i18n, "translations", lambda language: _Longwinded())


@pytest.mark.usefixtures("longwinded")
def test_block_kit_limits_hold_when_the_words_run_long() -> None:
    rendered: list[object] = [render_card(view, now, MADRID) for view, now in CASES.values()]
    rendered.append(
        render_card(CardView(complaint(), moderation=ModerationView(strikes=4), quick_follow_up=None), NOW, MADRID)
    )
    view = storm.StormView(a_storm(), 40, ("refund",), 10, 12, 3, replies_sent=9, drafts=2)
    rendered.append(storm.storm_card(view, NOW, MADRID))
    rendered.append(storm.storm_line(complaint(), [reply(1, "failed", "public")], NOW, MADRID))
    rendered.append(reminders.nag(complaint(), Clock.ACK, "", NOW, MADRID))
    rendered.append(messages.approval_request(complaint(), escalation(status="awaiting approval"), NOW, MADRID))
    rendered.append(messages.escalation_notice(complaint(), escalation(), "<@U0PAT>", NOW, MADRID))
    many = [(complaint(id=100 + n), Clock.ACK) for n in range(reminders.MAX_LISTED + 4)]
    rendered.append(reminders.nag_list(many, "<!here>", NOW, MADRID))
    rendered.append(reminders.breach_list([(c, w, 2) for c, w in many], NOW + timedelta(days=1), MADRID))
    rendered.append(storm.storm_lines([(complaint(id=50), []), (complaint(id=51), [])], NOW, MADRID))
    board = DutyBoard(
        (RotationDuty("Care", ("U0ANA",), NOW, NOW + timedelta(hours=8), ("U0BEN",)),), ("U0BEN",), "round-robin"
    )
    rendered.append(rotations.render_duty(board, NOW, MADRID))
    rendered.append(rotations.home_duty(board, "U0BEN", NOW, MADRID))
    summary = "*maria_l*"
    rendered += [
        hide_modal("ref", summary, "Facebook"),
        confirm_flag_threat_modal("ref", summary),
        confirm_block_modal("ref", summary),
        write_up_modal("ref", summary),
        storm.statement_modal(5, 3, "We are sorry", []),
        reply_modal(
            ReplyForm(42, "private", "abc"),
            summary,
            "Hi",
            ["public", "dm", "copy"],
            [],
            ReplyWords.of(complaint(platform="x", source="x")),
        ),
    ]
    too_long = [problem for message in rendered for problem in block_kit_limits(message)]
    assert too_long == []
