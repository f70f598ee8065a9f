"""What one person sees in the sandbox's Slack, read from the fake Slack: the conversation they have open (with the
ephemeral messages only they see), an open thread, their Home tab, the modal on top of their screen, and how many
messages each conversation in the sidebar holds."""

from __future__ import annotations

from typing import Any

from sandbox import workspace
from sandbox.fake_slack import FakeSlack

HOME = "home"
#: The newest messages of a conversation the page shows; older ones would only slow the page down.
MAX_MESSAGES = 200
_MESSAGE_KEYS = ("ts", "user", "text", "blocks", "thread_ts", "reply_count", "latest_reply", "edited", "subtype")
_FILE_KEYS = ("id", "name", "title", "mimetype", "alt_txt", "size", "pretty_type")


def conversation_ids(fake: FakeSlack, user: str) -> list[str]:
    """The sidebar: the channels, then the person's DM with Heard."""
    return [channel.id for channel in workspace.CHANNELS] + [fake.dm_channel(user)]


def snapshot(fake: FakeSlack, user: str, conversation: str, thread_ts: str | None) -> dict[str, Any]:
    counts = {
        channel: len(fake.messages(channel)) + sum(1 for e in fake.ephemerals(channel, user) if not e.get("thread_ts"))
        for channel in conversation_ids(fake, user)
    }
    views = fake.open_views(user)
    state: dict[str, Any] = {
        "counts": counts,
        "messages": [],
        "thread": None,
        "home": None,
        # Only the top of a stack of modals is visible; pushed ones cover the root.
        "modal": {"view": views[-1], "depth": len(views)} if views else None,
    }
    if conversation == HOME:
        state["home"] = fake.home(user)
        return state
    if conversation not in counts:
        return state
    ephemerals = fake.ephemerals(conversation, user)
    shown = [_message(m) for m in fake.messages(conversation)] + [
        _message(e, ephemeral=True) for e in ephemerals if not e.get("thread_ts")
    ]
    state["messages"] = sorted(shown, key=lambda m: _ts_key(m["ts"]))[-MAX_MESSAGES:]
    if thread_ts:
        state["thread"] = _thread(fake, conversation, thread_ts, ephemerals)
    return state


def _thread(fake: FakeSlack, channel: str, ts: str, ephemerals: list[dict[str, Any]]) -> dict[str, Any] | None:
    try:
        parent = fake.message(channel, ts)
    except KeyError:
        return None
    replies = [_message(m) for m in fake.replies(channel, ts)] + [
        _message(e, ephemeral=True) for e in ephemerals if e.get("thread_ts") == ts
    ]
    return {
        "channel": channel,
        "ts": ts,
        "parent": _message(parent),
        "replies": sorted(replies, key=lambda m: _ts_key(m["ts"])),
    }


def _message(message: dict[str, Any], *, ephemeral: bool = False) -> dict[str, Any]:
    """A message as the page needs it: no metadata (Slack's clients do not show it), files with a URL the sandbox
    serves."""
    shown = {key: message[key] for key in _MESSAGE_KEYS if key in message}
    shown["ephemeral"] = ephemeral
    files = message.get("files")
    if files:
        shown["files"] = [
            {**{key: file[key] for key in _FILE_KEYS if key in file}, "url": f"/files/{file['id']}"} for file in files
        ]
    return shown


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds or 0), int((micros or "0").ljust(6, "0")[:6])
