"""The platform contract: what a social network can do for Heard, declared, and the shapes that cross it.

Each platform (X, Facebook, Instagram, the generic webhook, ...) lives in its own folder under `bot/platforms/` and
implements only what its network allows: listening (webhook and/or polling), a public reply in the customer's
thread, a private reply, hiding and unhiding, blocking (or muting) the author. Use cases ask the adapter of the
complaint's platform (`Platforms.of(complaint)`) and read its `Capabilities`; nothing outside an adapter knows a
network's name or its rules.

Writes follow one discipline, whatever the network: an adapter raises `Refused` when nothing was posted (said in
words an agent can act on), `Unsure` when it may have been posted (a timeout, a 5xx), and `Duplicate` when the
network says the same text is already there. After an unsure attempt the caller looks (`find_reply`,
`find_private_reply`) before posting again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from bot.i18n import N_, _

if TYPE_CHECKING:
    from storage.db import Database


@dataclass(frozen=True)
class NewComplaint:
    source: str
    external_id: str
    author_handle: str
    text: str
    author_name: str | None = None
    author_id: str | None = None
    url: str | None = None
    posted_at: datetime | None = None
    author_followers: int | None = None
    author_verified: bool | None = None
    lang: str | None = None
    # Posts by the same author in the same conversation join one open complaint.
    conversation_id: str | None = None
    # The post as the source sent it, kept as evidence.
    raw: dict[str, Any] | None = None
    # Which adapter acts on it (replies, hiding): the generic webhook's posts are listen-only whatever their source.
    platform: str = "webhook"


class UpdateKind(StrEnum):
    EDITED = "edited"
    REMOVED = "removed"
    HIDDEN = "hidden"
    UNHIDDEN = "unhidden"


@dataclass(frozen=True)
class PostUpdate:
    """Something that happened to a post Heard may have filed: the author edited or removed it, or someone hid it
    on the network itself."""

    source: str
    external_id: str
    kind: UpdateKind
    at: datetime
    text: str | None = None
    raw: dict[str, Any] | None = None


class Capability(StrEnum):
    PUBLIC_REPLY = "public reply"
    PRIVATE_REPLY = "private reply"
    HIDE = "hide"
    UNHIDE = "unhide"
    BLOCK = "block"


@dataclass(frozen=True)
class Capabilities:
    """What the platform can do now (given its settings), and for each thing it cannot, why, in words."""

    supported: frozenset[Capability] = frozenset()
    missing: Mapping[Capability, str] = field(default_factory=dict)
    # The network's rule for private replies, said on the form ("Instagram allows one private reply, within 7 days").
    private_reply_rule: str | None = None
    private_reply_within: timedelta | None = None
    private_reply_once: bool = False
    # A private reply that needs the author's id (an X DM) rather than the post's (a Meta private reply).
    private_reply_needs_author: bool = False
    # What "block" really does on the network, when it is less than a block (X mutes).
    block_means: str | None = None

    def can(self, capability: Capability) -> bool:
        return capability in self.supported

    def why_not(self, capability: Capability) -> str:
        return self.missing.get(capability) or _(_NOT_ALLOWED[capability])


# Why a capability is missing when the adapter does not say (shown on the card and in the forms).
_NOT_ALLOWED = {
    Capability.PUBLIC_REPLY: N_("this platform does not allow a public reply from Heard"),
    Capability.PRIVATE_REPLY: N_("this platform does not allow a private reply from Heard"),
    Capability.HIDE: N_("this platform does not allow a hide from Heard"),
    Capability.UNHIDE: N_("this platform does not allow an unhide from Heard"),
    Capability.BLOCK: N_("this platform does not allow a block from Heard"),
}


@dataclass(frozen=True)
class PostRef:
    """The post an action is about, as the complaint recorded it."""

    external_id: str
    author_id: str | None
    author_handle: str
    posted_at: datetime
    conversation_id: str | None = None


@dataclass(frozen=True)
class Sent:
    external_id: str | None
    url: str | None = None


@dataclass(frozen=True)
class Done:
    """What the network did to a moderation request: `done`, or in words for the card, why not."""

    done: bool
    refusal: str | None = None


class Refused(Exception):
    """Nothing was posted; `str()` says why in words an agent can act on."""


class Unsure(Exception):
    """The outcome is unknown: it may have been posted. Look before trying again."""


class Duplicate(Exception):
    """The network refuses the same text twice: it was posted already (by an attempt not heard from, or by
    someone)."""


class Listener(Protocol):
    """A poller: `poll()` is called every `interval` by the scheduler; `release()` on a clean stop."""

    name: str
    interval: timedelta

    def poll(self) -> None: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class WebRequest:
    method: str
    query: Mapping[str, str]
    # Lower-case names.
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class WebAnswer:
    status: int
    body: dict[str, Any] | str


WebRoute = Callable[[WebRequest], WebAnswer]


@dataclass(frozen=True)
class Intake:
    """What listeners hand their findings to: the intake use cases, and what pollers keep their place in."""

    file: Callable[[Sequence[NewComplaint]], Sequence[Any]]
    update: Callable[[Sequence[PostUpdate]], None]
    database: Database
    wake_delivery: Callable[[], None]
    # This copy of Heard, for leases (one poller across copies).
    owner: str
    timezone: ZoneInfo


class Platform:
    """An adapter. The defaults say "not on this platform"; each adapter overrides what its network allows."""

    key: str = ""
    label: str = ""
    # What the network calls a private reply, as people read it on the form and the card ("DM" on X).
    # Translators: what a network calls a message sent privately to the author of a comment.
    private_reply_name: str = N_("private reply")
    # How long one call to the network may take; a reply's sender is taken over after a few of these.
    timeout: timedelta = timedelta(seconds=10)

    def capabilities(self) -> Capabilities:
        return Capabilities()

    def source_label(self, source: str) -> str:
        """How the card names where the post was made."""
        return self.label or source

    def reply(self, post: PostRef, text: str) -> Sent:
        raise Refused(self.capabilities().why_not(Capability.PUBLIC_REPLY))

    def find_reply(self, post: PostRef, text: str) -> Sent | None:
        return None

    def reply_privately(self, post: PostRef, text: str) -> Sent:
        raise Refused(self.capabilities().why_not(Capability.PRIVATE_REPLY))

    def find_private_reply(self, post: PostRef, text: str) -> Sent | None:
        return None

    def hide(self, post: PostRef) -> Done:
        return Done(False, self.capabilities().why_not(Capability.HIDE))

    def unhide(self, post: PostRef) -> Done:
        return Done(False, self.capabilities().why_not(Capability.UNHIDE))

    def block(self, post: PostRef) -> Done:
        return Done(False, self.capabilities().why_not(Capability.BLOCK))

    def private_reply_refusal(self, post: PostRef, now: datetime, already_sent: bool) -> str | None:
        """Why a private reply to this post is not possible now (the network's window or once-only rule)."""
        capabilities = self.capabilities()
        if not capabilities.can(Capability.PRIVATE_REPLY):
            return capabilities.why_not(Capability.PRIVATE_REPLY)
        if capabilities.private_reply_needs_author and not post.author_id:
            return _(
                "%(network)s did not say who wrote the post, so Heard cannot write to them privately",
                network=self.label,
            )
        rule = capabilities.private_reply_rule
        if capabilities.private_reply_once and already_sent:
            if rule:
                # Translators: the rule is the network's, e.g. "Facebook allows one private reply per comment".
                return _("%(rule)s: this post already had its private reply", rule=rule)
            return _("this post already had its private reply")
        within = capabilities.private_reply_within
        if within is not None and now - post.posted_at > within:
            if rule:
                # Translators: the rule is the network's, e.g. "Facebook allows one private reply per comment,
                # within 7 days".
                return _("%(rule)s: this post is older than that", rule=rule)
            return _("this post is older than the network allows for a private reply")
        return None


# Told of each failed call to a network's API: the platform's key and the HTTP status, or "timeout" / "connection"
# when there was no answer (/metrics counts them).
ApiFailed = Callable[[str, str], None]


def not_counted(platform: str, status: str) -> None:
    return None


@dataclass(frozen=True)
class Registration:
    """One platform folder's contribution: its adapters, its pollers and its web routes (e.g. `/webhooks/meta`)."""

    platforms: Sequence[Platform]
    listeners: Callable[[Intake], Sequence[Listener]] = lambda _intake: ()
    routes: Callable[[Intake], Mapping[str, WebRoute]] = lambda _intake: {}
