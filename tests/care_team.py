"""A care team using Heard through (fake) Slack: people click buttons, fill modals, and read what they are told."""

from __future__ import annotations

from typing import Any

from sandbox.fake_slack import Call, FakeSlack
from sandbox.slack_driver import DriverResponse, SlackDriver


def visible_text(message: dict[str, Any]) -> str:
    """Everything a person reads on a message: section texts, context lines, button labels, menus and (opened) their
    choices."""
    parts: list[str] = [message.get("text", "")]
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text")
            parts.append(text["text"] if isinstance(text, dict) else str(text or ""))
            if element.get("type") in MENUS:
                parts.append((element.get("placeholder") or {}).get("text", ""))
                parts.extend(option["text"]["text"] for option in element.get("options", []))
    return "\n".join(parts)


MENUS = ("static_select", "overflow")


def shown_buttons(message: dict[str, Any]) -> list[str]:
    """The buttons a person sees on the message, without opening anything."""
    return [
        element["text"]["text"]
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
    ]


def menus(message: dict[str, Any]) -> dict[str, list[str]]:
    """The menus on the message (by what they show closed, e.g. "More…") and the choices each offers when opened."""
    return {
        (element.get("placeholder") or {}).get("text", "⋯"): [option["text"]["text"] for option in element["options"]]
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("type") in MENUS
    }


def buttons(message: dict[str, Any]) -> list[str]:
    """What a person can click by its text: the buttons, then the choices in the message's menus (the card's
    "More…"), which `SlackDriver.click` finds the same way."""
    return shown_buttons(message) + [choice for choices in menus(message).values() for choice in choices]


class CareTeam:
    def __init__(self, fake: FakeSlack, slack: SlackDriver, channel: str) -> None:
        self.fake = fake
        self.slack = slack
        self.channel = channel

    def card(self, index: int = 0) -> dict[str, Any]:
        self.fake.wait_for("chat.postMessage", where=lambda call: call.args.get("channel") == self.channel)
        cards = [m for m in self.fake.messages(self.channel) if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
        return cards[index]

    def click(self, user: str, button: str, on: dict[str, Any] | None = None, channel: str | None = None) -> None:
        message = on if on is not None else self.card()
        answer = self.slack.click(button, on=message, channel=channel or self.channel, user=user)
        assert answer.status == 200, f"Heard answered {answer.status} to {button!r}: {answer.body}"

    def open_form(self, user: str, button: str, on: dict[str, Any] | None = None) -> dict[str, Any]:
        opened = len(self.fake.calls_to("views.open"))
        self.click(user, button, on)
        self.fake.wait_for("views.open", count=opened + 1)
        return self.fake.open_views(user)[-1]

    def fill(self, user: str, button: str, values: dict[str, Any], on: dict[str, Any] | None = None) -> DriverResponse:
        view = self.open_form(user, button, on)
        return self.slack.submit_view(view, user, values)

    def confirm(self, user: str, choice: str, on: dict[str, Any] | None = None) -> DriverResponse:
        """Choose `choice` (Flag threat, Block) and say yes to the question Heard asks before it acts."""
        view = self.open_form(user, choice, on)
        answer = self.slack.submit_view(view, user)
        assert answer.status == 200 and answer.outcome == "closed", answer.body
        return answer

    def acknowledge(self, user: str, on: dict[str, Any] | None = None, channel: str | None = None) -> None:
        """ "Acknowledge", then "Acknowledge only (internal)" in the reply modal it opens."""
        message = on if on is not None else self.card()
        answer = acknowledge_only(self.slack, self.fake, user, message, channel or self.channel)
        assert answer.status == 200 and answer.outcome == "closed", answer.body

    def card_shows(self, text: str, index: int = 0, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the card (re-rendered by Heard) shows `text`; return it."""
        ts = self.card(index)["ts"]
        self.fake.wait_for(
            "chat.update",
            where=lambda call: call.args.get("ts") == ts and text in visible_text(call.args),
            timeout=timeout,
        )
        return self.fake.message(self.channel, ts)

    def told(self, user: str, text: str, via: str = "response_url", timeout: float = 5.0) -> Call:
        """A private answer to `user` containing `text`: after a click through its response_url, after a modal
        through chat.postEphemeral."""

        def matches(call: Call) -> bool:
            return text in visible_text(call.args) and (via == "response_url" or call.args.get("user") == user)

        return self.fake.wait_for(via, where=matches, timeout=timeout)[0]

    def dm(self, user: str, text: str, timeout: float = 5.0) -> dict[str, Any]:
        """The latest DM from Heard to `user` containing `text`."""
        self.fake.wait_for(
            "chat.postMessage",
            where=lambda call: call.args.get("channel") == user and text in visible_text(call.args),
            timeout=timeout,
        )
        return [m for m in self.fake.dms(user) if text in visible_text(m)][-1]

    def thread(self) -> list[str]:
        card = self.card()
        return [
            visible_text(reply) for reply in self.fake.replies(self.channel, card["ts"]) if reply["ts"] != card["ts"]
        ]


REPLY_MODAL = "reply_view"
ACKNOWLEDGE_ONLY = "Acknowledge only (internal)"


def open_reply_modal(
    driver: SlackDriver, fake: FakeSlack, user: str, on: dict[str, Any], channel: str, button: str = "Acknowledge"
) -> dict[str, Any]:
    """Click "Acknowledge" (or "Take it private") and return the reply modal it opened in `user`'s Slack."""
    opened = len(fake.calls_to("views.open"))
    answer = driver.click(button, on=on, channel=channel, user=user)
    assert answer.status == 200, f"Heard answered {answer.status} to {button!r}: {answer.body}"
    fake.wait_for("views.open", count=opened + 1)
    return [view for view in fake.open_views(user) if view.get("callback_id") == REPLY_MODAL][-1]


def acknowledge_only(
    driver: SlackDriver, fake: FakeSlack, user: str, on: dict[str, Any], channel: str
) -> DriverResponse:
    """Acknowledge the way a person does since replies came: "Acknowledge" opens the reply modal, and
    "Acknowledge only (internal)" acknowledges without telling the customer anything."""
    view = open_reply_modal(driver, fake, user, on, channel)
    return driver.submit_view(view, user, {"What to do": ACKNOWLEDGE_ONLY})
