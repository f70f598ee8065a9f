"""The generic webhook (`POST /ingest`): any source that can sign a JSON post. Heard only listens to it: it cannot
reply, hide or block there, so the card offers the draft to copy and records moderation in Heard only."""

from __future__ import annotations

from bot.i18n import _
from bot.platforms.base import Capabilities, Capability, Platform

KEY = "webhook"


class WebhookPlatform(Platform):
    """Listen-only. One per source name, so what the card says names the source as its sender called it."""

    key = KEY

    def __init__(self, source: str) -> None:
        self.label = source

    def capabilities(self) -> Capabilities:
        return Capabilities(
            missing={
                Capability.PUBLIC_REPLY: _("Heard cannot reply on this source"),
                Capability.PRIVATE_REPLY: _("Heard cannot reply on this source"),
                # Translators: the source is the name a webhook sender gave itself, e.g. "trustpilot".
                Capability.HIDE: _(
                    "%(source)s posts cannot be hidden from Heard; hide it there too", source=self.label
                ),
                Capability.UNHIDE: _(
                    "%(source)s posts cannot be unhidden from Heard; unhide it there too", source=self.label
                ),
                Capability.BLOCK: _("%(source)s accounts cannot be blocked from Heard", source=self.label),
            }
        )
