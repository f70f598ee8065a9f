"""The registry: the adapters of this deployment, by key. Adding a network is one folder with a
`register(settings)` and `LABELS`, plus one line in `REGISTERED`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from bot.config import Settings
from bot.platforms import meta, x
from bot.platforms.base import ApiFailed, Intake, Listener, Platform, Registration, WebRoute, not_counted
from bot.platforms.webhook import KEY as WEBHOOK
from bot.platforms.webhook import WebhookPlatform

REGISTERED: tuple[Callable[[Settings, ApiFailed], Registration], ...] = (x.register, meta.register)


class HasPlatform(Protocol):
    platform: str | None
    source: str


class Platforms:
    """The adapters of this deployment, by key; anything else (the generic webhook's sources) is listen-only."""

    def __init__(
        self,
        settings: Settings,
        registered: Sequence[Callable[[Settings, ApiFailed], Registration]] = REGISTERED,
        api_failed: ApiFailed = not_counted,
    ):
        self._registrations = [register(settings, api_failed) for register in registered]
        self._by_key: dict[str, Platform] = {}
        for registration in self._registrations:
            for platform in registration.platforms:
                self._by_key[platform.key] = platform

    def of(self, complaint: HasPlatform) -> Platform:
        platform = self._by_key.get(complaint.platform or WEBHOOK)
        return platform if platform is not None else WebhookPlatform(complaint.source)

    def key_for_webhook_source(self, source: str) -> str:
        """A generic webhook post whose source names a platform set up here (a bridge forwarding X posts, say)
        belongs to that platform, so replies and hiding work on it; any other source is listen-only."""
        return source if source in self._by_key else WEBHOOK

    def listeners(self, intake: Intake) -> list[Listener]:
        return [listener for registration in self._registrations for listener in registration.listeners(intake)]

    def routes(self, intake: Intake) -> Mapping[str, WebRoute]:
        routes: dict[str, WebRoute] = {}
        for registration in self._registrations:
            routes.update(registration.routes(intake))
        return routes


LABELS: dict[str, str] = {**x.LABELS, **meta.LABELS}
PRIVATE_REPLY_NAMES: dict[str, str] = {**x.PRIVATE_REPLY_NAMES, **meta.PRIVATE_REPLY_NAMES}
