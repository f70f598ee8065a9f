"""Facebook Pages and Instagram on the platform contract, through the Graph API.

Both answer a comment in its own thread, hide and unhide it (never delete), and send one private reply per
comment within 7 days through the Page's (or the professional account's) messaging. A Page may also block a
person; Instagram offers apps no block. Graph errors arrive in words (`GraphError`): a refused token or a missing
permission is said on the card, a rate limit makes the adapter refuse at once until Meta's usage headers say it
may call again, so nothing in Heard waits on it.
"""

from __future__ import annotations

import html
import math
import threading
import time
from datetime import timedelta

from bot.config import MetaSettings
from bot.i18n import _, n_
from bot.platforms.base import Capabilities, Capability, Done, Duplicate, Platform, PostRef, Refused, Sent, Unsure
from bot.platforms.meta.graph import GraphClient, GraphError

PRIVATE_REPLY_WINDOW = timedelta(days=7)
LOOK_BACK = 100


def same_text(posted: str, ours: str) -> bool:
    return " ".join(html.unescape(posted).split()) == " ".join(ours.split())


class MetaPlatform(Platform):
    """What Facebook and Instagram share; the two differ in endpoint names and field names."""

    reply_edge = "comments"
    hidden_field = "is_hidden"
    # A reply's fields when looking among a comment's replies (Graph refuses a field the node type does not have).
    reply_fields = "id,message,from"

    def __init__(self, settings: MetaSettings, graph: GraphClient, account_id: str) -> None:
        self.settings = settings
        self.graph = graph
        # The Page (or the professional account) that answers and whose own comments are never complaints.
        self.account_id = account_id
        # After a rate limit, Graph is not called again before Meta's wait is over (monotonic seconds).
        self._quiet_until = 0.0
        self._lock = threading.Lock()

    @property  # type: ignore[override]
    def timeout(self) -> timedelta:
        return self.settings.timeout

    def capabilities(self) -> Capabilities:
        return Capabilities(
            supported=frozenset(
                {Capability.PUBLIC_REPLY, Capability.PRIVATE_REPLY, Capability.HIDE, Capability.UNHIDE}
            ),
            missing={
                Capability.BLOCK: _(
                    "%(network)s does not let apps block accounts; block them in %(network)s", network=self.label
                )
            },
            private_reply_rule=_("%(network)s allows one private reply per comment, within 7 days", network=self.label),
            private_reply_within=PRIVATE_REPLY_WINDOW,
            private_reply_once=True,
        )

    # -- replies ---------------------------------------------------------------------------------------------------

    def reply(self, post: PostRef, text: str) -> Sent:
        body = self._write(lambda: self.graph.post(f"{post.external_id}/{self.reply_edge}", {"message": text}))
        return Sent(_id(body), self.reply_url(post, _id(body)))

    def find_reply(self, post: PostRef, text: str) -> Sent | None:
        for reply in self._replies_to(post):
            if self._is_ours(reply) and same_text(str(reply.get("message") or reply.get("text") or ""), text):
                return Sent(_id(reply), self.reply_url(post, _id(reply)))
        return None

    def reply_privately(self, post: PostRef, text: str) -> Sent:
        payload = {"recipient": {"comment_id": post.external_id}, "message": {"text": text}}
        try:
            body = self._write(lambda: self.graph.post(f"{self.account_id}/messages", payload))
        except _AlreadyReplied as already:
            raise Duplicate(str(already)) from already
        return Sent(str(body.get("message_id") or "") or None)

    def find_private_reply(self, post: PostRef, text: str) -> Sent | None:
        # Meta keeps no lookup of a private reply by comment; its once-only rule answers instead: a second attempt
        # is refused as "already replied", which the caller, looking first, reads as sent.
        return None

    # -- moderation --------------------------------------------------------------------------------------------------

    def hide(self, post: PostRef) -> Done:
        return self._set_hidden(post, True)

    def unhide(self, post: PostRef) -> Done:
        return self._set_hidden(post, False)

    def _set_hidden(self, post: PostRef, hidden: bool) -> Done:
        try:
            self._write(lambda: self.graph.post(post.external_id, {self.hidden_field: "true" if hidden else "false"}))
            return Done(True)
        except (Refused, Unsure) as failed:
            # Hiding is idempotent on Meta's side: clicking again after an unheard answer is safe.
            return Done(False, str(failed))

    # -- mechanics -----------------------------------------------------------------------------------------------

    def reply_url(self, post: PostRef, reply_id: str | None) -> str | None:
        return None

    def _is_ours(self, comment: dict) -> bool:
        author = comment.get("from") or {}
        return str(author.get("id") or "") == self.account_id

    def _replies_to(self, post: PostRef) -> list[dict]:
        try:
            body = self._call(
                lambda: self.graph.get(
                    f"{post.external_id}/{self.reply_edge}", {"fields": self.reply_fields, "limit": LOOK_BACK}
                )
            )
        except _AlreadyReplied as error:
            raise Unsure(str(error)) from error
        return [item for item in body.get("data") or [] if isinstance(item, dict)]

    def _write(self, call: object) -> dict:
        return self._call(call)

    def _call(self, call: object) -> dict:
        with self._lock:
            quiet = self._quiet_until - time.monotonic()
        if quiet > 0:
            raise Refused(self._rate_limited(quiet))
        try:
            return call()  # type: ignore[operator]
        except GraphError as error:
            if error.kind == "unsure":
                raise Unsure(str(error)) from error
            if error.kind == "rate_limit":
                wait = error.retry_after or 60.0
                with self._lock:
                    self._quiet_until = max(self._quiet_until, time.monotonic() + wait)
                # Said for the person who clicked: nothing retries a refused reply by itself, they do.
                raise Refused(self._rate_limited(wait)) from error
            if error.already_replied:
                raise _AlreadyReplied(str(error)) from error
            raise Refused(str(error)) from error

    def _rate_limited(self, seconds: float) -> str:
        minutes = max(1, math.ceil(seconds / 60))
        return n_(
            "%(network)s's rate limit is reached: Heard leaves %(network)s alone for about %(count)s minute; retry "
            "after that",
            "%(network)s's rate limit is reached: Heard leaves %(network)s alone for about %(count)s minutes; retry "
            "after that",
            minutes,
            network=self.label,
        )


class _AlreadyReplied(Refused):
    """Meta refused a private reply because the comment already had one."""


class FacebookPlatform(MetaPlatform):
    key = "facebook"
    label = "Facebook"

    def capabilities(self) -> Capabilities:
        base = super().capabilities()
        return Capabilities(
            supported=base.supported | {Capability.BLOCK},
            private_reply_rule=base.private_reply_rule,
            private_reply_within=base.private_reply_within,
            private_reply_once=True,
            # Translators: what blocking does on Facebook: the author can no longer comment on the brand's Page.
            block_means=_("blocked from the Page"),
        )

    def block(self, post: PostRef) -> Done:
        if not post.author_id:
            return Done(False, _("Facebook did not say who wrote the comment"))
        try:
            self._write(lambda: self.graph.post(f"{self.account_id}/blocked", {"user": post.author_id}))
            return Done(True)
        except (Refused, Unsure) as failed:
            return Done(False, str(failed))

    def reply_url(self, post: PostRef, reply_id: str | None) -> str | None:
        """The reply's permalink, shaped as Graph's `permalink_url` for a reply: the Page's post, the thread's
        top-level comment and the reply (the numbers after the `_` of each id)."""
        if not reply_id:
            return None
        post_object = post.external_id.split("_")[0]
        top = (post.conversation_id or post.external_id).rsplit("_", 1)[-1]
        return (
            f"https://www.facebook.com/{self.account_id}/posts/{post_object}/?comment_id={top}"
            f"&reply_comment_id={reply_id.rsplit('_', 1)[-1]}"
        )


class InstagramPlatform(MetaPlatform):
    key = "instagram"
    label = "Instagram"
    reply_edge = "replies"
    hidden_field = "hide"
    reply_fields = "id,text,from,username"


def _id(body: dict) -> str | None:
    return str(body.get("id") or "") or None
