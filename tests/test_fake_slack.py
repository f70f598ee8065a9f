"""The fake Slack behaves like Slack towards a real slack_sdk client, so end-to-end tests can trust it."""

from __future__ import annotations

import json
import os
import queue
import socket
import struct
import threading
import time
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

from sandbox import fake_slack
from sandbox.fake_slack import FakeSlack, validate_blocks
from sandbox.slack_driver import SlackDriver, SocketModeDriver

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
    with FakeSlack(bot_token=TOKEN) as fake:
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
        client.api_call("users.info", params={"user": "U0ANA"})
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
