"""Use cases: one unit of work each. Handlers, platforms and the scheduler call these; nothing here knows HTTP or
Bolt.

Every use case someone triggers from Slack takes a `Requester`, checks what that person may do, applies the change
through `lifecycle`, re-renders what shows it (card, notices, DMs, thread log) through the outbox, and answers
privately when the request did not (or did not need to) change anything. Each area is its own object over one
shared `Context`; `Services` only names them, so a reader finds "what happens on Claim" at `services.complaints`.
"""

from __future__ import annotations

from bot.replies import TemplatesFile
from bot.services.base import Context, FieldErrors, IngestResult, Requester
from bot.services.card_menu import CardMenuUseCases
from bot.services.complaints import ComplaintUseCases
from bot.services.digests import DigestUseCases
from bot.services.escalations import EscalationUseCases
from bot.services.follow_ups import FollowUpUseCases
from bot.services.intake import IntakeUseCases
from bot.services.languages import LanguageUseCases
from bot.services.lookups import LookupUseCases
from bot.services.moderation import ModerationUseCases
from bot.services.privacy import PrivacyUseCases
from bot.services.replies import ReplyUseCases
from bot.services.rotations import RotationUseCases
from bot.services.sla_clocks import SlaUseCases
from bot.services.storms import StormUseCases


class Services:
    """Heard's use cases by area, as handlers, platforms and the scheduler see them."""

    def __init__(self, context: Context, templates: TemplatesFile | None = None) -> None:
        self.context = context
        self.settings = context.settings
        self.database = context.database
        self.intake = IntakeUseCases(context)
        self.complaints = ComplaintUseCases(context)
        self.escalations = EscalationUseCases(context)
        self.follow_ups = FollowUpUseCases(context)
        self.sla = SlaUseCases(context)
        self.digests = DigestUseCases(context)
        self.privacy = PrivacyUseCases(context)
        self.lookups = LookupUseCases(context, lambda: {**self.digests.subcommands(), **self.privacy.subcommands()})
        self.moderation = ModerationUseCases(context)
        self.replies = ReplyUseCases(
            context,
            templates or TemplatesFile(context.settings.templates_path, context.settings.templates_required),
        )
        self.card_menu = CardMenuUseCases(context)
        self.storms = StormUseCases(context, self.replies)
        self.rotations = RotationUseCases(context)
        self.languages = LanguageUseCases(context)


__all__ = ["Context", "FieldErrors", "IngestResult", "Requester", "Services"]
