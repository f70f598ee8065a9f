"""The fake Slack behaves like Slack towards a real slack_sdk client, so end-to-end tests can trust it."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from sandbox.fake_slack import FakeSlack, validate_blocks
from sandbox.slack_driver import SlackDriver

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
