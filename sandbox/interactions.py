"""Interactive payloads for what a person does on the sandbox page, shaped as Slack shapes them.

`slack_driver.block_actions_payload` clicks a button (or chooses a menu option) found by its visible text on a channel
message, which is what tests need. The page can do more: click any element (buttons, overflow menus, selects,
pickers, checkboxes) on a message, an ephemeral message, the Home tab or an open modal. These builders give those
clicks the same shape (the driver's fields, plus what Slack adds for the other surfaces), and turn the page's form
values into the label -> value mapping `slack_driver.view_submission_payload` fills modals with.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import VERIFICATION_TOKEN

SurfaceKind = Literal["message", "ephemeral", "home", "modal"]

# The key under which each element type reports the person's choice in a block_actions action (buttons have none).
_CHOICE_KEYS: dict[str, str | None] = {
    "button": None,
    "overflow": "selected_option",
    "static_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}
_OPTION_TYPES = frozenset(
    {"overflow", "static_select", "radio_buttons", "multi_static_select", "checkboxes", "external_select"}
)
_MULTI_TYPES = frozenset({"multi_static_select", "checkboxes", "multi_users_select", "multi_external_select"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class Refused(Exception):
    """Something Slack's own client would not let a person do (the page is told why)."""


@dataclass(frozen=True)
class Surface:
    """Where the clicked element is: a message (``channel`` + ``ts``), an ephemeral message the person sees there,
    their Home tab, or a modal open for them (``view_id``)."""

    kind: SurfaceKind
    channel: str | None = None
    ts: str | None = None
    view_id: str | None = None


def elements(block: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The interactive elements of a block: an actions block's, a section's accessory, an input's element."""
    if block.get("type") == "actions":
        yield from (element for element in block.get("elements") or [] if isinstance(element, dict))
    for key in ("accessory", "element"):
        element = block.get(key)
        if isinstance(element, dict) and element.get("type") != "image":
            yield element


def find_element(blocks: list[dict[str, Any]], block_id: str, action_id: str) -> dict[str, Any] | None:
    for block in blocks:
        if block.get("block_id") == block_id:
            for element in elements(block):
                if element.get("action_id") == action_id:
                    return element
    return None


def options_of(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found.extend(group.get("options") or [])
    return found


def _option(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    for option in options_of(element):
        if option.get("value") == value:
            return dict(option)
    raise Refused(f"there is no option {value!r} in this menu")


def choice_value(element: Mapping[str, Any], chosen: Any) -> Any:
    """What Slack reports for the person's choice ``chosen`` (option values, user ids, YYYY-MM-DD, HH:MM) in
    ``element``: option objects for menus, the ids, date or time as they are."""
    kind = str(element.get("type"))
    if chosen is None:
        return [] if kind in _MULTI_TYPES else None
    if kind in _OPTION_TYPES:
        if kind in _MULTI_TYPES:
            return [_option(element, value) for value in _as_list(chosen)]
        return _option(element, chosen)
    if kind in _MULTI_TYPES:
        return [str(value) for value in _as_list(chosen)]
    text = str(chosen)
    if kind == "datepicker" and not _DATE.fullmatch(text):
        raise Refused(f"a date looks like 2026-11-25, not {text!r}")
    if kind == "timepicker" and not _TIME.fullmatch(text):
        raise Refused(f"a time looks like 14:30, not {text!r}")
    return text


def _as_list(chosen: Any) -> list[Any]:
    if not isinstance(chosen, list):
        raise Refused("this menu takes a list of choices")
    return chosen


def action_object(element: Mapping[str, Any], block_id: str, chosen: Any = None) -> dict[str, Any]:
    """The ``actions[0]`` of a block_actions payload for ``element`` (a button as the driver sends it)."""
    kind = str(element.get("type"))
    if kind not in _CHOICE_KEYS:
        raise Refused(f"the sandbox cannot use a {kind} element")
    action: dict[str, Any] = {"action_id": element.get("action_id"), "block_id": block_id}
    if kind == "button":
        action["text"] = {"type": "plain_text", "text": (element.get("text") or {}).get("text", ""), "emoji": True}
        if element.get("value") is not None:
            action["value"] = element["value"]
    key = _CHOICE_KEYS[kind]
    if key is not None:
        action[key] = choice_value(element, chosen)
        if element.get("placeholder") is not None:
            action["placeholder"] = element["placeholder"]
    action["type"] = kind
    action["action_ts"] = f"{time.time():.6f}"
    if kind == "button" and "style" in element:
        action["style"] = element["style"]
    return action


def _person(fake: FakeSlack, user: str, user_name: str) -> dict[str, Any]:
    return {"id": user, "username": user_name, "name": user_name, "team_id": fake.team_id}


def block_actions(
    fake: FakeSlack,
    *,
    user: str,
    user_name: str,
    surface: Surface,
    action: dict[str, Any],
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    channel_name: str | None = None,
) -> dict[str, Any]:
    """The ``block_actions`` payload for ``action`` (see ``action_object``) on ``surface``.

    Messages carry a fresh response_url (for an ephemeral message, one that can replace it) and, unless ephemeral,
    the ``message``; views carry the ``view`` (a modal's with its current ``state``). Every click carries a
    trigger_id issued for ``user`` (inside the modal, for ``views.push``)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _person(fake, user, user_name),
        "api_app_id": fake.app_id,
        "token": VERIFICATION_TOKEN,
    }
    if surface.kind in ("message", "ephemeral"):
        if surface.channel is None or surface.ts is None:
            raise ValueError("a message surface needs its channel and ts")
        dm_user = fake.dm_user(surface.channel)
        if dm_user is not None and dm_user != user:
            raise Refused(f"{surface.channel} is someone else's conversation with Heard")
        payload["container"] = {
            "type": "message",
            "message_ts": surface.ts,
            "channel_id": surface.channel,
            "is_ephemeral": surface.kind == "ephemeral",
        }
        payload["trigger_id"] = fake.new_trigger(user)
        payload["team"] = {"id": fake.team_id, "domain": fake.team_domain}
        payload["enterprise"] = None
        payload["is_enterprise_install"] = False
        name = channel_name or ("directmessage" if dm_user is not None else surface.channel.lower())
        payload["channel"] = {"id": surface.channel, "name": name}
        if surface.kind == "message" and message is not None:
            # As the driver sends it: Slack's message object has no "channel".
            payload["message"] = {key: value for key, value in message.items() if key != "channel"}
        payload["state"] = {"values": {}}
        if action.get("type") == "static_select":
            # A select keeps its choice, and Slack reports it with every interaction on the message.
            choice = {"type": "static_select", "selected_option": action.get("selected_option")}
            payload["state"]["values"] = {action.get("block_id"): {action.get("action_id"): choice}}
        payload["response_url"] = fake.new_response_url(channel=surface.channel, message_ts=surface.ts, user=user)
    else:
        if view is None:
            raise ValueError("a view surface needs its view")
        payload["container"] = {"type": "view", "view_id": view["id"]}
        modal = surface.kind == "modal"
        payload["trigger_id"] = fake.new_trigger(user, view_id=view["id"] if modal else None)
        payload["team"] = {"id": fake.team_id, "domain": fake.team_domain}
        payload["enterprise"] = None
        payload["is_enterprise_install"] = False
        payload["view"] = view
        if modal:
            payload["state"] = view.get("state") or {"values": {}}
    payload["actions"] = [action]
    return payload


def view_closed(fake: FakeSlack, *, user: str, user_name: str, view: dict[str, Any]) -> dict[str, Any]:
    """What Slack sends when a person closes a modal that asked to be told (``notify_on_close``)."""
    return {
        "type": "view_closed",
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "user": _person(fake, user, user_name),
        "api_app_id": fake.app_id,
        "token": VERIFICATION_TOKEN,
        "view": view,
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def labelled_values(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The page's form values (by input block id) as ``view_submission_payload`` takes them (by visible label):
    text as typed, menus as option objects, users, dates and times as they are."""
    labelled: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        block_id = block.get("block_id")
        if block.get("type") != "input" or block_id not in values:
            continue
        element = block.get("element") or {}
        kind = str(element.get("type"))
        raw = values[block_id]
        if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
            value: Any = None if raw is None else str(raw)
        else:
            value = choice_value(element, raw)
        labelled[str((block.get("label") or {}).get("text"))] = value
    return labelled
