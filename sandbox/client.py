"""The Slack client the page stands in for: what a person does on the page becomes what Slack would send Heard.

Everything is signed here with the signing secret (the browser never holds it) and posted to Heard's
`/slack/events` through `SlackDriver`, whose answers the fake Slack then applies as Slack would (a modal closed or
kept open with errors, a slash command's answer shown). A person can only use what the fake Slack shows them: the
message, ephemeral message, Home tab or modal must exist, and be theirs to see.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sandbox import workspace
from sandbox.fake_slack import FakeSlack
from sandbox.interactions import (
    Refused,
    Surface,
    action_object,
    block_actions,
    find_element,
    labelled_values,
    options_of,
    view_closed,
)
from sandbox.slack_driver import FORM, SlackDriver, view_submission_payload

COMMAND = "/complaints"
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_MENTIONS = [(re.compile(rf"(?<![\w@])@{p.handle}\b", re.IGNORECASE), f"<@{p.id}>") for p in workspace.PEOPLE]


def _as_slack_sends(typed: str) -> str:
    """What Slack's client sends for typed text: `& < >` escaped, and an @name picked from the list as <@U…>."""
    text = typed.translate(_ESCAPES)
    for pattern, mention in _MENTIONS:
        text = pattern.sub(mention, text)
    return text


# Menus that act at once when an option is chosen (the card's "More…" is a static_select).
_MENUS = frozenset({"static_select", "overflow"})


def _offers(element: dict[str, Any], chosen: Any) -> bool:
    """Whether the menu ``element`` (still) has the option ``chosen``; anything else is taken as it is."""
    if element.get("type") not in _MENUS or chosen is None:
        return True
    return any(option.get("value") == chosen for option in options_of(element))


def _as_shown(shown: dict[str, Any] | None, action_id: str, chosen: Any) -> dict[str, Any]:
    """A button, or a menu option, that the page showed but Heard has re-rendered away meanwhile: sent as the page
    showed it (Slack's own race, which Heard answers privately). Anything else is refused."""
    if shown and shown.get("action_id") == action_id:
        if shown.get("type") == "button":
            return shown
        if shown.get("type") in _MENUS and chosen is not None and _offers(shown, chosen):
            return shown
    raise Refused("that is no longer there")


@dataclass(frozen=True)
class Outcome:
    """What the person sees happen: ``status`` is Heard's HTTP answer; ``outcome`` what Slack made of it (a modal
    ``closed``/``errors``..., a command's answer ``ephemeral``/``failed``...); ``errors`` a modal's field errors."""

    status: int
    outcome: str | None = None
    errors: dict[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "outcome": self.outcome, "errors": self.errors or {}}


class SlackClient:
    def __init__(self, fake: FakeSlack, events_url: str, signing_secret: str) -> None:
        self.fake = fake
        self.driver = SlackDriver(events_url, signing_secret, fake)
        self._handles = {person.id: person.handle for person in workspace.PEOPLE}
        self._channel_names = {channel.id: channel.name for channel in workspace.CHANNELS}

    def _user_name(self, user: str) -> str:
        if user not in self._handles:
            raise Refused(f"{user} is not someone in the sandbox's workspace")
        return self._handles[user]

    # -- clicks ----------------------------------------------------------------------------------------------------

    def act(
        self,
        user: str,
        surface: Surface,
        block_id: str,
        action_id: str,
        chosen: Any = None,
        shown: dict[str, Any] | None = None,
        form: dict[str, Any] | None = None,
    ) -> Outcome:
        """``user`` clicks (or picks ``chosen`` in) the element ``block_id``/``action_id`` on ``surface``; in a modal,
        ``form`` is what they have typed into its inputs so far (by block id).

        The element is taken from what the fake Slack holds now. A button that is gone (Heard re-rendered the card
        while the person looked at the old one) is sent as the page ``shown`` it: that is Slack's own race, and
        Heard answers it privately."""
        name = self._user_name(user)
        message: dict[str, Any] | None = None
        view: dict[str, Any] | None = None
        if surface.kind == "message":
            message = self._message(surface)
            blocks = message.get("blocks") or []
        elif surface.kind == "ephemeral":
            blocks = self._ephemeral(user, surface).get("blocks") or []
        elif surface.kind == "home":
            view = self.fake.home(user)
            if view is None:
                raise Refused("there is no Home tab to click on yet")
            blocks = view["blocks"]
        else:
            view = self._open_view(user, surface.view_id)
            blocks = view["blocks"]
        element = find_element(blocks, block_id, action_id)
        if element is None or not _offers(element, chosen):
            element = _as_shown(shown, action_id, chosen)
        if surface.kind == "modal" and view is not None:
            view = self._with_state(user, view, form or {})
        payload = block_actions(
            self.fake,
            user=user,
            user_name=name,
            surface=surface,
            action=action_object(element, block_id, chosen),
            message=message,
            view=view,
            channel_name=self._channel_names.get(surface.channel or ""),
        )
        response = self.driver.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM)
        return Outcome(response.status)

    def _message(self, surface: Surface) -> dict[str, Any]:
        try:
            return self.fake.message(str(surface.channel), str(surface.ts))
        except KeyError:
            raise Refused("that message was deleted") from None

    def _ephemeral(self, user: str, surface: Surface) -> dict[str, Any]:
        for ephemeral in self.fake.ephemerals(surface.channel, user):
            if ephemeral["ts"] == surface.ts:
                return ephemeral
        raise Refused("that message is gone")

    def _open_view(self, user: str, view_id: str | None) -> dict[str, Any]:
        for view in self.fake.open_views(user):
            if view["id"] == view_id:
                return view
        raise Refused("that form is no longer open")

    def _with_state(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """The modal with ``state.values`` from what the person has typed so far (as a click inside it carries)."""
        filled = labelled_values(view, values)
        payload = view_submission_payload(self.fake, view, user, filled, require_inputs=False)
        return payload["view"]

    # -- modals ------------------------------------------------------------------------------------------------------

    def submit(self, user: str, view_id: str, values: dict[str, Any]) -> Outcome:
        """``user`` submits the modal ``view_id`` with ``values`` (by input block id)."""
        self._user_name(user)
        view = self._open_view(user, view_id)
        try:
            response = self.driver.submit_view(view, user, labelled_values(view, values))
        except AssertionError as refused:  # what Slack's client refuses before sending anything
            raise Refused(str(refused)) from None
        return Outcome(response.status, response.outcome, response.field_errors())

    def close(self, user: str, view_id: str) -> Outcome:
        """``user`` closes the modal (Cancel, or the close button); Heard hears of it only when the view asked to be
        told (notify_on_close)."""
        name = self._user_name(user)
        view = self._open_view(user, view_id)
        status = 200
        if view.get("notify_on_close"):
            payload = view_closed(self.fake, user=user, user_name=name, view=view)
            status = self.driver.post_signed(urlencode({"payload": json.dumps(payload)}), content_type=FORM).status
        with contextlib.suppress(KeyError):  # closed meanwhile by Heard's answer
            self.fake.close_view(view_id)
        return Outcome(status, "closed")

    # -- typing ------------------------------------------------------------------------------------------------------

    def type(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> Outcome:
        """``user`` sends ``text`` in ``channel``: a slash command goes to Heard, anything else is a plain message
        (Heard does not read those; people may talk in the channel)."""
        name = self._user_name(user)
        dm_user = self.fake.dm_user(channel)
        if dm_user is not None and dm_user != user:
            raise Refused("that is someone else's conversation with Heard")
        if channel not in self._channel_names and dm_user is None:
            raise Refused(f"there is no channel {channel}")
        text = text.strip()
        if not text:
            raise Refused("type something first")
        command = re.match(r"^(/\S+)\s*(.*)$", text, re.DOTALL)
        if command is None:
            self.fake.add_message(channel, text=_as_slack_sends(text), user=user, thread_ts=thread_ts)
            return Outcome(200, "posted")
        if command.group(1) != COMMAND:
            raise Refused(f"{command.group(1)} is not a valid command. In the sandbox, Heard's {COMMAND} is the one")
        response = self.driver.command(COMMAND, command.group(2), user=user, channel=channel, user_name=name)
        return Outcome(response.status, response.outcome)

    def open_home(self, user: str) -> Outcome:
        """``user`` opens Heard's Home tab: ``app_home_opened``, and Heard publishes their Home view."""
        self._user_name(user)
        response = self.driver.open_home(user)
        return Outcome(response.status)
