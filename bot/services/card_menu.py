"""What the card's "More…" menu needs besides the use cases its choices lead to: the small modal that asks before
Flag threat and Block act (a menu option cannot carry a confirm dialog of its own, see bot/blocks/menu.py), and
the private answer to a choice Heard cannot read (anyone can forge a click)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot.blocks import ids
from bot.blocks.card import fallback
from bot.blocks.moderation import confirm_block_modal, confirm_flag_threat_modal
from bot.i18n import N_, _
from bot.services.base import Requester, UseCases
from storage.models import Complaint

log = logging.getLogger("heard.services.card_menu")

# Translators: “More…” is the menu of that name on the card.
UNREADABLE_CHOICE = N_(
    "This card is out of date: Heard could not read that choice. Please use the “More…” menu on the card as it "
    "shows now."
)
_CONFIRMATIONS = {
    ids.CONFIRM_FLAG_THREAT_VIEW: confirm_flag_threat_modal,
    ids.CONFIRM_BLOCK_VIEW: confirm_block_modal,
}


class CardMenuUseCases(UseCases):
    def open_confirmation(self, form: str, complaint_id: int, requester: Requester, trigger_id: str) -> None:
        """Open the question `form` (ids.CONFIRM_FLAG_THREAT_VIEW or ids.CONFIRM_BLOCK_VIEW) about this complaint;
        its submission does what the confirmed button did. Repeats (already flagged, already blocked) are answered
        then, by the use case itself, as the button's were."""
        build = _CONFIRMATIONS[form]

        def view_of(session: Session, complaint: Complaint) -> dict:
            return build(ids.ComplaintRef(complaint.id, complaint.revision).encode(), fallback(complaint))

        self._open_modal(complaint_id, requester, trigger_id, view_of)

    def refuse_menu_choice(self, requester: Requester) -> None:
        """A menu choice that is not one Heard offers (forged, garbled, or from a version that had other choices):
        said privately to whoever sent it; nothing else happens."""
        self._tell(requester, _(UNREADABLE_CHOICE))
