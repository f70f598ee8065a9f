"""Plays Slack's side towards Heard: interactive payloads, as Slack sends them.

Clicks are built from a message stored in the ``FakeSlack`` (so a test can only click what a person would
see: a button, or an option of a menu, by its visible text) and carry a real ``response_url`` served by the same
fake (``block_actions_payload``). They travel

* over HTTP with ``SlackDriver``: a ``POST /slack/events`` signed with the app's signing secret (``v0=``
  HMAC-SHA256 of ``v0:{timestamp}:{body}``) through ``slack_sdk.signature.SignatureVerifier``. HTTP goes
  through urllib so the request is byte-for-byte what the test built; 4xx/5xx answers are returned, not
  raised, because refusing a request is often the behaviour under test;
* over Socket Mode with ``SocketModeDriver``: an ``interactive`` envelope on the fake's WebSocket, to the app
  connected through ``apps.connections.open``; the app's ack is recorded by the fake as a ``socket_mode.ack``
  call.

Each click carries a ``trigger_id`` issued by the fake for the clicking user, so the app can open a modal with
it (``views.open``) as it would in Slack: once, within 3 seconds. Modal submissions (``submit_view``) are
built from a view open in the fake (``fake.open_views(user)``), with the inputs filled in by their visible
labels (``view_submission_payload``); the app's answer then closes the view in the fake, keeps it open with
field errors, or updates it, as Slack would::

    slack.click("Escalate", on=card, channel=CHANNEL, user=ANA)
    fake.wait_for("views.open")  # the app opens it after acking the click
    (view,) = fake.open_views(ANA)
    answer = slack.submit_view(view, ANA, {"Department": "Legal", "Reason": "Threatens to sue"})
    assert answer.field_errors() == {} and fake.open_views(ANA) == []

Slash commands (``command``) are posted form-encoded and signed, exactly as Slack posts them, with a fresh
response_url and a trigger_id from the fake; the app's immediate answer is handed to the fake, which shows it as
Slack would (an ephemeral, or a channel message with ``response_type: in_channel``)::

    answer = slack.command("/complaints", "open", user=ANA, channel=CHANNEL)
    assert answer.status == 200 and fake.ephemerals(CHANNEL, ANA)[-1]["text"] == "3 open complaints"

Events (``send_event``, ``open_home`` for ``app_home_opened``) go as signed ``event_callback`` JSON, as the Events
API sends them, or as ``events_api`` envelopes over Socket Mode.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from sandbox.fake_slack import Call, FakeSlack

__all__ = [
    "DriverResponse",
    "SlackDriver",
    "SocketModeDriver",
    "app_home_opened_event",
    "block_actions_payload",
    "event_callback_payload",
    "slash_command_payload",
    "view_submission_payload",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
#: The legacy verification token in every payload; Bolt ignores it (requests are checked by their signature).
VERIFICATION_TOKEN = "fake-verification-token"


@dataclass(frozen=True)
class DriverResponse:
    """What Heard answered."""

    status: int
    #: The raw response body (Bolt's ack answers an empty body).
    body: str
    elapsed_ms: float
    headers: dict[str, str] = field(default_factory=dict)
    #: The payload that was sent (the interactive payload of ``click`` and ``submit_view``, the form fields of
    #: ``command``, the ``event_callback`` of ``send_event``), e.g. to read its ``response_url``.
    payload: dict[str, Any] | None = None
    #: What Slack made of the answer, as the fake applied it: for ``submit_view`` the outcome of
    #: ``FakeSlack.answer_view_submission`` (``"closed"``, ``"errors"`` ...), for ``command`` that of
    #: ``FakeSlack.answer_command`` (``"acked"``, ``"ephemeral"``, ``"in_channel"``, ``"failed"``); None otherwise.
    outcome: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError if it is not JSON)."""
        return json.loads(self.body)

    def answer(self) -> dict[str, Any] | str | None:
        """The app's immediate answer: None for an empty body (a plain ack), the JSON object it answered (e.g.
        ``{"response_type": "in_channel", "text": ...}`` to a slash command), or else the body as text."""
        if not self.body.strip():
            return None
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return self.body
        return parsed if isinstance(parsed, dict) else self.body

    def field_errors(self) -> dict[str, str]:
        """The errors of a ``response_action: errors`` answer to a view submission, by block id (empty when the
        answer had none, e.g. Bolt's plain ack)."""
        return _field_errors(self.body)


class SlackDriver:
    """Sends what Slack would send to Heard's request URL."""

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        fake: FakeSlack,
        *,
        api_app_id: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.events_url = events_url
        self.fake = fake
        self.api_app_id = api_app_id or fake.app_id
        self.timeout = timeout
        self._verifier = SignatureVerifier(signing_secret)

    def click(
        self,
        button_text: str,
        *,
        on: dict[str, Any],
        channel: str,
        user: str,
        user_name: str | None = None,
        channel_name: str | None = None,
    ) -> DriverResponse:
        """Click the button labelled ``button_text`` on the stored message ``on`` as ``user`` in ``channel`` (a
        DM's ``D…`` id for a message in the bot's DM with ``user``, see ``fake.dm_channel``), or choose the option
        showing ``button_text`` in one of its menus (the card's "More…"), as ``block_actions_payload`` describes.

        Raises AssertionError (listing the visible buttons and menu options) when the message has neither.
        """
        payload = block_actions_payload(
            self.fake,
            button_text,
            on=on,
            channel=channel,
            user=user,
            user_name=user_name,
            channel_name=channel_name,
            api_app_id=self.api_app_id,
        )
        body = urlencode({"payload": json.dumps(payload)})
        response = self.post_signed(body, content_type=FORM)
        return DriverResponse(response.status, response.body, response.elapsed_ms, response.headers, payload)

    def submit_view(
        self,
        view: dict[str, Any],
        user: str,
        values: Mapping[str, Any] | None = None,
        *,
        user_name: str | None = None,
        require_inputs: bool = True,
    ) -> DriverResponse:
        """Submit the modal ``view`` (one of ``fake.open_views(user)``) as ``user``, with ``values`` typed or picked
        into its inputs by their visible labels (see ``view_submission_payload``), and hand the app's answer to the
        fake: an empty 200 closes the view there, ``response_action: errors`` keeps it open
        (``DriverResponse.field_errors()`` reads them).

        Raises AssertionError, sending nothing, for what Slack would not let the person submit.
        """
        payload = view_submission_payload(
            self.fake,
            view,
            user,
            values,
            user_name=user_name,
            api_app_id=self.api_app_id,
            require_inputs=require_inputs,
        )
        response = self.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)
        outcome = self.fake.answer_view_submission(
            payload["view"]["id"], response.status, response.body, waited=response.elapsed_ms / 1000
        )
        return DriverResponse(response.status, response.body, response.elapsed_ms, response.headers, payload, outcome)

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user: str,
        channel: str,
        user_name: str | None = None,
        channel_name: str | None = None,
    ) -> DriverResponse:
        """``user`` types ``command`` (e.g. ``"/complaints"``) with ``text`` in ``channel``: the signed, form-encoded
        request Slack sends (``slash_command_payload``), with a fresh response_url (ephemeral or in-channel answers
        land in ``channel``) and a trigger_id for ``views.open``.

        The app's HTTP answer is handed to ``fake.answer_command``, which shows it as Slack would;
        ``DriverResponse.answer()`` is what the app answered, ``outcome`` what Slack made of it.
        """
        payload = slash_command_payload(
            self.fake,
            command,
            text,
            user=user,
            channel=channel,
            user_name=user_name,
            channel_name=channel_name,
            api_app_id=self.api_app_id,
        )
        response = self.post_signed(urlencode(payload), content_type=FORM)
        outcome = self.fake.answer_command(
            channel, user, response.status, response.body, waited=response.elapsed_ms / 1000
        )
        return DriverResponse(response.status, response.body, response.elapsed_ms, response.headers, payload, outcome)

    def send_event(self, event: dict[str, Any]) -> DriverResponse:
        """Deliver ``event`` (the inner event, e.g. ``{"type": "app_mention", ...}``) as the Events API does: a
        signed JSON ``event_callback`` (``event_callback_payload``) with a fresh ``event_id``."""
        payload = event_callback_payload(self.fake, event, api_app_id=self.api_app_id)
        response = self.post_signed(json.dumps(payload), content_type=JSON)
        return DriverResponse(response.status, response.body, response.elapsed_ms, response.headers, payload)

    def open_home(self, user: str, *, tab: str = "home") -> DriverResponse:
        """``user`` opens the app's Home tab (or its Messages tab with ``tab="messages"``): the ``app_home_opened``
        event, carrying the Home view the fake shows them, if any (``app_home_opened_event``)."""
        return self.send_event(app_home_opened_event(self.fake, user, tab=tab))

    def post_signed(
        self,
        body: bytes | str,
        content_type: str = FORM,
        timestamp: int | None = None,
        signature: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> DriverResponse:
        """POST ``body`` to the events URL, signed for ``timestamp`` (default: now).

        Pass ``signature`` to send a forged one, or an old ``timestamp`` for a stale request; ``headers`` adds
        e.g. ``X-Slack-Retry-Num``.
        """
        raw = body.encode() if isinstance(body, str) else body
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        if signature is None:
            signature = self._verifier.generate_signature(timestamp=stamp, body=raw) or ""
        request_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        return self._post(raw, request_headers)

    def _post(self, raw: bytes, headers: dict[str, str]) -> DriverResponse:
        request = urllib.request.Request(self.events_url, data=raw, headers=headers, method="POST")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, answer, answer_headers = response.status, response.read(), dict(response.headers.items())
        except urllib.error.HTTPError as error:
            status, answer, answer_headers = error.code, error.read(), dict(error.headers.items())
        elapsed_ms = (time.perf_counter() - started) * 1000
        return DriverResponse(status, answer.decode("utf-8", "replace"), elapsed_ms, answer_headers)


class SocketModeDriver:
    """Sends what Slack would send to Heard over its Socket Mode connection (the fake's WebSocket).

    The app must be connected (``fake.socket_connected()``); Slack does not queue envelopes for an app that
    is not connected, so neither does the fake (``click`` raises AssertionError).
    """

    def __init__(self, fake: FakeSlack, *, api_app_id: str | None = None, timeout: float = 5.0) -> None:
        self.fake = fake
        self.api_app_id = api_app_id or fake.app_id
        self.timeout = timeout
        #: The payload of every envelope sent, by envelope id (e.g. to read a click's ``response_url``).
        self.payloads: dict[str, dict[str, Any]] = {}

    def click(
        self,
        button_text: str,
        *,
        on: dict[str, Any],
        channel: str,
        user: str,
        user_name: str | None = None,
        channel_name: str | None = None,
    ) -> str:
        """Click the button labelled ``button_text`` (or choose the menu option showing it) on the stored message
        ``on`` as ``user`` in ``channel``: the same ``block_actions`` payload as ``SlackDriver.click``, sent as an
        ``interactive`` envelope.

        Returns the envelope id; ``ack(envelope_id)`` waits for the app's ack. Raises AssertionError (listing
        the visible buttons) when the message has no such button.
        """
        payload = block_actions_payload(
            self.fake,
            button_text,
            on=on,
            channel=channel,
            user=user,
            user_name=user_name,
            channel_name=channel_name,
            api_app_id=self.api_app_id,
        )
        envelope_id = self.fake.send_envelope("interactive", payload)
        self.payloads[envelope_id] = payload
        return envelope_id

    def submit_view(
        self,
        view: dict[str, Any],
        user: str,
        values: Mapping[str, Any] | None = None,
        *,
        user_name: str | None = None,
        require_inputs: bool = True,
    ) -> str:
        """Submit the modal ``view`` as ``user``: the same ``view_submission`` payload as
        ``SlackDriver.submit_view``, sent as an ``interactive`` envelope that accepts a response payload.

        Returns the envelope id; the fake applies the ack's payload to the view (an empty ack closes it), and
        ``field_errors(envelope_id)`` waits for the ack and reads the errors it carries.
        """
        payload = view_submission_payload(
            self.fake,
            view,
            user,
            values,
            user_name=user_name,
            api_app_id=self.api_app_id,
            require_inputs=require_inputs,
        )
        envelope_id = self.fake.send_envelope("interactive", payload, accepts_response_payload=True)
        self.payloads[envelope_id] = payload
        return envelope_id

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user: str,
        channel: str,
        user_name: str | None = None,
        channel_name: str | None = None,
    ) -> str:
        """``user`` types ``command`` with ``text`` in ``channel``: the same payload as ``SlackDriver.command``, sent as
        a ``slash_commands`` envelope that accepts a response payload.

        Returns the envelope id; the fake shows the ack's payload as Slack would (``FakeSlack.answer_command``), and
        ``ack(envelope_id)`` waits for it.
        """
        payload = slash_command_payload(
            self.fake,
            command,
            text,
            user=user,
            channel=channel,
            user_name=user_name,
            channel_name=channel_name,
            api_app_id=self.api_app_id,
        )
        envelope_id = self.fake.send_envelope("slash_commands", payload, accepts_response_payload=True)
        self.payloads[envelope_id] = payload
        return envelope_id

    def send_event(self, event: dict[str, Any]) -> str:
        """Deliver ``event`` as an ``events_api`` envelope carrying the same ``event_callback`` as
        ``SlackDriver.send_event``. Returns the envelope id."""
        payload = event_callback_payload(self.fake, event, api_app_id=self.api_app_id)
        envelope_id = self.fake.send_envelope("events_api", payload)
        self.payloads[envelope_id] = payload
        return envelope_id

    def open_home(self, user: str, *, tab: str = "home") -> str:
        """``user`` opens the app's Home tab: the ``app_home_opened`` event as an ``events_api`` envelope. Returns
        the envelope id."""
        return self.send_event(app_home_opened_event(self.fake, user, tab=tab))

    def ack(self, envelope_id: str, timeout: float | None = None) -> Call:
        """Wait for the app's ack of ``envelope_id`` (the fake's ``socket_mode.ack`` call); AssertionError if
        none came within ``timeout`` (default: the driver's)."""
        (ack, *_) = self.fake.wait_for(
            "socket_mode.ack",
            where=lambda call: call.args.get("envelope_id") == envelope_id,
            timeout=self.timeout if timeout is None else timeout,
        )
        return ack

    def field_errors(self, envelope_id: str, timeout: float | None = None) -> dict[str, str]:
        """Wait for the ack of a ``submit_view`` envelope; the ``response_action: errors`` it carries, by block id
        (empty for a plain ack)."""
        payload = self.ack(envelope_id, timeout).args.get("payload")
        if isinstance(payload, dict) and payload.get("response_action") == "errors":
            return {str(k): str(v) for k, v in (payload.get("errors") or {}).items()}
        return {}


def block_actions_payload(
    fake: FakeSlack,
    button_text: str,
    *,
    on: dict[str, Any],
    channel: str,
    user: str,
    user_name: str | None = None,
    channel_name: str | None = None,
    api_app_id: str | None = None,
) -> dict[str, Any]:
    """The ``block_actions`` payload Slack sends when ``user`` clicks the button labelled ``button_text`` on the
    stored message ``on`` in ``channel``, with a fresh response_url served by ``fake`` and a trigger_id the fake
    issued for ``user`` (for ``views.open``).

    ``button_text`` may also be the visible text of an option in a menu of the message (a ``static_select`` or an
    ``overflow``, e.g. the card's "More…"): the payload is then the one Slack sends when that option is chosen
    (``actions[0]`` with the element's ``type``, ``selected_option``, and for a select its ``placeholder`` and
    its choice in ``state.values``). A confirm dialog on the button or menu is taken as confirmed.

    ``channel`` may be the bot's DM with ``user`` (``D…``). Raises AssertionError (listing the visible buttons and
    menu options) when the message has no such button or option, or when ``channel`` is someone else's DM with the
    bot.
    """
    block, button, option = _find_clickable(on, button_text)
    dm_user = fake.dm_user(channel)
    if dm_user is not None and dm_user != user:
        raise AssertionError(f"{channel} is {dm_user}'s DM with the bot; {user} cannot see it")
    if channel_name is None:
        channel_name = "directmessage" if dm_user is not None else channel.lower()
    name = user_name or user.lower()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": name, "name": name, "team_id": fake.team_id},
        "api_app_id": api_app_id or fake.app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": on["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": fake.new_trigger(user),
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel_name},
        # Without the "channel" that fake.dms() adds for convenience: Slack's message objects have none.
        "message": {key: value for key, value in on.items() if key != "channel"},
        "state": {"values": {}},
        "response_url": fake.new_response_url(channel=channel, message_ts=on["ts"], user=user),
        "actions": [],
    }
    if option is not None:
        payload["actions"].append(_menu_action(block, button, option))
        if button.get("type") == "static_select":
            # A select keeps its choice, and Slack reports it with every interaction on the message.
            choice = {"type": "static_select", "selected_option": payload["actions"][0]["selected_option"]}
            payload["state"]["values"] = {block.get("block_id"): {button.get("action_id"): choice}}
        return payload
    payload["actions"].append(
        {
            "action_id": button.get("action_id"),
            "block_id": block.get("block_id"),
            "text": {"type": "plain_text", "text": button_text, "emoji": True},
            "value": button.get("value"),
            "type": "button",
            "action_ts": f"{time.time():.6f}",
            **({"style": button["style"]} if "style" in button else {}),
        }
    )
    # Slack omits "value" for buttons that have none.
    if payload["actions"][0]["value"] is None:
        del payload["actions"][0]["value"]
    return payload


def _menu_action(block: dict[str, Any], menu: dict[str, Any], option: dict[str, Any]) -> dict[str, Any]:
    """``actions[0]`` when ``option`` is chosen in the menu ``menu`` (a static_select or an overflow), as Slack sends
    it: the option's text as a plain_text object with ``emoji``, its value (and description, when it has one)."""
    text = option.get("text") or {}
    selected: dict[str, Any] = {
        "text": {"type": "plain_text", "text": text.get("text", ""), "emoji": text.get("emoji", True)},
        "value": option.get("value"),
    }
    if option.get("description") is not None:
        selected["description"] = copy.deepcopy(option["description"])
    action: dict[str, Any] = {
        "type": menu.get("type"),
        "action_id": menu.get("action_id"),
        "block_id": block.get("block_id"),
        "selected_option": selected,
    }
    if menu.get("type") == "static_select" and menu.get("placeholder") is not None:
        placeholder = menu["placeholder"]
        action["placeholder"] = {"type": "plain_text", "text": placeholder.get("text", ""), "emoji": True}
    action["action_ts"] = f"{time.time():.6f}"
    return action


def slash_command_payload(
    fake: FakeSlack,
    command: str,
    text: str = "",
    *,
    user: str,
    channel: str,
    user_name: str | None = None,
    channel_name: str | None = None,
    api_app_id: str | None = None,
) -> dict[str, str]:
    """The fields Slack sends when ``user`` types ``command`` (``/complaints``) followed by ``text`` in ``channel``,
    in Slack's order: form-encoded over HTTP, the same object (all strings) as a Socket Mode envelope's payload.

    ``response_url`` is a fresh one served by ``fake`` for ``channel`` and ``user`` (ephemeral or in-channel
    answers); ``trigger_id`` one the fake issued for ``user`` (for ``views.open``). ``channel`` may be the bot's DM
    with ``user`` (``channel_name`` then defaults to ``directmessage``, as Slack sends it). Raises AssertionError
    for what Slack would not send: a command that is not ``/`` and a word, or a command from someone else's DM.
    """
    if not re.fullmatch(r"/[^\s/]+", command):
        raise AssertionError(f"slash commands are a / and a word, like /complaints, not {command!r}")
    dm_user = fake.dm_user(channel)
    if dm_user is not None and dm_user != user:
        raise AssertionError(f"{channel} is {dm_user}'s DM with the bot; {user} cannot type commands there")
    if channel_name is None:
        if dm_user is not None:
            channel_name = "directmessage"
        elif channel.startswith("G"):
            channel_name = "privategroup"
        else:
            channel_name = channel.lower()
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": fake.team_id,
        "team_domain": fake.team_domain,
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user_name or user.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id or fake.app_id,
        "is_enterprise_install": "false",
        "response_url": fake.new_response_url(channel=channel, user=user),
        "trigger_id": fake.new_trigger(user),
    }


def event_callback_payload(fake: FakeSlack, event: dict[str, Any], *, api_app_id: str | None = None) -> dict[str, Any]:
    """The ``event_callback`` the Events API delivers ``event`` in (``event_ts`` added when missing), with a fresh
    ``event_id`` and the bot's authorization, over HTTP or inside an ``events_api`` envelope."""
    now = time.time()
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": fake.team_id,
        "context_team_id": fake.team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id or fake.app_id,
        "event": {**copy.deepcopy(event), "event_ts": event.get("event_ts") or f"{now:.6f}"},
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": fake.team_id,
                "user_id": fake.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def app_home_opened_event(fake: FakeSlack, user: str, *, tab: str = "home") -> dict[str, Any]:
    """The ``app_home_opened`` event Slack sends when ``user`` opens the app's ``"home"`` (or ``"messages"``) tab:
    with the bot's DM with them as ``channel``, and the Home view the fake shows them (``fake.home(user)``) as
    ``view`` when one was published."""
    if tab not in ("home", "messages"):
        raise ValueError(f"the App Home tabs are 'home' and 'messages', not {tab!r}")
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": fake.dm_channel(user),
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    home = fake.home(user)
    if home is not None:
        event["view"] = home
    return event


#: Menus whose options the driver chooses by their visible text (a person opens the menu, then picks).
_MENUS = frozenset({"static_select", "overflow"})


def _find_clickable(message: dict[str, Any], text: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The (block, button, None) whose visible label is ``text``, or else the (block, menu, option) of a menu
    (static_select or overflow) with an option showing ``text``, in actions blocks or section accessories. Buttons
    win: they are what a person sees first."""
    buttons: list[str] = []
    choices: list[str] = []
    found: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None = None
    for block in message.get("blocks") or []:
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        elif isinstance(block.get("accessory"), dict):
            candidates = [block["accessory"]]
        for element in candidates:
            if not isinstance(element, dict):
                continue
            if element.get("type") == "button":
                label = (element.get("text") or {}).get("text")
                if label == text:
                    return block, element, None
                buttons.append(str(label))
            elif element.get("type") in _MENUS:
                menu = (element.get("placeholder") or {}).get("text") or "⋯"
                for option in _menu_options(element):
                    label = (option.get("text") or {}).get("text")
                    if label == text and found is None:
                        found = (block, element, option)
                    choices.append(f"{menu} > {label}")
    if found is not None:
        return found
    raise AssertionError(
        f"no button {text!r} on message {message.get('ts')}; visible buttons: {buttons or 'none'}"
        + (f"; in its menus: {choices}" if choices else "")
    )


def _menu_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = [option for option in element.get("options") or [] if isinstance(option, dict)]
    for group in element.get("option_groups") or []:
        options.extend(option for option in group.get("options") or [] if isinstance(option, dict))
    return options


# How each input element reports its value in ``view.state.values``: element type -> (state key, initial key, kind).
_INPUT_ELEMENTS: dict[str, tuple[str, str, str]] = {
    "plain_text_input": ("value", "initial_value", "text"),
    "email_text_input": ("value", "initial_value", "text"),
    "url_text_input": ("value", "initial_value", "text"),
    "number_input": ("value", "initial_value", "number"),
    "static_select": ("selected_option", "initial_option", "option"),
    "external_select": ("selected_option", "initial_option", "option"),
    "radio_buttons": ("selected_option", "initial_option", "option"),
    "multi_static_select": ("selected_options", "initial_options", "options"),
    "multi_external_select": ("selected_options", "initial_options", "options"),
    "checkboxes": ("selected_options", "initial_options", "options"),
    "datepicker": ("selected_date", "initial_date", "date"),
    "timepicker": ("selected_time", "initial_time", "time"),
    "datetimepicker": ("selected_date_time", "initial_date_time", "datetime"),
    "users_select": ("selected_user", "initial_user", "id"),
    "multi_users_select": ("selected_users", "initial_users", "ids"),
    "conversations_select": ("selected_conversation", "initial_conversation", "id"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", "ids"),
    "channels_select": ("selected_channel", "initial_channel", "id"),
    "multi_channels_select": ("selected_channels", "initial_channels", "ids"),
}
_MULTI_KINDS = frozenset({"options", "ids"})


def view_submission_payload(
    fake: FakeSlack,
    view: dict[str, Any],
    user: str,
    values: Mapping[str, Any] | None = None,
    *,
    user_name: str | None = None,
    api_app_id: str | None = None,
    require_inputs: bool = True,
) -> dict[str, Any]:
    """The ``view_submission`` payload Slack sends when ``user`` submits the modal ``view`` (identified by its
    ``id``; the fake's current version of it is what the person sees and submits), with a trigger_id the fake
    issued for ``user`` inside that view (for ``views.push``).

    ``values`` fills inputs by their visible label, e.g. ``{"Department": "Legal", "Reason": "...", "Date":
    "2026-11-25", "Time": "10:00", "New owner": "U0BEN"}``: text inputs take the text; single and multiple
    selects, radio buttons and checkboxes the visible text of the option(s) (or option objects, for external
    selects); date and time pickers ``YYYY-MM-DD`` / ``HH:MM`` (or ``date`` / ``time`` objects); user, conversation
    and channel selects ids; None empties an input. Inputs not given keep their initial value, or are empty.
    ``view.state.values`` then holds every input block, as Slack sends it (``{"type": ..., "value": ...}``,
    ``selected_option``, ``selected_date`` ...).

    Raises AssertionError for what Slack would not let the person do: submit a view that is not open in their
    Slack, name a label or option that is not there, type more than ``max_length``, or leave a required input
    empty (``require_inputs=False`` lets that through, to test the app's own check).
    """
    view_id = view.get("id")
    mine = fake.open_views(user)
    current = next((open_view for open_view in mine if open_view["id"] == view_id), None)
    if current is None:
        shown = [open_view["id"] for open_view in mine] or "none"
        raise AssertionError(f"view {view_id} is not open in {user}'s Slack (their open views: {shown})")
    given = dict(values or {})
    inputs = [block for block in current["blocks"] if block.get("type") == "input"]
    labels = [_label(block) for block in inputs]
    unknown = [label for label in given if label not in labels]
    if unknown:
        raise AssertionError(f"no input labelled {unknown} in view {view_id}; its inputs: {labels}")
    ambiguous = sorted({label for label in given if labels.count(label) > 1})
    if ambiguous:
        raise AssertionError(f"several inputs are labelled {ambiguous} in view {view_id}")

    state: dict[str, Any] = {}
    missing: list[str] = []
    for block, label in zip(inputs, labels, strict=True):
        element = block["element"]
        element_type = element.get("type")
        spec = _INPUT_ELEMENTS.get(element_type)
        if spec is None:
            raise AssertionError(f"the driver cannot fill a {element_type} input ({label!r})")
        state_key, initial_key, kind = spec
        if label in given:
            value = _input_value(kind, element, label, given[label])
        elif element.get(initial_key) is not None:
            value = copy.deepcopy(element[initial_key])
        else:
            value = [] if kind in _MULTI_KINDS else None
        if value in (None, "", []) and not block.get("optional"):
            missing.append(label)
        state[block["block_id"]] = {element["action_id"]: {"type": element_type, state_key: value}}
    if missing and require_inputs:
        raise AssertionError(f"Slack does not submit view {view_id} with required inputs empty: {missing}")

    submitted = copy.deepcopy(current)
    submitted["state"] = {"values": state}
    name = user_name or user.lower()
    return {
        "type": "view_submission",
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "user": {"id": user, "username": name, "name": name, "team_id": fake.team_id},
        "api_app_id": api_app_id or fake.app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": fake.new_trigger(user, view_id=str(view_id)),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def _label(block: dict[str, Any]) -> str:
    return str((block.get("label") or {}).get("text"))


def _input_value(kind: str, element: dict[str, Any], label: str, given: Any) -> Any:
    """What ``view.state.values`` holds for ``given`` typed or picked into the input ``element``."""
    if given is None:
        return [] if kind in _MULTI_KINDS else None
    if kind == "text":
        text = str(given)
        limit = element.get("max_length")
        if isinstance(limit, int) and len(text) > limit:
            raise AssertionError(f"{label!r} takes at most {limit} characters; Slack does not submit {len(text)}")
        least = element.get("min_length")
        if text and isinstance(least, int) and len(text) < least:
            raise AssertionError(f"{label!r} needs at least {least} characters; Slack does not submit {len(text)}")
        return text or None
    if kind == "number":
        text = str(given)
        pattern = r"-?\d+(\.\d+)?" if element.get("is_decimal_allowed") else r"-?\d+"
        if not re.fullmatch(pattern, text):
            raise AssertionError(f"{label!r} takes a number; Slack does not submit {text!r}")
        return text
    if kind == "option":
        return _option(element, label, given)
    if kind == "options":
        return [_option(element, label, item) for item in given]
    if kind == "date":
        text = given.isoformat() if isinstance(given, dt.date) else str(given)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise AssertionError(f"{label!r} is a date picker; give YYYY-MM-DD, not {text!r}")
        dt.date.fromisoformat(text)  # ValueError for a day that does not exist
        return text
    if kind == "time":
        text = given.strftime("%H:%M") if isinstance(given, dt.time) else str(given)
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
            raise AssertionError(f"{label!r} is a time picker; give HH:MM, not {text!r}")
        return text
    if kind == "datetime":
        return int(given)
    if kind == "ids":
        return [str(item) for item in given]
    return str(given)


def _option(element: dict[str, Any], label: str, given: Any) -> dict[str, Any]:
    """The option object whose visible text is ``given`` (an option object is taken as it is)."""
    if isinstance(given, dict):
        return copy.deepcopy(given)
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if (option.get("text") or {}).get("text") == given:
            return copy.deepcopy(option)
    visible = [(option.get("text") or {}).get("text") for option in options]
    raise AssertionError(f"no option {given!r} in {label!r}; visible options: {visible or 'none (give the object)'}")


def _field_errors(body: str) -> dict[str, str]:
    """The ``errors`` of a ``response_action: errors`` answer (empty for anything else)."""
    if not body.strip():
        return {}
    try:
        answer = json.loads(body)
    except ValueError:
        return {}
    if isinstance(answer, dict) and answer.get("response_action") == "errors":
        return {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
    return {}
