"""X on the platform contract: public replies and DMs (exactly once, by the caller's discipline), hiding replies,
muting authors. Everything needs the brand account's user-context credentials; without them X is listen-only."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.config import Settings
from bot.i18n import N_, _
from bot.platforms.base import (
    ApiFailed,
    Capabilities,
    Capability,
    Done,
    Platform,
    PostRef,
    Refused,
    Sent,
    not_counted,
)
from bot.platforms.x.client import SOURCE, make_user_client
from bot.platforms.x.moderator import CALL_TIMEOUT, MUTE_ONLY, XModerator
from bot.platforms.x.writer import XWriter

DEFAULT_TIMEOUT = timedelta(seconds=10)
# Translators: setting names (X_ACCESS_TOKEN…) are kept as they are.
NO_REPLY_CREDENTIALS = N_("X replies are not set up (X_ACCESS_TOKEN and friends)")
NO_CREDENTIALS = N_("X user credentials (X_CONSUMER_KEY and the rest) are not set")
NO_AUTHOR = N_("the author's X id is unknown")
WRITES = frozenset(
    {Capability.PUBLIC_REPLY, Capability.PRIVATE_REPLY, Capability.HIDE, Capability.UNHIDE, Capability.BLOCK}
)


class XPlatform(Platform):
    key = SOURCE
    label = "X"
    # Translators: what X calls a private message ("direct message").
    private_reply_name = N_("DM")

    def __init__(self, settings: Settings, api_failed: ApiFailed = not_counted) -> None:
        self.settings = settings
        self._api_failed = api_failed
        self._lock = threading.Lock()
        self._writer: XWriter | None = None
        self._moderator: XModerator | None = None

    @property  # type: ignore[override]
    def timeout(self) -> timedelta:
        return self.settings.x.timeout if self.settings.x is not None else DEFAULT_TIMEOUT

    def capabilities(self) -> Capabilities:
        if self.settings.x_user_auth is None:
            return Capabilities(
                missing={
                    Capability.PUBLIC_REPLY: _(NO_REPLY_CREDENTIALS),
                    Capability.PRIVATE_REPLY: _(NO_REPLY_CREDENTIALS),
                    Capability.HIDE: _(NO_CREDENTIALS),
                    Capability.UNHIDE: _(NO_CREDENTIALS),
                    Capability.BLOCK: _(NO_CREDENTIALS),
                }
            )
        return Capabilities(supported=WRITES, private_reply_needs_author=True, block_means=_(MUTE_ONLY))

    # -- replies ---------------------------------------------------------------------------------------------------

    def reply(self, post: PostRef, text: str) -> Sent:
        return self._writer_or_refuse().reply(text, post.external_id)

    def find_reply(self, post: PostRef, text: str) -> Sent | None:
        return self._writer_or_refuse().find_reply(post.external_id, text)

    def reply_privately(self, post: PostRef, text: str) -> Sent:
        if not post.author_id:
            raise Refused(_("X did not say who wrote the post, so Heard cannot DM them"))
        return self._writer_or_refuse().direct_message(post.author_id, text)

    def find_private_reply(self, post: PostRef, text: str) -> Sent | None:
        return self._writer_or_refuse().find_dm(post.author_id or "", text)

    # -- moderation --------------------------------------------------------------------------------------------------

    def hide(self, post: PostRef) -> Done:
        moderator = self._moderator_or_none()
        return moderator.hide_reply(post.external_id) if moderator else Done(False, _(NO_CREDENTIALS))

    def unhide(self, post: PostRef) -> Done:
        moderator = self._moderator_or_none()
        return moderator.unhide_reply(post.external_id) if moderator else Done(False, _(NO_CREDENTIALS))

    def block(self, post: PostRef) -> Done:
        moderator = self._moderator_or_none()
        if moderator is None:
            return Done(False, _(NO_CREDENTIALS))
        if not post.author_id:
            return Done(False, _(NO_AUTHOR))
        return moderator.mute(post.author_id)

    # -- clients, built once -----------------------------------------------------------------------------------------

    def _writer_or_refuse(self) -> XWriter:
        auth = self.settings.x_user_auth
        if auth is None:
            raise Refused(_(NO_REPLY_CREDENTIALS))
        with self._lock:
            if self._writer is None:
                client = make_user_client(auth, self.timeout, self._failed)
                self._writer = XWriter(auth, self.timeout, self.settings.timezone, client)
            return self._writer

    def _moderator_or_none(self) -> XModerator | None:
        auth = self.settings.x_user_auth
        if auth is None:
            return None
        with self._lock:
            if self._moderator is None:
                self._moderator = XModerator(make_user_client(auth, CALL_TIMEOUT, self._failed))
            return self._moderator

    def _failed(self, status: str) -> None:
        self._api_failed(self.key, status)
