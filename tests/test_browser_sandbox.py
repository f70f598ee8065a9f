"""The sandbox in a real browser (headless Chromium through Playwright, Debian's own Chromium: no browser download).

People use Heard on the sandbox page as they would in Slack: a customer posts a complaint, Ana claims it, Ben (whose
screen had not caught up yet) tries to claim it too and is told no, Ana escalates it through the modal. Every step
goes from the page through the sandbox's signed requests to Heard's real /slack/events and back through Heard's Web
API calls to the fake Slack; the page follows without reloading.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from slack_sdk import WebClient

from sandbox.server import Sandbox, start
from sandbox.workspace import AGENT_A, AGENT_B, COMPLAINTS, MANAGER, Person

CHROMIUM = shutil.which("chromium") or next(
    (path for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(path).exists()), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium installed: `apt-get install chromium` (Debian) runs this test; .ci/run does"
)

# Hostile on purpose: the page must show it as text, never run or render it.
COMPLAINT = "Refund now! <img src=x onerror=window.pwned=1> <!channel> & still waiting after 3 weeks"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    running = start(port=0, database_path=tmp_path / "heard-sandbox.db")
    yield running
    running.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page_errors() -> list[str]:
    """JavaScript errors on any tab: a test ends by asserting there were none."""
    return []


def open_as(browser: Browser, sandbox: Sandbox, person: Person, errors: list[str]) -> Page:
    """A tab of the sandbox as one person (the address says who, so two tabs can be two people)."""
    page = browser.new_page(viewport={"width": 1440, "height": 960})
    page.on("pageerror", lambda error: errors.append(f"{person.name}: {error}"))
    page.goto(f"{sandbox.url}#as={person.id}")
    expect(page.get_by_role("button", name=person.label, pressed=True)).to_be_visible()
    return page


def test_a_complaint_is_claimed_refused_to_a_second_agent_and_escalated(
    sandbox: Sandbox, browser: Browser, page_errors: list[str], tmp_path: Path
) -> None:
    ana = open_as(browser, sandbox, AGENT_A, page_errors)
    ben = open_as(browser, sandbox, AGENT_B, page_errors)
    expect(ana.get_by_text("This is a sandbox")).to_be_visible()

    # The customer side posts a complaint; Heard files it and both agents see the card.
    ana.get_by_label("Handle").fill("maria_l")
    ana.get_by_label("Name").fill("Maria López")
    ana.get_by_label("Complaint").fill(COMPLAINT)
    ana.get_by_role("button", name="Post complaint").click()
    expect(ana.get_by_text("Heard filed it as complaint #1.")).to_be_visible()
    card = ana.locator("article.message").filter(has_text="Maria López")
    expect(card).to_contain_text(COMPLAINT)  # shown as typed: no image, no @channel ping
    expect(card.locator("img")).to_have_count(0)
    expect(card).to_contain_text("Unclaimed")
    bens_card = ben.locator("article.message").filter(has_text="Maria López")
    expect(bens_card.get_by_role("button", name="Claim")).to_be_visible()

    # Ben's screen is a step behind, as when two people click at once: his page stops hearing about changes.
    ben.route("**/api/state*", lambda route: route.abort())
    ben.locator('[data-conversation="C0COMPLAINTS"]').click()  # asks afresh, so the poll in flight is dropped

    card.get_by_role("button", name="Claim").click()
    expect(card).to_contain_text("Owner: @Ana")
    expect(card.get_by_role("button", name="Release")).to_be_visible()

    bens_card.get_by_role("button", name="Claim").click()
    ben.unroute("**/api/state*")
    refusal = ben.locator("article.message.ephemeral")
    expect(refusal).to_contain_text("This complaint is already claimed by @Ana.")
    expect(refusal).to_contain_text("Only visible to you")
    expect(bens_card).to_contain_text("Owner: @Ana")
    expect(ana.locator("article.message.ephemeral")).to_have_count(0)  # only Ben was told

    # Ana escalates it to Product through the modal.
    card.get_by_role("button", name="Escalate").click()
    modal = ana.get_by_role("dialog", name="Escalate complaint")
    expect(modal).to_be_visible()
    modal.get_by_role("button", name="Escalate").click()  # nothing chosen: the page asks first, as Slack does
    expect(modal.get_by_text("Please complete this required field.").first).to_be_visible()
    modal.get_by_label("Department").select_option(label="Product")
    modal.get_by_label("Reason").fill("The app crashes at checkout, third time this week")
    modal.get_by_label("Severity").select_option(label="High")
    modal.get_by_role("button", name="Escalate").click()
    expect(modal).to_be_hidden()
    expect(card).to_contain_text("Escalated to Product by @Ana — The app crashes at checkout")

    # Product's channel got the notice.
    ana.locator('[data-conversation="C0PRODUCT"]').click()
    expect(ana.locator("article.message").first).to_contain_text("Product")

    ana.locator('[data-conversation="C0COMPLAINTS"]').click()
    expect(card).to_contain_text("Escalated to Product")
    screenshot = tmp_path / "sandbox-escalated.png"
    ana.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")

    assert ana.evaluate("window.pwned") is None
    assert page_errors == []
    assert sandbox.fake.problems == []


def test_the_manager_sees_home_dms_the_digest_chart_and_a_lookup(
    sandbox: Sandbox, browser: Browser, page_errors: list[str]
) -> None:
    mia = open_as(browser, sandbox, MANAGER, page_errors)
    mia.get_by_label("Complaint").fill("My parcel never arrived and support hung up on me")
    mia.get_by_role("button", name="Post complaint").click()
    expect(mia.locator("article.message").filter(has_text="My parcel never arrived")).to_be_visible()

    # /complaints answers privately, in the channel.
    mia.get_by_label("Message").fill("/complaints open")
    mia.get_by_label("Message").press("Enter")
    answer = mia.locator("article.message.ephemeral")
    expect(answer).to_contain_text("My parcel never arrived")

    # The digest comes to Mia's DMs with its chart, uploaded by Heard through files_upload_v2.
    mia.get_by_role("button", name="Send today's digest now").click()
    expect(mia.get_by_text("Sent to Mia.")).to_be_visible()
    mia.locator(f'[data-conversation="{sandbox.fake.dm_channel(MANAGER.id)}"]').click()
    chart = mia.locator("article.message figure.file img")
    expect(chart).to_be_visible(timeout=15_000)
    expect(mia.locator("article.message").first).to_contain_text("Daily digest")
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")

    # The Home tab, published by Heard when she opens it.
    mia.locator('[data-conversation="home"]').click()
    expect(mia.locator("#home")).to_contain_text("Open")
    assert page_errors == []
    assert sandbox.fake.problems == []


def test_a_facebook_commenter_sees_the_pages_reply_and_their_comment_hidden(
    sandbox: Sandbox, browser: Browser, page_errors: list[str]
) -> None:
    ana = open_as(browser, sandbox, AGENT_A, page_errors)
    ana.get_by_label("Post as").select_option(label="Facebook comment")
    expect(ana.locator("#complaint-source-label")).to_be_hidden()
    ana.get_by_label("Name").fill("Dana <b>Reyes</b>")
    ana.get_by_label("Complaint").fill(COMPLAINT)
    ana.get_by_role("button", name="Post complaint").click()
    expect(ana.get_by_text("Meta's webhook delivered it and Heard filed it as complaint #1.")).to_be_visible()

    # What the customer sees: their comment on Acme's post, as text.
    seen = ana.locator("#customer-view article.social")
    expect(seen).to_have_count(1)
    expect(seen).to_contain_text("Facebook · on Acme's post")
    expect(seen.locator(".social-comment").first).to_contain_text(COMPLAINT)
    expect(seen).to_contain_text("Dana <b>Reyes</b>")
    expect(seen.locator("img, b")).to_have_count(0)

    # Ana answers publicly from the card; the reply appears under the customer's comment.
    card = ana.locator("article.message").filter(has_text="Refund now!")
    card.get_by_role("button", name="Acknowledge").click()
    modal = ana.get_by_role("dialog", name="Acknowledge")
    modal.get_by_role("textbox", name="Reply").fill("Sorry Dana, your refund went out this morning.")
    modal.get_by_role("button", name="Send").click()
    expect(modal).to_be_hidden()
    reply = seen.locator(".social-replies .social-comment.by-brand")
    expect(reply).to_contain_text("Acme")
    expect(reply).to_contain_text("Sorry Dana, your refund went out this morning.")

    # Hiding it from the card's More… menu greys it out for the customer: hidden from others.
    card.locator("select").first.select_option(label="Hide")
    hide = ana.get_by_role("dialog", name="Hide complaint")
    hide.get_by_label("Reason").select_option(label="Spam")
    hide.get_by_role("button", name="Hide").click()
    expect(hide).to_be_hidden()
    expect(seen.locator(".social-comment.hidden-comment")).to_contain_text("Hidden from others")

    assert ana.evaluate("window.pwned") is None
    assert page_errors == []
    assert sandbox.fake.problems == []


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _options(*labels: str) -> list[dict[str, Any]]:
    return [{"text": _plain(label), "value": label.lower()} for label in labels]


PLAIN_WORDS = "*not bold* _not italic_ <@U0AGENTA> <!channel> & :tada:\nline two"
# Every kind of block and element Heard's messages and modals use (and a few more), as valid Block Kit.
EVERY_BLOCK = [
    {"type": "header", "text": {"type": "plain_text", "text": "Every element :tada:", "emoji": True}},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*bold* _italic_ ~gone~ `code` <https://example.com/x|a link> <javascript:alert(1)|no link> "
            "<@U0AGENTA> <!subteam^S0CARETEAM> <#C0PRODUCT> &lt;b&gt;kept&lt;/b&gt; :rotating_light:",
        },
        "accessory": {"type": "overflow", "action_id": "more", "options": _options("Snooze", "Mute")},
    },
    {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Owner*\nAna"}, {"type": "mrkdwn", "text": "*Due*"}]},
    # A customer's words, as cards carry them: plain_text, no markup read, no :shortcode: turned into an emoji.
    {"type": "section", "text": {"type": "plain_text", "text": PLAIN_WORDS, "emoji": False}},
    {"type": "divider"},
    {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "Posted 10:15"},
            {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "avatar"},
        ],
    },
    {"type": "image", "image_url": "https://example.com/chart.png", "alt_text": "a chart", "title": _plain("Chart")},
    {
        "type": "actions",
        "elements": [
            {"type": "button", "text": _plain("Go"), "style": "primary", "action_id": "go", "value": "1"},
            {"type": "button", "text": _plain("Stop"), "style": "danger", "action_id": "stop"},
            {"type": "static_select", "action_id": "pick", "placeholder": _plain("Pick"), "options": _options("One")},
            {"type": "users_select", "action_id": "who", "placeholder": _plain("Someone")},
            {"type": "datepicker", "action_id": "day", "initial_date": "2026-11-25"},
            {"type": "timepicker", "action_id": "at", "initial_time": "10:00"},
        ],
    },
]


def _input(label: str, element: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "input", "block_id": label.lower(), "label": _plain(label), "element": element, **more}


EVERY_INPUT = {
    "type": "modal",
    "title": _plain("Every input"),
    "submit": _plain("Send"),
    "close": _plain("Cancel"),
    "blocks": [
        _input("Note", {"type": "plain_text_input", "action_id": "note", "multiline": True}),
        _input("Kind", {"type": "static_select", "action_id": "kind", "options": _options("Refund", "Bug")}),
        _input("Owner", {"type": "users_select", "action_id": "owner"}),
        _input("Day", {"type": "datepicker", "action_id": "day", "initial_date": "2026-11-25"}),
        _input("Time", {"type": "timepicker", "action_id": "time", "initial_time": "10:00"}),
        _input("Tell", {"type": "checkboxes", "action_id": "tell", "options": _options("Customer")}, optional=True),
        _input("Tone", {"type": "radio_buttons", "action_id": "tone", "options": _options("Warm", "Plain")}),
    ],
}


def test_every_block_kit_element_renders_and_mrkdwn_stays_safe(
    sandbox: Sandbox, browser: Browser, page_errors: list[str]
) -> None:
    client = WebClient(token=sandbox.fake.bot_token, base_url=sandbox.fake.api_url)
    client.chat_postMessage(channel=COMPLAINTS.id, text="Every element", blocks=EVERY_BLOCK)
    ana = open_as(browser, sandbox, AGENT_A, page_errors)
    message = ana.locator("article.message").filter(has_text="Every element")

    expect(message.locator("h3.bk-header")).to_have_text("Every element 🎉")
    section = message.locator(".bk-section").first
    for tag, text in (("b", "bold"), ("i", "italic"), ("s", "gone"), ("code", "code")):
        expect(section.locator(tag)).to_have_text(text)
    expect(section.get_by_role("link", name="a link")).to_have_attribute("href", "https://example.com/x")
    expect(section.get_by_role("link")).to_have_count(1)  # a javascript: link stays text
    expect(section).to_contain_text("@Ana @care-team #product <b>kept</b> 🚨")
    expect(message.locator(".bk-field")).to_have_count(2)
    plain = message.locator(".bk-section").filter(has_text="not bold")
    expect(plain.locator(".bk-text")).to_have_text(PLAIN_WORDS)  # as typed, line break kept
    expect(plain.locator("b, i, a, .mention")).to_have_count(0)
    expect(message.locator("hr.bk-divider")).to_have_count(1)
    expect(message.locator(".bk-context")).to_contain_text("Posted 10:15")
    expect(message.get_by_role("img", name="a chart")).to_have_count(1)
    expect(message.get_by_role("button", name="Go")).to_have_class(re.compile("primary"))
    expect(message.get_by_role("button", name="Stop")).to_have_class(re.compile("danger"))
    expect(message.locator("select").first.locator("option")).to_have_text(["Pick", "One"])
    expect(message.locator("select").nth(1).locator("option")).to_have_text(
        ["Someone", AGENT_A.label, AGENT_B.label, MANAGER.label]
    )
    expect(message.locator('input[type="date"]')).to_have_value("2026-11-25")
    expect(message.locator('input[type="time"]')).to_have_value("10:00")
    message.get_by_role("button", name="More actions").click()
    expect(message.get_by_role("menuitem")).to_have_text(["Snooze", "Mute"])
    message.get_by_role("menuitem", name="Mute").click()  # goes to Heard (which has no listener for it)
    expect(message.get_by_role("menuitem", name="Mute")).to_be_hidden()

    client.views_open(trigger_id=sandbox.fake.new_trigger(AGENT_A.id), view=EVERY_INPUT)
    modal = ana.get_by_role("dialog", name="Every input")
    expect(modal.get_by_label("Note")).to_be_visible()
    expect(modal.get_by_label("Kind").locator("option")).to_have_text(["Select an item", "Refund", "Bug"])
    expect(modal.get_by_label("Owner").locator("option")).to_have_count(4)
    expect(modal.get_by_label("Day")).to_have_value("2026-11-25")
    expect(modal.get_by_label("Time")).to_have_value("10:00")
    expect(modal.get_by_role("checkbox", name="Customer")).not_to_be_checked()
    expect(modal.get_by_role("radio")).to_have_count(2)
    expect(modal.get_by_text("(optional)")).to_have_count(1)
    modal.get_by_role("button", name="Cancel").click()
    expect(modal).to_be_hidden()
    assert sandbox.fake.open_views(AGENT_A.id) == []
    assert page_errors == []
    assert sandbox.fake.problems == []
