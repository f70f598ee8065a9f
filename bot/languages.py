"""Who sees which language: each person's own views (modals, ephemerals, DMs, the Home tab, `/complaints` answers)
in their language; shared messages (cards, channel notices, thread lines, the storm card) in the team's
`HEARD_LANGUAGE`.

A person's language is the one they chose on Heard's Home tab, else their Slack locale (`users.info` with
`include_locale`: "pt-BR" and "pt-PT" -> pt, "en-US" -> en; a locale Heard does not speak -> the team's language).
It is kept in memory and in `person_languages`, so a restart or another copy of Heard knows it without asking Slack:

- `language_of(user)` is for requests, never inside a unit of work: memory (the row read again every
  `ROW_RECHECK_SECONDS`, so a choice made through another copy shows within seconds), then the row, then Slack when
  the locale is older than `LOCALE_TTL` (an hour) or unknown and nothing was chosen. Slack failing gives the last
  locale seen, or the team's language, and is not asked again for `RETRY_AFTER_FAILURE_SECONDS`; nobody sees an
  error.
- `for_recipient(session, user)` is for the delivery worker, inside its claim: memory or the row, never Slack (an
  old locale is looked up again on a thread of its own, the DM going in the one seen last). For a person never
  seen, that thread looks them up while their DM waits (`NotReady`), at most `FIRST_LOOKUP_WAIT_SECONDS`; then it
  goes in the team's language.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.delivery.direct import SlackDirect, SlackUnavailable
from bot.delivery.outbox import NotReady, utcnow
from bot.i18n import LANGUAGES, speaking, team_language
from storage.db import Database
from storage.models import PersonLanguage

log = logging.getLogger("heard.languages")

LOCALE_TTL = timedelta(hours=1)
ROW_RECHECK_SECONDS = 30.0
RETRY_AFTER_FAILURE_SECONDS = 60.0
FIRST_LOOKUP_WAIT_SECONDS = 3.0
FIRST_LOOKUP_RETRY = timedelta(milliseconds=200)
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def language_for_locale(locale: str | None, team: str) -> str:
    """Slack's locale ("pt-BR", "en-GB", "fi-FI", "ja-JP") -> one of Heard's languages; the team's when Heard does
    not speak it."""
    if not locale:
        return team
    language = locale.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in LANGUAGES else team


def is_person(recipient: str | None) -> bool:
    """A user id (a DM goes to them), not a channel."""
    return bool(recipient) and _USER_ID.match(str(recipient)) is not None


@dataclass(frozen=True)
class _Known:
    locale: str | None
    locale_seen_at: datetime | None
    chosen: str | None
    checked: float  # time.monotonic() when the row (or Slack) was last read
    failed_at: float | None = None  # Slack did not answer then


class Languages:
    def __init__(self, database: Database, slack: SlackDirect) -> None:
        self.database = database
        self.slack = slack
        self._known: dict[str, _Known] = {}
        self._learning: dict[str, float] = {}  # users looked up on a thread now -> when it started
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------------------------------

    def language_of(self, user: str | None) -> str:
        """The language `user` sees their own views in. May ask Slack: call it outside any unit of work."""
        if not is_person(user):
            return team_language()
        assert user is not None
        known = self._fresh(user)
        if known is None:
            known = self._read_row(user)
        if known.chosen is None and self._locale_stale(known):
            known = self._ask_slack(user, known)
        return self._effective(known)

    def choice_of(self, user: str) -> str | None:
        """What `user` chose on the Home tab (None: Slack's language)."""
        known = self._fresh(user) or self._read_row(user)
        return known.chosen

    def for_recipient(self, session: Session, user: str | None) -> str:
        """The language of a DM to `user` (a channel: the team's), rendered by the delivery worker inside its claim:
        never asks Slack here. See the module's docstring for a person never seen."""
        if not is_person(user):
            return team_language()
        assert user is not None
        known = self._fresh(user)
        if known is None:
            row = session.get(PersonLanguage, user)
            if row is not None:
                known = self._remember(user, _from_row(row))
        if known is not None and (known.chosen or known.locale_seen_at or known.failed_at):
            if known.chosen is None and self._locale_stale(known):
                self._learn_soon(user)  # looked up again on its own thread; this DM goes in the locale seen last
            return self._effective(known)
        started = self._learn_soon(user)
        if time.monotonic() - started < FIRST_LOOKUP_WAIT_SECONDS:
            raise NotReady(FIRST_LOOKUP_RETRY)  # looked up on its own thread; the DM follows in a moment
        return team_language()

    # -- choosing ------------------------------------------------------------------------------------------------

    def choose(self, user: str, language: str | None) -> None:
        """`user` chose `language` on the Home tab (None: follow Slack's locale again)."""
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"not a language Heard speaks: {language!r}")
        now = utcnow()
        values = {"chosen_language": language, "chosen_at": now if language else None, "updated_at": now}
        with self.database.unit_of_work() as session:
            _upsert(session, user, values, now)
        with self._lock:
            self._known.pop(user, None)
        log.info("%s chose %s", user, language or "Slack's language")

    # -- mechanics -----------------------------------------------------------------------------------------------

    def _effective(self, known: _Known) -> str:
        return known.chosen or language_for_locale(known.locale, team_language())

    def _fresh(self, user: str) -> _Known | None:
        with self._lock:
            known = self._known.get(user)
        if known is not None and time.monotonic() - known.checked < ROW_RECHECK_SECONDS:
            return known
        return None

    def _remember(self, user: str, known: _Known) -> _Known:
        with self._lock:
            self._known[user] = known
        return known

    def _read_row(self, user: str) -> _Known:
        with self._lock:
            before = self._known.get(user)
        try:
            with self.database.unit_of_work() as session:
                row = session.get(PersonLanguage, user)
                known = _from_row(row) if row is not None else _Known(None, None, None, time.monotonic())
        except Exception as error:  # an outage: the last known, else the team's language
            log.warning("could not read the language of %s (%s)", user, type(error).__name__)
            return before or _Known(None, None, None, time.monotonic(), failed_at=time.monotonic())
        if before is not None and before.failed_at is not None:
            known = _Known(known.locale, known.locale_seen_at, known.chosen, known.checked, before.failed_at)
        return self._remember(user, known)

    def _locale_stale(self, known: _Known) -> bool:
        if known.failed_at is not None and time.monotonic() - known.failed_at < RETRY_AFTER_FAILURE_SECONDS:
            return False  # Slack failed a moment ago: do not make every click wait for it again
        return known.locale_seen_at is None or utcnow() - known.locale_seen_at >= LOCALE_TTL

    def _ask_slack(self, user: str, known: _Known) -> _Known:
        try:
            locale = self.slack.locale(user)
        except SlackUnavailable:
            failed = _Known(known.locale, known.locale_seen_at, known.chosen, time.monotonic(), time.monotonic())
            return self._remember(user, failed)
        now = utcnow()
        try:
            with self.database.unit_of_work() as session:
                _upsert(session, user, {"slack_locale": locale, "locale_seen_at": now, "updated_at": now}, now)
        except Exception as error:
            log.warning("could not store the locale of %s (%s)", user, type(error).__name__)
        return self._remember(user, _Known(locale, now, known.chosen, time.monotonic()))

    def _learn_soon(self, user: str) -> float:
        """Look `user` up on a thread of its own (once at a time); when that lookup started."""
        with self._lock:
            started = self._learning.get(user)
            if started is not None:
                return started
            started = self._learning[user] = time.monotonic()

        def learn() -> None:
            try:
                self.language_of(user)
            except Exception:
                log.exception("could not learn the language of %s", user)
                self._remember(user, _Known(None, None, None, time.monotonic(), failed_at=time.monotonic()))
            finally:
                with self._lock:
                    self._learning.pop(user, None)

        threading.Thread(target=learn, name="language-lookup", daemon=True).start()
        return started


@contextmanager
def speaking_to(languages: Languages | None, session: Session, recipient: str | None) -> Iterator[None]:
    """Render a DM to `recipient` in their language (a channel, or no `languages`: the team's). For the delivery
    worker's renderers; may raise NotReady before anything is rendered (a person never seen, looked up now)."""
    with speaking(languages.for_recipient(session, recipient) if languages is not None else None):
        yield


def _from_row(row: PersonLanguage) -> _Known:
    return _Known(row.slack_locale, row.locale_seen_at, row.chosen_language, time.monotonic())


def _upsert(session: Session, user: str, values: dict[str, object], now: datetime) -> None:
    table = PersonLanguage.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(user_id=user, created_at=now, **values)
    session.execute(statement.on_conflict_do_update(index_elements=[table.c.user_id], set_=values))
