"""Writing to X in the brand's name: a public reply (`create_tweet(in_reply_to_tweet_id=...)`) or a DM
(`create_direct_message`), with user-context credentials (the app's bearer token cannot post).

X has no idempotency key, so the caller records each attempt before calling, and after an attempt whose outcome
was not heard (a timeout, a 5xx) looks for what it may have posted (`find_reply`, `find_dm`) before posting again.
Every failure is sorted into "nothing was posted" (`XRefused`, said in words for the agent), "it may have been
posted" (`XUnsure`) or "X says the same text is already there" (`XDuplicate`).
"""

from __future__ import annotations

import html
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
import tweepy

from bot.blocks.when import clock
from bot.config import XUserAuth
from bot.i18n import _
from bot.platforms.base import Duplicate, Refused, Sent, Unsure
from bot.platforms.x.client import make_user_client

log = logging.getLogger("heard.x.replies")

# How far back in the brand's own posts (and the DM conversation) to look for a reply that may have gone out.
LOOK_BACK = 50


# X's outcomes are the platform contract's: nothing posted, maybe posted, already there.
XRefused = Refused
XUnsure = Unsure
XDuplicate = Duplicate


def same_text(posted: str, ours: str) -> bool:
    """X returns text with `&`, `<`, `>` escaped and may trim it; compare what a reader would see."""
    return " ".join(html.unescape(posted).split()) == " ".join(ours.split())


class XWriter:
    def __init__(self, auth: XUserAuth, timeout: timedelta, tz: ZoneInfo, client: tweepy.Client | None = None) -> None:
        self.client = client or make_user_client(auth, timeout)
        self.timeout = timeout
        self.tz = tz
        self._me: tuple[str, str] | None = None
        self._lock = threading.Lock()

    # -- writes ----------------------------------------------------------------------------------------------------

    def reply(self, text: str, in_reply_to: str) -> Sent:
        body = self._call(lambda: self.client.create_tweet(text=text, in_reply_to_tweet_id=in_reply_to))
        post_id = str((body.get("data") or {}).get("id") or "") or None
        return Sent(post_id, self._post_url(post_id))

    def direct_message(self, participant_id: str, text: str) -> Sent:
        body = self._call(lambda: self.client.create_direct_message(participant_id=participant_id, text=text))
        return Sent(str((body.get("data") or {}).get("dm_event_id") or "") or None)

    # -- looking for what an unheard attempt may have posted ---------------------------------------------------------

    def find_reply(self, in_reply_to: str, text: str) -> Sent | None:
        """The brand's recent post replying to `in_reply_to` with this text, if there is one."""
        user_id, _ = self._account()
        body = self._read(
            lambda: self.client.get_users_tweets(
                user_id, max_results=LOOK_BACK, tweet_fields=["referenced_tweets"], user_auth=True
            )
        )
        for post in body.get("data") or []:
            replied_to = {
                ref.get("id") for ref in post.get("referenced_tweets") or [] if ref.get("type") == "replied_to"
            }
            if in_reply_to in replied_to and same_text(str(post.get("text", "")), text):
                return Sent(str(post["id"]), self._post_url(str(post["id"])))
        return None

    def find_dm(self, participant_id: str, text: str) -> Sent | None:
        body = self._read(
            lambda: self.client.get_direct_message_events(participant_id=participant_id, max_results=LOOK_BACK)
        )
        for event in body.get("data") or []:
            if event.get("event_type", "MessageCreate") == "MessageCreate" and same_text(
                str(event.get("text", "")), text
            ):
                return Sent(str(event["id"]))
        return None

    # -- mechanics ---------------------------------------------------------------------------------------------------

    def _account(self) -> tuple[str, str]:
        """The brand account the credentials belong to (id, username): asked once."""
        with self._lock:
            if self._me is None:
                data = self._read(lambda: self.client.get_me(user_auth=True)).get("data") or {}
                self._me = (str(data.get("id", "")), str(data.get("username", "")))
            return self._me

    def _post_url(self, post_id: str | None) -> str | None:
        if not post_id:
            return None
        try:
            _, username = self._account()
        except (XRefused, XUnsure):
            username = ""
        return f"https://x.com/{username}/status/{post_id}" if username else f"https://x.com/i/web/status/{post_id}"

    def _read(self, call: Any) -> dict[str, Any]:
        try:
            return self._call(call)
        except XDuplicate as error:  # not a thing reads say; keep the types simple for callers
            raise XUnsure(str(error)) from error

    def _call(self, call: Any) -> dict[str, Any]:
        try:
            response = call()
        except tweepy.TooManyRequests as error:
            raise XRefused(self._rate_limited(error.response)) from error
        except tweepy.Unauthorized as error:
            raise XRefused(
                # Translators: setting names are kept as they are.
                _("X refused the brand account's credentials (401): check X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET")
            ) from error
        except tweepy.Forbidden as error:
            detail = _detail(error)
            if "duplicate" in detail.lower():
                raise XDuplicate(detail) from error
            raise XRefused(_("X refused it (403): %(detail)s", detail=detail or _("not allowed"))) from error
        except tweepy.TwitterServerError as error:
            status = error.response.status_code if error.response is not None else "5xx"
            raise XUnsure(_("X had a problem (%(status)s)", status=status)) from error
        except tweepy.HTTPException as error:
            status = error.response.status_code if error.response is not None else "error"
            detail = _detail(error)
            if detail:
                # Translators: an HTTP status, then what X said (in English).
                raise XRefused(_("X refused it (%(status)s): %(detail)s", status=status, detail=detail)) from error
            raise XRefused(_("X refused it (%(status)s)", status=status)) from error
        except requests.Timeout as error:
            seconds = int(self.timeout.total_seconds())
            raise XUnsure(_("X did not answer within %(seconds)s s", seconds=seconds)) from error
        except requests.ConnectionError as error:
            raise XUnsure(_("could not reach X")) from error
        try:
            return response.json() if response.content else {}
        except ValueError:
            return {}

    def _rate_limited(self, response: requests.Response | None) -> str:
        reset = (response.headers.get("x-rate-limit-reset") if response is not None else None) or ""
        if reset.isdigit():
            moment = datetime.fromtimestamp(int(reset), UTC)
            at = clock(moment, datetime.now(UTC), self.tz)
            return _("X's limit on posts from the brand account is reached (429); it resets at %(time)s", time=at)
        return _("X's limit on posts from the brand account is reached (429)")


def _detail(error: tweepy.HTTPException) -> str:
    return (error.api_messages or [""])[0][:300]
