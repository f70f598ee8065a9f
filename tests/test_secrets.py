"""Secrets come from the environment only and never reach a log line, even at DEBUG."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import responses

from app import Heard
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from tests.care_team import CareTeam, open_reply_modal
from tests.conftest import BOT_TOKEN, CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.meta_desk import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, MetaDesk, meta_settings, running_graph
from tests.support import Ingester
from tests.test_card_workflow import the_card
from tests.x_api import BRAND_ID, MARIA, FakeX, page, post
from tests.x_writes import ReplyX

ROOT = Path(__file__).resolve().parent.parent


def test_a_whole_flow_at_debug_level_logs_no_secret(
    caplog: pytest.LogCaptureFixture, customer: Ingester, fake_slack: FakeSlack, slack: SlackDriver
) -> None:
    caplog.set_level(logging.DEBUG)

    customer.complain()
    card = the_card(fake_slack)
    slack.click("Claim", on=card, channel=CHANNEL, user="U0ANA")
    slack.click("Claim", on=card, channel=CHANNEL, user="U0BEN")
    fake_slack.wait_for("response_url")
    customer.post_raw(b"{}", secret="wrong")

    assert caplog.records, "nothing was logged: the check would prove nothing"
    for secret in (BOT_TOKEN, SIGNING_SECRET, INGEST_SECRET):
        assert secret not in caplog.text


# X's credentials, made up and each distinct, so a log line holding any of them is found.
X_SECRETS = {
    "X_BEARER_TOKEN": "AAAAAAAAAAAAAAAAAAAAAHeardTestBearer0123456789",
    "X_CONSUMER_KEY": "heardTestConsumerKey0123456789",
    "X_CONSUMER_SECRET": "heardTestConsumerSecret0123456789abcdefghij",
    "X_ACCESS_TOKEN": "783214-heardTestAccessToken0123456789",
    "X_ACCESS_TOKEN_SECRET": "heardTestAccessTokenSecret0123456789abcdefg",
}


def test_debug_with_every_secret_set_logs_none_of_them_through_polls_replies_and_webhooks(
    caplog: pytest.LogCaptureFixture, start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    caplog.set_level(logging.DEBUG)
    with running_graph() as graph, responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(graph.graph_url)  # Meta's side is a real HTTP server; X's is replayed through requests
        x_api, x_writes = FakeX(mock), ReplyX(mock)
        x_api.answer("mentions", page([post("@Twitter my blender arrived broken", MARIA)], [MARIA]))
        heard = start_heard(
            **X_SECRETS,
            X_USER_ID=BRAND_ID,
            X_POLL_INTERVAL="1h",
            **meta_settings(graph),
            LOG_LEVEL="DEBUG",
        )
        poller = heard.listener("x-poll")
        assert poller is not None and poller.wait_for_polls(1), "the start-up poll did not finish"
        desk = MetaDesk(heard, graph, fake_slack, heard.database)
        team = CareTeam(fake_slack, desk.team.slack, CHANNEL)

        # The mention polled from X is answered on X in the brand's name (OAuth 1.0a: oauthlib signs it).
        view = open_reply_modal(team.slack, fake_slack, "U0ANA", team.card(), CHANNEL)
        personal = "Hi María, so sorry the blender arrived broken: a new one is on its way today."
        answer = team.slack.submit_view(view, "U0ANA", {"Reply": personal, "What to do": "Reply publicly on X"})
        assert answer.outcome == "closed", answer.body
        team.card_shows("Replied publicly on X")
        assert x_writes.tweets and all(auth.startswith("OAuth ") for auth in x_writes.authorizations)
        # Meta checks the callback; a webhook complaint arrives, and one signed with the wrong key.
        assert desk.verify(VERIFY_TOKEN)[0] == 200
        customer = Ingester(f"{desk.base}/ingest", INGEST_SECRET)
        assert customer.complain().status == 202
        assert customer.post_raw(b"{}", secret="wrong-secret-0123456789abcdef0123").status == 401

    logged = caplog.text
    assert any(record.levelno == logging.DEBUG for record in caplog.records), "not at DEBUG: the check proves nothing"
    secrets = [BOT_TOKEN, SIGNING_SECRET, INGEST_SECRET, *X_SECRETS.values(), APP_SECRET, VERIFY_TOKEN, PAGE_TOKEN]
    assert [secret for secret in secrets if secret in logged] == []


def test_env_files_are_never_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=ROOT, capture_output=True, check=False
    ).returncode
    assert ignored == 0, ".env must be git-ignored"
