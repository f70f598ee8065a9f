"""Meta: Facebook Page comments and Instagram comments and mentions, through webhooks (`/webhooks/meta`) and a
backfill poller over the Graph API; replies, private replies and hiding through the adapters."""

from __future__ import annotations

from collections.abc import Mapping

from bot.config import Settings
from bot.platforms.base import ApiFailed, Intake, Listener, NewComplaint, Registration, WebRoute, not_counted
from bot.platforms.meta.adapters import FacebookPlatform, InstagramPlatform, MetaPlatform
from bot.platforms.meta.backfill import MetaBackfill
from bot.platforms.meta.comments import from_graph
from bot.platforms.meta.graph import GraphClient
from bot.platforms.meta.receiver import MetaReceiver
from bot.platforms.meta.webhook import MentionToFetch

LABELS = {FacebookPlatform.key: FacebookPlatform.label, InstagramPlatform.key: InstagramPlatform.label}
PRIVATE_REPLY_NAMES = {platform.key: platform.private_reply_name for platform in (FacebookPlatform, InstagramPlatform)}
MENTION_FIELDS = "id,text,timestamp,username,from,media{id},parent_id"
WEBHOOK_PATH = "/webhooks/meta"


def register(settings: Settings, api_failed: ApiFailed = not_counted) -> Registration:
    """Nothing until META_* is set: then the Page and/or the Instagram account it names, one Graph client each
    (the Page token serves both), the webhook route and the backfill."""
    meta = settings.meta
    if meta is None:
        return Registration(platforms=[])
    platforms: list[MetaPlatform] = []

    def graph_for(label: str, key: str) -> GraphClient:
        return GraphClient(
            meta.graph_url,
            meta.page_token,
            meta.app_secret,
            meta.timeout.total_seconds(),
            label=label,
            failed=lambda status: api_failed(key, status),
        )

    if meta.page_id:
        platforms.append(FacebookPlatform(meta, graph_for("Facebook", FacebookPlatform.key), meta.page_id))
    if meta.instagram_account_id:
        graph = graph_for("Instagram", InstagramPlatform.key)
        platforms.append(InstagramPlatform(meta, graph, meta.instagram_account_id))
    instagram = next((platform for platform in platforms if isinstance(platform, InstagramPlatform)), None)

    def fetch_mention(mention: MentionToFetch) -> NewComplaint | None:
        assert instagram is not None
        body = instagram.graph.get(
            instagram.account_id,
            {"fields": f"mentioned_comment.comment_id({mention.comment_id}){{{MENTION_FIELDS}}}"},
        )
        comment = body.get("mentioned_comment")
        return from_graph("instagram", comment, mention.media_id, instagram.account_id) if comment else None

    def routes(intake: Intake) -> Mapping[str, WebRoute]:
        return {WEBHOOK_PATH: MetaReceiver(meta, intake, fetch_mention if instagram is not None else None)}

    def listeners(intake: Intake) -> list[Listener]:
        return [MetaBackfill(meta, platforms, intake)]

    return Registration(platforms=platforms, listeners=listeners, routes=routes)
