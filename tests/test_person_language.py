"""Who sees which language: each person's own views (modals, ephemerals, Home, `/complaints` answers, DMs) in their
Slack locale or the language they chose on the Home tab; shared messages in the team's HEARD_LANGUAGE.

The catalogs are still being filled, so most tests do not read translated words: they record the language that is
current when Heard calls a renderer (`current_language()`), or tag what a renderer returns with it, and look at that
where it lands in the fake Slack. The picker's own words are checked in the pseudo-language.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

import bot.services.base
from app import Heard
from bot import projections
from bot.blocks import Message, as_dicts, home, lookups, modals
from bot.blocks.language import CHOOSE_LANGUAGE, FOLLOW_SLACK, NAMES, language_picker, with_language_picker
from bot.delivery import NotReady
from bot.delivery.direct import SlackUnavailable
from bot.i18n import LANGUAGES, PSEUDO, _, current_language, set_team_language, speaking, team_language
from bot.languages import Languages, language_for_locale
from bot.services.base import NOT_AN_AGENT
from sandbox.fake_slack import FakeSlack, validate_view
from sandbox.slack_driver import FORM, SlackDriver, block_actions_payload
from storage.db import Database
from storage.models import PersonLanguage
from tests.care_team import visible_text
from tests.conftest import CHANNEL
from tests.desk import Desk as BaseDesk
from tests.support import Ingester

ANA, BEN = "U0ANA", "U0BEN"  # agents: Ana's Slack is in Brazilian Portuguese, Ben's in English
EVE = "U0EVE"  # not on the care team; her Slack is in European Portuguese
BOSS = "U0BOSS"  # a manager whose Slack is in Brazilian Portuguese
AGENTS = {"HEARD_AGENTS": f"{ANA},{BEN}", "HEARD_MANAGERS": BOSS}


@pytest.fixture(autouse=True)
def team_language_restored() -> Iterator[None]:
    """HEARD_LANGUAGE is set for the process when a Heard starts; what a test sets ends with it."""
    before = team_language()
    yield
    set_team_language(before)


class Spy:
    """Records the language current whenever Heard calls the renderers it wraps."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def watch(self, owner: Any, name: str) -> None:
        real = getattr(owner, name)

        def spy(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.seen.append((name, current_language()))
            return real(*args, **kwargs)

        self.monkeypatch.setattr(owner, name, spy)

    def languages(self, name: str) -> list[str]:
        with self._lock:
            return [language for seen, language in self.seen if seen == name]

    def wait(self, name: str, count: int = 1, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.languages(name)) < count:
            assert time.monotonic() < deadline, f"{name} rendered {len(self.languages(name))} times, not {count}"
            time.sleep(0.02)
        return self.languages(name)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    watching = Spy(monkeypatch)
    watching.watch(modals, "follow_up_modal")  # a modal opened for someone (views.open)
    watching.watch(bot.services.base, "render_notice")  # a private answer (ephemeral)
    watching.watch(lookups, "render_help")  # `/complaints help`, answered in the ack
    watching.watch(home, "render_home")  # the Home tab (views.publish)
    watching.watch(projections, "render_card")  # the card: shared, the team's language
    return watching


class Desk(BaseDesk):
    @property
    def slack(self) -> SlackDriver:
        return self.driver

    def complain(self, text: str = "My refund is three weeks late") -> int:  # type: ignore[override]
        return super().complain(text=text)

    def open_home(self, user: str) -> dict[str, Any]:
        published = len([c for c in self.fake.calls_to("views.publish") if c.args.get("user_id") == user])
        answer = self.slack.open_home(user)
        assert answer.status == 200
        return self.home_published(user, published + 1)

    def home_published(self, user: str, count: int) -> dict[str, Any]:
        calls = self.fake.wait_for("views.publish", where=lambda c: c.args.get("user_id") == user, count=count)
        assert calls[count - 1].ok, calls[count - 1].summary()
        assert validate_view(calls[count - 1].args["view"], kind="home") == []  # the view Heard sent
        view = self.fake.home(user)
        assert view is not None
        return view

    def pick_on_home(self, user: str, language: str) -> dict[str, Any]:
        """Choose `language` (or FOLLOW_SLACK) in the Home tab's language picker, as Slack sends it; the Home tab
        once published again."""
        view = self.fake.home(user)
        assert view is not None
        [label] = [o["text"]["text"] for o in picker(view)["options"] if o["value"] == language]
        published = len([c for c in self.fake.calls_to("views.publish") if c.args.get("user_id") == user])
        payload = block_actions_payload(
            self.fake, label, on={"ts": "0", "blocks": view["blocks"]}, channel=CHANNEL, user=user
        )
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0HOME")}
        for key in ("channel", "message", "response_url"):
            payload.pop(key, None)
        payload["view"] = {**view, "id": view.get("id", "V0HOME")}
        answer = self.slack.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)
        assert answer.status == 200, answer.body
        return self.home_published(user, published + 1)


@pytest.fixture
def desk(start_heard: Callable[..., Heard], fake_slack: FakeSlack) -> Desk:
    fake_slack.set_user(ANA, locale="pt-BR")
    fake_slack.set_user(EVE, locale="pt-PT")
    fake_slack.set_user(BOSS, locale="pt-BR")
    return Desk(start_heard(**AGENTS), fake_slack)


def picker(view: dict[str, Any]) -> dict[str, Any]:
    [select] = [
        block["accessory"]
        for block in view["blocks"]
        if isinstance(block.get("accessory"), dict) and block["accessory"].get("action_id") == CHOOSE_LANGUAGE
    ]
    return select


def open_follow_up_form(desk: Desk, user: str) -> None:
    desk.team.open_form(user, "Schedule follow-up")


# -- a person's Slack locale -----------------------------------------------------------------------------------------


def test_a_person_whose_slack_is_in_brazilian_portuguese_gets_modals_answers_and_home_in_portuguese(
    desk: Desk, spy: Spy, fake_slack: FakeSlack, database: Database
) -> None:
    desk.complain()
    card = desk.team.card()
    assert set(spy.languages("render_card")) == {"en"}

    open_follow_up_form(desk, ANA)
    assert spy.wait("follow_up_modal") == ["pt"]
    desk.team.click(ANA, "Claim", on=card)
    desk.team.card_shows("Owner: <@U0ANA>")  # updated by Ana's click, on her request's thread
    assert set(spy.languages("render_card")) == {"en"}  # a shared card stays in the team's language

    desk.team.click(EVE, "Claim", on=card)  # not on the care team: told so, privately, in her language
    with speaking("pt"):
        in_portuguese = _(NOT_AN_AGENT)
    assert in_portuguese != NOT_AN_AGENT
    desk.team.told(EVE, in_portuguese)
    assert "pt" in spy.languages("render_notice")

    answer = desk.slack.command("/complaints", "help", user=ANA, channel=CHANNEL)
    assert answer.status == 200
    assert spy.languages("render_help") == ["pt"]

    view = desk.open_home(ANA)
    assert spy.wait("render_home") == ["pt"]
    assert picker(view)["initial_option"]["value"] == FOLLOW_SLACK  # no choice of her own: Slack's language

    desk.open_home(BEN)
    assert spy.wait("render_home", 2)[-1] == "en"  # Ben's Slack is in English (the fake's default en-US)

    asked = fake_slack.calls_to("users.info")
    assert asked and all(str(call.args.get("include_locale")).lower() in ("1", "true") for call in asked)
    # Asked once per person (then cached), never for every click.
    assert len([call for call in asked if call.args.get("user") == ANA]) == 1
    with database.unit_of_work() as session:
        row = session.get(PersonLanguage, ANA)
        assert row is not None and (row.slack_locale, row.chosen_language) == ("pt-BR", None)


def test_choosing_greek_on_home_shows_home_and_the_next_modal_in_greek_until_slack_is_chosen_again(
    desk: Desk, spy: Spy, database: Database
) -> None:
    desk.complain()
    desk.team.card()
    view = desk.open_home(BEN)
    labels = [option["text"]["text"] for option in picker(view)["options"]]
    assert labels == ["Slack's language", "English", "Suomi", "Português", "Български", "Ελληνικά"]

    view = desk.pick_on_home(BEN, "el")
    assert spy.wait("render_home", 2)[-1] == "el"  # republished in the language just chosen
    assert picker(view)["initial_option"]["value"] == "el"
    open_follow_up_form(desk, BEN)
    assert spy.wait("follow_up_modal") == ["el"]

    view = desk.pick_on_home(BEN, FOLLOW_SLACK)
    assert spy.wait("render_home", 3)[-1] == "en"
    assert picker(view)["initial_option"]["value"] == FOLLOW_SLACK
    with database.unit_of_work() as session:
        row = session.get(PersonLanguage, BEN)
        assert row is not None and row.chosen_language is None and row.chosen_at is None

    # Ana's choice beats her Slack locale.
    desk.open_home(ANA)
    desk.pick_on_home(ANA, "fi")
    open_follow_up_form(desk, ANA)
    assert spy.wait("follow_up_modal", 2)[-1] == "fi"


def test_a_language_heard_did_not_offer_is_ignored(desk: Desk, fake_slack: FakeSlack, database: Database) -> None:
    view = desk.open_home(BEN)
    payload = block_actions_payload(
        fake_slack, "Ελληνικά", on={"ts": "0", "blocks": view["blocks"]}, channel=CHANNEL, user=BEN
    )
    payload["actions"][0]["selected_option"]["value"] = "xx"  # forged
    answer = desk.slack.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)
    assert answer.status == 200
    with database.unit_of_work() as session:
        assert session.scalar(select(PersonLanguage.chosen_language).where(PersonLanguage.user_id == BEN)) is None


def test_slack_failing_users_info_gives_the_team_language_and_refuses_rather_than_guesses(
    desk: Desk, spy: Spy, fake_slack: FakeSlack
) -> None:
    desk.complain()
    card = desk.team.card()
    fake_slack.fail_next("users.info", status=500, times=20)

    # Ana's Slack is in Portuguese, and she is on the care team, but Slack says neither now: Heard cannot tell she is
    # not a guest, so it does not act for her, and says so in the team's language.
    desk.team.click(ANA, "Schedule follow-up", on=card)
    desk.team.told(ANA, NOT_AN_AGENT)
    assert spy.languages("render_notice") == ["en"]
    assert spy.languages("follow_up_modal") == []
    desk.open_home(ANA)
    assert spy.wait("render_home") == ["en"]
    # Not asked again at every click while Slack fails.
    failed = len(fake_slack.calls_to("users.info"))
    desk.team.click(ANA, "Schedule follow-up", on=card)
    fake_slack.wait_for("response_url", where=lambda call: NOT_AN_AGENT in visible_text(call.args), count=2)
    assert len(fake_slack.calls_to("users.info")) == failed


# -- DMs rendered by the delivery worker ----------------------------------------------------------------------------


def _tagging(monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest message and its chart's alt text say which language they were rendered in."""
    real_message, real_alt = projections.digest_message, projections.chart_alt_text

    def digest_message(*args: Any) -> Message:
        message = real_message(*args)
        return Message(text=f"[{current_language()}] {message.text}", blocks=message.blocks)

    def chart_alt_text(*args: Any) -> str:
        return f"[{current_language()}] {real_alt(*args)}"

    monkeypatch.setattr(projections, "digest_message", digest_message)
    monkeypatch.setattr(projections, "chart_alt_text", chart_alt_text)


def test_a_managers_digest_dm_in_their_language_while_the_channels_digest_is_in_the_teams(
    start_heard: Callable[..., Heard],
    customer: Ingester,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_slack.set_user(BOSS, locale="pt-BR")  # never opened Heard: looked up when the worker first writes to him
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=5, second=0, microsecond=0)
    assert customer.complain(text="Refund late", created_at=yesterday.strftime("%Y-%m-%dT%H:%M:%SZ")).status == 202
    _tagging(monkeypatch)
    passed = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
    # Windows longer than the complaint's age: no breach alert DMs the manager beside the digest, whenever this runs.
    start_heard(
        HEARD_MANAGERS=BOSS,
        HEARD_LANGUAGE="fi",
        DIGEST_AT=passed,
        DIGEST_CHANNEL="C0DIGEST",
        ACK_WINDOW="72h",
        RESOLVE_WINDOW="96h",
    )

    fake_slack.wait_for("files.completeUploadExternal", count=2, timeout=20)
    dms = [m for m in fake_slack.dms(BOSS) if not m.get("files")]
    assert len(dms) == 1, [visible_text(m)[:120] for m in dms]
    [dm] = dms
    [posted] = [m for m in fake_slack.messages("C0DIGEST") if not m.get("files")]
    assert visible_text(dm).startswith("[pt] ")
    assert visible_text(posted).startswith("[fi] ")  # a shared message: HEARD_LANGUAGE
    charts = {channel: f for f in fake_slack.files() for channel in f["channels"]}
    assert charts[fake_slack.dm_channel(BOSS)]["alt_txt"].startswith("[pt] ")
    assert charts["C0DIGEST"]["alt_txt"].startswith("[fi] ")


def test_the_worker_never_asks_slack_inside_its_claim_and_a_stranger_gets_the_team_language_when_slack_fails(
    database: Database,
) -> None:
    class DownSlack:
        def __init__(self) -> None:
            self.asked: list[str] = []

        def locale(self, user: str) -> str | None:
            self.asked.append(user)
            raise SlackUnavailable("down")

    slack = DownSlack()
    set_team_language("bg")
    languages = Languages(database, slack)  # type: ignore[arg-type]
    with database.unit_of_work() as session:
        assert languages.for_recipient(session, "C0CHANNEL") == "bg"  # a channel: the team's language
        with pytest.raises(NotReady):
            languages.for_recipient(session, "U0NEW")  # never seen: looked up on a thread of its own
    deadline = time.monotonic() + 5
    while True:
        with database.unit_of_work() as session:
            try:
                assert languages.for_recipient(session, "U0NEW") == "bg"
                break
            except NotReady:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    assert slack.asked == ["U0NEW"]


# -- across a restart ------------------------------------------------------------------------------------------------


def test_the_choice_and_the_locale_seen_survive_a_restart(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, spy: Spy
) -> None:
    fake_slack.set_user(ANA, locale="pt-BR")
    first = Desk(start_heard(**AGENTS), fake_slack)
    first.complain()
    first.team.card()
    first.open_home(BEN)
    first.pick_on_home(BEN, "el")
    first.open_home(ANA)  # her Slack locale, seen and stored
    first.heard.stop()

    second = Desk(start_heard(**AGENTS), fake_slack)  # a new Heard on the same database
    # Slack would say Finnish now; within the hour the locale seen and stored is the one used (the new Heard asks
    # Slack only whether they are guests).
    fake_slack.set_user(ANA, locale="fi-FI")
    fake_slack.set_user(BEN, locale="fi-FI")
    open_follow_up_form(second, BEN)
    open_follow_up_form(second, ANA)
    assert spy.wait("follow_up_modal", 2) == ["el", "pt"]  # both known from the table
    view = second.open_home(BEN)
    assert picker(view)["initial_option"]["value"] == "el"


# -- the picker and the mapping --------------------------------------------------------------------------------------


def test_slack_locales_map_to_heards_languages_and_anything_else_to_the_teams() -> None:
    assert [language_for_locale(x, "fi") for x in ("pt-BR", "pt-PT", "en-US", "en-GB", "el-GR", "bg-BG")] == [
        "pt",
        "pt",
        "en",
        "en",
        "el",
        "bg",
    ]
    assert [language_for_locale(x, "fi") for x in ("ja-JP", "es-ES", "", None)] == ["fi"] * 4


def test_the_picker_speaks_the_pseudo_language_but_names_each_language_in_its_own() -> None:
    with speaking(PSEUDO):
        [_, section] = as_dicts(language_picker("el"))
    select = section["accessory"]
    assert section["text"]["text"].startswith("⟦") and section["text"]["text"].endswith("⟧")
    assert select["placeholder"]["text"] == "⟦Language⟧"
    assert select["options"][0]["text"]["text"] == "⟦Slack's language⟧"
    assert [o["text"]["text"] for o in select["options"][1:]] == [NAMES[language] for language in LANGUAGES]
    assert select["initial_option"]["value"] == "el"


@pytest.mark.parametrize("language", [*LANGUAGES, PSEUDO])
def test_the_picker_keeps_to_block_kits_limits_in_every_language(language: str) -> None:
    with speaking(language):
        view = with_language_picker(
            {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]}, None
        )
    assert validate_view(view, kind="home") == []


# -- the sandbox -----------------------------------------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Any]:
    from sandbox.server import start

    running = start(port=0, database_path=tmp_path / "heard-sandbox.db")
    yield running
    running.stop()


def test_each_person_in_the_sandbox_picks_a_language_on_home(sandbox: Any, spy: Spy) -> None:
    from sandbox.interactions import Surface
    from sandbox.workspace import AGENT_B

    client = sandbox.client  # what the page's person does, signed as Slack sends it
    assert client.open_home(AGENT_B.id).status == 200
    view = _until(lambda: sandbox.fake.home(AGENT_B.id))
    select = picker(view)
    [block] = [b for b in view["blocks"] if b.get("accessory") == select]
    assert client.act(AGENT_B.id, Surface("home"), block["block_id"], CHOOSE_LANGUAGE, chosen="el").status == 200
    view = _until(lambda: (v := sandbox.fake.home(AGENT_B.id)) and picker(v)["initial_option"]["value"] == "el" and v)
    assert spy.languages("render_home")[-1] == "el"


def _until(found: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, "not seen in time"
        time.sleep(0.05)
    return value
