"""One running Heard as the people around it use it: the care team clicking and typing in (fake) Slack through
signed requests, and customers' complaints arriving signed at `/ingest`. Test files add what their area needs."""

from __future__ import annotations

from typing import Any

from app import Heard
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from tests.care_team import CareTeam
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester


class Desk:
    def __init__(self, heard: Heard, fake: FakeSlack) -> None:
        base = f"http://127.0.0.1:{heard.port}"
        self.heard = heard
        self.fake = fake
        self.driver = SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake)
        self.team = CareTeam(fake, self.driver, CHANNEL)
        self.customer = Ingester(f"{base}/ingest", INGEST_SECRET)

    def complain(self, **fields: Any) -> int:
        """A customer's complaint, filed (202); its number."""
        answer = self.customer.complain(**fields)
        assert answer.status == 202, answer.body
        return int(answer.body["complaint_id"])
