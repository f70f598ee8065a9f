"""Who may do what: agents act on cards, managers approve and hear about breaches, departments accept.

Unset HEARD_AGENTS / HEARD_MANAGERS mean everyone in the workspace. Ids may be users (U…/W…) or user groups (S…),
whose members are read from Slack.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.delivery.direct import SlackDirect
from bot.directory import Department


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
        return not self.managers or self._member(user, self.managers)

    def is_agent(self, user: str) -> bool:
        return not self.agents or self._member(user, self.agents) or (bool(self.managers) and self.is_manager(user))

    def may_accept(self, user: str, department: Department | None) -> bool:
        """Department contacts accept; managers may too. A department reached only by channel: any agent."""
        if department is None:
            return self.is_manager(user)
        if not department.users and not department.user_groups:
            return self.is_agent(user)
        return self._member(user, (*department.users, *department.user_groups)) or self.is_manager(user)

    def manager_recipients(self) -> list[str]:
        """Who gets approval requests by DM: managers by user id, members of manager groups."""
        people: list[str] = []
        for entry in self.managers:
            members = sorted(self.slack.group_members(entry)) if entry.startswith("S") else [entry]
            people.extend(member for member in members if member not in people)
        return people
