"""Triage's findings in the reader's language. `bot/triage.py` stores its reasons and the kinds of personal data
in English (`urgent: refund`, `phone number`: what the audit trail and exports have always held); they are said
in the language being spoken when shown, with the matched words as the customer wrote them."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.blocks.figures import number
from bot.i18n import N_, _, n_
from bot.personal_data import CARD, EMAIL, PHONE

_KINDS = {
    EMAIL: N_("e-mail address"),
    PHONE: N_("phone number"),
    CARD: N_("card number"),
}
_FOLLOWERS = re.compile(r"^(\d[\d,]*) followers?$")


def personal_data_words(kinds: Iterable[str]) -> str:
    """`phone number, e-mail address` in the reader's language (an unknown kind as stored)."""
    return ", ".join(_(_KINDS[kind]) if kind in _KINDS else kind for kind in kinds)


def reason_words(reason: str) -> str:
    """One stored reason (`12,400 followers`, `urgent: refund`, `personal data: phone number`, `threat: …`) said
    in the reader's language; a reason written some other way is shown as stored."""
    if followers := _FOLLOWERS.match(reason):
        count = int(followers.group(1).replace(",", ""))
        return n_("%(count)s follower", "%(count)s followers", count, count=number(count))
    label, _colon, words = reason.partition(": ")
    if label == "urgent":
        # Translators: on the card, why a complaint is high priority; the words are the customer's own.
        return _("urgent: %(words)s", words=words)
    if label == "personal data":
        return _("personal data: %(kinds)s", kinds=personal_data_words(words.split(", ")))
    if label == "threat":
        # Translators: on the card, why a complaint is flagged; the words are the customer's own.
        return _("threat: %(words)s", words=words)
    return reason
