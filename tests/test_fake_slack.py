"""The fake Slack behaves like Slack towards a real slack_sdk client, so end-to-end tests can trust it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import queue
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from bot.blocks import modals
from bot.delivery.direct import SlackDirect, SlackUnavailable
from bot.directory import Department
from sandbox import fake_slack, slack_driver
from sandbox.fake_slack import FakeSlack, manifest_bot_scopes, validate_blocks
from sandbox.slack_driver import SlackDriver, SocketModeDriver, block_actions_payload, view_submission_payload

TOKEN = "xoxb-test"
CHANNEL = "C0TEST"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str, action_id: str, value: str = "1") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": value}


def card(*buttons: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Complaint #1"}},
        section("*Maria* says: still waiting"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Acknowledge by 14:00"}]},
        {"type": "actions", "block_id": "card-actions", "elements": list(buttons)},
    ]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    # Heard's scopes, plus files:read for the fake's files.info (which Heard never calls).
    with FakeSlack(bot_token=TOKEN, scopes=[*manifest_bot_scopes(), "files:read"]) as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url)


def test_post_update_and_history_keep_metadata(fake: FakeSlack, client: WebClient) -> None:
    metadata = {"event_type": "heard_complaint", "event_payload": {"complaint_id": 7}}

    first = client.chat_postMessage(
        channel=CHANNEL, text="Complaint #7", blocks=card(button("Claim", "claim")), metadata=metadata
    )
    second = client.chat_postMessage(channel=CHANNEL, text="Complaint #8")
    client.chat_update(channel=CHANNEL, ts=first["ts"], text="Complaint #7 (claimed)", blocks=[section("claimed")])

    assert float(second["ts"]) > float(first["ts"])
    stored = fake.message(CHANNEL, first["ts"])
    assert stored["text"] == "Complaint #7 (claimed)"
    assert [b["type"] for b in stored["blocks"]] == ["section"]
    assert stored["metadata"] == metadata  # chat.update without metadata keeps it
    with_metadata = client.conversations_history(channel=CHANNEL, include_all_metadata=True)["messages"]
    assert [m["ts"] for m in with_metadata] == [second["ts"], first["ts"]]  # newest first
    assert with_metadata[1]["metadata"] == metadata
    without = client.conversations_history(channel=CHANNEL)["messages"]
    assert all("metadata" not in m for m in without)
    assert [m["ts"] for m in fake.messages(CHANNEL)] == [first["ts"], second["ts"]]
    (post,) = fake.calls_to("chat.postMessage")[:1]
    assert post.args["metadata"] == metadata and post.headers["Authorization"] == f"Bearer {TOKEN}"
    assert fake.problems == []


def test_threads_permalinks_ephemerals_and_errors(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="parent")["ts"]
    reply = client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=parent)["ts"]
    client.chat_postEphemeral(channel=CHANNEL, user="U0ANA", text="only you")

    assert fake.message(CHANNEL, parent)["reply_count"] == 1
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["parent"]
    replies = client.conversations_replies(channel=CHANNEL, ts=parent)["messages"]
    assert [m["ts"] for m in replies] == [parent, reply]
    link = client.chat_getPermalink(channel=CHANNEL, message_ts=parent)["permalink"]
    assert link == f"https://fake.slack.com/archives/{CHANNEL}/p{parent.replace('.', '')}"
    assert [e["text"] for e in fake.ephemerals(user="U0ANA")] == ["only you"]
    assert fake.ephemerals(user="U0BEN") == []
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("pins.add", params={"channel": CHANNEL, "timestamp": parent})
    assert unknown.value.response["error"] == "unknown_method"
    with pytest.raises(SlackApiError) as wrong_token:
        WebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert wrong_token.value.response["error"] == "invalid_auth"
    assert len(fake.problems) == 2  # the unknown method and the wrong token are both suspicious


def test_invalid_blocks_are_rejected_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    # 76 characters: slack_sdk's Block.validate_json() alone does not look inside actions blocks.
    too_long = card(button("x" * 76, "claim"))

    with pytest.raises(SlackApiError) as rejected:
        client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=too_long)

    assert rejected.value.response["error"] == "invalid_blocks"
    assert rejected.value.response["errors"] == [
        "button text is 76 characters, Slack allows 75 [json-pointer:/blocks/3/elements/0/text/text]"
    ]
    assert fake.messages(CHANNEL) == []
    assert fake.calls_to("chat.postMessage")[0].error == "invalid_blocks"
    assert fake.problems == [
        f"chat.postMessage to {CHANNEL}: button text is 76 characters, Slack allows 75 "
        "[json-pointer:/blocks/3/elements/0/text/text]"
    ]


def test_blocks_without_fallback_text_are_accepted_but_noted(fake: FakeSlack, client: WebClient) -> None:
    with pytest.warns(UserWarning, match="top-level `text`"):  # slack_sdk warns too
        client.chat_postMessage(channel=CHANNEL, blocks=card(button("Claim", "claim")))

    assert len(fake.messages(CHANNEL)) == 1
    assert len(fake.problems) == 1 and "missing fallback text" in fake.problems[0]


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([section("x" * 3001)], "section text is 3001 characters, Slack allows 3000"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "Slack allows 150"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}], "must be plain_text"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}], "Slack allows 10"),
        ([{"type": "actions", "elements": [button("b", f"a{i}") for i in range(26)]}], "Slack allows 25"),
        ([{"type": "actions", "elements": [button("b", "a"), button("c", "a")]}], "duplicate action_id"),
        ([{"type": "actions", "elements": []}], "elements must not be empty"),
        ([{"type": "actions", "elements": [{"type": "buton"}]}], "unknown element type 'buton'"),
        ([{"type": "sektion", "text": "x"}], "unknown block type 'sektion'"),
        ([{"type": "section", "text": "bare"}], "must be a text object"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "text must not be empty"),
        ([{"type": "section", "txt": {"type": "mrkdwn", "text": "x"}}], "text or fields"),
        ([{**section("x"), "acessory": button("b", "a")}], "unknown field 'acessory'"),
        ([{"type": "image", "image_url": "https://x/y.png"}], "could not be built"),
        ([section("x")] * 51, "51 blocks, Slack allows 50"),
        ([{**section("a"), "block_id": "b"}, {**section("b"), "block_id": "b"}], "duplicate block_id"),
    ],
)
def test_validate_blocks_catches_what_slack_rejects(blocks: list[dict[str, Any]], expected: str) -> None:
    problems = validate_blocks(blocks)

    assert any(expected in p for p in problems), problems


def test_validate_blocks_accepts_a_realistic_card() -> None:
    blocks = [
        *card(button("Claim", "claim"), {**button("Acknowledge", "ack"), "style": "primary"}),
        {"type": "divider"},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Owner*"}, {"type": "plain_text", "text": "-"}]},
        {**section("Open the post"), "accessory": {**button("Open", "open"), "url": "https://x.test/p/1"}},
    ]

    assert validate_blocks(blocks) == []
    assert validate_blocks(json.dumps(blocks)) == []


def test_fail_next_429_shows_retry_after_to_the_client(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=3)

    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel=CHANNEL, text="hello")
    client.chat_postMessage(channel=CHANNEL, text="hello")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "3"
    assert limited.value.response["error"] == "ratelimited"
    assert [(c.status, c.error) for c in fake.calls_to("chat.postMessage")] == [(429, "ratelimited"), (200, None)]
    assert len(fake.messages(CHANNEL)) == 1  # the failed call had no effect


def test_fail_next_500_has_no_effect_and_queues_in_order(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=500, times=2)
    fake.fail_next("chat.postMessage", error="channel_not_found")

    statuses = []
    for _ in range(3):
        with pytest.raises(SlackApiError) as failed:
            client.chat_postMessage(channel=CHANNEL, text="hello")
        statuses.append((failed.value.response.status_code, failed.value.response.get("error")))
    client.chat_postMessage(channel=CHANNEL, text="hello")

    assert [s for s, _ in statuses] == [500, 500, 200]
    assert "non-JSON" in statuses[0][1]  # an HTML page, as a proxy in front of Slack would send
    assert statuses[2][1] == "channel_not_found"
    assert len(fake.messages(CHANNEL)) == 1


def test_hang_next_applied_before_the_client_gives_up(fake: FakeSlack) -> None:
    impatient = WebClient(token=TOKEN, base_url=fake.api_url, timeout=0.2)
    fake.hang_next("chat.postMessage", seconds=0.6, apply=True)

    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel=CHANNEL, text="exactly once")

    (call,) = fake.calls_to("chat.postMessage")
    assert call.status == 200
    history = impatient.conversations_history(channel=CHANNEL)["messages"]
    assert [m["text"] for m in history] == ["exactly once"]


def test_hang_next_not_applied_is_seen_in_flight_and_lost(fake: FakeSlack, client: WebClient) -> None:
    fake.hang_next("chat.postMessage", seconds=0.5, apply=False)
    outcome: list[BaseException] = []

    def post() -> None:
        try:
            client.chat_postMessage(channel=CHANNEL, text="lost")
        except SlackApiError as error:
            outcome.append(error)

    worker = threading.Thread(target=post)
    worker.start()
    (in_flight,) = fake.wait_for("chat.postMessage", timeout=1)
    still_waiting = worker.is_alive()
    worker.join(timeout=2)

    assert still_waiting  # recorded on arrival, before the hang ends
    assert in_flight.status == 504
    assert isinstance(outcome[0], SlackApiError) and outcome[0].response.status_code == 504
    assert fake.messages(CHANNEL) == []


def test_response_url_ephemeral_replace_and_use_limit(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="card", blocks=card(button("Claim", "claim")))["ts"]
    webhook = WebhookClient(fake.new_response_url(channel=CHANNEL, message_ts=ts, user="U0BEN"))

    private = webhook.send(text="Already claimed by <@U0ANA>")
    replaced = webhook.send(text="claimed", blocks=[section("Owner: <@U0ANA>")], replace_original=True)
    public = webhook.send_dict({"text": "Ana took it", "response_type": "in_channel"})
    bad = webhook.send(text="x", blocks=[{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}])
    fifth = webhook.send(text="five")
    sixth = webhook.send(text="six")

    assert (private.status_code, private.body) == (200, "ok")
    assert [e["text"] for e in fake.ephemerals(CHANNEL, "U0BEN")] == ["Already claimed by <@U0ANA>", "five"]
    assert replaced.status_code == 200
    updated = fake.message(CHANNEL, ts)
    assert updated["text"] == "claimed" and updated["blocks"][0]["text"]["text"] == "Owner: <@U0ANA>"
    assert public.status_code == 200 and [m["text"] for m in fake.messages(CHANNEL)] == ["claimed", "Ana took it"]
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    assert fifth.status_code == 200
    assert (sixth.status_code, sixth.body) == (404, "used_too_many_times")
    calls = fake.calls_to("response_url")
    assert calls[0].args["text"] == "Already claimed by <@U0ANA>"
    assert calls[0].args["url"] == webhook.url
    assert [c.status for c in calls] == [200, 200, 200, 400, 200, 404]


def test_response_url_delete_original(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    url = fake.new_response_url(channel=CHANNEL, message_ts=ts, user="U0ANA")

    assert WebhookClient(url).send_dict({"delete_original": True}).status_code == 200
    assert fake.messages(CHANNEL) == []


def test_wait_for_times_out_listing_the_calls_seen(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="hello")

    with pytest.raises(AssertionError) as timed_out:
        fake.wait_for("chat.update", timeout=0.05)

    message = str(timed_out.value)
    assert "expected 1 call(s) to chat.update within 0.05s, got 0" in message
    assert "chat.postMessage -> 200" in message and '"text": "hello"' in message


def test_wait_for_wakes_up_on_a_call_from_another_thread(fake: FakeSlack, client: WebClient) -> None:
    threading.Timer(0.05, lambda: client.chat_postMessage(channel=CHANNEL, text="later")).start()

    (call,) = fake.wait_for("chat.postMessage", where=lambda c: c.args.get("text") == "later", timeout=2)

    assert call.args["channel"] == CHANNEL


def test_post_message_rate_limit_per_channel() -> None:
    with FakeSlack(bot_token=TOKEN, post_message_rate=1.0, burst=2) as fake:
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        client.chat_postMessage(channel=CHANNEL, text="1")
        client.chat_postMessage(channel=CHANNEL, text="2")
        with pytest.raises(SlackApiError) as limited:
            client.chat_postMessage(channel=CHANNEL, text="3")
        client.chat_postMessage(channel="C0OTHER", text="other channel, own bucket")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"


class _Recorder(BaseHTTPRequestHandler):
    """Stands in for Heard's /slack/events: checks the signature like Bolt and keeps the payload."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = SignatureVerifier("secret").is_valid(
            body=body.decode(),
            timestamp=self.headers["X-Slack-Request-Timestamp"],
            signature=self.headers["X-Slack-Signature"],
        )
        if valid:
            self.received.append(json.loads(parse_qs(body.decode())["payload"][0]))
        self.send_response(200 if valid else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_driver_clicks_a_stored_button_with_a_signed_payload(fake: FakeSlack, client: WebClient) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        driver = SlackDriver(f"http://127.0.0.1:{server.server_address[1]}/slack/events", "secret", fake)
        client.chat_postMessage(channel=CHANNEL, text="card", blocks=card(button("Claim", "claim", "c-7")))
        (message,) = fake.messages(CHANNEL)

        clicked = driver.click("Claim", on=message, channel=CHANNEL, user="U0ANA", user_name="ana")
        forged = driver.post_signed("payload=%7B%7D", signature="v0=" + "0" * 64)
        stale = driver.post_signed("payload=%7B%7D", timestamp=int(time.time()) - 600)
        with pytest.raises(AssertionError, match=r"visible buttons: \['Claim'\]"):
            driver.click("Resolve", on=message, channel=CHANNEL, user="U0ANA")
    finally:
        server.shutdown()
        server.server_close()

    assert (clicked.status, forged.status, stale.status) == (200, 401, 401)
    (payload,) = _Recorder.received
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0ANA"
    assert payload["container"] == {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": CHANNEL,
        "is_ephemeral": False,
    }
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == ("claim", "card-actions", "c-7")
    assert payload["message"]["blocks"] == message["blocks"]
    WebhookClient(payload["response_url"]).send(text="Claimed")
    assert fake.ephemerals(CHANNEL, "U0ANA")[0]["text"] == "Claimed"


def test_form_encoded_calls_with_a_token_field_are_understood(fake: FakeSlack) -> None:
    form = {"token": TOKEN, "channel": CHANNEL, "text": "hi", "blocks": json.dumps([section("hi")])}
    request = urllib.request.Request(fake.api_url + "chat.postMessage", data=urlencode(form).encode())

    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())

    assert answer["ok"] is True
    (call,) = fake.calls_to("chat.postMessage")
    assert call.args["blocks"] == [section("hi")] and "token" not in call.args
    assert fake.messages(CHANNEL)[0]["blocks"][0]["text"]["text"] == "hi"


# ---------------------------------------------------------------------------------------------------------
# Socket Mode
# ---------------------------------------------------------------------------------------------------------

TEXT, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x0, 0x8, 0x9, 0xA


class Received:
    """What a slack_sdk SocketModeClient got: every message (hello included) and the envelopes, which it acks."""

    def __init__(self) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.requests: queue.Queue[SocketModeRequest] = queue.Queue()

    def on_message(self, client: Any, message: dict[str, Any], raw: str | None) -> None:
        self.messages.put(message)

    def on_request(self, client: Any, request: SocketModeRequest) -> None:
        self.requests.put(request)
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))


@pytest.fixture
def received() -> Received:
    return Received()


@pytest.fixture
def socket_client(fake: FakeSlack, received: Received) -> Iterator[SocketModeClient]:
    """slack_sdk's builtin Socket Mode client (the one Bolt's SocketModeHandler uses), listening, not connected."""
    client = SocketModeClient(
        app_token=fake.app_token,
        web_client=WebClient(token=TOKEN, base_url=fake.api_url),
        auto_reconnect_enabled=False,
    )
    client.message_listeners.append(received.on_message)
    client.socket_mode_request_listeners.append(received.on_request)
    yield client
    # Slack's close frame first: the client then lets go of its socket at once (close() alone would wait out the
    # client's 3 s receive timeout) ...
    fake.close_sockets()
    assert fake.wait_for_sockets(0)
    session = client.current_session
    if session is not None:
        # ... on its own thread, which may still be finishing under this lock: closing the session meanwhile
        # trips slack_sdk's check-then-close race in Connection.disconnect (AttributeError on None).
        with session.sock_send_lock:
            pass
    client.close()


class RawWebSocket:
    """A bare WebSocket client, to check the fake's server frame by frame (frames masked, as clients must)."""

    def __init__(
        self, url: str, *, key: str = "dGhlIHNhbXBsZSBub25jZQ==", headers: dict[str, str] | None = None
    ) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
        request_headers = {
            "Host": f"{parts.hostname}:{parts.port}",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
            **(headers or {}),
        }
        lines = [f"GET {parts.path} HTTP/1.1", *(f"{k}: {v}" for k, v in request_headers.items() if v)]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        status_line = self.file.readline().decode()
        self.status = int(status_line.split()[1])
        self.headers: dict[str, str] = {}
        while (line := self.file.readline().decode().strip()) != "":
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def send(self, opcode: int, payload: bytes = b"", *, fin: bool = True, masked: bool = True) -> None:
        first = (0x80 if fin else 0) | opcode
        mask_bit = 0x80 if masked else 0
        if len(payload) < 126:
            header = struct.pack("!BB", first, mask_bit | len(payload))
        else:
            header = struct.pack("!BBH", first, mask_bit | 126, len(payload))
        if masked:
            key = os.urandom(4)
            payload = key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + payload)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send(TEXT, json.dumps(message).encode())

    def receive(self) -> tuple[int, bytes]:
        """The next frame from the server as (opcode, payload); (-1, b"") at end of stream."""
        head = self.file.read(2)
        if len(head) < 2:
            return -1, b""
        assert head[0] & 0x80, "the fake sends unfragmented frames"
        assert not head[1] & 0x80, "servers must not mask frames"
        length = head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.file.read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.file.read(8))
        return head[0] & 0x0F, self.file.read(length)

    def receive_json(self) -> dict[str, Any]:
        opcode, payload = self.receive()
        assert opcode == TEXT, (opcode, payload)
        return json.loads(payload)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def socket_url(fake: FakeSlack) -> str:
    return WebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.app_token)["url"]


def test_socket_mode_client_connects_receives_an_envelope_and_acks_it(
    fake: FakeSlack, socket_client: SocketModeClient, received: Received
) -> None:
    socket_client.connect()

    assert fake.socket_connected(timeout=5)
    hello = received.messages.get(timeout=5)
    envelope_id = fake.send_envelope("interactive", {"type": "block_actions", "actions": [{"action_id": "claim"}]})
    (ack,) = fake.wait_for("socket_mode.ack", where=lambda c: c.args.get("envelope_id") == envelope_id)

    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": fake.app_id} and "debug_info" in hello
    request = received.requests.get(timeout=5)
    assert (request.envelope_id, request.type) == (envelope_id, "interactive")
    assert request.payload == {"type": "block_actions", "actions": [{"action_id": "claim"}]}
    assert request.accepts_response_payload is False and request.retry_attempt == 0 and request.retry_reason == ""
    assert ack.args == {"envelope_id": envelope_id} and ack.ok
    (connection_open,) = fake.calls_to("apps.connections.open")
    assert connection_open.headers["Authorization"] == f"Bearer {fake.app_token}"
    assert connection_open.args == {}  # the token is not an argument
    assert [c.method for c in fake.calls] == ["apps.connections.open", "socket_mode.connect", "socket_mode.ack"]
    assert fake.problems == []


def test_socket_mode_driver_clicks_through_the_socket(
    fake: FakeSlack, client: WebClient, socket_client: SocketModeClient, received: Received
) -> None:
    client.chat_postMessage(channel=CHANNEL, text="card", blocks=card(button("Claim", "claim", "c-7")))
    (message,) = fake.messages(CHANNEL)
    socket_client.connect()
    assert fake.socket_connected(timeout=5)
    driver = SocketModeDriver(fake)

    envelope_id = driver.click("Claim", on=message, channel=CHANNEL, user="U0ANA", user_name="ana")
    ack = driver.ack(envelope_id)

    assert ack.args["envelope_id"] == envelope_id
    request = received.requests.get(timeout=5)
    assert request.type == "interactive" and request.payload == driver.payloads[envelope_id]
    payload = request.payload
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0ANA"
    assert payload["container"]["message_ts"] == message["ts"]
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == ("claim", "card-actions", "c-7")
    WebhookClient(payload["response_url"]).send(text="Claimed")
    assert fake.ephemerals(CHANNEL, "U0ANA")[0]["text"] == "Claimed"
    with pytest.raises(AssertionError, match=r"visible buttons: \['Claim'\]"):
        driver.click("Resolve", on=message, channel=CHANNEL, user="U0ANA")
    assert fake.problems == []


def test_disconnect_message_makes_the_client_reconnect(
    fake: FakeSlack, socket_client: SocketModeClient, received: Received
) -> None:
    socket_client.connect()
    assert fake.socket_connected(timeout=5)

    fake.send_disconnect("refresh_requested")

    first, second = fake.wait_for("socket_mode.connect", count=2)
    assert first.args["ticket"] != second.args["ticket"]  # a fresh URL from a second apps.connections.open
    assert len(fake.calls_to("apps.connections.open")) == 2
    # The client drops the old connection once the new one is up (after its receive timeout: up to 3 s).
    (old,) = fake.wait_for("socket_mode.close", where=lambda c: c.args["ticket"] == first.args["ticket"])
    assert (old.args["by"], old.args["code"]) == ("app", 1006)  # slack_sdk closes without a close frame
    assert fake.socket_connected(timeout=5) and fake.socket_count == 1
    envelope_id = fake.send_envelope("interactive", {"type": "block_actions"})
    assert received.requests.get(timeout=5).envelope_id == envelope_id
    fake.wait_for("socket_mode.ack", where=lambda c: c.args.get("envelope_id") == envelope_id)
    assert fake.problems == []


def test_apps_connections_open_wants_the_app_token(fake: FakeSlack) -> None:
    web = WebClient(base_url=fake.api_url)

    with pytest.raises(SlackApiError) as with_bot_token:
        web.apps_connections_open(app_token=TOKEN)
    with pytest.raises(SlackApiError) as with_other_app_token:
        web.apps_connections_open(app_token="xapp-someone-else")
    with pytest.raises(SlackApiError) as app_token_elsewhere:
        WebClient(token=fake.app_token, base_url=fake.api_url).chat_postMessage(channel=CHANNEL, text="hi")
    url = web.apps_connections_open(app_token=fake.app_token)["url"]

    assert with_bot_token.value.response["error"] == "invalid_auth"
    assert with_other_app_token.value.response["error"] == "invalid_auth"
    assert app_token_elsewhere.value.response["error"] == "not_allowed_token_type"
    assert url.startswith(f"ws://127.0.0.1:{urlsplit(fake.url).port}/socket-mode/")
    assert len(fake.problems) == 2  # the bot token for apps.connections.open, the app token for chat.postMessage
    assert "apps.connections.open: called with the bot token" in fake.problems[0]


def test_websocket_handshake_ping_fragments_and_close(fake: FakeSlack) -> None:
    url = socket_url(fake)
    ws = RawWebSocket(url)
    try:
        hello = ws.receive_json()
        assert fake.socket_connected(timeout=0)

        ws.send(PING, b"are you there")
        pong = ws.receive()
        envelope_id = fake.send_envelope(
            "events_api", {"event": {"type": "app_mention"}}, accepts_response_payload=True
        )
        envelope = ws.receive_json()
        ack = json.dumps({"envelope_id": envelope_id, "payload": {"text": "ok"}}).encode()
        ws.send(TEXT, ack[:10], fin=False)
        ws.send(PING, b"in between")  # control frames may come between fragments
        ws.send(CONTINUATION, ack[10:])
        pong_between = ws.receive()
        (recorded,) = fake.wait_for("socket_mode.ack")
        ws.send(CLOSE, struct.pack("!H", 1000) + b"bye")
        echoed = ws.receive()
        end = ws.receive()
    finally:
        ws.close()

    # RFC 6455 section 1.3's example key and accept value.
    assert ws.status == 101 and ws.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert ws.headers["upgrade"].lower() == "websocket" and ws.headers["connection"].lower() == "upgrade"
    assert hello["type"] == "hello"
    assert pong == (PONG, b"are you there") and pong_between == (PONG, b"in between")
    assert envelope == {
        "envelope_id": envelope_id,
        "type": "events_api",
        "payload": {"event": {"type": "app_mention"}},
        "accepts_response_payload": True,
        "retry_attempt": 0,
        "retry_reason": "",
    }
    assert recorded.args == {"envelope_id": envelope_id, "payload": {"text": "ok"}}
    assert echoed == (CLOSE, struct.pack("!H", 1000)) and end == (-1, b"")
    assert not fake.socket_connected(timeout=0)  # removed before the server closed the TCP connection
    (closed,) = fake.calls_to("socket_mode.close")
    assert closed.args == {"ticket": url.rsplit("/", 1)[1], "by": "app", "code": 1000}
    assert fake.problems == []


def test_socket_urls_are_single_use_and_handshakes_are_checked(fake: FakeSlack) -> None:
    url = socket_url(fake)
    first = RawWebSocket(url)
    again = RawWebSocket(url)
    no_key = RawWebSocket(socket_url(fake), headers={"Sec-WebSocket-Key": ""})
    made_up = RawWebSocket(url.rsplit("/", 1)[0] + "/not-a-ticket")
    for ws in (first, again, no_key, made_up):
        ws.close()

    assert (first.status, again.status, no_key.status, made_up.status) == (101, 401, 400, 401)
    assert [c.status for c in fake.calls_to("socket_mode.connect")] == [101, 401, 400, 401]
    problems = fake.problems
    assert len(problems) == 3
    assert "already used URL" in problems[0] and "Sec-WebSocket-Key" in problems[1]


def test_protocol_errors_and_bad_acks_are_problems(fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_slack, "SOCKET_MODE_ACK_DEADLINE", -1.0)  # every ack is late
    ws = RawWebSocket(socket_url(fake))
    try:
        ws.receive_json()  # hello
        envelope_id = fake.send_envelope("interactive", {"type": "block_actions"})
        ws.receive_json()
        ws.send_json({"envelope_id": envelope_id, "payload": {"text": "not wanted"}})
        ws.send_json({"envelope_id": envelope_id})
        ws.send_json({"envelope_id": "never-sent"})
        ws.send_json({"type": "not an ack"})
        fake.wait_for("socket_mode.ack", count=3)
        ws.send(TEXT, b"{}", masked=False)
        closed = ws.receive()
        end = ws.receive()
    finally:
        ws.close()

    assert closed == (CLOSE, struct.pack("!H", 1002) + b"client frames must be masked") and end == (-1, b"")
    (ended,) = fake.calls_to("socket_mode.close")
    assert (ended.args["by"], ended.args["code"], ended.error) == ("slack", 1002, "protocol_error")
    assert [c.error for c in fake.calls_to("socket_mode.ack")] == [None, "already_acked", "unknown_envelope"]
    expected = ["came after", "carries a payload", "acked twice", "never sent", "unexpected message", "masked"]
    problems = fake.problems
    assert len(problems) == len(expected), problems
    for problem, words in zip(problems, expected, strict=True):
        assert words in problem, problems


def test_send_envelope_needs_a_connected_app_and_stop_closes_sockets(fake: FakeSlack) -> None:
    with pytest.raises(AssertionError, match="no app is connected"):
        fake.send_envelope("interactive", {"type": "block_actions"})
    assert not fake.socket_connected(timeout=0.01)
    ws = RawWebSocket(socket_url(fake))
    try:
        ws.receive_json()  # hello

        fake.stop()

        closed = ws.receive()
        end = ws.receive()
    finally:
        ws.close()

    assert closed == (CLOSE, struct.pack("!H", 1001) + b"server stopping")
    assert end == (-1, b"")
    assert fake.socket_count == 0
    (ended,) = fake.calls_to("socket_mode.close")
    assert (ended.args["by"], ended.args["code"]) == ("slack", 1001)


# ---------------------------------------------------------------------------------------------------------
# Modals, DMs, user groups, users
# ---------------------------------------------------------------------------------------------------------

ANA, BEN = "U0ANA", "U0BEN"
DEPARTMENTS = [
    Department("legal", "Legal", "Lawsuits", ("lawyer",), ("U0LEGAL",), (), None, True),
    Department("product", "Product", "", (), (), ("S0PRODUCT",), "C0PRODUCT", False),
]


def text_input(label: str, block_id: str, *, optional: bool = False, **element: Any) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "plain_text_input", "action_id": block_id, **element},
    }
    if optional:
        block["optional"] = True
    return block


def modal(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "test_view",
        "title": {"type": "plain_text", "text": "A form"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": "7.2",
        "blocks": list(blocks) or [text_input("Note", "note")],
    }
    view.update(fields)
    return view


def heard_modals() -> list[dict[str, Any]]:
    return [
        modals.escalate_modal("7.2", "*Maria* says: still waiting", DEPARTMENTS),
        modals.follow_up_modal("7.2", "summary", dt.date(2026, 11, 25), dt.time(10, 0), "UTC"),
        modals.resolve_modal("7.2", "summary"),
        modals.reassign_modal("7.2", "summary", ANA),
        modals.reassign_modal("7.2", "summary", None),
    ]


def open_modal(fake: FakeSlack, client: WebClient, view: dict[str, Any], user: str = ANA) -> dict[str, Any]:
    return client.views_open(trigger_id=fake.new_trigger(user), view=view)["view"]


@pytest.mark.parametrize("view", heard_modals(), ids=lambda view: view["callback_id"])
def test_heard_modals_are_valid_views(view: dict[str, Any]) -> None:
    assert fake_slack.validate_view(view) == []


def test_views_open_exchanges_the_trigger_of_a_click_once(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="card", blocks=card(button("Escalate", "escalate", "7.2")))
    (message,) = fake.messages(CHANNEL)
    trigger_id = block_actions_payload(fake, "Escalate", on=message, channel=CHANNEL, user=ANA)["trigger_id"]
    escalate = modals.escalate_modal("7.2", "*Maria* says: still waiting", DEPARTMENTS)

    SlackDirect(client).open_modal(trigger_id, escalate)  # how Heard opens it
    with pytest.raises(SlackUnavailable):
        SlackDirect(client).open_modal(trigger_id, escalate)
    with pytest.raises(SlackApiError) as made_up:
        client.views_open(trigger_id="123.456.abc", view=escalate)

    opened, again, _ = fake.calls_to("views.open")
    assert (
        opened.ok and again.error == "exchanged_trigger_id" and made_up.value.response["error"] == "invalid_trigger_id"
    )
    (view,) = fake.open_views(ANA)
    assert fake.open_views(BEN) == [] and fake.open_views() == [view] and fake.view_user(view["id"]) == ANA
    assert view["id"].startswith("V") and view["hash"] and view["state"] == {"values": {}}
    assert (view["root_view_id"], view["previous_view_id"]) == (view["id"], None)
    assert (view["callback_id"], view["private_metadata"], view["title"]) == (
        "escalate_view",
        "7.2",
        escalate["title"],
    )
    assert (view["team_id"], view["app_id"], view["bot_id"]) == (fake.team_id, fake.app_id, fake.bot_id)
    assert [b.get("block_id") for b in view["blocks"][1:]] == ["department", "reason", "severity"]
    assert all(b["block_id"] for b in view["blocks"])  # Slack names blocks the app left unnamed
    problems = fake.problems
    assert len(problems) == 2 and "exchanged already" in problems[0] and "never issued" in problems[1]


def test_an_expired_trigger_opens_nothing_and_an_invalid_view_keeps_the_trigger(
    fake: FakeSlack, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = fake.new_trigger(ANA)
    with pytest.raises(SlackApiError) as invalid:
        client.views_open(trigger_id=fresh, view=modal(title={"type": "plain_text", "text": "x" * 25}))
    client.views_open(trigger_id=fresh, view=modal())  # a refused view did not use the trigger up
    monkeypatch.setattr(fake_slack, "TRIGGER_LIFETIME", 0.05)
    stale = fake.new_trigger(ANA)
    time.sleep(0.1)
    with pytest.raises(SlackApiError) as expired:
        client.views_open(trigger_id=stale, view=modal())

    assert invalid.value.response["error"] == "invalid_arguments"
    assert invalid.value.response["response_metadata"]["messages"] == [
        "[ERROR] title is 25 characters, Slack allows 24 [json-pointer:/view/title/text]"
    ]
    assert expired.value.response["error"] == "expired_trigger_id"
    assert len(fake.open_views(ANA)) == 1
    problems = fake.problems
    assert len(problems) == 2 and "views.open: title is 25" in problems[0] and "after the interaction" in problems[1]


def _with(view: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**view, **changes}


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (_with(modal(), type="home"), "view type must be 'modal', not 'home' [json-pointer:/view/type]"),
        (_with(modal(), title=None), "a modal needs a title [json-pointer:/view/title]"),
        (
            _with(modal(), submit={"type": "plain_text", "text": "s" * 25}),
            "submit is 25 characters, Slack allows 24 [json-pointer:/view/submit/text]",
        ),
        (
            _with(modal(), close={"type": "mrkdwn", "text": "Close"}),
            "close must be a plain_text object [json-pointer:/view/close]",
        ),
        (_with(modal(), submit=None), "a modal with input blocks needs a submit button [json-pointer:/view/submit]"),
        (
            modal(*[section(str(i)) for i in range(101)]),
            "101 blocks, Slack allows 100 [json-pointer:/view/blocks]",
        ),
        (
            _with(modal(), private_metadata="m" * 3001),
            "private_metadata is 3001 characters, Slack allows 3000 [json-pointer:/view/private_metadata]",
        ),
        (
            _with(modal(), callback_id="c" * 256),
            "callback_id is 256 characters, Slack allows 255 [json-pointer:/view/callback_id]",
        ),
        (
            modal({"type": "input", "element": {"type": "plain_text_input"}}),
            "input block needs a 'label' [json-pointer:/view/blocks/0/label]",
        ),
        (
            modal({"type": "input", "label": {"type": "plain_text", "text": "Note"}}),
            "input block needs a 'element' [json-pointer:/view/blocks/0/element]",
        ),
        (
            modal(
                {
                    "type": "input",
                    "label": {"type": "plain_text", "text": "Pick"},
                    "element": {
                        "type": "static_select",
                        "options": [{"text": {"type": "plain_text", "text": "o" * 76}, "value": "o"}],
                    },
                }
            ),
            "option text is 76 characters, Slack allows 75 [json-pointer:/view/blocks/0/element/options/0/text/text]",
        ),
        (_with(modal(), id="V123", hash="1.a"), "unknown field 'id' [json-pointer:/view/id]"),
    ],
    ids=[
        "type",
        "title-missing",
        "submit-long",
        "close-mrkdwn",
        "submit-missing",
        "blocks",
        "metadata",
        "callback",
        "label",
        "element",
        "option",
        "unknown",
    ],
)
def test_validate_view_catches_what_slack_rejects(view: dict[str, Any], expected: str) -> None:
    assert expected in fake_slack.validate_view(view)


def test_views_update_and_push_keep_a_stack(fake: FakeSlack, client: WebClient) -> None:
    root = open_modal(fake, client, modal(external_id="form-7"))

    updated = client.views_update(view_id=root["id"], hash=root["hash"], view=modal(text_input("Why", "why")))["view"]
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=root["id"], hash=root["hash"], view=modal())
    by_external_id = client.views_update(external_id="form-7", view=modal(title={"type": "plain_text", "text": "B"}))
    with pytest.raises(SlackApiError) as unknown:
        client.views_update(view_id="V0NOPE", view=modal())
    pushed = client.views_push(trigger_id=fake.new_trigger(ANA, view_id=root["id"]), view=modal())["view"]
    third = client.views_push(trigger_id=fake.new_trigger(ANA), view=modal())["view"]  # onto what ANA has open
    with pytest.raises(SlackApiError) as too_many:
        client.views_push(trigger_id=fake.new_trigger(ANA, view_id=root["id"]), view=modal())
    with pytest.raises(SlackApiError) as nothing_open:
        client.views_push(trigger_id=fake.new_trigger(BEN), view=modal())

    assert updated["id"] == root["id"] and updated["hash"] != root["hash"]
    assert updated["blocks"][0]["block_id"] == "why" and updated["external_id"] == "form-7"
    assert stale.value.response["error"] == "hash_conflict" and unknown.value.response["error"] == "not_found"
    assert by_external_id["view"]["title"]["text"] == "B"
    assert (pushed["root_view_id"], pushed["previous_view_id"]) == (root["id"], root["id"])
    assert (third["root_view_id"], third["previous_view_id"]) == (root["id"], pushed["id"])
    assert too_many.value.response["error"] == "push_limit_reached"
    assert nothing_open.value.response["error"] == "not_found"
    assert [v["id"] for v in fake.open_views(ANA)] == [root["id"], pushed["id"], third["id"]]
    fake.close_view(pushed["id"])  # Cancel on the second view closes it and the one above
    assert [v["id"] for v in fake.open_views(ANA)] == [root["id"]]
    fake.reset()
    assert fake.open_views() == []


def test_view_answers_close_update_push_or_keep_the_view(fake: FakeSlack, client: WebClient) -> None:
    view = open_modal(fake, client, modal(text_input("Reason", "reason"), section("context")))

    kept = fake.answer_view_submission(view["id"], 200, '{"response_action": "errors", "errors": {"reason": "Why?"}}')
    wrong_block = fake.answer_view_submission(
        view["id"], 200, json.dumps({"response_action": "errors", "errors": {"nope": "x"}})
    )
    refused = fake.answer_view_submission(view["id"], 500, "")
    late = fake.answer_view_submission(view["id"], 200, "", waited=3.5)
    updated = fake.answer_view_submission(view["id"], 200, json.dumps({"response_action": "update", "view": modal()}))
    pushed = fake.answer_view_submission(view["id"], 200, json.dumps({"response_action": "push", "view": modal()}))
    stacked = fake.open_views(ANA)
    popped = fake.answer_view_submission(stacked[-1]["id"], 200, "")
    remaining = fake.open_views(ANA)
    fake.answer_view_submission(view["id"], 200, json.dumps({"response_action": "push", "view": modal()}))
    cleared = fake.answer_view_submission(fake.open_views(ANA)[-1]["id"], 200, '{"response_action": "clear"}')

    assert (kept, wrong_block, refused, late, updated, pushed) == (
        "errors",
        "failed",
        "failed",
        "failed",
        "updated",
        "pushed",
    )
    assert len(stacked) == 2 and stacked[0]["id"] == view["id"] and stacked[0]["hash"] != view["hash"]
    assert popped == "closed" and [v["id"] for v in remaining] == [view["id"]]
    assert cleared == "cleared" and fake.open_views() == []
    problems = fake.problems
    assert len(problems) == 2
    assert "errors for ['nope']" in problems[0] and "answered after 3.5s" in problems[1]
    with pytest.raises(KeyError):
        fake.answer_view_submission(view["id"], 200, "")


def test_direct_messages_live_in_a_stable_dm_channel(fake: FakeSlack, client: WebClient) -> None:
    metadata = {"event_type": "heard_delivery", "event_payload": {"key": "dm:1"}}
    before = f"{time.time() - 1:.6f}"

    opened = client.conversations_open(users=ANA)
    again = client.conversations_open(users=[ANA], return_im=True)
    posted = client.chat_postMessage(channel=ANA, text="Follow-up due", metadata=metadata)
    reply = client.chat_postMessage(channel=ANA, text="in the thread", thread_ts=posted["ts"], metadata=metadata)
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Follow-up due (done)")
    history = client.conversations_history(channel="D0ANA", oldest=before, include_all_metadata=True)
    later = client.conversations_history(channel="D0ANA", oldest=posted["ts"])
    replies = client.conversations_replies(channel="D0ANA", ts=posted["ts"], oldest=before, include_all_metadata=True)
    link = client.chat_getPermalink(channel="D0ANA", message_ts=reply["ts"])["permalink"]
    with pytest.raises(SlackApiError) as by_user_id:
        client.chat_update(channel=ANA, ts=posted["ts"], text="x")
    with pytest.raises(SlackApiError) as to_the_bot:
        client.conversations_open(users=fake.bot_user_id)

    assert opened["channel"] == {"id": "D0ANA"} and "already_open" not in opened
    assert again["already_open"] is True and again["channel"]["is_im"] and again["channel"]["user"] == ANA
    assert posted["channel"] == "D0ANA" == fake.dm_channel(ANA) and reply["channel"] == "D0ANA"
    assert fake.dm_user("D0ANA") == ANA and fake.dm_user(CHANNEL) is None
    (dm,) = fake.dms(ANA)
    assert (dm["text"], dm["channel"], dm["metadata"]) == ("Follow-up due (done)", "D0ANA", metadata)
    assert fake.dms(BEN) == [] and fake.messages(ANA) == []
    assert [m["ts"] for m in history["messages"]] == [posted["ts"]] and history["messages"][0]["metadata"] == metadata
    assert later["messages"] == []
    assert [m["ts"] for m in replies["messages"]] == [posted["ts"], reply["ts"]]
    assert replies["messages"][1]["thread_ts"] == posted["ts"] and replies["messages"][1]["metadata"] == metadata
    assert (
        link
        == f"https://fake.slack.com/archives/D0ANA/p{reply['ts'].replace('.', '')}?thread_ts={posted['ts']}&cid=D0ANA"
    )
    assert by_user_id.value.response["error"] == "channel_not_found"
    assert to_the_bot.value.response["error"] == "cannot_dm_bot"
    (problem,) = fake.problems
    assert "chat.update: channel U0ANA is a user id" in problem


def test_replies_honour_oldest_latest_cursor_and_metadata(fake: FakeSlack, client: WebClient) -> None:
    metadata = {"event_type": "heard_delivery", "event_payload": {"key": "log:1"}}
    parent = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    first, second, third = (
        client.chat_postMessage(channel=CHANNEL, text=f"log {i}", thread_ts=parent, metadata=metadata)["ts"]
        for i in range(3)
    )

    def ts_of(**args: Any) -> list[str]:
        return [m["ts"] for m in client.conversations_replies(channel=CHANNEL, ts=parent, **args)["messages"]]

    page = client.conversations_replies(channel=CHANNEL, ts=parent, limit=2)
    rest = client.conversations_replies(
        channel=CHANNEL, ts=parent, limit=2, cursor=page["response_metadata"]["next_cursor"]
    )
    plain = client.conversations_replies(channel=CHANNEL, ts=parent)["messages"]
    with_metadata = client.conversations_replies(channel=CHANNEL, ts=parent, include_all_metadata=True)["messages"]

    assert ts_of(oldest=first) == [parent, second, third]  # the parent always leads
    assert ts_of(oldest=first, inclusive=True) == [parent, first, second, third]
    assert ts_of(latest=third) == [parent, first, second]
    assert [m["ts"] for m in page["messages"]] == [parent, first] and page["has_more"] is True
    assert [m["ts"] for m in rest["messages"]] == [second, third] and rest["has_more"] is False
    assert all("metadata" not in m for m in plain)
    assert [m.get("metadata") for m in with_metadata] == [None, metadata, metadata, metadata]
    assert all(m["thread_ts"] == parent for m in with_metadata)


def test_user_groups_and_users_info(fake: FakeSlack, client: WebClient) -> None:
    fake.set_user_group("S0CARE", [ANA, BEN])
    fake.set_user("U0EVE", real_name="Eve Example", tz="Europe/Berlin")

    members = client.usergroups_users_list(usergroup="S0CARE")["users"]
    with pytest.raises(SlackApiError) as unknown_group:
        client.usergroups_users_list(usergroup="S0NOPE")
    ana = client.users_info(user=ANA)["user"]
    eve = client.users_info(user="U0EVE")["user"]
    bot = client.users_info(user=fake.bot_user_id)["user"]
    with pytest.raises(SlackApiError) as not_a_user:
        client.users_info(user=CHANNEL)
    with pytest.raises(ValueError, match="S0123ABC"):
        fake.set_user_group("care", [ANA])

    assert members == [ANA, BEN] and SlackDirect(client).group_members("S0CARE") == {ANA, BEN}  # as Heard reads it
    assert unknown_group.value.response["error"] == "no_such_subteam"
    assert (ana["id"], ana["name"], ana["real_name"], ana["tz"]) == (ANA, "ana", "Ana", fake_slack.DEFAULT_USER_TZ)
    assert isinstance(ana["tz_offset"], int) and ana["tz_label"] and ana["is_bot"] is False
    assert ana["profile"]["display_name"] == "ana" and ana["team_id"] == fake.team_id
    assert (eve["real_name"], eve["tz"], eve["tz_offset"] in (3600, 7200)) == ("Eve Example", "Europe/Berlin", True)
    assert bot["is_bot"] is True and bot["profile"]["bot_id"] == fake.bot_id
    assert not_a_user.value.response["error"] == "user_not_found"
    assert fake.problems == []


def test_users_info_marks_guests_as_slack_does_and_heard_reads_them(fake: FakeSlack, client: WebClient) -> None:
    fake.set_user("U0GUS", guest="multi-channel")
    fake.set_user("U0SOL", guest="single-channel")
    with pytest.raises(ValueError, match="multi-channel"):
        fake.set_user("U0MAY", guest="maybe")

    flags = {
        user: (found["is_restricted"], found["is_ultra_restricted"])
        for user in (ANA, "U0GUS", "U0SOL")
        for found in [client.users_info(user=user)["user"]]
    }

    assert flags == {ANA: (False, False), "U0GUS": (True, False), "U0SOL": (True, True)}
    direct = SlackDirect(client)
    assert [direct.is_guest(user) for user in (ANA, "U0GUS", "U0SOL")] == [False, True, True]


# -- driving modals --------------------------------------------------------------------------------------------


def every_input_modal() -> dict[str, Any]:
    def block(label: str, block_id: str, element: dict[str, Any], optional: bool = False) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": {"action_id": block_id, **element},
        }

    def option(text: str, value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": text}, "value": value}

    return modal(
        section("Pick"),
        block("Date", "date", {"type": "datepicker", "initial_date": "2026-11-24"}),
        block("Time", "time", {"type": "timepicker"}, optional=True),
        block("Who", "who", {"type": "users_select"}, optional=True),
        block("Channels", "where", {"type": "multi_channels_select"}, optional=True),
        block("Tags", "tags", {"type": "checkboxes", "options": [option("Urgent", "u"), option("VIP", "v")]}, True),
        block(
            "Area",
            "area",
            {
                "type": "static_select",
                "option_groups": [
                    {"label": {"type": "plain_text", "text": "Money"}, "options": [option("Refunds", "refunds")]}
                ],
            },
            optional=True,
        ),
        block("Count", "count", {"type": "number_input", "is_decimal_allowed": False}, optional=True),
        block("Note", "note", {"type": "plain_text_input", "max_length": 10, "initial_value": "hello"}, True),
    )


def test_view_submission_payload_fills_inputs_by_label(fake: FakeSlack, client: WebClient) -> None:
    escalate = open_modal(fake, client, modals.escalate_modal("7.2", "summary", DEPARTMENTS))
    follow_up = open_modal(fake, client, modals.follow_up_modal("7.2", "s", dt.date(2026, 11, 25), dt.time(10), "UTC"))
    reassign = open_modal(fake, client, modals.reassign_modal("7.2", "summary", ANA))
    everything = open_modal(fake, client, every_input_modal())

    payload = view_submission_payload(
        fake, escalate, ANA, {"Department": "Legal (needs approval)", "Reason": "Threatens to sue"}, user_name="ana"
    )
    picked = view_submission_payload(fake, follow_up, ANA, {"Date": dt.date(2026, 12, 1), "Note": "Call back"})
    kept = view_submission_payload(fake, reassign, ANA, {})
    changed = view_submission_payload(fake, reassign, ANA, {"New owner": BEN})
    filled = view_submission_payload(
        fake,
        everything,
        ANA,
        {"Time": dt.time(9, 5), "Who": BEN, "Channels": [CHANNEL], "Tags": ["VIP"], "Area": "Refunds", "Count": 3},
    )

    assert {k: payload[k] for k in ("type", "api_app_id", "token", "response_urls")} == {
        "type": "view_submission",
        "api_app_id": fake.app_id,
        "token": "fake-verification-token",
        "response_urls": [],
    }
    assert payload["user"] == {"id": ANA, "username": "ana", "name": "ana", "team_id": fake.team_id}
    assert payload["team"] == {"id": fake.team_id, "domain": fake.team_domain}
    submitted = payload["view"]
    assert {k: v for k, v in submitted.items() if k != "state"} == {k: v for k, v in escalate.items() if k != "state"}
    assert submitted["state"]["values"] == {
        "department": {
            "department": {
                "type": "static_select",
                "selected_option": escalate["blocks"][1]["element"]["options"][0],
            }
        },
        "reason": {"reason": {"type": "plain_text_input", "value": "Threatens to sue"}},
        "severity": {
            "severity": {"type": "static_select", "selected_option": escalate["blocks"][3]["element"]["initial_option"]}
        },
    }
    assert modals.submitted_value(submitted, "department") == "legal"  # what Heard reads from it
    assert modals.submitted_value(submitted, "severity") == "medium"
    assert picked["view"]["state"]["values"] == {
        "date": {"date": {"type": "datepicker", "selected_date": "2026-12-01"}},
        "time": {"time": {"type": "timepicker", "selected_time": "10:00"}},
        "note": {"note": {"type": "plain_text_input", "value": "Call back"}},
    }
    assert kept["view"]["state"]["values"] == {"assignee": {"assignee": {"type": "users_select", "selected_user": ANA}}}
    assert modals.submitted_value(changed["view"], "assignee") == BEN
    assert filled["view"]["state"]["values"] == {
        "date": {"date": {"type": "datepicker", "selected_date": "2026-11-24"}},
        "time": {"time": {"type": "timepicker", "selected_time": "09:05"}},
        "who": {"who": {"type": "users_select", "selected_user": BEN}},
        "where": {"where": {"type": "multi_channels_select", "selected_channels": [CHANNEL]}},
        "tags": {
            "tags": {
                "type": "checkboxes",
                "selected_options": [{"text": {"type": "plain_text", "text": "VIP"}, "value": "v"}],
            }
        },
        "area": {
            "area": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Refunds"}, "value": "refunds"},
            }
        },
        "count": {"count": {"type": "number_input", "value": "3"}},
        "note": {"note": {"type": "plain_text_input", "value": "hello"}},
    }
    # The submission's trigger opens views too (e.g. views.push from inside the modal).
    client.views_push(trigger_id=payload["trigger_id"], view=modal())
    assert fake.open_views(ANA)[-1]["previous_view_id"] == escalate["id"]
    assert fake.problems == []


@pytest.mark.parametrize(
    ("user", "values", "message"),
    [
        (ANA, {"Departement": "Legal"}, r"no input labelled \['Departement'\].*'Department', 'Reason', 'Severity'"),
        (ANA, {"Department": "Legal", "Reason": "x"}, r"no option 'Legal' in 'Department'.*'Legal \(needs approval\)'"),
        (ANA, {"Department": "Product"}, r"required inputs empty: \['Reason'\]"),
        (ANA, {"Department": "Product", "Reason": "x" * 2001}, r"'Reason' takes at most 2000 characters"),
        (BEN, {}, r"not open in U0BEN's Slack"),
    ],
    ids=["label", "option", "required", "too-long", "someone-else"],
)
def test_view_submission_payload_refuses_what_slack_would_not_send(
    fake: FakeSlack, client: WebClient, user: str, values: dict[str, Any], message: str
) -> None:
    escalate = open_modal(fake, client, modals.escalate_modal("7.2", "summary", DEPARTMENTS))

    with pytest.raises(AssertionError, match=message):
        view_submission_payload(fake, escalate, user, values)


def test_view_submission_payload_can_skip_the_required_check(fake: FakeSlack, client: WebClient) -> None:
    escalate = open_modal(fake, client, modals.escalate_modal("7.2", "summary", DEPARTMENTS))

    payload = view_submission_payload(fake, escalate, ANA, {"Department": "Product"}, require_inputs=False)

    assert payload["view"]["state"]["values"]["reason"] == {"reason": {"type": "plain_text_input", "value": None}}


class _Answering(BaseHTTPRequestHandler):
    """Stands in for Heard's /slack/events: checks the signature like Bolt, keeps the payload, answers the next of
    ``answers`` (a JSON body, or "" for a plain ack)."""

    received: ClassVar[list[dict[str, Any]]] = []
    answers: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = SignatureVerifier("secret").is_valid(
            body=body.decode(),
            timestamp=self.headers["X-Slack-Request-Timestamp"],
            signature=self.headers["X-Slack-Signature"],
        )
        answer = self.answers.pop(0).encode() if valid else b""
        if valid:
            self.received.append(json.loads(parse_qs(body.decode())["payload"][0]))
        self.send_response(200 if valid else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[str]:
    _Answering.received, _Answering.answers = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()


def test_submit_view_posts_a_signed_submission_and_the_answer_decides(
    fake: FakeSlack, client: WebClient, answering: str
) -> None:
    driver = SlackDriver(answering, "secret", fake)
    reassign = open_modal(fake, client, modals.reassign_modal("7.2", "summary", None))
    _Answering.answers += [json.dumps({"response_action": "errors", "errors": {"assignee": "Not on the team"}}), ""]

    refused = driver.submit_view(reassign, ANA, {"New owner": "U0EVE"})
    still_open = fake.open_views(ANA)
    accepted = driver.submit_view(reassign, ANA, {"New owner": BEN})

    assert refused.status == 200 and refused.field_errors() == {"assignee": "Not on the team"}
    assert [v["id"] for v in still_open] == [reassign["id"]]
    assert accepted.status == 200 and accepted.body == "" and accepted.field_errors() == {}
    assert fake.open_views(ANA) == []  # an empty ack closes the modal
    first, second = _Answering.received
    assert first == refused.payload and second == accepted.payload
    assert modals.submitted_value(first["view"], "assignee") == "U0EVE"
    assert modals.submitted_value(second["view"], "assignee") == BEN
    with pytest.raises(AssertionError, match="not open"):
        driver.submit_view(reassign, ANA, {"New owner": BEN})
    assert fake.problems == []


def test_clicks_in_a_dm_come_from_its_owner_and_open_modals(fake: FakeSlack, client: WebClient, answering: str) -> None:
    driver = SlackDriver(answering, "secret", fake)
    client.chat_postMessage(channel=ANA, text="Follow-up due", blocks=card(button("Done", "follow_up_done", "4")))
    (dm,) = fake.dms(ANA)
    _Answering.answers.append("")

    clicked = driver.click("Done", on=dm, channel=dm["channel"], user=ANA)
    client.views_open(trigger_id=_Answering.received[0]["trigger_id"], view=modal())
    with pytest.raises(AssertionError, match="U0ANA's DM with the bot; U0BEN cannot see it"):
        driver.click("Done", on=dm, channel=dm["channel"], user=BEN)

    payload = clicked.payload
    assert payload is not None and payload == _Answering.received[0]
    assert payload["channel"] == {"id": "D0ANA", "name": "directmessage"}
    assert payload["container"]["channel_id"] == "D0ANA" and "channel" not in payload["message"]
    assert payload["actions"][0]["value"] == "4"
    assert len(fake.open_views(ANA)) == 1
    WebhookClient(payload["response_url"]).send(text="Marked done", replace_original=True)
    assert fake.dms(ANA)[0]["text"] == "Marked done"
    assert fake.problems == []


def test_socket_mode_submit_view_the_ack_payload_decides(fake: FakeSlack, client: WebClient) -> None:
    escalate = open_modal(fake, client, modals.escalate_modal("7.2", "summary", DEPARTMENTS))
    driver = SocketModeDriver(fake)
    ws = RawWebSocket(socket_url(fake))
    try:
        ws.receive_json()  # hello

        refused_id = driver.submit_view(escalate, ANA, {"Department": "Product", "Reason": " "})
        refused = ws.receive_json()
        errors = {"response_action": "errors", "errors": {"reason": "Say why"}}
        ws.send_json({"envelope_id": refused_id, "payload": errors})
        field_errors = driver.field_errors(refused_id)
        still_open = fake.open_views(ANA)
        accepted_id = driver.submit_view(escalate, ANA, {"Department": "Product", "Reason": "Crash"})
        ws.receive_json()
        ws.send_json({"envelope_id": accepted_id})
        accepted_errors = driver.field_errors(accepted_id)
    finally:
        ws.close()

    assert refused["type"] == "interactive" and refused["accepts_response_payload"] is True
    assert refused["payload"] == driver.payloads[refused_id] and refused["payload"]["type"] == "view_submission"
    assert field_errors == {"reason": "Say why"} and [v["id"] for v in still_open] == [escalate["id"]]
    assert accepted_errors == {} and fake.open_views(ANA) == []
    assert fake.problems == []


# ---------------------------------------------------------------------------------------------------------
# Files, App Home, slash commands
# ---------------------------------------------------------------------------------------------------------

# A 1x1 PNG, as the daily digest's chart would be (only bigger).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def test_files_upload_v2_shares_a_chart_in_a_channel_and_a_thread(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="Daily digest")["ts"]

    uploaded = client.files_upload_v2(
        channel=CHANNEL,
        file=PNG,
        filename="digest.png",
        title="Complaints today",
        alt_txt="Bar chart: complaints per hour",
        initial_comment="Today: 12 complaints, all heard",
    )
    in_thread = client.files_upload_v2(
        channel=CHANNEL, content="hour,count\n9,3\n", filename="digest.csv", thread_ts=parent
    )
    info = client.files_info(file=uploaded["file"]["id"])["file"]

    chart_id = uploaded["file"]["id"]
    assert chart_id.startswith("F") and uploaded["file"]["title"] == "Complaints today"
    _, message = fake.messages(CHANNEL)
    assert message["text"] == "Today: 12 complaints, all heard" and message["upload"] is True
    assert message["user"] == fake.bot_user_id
    (shown,) = message["files"]
    assert {k: shown[k] for k in ("id", "name", "title", "mimetype", "size", "alt_txt")} == {
        "id": chart_id,
        "name": "digest.png",
        "title": "Complaints today",
        "mimetype": "image/png",
        "size": len(PNG),
        "alt_txt": "Bar chart: complaints per hour",
    }
    assert shown["permalink"] == info["permalink"] and shown["is_public"] is True
    assert info["channels"] == [CHANNEL] and info["shares"]["public"][CHANNEL][0]["ts"] == message["ts"]
    chart, table = fake.files()
    assert chart["content"] == PNG and fake.file(chart_id) == chart
    assert (chart["title"], chart["alt_txt"], chart["channels"], chart["thread_ts"]) == (
        "Complaints today",
        "Bar chart: complaints per hour",
        [CHANNEL],
        None,
    )
    assert chart["shares"] == [{"channel": CHANNEL, "ts": message["ts"]}]
    assert (table["content"], table["title"], table["thread_ts"]) == (b"hour,count\n9,3\n", "digest.csv", parent)
    (reply,) = fake.replies(CHANNEL, parent)
    assert reply["files"][0]["id"] == in_thread["file"]["id"] and reply["files"][0]["mimetype"] == "text/csv"
    methods = [c.method for c in fake.calls[1:4]]
    assert methods == ["files.getUploadURLExternal", "upload_url", "files.completeUploadExternal"]
    get_url, upload, complete = fake.calls[1:4]
    assert get_url.args == {
        "filename": "digest.png",
        "length": str(len(PNG)),
        "alt_txt": "Bar chart: complaints per hour",
    }
    assert upload.args["size"] == len(PNG) and upload.args["url"].startswith(fake.url + "/upload/v1/")
    assert complete.args["files"] == [{"id": chart_id, "title": "Complaints today"}]
    assert fake.problems == []


def test_files_upload_v2_to_a_users_dm(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as by_user_id:
        client.files_upload_v2(channel=ANA, file=PNG, filename="digest.png")  # Slack wants a channel id there
    to_user = client.files_upload_v2(
        channels=[ANA], file=PNG, filename="digest.png", alt_txt="Your complaints", initial_comment="Your digest"
    )
    dm = client.conversations_open(users=BEN)["channel"]["id"]
    to_dm = client.files_upload_v2(channel=dm, file=PNG, filename="digest.png", initial_comment="Yours, Ben")

    assert by_user_id.value.response["error"] == "invalid_arguments"
    assert by_user_id.value.response["response_metadata"]["messages"] == [
        "[ERROR] input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]"
    ]
    (ana_dm,) = fake.dms(ANA)
    assert ana_dm["text"] == "Your digest" and ana_dm["files"][0]["id"] == to_user["file"]["id"]
    assert ana_dm["files"][0]["alt_txt"] == "Your complaints" and ana_dm["files"][0]["is_public"] is False
    (ben_dm,) = fake.dms(BEN)
    assert ben_dm["text"] == "Yours, Ben" and ben_dm["files"][0]["id"] == to_dm["file"]["id"]
    assert to_user["file"]["ims"] == ["D0ANA"] and to_dm["file"]["ims"] == ["D0BEN"]
    assert [(f["channels"], f["content"]) for f in fake.files()] == [(["D0ANA"], PNG), (["D0BEN"], PNG)]
    # The refused completion left its upload behind, never completed (Slack discards such files).
    (abandoned,) = [f for f in fake.files(include_incomplete=True) if not f["completed"]]
    assert abandoned["content"] == PNG and abandoned["channels"] == []
    (problem,) = fake.problems
    assert "channel_id 'U0ANA' is not a channel id" in problem and "D0ANA" in problem


def test_files_delete_removes_the_file_and_its_shares_as_slack_does(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="Complaint #1")["ts"]
    evidence = client.files_upload_v2(
        channel=client.conversations_open(users=ANA)["channel"]["id"],
        content='{"complaint": 1}',
        filename="evidence.json",
        initial_comment="Evidence kept by Ana",
    )["file"]["id"]
    in_thread = client.files_upload_v2(channel=CHANNEL, content="a,b\n", filename="t.csv", thread_ts=parent)
    kept = client.files_upload_v2(channel=CHANNEL, content="x", filename="kept.txt")["file"]["id"]
    fake.protect_file(kept)

    assert client.files_delete(file=evidence)["ok"] and client.files_delete(file=in_thread["file"]["id"])["ok"]
    with pytest.raises(SlackApiError) as again:
        client.files_delete(file=evidence)
    with pytest.raises(SlackApiError) as unknown:
        client.files_delete(file="F0NOPE")
    with pytest.raises(SlackApiError) as someone_elses:
        client.files_delete(file=kept)

    assert again.value.response["error"] == "file_deleted" and unknown.value.response["error"] == "file_not_found"
    assert someone_elses.value.response["error"] == "cant_delete_file"
    assert [f["id"] for f in fake.files()] == [kept] and fake.deleted_files() == [evidence, in_thread["file"]["id"]]
    with pytest.raises(KeyError):
        fake.file(evidence)
    with pytest.raises(SlackApiError) as info:
        client.files_info(file=evidence)
    assert info.value.response["error"] == "file_not_found"
    # The shares went with the files: the DM is empty again, and so is the thread.
    assert fake.messages(fake.dm_channel(ANA)) == []
    assert fake.replies(CHANNEL, parent) == []
    assert fake.message(CHANNEL, parent).get("reply_count", 0) == 0
    assert [m.get("files", [{}])[0].get("id") for m in fake.messages(CHANNEL) if m.get("files")] == [kept]
    assert fake.problems == []


def _post_bytes(url: str, data: bytes, content_type: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_upload_urls_check_the_length_and_completion_happens_once(fake: FakeSlack, client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="digest.png", length=len(PNG))

    short = _post_bytes(ticket["upload_url"], PNG[:10])
    with pytest.raises(SlackApiError) as nothing_uploaded:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])
    uploaded = _post_bytes(ticket["upload_url"], PNG)
    again = _post_bytes(ticket["upload_url"], PNG)
    private = client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "Digest"}])
    with pytest.raises(SlackApiError) as completed_twice:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id=CHANNEL)
    with pytest.raises(SlackApiError) as unknown:
        client.files_info(file="F0NOPE")
    with pytest.raises(SlackApiError) as empty:
        client.files_getUploadURLExternal(filename="empty.txt", length=0)
    made_up = _post_bytes(fake.url + "/upload/v1/not-a-ticket", PNG)

    assert short == (400, "length_mismatch") and uploaded == (200, f"OK - {len(PNG)}")
    assert again == (400, "already_uploaded") and made_up == (404, "invalid_upload_url")
    assert nothing_uploaded.value.response["error"] == "file_not_found"
    assert completed_twice.value.response["error"] == "file_not_found"
    assert unknown.value.response["error"] == "file_not_found" and empty.value.response["error"] == "missing_argument"
    (stored,) = fake.files()
    assert private["files"][0]["id"] == stored["id"] and stored["title"] == "Digest"
    assert stored["content"] == PNG and stored["channels"] == [] and fake.messages(CHANNEL) == []
    assert [c.status for c in fake.calls_to("upload_url")] == [400, 200, 400, 404]
    expected = ["10 bytes", "nothing was uploaded", "uploaded already", "completed already", "length 0", "never handed"]
    problems = fake.problems
    assert len(problems) == len(expected), problems
    for problem, words in zip(problems, expected, strict=True):
        assert words in problem, problems


def test_upload_urls_take_a_multipart_form_too(fake: FakeSlack, client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="digest.png", length=len(PNG))
    boundary = "heard-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="filename"; filename="digest.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + PNG
        + f"\r\n--{boundary}--\r\n".encode()
    )

    answer = _post_bytes(ticket["upload_url"], body, f"multipart/form-data; boundary={boundary}")
    client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id=CHANNEL)

    assert answer == (200, f"OK - {len(PNG)}")
    assert fake.file(ticket["file_id"])["content"] == PNG
    assert fake.messages(CHANNEL)[0]["files"][0]["size"] == len(PNG)
    assert fake.problems == []


def home(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "home", "blocks": list(blocks) or [section("*3* complaints open")], **fields}


def test_views_publish_keeps_each_users_home(fake: FakeSlack, client: WebClient) -> None:
    first = client.views_publish(user_id=ANA, view=home(callback_id="home", private_metadata="v1"))["view"]
    with pytest.raises(SlackApiError) as stale:
        client.views_publish(user_id=ANA, hash="1.stale", view=home())
    second = client.views_publish(user_id=ANA, hash=first["hash"], view=home(section("*4* open")))["view"]
    with pytest.raises(SlackApiError) as too_many:
        client.views_publish(user_id=ANA, view=home(*[section(str(i)) for i in range(101)]))
    with pytest.raises(SlackApiError) as a_modal:
        client.views_publish(user_id=BEN, view=modal())
    with pytest.raises(SlackApiError) as not_a_user:
        client.views_publish(user_id=CHANNEL, view=home())

    assert (first["type"], first["callback_id"], first["private_metadata"]) == ("home", "home", "v1")
    assert first["id"].startswith("V") and first["blocks"][0]["block_id"]
    assert stale.value.response["error"] == "hash_conflict"
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    assert fake.home(ANA) == second and fake.home(ANA)["blocks"][0]["text"]["text"] == "*4* open"
    assert fake.home(BEN) is None
    assert too_many.value.response["error"] == "invalid_arguments"
    assert too_many.value.response["response_metadata"]["messages"] == [
        "[ERROR] 101 blocks, Slack allows 100 [json-pointer:/view/blocks]"
    ]
    assert a_modal.value.response["error"] == "invalid_arguments"
    assert not_a_user.value.response["error"] == "user_not_found"
    problems = fake.problems
    # 101 blocks; the type, title, submit and close of modal(); the channel id.
    assert len(problems) == 1 + 4 + 1, problems
    assert "views.publish: view type must be 'home', not 'modal' [json-pointer:/view/type]" in problems
    fake.reset()
    assert fake.home(ANA) is None


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (home(type="modal"), "view type must be 'home', not 'modal' [json-pointer:/view/type]"),
        ({"type": "home"}, "a home view needs blocks [json-pointer:/view/blocks]"),
        (
            home(title={"type": "plain_text", "text": "Heard"}),
            "title is for modals; a home view has none [json-pointer:/view/title]",
        ),
        (home(private_metadata="m" * 3001), "private_metadata is 3001 characters, Slack allows 3000"),
        (home({"type": "header", "text": {"type": "mrkdwn", "text": "x"}}), "header text must be plain_text"),
        (home(hash="1.a"), "unknown field 'hash' [json-pointer:/view/hash]"),
    ],
    ids=["type", "blocks", "title", "metadata", "block", "unknown"],
)
def test_validate_view_checks_home_views(view: dict[str, Any], expected: str) -> None:
    problems = fake_slack.validate_view(view, kind="home")

    assert any(expected in p for p in problems), problems


def test_a_home_view_is_valid_for_home_only() -> None:
    full = home(section("hi"), {"type": "divider"}, callback_id="home", external_id="home-ana", private_metadata="x")

    assert fake_slack.validate_view(full, kind="home") == []
    assert "view type must be 'modal', not 'home' [json-pointer:/view/type]" in fake_slack.validate_view(full)


class _SlackRequests(BaseHTTPRequestHandler):
    """Stands in for Heard's /slack/events for any request: checks the signature like Bolt, keeps the content type
    and body, and answers the next of ``answers`` (a JSON body; "" or none left: a plain ack)."""

    received: ClassVar[list[tuple[str, bytes]]] = []
    answers: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = SignatureVerifier("secret").is_valid(
            body=body.decode(),
            timestamp=self.headers["X-Slack-Request-Timestamp"],
            signature=self.headers["X-Slack-Signature"],
        )
        answer = (self.answers.pop(0) if self.answers else "").encode() if valid else b""
        if valid:
            self.received.append((self.headers["Content-Type"], body))
        self.send_response(200 if valid else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def slack_requests() -> Iterator[str]:
    _SlackRequests.received, _SlackRequests.answers = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlackRequests)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()


COMMAND_FIELDS = [
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
]


def test_slash_commands_are_signed_forms_and_the_answers_show(
    fake: FakeSlack, client: WebClient, slack_requests: str
) -> None:
    driver = SlackDriver(slack_requests, "secret", fake)
    _SlackRequests.answers += [
        "",
        json.dumps({"text": "Only you see this"}),
        json.dumps({"response_type": "in_channel", "text": "3 complaints open"}),
    ]

    acked = driver.command("/complaints", "open", user=ANA, channel=CHANNEL, user_name="ana")
    client.views_open(trigger_id=acked.payload["trigger_id"], view=modal())  # the command's trigger opens a modal
    later = WebhookClient(acked.payload["response_url"])
    private = later.send(text="Working on it")
    public = later.send_dict({"response_type": "in_channel", "text": "Ana looked at the open complaints"})
    cannot_replace = later.send(text="x", replace_original=True)  # a command has no message to replace
    ephemeral = driver.command("/complaints", "mine", user=ANA, channel=CHANNEL)
    in_channel = driver.command("/complaints", "count", user=BEN, channel=CHANNEL)

    content_type, body = _SlackRequests.received[0]
    assert content_type == "application/x-www-form-urlencoded"
    form = parse_qs(body.decode(), keep_blank_values=True)
    assert list(form) == COMMAND_FIELDS  # Slack's fields, in Slack's order
    fields = {k: v[0] for k, v in form.items()}
    assert fields == acked.payload
    assert (fields["command"], fields["text"], fields["user_id"], fields["user_name"]) == (
        "/complaints",
        "open",
        ANA,
        "ana",
    )
    assert (fields["channel_id"], fields["channel_name"]) == (CHANNEL, CHANNEL.lower())
    assert (fields["team_id"], fields["team_domain"], fields["api_app_id"]) == (
        fake.team_id,
        fake.team_domain,
        fake.app_id,
    )
    assert fields["is_enterprise_install"] == "false" and fields["response_url"].startswith(fake.url + "/response/")
    assert (acked.status, acked.answer(), acked.outcome) == (200, None, "acked")
    assert len(fake.open_views(ANA)) == 1
    assert (private.status_code, public.status_code, cannot_replace.status_code) == (200, 200, 404)
    assert ephemeral.answer() == {"text": "Only you see this"} and ephemeral.outcome == "ephemeral"
    assert in_channel.answer() == {"response_type": "in_channel", "text": "3 complaints open"}
    assert in_channel.outcome == "in_channel"
    assert [(e["text"], e["source"]) for e in fake.ephemerals(CHANNEL, ANA)] == [
        ("Working on it", "response_url"),
        ("Only you see this", "command"),
    ]
    assert fake.ephemerals(CHANNEL, BEN) == []
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["Ana looked at the open complaints", "3 complaints open"]
    (problem,) = fake.problems
    assert "replace_original/delete_original on a response_url without a message" in problem


def test_command_answers_slack_cannot_show(fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    invalid = json.dumps({"text": "x", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]})

    plain_text = fake.answer_command(CHANNEL, ANA, 200, "Plain text works too")
    refused = fake.answer_command(CHANNEL, ANA, 500, "")
    late = fake.answer_command(CHANNEL, ANA, 200, '{"text": "too late"}', waited=fake_slack.COMMAND_DEADLINE + 0.5)
    bad_blocks = fake.answer_command(CHANNEL, ANA, 200, invalid)
    empty = fake.answer_command(CHANNEL, ANA, 200, '{"response_type": "in_channel"}')

    assert (plain_text, refused, late, bad_blocks, empty) == ("ephemeral", "failed", "failed", "failed", "failed")
    assert [e["text"] for e in fake.ephemerals(CHANNEL, ANA)] == ["Plain text works too"]
    assert fake.messages(CHANNEL) == []
    problems = fake.problems
    assert len(problems) == 3, problems
    assert "came after 3.5s" in problems[0] and "must be plain_text" in problems[1] and "without text" in problems[2]
    with pytest.raises(AssertionError, match="a / and a word"):
        slack_driver.slash_command_payload(fake, "complaints", user=ANA, channel=CHANNEL)
    with pytest.raises(AssertionError, match="U0ANA's DM with the bot"):
        slack_driver.slash_command_payload(fake, "/complaints", user=BEN, channel=fake.dm_channel(ANA))
    in_dm = slack_driver.slash_command_payload(fake, "/complaints", user=ANA, channel=fake.dm_channel(ANA))
    assert in_dm["channel_name"] == "directmessage"


def test_open_home_sends_a_signed_app_home_opened_event(
    fake: FakeSlack, client: WebClient, slack_requests: str
) -> None:
    driver = SlackDriver(slack_requests, "secret", fake)

    before = driver.open_home(ANA)
    published = client.views_publish(user_id=ANA, view=home())["view"]
    after = driver.open_home(ANA)
    messages_tab = driver.open_home(BEN, tab="messages")

    (content_type, body), *_ = _SlackRequests.received
    assert content_type == "application/json"
    callback = json.loads(body)
    assert callback == before.payload
    assert (callback["type"], callback["team_id"], callback["api_app_id"]) == (
        "event_callback",
        fake.team_id,
        fake.app_id,
    )
    assert callback["event_id"].startswith("Ev") and isinstance(callback["event_time"], int)
    assert callback["authorizations"][0]["user_id"] == fake.bot_user_id
    event = callback["event"]
    assert {k: event[k] for k in ("type", "user", "channel", "tab")} == {
        "type": "app_home_opened",
        "user": ANA,
        "channel": "D0ANA",
        "tab": "home",
    }
    assert "view" not in event and event["event_ts"]
    assert after.payload is not None and after.payload["event"]["view"] == published
    assert after.payload["event_id"] != callback["event_id"]
    assert messages_tab.payload is not None and messages_tab.payload["event"]["tab"] == "messages"
    assert [r.status for r in (before, after, messages_tab)] == [200, 200, 200]
    assert fake.problems == []


def test_socket_mode_commands_and_home_events(fake: FakeSlack, client: WebClient) -> None:
    client.views_publish(user_id=ANA, view=home())
    driver = SocketModeDriver(fake)
    ws = RawWebSocket(socket_url(fake))
    try:
        ws.receive_json()  # hello

        command_id = driver.command("/complaints", "open", user=ANA, channel=CHANNEL)
        command = ws.receive_json()
        ws.send_json({"envelope_id": command_id, "payload": {"text": "3 complaints open"}})
        driver.ack(command_id)
        public_id = driver.command("/complaints", "count", user=ANA, channel=CHANNEL)
        ws.receive_json()
        ws.send_json({"envelope_id": public_id, "payload": {"response_type": "in_channel", "text": "3 open"}})
        driver.ack(public_id)
        home_id = driver.open_home(ANA)
        opened = ws.receive_json()
        ws.send_json({"envelope_id": home_id})
        driver.ack(home_id)
    finally:
        ws.close()

    assert (command["type"], command["accepts_response_payload"]) == ("slash_commands", True)
    assert command["payload"] == driver.payloads[command_id] and list(command["payload"]) == COMMAND_FIELDS
    assert [e["text"] for e in fake.ephemerals(CHANNEL, ANA)] == ["3 complaints open"]
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["3 open"]
    assert (opened["type"], opened["accepts_response_payload"]) == ("events_api", False)
    assert opened["payload"]["type"] == "event_callback"
    assert opened["payload"]["event"]["type"] == "app_home_opened" and opened["payload"]["event"]["view"] == fake.home(
        ANA
    )
    assert fake.problems == []
