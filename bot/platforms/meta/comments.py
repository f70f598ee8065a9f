"""A Meta comment, from a webhook change or a Graph API object, as a complaint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.platforms.base import NewComplaint
from bot.platforms.meta.webhook import CommentAdded


def to_complaint(change: CommentAdded) -> NewComplaint:
    """Replies by the same person in the same comment thread join one open complaint (conversation = the thread's
    top-level comment)."""
    return NewComplaint(
        source=change.platform,
        platform=change.platform,
        external_id=change.comment_id,
        author_handle=change.author_handle
        or change.author_name
        or (f"id:{change.author_id}" if change.author_id else "unknown"),
        author_name=change.author_name,
        author_id=change.author_id,
        text=change.text,
        url=change.url,
        posted_at=change.created_at,
        conversation_id=change.thread_id,
        raw=change.raw,
    )


def from_graph(platform: str, comment: Any, parent_id: str, account_id: str) -> NewComplaint | None:
    """A comment object read from the Graph API (backfill, a fetched mention), or None when it is the brand's own
    or unreadable. `parent_id` is the post (Facebook) or media (Instagram) it was read under."""
    if not isinstance(comment, dict) or not comment.get("id"):
        return None
    author = comment.get("from") if isinstance(comment.get("from"), dict) else {}
    author_id = str(author.get("id") or "") or None
    if author_id == account_id:
        return None
    comment_id = str(comment["id"])
    text = comment.get("message") if platform == "facebook" else comment.get("text")
    parent = comment.get("parent")
    thread = str(parent["id"]) if isinstance(parent, dict) and parent.get("id") else None
    thread = thread or (str(comment["parent_id"]) if comment.get("parent_id") else None) or comment_id
    name = str(author.get("name") or "") or None
    handle = str(comment.get("username") or author.get("username") or "") or name
    url = comment.get("permalink_url") if isinstance(comment.get("permalink_url"), str) else None
    if url is None and platform == "facebook":
        url = f"https://www.facebook.com/{parent_id.split('_')[-1]}?comment_id={comment_id.split('_')[-1]}"
    return NewComplaint(
        source=platform,
        platform=platform,
        external_id=comment_id,
        author_handle=handle or (f"id:{author_id}" if author_id else "unknown"),
        author_name=name,
        author_id=author_id,
        text=str(text or ""),
        url=url,
        posted_at=graph_time(comment.get("created_time") or comment.get("timestamp")),
        conversation_id=thread,
        raw={"comment": comment, "parent_id": parent_id},
    )


def graph_time(value: Any) -> datetime | None:
    """Graph writes `2021-08-10T18:45:03+0000` (no colon in the offset)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
    except ValueError:
        return None
