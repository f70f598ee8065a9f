"""Every action_id and block_id Heard puts into Slack, and how a button's value names its complaint."""

from __future__ import annotations

from dataclasses import dataclass

ACKNOWLEDGE = "acknowledge"
CLAIM = "claim"

CARD_ACTIONS_BLOCK = "card_actions"

# Stored as message metadata on every card so a card posted before a crash can be found again, not re-posted.
CARD_METADATA_EVENT = "heard_complaint_card"


@dataclass(frozen=True)
class ComplaintRef:
    """A button's value: the complaint and the revision the card showed when it was rendered."""

    complaint_id: int
    revision: int

    def encode(self) -> str:
        return f"{self.complaint_id}.{self.revision}"

    @classmethod
    def decode(cls, value: str) -> ComplaintRef:
        complaint_id, _, revision = value.partition(".")
        try:
            return cls(int(complaint_id), int(revision or 0))
        except ValueError as exc:
            raise ValueError(f"not a complaint reference: {value!r}") from exc
