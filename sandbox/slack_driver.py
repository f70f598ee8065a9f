"""Plays Slack's side towards Heard: interactive payloads, as Slack sends them.

Clicks are built from a message stored in the ``FakeSlack`` (so a test can only click what a person would
see) and carry a real ``response_url`` served by the same fake (``block_actions_payload``). They travel

* over HTTP with ``SlackDriver``: a ``POST /slack/events`` signed with the app's signing secret (``v0=``
  HMAC-SHA256 of ``v0:{timestamp}:{body}``) through ``slack_sdk.signature.SignatureVerifier``. HTTP goes
  through urllib so the request is byte-for-byte what the test built; 4xx/5xx answers are returned, not
  raised, because refusing a request is often the behaviour under test;
* over Socket Mode with ``SocketModeDriver``: an ``interactive`` envelope on the fake's WebSocket, to the app
  connected through ``apps.connections.open``; the app's ack is recorded by the fake as a ``socket_mode.ack``
  call.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from sandbox.fake_slack import Call, FakeSlack

__all__ = ["DriverResponse", "SlackDriver", "SocketModeDriver", "block_actions_payload"]

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class DriverResponse:
    """What Heard answered."""

    status: int
    #: The raw response body (Bolt's ack answers an empty body).
    body: str
    elapsed_ms: float
    headers: dict[str, str] = field(default_factory=dict)
    #: The interactive payload that was sent (for ``click``), e.g. to read its ``response_url``.
    payload: dict[str, Any] | None = None

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError if it is not JSON)."""
        return json.loads(self.body)


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
        """Click the button labelled ``button_text`` on the stored message ``on`` as ``user`` in ``channel``.

        Raises AssertionError (listing the visible buttons) when the message has no such button.
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
        """Click the button labelled ``button_text`` on the stored message ``on`` as ``user`` in ``channel``: the
        same ``block_actions`` payload as ``SlackDriver.click``, sent as an ``interactive`` envelope.

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

    def ack(self, envelope_id: str, timeout: float | None = None) -> Call:
        """Wait for the app's ack of ``envelope_id`` (the fake's ``socket_mode.ack`` call); AssertionError if
        none came within ``timeout`` (default: the driver's)."""
        (ack, *_) = self.fake.wait_for(
            "socket_mode.ack",
            where=lambda call: call.args.get("envelope_id") == envelope_id,
            timeout=self.timeout if timeout is None else timeout,
        )
        return ack


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
    stored message ``on`` in ``channel``, with a fresh response_url served by ``fake``.

    Raises AssertionError (listing the visible buttons) when the message has no such button.
    """
    block, button = _find_button(on, button_text)
    name = user_name or user.lower()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": name, "name": name, "team_id": fake.team_id},
        "api_app_id": api_app_id or fake.app_id,
        # The legacy verification token; Bolt ignores it (HTTP requests are checked by their signature).
        "token": "fake-verification-token",
        "container": {
            "type": "message",
            "message_ts": on["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}",
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel_name or channel.lower()},
        "message": on,
        "state": {"values": {}},
        "response_url": fake.new_response_url(channel=channel, message_ts=on["ts"], user=user),
        "actions": [
            {
                "action_id": button.get("action_id"),
                "block_id": block.get("block_id"),
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "value": button.get("value"),
                "type": "button",
                "action_ts": f"{time.time():.6f}",
                **({"style": button["style"]} if "style" in button else {}),
            }
        ],
    }
    # Slack omits "value" for buttons that have none.
    if payload["actions"][0]["value"] is None:
        del payload["actions"][0]["value"]
    return payload


def _find_button(message: dict[str, Any], text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (block, button) whose visible label is ``text``, in actions blocks or section accessories."""
    visible: list[str] = []
    for block in message.get("blocks") or []:
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        elif isinstance(block.get("accessory"), dict):
            candidates = [block["accessory"]]
        for element in candidates:
            if not isinstance(element, dict) or element.get("type") != "button":
                continue
            label = (element.get("text") or {}).get("text")
            if label == text:
                return block, element
            visible.append(str(label))
    raise AssertionError(f"no button {text!r} on message {message.get('ts')}; visible buttons: {visible or 'none'}")
