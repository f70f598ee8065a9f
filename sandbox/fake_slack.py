"""A fake Slack Web API server on loopback, for end-to-end tests and the browser sandbox.

Heard's ``WebClient`` is pointed at ``FakeSlack.api_url`` (through ``SLACK_API_URL``), so every call
travels over real HTTP exactly as it would to slack.com: the SDK's JSON/form/query encodings, its
``Authorization`` header, its error handling for 429 and 5xx answers. The fake

* answers the handful of methods Heard uses and keeps the resulting channel state (messages, threads,
  ephemerals) so tests can look at what a user would see;
* opens modals like Slack: ``views.open``/``views.push`` exchange a ``trigger_id`` the fake issued
  (``new_trigger``; the drivers' clicks do it), once and within ``TRIGGER_LIFETIME`` seconds; the views stay
  open (``open_views``) until the app's answer to their submission closes them
  (``answer_view_submission``, or the ack of a Socket Mode envelope) or ``views.update`` changes them;
* keeps the bot's direct messages: ``conversations.open`` gives a stable ``D…`` channel per user, and
  ``chat.postMessage`` to a user id posts there and answers with that channel (``dms``);
* answers ``usergroups.users.list`` (groups set with ``set_user_group``) and ``users.info`` (any ``U…`` id; its
  ``locale`` only with ``include_locale``, as Slack does: ``DEFAULT_USER_LOCALE`` unless ``set_user`` says; a
  member unless ``set_user(guest=...)`` makes them a multi- or single-channel guest);
* takes file uploads the way ``WebClient.files_upload_v2`` makes them: ``files.getUploadURLExternal`` hands out an
  upload URL on the fake itself, the raw bytes are POSTed there (recorded as ``upload_url`` calls), and
  ``files.completeUploadExternal`` shares the file, posting a message that carries it into each channel (``files``,
  ``file``; ``files.info`` answers too); ``files.delete`` deletes one (and the messages that shared it, unless
  they shared other files too; ``file_not_found``, ``file_deleted``, and ``cant_delete_file`` for a file
  ``protect_file`` says someone else shared);
* keeps each user's Home tab (``views.publish``, ``home``), validated like modals;
* shows a slash command's immediate answer like Slack (``answer_command``, or the ack of a Socket Mode envelope):
  ephemeral, or in the channel with ``response_type: in_channel``;
* validates Block Kit the way Slack does (``slack_sdk.models`` plus the limits the SDK does not check)
  and collects everything suspicious in ``problems`` - tests assert ``fake.problems == []``;
* serves ``response_url``\\s (with ``replace_ephemerals=True``, a click's response_url replaces or deletes the
  ephemeral message it was clicked on, as Slack's do);
* tells subscribers about every change (``subscribe``), so the sandbox page can refresh without polling;
* records every request as a ``Call`` and lets tests block on them with ``wait_for`` (no polling);
* injects failures (``fail_next``), slow answers (``hang_next``) and per-channel rate limits;
* grants the bot token only the scopes the app's manifest asks for (``slack/manifest.yml``, or ``scopes=``) and
  answers any method needing another (``METHOD_SCOPES``) with Slack's ``missing_scope``, recorded as a problem;
* plays Slack's side of Socket Mode: ``apps.connections.open`` (with the app-level token) hands out a
  ``ws://`` URL on the same port, where a small RFC 6455 WebSocket server says ``hello``, sends envelopes
  (``send_envelope``) and records the app's acks as ``socket_mode.ack`` calls.

Example::

    with FakeSlack() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert fake.messages("C1")[0]["text"] == "hi"

A modal, opened with the trigger of a click (``SlackDriver.click`` issues one the same way)::

    trigger_id = fake.new_trigger("U0ANA")
    client.views_open(trigger_id=trigger_id, view=modal)
    (view,) = fake.open_views("U0ANA")

Socket Mode, with the app connected through ``apps.connections.open`` (e.g. Bolt's ``SocketModeHandler``)::

    assert fake.socket_connected(timeout=5)
    envelope_id = fake.send_envelope("interactive", {"type": "block_actions", ...})
    fake.wait_for("socket_mode.ack", where=lambda call: call.args["envelope_id"] == envelope_id)

All public methods are thread-safe: the server answers on one thread per request while the test (or the
sandbox UI) reads state from its own thread.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import logging
import mimetypes
import re
import secrets
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import yaml
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from sandbox.loopback import FakeHandler, LoopbackFake, LoopbackServer

__all__ = [
    "COMMAND_DEADLINE",
    "DEFAULT_MANIFEST",
    "MAX_MESSAGE_BLOCKS",
    "MAX_VIEW_BLOCKS",
    "METHOD_SCOPES",
    "Call",
    "FakeSlack",
    "manifest_bot_scopes",
    "validate_blocks",
    "validate_view",
]

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
#: A handler for a Web API method: gets the parsed arguments, returns the JSON answer (must hold "ok").
MethodHandler = Callable[[JSONDict], JSONDict]

MAX_MESSAGE_BLOCKS = 50
#: Slack truncates message ``text`` past this many characters (the fake records a problem).
MAX_MESSAGE_TEXT = 40_000
#: How many times Slack accepts a POST to one response_url.
RESPONSE_URL_MAX_USES = 5
#: Seconds Slack waits for the ack of a Socket Mode envelope (later acks are recorded as problems).
SOCKET_MODE_ACK_DEADLINE = 3.0
#: Where the WebSocket URLs handed out by ``apps.connections.open`` point (on the fake's own port).
SOCKET_MODE_PATH = "/socket-mode/"
#: Blocks Slack accepts in a modal (and the Home tab).
MAX_VIEW_BLOCKS = 100
#: Seconds a trigger_id can be exchanged for a modal (``views.open``/``views.push``); each works once.
TRIGGER_LIFETIME = 3.0
#: Seconds Slack waits for the HTTP answer to a ``view_submission`` (later answers leave the modal open, with
#: an error shown, and are recorded as problems).
VIEW_SUBMISSION_DEADLINE = 3.0
#: Views one modal can stack (the root and two pushed); another ``views.push`` fails with push_limit_reached.
MAX_VIEW_STACK = 3
#: The kinds of guest account ``set_user(guest=...)`` makes.
GUEST_KINDS = ("multi-channel", "single-channel")
#: The time zone ``users.info`` reports for users not configured with ``set_user``.
DEFAULT_USER_TZ = "America/Los_Angeles"
#: The locale ``users.info`` reports (with ``include_locale``) for users not configured with ``set_user``.
DEFAULT_USER_LOCALE = "en-US"
#: Seconds Slack waits for the HTTP answer (or Socket Mode ack) to a slash command before it shows the person
#: "operation_timeout"; a later answer is not shown and is recorded as a problem.
COMMAND_DEADLINE = 3.0
#: Where the upload URLs handed out by ``files.getUploadURLExternal`` point (on the fake's own port), as Slack's
#: point at ``https://files.slack.com/upload/v1/...``.
UPLOAD_PATH = "/upload/v1/"
#: Longest ``alt_txt`` Slack takes for an uploaded file (longer: ``alt_txt_too_large``).
MAX_ALT_TEXT = 1000
#: Largest snippet (a file uploaded with ``snippet_type``) Slack takes, in bytes (larger: ``snippet_too_large``).
MAX_SNIPPET_BYTES = 1 << 20
#: Channels one ``files.completeUploadExternal`` can share into (more: ``channels_limit_exceeded``).
MAX_SHARE_CHANNELS = 100
#: Largest view (JSON) ``views.publish`` takes (larger: ``view_too_large``).
MAX_VIEW_BYTES = 250_000
#: The app manifest whose bot scopes the fake grants unless told otherwise: the one an admin pastes into Slack for
#: HTTP mode (the Socket Mode manifest asks for the same scopes; a test checks that).
DEFAULT_MANIFEST = Path(__file__).resolve().parent.parent / "slack" / "manifest.yml"
#: The bot scopes each Web API method answers to, from Slack's method reference (docs.slack.dev/reference/methods):
#: any one of them will do, and an empty tuple means the method needs none. conversations.history and .replies
#: need the history scope of the conversation's kind, and conversations.open the write scope of a DM or group DM
#: (see ``_needed_scopes``). Without a granted scope Slack answers HTTP 200 ``missing_scope``.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.getPermalink": (),
    "conversations.history": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.open": ("im:write", "mpim:write"),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.upload": ("files:write",),
    "files.info": ("files:read",),
    "files.delete": ("files:write",),
    "views.open": (),
    "views.push": (),
    "views.update": (),
    "views.publish": (),
    "usergroups.users.list": ("usergroups:read",),
    "usergroups.users.update": ("usergroups:write",),
    "users.info": ("users:read",),
}


def manifest_bot_scopes(path: str | Path = DEFAULT_MANIFEST) -> frozenset[str]:
    """The bot scopes an app manifest asks for (``oauth_config.scopes.bot``)."""
    manifest = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    scopes = ((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise ValueError(f"{path}: oauth_config.scopes.bot must be a list of scope names")
    return frozenset(scopes)


# ---------------------------------------------------------------------------------------------------------
# Block Kit validation
# ---------------------------------------------------------------------------------------------------------
#
# ``Block.parse(...).validate_json()`` is shallow: it runs only the validators of the block itself, so a
# 76-character button label inside an ``actions`` block passes. ``to_dict()`` validates recursively, so we
# call that. Even then the SDK is more lenient than Slack: unknown element types are dropped silently
# (``parse`` returns None), unknown keys are ignored, a bare string is accepted where Slack wants a text
# object, empty lists/strings are dropped, ``mrkdwn`` is accepted in headers and buttons, and section
# field lengths are not checked. The rules below close those gaps; the SDK's own error is reported when
# our rules found nothing else in that block (it raises on the first problem only).

_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})

# Character limits of text objects, by (type of the object holding them, key).
_TEXT_LIMITS: dict[tuple[str, str], int] = {
    ("section", "text"): 3000,
    ("section", "fields"): 2000,
    ("header", "text"): 150,
    ("button", "text"): 75,
    ("input", "label"): 2000,
    ("input", "hint"): 2000,
    ("option", "text"): 75,
    ("option", "description"): 75,
    ("option_group", "label"): 75,
}

# Maximum list lengths, by (type of the object holding the list, key).
_LIST_LIMITS: dict[tuple[str, str], int] = {
    ("actions", "elements"): 25,
    ("context", "elements"): 10,
    ("section", "fields"): 10,
}

# Text objects Slack accepts only as plain_text.
_PLAIN_TEXT_ONLY: frozenset[tuple[str, str]] = frozenset({("header", "text"), ("button", "text")})
_PLAIN_TEXT_ONLY_KEYS = frozenset({"placeholder", "label", "hint", "title", "confirm", "deny"})

# String limits, by key (for any object) or by (object type, key).
_STRING_LIMITS: dict[str, int] = {"block_id": 255, "action_id": 255}
_TYPED_STRING_LIMITS: dict[tuple[str, str], int] = {
    ("button", "value"): 2000,
    ("button", "url"): 3000,
    ("option", "value"): 150,
    ("option", "url"): 3000,
}

# Objects without a "type" of their own, named by the key that holds them.
_UNTYPED_OBJECTS = {
    "options": "option",
    "initial_option": "option",
    "initial_options": "option",
    "option_groups": "option_group",
}

# Fields a block must have, checked before the SDK (whose error would name a constructor argument).
_REQUIRED_BLOCK_FIELDS: dict[str, tuple[str, ...]] = {"input": ("label", "element")}


def validate_blocks(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Check a ``blocks`` payload the way Slack would; return the problems (empty when valid).

    Each problem reads like Slack's own ``invalid_blocks`` details, e.g.
    ``"button text is 80 characters, Slack allows 75 [json-pointer:/blocks/2/elements/0/text]"``.
    Use ``max_blocks=100`` for modals and the Home tab.
    """
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return ["blocks is not valid JSON [json-pointer:/blocks]"]
    if not isinstance(blocks, list):
        return [f"blocks must be a list, not {type(blocks).__name__} [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"{len(blocks)} blocks, Slack allows {max_blocks} [json-pointer:/blocks]")
    seen_block_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        ptr = f"/blocks/{i}"
        errors.extend(_validate_block(raw, ptr))
        block_id = raw.get("block_id") if isinstance(raw, dict) else None
        if isinstance(block_id, str):
            if block_id in seen_block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{ptr}/block_id]")
            seen_block_ids.add(block_id)
    return errors


def _validate_block(raw: Any, ptr: str) -> list[str]:
    if not isinstance(raw, dict):
        return [f"a block must be an object, not {type(raw).__name__} [json-pointer:{ptr}]"]
    block_type = raw.get("type")
    if not isinstance(block_type, str):
        return [f"block has no type [json-pointer:{ptr}]"]
    missing = [key for key in _REQUIRED_BLOCK_FIELDS.get(block_type, ()) if raw.get(key) is None]
    if missing:
        return [f"{block_type} block needs a {key!r} [json-pointer:{ptr}/{key}]" for key in missing]
    try:
        parsed = Block.parse(copy.deepcopy(raw))
    except (TypeError, ValueError, SlackObjectFormationError) as exc:
        # Missing required fields surface as TypeError from the model's constructor.
        return [f"{block_type} block could not be built: {exc} [json-pointer:{ptr}]"]
    if parsed is None or type(parsed) is Block:
        return [f"unknown block type {block_type!r} [json-pointer:{ptr}]"]

    errors: list[str] = []
    _check_node(raw, ptr, parent_type="", key="", errors=errors)
    try:
        normalized = parsed.to_dict()
    except (SlackObjectFormationError, TypeError, ValueError, AttributeError) as exc:
        if not errors:
            errors.append(f"{block_type} block: {exc} [json-pointer:{ptr}]")
        return errors
    _diff_against_sdk(raw, normalized, ptr, errors)
    return errors


def _check_node(node: Any, ptr: str, *, parent_type: str, key: str, errors: list[str]) -> None:
    """Walk raw JSON and apply the limits the SDK misses."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _check_node(item, f"{ptr}/{i}", parent_type=parent_type, key=key, errors=errors)
        return
    if not isinstance(node, dict):
        return
    node_type = node.get("type") if isinstance(node.get("type"), str) else _UNTYPED_OBJECTS.get(key, "")
    if node_type in _TEXT_TYPES:
        _check_text_object(node, ptr, parent_type=parent_type, key=key, errors=errors)
        return
    action_ids: set[str] = set()
    for k, value in node.items():
        limit = _STRING_LIMITS.get(k) or _TYPED_STRING_LIMITS.get((node_type, k))
        if limit is not None and isinstance(value, str) and len(value) > limit:
            errors.append(
                f"{node_type or 'object'} {k} is {len(value)} characters, Slack allows {limit} [json-pointer:{ptr}/{k}]"
            )
        if isinstance(value, list):
            max_items = _LIST_LIMITS.get((node_type, k))
            if max_items is not None and len(value) > max_items:
                errors.append(
                    f"{node_type} {k} has {len(value)} items, Slack allows {max_items} [json-pointer:{ptr}/{k}]"
                )
            if node_type == "actions" and k == "elements":
                # Slack rejects two elements with the same action_id in one block.
                for j, element in enumerate(value):
                    action_id = element.get("action_id") if isinstance(element, dict) else None
                    if isinstance(action_id, str):
                        if action_id in action_ids:
                            errors.append(f"duplicate action_id {action_id!r} [json-pointer:{ptr}/{k}/{j}/action_id]")
                        action_ids.add(action_id)
        if isinstance(value, list | dict):
            _check_node(value, f"{ptr}/{k}", parent_type=node_type, key=k, errors=errors)


def _check_text_object(node: JSONDict, ptr: str, *, parent_type: str, key: str, errors: list[str]) -> None:
    text = node.get("text")
    where = f"{parent_type} {key}".strip() or "text"
    if not isinstance(text, str):
        errors.append(f"{where} needs a string 'text' [json-pointer:{ptr}/text]")
        return
    limit = _TEXT_LIMITS.get((parent_type, key))
    if limit is not None and len(text) > limit:
        errors.append(f"{where} is {len(text)} characters, Slack allows {limit} [json-pointer:{ptr}/text]")
    plain_only = (parent_type, key) in _PLAIN_TEXT_ONLY or key in _PLAIN_TEXT_ONLY_KEYS
    if plain_only and node.get("type") != "plain_text":
        errors.append(f"{where} must be plain_text, not {node.get('type')} [json-pointer:{ptr}/type]")


def _diff_against_sdk(raw: Any, normalized: Any, ptr: str, errors: list[str]) -> None:
    """Report what the SDK dropped or converted while parsing: Slack would reject those."""
    if isinstance(raw, dict) and isinstance(normalized, dict):
        for k, value in raw.items():
            if k in normalized:
                _diff_against_sdk(value, normalized[k], f"{ptr}/{k}", errors)
            elif value is None:
                continue  # null is what the SDK sends for "not set"; harmless
            elif isinstance(value, list | str | dict) and len(value) == 0:
                errors.append(f"{k} must not be empty [json-pointer:{ptr}/{k}]")
            else:
                errors.append(f"unknown field {k!r} [json-pointer:{ptr}/{k}]")
    elif isinstance(raw, list) and isinstance(normalized, list):
        for i, (item, norm) in enumerate(zip(raw, normalized, strict=False)):
            if norm is None and item is not None:
                kind = item.get("type") if isinstance(item, dict) else type(item).__name__
                errors.append(f"unknown element type {kind!r} [json-pointer:{ptr}/{i}]")
            else:
                _diff_against_sdk(item, norm, f"{ptr}/{i}", errors)
    elif isinstance(raw, str) and isinstance(normalized, dict):
        errors.append(f"must be a text object, not a bare string [json-pointer:{ptr}]")


# Top-level fields of a modal view, and the limits Slack puts on them.
_VIEW_FIELDS = frozenset(
    {
        "type",
        "title",
        "blocks",
        "close",
        "submit",
        "private_metadata",
        "callback_id",
        "clear_on_close",
        "notify_on_close",
        "external_id",
        "submit_disabled",
    }
)
_VIEW_TEXT_LIMIT = 24
_VIEW_STRING_LIMITS = {"private_metadata": 3000, "callback_id": 255, "external_id": 255}
# What only modals have: a Home tab has no title bar, no buttons and is never closed.
_MODAL_ONLY_FIELDS = frozenset({"title", "close", "submit", "clear_on_close", "notify_on_close", "submit_disabled"})
_HOME_FIELDS = _VIEW_FIELDS - _MODAL_ONLY_FIELDS


def validate_view(view: Any, *, kind: str = "modal") -> list[str]:
    """Check a ``view`` the way Slack would; return the problems (empty when valid), with json-pointers under
    ``/view``. ``kind`` is the surface it is for: ``"modal"`` (``views.open``/``views.push``/``views.update``, or a
    ``response_action``) or ``"home"`` (``views.publish``).

    A modal needs ``type: "modal"`` and a ``title``; ``title``/``submit``/``close`` are plain_text of at most 24
    characters; ``submit`` is required once there is an input block. A Home tab needs ``type: "home"`` and has
    none of those (nor ``clear_on_close``, ``notify_on_close``, ``submit_disabled``). Both take at most 100
    blocks, each valid as for messages (input blocks need a label and an element); ``private_metadata`` at most
    3000 characters, ``callback_id`` and ``external_id`` at most 255; no fields Slack does not know (``id``,
    ``hash``, ``state`` ... of a view Slack sent are not accepted back).
    """
    if kind not in ("modal", "home"):
        raise ValueError(f"kind is 'modal' or 'home', not {kind!r}")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            return ["view is not valid JSON [json-pointer:/view]"]
    if not isinstance(view, dict):
        return [f"view must be an object, not {type(view).__name__} [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") != kind:
        errors.append(f"view type must be {kind!r}, not {view.get('type')!r} [json-pointer:/view/type]")
    if kind == "home":
        errors.extend(_validate_home_fields(view))
    else:
        errors.extend(_validate_modal_fields(view))
    return errors


def _view_string_problems(view: JSONDict) -> list[str]:
    errors: list[str] = []
    for key, limit in _VIEW_STRING_LIMITS.items():
        value = view.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(f"{key} must be a string [json-pointer:/view/{key}]")
        elif len(value) > limit:
            errors.append(f"{key} is {len(value)} characters, Slack allows {limit} [json-pointer:/view/{key}]")
    return errors


def _validate_home_fields(view: JSONDict) -> list[str]:
    errors: list[str] = []
    blocks = view.get("blocks")
    if blocks is None:
        errors.append("a home view needs blocks [json-pointer:/view/blocks]")
    else:
        errors.extend(_view_block_problems(blocks))
    errors.extend(_view_string_problems(view))
    for key, value in view.items():
        if value is None or key in _HOME_FIELDS:
            continue
        if key in _MODAL_ONLY_FIELDS:
            errors.append(f"{key} is for modals; a home view has none [json-pointer:/view/{key}]")
        else:
            errors.append(f"unknown field {key!r} [json-pointer:/view/{key}]")
    return errors


def _view_block_problems(blocks: Any) -> list[str]:
    problems = validate_blocks(blocks, max_blocks=MAX_VIEW_BLOCKS)
    return [p.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks") for p in problems]


def _validate_modal_fields(view: JSONDict) -> list[str]:
    errors: list[str] = []
    for key in ("title", "submit", "close"):
        value = view.get(key)
        if value is None:
            if key == "title":
                errors.append("a modal needs a title [json-pointer:/view/title]")
            continue
        if not isinstance(value, dict) or value.get("type") != "plain_text":
            errors.append(f"{key} must be a plain_text object [json-pointer:/view/{key}]")
            continue
        text = value.get("text")
        if not isinstance(text, str) or not text:
            errors.append(f"{key} needs a non-empty 'text' [json-pointer:/view/{key}/text]")
        elif len(text) > _VIEW_TEXT_LIMIT:
            errors.append(
                f"{key} is {len(text)} characters, Slack allows {_VIEW_TEXT_LIMIT} [json-pointer:/view/{key}/text]"
            )
    blocks = view.get("blocks")
    if blocks is None:
        errors.append("a modal needs blocks [json-pointer:/view/blocks]")
    else:
        errors.extend(_view_block_problems(blocks))
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and view.get("submit") is None:
            errors.append("a modal with input blocks needs a submit button [json-pointer:/view/submit]")
    errors.extend(_view_string_problems(view))
    for key, value in view.items():
        if key not in _VIEW_FIELDS and value is not None:
            errors.append(f"unknown field {key!r} [json-pointer:/view/{key}]")
    return errors


# ---------------------------------------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request the fake received: a Web API method, ``"response_url"``, ``"upload_url"`` (the bytes of a file
    POSTed to a URL from ``files.getUploadURLExternal``), or on the Socket Mode side ``"socket_mode.connect"`` (a
    WebSocket handshake), ``"socket_mode.ack"`` (an envelope's ack) and ``"socket_mode.close"`` (a connection
    ended)."""

    method: str
    #: Parsed arguments (JSON body, form and query merged; ``blocks``/``metadata`` decoded from JSON strings;
    #: ``token`` removed). For ``response_url`` calls: the JSON body plus ``url``. For ``upload_url`` calls: ``url``,
    #: ``size`` (bytes received) and ``content_type`` (the bytes themselves are in ``FakeSlack.file``). For
    #: ``socket_mode.connect``: ``{"ticket": ...}``; for ``socket_mode.ack``: the ack as the app sent it
    #: (``envelope_id``, ``payload``); for ``socket_mode.close``: ``ticket``, ``by`` (``"app"`` or ``"slack"``: who
    #: closed) and the close ``code`` (1006: the app dropped the TCP connection without a close frame, as
    #: slack_sdk's builtin client does).
    args: JSONDict
    headers: dict[str, str]
    #: ``time.monotonic()`` when the answer was decided.
    at: float
    #: HTTP status answered.
    status: int
    #: The Slack error code when the answer was not ok (``"ratelimited"``, ``"invalid_blocks"`` ...).
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None

    def summary(self) -> str:
        """One line for assertion messages."""
        outcome = str(self.status) + (f" {self.error}" if self.error else "")
        args = json.dumps(self.args, default=str, ensure_ascii=False)
        if len(args) > 200:
            args = args[:197] + "..."
        return f"{self.method} -> {outcome} {args}"


@dataclass
class _Injection:
    """A queued failure (``fail_next``) or delay (``hang_next``) for one method."""

    kind: str  # "fail" | "hang"
    times: int = 1
    status: int = 500
    retry_after: int | None = None
    error: str | None = None
    seconds: float = 0.0
    apply: bool = False


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def json(cls, data: JSONDict, status: int = 200, headers: dict[str, str] | None = None) -> _Reply:
        error = None if data.get("ok") else str(data.get("error", "unknown_error"))
        return cls(status, json.dumps(data).encode(), headers=headers or {}, error=error)

    @classmethod
    def text(cls, text: str, status: int = 200, *, error: str | None = None) -> _Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8", error=error)


@dataclass
class _ResponseUrl:
    channel: str | None
    message_ts: str | None
    user: str | None
    uses: int = 0


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class _Envelope:
    """A Socket Mode envelope sent to the app, waiting for its ack."""

    envelope_id: str
    type: str
    accepts_response_payload: bool
    sent_at: float
    acked: bool = False
    #: For a view_submission: the view whose fate the ack's payload decides.
    view_id: str | None = None
    #: For a slash command: (channel, user) where the ack's payload is shown.
    command: tuple[str, str] | None = None


@dataclass
class _Trigger:
    """A trigger_id the fake issued for an interaction of ``user`` (inside the open view ``view_id``, if any)."""

    user: str
    issued_at: float
    view_id: str | None = None
    used: bool = False


@dataclass
class _Upload:
    """A file from ``files.getUploadURLExternal`` on: its bytes once POSTed to the upload URL, where it went once
    ``files.completeUploadExternal`` completed it."""

    id: str
    name: str
    #: The length announced to files.getUploadURLExternal; the upload must bring exactly this many bytes.
    length: int
    created: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    title: str | None = None
    content: bytes | None = None
    completed: bool = False
    initial_comment: str | None = None
    thread_ts: str | None = None
    #: (channel, ts of the message carrying the file), one per channel it was shared into, in order.
    shares: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _OpenView:
    """A modal open in ``user``'s Slack client (``view`` as Slack shows it to the app)."""

    user: str
    view: JSONDict


# RFC 6455 opcodes.
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: Larger client messages are refused (close 1009); Socket Mode acks are small.
_MAX_CLIENT_MESSAGE = 1 << 20


class _ProtocolError(Exception):
    """The client broke RFC 6455; the connection is closed with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _SocketConnection:
    """The server side of one WebSocket connection. Sending is thread-safe (one lock per connection); only the
    connection's own thread (the HTTP server's request thread) reads."""

    def __init__(self, ticket: str, sock: socket.socket, rfile: IO[bytes]) -> None:
        self.ticket = ticket
        self.sock = sock
        self.rfile = rfile
        self.thread = threading.current_thread()
        self._send_lock = threading.Lock()
        self._close_sent = False
        #: The status code of the close frame the fake sent (None until it sends one).
        self.close_code: int | None = None
        # A fragmented message being reassembled (control frames may come between its fragments).
        self._message_opcode: int | None = None
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def closing(self) -> bool:
        """True once a close frame was sent: nothing else may be sent, the app is expected to close its side."""
        return self._close_sent

    def send_text(self, text: str) -> None:
        self._send(_OP_TEXT, text.encode("utf-8"))

    def send_pong(self, payload: bytes) -> None:
        self._send(_OP_PONG, payload)

    def _send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            if self._close_sent:
                raise ConnectionError(f"socket {self.ticket} is closing")
            self.sock.sendall(_encode_frame(opcode, payload))

    def close(self, code: int, reason: str = "", *, shutdown: bool = True) -> None:
        """Send a close frame (once). With ``shutdown`` also end the TCP connection, so the connection's thread
        sees end of stream and exits; without, that thread reads on until the app closes its side."""
        with self._send_lock:
            if not self._close_sent:
                self._close_sent = True
                self.close_code = code
                with contextlib.suppress(OSError):
                    self.sock.sendall(_encode_frame(_OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8")))
        if shutdown:
            self.shutdown()

    def shutdown(self) -> None:
        """End the TCP connection (the reading thread sees end of stream)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def read_message(self) -> tuple[int, bytes]:
        """The next control frame or complete (reassembled) data message as ``(opcode, payload)``.

        Raises EOFError at end of stream, _ProtocolError when the client breaks RFC 6455.
        """
        while True:
            fin, opcode, payload = _read_frame(self.rfile)
            if opcode >= _OP_CLOSE:
                return opcode, payload  # a control frame; a fragmented message stays pending
            if opcode == _OP_CONTINUATION:
                if self._message_opcode is None:
                    raise _ProtocolError(1002, "continuation frame without a message to continue")
            elif self._message_opcode is not None:
                raise _ProtocolError(1002, "new data frame before the fragmented message was finished")
            else:
                self._message_opcode = opcode
            self._parts.append(payload)
            self._size += len(payload)
            if self._size > _MAX_CLIENT_MESSAGE:
                raise _ProtocolError(1009, "message too big")
            if fin:
                message = (self._message_opcode, b"".join(self._parts))
                self._message_opcode, self._parts, self._size = None, [], 0
                return message


def _encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame: servers must not mask (RFC 6455 5.1)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return header + payload


def _read_exactly(rfile: IO[bytes], count: int) -> bytes:
    data = rfile.read(count) if count else b""
    if len(data) < count:
        raise EOFError("the client closed the connection")
    return data


def _read_frame(rfile: IO[bytes]) -> tuple[bool, int, bytes]:
    """Read one client frame: ``(fin, opcode, unmasked payload)``."""
    first, second = _read_exactly(rfile, 2)
    fin, opcode = bool(first & 0x80), first & 0x0F
    if first & 0x70:
        raise _ProtocolError(1002, "reserved bits set without a negotiated extension")
    if opcode not in (_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG):
        raise _ProtocolError(1002, f"reserved opcode {opcode:#x}")
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _read_exactly(rfile, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _read_exactly(rfile, 8))
    if opcode >= _OP_CLOSE and (length > 125 or not fin):
        raise _ProtocolError(1002, "control frames must be final and at most 125 bytes")
    if not second & 0x80:
        raise _ProtocolError(1002, "client frames must be masked")
    if length > _MAX_CLIENT_MESSAGE:
        raise _ProtocolError(1009, "message too big")
    key = _read_exactly(rfile, 4)
    data = _read_exactly(rfile, length)
    if not data:
        return fin, opcode, data
    mask = (key * (length // 4 + 1))[:length]
    unmasked = int.from_bytes(data, "big") ^ int.from_bytes(mask, "big")
    return fin, opcode, unmasked.to_bytes(length, "big")


def _websocket_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + _WEBSOCKET_GUID).encode("ascii")).digest()).decode("ascii")


class _Handler(FakeHandler):
    server_version = "FakeSlack/1"

    def do_GET(self) -> None:
        if self.path.startswith(SOCKET_MODE_PATH):
            self.server.fake._serve_socket(self)
        else:
            super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake slack: " + format, *args)


# ---------------------------------------------------------------------------------------------------------
# The fake
# ---------------------------------------------------------------------------------------------------------


class FakeSlack(LoopbackFake):
    """A fake Slack Web API on ``127.0.0.1`` (see the module docstring)."""

    _name = "FakeSlack"
    _thread_name = "fake-slack"
    _handler = _Handler

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T0HEARD",
        bot_user_id: str = "U0HEARDBOT",
        *,
        bot_id: str = "B0HEARDBOT",
        app_id: str = "A0HEARD",
        team_domain: str = "heard-test",
        post_message_rate: float | None = None,
        burst: int = 3,
        app_token: str = "xapp-test",
        replace_ephemerals: bool = False,
        manifest: str | Path = DEFAULT_MANIFEST,
        scopes: Sequence[str] | None = None,
    ) -> None:
        """Configure the fake; nothing listens until ``start()``.

        ``post_message_rate`` (messages per second per channel, with bursts of ``burst``) turns on
        Slack-like rate limiting of ``chat.postMessage``: over the limit it answers 429, ``Retry-After: 1``.
        ``app_token`` is the app-level token that ``apps.connections.open`` (Socket Mode) requires; every
        other method requires ``bot_token``.

        ``replace_ephemerals``: a response_url from a click on an ephemeral message replaces (``replace_original``)
        or deletes (``delete_original``) that ephemeral, as Slack's do; the sandbox turns it on. Off, such a
        response_url answers 404 ``message_not_found`` (the fake's earlier behaviour, which some tests rely on: the
        app then falls back to chat.postEphemeral).

        The bot token is granted the bot scopes of ``manifest`` (slack/manifest.yml, the app Heard asks Slack for),
        or exactly ``scopes`` when given; a method none of whose scopes (``METHOD_SCOPES``) is granted answers
        ``missing_scope`` as Slack does, and is recorded as a problem.
        """
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.team_domain = team_domain
        self.post_message_rate = post_message_rate
        self.burst = burst
        self.replace_ephemerals = replace_ephemerals
        self.scopes: frozenset[str] = frozenset(scopes) if scopes is not None else manifest_bot_scopes(manifest)

        # One lock guards all state; the Condition on it wakes ``wait_for`` on every recorded call.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        # Called after every change (see ``subscribe``): the sandbox UI refreshes the page from them.
        self._subscribers: list[Callable[[], None]] = []
        self._stopping = threading.Event()
        self._server: LoopbackServer | None = None

        self._calls: list[Call] = []
        self._problems: list[str] = []
        self._channels: dict[str, dict[str, JSONDict]] = {}  # channel -> ts -> message (incl. replies)
        self._ephemerals: list[JSONDict] = []
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._injections: dict[str, deque[_Injection]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._custom: dict[str, MethodHandler] = {}
        self._last_ts_us = 0
        # Socket Mode: tickets handed out by apps.connections.open and not used yet, open connections (in
        # connection order), and the envelopes sent.
        self._port: int | None = None
        self._tickets: set[str] = set()
        self._sockets: list[_SocketConnection] = []
        self._envelopes: dict[str, _Envelope] = {}
        # Modals: the trigger ids issued, and the open views by id (in the order they were opened or pushed).
        self._triggers: dict[str, _Trigger] = {}
        self._views: dict[str, _OpenView] = {}
        # DM (and group DM) channels that exist, with their members; user groups and users.info overrides.
        self._ims: dict[str, tuple[str, ...]] = {}
        self._user_groups: dict[str, list[str]] = {}
        self._users: dict[str, JSONDict] = {}
        # Files by id, in the order their upload URLs were handed out, and which file each upload URL is for.
        self._uploads: dict[str, _Upload] = {}
        self._upload_urls: dict[str, str] = {}
        # Files deleted with files.delete (they answer file_deleted), and those the bot may not delete.
        self._deleted_files: list[str] = []
        self._protected_files: set[str] = set()
        # Each user's Home tab, as Slack shows it to the app (the last view published).
        self._homes: dict[str, JSONDict] = {}

        self._methods: dict[str, Callable[[JSONDict], JSONDict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.open": self._conversations_open,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
            "files.delete": self._files_delete,
            "files.upload": self._files_upload,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "usergroups.users.list": self._usergroups_users_list,
            "users.info": self._users_info,
        }

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> Self:
        super().start()
        assert self._server is not None
        self._port = self._server.port
        return self

    def _stopped_serving(self) -> None:
        """Requests still hanging (``hang_next``) were woken by ``stop()``; Socket Mode connections get a close frame
        (1001, going away) and are shut down."""
        with self._lock:
            sockets = list(self._sockets)
        for connection in sockets:
            connection.close(1001, "server stopping")
        for connection in sockets:
            connection.thread.join(timeout=5)

    @property
    def methods(self) -> frozenset[str]:
        """The Web API methods the fake answers (besides those added with ``on``)."""
        return frozenset(self._methods) | {"apps.connections.open"}

    @property
    def api_url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``. The trailing slash matters: urljoin drops ``api`` without it."""
        return self.url + "/api/"

    def reset(self) -> None:
        """Forget calls, problems, messages (DMs included), ephemerals, response_urls, injections, rate-limit
        state, triggers, open views, files and Home tabs. User groups and users (``set_user_group``, ``set_user``)
        stay."""
        with self._lock:
            self._calls.clear()
            self._problems.clear()
            self._channels.clear()
            self._ephemerals.clear()
            self._response_urls.clear()
            self._injections.clear()
            self._buckets.clear()
            self._envelopes.clear()
            self._triggers.clear()
            self._views.clear()
            self._ims.clear()
            self._uploads.clear()
            self._upload_urls.clear()
            self._deleted_files.clear()
            self._protected_files.clear()
            self._homes.clear()
            self._notify()

    # -- configuration -------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail without any effect.

        ``status`` defaults to 500, or to 200 when ``error`` is given (a plain Slack error such as
        ``channel_not_found``). 429 answers ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After``
        when ``retry_after`` is given; other non-200 statuses answer an HTML page, as a proxy in front of
        Slack would, unless ``error`` is given. ``method`` may be ``"response_url"``, ``"upload_url"``, or
        ``"socket_mode.connect"`` to refuse a WebSocket handshake (the ticket stays unused).
        """
        if status is None:
            status = 200 if error is not None else 500
        injection = _Injection("fail", times=times, status=status, retry_after=retry_after, error=error)
        with self._lock:
            self._injections.setdefault(method, deque()).append(injection)

    def hang_next(self, method: str, *, seconds: float, apply: bool) -> None:
        """Make the next call to ``method`` wait ``seconds`` before answering.

        The call is recorded as soon as it arrives, so ``wait_for`` sees it while it is still in flight.

        * ``apply=True``: the effect (message stored, updated ...) happens *before* the wait and the normal
          answer comes after it. A client with a shorter timeout, or one killed meanwhile, never learns the
          result (the exactly-once case); a patient client just sees a slow Slack.
        * ``apply=False``: nothing happens; after the wait the answer is a 504 page (recorded with status 504,
          error ``"timeout"``). The request was lost before Slack acted.
        """
        with self._lock:
            self._injections.setdefault(method, deque()).append(_Injection("hang", seconds=seconds, apply=apply))

    def on(self, method: str, handler: MethodHandler) -> None:
        """Answer ``method`` with ``handler(args) -> dict`` (adds methods the fake lacks, or overrides one)."""
        with self._lock:
            self._custom[method] = handler

    def new_response_url(
        self, *, channel: str | None = None, message_ts: str | None = None, user: str | None = None
    ) -> str:
        """A fresh response_url. With ``channel``/``message_ts``/``user`` it can post ephemerals or in-channel
        messages, and replace or delete that message, as Slack's do."""
        token = uuid.uuid4().hex
        with self._lock:
            self._response_urls[token] = _ResponseUrl(channel, message_ts, user)
        return f"{self.url}/response/{token}"

    def add_message(
        self,
        channel: str,
        *,
        text: str,
        user: str = "U0CUSTOMER",
        blocks: list[JSONDict] | None = None,
        metadata: JSONDict | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Put a message from someone else (a user) into a channel, as if posted in Slack. Returns its ts."""
        with self._lock:
            message: JSONDict = {"type": "message", "user": user, "text": text, "team": self.team_id}
            if blocks is not None:
                message["blocks"] = _with_ids(blocks)
            if metadata is not None:
                message["metadata"] = metadata
            stored = self._store(channel, message, thread_ts)
            self._notify()
            return stored["ts"]

    def set_user_group(self, group_id: str, users: Sequence[str]) -> None:
        """Make ``group_id`` (``S…``) a user group with ``users`` as members, for ``usergroups.users.list``;
        setting it again replaces the members. Groups never set answer ``no_such_subteam``."""
        if not _is_id(group_id, "S"):
            raise ValueError(f"user group ids look like S0123ABC, not {group_id!r}")
        with self._lock:
            self._user_groups[group_id] = list(users)

    def set_user(
        self,
        user: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str | None = None,
        locale: str | None = None,
        guest: str | None = None,
    ) -> None:
        """Say what ``users.info`` answers for ``user``: by default a name derived from the id (``U0ANA``: ``ana``,
        ``Ana``) in ``DEFAULT_USER_TZ``. ``tz`` is an IANA zone name (ZoneInfoNotFoundError if unknown); ``locale``
        is what Slack reports with ``include_locale`` (``pt-BR``; default ``DEFAULT_USER_LOCALE``). ``guest``:
        ``"multi-channel"`` (Slack's ``is_restricted``) or ``"single-channel"`` (``is_ultra_restricted``)."""
        if not _is_user_id(user):
            raise ValueError(f"user ids look like U0123ABC or W0123ABC, not {user!r}")
        if tz is not None:
            ZoneInfo(tz)
        if guest not in (None, *GUEST_KINDS):
            raise ValueError(f"guest is one of {', '.join(GUEST_KINDS)}, not {guest!r}")
        with self._lock:
            fields = {"name": name, "real_name": real_name, "tz": tz, "locale": locale, "guest": guest}
            self._users.setdefault(user, {}).update({k: v for k, v in fields.items() if v is not None})

    def new_trigger(self, user: str, *, view_id: str | None = None) -> str:
        """Issue a ``trigger_id`` for an interaction of ``user``, as Slack puts one into every interactive payload
        (the drivers' clicks and submissions call this). It opens (or pushes) one modal, within
        ``TRIGGER_LIFETIME`` seconds. ``view_id``: the interaction happened in that open modal, so ``views.push``
        stacks onto it."""
        trigger_id = f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger_id] = _Trigger(user, time.monotonic(), view_id)
        return trigger_id

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after every change anyone could see (a call recorded, a message added, a view closed,
        a command answered ...), e.g. to refresh a page that shows the fake's state. Returns a function that
        unsubscribes.

        The callback runs on the thread that made the change, with the fake's lock held: it must be quick and must
        not call back into the fake (set a flag, notify a condition of your own)."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # -- inspection ----------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every call so far, oldest first (a copy)."""
        with self._lock:
            return list(self._calls)

    @property
    def problems(self) -> list[str]:
        """Human-readable problems found (invalid blocks, missing fallback text, unknown methods ...)."""
        with self._lock:
            return list(self._problems)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` (matching ``where``) were recorded.

        Returns all matching calls. Raises AssertionError listing the calls seen on timeout.
        """

        def matching() -> list[Call]:
            return [c for c in self._calls if c.method == method and (where is None or where(c))]

        with self._changed:
            if self._changed.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                return matching()
            seen = "\n".join(f"  {c.summary()}" for c in self._calls) or "  (none)"
            condition = " matching the condition" if where is not None else ""
            raise AssertionError(
                f"expected {count} call(s) to {method}{condition} within {timeout}s, "
                f"got {len(matching())}; calls seen:\n{seen}"
            )

    def messages(self, channel: str) -> list[JSONDict]:
        """Top-level messages of ``channel``, oldest first (copies, metadata included)."""
        with self._lock:
            stored = self._channels.get(channel, {})
            return [copy.deepcopy(m) for m in _sorted_messages(stored.values()) if _is_top_level(m)]

    def replies(self, channel: str, thread_ts: str) -> list[JSONDict]:
        """Replies in a thread (without the parent), oldest first."""
        with self._lock:
            stored = self._channels.get(channel, {})
            return [
                copy.deepcopy(m)
                for m in _sorted_messages(stored.values())
                if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
            ]

    def message(self, channel: str, ts: str) -> JSONDict:
        """The message ``ts`` in ``channel`` (top-level or reply). Raises KeyError when absent."""
        with self._lock:
            found = self._channels.get(channel, {}).get(ts)
            if found is None:
                known = sorted(self._channels.get(channel, {}))
                raise KeyError(f"no message {ts} in {channel}; known: {known}")
            return copy.deepcopy(found)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[JSONDict]:
        """Ephemeral messages (``chat.postEphemeral`` and ephemeral response_url posts), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if (channel is None or e["channel"] == channel) and (user is None or e["user"] == user)
            ]

    def dm_channel(self, user: str) -> str:
        """The id of the bot's DM channel with ``user``: ``D`` and the id without its ``U`` (``U0ANA``: ``D0ANA``;
        ``W…`` ids keep their ``W``). Stable, whether or not the DM exists yet."""
        if not _is_user_id(user):
            raise ValueError(f"user ids look like U0123ABC or W0123ABC, not {user!r}")
        return _im_id(user)

    def dms(self, user: str) -> list[JSONDict]:
        """Top-level messages of the bot's DM with ``user``, oldest first (copies, metadata included), each with
        the DM's id under ``"channel"`` (which Slack's message objects lack), e.g. for ``SlackDriver.click``."""
        channel = self.dm_channel(user)
        return [{**message, "channel": channel} for message in self.messages(channel)]

    def dm_user(self, channel: str) -> str | None:
        """Whose DM with the bot ``channel`` is (None when it is not a DM channel id)."""
        if not re.fullmatch(r"D[A-Z0-9]+", channel):
            return None
        rest = channel[1:]
        return rest if rest.startswith("W") else "U" + rest

    # -- files -----------------------------------------------------------------------------------------------

    def files(self, *, include_incomplete: bool = False) -> list[JSONDict]:
        """The files uploaded and completed (``files.completeUploadExternal``), oldest first, as ``file`` shows
        them. ``include_incomplete`` adds those whose upload was never completed (Slack discards them), e.g. to
        catch an app that forgets the last step."""
        with self._lock:
            return [_file_record(u, self) for u in self._uploads.values() if u.completed or include_incomplete]

    def file(self, file_id: str) -> JSONDict:
        """The file ``file_id`` (completed or not) as the fake keeps it: ``id``, ``name``, ``title``, ``alt_txt``,
        ``snippet_type``, ``mimetype``, ``size``, ``content`` (the bytes received, None before the upload),
        ``completed``, ``channels`` it was shared into (in order; a user id given in ``channels`` becomes the DM's
        ``D…`` id), ``thread_ts``, ``initial_comment``, ``shares`` (``{"channel", "ts"}`` of the message carrying
        it in each channel) and ``permalink``. Raises KeyError when the fake never issued it."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                raise KeyError(f"no file {file_id}; known: {sorted(self._uploads)}")
            return _file_record(upload, self)

    def deleted_files(self) -> list[str]:
        """The ids of the files deleted with ``files.delete``, in the order they were deleted."""
        with self._lock:
            return list(self._deleted_files)

    def protect_file(self, file_id: str) -> None:
        """Make ``file_id`` one the bot may not delete (as a file someone else shared): ``cant_delete_file``."""
        with self._lock:
            self._protected_files.add(file_id)

    # -- App Home --------------------------------------------------------------------------------------------

    def home(self, user: str) -> JSONDict | None:
        """The Home tab ``user`` sees: the view last published for them with ``views.publish``, as Slack shows it
        to the app (``id``, ``hash``, ``blocks`` with their ids ...), or None when none was published."""
        with self._lock:
            view = self._homes.get(user)
            return copy.deepcopy(view) if view is not None else None

    # -- slash commands --------------------------------------------------------------------------------------

    def answer_command(self, channel: str, user: str, status: int, body: str, *, waited: float = 0.0) -> str:
        """Do what Slack does with the app's HTTP answer (``status``, ``body``, after ``waited`` seconds) to a slash
        command ``user`` typed in ``channel`` (``SlackDriver.command`` calls this). Returns the outcome:

        * ``"acked"``: an empty 200 (a plain ack) shows nothing; the app may answer later through the
          response_url;
        * ``"ephemeral"``: a JSON answer with ``text``/``blocks`` (or a plain-text body) is shown to ``user`` only,
          see ``ephemerals(channel, user)`` (``source: "command"``);
        * ``"in_channel"``: with ``response_type: "in_channel"`` it is posted in the channel for everyone;
        * ``"failed"``: Slack shows the person an error: a non-200 status, an answer later than
          ``COMMAND_DEADLINE``, or one Slack cannot show (the last two are recorded as problems, as are invalid
          blocks).
        """
        with self._changed:
            where = f"answer to the slash command of {user} in {channel}"
            if waited > COMMAND_DEADLINE:
                self._problems.append(f"{where} came after {waited:.1f}s; Slack gives up after {COMMAND_DEADLINE:g}s")
                return "failed"
            if status != 200:
                return "failed"
            answer: Any = None
            if body.strip():
                try:
                    answer = json.loads(body)
                except ValueError:
                    answer = body  # Slack shows a plain-text answer as it is
            outcome = self._apply_command_answer(channel, user, answer, where)
            self._notify()
            return outcome

    # -- modals --------------------------------------------------------------------------------------------

    def open_views(self, user: str | None = None) -> list[JSONDict]:
        """The modals open in ``user``'s Slack (everyone's when None), oldest first, each as Slack shows it to the
        app (``id``, ``hash``, ``root_view_id``, ``previous_view_id``, ``state``, ``blocks`` with their ids ...).
        A pushed view comes after the one it covers; ``views.update`` keeps a view's place."""
        with self._lock:
            return [copy.deepcopy(o.view) for o in self._views.values() if user is None or o.user == user]

    def view_user(self, view_id: str) -> str:
        """Whose Slack shows the open view ``view_id``. Raises KeyError when it is not open."""
        with self._lock:
            return self._open_view(view_id).user

    def close_view(self, view_id: str) -> None:
        """The person closes the open view ``view_id`` (its Cancel button): it goes, with any views pushed on top
        of it. Raises KeyError when it is not open."""
        with self._changed:
            self._open_view(view_id)
            self._close_view(view_id)
            self._notify()

    def answer_view_submission(self, view_id: str, status: int, body: str, *, waited: float = 0.0) -> str:
        """Do what Slack does with the app's HTTP answer (``status``, ``body``, after ``waited`` seconds) to the
        submission of the open view ``view_id`` (``SlackDriver.submit_view`` calls this). Returns the outcome:

        * ``"closed"``: an empty 200 (a plain ack) closes the view (a pushed view uncovers the one below);
        * ``"errors"``: ``response_action: errors`` keeps it open with the messages under the fields; errors for
          block ids that are not input blocks of the view are recorded as problems (Slack shows none of them) and
          answer ``"failed"``;
        * ``"updated"`` / ``"pushed"`` / ``"cleared"``: ``response_action`` ``update``/``push`` (with a valid
          ``view``) and ``clear`` (closes the whole stack);
        * ``"failed"``: Slack shows the person an error and the view stays open: a non-200 status, an answer later
          than ``VIEW_SUBMISSION_DEADLINE`` or one Slack cannot use (the last two are recorded as problems).

        Raises KeyError when the view is not open.
        """
        with self._changed:
            self._open_view(view_id)
            where = f"view_submission of {view_id}"
            if waited > VIEW_SUBMISSION_DEADLINE:
                self._problems.append(
                    f"{where} answered after {waited:.1f}s; Slack gives up after {VIEW_SUBMISSION_DEADLINE:g}s"
                )
                return "failed"
            if status != 200:
                return "failed"
            answer: Any = None
            if body.strip():
                try:
                    answer = json.loads(body)
                except ValueError:
                    answer = body
            outcome = self._apply_view_answer(view_id, answer, where)
            self._notify()
            return outcome

    # -- Socket Mode ---------------------------------------------------------------------------------------

    def socket_connected(self, timeout: float = 5.0) -> bool:
        """Wait until an app is connected over Socket Mode (the handshake done and ``hello`` sent, no close
        frame yet). Returns False if none connected within ``timeout`` seconds (``timeout=0`` just looks)."""
        with self._changed:
            return self._changed.wait_for(lambda: bool(self._open_sockets()), timeout=timeout)

    def wait_for_sockets(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until exactly ``count`` WebSocket connections are left, closing ones included (a connection
        ends when the app closes its side); ``0``: all gone. Returns False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._sockets) == count, timeout=timeout)

    @property
    def socket_count(self) -> int:
        """How many Socket Mode connections are open (connected and not closing)."""
        with self._lock:
            return len(self._open_sockets())

    def close_sockets(self, code: int = 1001, reason: str = "going away") -> None:
        """Close every Socket Mode connection from Slack's side, with a close frame (1001: going away). The
        fake keeps reading until the app closes its side (``wait_for_sockets(0)`` waits for that); an app with
        auto-reconnect asks ``apps.connections.open`` for a new URL."""
        with self._changed:
            sockets = self._open_sockets()
            for connection in sockets:
                connection.close(code, reason, shutdown=False)
            self._notify()

    def send_envelope(self, type_: str, payload: JSONDict, *, accepts_response_payload: bool = False) -> str:
        """Send an envelope (``"interactive"``, ``"events_api"``, ``"slash_commands"`` ...) to the connected app,
        as Slack does over Socket Mode. Returns its ``envelope_id``.

        Goes to the newest open connection. The app's ack is recorded as a ``"socket_mode.ack"`` call, e.g.
        ``fake.wait_for("socket_mode.ack", where=lambda c: c.args["envelope_id"] == envelope_id)``. Raises
        AssertionError when no app is connected (Slack would tell the user the app did not respond).

        For an ``interactive`` envelope carrying a ``view_submission`` (send it with
        ``accepts_response_payload=True``, as Slack does), the ack's ``payload`` decides the view's fate as in
        ``answer_view_submission``; a late ack leaves the view open. For a ``slash_commands`` envelope (also sent
        with ``accepts_response_payload=True``) the ack's ``payload`` is shown as in ``answer_command``.
        """
        envelope_id = str(uuid.uuid4())
        view_id = None
        if type_ == "interactive" and payload.get("type") == "view_submission":
            view_id = (payload.get("view") or {}).get("id")
        command = None
        if type_ == "slash_commands":
            command = (str(payload.get("channel_id")), str(payload.get("user_id")))
        message = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": copy.deepcopy(payload),
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        text = json.dumps(message)
        with self._lock:
            sockets = self._open_sockets()
            if not sockets:
                raise AssertionError(f"no app is connected over Socket Mode; cannot send a {type_} envelope")
            connection = sockets[-1]
            # Registered before sending: the ack may come back before send_text returns.
            self._envelopes[envelope_id] = _Envelope(
                envelope_id, type_, accepts_response_payload, time.monotonic(), view_id=view_id, command=command
            )
        try:
            connection.send_text(text)
        except OSError:
            with self._lock:
                self._envelopes.pop(envelope_id, None)
            raise
        return envelope_id

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the connected apps to reconnect, as Slack does before it rotates its servers: a
        ``{"type": "disconnect"}`` message on every open connection (the connections stay open)."""
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}})
        with self._lock:
            sockets = self._open_sockets()
        for connection in sockets:
            with contextlib.suppress(OSError):
                connection.send_text(message)

    # -- request handling ----------------------------------------------------------------------------------

    def _serve(self, handler: _Handler, verb: str) -> None:
        """Entry point for every HTTP request (runs on the server's per-request thread)."""
        parts = urlsplit(handler.path)
        headers = dict(handler.headers.items())
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""

        if parts.path.startswith("/api/"):
            method = parts.path[len("/api/") :]
            args = _parse_args(parts.query, raw, headers.get("Content-Type", ""))
            # The form token authenticates but stays out of the recorded args (the sandbox UI shows them).
            form_token = args.pop("token", None)
            reply = self._run(method, args, headers, lambda: self._api(method, args, headers, form_token))
        elif parts.path.startswith("/response/") and verb == "POST":
            token = parts.path[len("/response/") :]
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if isinstance(body, dict):
                body = _decode_json_args(body)
            args = dict(body) if isinstance(body, dict) else {"raw": raw.decode("utf-8", "replace")}
            args["url"] = f"http://127.0.0.1:{handler.server.server_address[1]}{parts.path}"
            reply = self._run("response_url", args, headers, lambda: self._response_url(token, body))
        elif parts.path.startswith(UPLOAD_PATH) and verb == "POST":
            token = parts.path[len(UPLOAD_PATH) :]
            # handler.headers, not the dict: urllib (which slack_sdk uploads with) sends "Content-type".
            content_type = handler.headers.get("Content-Type") or ""
            args = {
                "url": f"http://127.0.0.1:{handler.server.server_address[1]}{parts.path}",
                "size": len(raw),
                "content_type": content_type,
            }
            reply = self._run("upload_url", args, headers, lambda: self._upload(token, raw, content_type))
        else:
            reply = _Reply.text("not found", 404, error="not_found")
        self._send(handler, reply)

    def _run(self, method: str, args: JSONDict, headers: dict[str, str], process: Callable[[], _Reply]) -> _Reply:
        """Apply any queued injection around ``process`` and record the call."""
        with self._lock:
            queue = self._injections.get(method)
            injection = queue[0] if queue else None
            if injection is not None and queue is not None:
                injection.times -= 1
                if injection.times <= 0:
                    queue.popleft()

        if injection is not None and injection.kind == "fail":
            reply = _failure_reply(injection)
            self._record(method, args, headers, reply)
            return reply
        if injection is not None and not injection.apply:
            # Lost on the way: no effect, and the client waits, then gets a gateway timeout. Recorded on
            # arrival so a test can see the call is in flight (and e.g. kill the client then).
            reply = _gateway_timeout()
            self._record(method, args, headers, reply)
            self._stopping.wait(injection.seconds)
            return reply
        reply = self._process_and_record(method, args, headers, process)
        if injection is not None:
            # The effect is visible already; the client just doesn't hear about it in time.
            self._stopping.wait(injection.seconds)
        return reply

    def _process_and_record(
        self, method: str, args: JSONDict, headers: dict[str, str], process: Callable[[], _Reply]
    ) -> _Reply:
        # One lock hold for effect and record: whoever sees the call in ``calls`` also sees its effect.
        with self._lock:
            try:
                reply = process()
            except Exception as exc:  # a bug in the fake (or wildly malformed input) must not look like Slack
                logger.exception("fake slack failed handling %s", method)
                self._problems.append(f"{method}: the fake failed: {exc!r}")
                reply = _Reply.json({"ok": False, "error": "fake_internal_error", "detail": repr(exc)})
            self._record(method, args, headers, reply)
            return reply

    def _notify(self) -> None:
        """Wake ``wait_for`` and friends, and tell the subscribers (lock held)."""
        self._changed.notify_all()
        for callback in list(self._subscribers):
            try:
                callback()
            except Exception:  # a broken subscriber must not break Slack's side
                logger.exception("fake slack: a change subscriber failed")

    def _record(self, method: str, args: JSONDict, headers: dict[str, str], reply: _Reply) -> None:
        call = Call(method, args, headers, time.monotonic(), reply.status, reply.error)
        with self._changed:
            self._calls.append(call)
            self._notify()

    @staticmethod
    def _send(handler: _Handler, reply: _Reply) -> None:
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout in a hang test): exactly the situation being simulated

    def _api(self, method: str, args: JSONDict, headers: dict[str, str], form_token: Any) -> _Reply:
        """Answer one Web API call (called with the lock held)."""
        token = _bearer(headers) or form_token
        if not token:
            self._problems.append(f"{method}: no token sent")
            return _Reply.json({"ok": False, "error": "not_authed"})
        if method == "apps.connections.open":
            return _Reply.json(self._apps_connections_open(str(token)))
        if token == self.app_token:
            self._problems.append(f"{method}: called with the app-level token (Web API methods need the bot token)")
            return _Reply.json({"ok": False, "error": "not_allowed_token_type"})
        if token != self.bot_token:
            self._problems.append(f"{method}: wrong token")
            return _Reply.json({"ok": False, "error": "invalid_auth"})
        handler = self._custom.get(method) or self._methods.get(method)
        if handler is None:
            self._problems.append(f"{method}: unknown method (the fake does not implement it)")
            return _Reply.json({"ok": False, "error": "unknown_method"})
        needed = _needed_scopes(method, args)
        if needed and not self.scopes.intersection(needed):
            self._problems.append(
                f"{method}: missing_scope {','.join(needed)} (the manifest grants {','.join(sorted(self.scopes))})"
            )
            return _Reply.json(
                {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": ",".join(needed),
                    "provided": ",".join(sorted(self.scopes)),
                }
            )
        if method == "chat.postMessage" and self._rate_limited(_resolve_channel(str(args.get("channel", "")))):
            return _Reply.json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1"})
        return _Reply.json(handler(args))

    def _rate_limited(self, channel: str) -> bool:
        """Token bucket per channel: ``burst`` messages at once, refilled at ``post_message_rate`` per second."""
        if self.post_message_rate is None:
            return False
        now = time.monotonic()
        bucket = self._buckets.setdefault(channel, _Bucket(float(self.burst), now))
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.post_message_rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return True
        bucket.tokens -= 1.0
        return False

    # -- Web API methods (all called with the lock held) ---------------------------------------------------

    def _apps_connections_open(self, token: str) -> JSONDict:
        if token != self.app_token:
            if token == self.bot_token:
                self._problems.append(
                    "apps.connections.open: called with the bot token (it needs the app-level token, xapp-...)"
                )
            return {"ok": False, "error": "invalid_auth"}
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"ok": True, "url": f"ws://127.0.0.1:{self._port}{SOCKET_MODE_PATH}{ticket}"}

    def _auth_test(self, args: JSONDict) -> JSONDict:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Heard Test",
            "user": "heard",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: JSONDict) -> JSONDict:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if _is_user_id(channel):
            # A bot posting to a user id posts into its DM with them, and answers with the DM's channel id.
            if channel == self.bot_user_id:
                return {"ok": False, "error": "cannot_dm_bot"}
            channel = self._open_im((channel,))
        invalid = self._check_content("chat.postMessage", channel, args)
        if invalid is not None:
            return invalid
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None and thread_ts not in self._channels.get(channel, {}):
            return {"ok": False, "error": "thread_not_found"}
        message = self._bot_message(args)
        stored = self._store(channel, message, thread_ts)
        return {"ok": True, "channel": channel, "ts": stored["ts"], "message": copy.deepcopy(stored)}

    def _chat_update(self, args: JSONDict) -> JSONDict:
        channel, ts = args.get("channel"), args.get("ts")
        refusal = self._user_as_channel("chat.update", channel)
        if refusal is not None:
            return refusal
        stored = self._channels.get(str(channel), {}).get(str(ts))
        if stored is None:
            return {"ok": False, "error": "message_not_found"}
        invalid = self._check_content("chat.update", str(channel), args)
        if invalid is not None:
            return invalid
        self._apply_update(stored, args)
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": stored.get("text", ""),
            "message": copy.deepcopy(stored),
        }

    def _chat_delete(self, args: JSONDict) -> JSONDict:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        refusal = self._user_as_channel("chat.delete", channel)
        if refusal is not None:
            return refusal
        if self._channels.get(channel, {}).pop(ts, None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_post_ephemeral(self, args: JSONDict) -> JSONDict:
        channel, user = args.get("channel"), args.get("user")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not user:
            return {"ok": False, "error": "user_not_found"}
        invalid = self._check_content("chat.postEphemeral", channel, args)
        if invalid is not None:
            return invalid
        ephemeral = self._ephemeral(channel, user, args, source="chat.postEphemeral")
        return {"ok": True, "message_ts": ephemeral["ts"]}

    def _chat_get_permalink(self, args: JSONDict) -> JSONDict:
        channel, ts = str(args.get("channel")), str(args.get("message_ts"))
        refusal = self._user_as_channel("chat.getPermalink", channel)
        if refusal is not None:
            return refusal
        stored = self._channels.get(channel, {}).get(ts)
        if stored is None:
            return {"ok": False, "error": "message_not_found"}
        permalink = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if not _is_top_level(stored):
            permalink += f"?thread_ts={stored['thread_ts']}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _conversations_history(self, args: JSONDict) -> JSONDict:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        refusal = self._user_as_channel("conversations.history", channel)
        if refusal is not None:
            return refusal
        limit = max(1, min(int(args.get("limit") or 100), 999))
        offset = _decode_cursor(args.get("cursor"))
        with_metadata = _truthy(args.get("include_all_metadata"))
        in_window = _window(args)
        top = [m for m in _sorted_messages(self._channels.get(channel, {}).values()) if _is_top_level(m)]
        window = [m for m in reversed(top) if in_window(m)]  # newest first, as Slack answers
        page = window[offset : offset + limit]
        has_more = offset + limit < len(window)
        return {
            "ok": True,
            "messages": [_public_message(m, with_metadata) for m in page],
            "has_more": has_more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": _encode_cursor(offset + limit) if has_more else ""},
        }

    def _conversations_replies(self, args: JSONDict) -> JSONDict:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        refusal = self._user_as_channel("conversations.replies", channel)
        if refusal is not None:
            return refusal
        stored = self._channels.get(channel, {})
        found = stored.get(ts)
        if found is None:
            return {"ok": False, "error": "thread_not_found"}
        parent_ts = found.get("thread_ts") or ts
        with_metadata = _truthy(args.get("include_all_metadata"))
        in_window = _window(args)
        ordered = _sorted_messages(stored.values())
        # The parent comes first whatever oldest/latest say; the window applies to the replies. Later pages
        # (cursor) hold replies only.
        thread = [m for m in ordered if m["ts"] == parent_ts] + [
            m for m in ordered if m["ts"] != parent_ts and m.get("thread_ts") == parent_ts and in_window(m)
        ]
        limit = max(1, min(int(args.get("limit") or 1000), 1000))
        offset = _decode_cursor(args.get("cursor"))
        page = thread[offset : offset + limit]
        has_more = offset + limit < len(thread)
        return {
            "ok": True,
            "messages": [_public_message(m, with_metadata) for m in page],
            "has_more": has_more,
            "response_metadata": {"next_cursor": _encode_cursor(offset + limit) if has_more else ""},
        }

    def _conversations_open(self, args: JSONDict) -> JSONDict:
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        return_im = _truthy(args.get("return_im"))
        if not users:
            channel = str(args.get("channel") or "")
            if not channel:
                return {"ok": False, "error": "users_list_not_supplied"}
            if channel not in self._ims:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "no_op": True, "already_open": True, "channel": self._im_object(channel, return_im)}
        if not all(_is_user_id(user) for user in users):
            return {"ok": False, "error": "user_not_found"}
        members = tuple(dict.fromkeys(user for user in users if user != self.bot_user_id))
        if not members:
            return {"ok": False, "error": "cannot_dm_bot"}
        if len(members) > 8:
            return {"ok": False, "error": "too_many_users"}
        already = (_im_id(members[0]) if len(members) == 1 else _mpim_id(members)) in self._ims
        channel = self._open_im(members)
        answer: JSONDict = {"ok": True, "channel": self._im_object(channel, return_im)}
        if already:
            answer.update(no_op=True, already_open=True)
        return answer

    def _usergroups_users_list(self, args: JSONDict) -> JSONDict:
        group = str(args.get("usergroup") or "")
        if not group:
            return _invalid_arguments("missing required field: usergroup")
        members = self._user_groups.get(group)
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(members)}

    def _users_info(self, args: JSONDict) -> JSONDict:
        user = str(args.get("user") or "")
        if not _is_user_id(user):
            return {"ok": False, "error": "user_not_found"}
        found = self._user_object(user)
        if _truthy(args.get("include_locale")):
            found["locale"] = str(self._users.get(user, {}).get("locale") or DEFAULT_USER_LOCALE)
        return {"ok": True, "user": found}

    # -- files -----------------------------------------------------------------------------------------------

    def _files_get_upload_url_external(self, args: JSONDict) -> JSONDict:
        filename = args.get("filename")
        if not filename:
            return _invalid_arguments("missing required field: filename")
        if args.get("length") is None:
            return _invalid_arguments("missing required field: length")
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            return _invalid_arguments(f"length must be an integer, not {args['length']!r}")
        if length <= 0:
            # Slack's documented answer to a length of 0.
            self._problems.append(f"files.getUploadURLExternal: length {length} for {filename} (nothing to upload)")
            return {"ok": False, "error": "missing_argument"}
        alt_txt = args.get("alt_txt")
        if isinstance(alt_txt, str) and len(alt_txt) > MAX_ALT_TEXT:
            self._problems.append(
                f"files.getUploadURLExternal: alt_txt is {len(alt_txt)} characters, Slack allows {MAX_ALT_TEXT}"
            )
            return {"ok": False, "error": "alt_txt_too_large"}
        snippet_type = args.get("snippet_type")
        if snippet_type and length > MAX_SNIPPET_BYTES:
            return {"ok": False, "error": "snippet_too_large"}
        file_id = "F" + secrets.token_hex(5).upper()
        # Opaque like Slack's, so an app cannot build upload URLs itself.
        token = secrets.token_urlsafe(18)
        self._uploads[file_id] = _Upload(
            file_id,
            str(filename),
            length,
            int(time.time()),
            alt_txt=str(alt_txt) if alt_txt else None,
            snippet_type=str(snippet_type) if snippet_type else None,
        )
        self._upload_urls[token] = file_id
        return {"ok": True, "upload_url": f"http://127.0.0.1:{self._port}{UPLOAD_PATH}{token}", "file_id": file_id}

    def _files_complete_upload_external(self, args: JSONDict) -> JSONDict:
        """Share uploaded files. Nothing happens unless every file and channel is acceptable (all or nothing).

        Slack documents that this "can only be called once" per file: completing a file again answers
        ``file_not_found`` (the upload ticket is used up), as does completing one whose bytes never arrived.
        """
        method = "files.completeUploadExternal"
        entries = args.get("files")  # decoded from its JSON string by _parse_args
        if not isinstance(entries, list) or not entries:
            return _invalid_arguments("missing required field: files")
        uploads: list[tuple[_Upload, JSONDict]] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not entry.get("id"):
                return _invalid_arguments(f"each file needs an id [json-pointer:/files/{i}/id]")
            upload = self._uploads.get(str(entry["id"]))
            if upload is None:
                self._problems.append(f"{method}: file {entry['id']} was never issued by files.getUploadURLExternal")
                return {"ok": False, "error": "file_not_found"}
            if upload.completed:
                self._problems.append(f"{method}: file {upload.id} was completed already (Slack completes it once)")
                return {"ok": False, "error": "file_not_found"}
            if upload.content is None:
                self._problems.append(f"{method}: nothing was uploaded to the upload_url of file {upload.id}")
                return {"ok": False, "error": "file_not_found"}
            uploads.append((upload, entry))
        targets = self._share_targets(method, args)
        if isinstance(targets, dict):
            return targets
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread_ts is not None:
            if len(targets) != 1:
                self._problems.append(f"{method}: thread_ts with {len(targets)} channels (Slack wants exactly one)")
                return _invalid_arguments("thread_ts needs exactly one channel")
            if thread_ts not in self._channels.get(targets[0], {}):
                return {"ok": False, "error": "thread_not_found"}
        comment = args.get("initial_comment")
        blocks = args.get("blocks") if not comment else None  # Slack ignores blocks next to an initial_comment
        if blocks:
            errors = validate_blocks(blocks)
            if errors:
                self._problems.extend(f"{method}: {e}" for e in errors)
                return {"ok": False, "error": "invalid_blocks", "errors": errors}

        for upload, entry in uploads:
            upload.completed = True
            upload.title = str(entry.get("title") or upload.name)
            upload.initial_comment = str(comment) if comment else None
            upload.thread_ts = thread_ts
        posted: list[JSONDict] = []
        for channel in targets:
            message: JSONDict = {
                "type": "message",
                "text": _truncate(comment or ""),
                "files": [],  # filled in below, once the files know all their shares
                "upload": True,
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "display_as_bot": False,
                "team": self.team_id,
            }
            if blocks:
                message["blocks"] = _with_ids(blocks)
            stored = self._store(channel, message, thread_ts)
            posted.append(stored)
            for upload, _ in uploads:
                upload.shares.append((channel, stored["ts"]))
        for stored in posted:
            stored["files"] = [_file_object(upload, self, in_message=True) for upload, _ in uploads]
        return {"ok": True, "files": [_file_object(upload, self) for upload, _ in uploads]}

    def _share_targets(self, method: str, args: JSONDict) -> list[str] | JSONDict:
        """The channels a files.completeUploadExternal shares into, or the error answer.

        ``channel_id`` takes channel ids only: Slack refuses a user id there (invalid_arguments, with the pattern
        below), while ``channels`` takes user ids too and shares into the bot's DM with them.
        """
        targets: list[str] = []
        channel_id = args.get("channel_id")
        if channel_id:
            if not _is_id(channel_id, "CGDZ"):
                hint = ""
                if _is_user_id(channel_id):
                    hint = (
                        f"; {channel_id} is a user id: give the DM's id ({_im_id(channel_id)}, from "
                        "conversations.open) or put the user id in channels"
                    )
                self._problems.append(f"{method}: channel_id {channel_id!r} is not a channel id{hint}")
                # Slack's own message; its pattern wants 8+ characters, which the fake does not insist on.
                return _invalid_arguments(
                    "input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]"
                )
            targets.append(str(channel_id))
        channels = args.get("channels") or []
        names = channels if isinstance(channels, list) else str(channels).split(",")
        for name in (str(n).strip() for n in names):
            if not name:
                continue
            if name == self.bot_user_id:
                self._problems.append(f"{method}: channels names the bot itself ({name})")
                return {"ok": False, "error": "invalid_channel"}
            if _is_user_id(name):
                targets.append(self._open_im((name,)))
            elif _is_id(name, "CGDZ"):
                targets.append(name)
            else:
                self._problems.append(f"{method}: {name!r} in channels is neither a channel id nor a user id")
                return {"ok": False, "error": "invalid_channel"}
        targets = list(dict.fromkeys(targets))
        if len(targets) > MAX_SHARE_CHANNELS:
            return {"ok": False, "error": "channels_limit_exceeded"}
        return targets

    def _files_info(self, args: JSONDict) -> JSONDict:
        file_id = str(args.get("file") or "")
        if not file_id:
            return _invalid_arguments("missing required field: file")
        upload = self._uploads.get(file_id)
        # An upload never completed is discarded by Slack: not found, like an id it never issued.
        if upload is None or not upload.completed:
            return {"ok": False, "error": "file_not_found"}
        return {
            "ok": True,
            "file": _file_object(upload, self),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _files_delete(self, args: JSONDict) -> JSONDict:
        """Delete a file: gone from ``files`` and ``file``, and its shares with it: each message that shared it (its
        initial comment included) is removed, or only loses the file when it shared other files too."""
        file_id = str(args.get("file") or "")
        if not file_id:
            return _invalid_arguments("missing required field: file")
        if file_id in self._deleted_files:
            return {"ok": False, "error": "file_deleted"}
        upload = self._uploads.get(file_id)
        if upload is None or not upload.completed:
            return {"ok": False, "error": "file_not_found"}
        if file_id in self._protected_files:
            return {"ok": False, "error": "cant_delete_file"}
        for channel, ts in upload.shares:
            messages = self._channels.get(channel, {})
            message = messages.get(ts)
            if message is None:
                continue
            message["files"] = [shown for shown in message.get("files") or [] if shown.get("id") != file_id]
            if message["files"]:
                continue  # shared with other files, which stay
            del messages[ts]  # the share, its initial comment with it
            parent = messages.get(str(message.get("thread_ts"))) if message.get("thread_ts") != ts else None
            if parent is not None and parent.get("reply_count"):
                parent["reply_count"] -= 1
        del self._uploads[file_id]
        self._deleted_files.append(file_id)
        return {"ok": True}

    def _files_upload(self, args: JSONDict) -> JSONDict:
        # Retired by Slack: closed to new apps on May 8, 2024, and to every app on November 12, 2025.
        self._problems.append("files.upload: retired by Slack; use files_upload_v2 (files.getUploadURLExternal ...)")
        return {"ok": False, "error": "method_deprecated"}

    # -- views (modals) ------------------------------------------------------------------------------------

    def _views_open(self, args: JSONDict) -> JSONDict:
        trigger = self._trigger_for("views.open", args)
        if not isinstance(trigger, _Trigger):
            return trigger
        invalid = self._check_view("views.open", args.get("view"))
        if invalid is not None:
            return invalid
        raw: JSONDict = args["view"]
        duplicate = self._duplicate_external_id(raw)
        if duplicate is not None:
            return duplicate
        trigger.used = True
        view = self._new_view(raw)
        self._views[view["id"]] = _OpenView(trigger.user, view)
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_push(self, args: JSONDict) -> JSONDict:
        trigger = self._trigger_for("views.push", args)
        if not isinstance(trigger, _Trigger):
            return trigger
        invalid = self._check_view("views.push", args.get("view"))
        if invalid is not None:
            return invalid
        raw: JSONDict = args["view"]
        below = self._views.get(trigger.view_id) if trigger.view_id else None
        if below is None:  # a trigger from outside a modal: onto the modal the person has open, if any
            mine = [o for o in self._views.values() if o.user == trigger.user]
            below = mine[-1] if mine else None
        if below is None:
            self._problems.append(f"views.push: {trigger.user} has no modal open to push onto (views.open opens one)")
            return {"ok": False, "error": "not_found"}
        root = str(below.view["root_view_id"])
        stack = self._stack(root)
        if len(stack) >= MAX_VIEW_STACK:
            self._problems.append(f"views.push: modal {root} already stacks {len(stack)} views, Slack allows 3")
            return {"ok": False, "error": "push_limit_reached"}
        duplicate = self._duplicate_external_id(raw)
        if duplicate is not None:
            return duplicate
        trigger.used = True
        view = self._new_view(raw, root=root, previous=str(stack[-1]["id"]))
        self._views[view["id"]] = _OpenView(trigger.user, view)
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_update(self, args: JSONDict) -> JSONDict:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if not view_id and not external_id:
            return _invalid_arguments("either view_id or external_id is required")
        if view_id:
            target = self._views.get(str(view_id))
        else:
            target = next((o for o in self._views.values() if o.view["external_id"] == external_id), None)
        if target is None:
            return {"ok": False, "error": "not_found"}
        expected = args.get("hash")
        if expected and expected != target.view["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        invalid = self._check_view("views.update", args.get("view"))
        if invalid is not None:
            return invalid
        raw: JSONDict = args["view"]
        duplicate = self._duplicate_external_id(raw, besides=str(target.view["id"]))
        if duplicate is not None:
            return duplicate
        target.view = self._replaced_view(target.view, raw)
        return {"ok": True, "view": copy.deepcopy(target.view)}

    def _views_publish(self, args: JSONDict) -> JSONDict:
        user = args.get("user_id")
        if not user:
            return _invalid_arguments("missing required field: user_id")
        if not _is_user_id(user):
            self._problems.append(f"views.publish: user_id {user!r} is not a user id")
            return {"ok": False, "error": "user_not_found"}
        current = self._homes.get(str(user))
        expected = args.get("hash")
        if expected and (current is None or expected != current["hash"]):
            return {"ok": False, "error": "hash_conflict"}
        invalid = self._check_view("views.publish", args.get("view"), kind="home")
        if invalid is not None:
            return invalid
        raw: JSONDict = args["view"]
        size = len(json.dumps(raw))
        if size > MAX_VIEW_BYTES:
            self._problems.append(f"views.publish: the view is {size} bytes of JSON, Slack allows {MAX_VIEW_BYTES}")
            return {"ok": False, "error": "view_too_large"}
        duplicate = self._duplicate_external_id(raw, besides=current["id"] if current is not None else None)
        if duplicate is not None:
            return duplicate
        view = self._new_view(raw)
        if current is not None:
            # One Home tab per user: publishing again replaces its content, keeping its id.
            view["id"] = view["root_view_id"] = current["id"]
        self._homes[str(user)] = view
        return {"ok": True, "view": copy.deepcopy(view)}

    # -- response_url ----------------------------------------------------------------------------------------

    def _response_url(self, token: str, body: Any) -> _Reply:
        """Handle a POST to a response_url (called with the lock held). Answers plain text like Slack."""
        target = self._response_urls.get(token)
        if target is None:
            return _Reply.text("expired_url", 404, error="expired_url")
        target.uses += 1
        if target.uses > RESPONSE_URL_MAX_USES:
            self._problems.append(f"response_url used more than {RESPONSE_URL_MAX_USES} times")
            return _Reply.text("used_too_many_times", 404, error="used_too_many_times")
        if not isinstance(body, dict):
            return _Reply.text("invalid_payload", 400, error="invalid_payload")

        where = target.channel or "response_url"
        if target.message_ts is None and (
            _truthy(body.get("delete_original")) or _truthy(body.get("replace_original"))
        ):
            # A slash command's response_url has no message to change; Slack changes nothing (see bolt-js#2287).
            self._problems.append(
                "response_url: replace_original/delete_original on a response_url without a message (a slash "
                "command's): Slack changes nothing; answer again, or use the response_url of a click"
            )
        if _truthy(body.get("delete_original")):
            if target.channel is None or target.message_ts is None:
                return _Reply.text("message_not_found", 404, error="message_not_found")
            ephemeral = self._clicked_ephemeral(target)
            if ephemeral is not None:
                self._ephemerals.remove(ephemeral)
            elif self._channels.get(target.channel, {}).pop(target.message_ts, None) is None:
                return _Reply.text("message_not_found", 404, error="message_not_found")
            return _Reply.text("ok")

        invalid = self._check_content("response_url", where, body)
        if invalid is not None:
            return _Reply.text(str(invalid["error"]), 400, error=str(invalid["error"]))

        if _truthy(body.get("replace_original")):
            stored = self._clicked_ephemeral(target)
            if stored is None and target.channel is not None and target.message_ts is not None:
                stored = self._channels.get(target.channel, {}).get(target.message_ts)
            if stored is None:
                return _Reply.text("message_not_found", 404, error="message_not_found")
            self._apply_update(stored, body)
            return _Reply.text("ok")

        if body.get("response_type") == "in_channel":
            if target.channel is None:
                return _Reply.text("channel_not_found", 404, error="channel_not_found")
            thread_ts = body.get("thread_ts") or None
            self._store(target.channel, self._bot_message(body), thread_ts)
            return _Reply.text("ok")

        self._ephemeral(target.channel, target.user, body, source="response_url")
        return _Reply.text("ok")

    def _clicked_ephemeral(self, target: _ResponseUrl) -> JSONDict | None:
        """The ephemeral message a response_url came with, when the click was on one (lock held): Slack lets such a
        response_url replace or delete that ephemeral for the person who sees it (``replace_ephemerals``)."""
        if target.message_ts is None or not self.replace_ephemerals:
            return None
        return next(
            (
                e
                for e in self._ephemerals
                if e["ts"] == target.message_ts and e["channel"] == target.channel and e["user"] == target.user
            ),
            None,
        )

    # -- upload URLs -----------------------------------------------------------------------------------------

    def _upload(self, token: str, raw: bytes, content_type: str) -> _Reply:
        """Handle a POST of a file's bytes to its upload URL (called with the lock held). Answers plain text like
        Slack (``OK - <length>``); refusals are plain text too, with a 4xx status, so ``files_upload_v2`` raises."""
        file_id = self._upload_urls.get(token)
        if file_id is None:
            self._problems.append("upload_url: a POST to an upload URL files.getUploadURLExternal never handed out")
            return _Reply.text("invalid_upload_url", 404, error="invalid_upload_url")
        upload = self._uploads[file_id]
        if upload.content is not None:
            self._problems.append(f"upload_url: file {file_id} was uploaded already (each upload URL takes one)")
            return _Reply.text("already_uploaded", 400, error="already_uploaded")
        content: bytes | None = raw
        if content_type.lower().startswith("multipart/form-data"):
            # Slack takes the bytes raw (as slack_sdk sends them) or as the file part of a multipart form.
            content = _multipart_file(raw, content_type)
            if content is None:
                self._problems.append(f"upload_url: multipart upload of file {file_id} without a file part")
                return _Reply.text("no_file_data", 400, error="no_file_data")
        if len(content) != upload.length:
            self._problems.append(
                f"upload_url: {len(content)} bytes for file {file_id}, but files.getUploadURLExternal was told "
                f"length={upload.length}"
            )
            return _Reply.text("length_mismatch", 400, error="length_mismatch")
        upload.content = content
        return _Reply.text(f"OK - {len(content)}")

    # -- Socket Mode server ----------------------------------------------------------------------------------

    def _serve_socket(self, handler: _Handler) -> None:
        """A GET to a URL from apps.connections.open: the WebSocket handshake, then the whole life of the
        connection (on the HTTP server's thread for this connection, until either side closes)."""
        handler.close_connection = True
        ticket = urlsplit(handler.path).path[len(SOCKET_MODE_PATH) :]
        headers = dict(handler.headers.items())
        reply = self._run(
            "socket_mode.connect", {"ticket": ticket}, headers, lambda: self._accept_socket(ticket, handler)
        )
        if reply.status != 101:
            self._send(handler, reply)
            return
        connection = _SocketConnection(ticket, handler.connection, handler.rfile)
        try:
            response = [
                "HTTP/1.1 101 Switching Protocols",
                "Upgrade: websocket",
                "Connection: Upgrade",
                *(f"{name}: {value}" for name, value in reply.headers.items()),
                f"Server: {handler.version_string()}",
                f"Date: {handler.date_time_string()}",
            ]
            handler.wfile.write(("\r\n".join(response) + "\r\n\r\n").encode("ascii"))
            handler.log_request(101)
            with self._changed:
                if self._stopping.is_set():  # stop() has already closed the connections it knew about
                    connection.close(1001, "server stopping")
                    return
                # hello and registration in one lock hold: an envelope never overtakes the hello, and whoever
                # sees the connection (socket_connected, send_envelope) knows the hello was sent.
                connection.send_text(json.dumps(self._hello(len(self._open_sockets()) + 1)))
                self._sockets.append(connection)
                self._notify()
        except OSError:
            return  # the client left during the handshake
        try:
            ended, error = self._read_socket(connection)
        except Exception as exc:  # a bug in the fake must not look like Slack closing the connection
            logger.exception("fake slack failed serving socket %s", ticket)
            with self._lock:
                self._problems.append(f"socket_mode: the fake failed: {exc!r}")
            connection.close(1011, "internal error", shutdown=False)
            ended, error = {"by": "slack", "code": 1011}, "fake_internal_error"
        with self._changed:
            self._sockets.remove(connection)
            self._record("socket_mode.close", {"ticket": ticket, **ended}, {}, _Reply(200, b"", error=error))
        # Only now: whoever sees the connection end also sees it gone and recorded.
        connection.shutdown()

    def _accept_socket(self, ticket: str, handler: _Handler) -> _Reply:
        """Check the handshake request (lock held): a 101 reply carrying Sec-WebSocket-Accept, or the refusal."""
        if self._stopping.is_set():
            return _Reply.text("server stopping", 503, error="stopping")
        request = handler.headers
        wrong: list[str] = []
        if (request.get("Upgrade") or "").strip().lower() != "websocket":
            wrong.append("no 'Upgrade: websocket'")
        if "upgrade" not in [token.strip().lower() for token in (request.get("Connection") or "").split(",")]:
            wrong.append("no 'Connection: Upgrade'")
        if (request.get("Sec-WebSocket-Version") or "").strip() != "13":
            wrong.append("Sec-WebSocket-Version is not 13")
        key = (request.get("Sec-WebSocket-Key") or "").strip()
        try:
            key_ok = len(base64.b64decode(key, validate=True)) == 16
        except ValueError:
            key_ok = False
        if not key_ok:
            wrong.append("Sec-WebSocket-Key is not 16 bytes in base64")
        if wrong:
            self._problems.append(f"socket_mode.connect: bad WebSocket handshake: {'; '.join(wrong)}")
            reply = _Reply.text("bad websocket handshake", 400, error="bad_handshake")
            reply.headers["Sec-WebSocket-Version"] = "13"
            return reply
        if ticket not in self._tickets:
            self._problems.append(
                "socket_mode.connect: unknown or already used URL (each URL from apps.connections.open is good "
                "for one connection)"
            )
            return _Reply.text("invalid_ticket", 401, error="invalid_ticket")
        self._tickets.discard(ticket)
        return _Reply(101, b"", headers={"Sec-WebSocket-Accept": _websocket_accept(key)})

    def _open_sockets(self) -> list[_SocketConnection]:
        """Connections that take envelopes, oldest first (lock held)."""
        return [connection for connection in self._sockets if not connection.closing]

    def _hello(self, connections: int) -> JSONDict:
        return {
            "type": "hello",
            "num_connections": connections,
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    def _read_socket(self, connection: _SocketConnection) -> tuple[JSONDict, str | None]:
        """Read the app's frames until the connection ends: answer pings, echo a close, record acks.

        Returns how it ended, for the ``socket_mode.close`` call: ``{"by": "app" | "slack", "code": ...}`` (1006
        when the app dropped the connection without a close frame) and an error (``"protocol_error"``) or None.
        """
        while True:
            try:
                opcode, payload = connection.read_message()
            except (EOFError, OSError):
                if connection.closing:
                    return {"by": "slack", "code": connection.close_code}, None
                return {"by": "app", "code": 1006}, None
            except _ProtocolError as error:
                with self._lock:
                    self._problems.append(f"socket_mode: the app broke the WebSocket protocol: {error.reason}")
                connection.close(error.code, error.reason, shutdown=False)
                return {"by": "slack", "code": error.code}, "protocol_error"
            if opcode == _OP_PING:
                with contextlib.suppress(OSError):
                    connection.send_pong(payload)
            elif opcode == _OP_CLOSE:
                # Echo the status code (a no-op when we started the closing handshake); the TCP connection ends
                # once the close is recorded.
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                ended = {"by": "slack", "code": connection.close_code} if connection.closing else None
                connection.close(1000 if code == 1005 else code, shutdown=False)
                return ended or {"by": "app", "code": code}, None
            elif opcode == _OP_TEXT:
                try:
                    text = payload.decode("utf-8")
                except UnicodeDecodeError:
                    with self._lock:
                        self._problems.append("socket_mode: the app sent a text message that is not UTF-8")
                    connection.close(1007, "invalid UTF-8", shutdown=False)
                    return {"by": "slack", "code": 1007}, "protocol_error"
                self._socket_message(text)
            elif opcode == _OP_BINARY:
                with self._lock:
                    self._problems.append("socket_mode: the app sent a binary message (Slack expects JSON text)")

    def _socket_message(self, text: str) -> None:
        """A text message from the app: an envelope's ack, recorded as a ``socket_mode.ack`` call."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        with self._changed:
            if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
                shown = text if len(text) <= 200 else text[:197] + "..."
                self._problems.append(f"socket_mode: unexpected message from the app: {shown}")
                return
            envelope_id = message["envelope_id"]
            envelope = self._envelopes.get(envelope_id)
            error = None
            if envelope is None:
                self._problems.append(f"socket_mode.ack for an envelope that was never sent: {envelope_id}")
                error = "unknown_envelope"
            elif envelope.acked:
                self._problems.append(f"socket_mode.ack: envelope {envelope_id} acked twice")
                error = "already_acked"
            else:
                envelope.acked = True
                waited = time.monotonic() - envelope.sent_at
                late = waited > SOCKET_MODE_ACK_DEADLINE
                if late:
                    self._problems.append(
                        f"socket_mode.ack for {envelope.type} envelope {envelope_id} came after {waited:.1f}s; "
                        f"Slack gives up after {SOCKET_MODE_ACK_DEADLINE:g}s"
                    )
                if message.get("payload") is not None and not envelope.accepts_response_payload:
                    self._problems.append(
                        f"socket_mode.ack for {envelope.type} envelope {envelope_id} carries a payload, but the "
                        "envelope does not accept one (Slack ignores it)"
                    )
                if envelope.view_id is not None and not late:
                    if envelope.view_id in self._views:
                        where = f"view_submission of {envelope.view_id} (envelope {envelope_id})"
                        self._apply_view_answer(envelope.view_id, message.get("payload"), where)
                    else:
                        self._problems.append(
                            f"socket_mode.ack for a view_submission of {envelope.view_id}, which is not open"
                        )
                if envelope.command is not None and not late:
                    channel, user = envelope.command
                    where = f"ack of the slash command of {user} in {channel} (envelope {envelope_id})"
                    self._apply_command_answer(channel, user, message.get("payload"), where)
            self._record("socket_mode.ack", message, {}, _Reply(200, b"", error=error))

    # -- state helpers (lock held) ---------------------------------------------------------------------------

    def _check_content(self, method: str, channel: str, args: JSONDict) -> JSONDict | None:
        """Validate text/blocks of an outgoing message; an error answer, or None when acceptable."""
        blocks = args.get("blocks")
        text = args.get("text")
        has_blocks = blocks is not None and blocks != [] and blocks != ""
        if has_blocks:
            errors = validate_blocks(blocks)
            if errors:
                self._problems.extend(f"{method} to {channel}: {e}" for e in errors)
                return {
                    "ok": False,
                    "error": "invalid_blocks",
                    "errors": errors,
                    "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
                }
            if not text:
                self._problems.append(
                    f"{method} to {channel}: blocks without top-level text (missing fallback text; "
                    "notifications and screen readers use it)"
                )
        elif not text and not args.get("attachments") and method != "chat.update":
            return {"ok": False, "error": "no_text"}
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            self._problems.append(
                f"{method} to {channel}: text is {len(text)} characters; Slack truncates past {MAX_MESSAGE_TEXT}"
            )
        return None

    def _new_ts(self) -> str:
        # Real-clock based like Slack's, but strictly increasing so each message gets a unique ts.
        now_us = time.time_ns() // 1000
        self._last_ts_us = max(self._last_ts_us + 1, now_us)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _bot_message(self, args: JSONDict) -> JSONDict:
        message: JSONDict = {
            "type": "message",
            "subtype": "bot_message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": _truncate(args.get("text") or ""),
        }
        if args.get("blocks"):
            message["blocks"] = _with_ids(args["blocks"])
        if args.get("attachments"):
            message["attachments"] = copy.deepcopy(args["attachments"])
        if args.get("metadata"):
            message["metadata"] = copy.deepcopy(args["metadata"])
        return message

    def _store(self, channel: str, message: JSONDict, thread_ts: str | None) -> JSONDict:
        message["ts"] = self._new_ts()
        stored = self._channels.setdefault(channel, {})
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
            parent = stored.get(thread_ts)
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if message.get("user") not in users:
                    users.append(message.get("user"))
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = message["ts"]
        stored[message["ts"]] = message
        return message

    @staticmethod
    def _apply_update(stored: JSONDict, args: JSONDict) -> None:
        # Slack keeps blocks and metadata unless the update carries them; an empty blocks list removes them.
        if "text" in args and args["text"] is not None:
            stored["text"] = _truncate(args["text"])
        if args.get("blocks") is not None:
            if args["blocks"]:
                stored["blocks"] = _with_ids(args["blocks"])
            else:
                stored.pop("blocks", None)
        if args.get("metadata"):
            stored["metadata"] = copy.deepcopy(args["metadata"])
        stored["edited"] = {"user": stored.get("user"), "ts": str(time.time())}

    def _ephemeral(self, channel: str | None, user: str | None, args: JSONDict, *, source: str) -> JSONDict:
        ephemeral: JSONDict = {
            "type": "message",
            "subtype": "ephemeral",
            "channel": channel,
            "user": user,
            "ts": self._new_ts(),
            "text": _truncate(args.get("text") or ""),
            "source": source,
        }
        if args.get("blocks"):
            ephemeral["blocks"] = _with_ids(args["blocks"])
        if args.get("thread_ts"):
            ephemeral["thread_ts"] = args["thread_ts"]
        self._ephemerals.append(ephemeral)
        return ephemeral

    def _user_as_channel(self, method: str, channel: Any) -> JSONDict | None:
        """Only chat.postMessage takes a user id for their DM; elsewhere Slack does not find such a channel."""
        if not _is_user_id(channel):
            return None
        self._problems.append(
            f"{method}: channel {channel} is a user id; Slack wants the DM's channel id ({_im_id(channel)}), which "
            "chat.postMessage answers and conversations.open returns"
        )
        return {"ok": False, "error": "channel_not_found"}

    def _open_im(self, members: tuple[str, ...]) -> str:
        """The DM (one member) or group DM with ``members``, created when it does not exist yet."""
        channel = _im_id(members[0]) if len(members) == 1 else _mpim_id(members)
        self._ims.setdefault(channel, (members, int(time.time())))
        return channel

    def _im_object(self, channel: str, full: bool) -> JSONDict:
        """The channel as conversations.open answers it: only the id, unless ``return_im``."""
        if not full:
            return {"id": channel}
        members, created = self._ims[channel]
        shown: JSONDict = {"id": channel, "created": created, "is_org_shared": False, "is_open": True}
        if channel.startswith("D"):
            shown.update(is_im=True, user=members[0], last_read="0000000000.000000", unread_count=0, priority=0)
        else:
            shown.update(is_mpim=True, is_private=True, name=f"mpdm-{'--'.join(members).lower()}-1")
        return shown

    def _user_object(self, user: str) -> JSONDict:
        """What users.info says about ``user``: derived from the id, with ``set_user``'s overrides."""
        override = self._users.get(user, {})
        is_bot = user == self.bot_user_id
        slug = "heard" if is_bot else (user[1:].lstrip("0") or user[1:]).lower()
        name = str(override.get("name") or slug)
        real_name = str(override.get("real_name") or name.capitalize())
        tz = str(override.get("tz") or DEFAULT_USER_TZ)
        now = datetime.now(ZoneInfo(tz))
        offset = now.utcoffset()
        profile: JSONDict = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": name,
            "display_name_normalized": name,
            "team": self.team_id,
        }
        if is_bot:
            profile["bot_id"] = self.bot_id
        return {
            "id": user,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": tz,
            "tz_label": now.tzname(),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            # Slack marks a single-channel guest with both flags, a multi-channel guest with the first only.
            "is_restricted": override.get("guest") in GUEST_KINDS,
            "is_ultra_restricted": override.get("guest") == "single-channel",
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }

    def _trigger_for(self, method: str, args: JSONDict) -> _Trigger | JSONDict:
        """The trigger a views.open/views.push call exchanges, or the error answer. Not marked used: the caller
        does that once the view is accepted."""
        trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger_id:
            self._problems.append(f"{method}: no trigger_id")
            return _invalid_arguments("missing required field: trigger_id")
        trigger = self._triggers.get(str(trigger_id))
        if trigger is None:
            self._problems.append(f"{method}: trigger_id {trigger_id} was never issued (interactions bring them)")
            return {"ok": False, "error": "invalid_trigger_id"}
        if trigger.used:
            self._problems.append(f"{method}: trigger_id {trigger_id} was exchanged already (each opens one view)")
            return {"ok": False, "error": "exchanged_trigger_id"}
        age = time.monotonic() - trigger.issued_at
        if age > TRIGGER_LIFETIME:
            self._problems.append(
                f"{method}: trigger_id {trigger_id} used {age:.1f}s after the interaction; "
                f"Slack lets it open a view for {TRIGGER_LIFETIME:g}s"
            )
            return {"ok": False, "error": "expired_trigger_id"}
        return trigger

    def _check_view(self, method: str, raw: Any, *, kind: str = "modal") -> JSONDict | None:
        """Validate a view argument; the error answer (recorded as problems), or None when acceptable."""
        errors = ["missing required field: view"] if raw is None or raw == "" else validate_view(raw, kind=kind)
        if not errors:
            return None
        self._problems.extend(f"{method}: {e}" for e in errors)
        return {
            "ok": False,
            "error": "invalid_arguments",
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
        }

    def _duplicate_external_id(self, raw: JSONDict, besides: str | None = None) -> JSONDict | None:
        """external_ids are unique per team across modals and Home tabs alike."""
        external_id = raw.get("external_id")
        views = [o.view for o in self._views.values()] + list(self._homes.values())
        if external_id and any(view["external_id"] == external_id and view["id"] != besides for view in views):
            return {"ok": False, "error": "duplicate_external_id"}
        return None

    def _new_view(self, raw: JSONDict, *, root: str | None = None, previous: str | None = None) -> JSONDict:
        """A view as Slack keeps and shows it: the app's fields plus id, hash, state and the stack links."""
        view_id = _view_id()
        view: JSONDict = {
            "id": view_id,
            "team_id": self.team_id,
            "type": raw["type"],
            "blocks": _with_ids(raw.get("blocks") or []),
            "private_metadata": raw.get("private_metadata") or "",
            "callback_id": raw.get("callback_id") or "",
            "state": {"values": {}},
            "hash": _view_hash(),
            "title": copy.deepcopy(raw.get("title")),  # None for a Home tab
            "clear_on_close": bool(raw.get("clear_on_close") or False),
            "notify_on_close": bool(raw.get("notify_on_close") or False),
            "close": copy.deepcopy(raw.get("close")),
            "submit": copy.deepcopy(raw.get("submit")),
            "previous_view_id": previous,
            "root_view_id": root or view_id,
            "app_id": self.app_id,
            "external_id": raw.get("external_id") or "",
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if raw.get("submit_disabled") is not None:
            view["submit_disabled"] = bool(raw["submit_disabled"])
        return view

    def _replaced_view(self, old: JSONDict, raw: JSONDict) -> JSONDict:
        """``old`` with the content of ``raw`` (views.update, response_action update): same id and place in the
        stack, a new hash."""
        view = self._new_view(raw, root=old["root_view_id"], previous=old["previous_view_id"])
        view["id"] = old["id"]
        if not raw.get("external_id"):
            view["external_id"] = old["external_id"]
        return view

    def _stack(self, root: str) -> list[JSONDict]:
        """The views of one modal, the root first."""
        return [o.view for o in self._views.values() if o.view["root_view_id"] == root]

    def _open_view(self, view_id: str) -> _OpenView:
        found = self._views.get(view_id)
        if found is None:
            raise KeyError(f"view {view_id} is not open; open views: {sorted(self._views)}")
        return found

    def _close_view(self, view_id: str) -> None:
        """Close ``view_id`` and the views pushed on top of it."""
        stack = [view["id"] for view in self._stack(str(self._views[view_id].view["root_view_id"]))]
        for closing in stack[stack.index(view_id) :]:
            del self._views[closing]

    def _apply_view_answer(self, view_id: str, answer: Any, where: str) -> str:
        """What Slack does with the app's answer to a view_submission (see ``answer_view_submission``)."""
        current = self._views[view_id]
        if answer is None or answer == {}:
            self._close_view(view_id)
            return "closed"
        if not isinstance(answer, dict):
            shown = str(answer)[:200]
            self._problems.append(f"{where}: the answer is not a JSON object (Slack shows an error): {shown}")
            return "failed"
        action = answer.get("response_action")
        if action is None:
            self._problems.append(f"{where}: an answer without response_action (Slack ignores it): {sorted(answer)}")
            self._close_view(view_id)
            return "closed"
        if action == "errors":
            errors = answer.get("errors")
            inputs = sorted(str(b.get("block_id")) for b in current.view["blocks"] if b.get("type") == "input")
            if not isinstance(errors, dict) or not errors:
                self._problems.append(f"{where}: response_action errors without errors (Slack shows an error)")
                return "failed"
            unknown = sorted(str(k) for k in errors if k not in inputs)
            if unknown:
                self._problems.append(
                    f"{where}: errors for {unknown}, which are not input blocks of the view (those are {inputs}); "
                    "Slack shows the person a generic error instead"
                )
                return "failed"
            return "errors"
        if action == "clear":
            self._close_view(str(current.view["root_view_id"]))
            return "cleared"
        if action in ("update", "push"):
            raw = answer.get("view")
            problems = ["missing required field: view"] if raw is None else validate_view(raw)
            if problems:
                self._problems.extend(f"{where}: response_action {action}: {p}" for p in problems)
                return "failed"
            if isinstance(raw, str):
                raw = json.loads(raw)
            if action == "update":
                current.view = self._replaced_view(current.view, raw)
                return "updated"
            root = str(current.view["root_view_id"])
            stack = self._stack(root)
            if len(stack) >= MAX_VIEW_STACK:
                self._problems.append(f"{where}: response_action push onto {len(stack)} stacked views, Slack allows 3")
                return "failed"
            pushed = self._new_view(raw, root=root, previous=str(stack[-1]["id"]))
            self._views[pushed["id"]] = _OpenView(current.user, pushed)
            return "pushed"
        self._problems.append(f"{where}: unknown response_action {action!r} (Slack shows an error)")
        return "failed"

    def _apply_command_answer(self, channel: str, user: str, answer: Any, where: str) -> str:
        """What Slack shows of the app's immediate answer to a slash command (see ``answer_command``)."""
        if answer is None or answer == {} or answer == "":
            return "acked"
        if isinstance(answer, str):
            self._ephemeral(channel, user, {"text": answer}, source="command")
            return "ephemeral"
        if not isinstance(answer, dict):
            shown = json.dumps(answer)[:200]
            self._problems.append(f"{where}: the answer is not a JSON object (Slack shows an error): {shown}")
            return "failed"
        invalid = self._check_content("slash command answer", channel, answer)
        if invalid is not None:
            if invalid["error"] == "no_text":
                self._problems.append(f"{where}: an answer without text or blocks (Slack shows nothing): {answer}")
            return "failed"
        if answer.get("response_type") == "in_channel":
            self._store(channel, self._bot_message(answer), None)
            return "in_channel"
        self._ephemeral(channel, user, answer, source="command")
        return "ephemeral"


# ---------------------------------------------------------------------------------------------------------
# Module helpers
# ---------------------------------------------------------------------------------------------------------

_JSON_ARGS = ("blocks", "metadata", "attachments", "view", "files")


def _parse_args(query: str, raw: bytes, content_type: str) -> JSONDict:
    """Merge query parameters and the body (JSON or form) like Slack does; decode JSON-string arguments."""
    args: JSONDict = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if raw:
        if "json" in content_type:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if isinstance(body, dict):
                args.update(body)
        elif "form-urlencoded" in content_type:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            args.update({k: v[-1] for k, v in form.items()})
    return _decode_json_args(args)


def _decode_json_args(args: JSONDict) -> JSONDict:
    """Decode arguments that clients may send as JSON strings (form posts must)."""
    for key in _JSON_ARGS:
        if isinstance(args.get(key), str) and args[key]:
            # Undecodable JSON is left as a string: validate_blocks reports it.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


def _bearer(headers: dict[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer ") :].strip()
    return None


def _failure_reply(injection: _Injection) -> _Reply:
    headers = {"Retry-After": str(injection.retry_after)} if injection.retry_after is not None else {}
    if injection.error is not None:
        return _Reply.json({"ok": False, "error": injection.error}, injection.status, headers)
    if injection.status == 429:
        return _Reply.json({"ok": False, "error": "ratelimited"}, 429, headers)
    # What a load balancer in front of Slack sends: not JSON, so clients must not assume JSON on 5xx.
    page = f"<html><body><h1>{injection.status} Server Error</h1></body></html>"
    return _Reply(injection.status, page.encode(), "text/html; charset=utf-8", headers, f"http_{injection.status}")


def _gateway_timeout() -> _Reply:
    page = "<html><body><h1>504 Gateway Time-out</h1></body></html>"
    return _Reply(504, page.encode(), "text/html; charset=utf-8", error="timeout")


def _is_id(value: Any, prefixes: str) -> bool:
    """Whether ``value`` looks like a Slack id starting with one of ``prefixes`` (``U0ANA``, ``S0TEAM`` ...)."""
    return isinstance(value, str) and re.fullmatch(f"[{prefixes}][A-Z0-9]{{2,}}", value) is not None


def _is_user_id(value: Any) -> bool:
    return _is_id(value, "UW")


def _im_id(user: str) -> str:
    """The bot's DM channel with ``user``: ``D`` + the id without its ``U`` (``W…`` ids keep their ``W``)."""
    return "D" + (user[1:] if user.startswith("U") else user)


def _mpim_id(members: tuple[str, ...]) -> str:
    return "G" + hashlib.sha1(",".join(sorted(members)).encode()).hexdigest()[:10].upper()


def _needed_scopes(method: str, args: JSONDict) -> tuple[str, ...]:
    """The scopes (any one will do) a call needs: ``METHOD_SCOPES``, narrowed to the conversation's kind where Slack
    asks by kind (the fake's channels are public ``C…``, its DMs ``D…`` and its group DMs ``G…``)."""
    scopes = METHOD_SCOPES.get(method, ())
    if method in ("conversations.history", "conversations.replies"):
        channel = str(args.get("channel") or "")
        kind = "im" if channel.startswith("D") else "mpim" if channel.startswith("G") else "channels"
        return (f"{kind}:history",)
    if method == "conversations.open":
        users = [user for user in str(args.get("users") or "").split(",") if user.strip()]
        channel = str(args.get("channel") or "")
        return ("mpim:write",) if len(users) > 1 or channel.startswith("G") else ("im:write",)
    return scopes


def _resolve_channel(channel: str) -> str:
    """Where a chat.postMessage to ``channel`` lands: a user id means the DM with them."""
    return _im_id(channel) if _is_user_id(channel) else channel


def _view_id() -> str:
    return "V" + secrets.token_hex(5).upper()


def _multipart_file(raw: bytes, content_type: str) -> bytes | None:
    """The bytes of the first file part of a ``multipart/form-data`` body (None when it has none)."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_filename() is not None:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def _mimetype(upload: _Upload) -> str:
    if upload.snippet_type:
        return "text/plain"  # what Slack reports for snippets, whatever their syntax
    return mimetypes.guess_type(upload.name)[0] or "application/octet-stream"


def _file_object(upload: _Upload, fake: FakeSlack, *, in_message: bool = False) -> JSONDict:
    """A completed file as Slack's API shows it (files.info, files.completeUploadExternal). In a message's
    ``files`` Slack leaves out where else the file is shared."""
    name = upload.name
    extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
    filetype = upload.snippet_type or extension or "binary"
    file_path = f"{fake.team_id}-{upload.id}/{name}"
    shown: JSONDict = {
        "id": upload.id,
        "created": upload.created,
        "timestamp": upload.created,
        "name": name,
        "title": upload.title or name,
        "mimetype": _mimetype(upload),
        "filetype": filetype,
        "pretty_type": filetype.upper(),
        "user": fake.bot_user_id,
        "user_team": fake.team_id,
        "editable": bool(upload.snippet_type),
        "size": len(upload.content or b""),
        "mode": "snippet" if upload.snippet_type else "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": any(channel.startswith("C") for channel, _ in upload.shares),
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": f"https://files.slack.com/files-pri/{file_path}",
        "url_private_download": f"https://files.slack.com/files-pri/{fake.team_id}-{upload.id}/download/{name}",
        "permalink": _file_permalink(upload, fake.bot_user_id),
        "permalink_public": f"https://slack-files.com/{fake.team_id}-{upload.id}-{upload.id[1:].lower()}",
        "comments_count": 0,
        "has_rich_preview": False,
        "file_access": "visible",
    }
    if upload.alt_txt:
        shown["alt_txt"] = upload.alt_txt
    if in_message:
        return shown
    channels = [channel for channel, _ in upload.shares]
    shown["channels"] = [c for c in channels if c.startswith("C")]
    shown["groups"] = [c for c in channels if c.startswith("G")]
    shown["ims"] = [c for c in channels if c.startswith("D")]
    shares: JSONDict = {}
    for channel, ts in upload.shares:
        share: JSONDict = {
            "ts": ts,
            "channel_name": channel.lower(),
            "team_id": fake.team_id,
            "share_user_id": fake.bot_user_id,
        }
        if upload.thread_ts:
            share["thread_ts"] = upload.thread_ts
        shares.setdefault("public" if channel.startswith("C") else "private", {})[channel] = [share]
    shown["shares"] = shares
    return shown


def _file_permalink(upload: _Upload, user: str) -> str:
    return f"https://fake.slack.com/files/{user}/{upload.id}/{upload.name}"


def _file_record(upload: _Upload, fake: FakeSlack) -> JSONDict:
    """A file as ``FakeSlack.file`` shows it to tests: what the app sent and where it went."""
    return {
        "id": upload.id,
        "name": upload.name,
        "title": upload.title,
        "alt_txt": upload.alt_txt,
        "snippet_type": upload.snippet_type,
        "mimetype": _mimetype(upload),
        "size": len(upload.content) if upload.content is not None else upload.length,
        "content": upload.content,
        "completed": upload.completed,
        "channels": [channel for channel, _ in upload.shares],
        "thread_ts": upload.thread_ts,
        "initial_comment": upload.initial_comment,
        "shares": [{"channel": channel, "ts": ts} for channel, ts in upload.shares],
        "permalink": _file_permalink(upload, fake.bot_user_id),
    }


def _view_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def _invalid_arguments(message: str) -> JSONDict:
    return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [f"[ERROR] {message}"]}}


def _window(args: JSONDict) -> Callable[[JSONDict], bool]:
    """Whether a message falls between ``oldest`` and ``latest`` (exclusive unless ``inclusive``)."""
    inclusive = _truthy(args.get("inclusive"))
    oldest = _ts_key(str(args.get("oldest") or "0"))
    latest = _ts_key(str(args.get("latest"))) if args.get("latest") else None

    def in_window(message: JSONDict) -> bool:
        key = _ts_key(message["ts"])
        above = key >= oldest if inclusive else key > oldest
        below = latest is None or (key <= latest if inclusive else key < latest)
        return above and below

    return in_window


def _truthy(value: Any) -> bool:
    return value is True or value == 1 or (isinstance(value, str) and value.lower() in {"1", "true", "yes"})


def _truncate(text: Any) -> str:
    text = str(text)
    return text[:MAX_MESSAGE_TEXT]


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds or 0), int((micros or "0").ljust(6, "0")[:6])


def _sorted_messages(messages: Any) -> list[JSONDict]:
    return sorted(messages, key=lambda m: _ts_key(m["ts"]))


def _is_top_level(message: JSONDict) -> bool:
    return message.get("thread_ts") in (None, message["ts"])


def _public_message(message: JSONDict, with_metadata: bool) -> JSONDict:
    """A message as conversations.history/replies show it: metadata only when asked for."""
    shown = copy.deepcopy(message)
    if not with_metadata:
        shown.pop("metadata", None)
    return shown


def _with_ids(blocks: Any) -> Any:
    """Copy of ``blocks`` with the block_id/action_id Slack assigns when a message omits them."""
    if not isinstance(blocks, list):
        return copy.deepcopy(blocks)
    result = copy.deepcopy(blocks)
    for block in result:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", _random_id())
        for element in _interactive_elements(block):
            element.setdefault("action_id", _random_id())
    return result


def _interactive_elements(block: JSONDict) -> Iterator[JSONDict]:
    if block.get("type") == "actions":
        yield from (e for e in block.get("elements") or [] if isinstance(e, dict))
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        yield block["element"]
    accessory = block.get("accessory")
    if isinstance(accessory, dict) and accessory.get("type") not in (None, "image"):
        yield accessory


def _random_id() -> str:
    return secrets.token_urlsafe(4)[:5]


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(str(cursor)).decode().removeprefix("offset:"))
    except ValueError:
        return 0
