"""The sandbox without a browser: `python app.py` with no Slack credentials, its settings, and the HTTP API its page
uses (every person's action goes to Heard signed, as Slack sends it; what they see comes from the fake Slack)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from sandbox import build_sample, customers, interactions
from sandbox.fake_graph import sign
from sandbox.fake_slack import FakeSlack
from sandbox.server import Sandbox, start
from sandbox.settings import SandboxSecrets, has_slack_credentials, heard_environment, read_environment
from sandbox.slack_driver import block_actions_payload
from sandbox.workspace import AGENT_A, AGENT_B, COMPLAINTS, MANAGER

ROOT = Path(__file__).resolve().parent.parent


# -- python app.py, and what the sandbox is allowed to read --------------------------------------------------------


def test_without_slack_credentials_app_py_starts_the_sandbox_and_prints_its_address(tmp_path: Path) -> None:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "MPLCONFIGDIR": str(tmp_path / "matplotlib"),
        "PORT": "0",
        # A production database in the environment is never the sandbox's.
        "DATABASE_URL": "postgresql+psycopg://heard@prod.invalid:5432/heard",
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline() for _ in range(3)]
        address = re.search(r"Open (http://127\.0\.0\.1:\d+/)", "".join(printed))
        assert address, printed
        with urllib.request.urlopen(address.group(1), timeout=10) as page:
            assert "This is a sandbox" in page.read().decode()
        assert (tmp_path / "heard-sandbox.db").is_file()
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors


def test_any_slack_credential_in_the_environment_or_env_file_means_the_real_thing(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    assert not has_slack_credentials(read_environment({}, env_file=ROOT / ".env.example"))  # copied, not filled in
    env_file.write_text("SLACK_BOT_TOKEN=xoxb-123\n")
    assert has_slack_credentials(read_environment({}, env_file=env_file))
    assert has_slack_credentials({"SLACK_APP_TOKEN": "xapp-1"})
    assert not has_slack_credentials({"SLACK_BOT_TOKEN": "  ", "DATABASE_URL": "sqlite:///x.db"})


def test_the_sandbox_takes_policy_from_the_environment_and_nothing_else(tmp_path: Path) -> None:
    keys = SandboxSecrets()
    environment = heard_environment(
        api_url="http://127.0.0.1:1/api/",
        database_path=tmp_path / "heard-sandbox.db",
        keys=keys,
        policy={
            "ACK_WINDOW": "10m",
            "DATABASE_URL": "postgresql+psycopg://heard@prod/heard",
            "SLACK_BOT_TOKEN": "xoxb-production",
            "HEARD_CHANNEL": "C0PRODUCTION",
            "X_BEARER_TOKEN": "AAAA",
            "INGEST_SECRET": "production-ingest-secret-0123456789ab",
            "META_APP_SECRET": "production-app-secret-0123456789",
            "META_GRAPH_URL": "https://graph.facebook.com/v23.0/",
            "META_PAGE_TOKEN": "EAAproduction",
        },
        graph_url="http://127.0.0.1:2/v23.0/",
    )

    assert environment["ACK_WINDOW"] == "10m" and environment["NAG_BEFORE"] == "2m,1m"
    assert environment["DATABASE_URL"] == f"sqlite:///{(tmp_path / 'heard-sandbox.db').resolve()}"
    assert environment["SLACK_BOT_TOKEN"] == keys.bot_token and environment["HEARD_CHANNEL"] == COMPLAINTS.id
    assert environment["INGEST_SECRET"] == keys.ingest_secret
    assert "X_BEARER_TOKEN" not in environment and "SLACK_APP_TOKEN" not in environment
    # Meta's side is the fake Graph API's, with the run's own made-up secrets.
    assert environment["META_GRAPH_URL"] == "http://127.0.0.1:2/v23.0/"
    assert environment["META_APP_SECRET"] == keys.meta_app_secret and len(keys.meta_app_secret) == 32
    assert environment["META_PAGE_TOKEN"] == keys.meta_page_token
    assert "META_APP_SECRET" not in heard_environment(
        api_url="http://127.0.0.1:1/api/", database_path=tmp_path / "heard-sandbox.db", keys=keys
    )


# -- clicks have the shape of Slack's ------------------------------------------------------------------------------


def test_a_click_on_a_message_button_is_the_payload_the_tests_driver_sends(fake_slack: FakeSlack) -> None:
    client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)
    button = {"type": "button", "text": {"type": "plain_text", "text": "Claim"}, "action_id": "claim", "value": "1.1"}
    posted = client.chat_postMessage(
        channel=COMPLAINTS.id, text="card", blocks=[{"type": "actions", "block_id": "card", "elements": [button]}]
    )
    card = fake_slack.message(COMPLAINTS.id, posted["ts"])

    ours = interactions.block_actions(
        fake_slack,
        user=AGENT_A.id,
        user_name=AGENT_A.id.lower(),
        surface=interactions.Surface("message", COMPLAINTS.id, card["ts"]),
        action=interactions.action_object(card["blocks"][0]["elements"][0], "card"),
        message=card,
    )
    drivers = block_actions_payload(fake_slack, "Claim", on=card, channel=COMPLAINTS.id, user=AGENT_A.id)

    volatile = ("trigger_id", "response_url")
    assert {k: v for k, v in ours.items() if k not in volatile} | {"actions": None} == {
        k: v for k, v in drivers.items() if k not in volatile
    } | {"actions": None}
    assert [{k: v for k, v in a.items() if k != "action_ts"} for a in ours["actions"]] == [
        {k: v for k, v in a.items() if k != "action_ts"} for a in drivers["actions"]
    ]


def test_subscribers_hear_of_every_change_until_they_unsubscribe(fake_slack: FakeSlack) -> None:
    heard: list[int] = []
    unsubscribe = fake_slack.subscribe(lambda: heard.append(1))
    client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)

    client.chat_postMessage(channel=COMPLAINTS.id, text="one")
    fake_slack.add_message(COMPLAINTS.id, text="two")
    assert len(heard) == 2

    unsubscribe()
    client.chat_postMessage(channel=COMPLAINTS.id, text="three")
    assert len(heard) == 2


# -- the page's API against a running sandbox ----------------------------------------------------------------------


class Page:
    """What the sandbox page does, over HTTP."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.base = sandbox.url.rstrip("/")

    def get(self, path: str, **query: Any) -> Any:
        suffix = "?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else ""
        return self._send(urllib.request.Request(self.base + path + suffix))

    def post(self, name: str, body: dict[str, Any], *, status: int = 200) -> Any:
        request = urllib.request.Request(
            f"{self.base}/api/{name}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self._send(request, status)

    def _send(self, request: urllib.request.Request, status: int = 200) -> Any:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answered, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            answered, raw = error.code, error.read()
        assert answered == status, raw
        return json.loads(raw)

    def state(self, user: str, conversation: str = COMPLAINTS.id, **more: Any) -> dict[str, Any]:
        return self.get("/api/state", user=user, conversation=conversation, **more)

    def until(self, user: str, check: Any, conversation: str = COMPLAINTS.id, timeout: float = 10) -> dict[str, Any]:
        """The person's state once ``check(state)`` holds, following the long poll as the page does."""
        deadline = time.monotonic() + timeout
        state = self.state(user, conversation)
        while not check(state):
            assert time.monotonic() < deadline, f"not seen within {timeout}s: {json.dumps(state)[:2000]}"
            state = self.state(user, conversation, since=state["version"])
        return state

    def complain(self, text: str = "My order arrived broken", **fields: str) -> int:
        answer = self.post(
            "complaint", {"source": "webchat", "handle": "maria_l", "name": "Maria", "text": text, **fields}
        )
        assert answer["status"] == 202, answer
        return int(answer["complaint_id"])

    def click(
        self, user: str, message: dict[str, Any], label: str, *, kind: str = "message", channel: str = COMPLAINTS.id
    ) -> Any:
        block, element = find_button(message, label)
        surface = {"kind": kind, "channel": channel, "ts": message["ts"]}
        return self.post(
            "act",
            {
                "user": user,
                "surface": surface,
                "block_id": block["block_id"],
                "action_id": element["action_id"],
                "shown": element,
            },
        )

    def choose(self, user: str, message: dict[str, Any], label: str, *, shown: dict[str, Any] | None = None) -> Any:
        """Pick ``label`` in a menu of ``message`` (the card's "More…"), as the page's <select> does: the act
        endpoint with the option's value as ``chosen`` and the menu as the page showed it."""
        block, menu, option = find_option(shown or message, label)
        return self.post(
            "act",
            {
                "user": user,
                "surface": {"kind": "message", "channel": COMPLAINTS.id, "ts": message["ts"]},
                "block_id": block["block_id"],
                "action_id": menu["action_id"],
                "chosen": option["value"],
                "shown": menu,
            },
        )


def find_option(message: dict[str, Any], label: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    for block in message.get("blocks") or []:
        for element in interactions.elements(block):
            for option in interactions.options_of(element) if element.get("type") == "static_select" else []:
                if option["text"]["text"] == label:
                    return block, element, option
    raise AssertionError(f"no menu option {label!r}")


def find_button(message: dict[str, Any], label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in message.get("blocks") or []:
        for element in interactions.elements(block):
            if element.get("type") == "button" and element["text"]["text"] == label:
                return block, element
    raise AssertionError(f"no button {label!r}")


def shown(message: dict[str, Any]) -> str:
    parts = [message.get("text", "")]
    for block in message.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts.extend(str((e.get("text") or {}).get("text", "")) for e in block.get("fields") or [])
        parts.extend(str(e.get("text", "")) for e in block.get("elements") or [] if block["type"] == "context")
    return "\n".join(parts)


def cards(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in state["messages"] if not m["ephemeral"] and m.get("blocks")]


def ephemerals(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in state["messages"] if m["ephemeral"]]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    running = start(port=0, database_path=tmp_path / "heard-sandbox.db")
    yield running
    running.stop()


@pytest.fixture
def page(sandbox: Sandbox) -> Page:
    return Page(sandbox)


def test_claims_go_to_heard_signed_and_a_late_claim_is_refused_to_that_person_only(page: Page) -> None:
    page.complain("Three weeks waiting for my refund")
    card = cards(page.until(AGENT_A.id, lambda s: cards(s)))[0]

    page.click(AGENT_A.id, card, "Claim")
    page.until(AGENT_A.id, lambda s: f"Owner: <@{AGENT_A.id}>" in shown(cards(s)[0]))
    page.click(AGENT_B.id, card, "Claim")  # Ben's screen still showed Claim

    (refusal,) = ephemerals(page.until(AGENT_B.id, ephemerals))
    assert f"already claimed by <@{AGENT_A.id}>" in refusal["text"]
    assert ephemerals(page.state(AGENT_A.id)) == []
    assert page.sandbox.fake.problems == []


def test_choosing_from_the_cards_more_menu_opens_the_form_as_its_button_did(page: Page) -> None:
    page.complain("Three weeks waiting for my refund")
    card = cards(page.until(AGENT_A.id, lambda s: cards(s)))[0]

    page.choose(AGENT_A.id, card, "Reassign")

    view = page.until(AGENT_A.id, lambda s: s["modal"])["modal"]["view"]
    assert view["title"]["text"] == "Reassign complaint"
    accepted = page.post("submit", {"user": AGENT_A.id, "view_id": view["id"], "values": {"assignee": AGENT_B.id}})
    assert accepted["outcome"] == "closed"
    card = cards(page.until(AGENT_A.id, lambda s: f"Owner: <@{AGENT_B.id}>" in shown(cards(s)[0])))[0]

    page.choose(AGENT_A.id, card, "Hide")
    hide = page.until(AGENT_A.id, lambda s: s["modal"])["modal"]["view"]
    assert hide["title"]["text"] == "Hide complaint"
    page.post("submit", {"user": AGENT_A.id, "view_id": hide["id"], "values": {"hide_reason": "spam"}})
    hidden = cards(page.until(AGENT_A.id, lambda s: "Hidden in Heard only" in shown(cards(s)[0])))[0]

    page.choose(AGENT_B.id, hidden, "Hide", shown=card)  # Ben's screen still offered Hide: Slack's own race
    (refusal,) = ephemerals(page.until(AGENT_B.id, ephemerals))
    assert "Already hidden" in refusal["text"]
    assert page.sandbox.fake.problems == []


def test_a_menu_choice_on_the_page_is_the_payload_the_tests_driver_sends(fake_slack: FakeSlack) -> None:
    client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)
    menu = {
        "type": "static_select",
        "action_id": "card_more",
        "placeholder": {"type": "plain_text", "text": "More…", "emoji": True},
        "options": [{"text": {"type": "plain_text", "text": "Hide", "emoji": True}, "value": "moderate_hide:1.1"}],
    }
    posted = client.chat_postMessage(
        channel=COMPLAINTS.id, text="card", blocks=[{"type": "actions", "block_id": "card", "elements": [menu]}]
    )
    card = fake_slack.message(COMPLAINTS.id, posted["ts"])

    ours = interactions.block_actions(
        fake_slack,
        user=AGENT_A.id,
        user_name=AGENT_A.id.lower(),
        surface=interactions.Surface("message", COMPLAINTS.id, card["ts"]),
        action=interactions.action_object(card["blocks"][0]["elements"][0], "card", "moderate_hide:1.1"),
        message=card,
    )
    drivers = block_actions_payload(fake_slack, "Hide", on=card, channel=COMPLAINTS.id, user=AGENT_A.id)

    volatile = ("trigger_id", "response_url", "actions")
    assert {k: v for k, v in ours.items() if k not in volatile} == {
        k: v for k, v in drivers.items() if k not in volatile
    }
    assert [{k: v for k, v in a.items() if k != "action_ts"} for a in ours["actions"]] == [
        {k: v for k, v in a.items() if k != "action_ts"} for a in drivers["actions"]
    ]
    (action,) = drivers["actions"]
    assert action["type"] == "static_select" and action["action_id"] == "card_more" and action["block_id"] == "card"
    assert action["selected_option"] == {
        "text": {"type": "plain_text", "text": "Hide", "emoji": True},
        "value": "moderate_hide:1.1",
    }
    assert drivers["state"]["values"] == {
        "card": {"card_more": {"type": "static_select", "selected_option": action["selected_option"]}}
    }


def test_a_modal_shows_heards_field_errors_then_closes_when_accepted(page: Page) -> None:
    page.complain()
    card = cards(page.until(AGENT_A.id, lambda s: cards(s)))[0]
    page.click(AGENT_A.id, card, "Schedule follow-up")
    view = page.until(AGENT_A.id, lambda s: s["modal"])["modal"]["view"]
    assert view["title"]["text"] == "Schedule follow-up"

    refused = page.post("submit", {"user": AGENT_A.id, "view_id": view["id"], "values": {"date": "2001-01-01"}})
    assert refused["outcome"] == "errors" and "passed" in refused["errors"]["date"]
    assert page.state(AGENT_A.id)["modal"]["view"]["id"] == view["id"]  # still open, as in Slack

    accepted = page.post("submit", {"user": AGENT_A.id, "view_id": view["id"], "values": {"date": "2030-01-02"}})
    assert accepted["outcome"] == "closed"
    page.until(AGENT_A.id, lambda s: s["modal"] is None and "Follow-up" in shown(cards(s)[0]))


def test_an_escalation_needing_approval_reaches_the_manager_who_approves_it_from_a_dm(page: Page) -> None:
    page.complain("My lawyer will hear about this")
    card = cards(page.until(AGENT_A.id, lambda s: cards(s)))[0]
    page.click(AGENT_A.id, card, "Escalate")
    view = page.until(AGENT_A.id, lambda s: s["modal"])["modal"]["view"]
    page.post(
        "submit",
        {"user": AGENT_A.id, "view_id": view["id"], "values": {"department": "legal", "reason": "Threatens to sue"}},
    )

    dm = page.sandbox.fake.dm_channel(MANAGER.id)
    request = cards(page.until(MANAGER.id, lambda s: cards(s), conversation=dm))[0]
    page.click(MANAGER.id, request, "Approve", channel=dm)

    legal = page.until(MANAGER.id, lambda s: s["messages"], conversation="C0LEGAL")
    assert "Threatens to sue" in shown(legal["messages"][0])
    assert page.sandbox.fake.problems == []


def test_the_next_page_of_a_lookup_replaces_the_ephemeral_it_was_clicked_on(page: Page) -> None:
    for number in range(11):
        page.complain(f"Complaint number {number}")
    page.until(AGENT_A.id, lambda s: len(cards(s)) == 11, timeout=30)

    typed = page.post("type", {"user": AGENT_A.id, "channel": COMPLAINTS.id, "text": "/complaints open"})
    assert typed["outcome"] == "ephemeral"
    (first,) = ephemerals(page.state(AGENT_A.id))
    assert "Showing 1–10 of 11" in shown(first)
    page.click(AGENT_A.id, first, "More", kind="ephemeral")

    replaced = page.until(AGENT_A.id, lambda s: "Showing 11–11 of 11" in shown(ephemerals(s)[0]))
    assert [m["ts"] for m in ephemerals(replaced)] == [first["ts"]]


def test_typing_a_message_or_an_unknown_command(page: Page) -> None:
    page.post("type", {"user": AGENT_B.id, "channel": COMPLAINTS.id, "text": "@ana can you take the <refund> one?"})
    (message,) = page.state(AGENT_B.id)["messages"]
    assert message["text"] == f"<@{AGENT_A.id}> can you take the &lt;refund&gt; one?" and message["user"] == AGENT_B.id

    refused = page.post("type", {"user": AGENT_B.id, "channel": COMPLAINTS.id, "text": "/remind me"}, status=400)
    assert "/remind is not a valid command" in refused["error"]


def test_the_state_answers_when_something_changes(page: Page) -> None:
    version = page.state(AGENT_A.id)["version"]
    later = threading.Timer(0.3, page.complain)
    later.start()

    started = time.monotonic()
    changed = page.state(AGENT_A.id, since=version)
    later.join(10)  # the complaint is filed before the sandbox stops, whatever woke the poll

    assert changed["version"] != version and time.monotonic() - started < 5


def test_home_tab_digest_and_its_chart(page: Page) -> None:
    page.complain()
    page.post("home", {"user": MANAGER.id})
    home = page.until(MANAGER.id, lambda s: s["home"], conversation="home")["home"]
    assert "Open" in json.dumps(home["blocks"])

    first, again = page.post("digest", {}), page.post("digest", {})
    assert (first["sent"], first["already"]) == (["Mia"], [])
    assert (again["sent"], again["already"]) == ([], ["Mia"])  # once a day, as Heard's own digest
    dm = page.sandbox.fake.dm_channel(MANAGER.id)
    with_chart = page.until(MANAGER.id, lambda s: any(m.get("files") for m in s["messages"]), conversation=dm)
    (chart,) = [f for m in with_chart["messages"] for f in m.get("files", [])]
    assert chart["mimetype"] == "image/png"
    with urllib.request.urlopen(page.base + chart["url"], timeout=10) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"


# -- the customer side on Facebook and Instagram: Meta's webhook in, the customer's view out ----------------------


def comment_as(
    page: Page, platform: str, text: str, *, name: str = "Dana Reyes", handle: str = "dana.r"
) -> dict[str, Any]:
    answer = page.post("complaint", {"post_as": platform, "handle": handle, "name": name, "text": text})
    assert answer["status"] == 200 and answer["complaint_id"], answer
    return answer


def customer_view(page: Page, check: Any, timeout: float = 10) -> list[dict[str, Any]]:
    """The customer's view (every poll carries it) once ``check(view)`` holds."""
    return page.until(AGENT_A.id, lambda s: check(s["customer"]), timeout=timeout)["customer"]


def test_a_facebook_comment_reaches_heard_as_meta_delivers_it_and_the_reply_shows_under_it(page: Page) -> None:
    graph = page.sandbox.graph
    answer = comment_as(page, "facebook", "My order 4417 never came and <nobody> answers")

    # The comment is on the fake Graph API, by a made-up person with the name the form gave...
    stored = graph.comment(answer["comment_id"])
    assert stored["from"]["name"] == "Dana Reyes" and stored["post_id"] == page.sandbox.commenters.post["id"]
    # ... and Heard heard it through /webhooks/meta, signed with the run's own app secret (not the fake's default).
    assert page.sandbox.settings.meta is not None
    assert page.sandbox.settings.meta.app_secret == graph.app_secret != "fake-app-secret-0123456789abcdef"
    card = cards(page.until(AGENT_A.id, lambda s: cards(s)))[0]
    assert "My order 4417 never came" in shown(card) and "Dana Reyes" in shown(card)
    (thread,) = page.state(AGENT_A.id)["customer"]
    assert (thread["platform"], thread["author"], thread["account"]) == ("facebook", "Dana Reyes", "Acme")
    assert thread["text"] == "My order 4417 never came and <nobody> answers"  # as typed: the page renders text
    assert (thread["hidden"], thread["replies"], thread["private_replies"]) == (False, [], [])

    page.click(AGENT_A.id, card, "Acknowledge")
    view = page.until(AGENT_A.id, lambda s: s["modal"])["modal"]["view"]
    reply = "Sorry Dana, order 4417 is on its way again today."
    accepted = page.post(
        "submit", {"user": AGENT_A.id, "view_id": view["id"], "values": {"reply_text": reply, "reply_how": "public"}}
    )
    assert accepted["outcome"] == "closed", accepted

    (thread,) = customer_view(page, lambda v: v and v[0]["replies"])
    assert thread["replies"] == [
        {"author": "Acme", "by_brand": True, "text": reply, "at": thread["replies"][0]["at"], "hidden": False}
    ]
    assert graph.thread(answer["comment_id"])["replies"][0]["message"] == reply
    assert page.sandbox.fake.problems == []


def test_a_private_reply_from_the_card_reaches_the_customer_privately(page: Page) -> None:
    comment_as(page, "facebook", "Charged twice for order 4417")
    card = cards(page.until(AGENT_A.id, lambda s: cards(s)))[0]

    page.choose(AGENT_A.id, card, "Take it private")
    view = page.until(AGENT_A.id, lambda s: s["modal"])["modal"]["view"]
    text = "Dana, we're refunding the second charge; I've sent the details here."
    page.post("submit", {"user": AGENT_A.id, "view_id": view["id"], "values": {"reply_text": text, "reply_how": "dm"}})

    (thread,) = customer_view(page, lambda v: v and v[0]["private_replies"])
    assert [sent["text"] for sent in thread["private_replies"]] == [text]
    assert thread["replies"] == []  # nothing public under the comment
    assert page.sandbox.fake.problems == []


def test_hiding_from_the_card_hides_the_comment_in_the_customers_view(page: Page) -> None:
    answer = comment_as(page, "facebook", "You are all scammers, visit cheap-pills.example")
    card = cards(page.until(AGENT_A.id, lambda s: cards(s)))[0]

    page.choose(AGENT_A.id, card, "Hide")
    form = page.until(AGENT_A.id, lambda s: s["modal"])["modal"]["view"]
    page.post("submit", {"user": AGENT_A.id, "view_id": form["id"], "values": {"hide_reason": "spam"}})

    (thread,) = customer_view(page, lambda v: v and v[0]["hidden"])
    assert thread["comment_id"] == answer["comment_id"]
    assert page.sandbox.graph.thread(answer["comment_id"])["hidden"] is True
    assert page.sandbox.fake.problems == []


def test_an_instagram_comment_becomes_a_card_and_its_reply_and_hide_show_to_the_customer(page: Page) -> None:
    answer = comment_as(page, "instagram", "Where is my refund?? 3 weeks now", handle="@Dana Reyes")
    stored = page.sandbox.graph.comment(answer["comment_id"])
    assert stored["username"] == "dana_reyes" and stored["media_id"] == page.sandbox.commenters.media["id"]
    card = cards(page.until(AGENT_A.id, lambda s: cards(s)))[0]
    assert "Where is my refund" in shown(card)

    page.click(AGENT_A.id, card, "Acknowledge")
    view = page.until(AGENT_A.id, lambda s: s["modal"])["modal"]["view"]
    reply = "Hi Dana, your refund went out this morning."
    page.post("submit", {"user": AGENT_A.id, "view_id": view["id"], "values": {"reply_text": reply}})
    (thread,) = customer_view(page, lambda v: v and v[0]["replies"])
    assert (thread["platform"], thread["account"], thread["author"]) == ("instagram", "@acme", "dana_reyes")
    assert [(r["author"], r["by_brand"], r["text"]) for r in thread["replies"]] == [("acme", True, reply)]

    card = cards(page.state(AGENT_A.id))[0]
    page.choose(AGENT_A.id, card, "Hide")
    form = page.until(AGENT_A.id, lambda s: s["modal"])["modal"]["view"]
    page.post("submit", {"user": AGENT_A.id, "view_id": form["id"], "values": {"hide_reason": "spam"}})
    customer_view(page, lambda v: v and v[0]["hidden"])
    assert page.sandbox.fake.problems == []


def test_meta_deliveries_not_signed_with_the_runs_app_secret_are_refused(page: Page) -> None:
    graph = page.sandbox.graph
    comment = graph.add_comment(page.sandbox.commenters.post["id"], "5550001", "Mallory", "forged")
    body = json.dumps(graph.webhook_delivery_for(comment)).encode()
    forged = urllib.request.Request(
        page.sandbox.commenters.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, "0" * 32)},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=10)
    assert refused.value.code == 401
    assert cards(page.state(AGENT_A.id)) == [] and page.state(AGENT_A.id)["customer"] == []
    assert "post as one of" in page.post("complaint", {"post_as": "tiktok", "text": "x"}, status=400)["error"]
    assert "write the comment" in page.post("complaint", {"post_as": "facebook", "text": " "}, status=400)["error"]


def test_the_replay_files_the_sample_at_the_chosen_pace_until_stopped(page: Page) -> None:
    sample = customers.load_sample()
    page.post("replay", {"running": True, "every": 1})
    filed = page.until(AGENT_A.id, lambda s: len(cards(s)) >= 2)
    stopped = page.post("replay", {"running": False})

    assert not stopped["running"] and stopped["sent"] >= 2
    assert "\n".join(sample[0]["turns"])[:40].replace("&", "&amp;") in shown(cards(filed)[0])


def test_the_api_answers_only_loopback_names_json_and_people_of_the_sandbox(page: Page) -> None:
    def status_of(request: urllib.request.Request) -> int:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    rebound = urllib.request.Request(page.base + "/api/bootstrap", headers={"Host": "attacker.example"})
    form = urllib.request.Request(
        page.base + "/api/complaint", data=b"source=facebook", headers={"Content-Type": "text/plain"}, method="POST"
    )
    assert status_of(rebound) == 421
    assert status_of(form) == 415
    assert status_of(urllib.request.Request(page.base + "/static/..%2Fserver.py")) == 404
    assert "choose who you are" in page.post("home", {"user": "U0STRANGER"}, status=400)["error"]


def test_the_replay_can_mix_in_facebook_and_instagram_comments(page: Page) -> None:
    page.post("replay", {"running": True, "every": 1, "mix": True})
    filed = page.until(AGENT_A.id, lambda s: len(cards(s)) >= 3 and len(s["customer"]) >= 2, timeout=20)
    stopped = page.post("replay", {"running": False})

    assert stopped["can_mix"] and stopped["sent"] >= 3
    assert {thread["platform"] for thread in filed["customer"]} == {"facebook", "instagram"}
    assert page.sandbox.fake.problems == []


# -- the bundled sample ----------------------------------------------------------------------------------------------


def test_the_bundled_sample_is_a_small_licensed_subset_of_the_real_conversations() -> None:
    sample = customers.load_sample()
    assert 60 <= len(sample) <= 100
    real = [c for c in sample if not c.get("written_for_sandbox")]
    assert all(c["handle"] and c["turns"] and c["brand"] and c["tweet_id"].isdigit() for c in real)
    # The replay meets Heard's five languages early: the real posts are English, the others are marked as written
    # for the sandbox (not real), carry no language (Heard detects it) and come one after every four real ones.
    written = [c for c in sample if c.get("written_for_sandbox")]
    assert {c["written_in"] for c in written} == {"fi", "pt", "bg", "el"}
    assert [c.get("written_in") for c in sample[:15]] == [None] * 4 + ["fi"] + [None] * 4 + ["pt"] + [None] * 4 + ["bg"]
    assert all("lang" not in customers.sample_complaint(c, 1) for c in written)
    here = Path(customers.__file__).parent
    assert "Apache License" in (here / "sample_conversations.LICENSE").read_text()
    assert "Apache" in (here / "sample_conversations.NOTICE.md").read_text()

    source = build_sample.DEFAULT_SOURCE
    if (source / "dev.json").is_file():
        assert build_sample.build(source)["conversations"] == sample  # rebuilt the same way it was made
