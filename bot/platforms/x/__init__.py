"""X (Twitter): mentions and keyword search polled through tweepy; replies, DMs, hiding and muting in the brand's
name with user-context credentials."""

from __future__ import annotations

from bot.config import Settings
from bot.platforms.base import ApiFailed, Intake, Listener, Registration, not_counted
from bot.platforms.x.adapter import XPlatform
from bot.platforms.x.client import make_client
from bot.platforms.x.poller import XPoller

LABELS = {XPlatform.key: XPlatform.label}
PRIVATE_REPLY_NAMES = {XPlatform.key: XPlatform.private_reply_name}


def register(settings: Settings, api_failed: ApiFailed = not_counted) -> Registration:
    platform = XPlatform(settings, api_failed)

    def listeners(intake: Intake) -> list[Listener]:
        if settings.x is None:
            return []
        return [
            XPoller(
                settings.x,
                intake.database,
                intake.file,
                intake.wake_delivery,
                owner=intake.owner,
                timezone=intake.timezone,
                client=make_client(settings.x, lambda status: api_failed(XPlatform.key, status)),
            )
        ]

    return Registration(platforms=[platform], listeners=listeners)
