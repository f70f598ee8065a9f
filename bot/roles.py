"""Who may do what: agents act on cards, managers approve and hear about breaches, departments accept.

Unset HEARD_AGENTS means everyone in the workspace is an agent. Unset HEARD_MANAGERS means nobody is a manager:
exporting complaints and approving escalations hand out the customers' words, so they need someone named; alerts
meant for managers then go to the complaints channel, as before. Ids may be users (U…/W…) or user groups (S…),
whose members are read from Slack.

Guest accounts (Slack's `is_restricted` / `is_ultra_restricted`) are never agents or managers, listed or not: a
guest is someone from outside the company let into a channel or two. When Slack cannot say whether someone is a
guest, the check raises SlackUnavailable and the caller refuses (`UseCases._safely`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.delivery.direct import SlackDirect, SlackUnavailable
from bot.directory import Department

log = logging.getLogger("heard.roles")


class Roles:
    def __init__(self, agents: Sequence[str], managers: Sequence[str], slack: SlackDirect) -> None:
        self.agents = tuple(agents)
        self.managers = tuple(managers)
        self.slack = slack

    def _member(self, user: str, ids: Sequence[str]) -> bool:
        if user in ids:
            return True
        return any(user in self.slack.group_members(group) for group in ids if group.startswith("S"))

    def is_manager(self, user: str) -> bool:
        return bool(self.managers) and self._member(user, self.managers) and not self.slack.is_guest(user)

    def is_agent(self, user: str) -> bool:
        listed = not self.agents or self._member(user, self.agents) or self.is_manager(user)
        return listed and not self.slack.is_guest(user)

    def may_accept(self, user: str, department: Department | None) -> bool:
        """Department contacts accept; managers may too. A department reached only by channel: any agent."""
        if department is None:
            return self.is_manager(user)
        if not department.users and not department.user_groups:
            return self.is_agent(user)
        contact = self._member(user, (*department.users, *department.user_groups)) and not self.slack.is_guest(user)
        return contact or self.is_manager(user)

    def manager_recipients(self) -> list[str]:
        """Who gets approval requests and digests by DM: managers by user id, members of manager groups; never a
        guest, nor anyone Slack cannot vouch for right now."""
        people: list[str] = []
        for entry in self.managers:
            members = sorted(self.slack.group_members(entry)) if entry.startswith("S") else [entry]
            people.extend(member for member in members if member not in people and not self._guest_or_unknown(member))
        return people

    def _guest_or_unknown(self, user: str) -> bool:
        try:
            return self.slack.is_guest(user)
        except SlackUnavailable:
            log.warning("left %s out of the managers for now: Slack could not say whether they are a guest", user)
            return True


def warn_about_open_roles(agents: Sequence[str], managers: Sequence[str]) -> None:
    """Say at start-up, once, what unset role lists mean, so an admin reading the log knows who may do what."""
    if not agents:
        log.warning(
            "HEARD_AGENTS is not set: everyone in the workspace (except guests) can act on complaint cards; "
            "set it to the care team's user or user-group ids"
        )
    if not managers:
        log.warning(
            "HEARD_MANAGERS is not set: nobody can export complaints or approve escalations, and breach alerts, "
            "approval requests and digests go to HEARD_CHANNEL; set it to the managers' user or user-group ids"
        )
