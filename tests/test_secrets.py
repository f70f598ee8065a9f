"""Secrets come from the environment only and never reach a log line, even at DEBUG."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from tests.conftest import BOT_TOKEN, CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester
from tests.test_card_workflow import the_card

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


def test_env_files_are_never_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=ROOT, capture_output=True, check=False
    ).returncode
    assert ignored == 0, ".env must be git-ignored"
