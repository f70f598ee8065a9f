"""Slack calls that cannot wait in the outbox: opening a modal (its trigger lives 3 s and works once), reading who
belongs to a user group, publishing a person's App Home (a view of state: the next opening publishes it again,
so one lost is harmless), and `users.info` (a person's name, Slack locale and whether they are a guest, cached for an
hour). Failures are
reported to the caller, never retried behind its back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.i18n import _

log = logging.getLogger("heard.delivery.direct")

GROUP_CACHE_SECONDS = 300.0
NAME_CACHE_SECONDS = 3600.0
# After users.info fails for someone Heard knows nothing of, it is not asked again about them this long: during an
# outage each click would otherwise wait out the call's timeout (for the guest check, then for the language).
FAILED_LOOKUP_SECONDS = 10.0


class SlackUnavailable(Exception):
    """Slack could not be asked right now; `str()` says so in words for the person waiting."""


def _not_counted(method: str, status: int | None, error: str | None) -> None:
    return None


class SlackDirect:
    def __init__(
        self, client: WebClient, on_error: Callable[[str, int | None, str | None], None] = _not_counted
    ) -> None:
        self.client = client
        # Told of each failed call (method, HTTP status or None for no answer, Slack's error code): /metrics.
        self._failed = on_error
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._people: dict[str, tuple[float, _Person]] = {}
        self._failed_lookups: dict[str, float] = {}
        self._lock = threading.Lock()

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        try:
            self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as error:
            reason = error.response.get("error") if isinstance(error.response.data, dict) else None
            self._failed("views.open", error.response.status_code, reason)
            log.warning("views.open failed: %s", reason or error.response.status_code)
            raise SlackUnavailable(_("Slack did not open the form; please click the button again.")) from error
        except Exception as error:
            self._failed("views.open", None, None)
            log.warning("views.open failed: %s", type(error).__name__)
            raise SlackUnavailable(_("Slack did not open the form; please click the button again.")) from error

    def publish_home(self, user: str, view: dict[str, Any]) -> None:
        try:
            self.client.views_publish(user_id=user, view=view)
        except SlackApiError as error:
            reason = error.response.get("error") if isinstance(error.response.data, dict) else None
            self._failed("views.publish", error.response.status_code, reason)
            log.warning("views.publish failed: %s", reason or error.response.status_code)
            raise SlackUnavailable(_("Slack did not show your Home tab; open it again.")) from error
        except Exception as error:
            self._failed("views.publish", None, None)
            log.warning("views.publish failed: %s", type(error).__name__)
            raise SlackUnavailable(_("Slack did not show your Home tab; open it again.")) from error

    def group_members(self, group_id: str) -> frozenset[str]:
        """Members of a user group, cached for a few minutes; the last known list when Slack does not answer."""
        now = time.monotonic()
        with self._lock:
            cached = self._groups.get(group_id)
        if cached and now - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        try:
            users = frozenset(self.client.usergroups_users_list(usergroup=group_id).get("users") or [])
        except Exception as error:
            self._count("usergroups.users.list", error)
            if cached:
                return cached[1]
            log.warning("could not read members of user group %s (%s)", group_id, type(error).__name__)
            raise SlackUnavailable(
                _("Heard could not check your team membership with Slack; try again soon.")
            ) from error
        with self._lock:
            self._groups[group_id] = (now, users)
        return users

    def real_name(self, user: str) -> str | None:
        """A person's real name (users.info), cached for an hour: it fills `{agent_first_name}` in a reply while
        Slack's 3 seconds run, so a slow or failing Slack gives None (the reply is worded without it)."""
        try:
            return self._person(user).name
        except SlackUnavailable:
            return None

    def locale(self, user: str) -> str | None:
        """A person's Slack locale (`users.info` with `include_locale`, e.g. "pt-BR"; None if Slack gives none), from
        the same hour-long cache as their name. Raises SlackUnavailable when Slack does not answer and nothing is
        cached (bot/languages.py then speaks the team's language)."""
        return self._person(user).locale

    def is_guest(self, user: str) -> bool:
        """Whether `user` is a guest account (multi- or single-channel: `is_restricted` / `is_ultra_restricted`),
        from the same hour-long cache. Raises SlackUnavailable when Slack does not answer and nothing is cached, so
        a permission check refuses rather than guesses (bot/roles.py)."""
        return self._person(user).guest

    def _person(self, user: str) -> _Person:
        now = time.monotonic()
        with self._lock:
            cached = self._people.get(user)
        if cached and now - cached[0] < NAME_CACHE_SECONDS:
            return cached[1]
        with self._lock:
            failed_at = self._failed_lookups.get(user)
        if cached is None and failed_at is not None and now - failed_at < FAILED_LOOKUP_SECONDS:
            raise SlackUnavailable("Slack did not say who this is; try again soon.")
        try:
            found = self.client.users_info(user=user, include_locale=True).get("user") or {}
        except Exception as error:
            self._count("users.info", error)
            log.warning("could not read users.info of %s (%s)", user, type(error).__name__)
            if cached:
                return cached[1]
            with self._lock:
                self._failed_lookups[user] = time.monotonic()
            raise SlackUnavailable("Slack did not say who this is; try again soon.") from error
        profile = found.get("profile") or {}
        name = str(profile.get("real_name") or profile.get("display_name") or "").strip() or None
        person = _Person(
            name=name,
            locale=str(found.get("locale") or "").strip() or None,
            guest=bool(found.get("is_restricted") or found.get("is_ultra_restricted")),
        )
        with self._lock:
            self._people[user] = (now, person)
            self._failed_lookups.pop(user, None)
        return person

    def _count(self, method: str, error: Exception) -> None:
        if isinstance(error, SlackApiError):
            reason = error.response.get("error") if isinstance(error.response.data, dict) else None
            self._failed(method, error.response.status_code, reason)
        else:
            self._failed(method, None, None)


@dataclass(frozen=True)
class _Person:
    """What Heard keeps of `users.info`: the name for replies, the locale for the person's own views, and whether
    they are a guest (never on the care team)."""

    name: str | None
    locale: str | None
    guest: bool
