"""Moderation on X in the brand's name (user-context credentials): hide a reply, mute an account.

Both calls are idempotent on X's side (hiding a hidden reply or muting a muted account changes nothing), so an
unknown outcome (timeout, 5xx) is safe to retry by clicking again; there is no risk of doing it twice. They run
while a person waits on Slack's 3 seconds, so the timeout is short; a slow X is reported, never waited out.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import tweepy

from bot.i18n import N_, _
from bot.platforms.base import Done
from bot.platforms.x.client import describe_failure

log = logging.getLogger("heard.x.moderation")

# Inside Slack's 3 seconds, with room for the database work around the call.
CALL_TIMEOUT = timedelta(seconds=2)
# X's rule (PLATFORM.md): hide_reply works only on replies in conversations the brand started.
NOT_OUR_CONVERSATION = N_("X hides replies only in conversations the brand started")
MUTE_ONLY = N_("X's block endpoint is not open to most apps, so Heard muted the account instead")


class XModerator:
    def __init__(self, client: tweepy.Client, timeout: timedelta = CALL_TIMEOUT) -> None:
        self.client = client
        self.timeout = timeout

    def hide_reply(self, post_id: str) -> Done:
        try:
            self.client.hide_reply(post_id)
            return Done(done=True)
        except tweepy.Forbidden:
            return Done(done=False, refusal=_(NOT_OUR_CONVERSATION))
        except Exception as error:  # what X said, in words; the person can click again (hiding is idempotent)
            return Done(done=False, refusal=self._failed("hide", post_id, error))

    def unhide_reply(self, post_id: str) -> Done:
        try:
            self.client.unhide_reply(post_id)
            return Done(done=True)
        except tweepy.Forbidden:
            return Done(done=False, refusal=_(NOT_OUR_CONVERSATION))
        except Exception as error:
            return Done(done=False, refusal=self._failed("unhide", post_id, error))

    def mute(self, user_id: str) -> Done:
        try:
            self.client.mute(user_id)
            return Done(done=True)
        except Exception as error:
            return Done(done=False, refusal=self._failed("mute", user_id, error))

    def _failed(self, what: str, target: str, error: Exception) -> str:
        if isinstance(error, tweepy.Unauthorized):
            # Translators: setting names are kept as they are.
            words = _("401 Unauthorized from X: check X_CONSUMER_KEY/SECRET and X_ACCESS_TOKEN/SECRET")
        else:
            words = describe_failure(error, self.timeout)
        log.warning("X did not %s %s: %s", what, target, words)
        if what == "hide":
            return _("X did not hide it (%(error)s)", error=words)
        if what == "unhide":
            return _("X did not unhide it (%(error)s)", error=words)
        return _("X did not mute it (%(error)s)", error=words)
