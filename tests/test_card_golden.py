"""The card is a pure function of the complaint and the time: its JSON is pinned for each state.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/test_card_golden.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.card import render_card
from storage.models import Complaint

GOLDEN = Path(__file__).parent / "golden"
POSTED = datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
MADRID = ZoneInfo("Europe/Madrid")


def complaint(**changes: object) -> Complaint:
    fields: dict[str, object] = {
        "id": 42,
        "source": "facebook",
        "external_id": "fb-1",
        "author_handle": "maria_l",
        "author_name": "Maria López",
        "author_id": None,
        "text": "Three weeks waiting for my refund & nobody answers <!channel>",
        "url": "https://facebook.com/acme/posts/1?a=1&b=2",
        "posted_at": POSTED,
        "received_at": POSTED + timedelta(seconds=20),
        "status": "new",
        "owner_id": None,
        "claimed_by": None,
        "claimed_at": None,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "ack_deadline": POSTED + timedelta(hours=1),
        "revision": 1,
    }
    fields.update(changes)
    return Complaint(**fields)


CASES = {
    "new": (complaint(), POSTED + timedelta(minutes=18)),
    "claimed": (
        complaint(owner_id="U0ANA", claimed_by="U0ANA", claimed_at=POSTED + timedelta(minutes=20), revision=2),
        POSTED + timedelta(minutes=21),
    ),
    "acknowledged": (
        complaint(
            status="acknowledged",
            owner_id="U0ANA",
            claimed_by="U0ANA",
            claimed_at=POSTED + timedelta(minutes=20),
            acknowledged_by="U0BEN",
            acknowledged_at=POSTED + timedelta(minutes=31),
            revision=3,
        ),
        POSTED + timedelta(minutes=32),
    ),
    "overdue": (complaint(), POSTED + timedelta(hours=1, minutes=3)),
    "next_day": (complaint(author_name=None, url=None), POSTED + timedelta(hours=20)),
}


@pytest.mark.parametrize("state", sorted(CASES))
def test_card_matches_its_golden_json(state: str) -> None:
    subject, now = CASES[state]
    message = render_card(subject, now, MADRID)
    rendered = json.dumps({"text": message.text, "blocks": message.blocks}, indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / f"card_{state}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")
