"""Facebook and Instagram as a care team meets them: a fake Graph API (sandbox/fake_graph.py) holding the Page, the
Instagram account and their comments; Meta's side of `/webhooks/meta` (the verification GET and signed deliveries);
and Heard running against both and the fake Slack.

The Page id is the one in restfb's recorded deliveries (../shared/fixtures/meta/facebook/), so those real bodies are
about the Page Heard watches.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app import Heard
from bot.platforms.meta.backfill import MetaBackfill
from sandbox.fake_graph import FakeGraph, sign
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import AuditEvent, Complaint, ComplaintPost, Delivery, Reply
from tests.care_team import CareTeam, visible_text
from tests.conftest import CHANNEL, SIGNING_SECRET
from tests.support import Answer, http_post

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "meta"
# The anonymised Page of restfb's recorded deliveries: its own comments there are "from" this id.
PAGE_ID = "1234567890321"
INSTAGRAM_ID = "17841400000000001"
# Made up for the tests; each must stay out of logs and Slack.
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VERIFY_TOKEN = "heard-test-verify-token-7f3a9c0b1d2e"
PAGE_TOKEN = "EAAGheardTestPageToken0123456789abcdefZZ"
SECRETS = (APP_SECRET, VERIFY_TOKEN, PAGE_TOKEN)

ANA, BEN = "U0ANA", "U0BEN"
# Heard's calls to the fake Graph answer within this; the fake holds a `timeout_after_doing` answer longer.
GRAPH_TIMEOUT = "1s"
HANG_SECONDS = 1.5


def recorded(path: str) -> dict[str, Any]:
    """A real body from ../shared/fixtures/meta/ (e.g. "facebook/webhook-feed-comment-add-v2.11.restfb-...")."""
    return json.loads((FIXTURES / path).read_text())


@contextmanager
def running_graph() -> Iterator[FakeGraph]:
    with FakeGraph(
        PAGE_TOKEN,
        app_secret=APP_SECRET,
        page_id=PAGE_ID,
        page_name="Acme",
        instagram_account_id=INSTAGRAM_ID,
        instagram_username="acme",
        hang_seconds=HANG_SECONDS,
    ) as graph:
        yield graph


def meta_settings(graph: FakeGraph, *, facebook: bool = True, instagram: bool = True) -> dict[str, str]:
    settings = {
        "META_APP_SECRET": APP_SECRET,
        "META_VERIFY_TOKEN": VERIFY_TOKEN,
        "META_PAGE_TOKEN": PAGE_TOKEN,
        "META_GRAPH_URL": graph.graph_url,
        "META_TIMEOUT": GRAPH_TIMEOUT,
        # Tests poll by hand after the start-up poll, so nothing reads Graph behind their back.
        "META_POLL_INTERVAL": "1h",
    }
    if facebook:
        settings["META_PAGE_ID"] = PAGE_ID
    if instagram:
        settings["INSTAGRAM_ACCOUNT_ID"] = INSTAGRAM_ID
    return settings


class MetaDesk:
    """Heard watching the Page and/or the Instagram account, and the people and systems around it."""

    def __init__(self, heard: Heard, graph: FakeGraph, fake: FakeSlack, database: Database) -> None:
        self.heard = heard
        self.graph = graph
        self.fake = fake
        self.database = database
        self.base = f"http://127.0.0.1:{heard.port}"
        self.team = CareTeam(fake, SlackDriver(f"{self.base}/slack/events", SIGNING_SECRET, fake), CHANNEL)

    # -- Meta's side of the webhook ----------------------------------------------------------------------------------

    def deliver(self, delivery: dict[str, Any] | bytes, *, signature: str | None = "sign") -> Answer:
        """POST a delivery as Meta does: the raw body (escaped unicode, as Meta signs it) and its
        X-Hub-Signature-256. `signature=None` sends none; any other text is sent as it is."""
        body = delivery if isinstance(delivery, bytes) else json.dumps(delivery).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if signature == "sign":
            headers["X-Hub-Signature-256"] = sign(body, APP_SECRET)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return http_post(f"{self.base}/webhooks/meta", body, headers)

    def verify(self, token: str, challenge: str = "1158201444") -> tuple[int, str]:
        """Meta's verification GET when the callback URL is saved in the app dashboard."""
        query = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": token})
        try:
            with urllib.request.urlopen(f"{self.base}/webhooks/meta?{query}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    # -- the backfill poller -----------------------------------------------------------------------------------------

    @property
    def backfill(self) -> MetaBackfill:
        listener = self.heard.listener("meta-backfill")
        assert isinstance(listener, MetaBackfill)
        return listener

    # -- what the team sees ------------------------------------------------------------------------------------------

    def cards(self, count: int) -> list[dict[str, Any]]:
        """The channel's complaint cards, once `count` were posted."""
        self.fake.wait_for(
            "chat.postMessage",
            count=count,
            where=lambda call: call.args.get("channel") == CHANNEL and _is_card(call.args),
            timeout=5 + count / 10,
        )
        return [message for message in self.fake.messages(CHANNEL) if _is_card(message)]

    def notices(self, text: str, count: int = 1) -> list[str]:
        """Heard's own messages in the channel (not cards) that say `text`."""
        self.fake.wait_for(
            "chat.postMessage",
            count=count,
            where=lambda call: (
                call.args.get("channel") == CHANNEL
                and not call.args.get("thread_ts")
                and not _is_card(call.args)
                and text in visible_text(call.args)
            ),
        )
        return [
            visible_text(message)
            for message in self.fake.messages(CHANNEL)
            if not _is_card(message) and text in visible_text(message)
        ]

    def thread_shows(self, text: str, card: dict[str, Any]) -> None:
        self.fake.wait_for(
            "chat.postMessage",
            where=lambda call: call.args.get("thread_ts") == card["ts"] and text in visible_text(call.args),
        )

    def reply_form(self, card: dict[str, Any], button: str = "Acknowledge", user: str = ANA) -> dict[str, Any]:
        return open_form(self.team, card, button, user)

    # -- the record --------------------------------------------------------------------------------------------------

    def complaints(self) -> list[Complaint]:
        with self.database.unit_of_work() as session:
            return list(session.scalars(select(Complaint).order_by(Complaint.id)))

    def joined_posts(self) -> list[ComplaintPost]:
        with self.database.unit_of_work() as session:
            return list(session.scalars(select(ComplaintPost).order_by(ComplaintPost.id)))

    def events(self, action: str | None = None) -> list[AuditEvent]:
        with self.database.unit_of_work() as session:
            query = select(AuditEvent).order_by(AuditEvent.id)
            if action is not None:
                query = query.where(AuditEvent.action == action)
            return list(session.scalars(query))

    def replies(self) -> list[Reply]:
        with self.database.unit_of_work() as session:
            return list(session.scalars(select(Reply).order_by(Reply.id)))

    def outbox(self, key_prefix: str) -> list[Delivery]:
        with self.database.unit_of_work() as session:
            return list(session.scalars(select(Delivery).where(Delivery.key.startswith(key_prefix))))


def _is_card(message: dict[str, Any]) -> bool:
    """A complaint's card: the top-level message with the card's row of actions."""
    blocks = message.get("blocks") or []
    top_level = message.get("thread_ts") in (None, message.get("ts"))
    return top_level and any(block.get("block_id") == "card_actions" for block in blocks)


def open_form(team: CareTeam, card: dict[str, Any], button: str, user: str = ANA) -> dict[str, Any]:
    """Click `button` (or choose it in the card's "More…") and return the modal it opened in `user`'s Slack."""
    opened = len(team.fake.calls_to("views.open"))
    team.click(user, button, on=card)
    team.fake.wait_for("views.open", count=opened + 1)
    return team.fake.open_views(user)[-1]


def start_desk(
    start_heard: Callable[..., Heard],
    graph: FakeGraph,
    fake_slack: FakeSlack,
    database: Database,
    **settings: str,
) -> MetaDesk:
    """Heard started against the fake Graph; returns once its start-up backfill poll is done."""
    heard = start_heard(**{**settings})
    fake_slack.set_user(ANA, real_name="Ana García")
    fake_slack.set_user(BEN, real_name="Ben Okafor")
    desk = MetaDesk(heard, graph, fake_slack, database)
    assert desk.backfill.wait_for_polls(1), "the start-up backfill poll did not finish"
    return desk


def wait_until(condition: Callable[[], Any], timeout: float = 5.0, what: str = "the condition") -> Any:
    """For state Heard changes on its own threads (the database) where no Slack call marks the moment."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.02)


def no_secrets_in(text: str) -> list[str]:
    """Which of the test's Meta secrets (or the appsecret_proof derived from them) appear in `text`."""
    from bot.platforms.meta.graph import appsecret_proof

    found = [secret for secret in (*SECRETS, appsecret_proof(PAGE_TOKEN, APP_SECRET)) if secret in text]
    return found


@pytest.fixture
def secrets_stay_secret(caplog: pytest.LogCaptureFixture, fake_slack: FakeSlack) -> Iterator[None]:
    """Everything at DEBUG while the test runs; afterwards no Meta secret is in any log record or any Slack call."""
    caplog.set_level(logging.DEBUG)
    yield
    formatter = logging.Formatter("%(name)s %(message)s")
    records = [record for when in ("setup", "call", "teardown") for record in caplog.get_records(when)]
    logged = "\n".join(formatter.format(record) for record in records)
    assert no_secrets_in(logged) == [], "a Meta secret reached Heard's logs"
    sent = json.dumps([call.args for call in fake_slack.calls], default=str)
    assert no_secrets_in(sent) == [], "a Meta secret reached Slack"
