"""`/webhooks/meta`: Meta's verification handshake (GET) and its signed deliveries (POST) for Page `feed` comments
and Instagram `comments` and `mentions`.

A delivery is answered after its complaints are committed (Meta redelivers anything not answered 200, and the same
comment twice is one complaint by its id). One malformed change is skipped with a log line; its neighbours are filed.
An Instagram mention carries only ids: the comment is fetched from the Graph API after the answer, on a thread, so
Meta never waits on Graph.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from bot.config import MetaSettings
from bot.platforms.base import Intake, NewComplaint, PostUpdate, UpdateKind, WebAnswer, WebRequest
from bot.platforms.meta import comments
from bot.platforms.meta.graph import GraphError
from bot.platforms.meta.webhook import (
    CommentAdded,
    CommentEdited,
    CommentHidden,
    CommentRemoved,
    InvalidDelivery,
    MentionToFetch,
    parse_delivery,
    signature_is_valid,
    verify_subscription,
)

log = logging.getLogger("heard.meta")

FetchMention = Callable[[MentionToFetch], NewComplaint | None]


class MetaReceiver:
    def __init__(self, settings: MetaSettings, intake: Intake, fetch_mention: FetchMention | None) -> None:
        self.settings = settings
        self.intake = intake
        self.fetch_mention = fetch_mention

    def __call__(self, request: WebRequest) -> WebAnswer:
        if request.method in ("GET", "HEAD"):
            challenge = verify_subscription(dict(request.query), self.settings.verify_token)
            if challenge is None:
                log.warning("refused Meta's webhook verification: hub.verify_token does not match META_VERIFY_TOKEN")
                return WebAnswer(403, {"error": "verify token does not match"})
            return WebAnswer(200, challenge)
        if request.method != "POST":
            return WebAnswer(405, {"error": "use GET (verification) or POST (deliveries)"})
        if not signature_is_valid(self.settings.app_secret, request.body, request.headers.get("x-hub-signature-256")):
            log.warning("rejected a Meta delivery: missing or wrong X-Hub-Signature-256")
            return WebAnswer(
                401,
                {"error": "invalid signature", "message": "X-Hub-Signature-256 must sign the body with the app secret"},
            )
        try:
            delivery = parse_delivery(request.body, self.settings.page_id, self.settings.instagram_account_id)
        except InvalidDelivery as invalid:
            return WebAnswer(400, {"error": "invalid payload", "field": invalid.field, "message": str(invalid)})
        for reason in delivery.skipped:
            log.info("Meta delivery: skipped a change: %s", reason)
        self.file(delivery.changes)
        return WebAnswer(200, {"ok": True})

    def file(self, changes: Sequence[object]) -> None:
        """New comments in one unit of work (oldest first, so a thread's first comment opens the complaint its
        replies join), then edits, removals and hides."""
        added = [comments.to_complaint(change) for change in changes if isinstance(change, CommentAdded)]
        if added:
            self.intake.file(added)
        updates = [update for change in changes if (update := _update(change)) is not None]
        if updates:
            self.intake.update(updates)
        mentions = [change for change in changes if isinstance(change, MentionToFetch)]
        if mentions and self.fetch_mention is not None:
            threading.Thread(target=self._fetch, args=(mentions,), name="meta-mentions", daemon=True).start()

    def _fetch(self, mentions: list[MentionToFetch]) -> None:
        assert self.fetch_mention is not None
        found: list[NewComplaint] = []
        for mention in mentions:
            try:
                complaint = self.fetch_mention(mention)
            except GraphError as error:
                # The backfill reads the account's tags again; the mention is not lost with this attempt.
                log.warning("Instagram mention %s: could not fetch the comment (%s)", mention.comment_id, error)
                continue
            if complaint is not None:
                found.append(complaint)
        if found:
            self.intake.file(found)


def _update(change: object) -> PostUpdate | None:
    if isinstance(change, CommentEdited):
        return PostUpdate(
            change.platform, change.comment_id, UpdateKind.EDITED, change.edited_at, change.text, change.raw
        )
    if isinstance(change, CommentRemoved):
        return PostUpdate(change.platform, change.comment_id, UpdateKind.REMOVED, change.removed_at, raw=change.raw)
    if isinstance(change, CommentHidden):
        kind = UpdateKind.HIDDEN if change.hidden else UpdateKind.UNHIDDEN
        return PostUpdate(change.platform, change.comment_id, kind, change.at, raw=change.raw)
    return None
