"""Use cases: one unit of work each. Handlers, sources and the scheduler call these; nothing here knows HTTP or Bolt.

Every use case someone triggers from Slack takes a `Requester`, checks what that person may do, applies the change
through `lifecycle`, re-renders what shows it (card, notices, DMs, thread log) through the outbox, and answers
privately when the request did not (or did not need to) change anything. The areas live in their own modules.
"""

from bot.services.base import FieldErrors, IngestResult, Requester
from bot.services.card_menu import CardMenuUseCases
from bot.services.complaints import ComplaintUseCases
from bot.services.digests import DigestUseCases
from bot.services.escalations import EscalationUseCases
from bot.services.follow_ups import FollowUpUseCases
from bot.services.intake import IntakeUseCases
from bot.services.lookups import LookupUseCases
from bot.services.moderation import ModerationUseCases
from bot.services.replies import ReplyUseCases
from bot.services.sla_clocks import SlaUseCases


class Services(
    IntakeUseCases,
    ComplaintUseCases,
    EscalationUseCases,
    FollowUpUseCases,
    SlaUseCases,
    DigestUseCases,
    LookupUseCases,
    ModerationUseCases,
    ReplyUseCases,
    CardMenuUseCases,
):
    """All of Heard's use cases behind one object, as handlers and the scheduler see them."""


__all__ = ["FieldErrors", "IngestResult", "Requester", "Services"]
