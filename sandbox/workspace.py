"""The sandbox's pretend Slack workspace: its people, channels and user group, and the escalation directory that
uses them.

Everything Heard sends lands where someone in this workspace can see it: cards in #complaints, escalation notices
in department channels or a person's DMs, approval requests to the manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sandbox.fake_slack import FakeSlack

HERE = Path(__file__).resolve().parent
DIRECTORY_PATH = HERE / "directory.toml"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str  # "agent" or "manager": what the switcher says next to the name
    handle: str  # the Slack username, as shown in mentions (@ana)
    # What their Slack is in (`users.info`'s locale): Heard's own views for them follow it until they pick a
    # language on Heard's Home tab.
    locale: str = "en-US"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})"


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    topic: str


AGENT_A = Person("U0AGENTA", "Ana", "agent", "ana")
AGENT_B = Person("U0AGENTB", "Ben", "agent", "ben")
MANAGER = Person("U0MANAGER", "Mia", "manager", "mia")
PEOPLE = (AGENT_A, AGENT_B, MANAGER)

COMPLAINTS = Channel("C0COMPLAINTS", "complaints", "Every complaint is a card here; act on it with its buttons")
CHANNELS = (
    COMPLAINTS,
    Channel("C0CARETEAM", "care-team", "Customer service: escalations for orders, deliveries, refunds, accounts"),
    Channel("C0PRODUCT", "product", "Product: escalations for bugs, outages and safety issues"),
    Channel("C0LEGAL", "legal", "Legal: escalations a manager approved first"),
)
# Both agents; Heard mentions it in nags about unclaimed complaints (HEARD_ON_DUTY) and in Customer service notices.
CARE_TEAM_GROUP = "S0CARETEAM"
CARE_TEAM_HANDLE = "care-team"


def introduce(fake: FakeSlack) -> None:
    """Tell the fake Slack who is who, so `users.info` and `usergroups.users.list` answer like the real workspace."""
    for person in PEOPLE:
        fake.set_user(person.id, name=person.handle, real_name=person.name, tz="UTC", locale=person.locale)
    fake.set_user_group(CARE_TEAM_GROUP, [AGENT_A.id, AGENT_B.id])


def names(fake: FakeSlack) -> dict[str, str]:
    """How the page shows mentions: people by name, the bot as Heard, channels and the user group by name."""
    shown = {person.id: person.name for person in PEOPLE}
    shown[fake.bot_user_id] = "Heard"
    shown.update({channel.id: channel.name for channel in CHANNELS})
    shown[CARE_TEAM_GROUP] = CARE_TEAM_HANDLE
    return shown
