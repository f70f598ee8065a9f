"""The card is a pure function of the complaint and the time: its JSON is pinned for each state, in English and,
for the states a team sees most, in each language Heard speaks (tests/golden/<language>/).

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/test_card_golden.py` and review the diff
(a translator's change to a catalog shows up here too, in context).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.card import CardView, render_card
from bot.blocks.moderation import ModerationView
from bot.i18n import LANGUAGES, speaking
from storage.models import Complaint, Escalation, FollowUp

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
        "resolve_deadline": POSTED + timedelta(hours=24),
        "revision": 1,
    }
    fields.update(changes)
    return Complaint(**fields)


def escalation(**changes: object) -> Escalation:
    fields: dict[str, object] = {
        "id": 7,
        "complaint_id": 42,
        "department_key": "legal",
        "department_name": "Legal",
        "reason": "Threatens to sue <!here>",
        "severity": "high",
        "status": "open",
        "requested_by": "U0ANA",
        "requested_at": POSTED + timedelta(minutes=25),
    }
    fields.update(changes)
    return Escalation(**fields)


FOLLOW_UP = FollowUp(
    id=3,
    complaint_id=42,
    due_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    note="",
    assignee="U0ANA",
    scheduled_by="U0ANA",
    scheduled_at=POSTED,
    status="scheduled",
)
CLAIMED = {"owner_id": "U0ANA", "claimed_by": "U0ANA", "claimed_at": POSTED + timedelta(minutes=20)}
RESOLVED = {
    **CLAIMED,
    "status": "resolved",
    "acknowledged_by": "U0BEN",
    "acknowledged_at": POSTED + timedelta(minutes=31),
    "resolved_by": "U0ANA",
    "resolved_at": POSTED + timedelta(hours=2),
    "resolution_note": "Refund issued",
}

CASES = {
    "new": (CardView(complaint()), POSTED + timedelta(minutes=18)),
    "claimed": (CardView(complaint(**CLAIMED, revision=2)), POSTED + timedelta(minutes=21)),
    "acknowledged": (
        CardView(
            complaint(
                status="acknowledged",
                owner_id="U0ANA",
                claimed_by="U0ANA",
                claimed_at=POSTED + timedelta(minutes=20),
                acknowledged_by="U0BEN",
                acknowledged_at=POSTED + timedelta(minutes=31),
                revision=3,
            )
        ),
        POSTED + timedelta(minutes=32),
    ),
    "overdue": (CardView(complaint()), POSTED + timedelta(hours=1, minutes=3)),
    "next_day": (CardView(complaint(author_name=None, url=None)), POSTED + timedelta(hours=20)),
    "escalated": (
        CardView(
            complaint(**CLAIMED),
            escalations=[
                escalation(id=6, department_name="Product", status="accepted", accepted_by="U0PAT"),
                escalation(status="awaiting approval"),
            ],
        ),
        POSTED + timedelta(minutes=30),
    ),
    "resolved_offering_follow_up": (
        CardView(complaint(**RESOLVED), quick_follow_up=timedelta(days=3)),
        POSTED + timedelta(hours=2),
    ),
    "resolved_with_follow_up": (
        CardView(complaint(**RESOLVED), next_follow_up=FOLLOW_UP, quick_follow_up=timedelta(days=3)),
        POSTED + timedelta(hours=2),
    ),
    "no_directory": (CardView(complaint(), can_escalate=False), POSTED + timedelta(minutes=5)),
    # A long post with formatting of its own: plain text, cut to twelve lines, the whole of it one command away.
    "shortened": (
        CardView(complaint(text="\n".join(f"*Day {n}*: _still_ no refund" for n in range(1, 31)))),
        POSTED + timedelta(minutes=5),
    ),
    "from_x_triaged": (
        CardView(
            complaint(
                source="x",
                platform="x",
                external_id="1578516295611748353",
                author_handle="maria_lopez",
                author_followers=48_213,
                author_verified=True,
                lang="es",
                url="https://x.com/maria_lopez/status/1578516295611748353",
                text="@acme refund now or my lawyer calls. I know where you live. maria@example.com",
                priority="high",
                triage_reasons=["48,213 followers", "urgent: refund, lawyer", "personal data: e-mail address"],
                personal_data=["e-mail address"],
                threats=["i know where you live"],
                extra_posts=2,
            )
        ),
        POSTED + timedelta(minutes=9),
    ),
    # Hidden in Heard only (X refused), flagged to Legal, three strikes (Block suggested), written up.
    "moderated": (
        CardView(
            complaint(
                **CLAIMED,
                source="x",
                platform="x",
                hidden_at=POSTED + timedelta(minutes=12),
                hidden_by="U0ANA",
                hidden_reason="threat",
                hidden_note="Names the shop's address",
                hidden_on_source=False,
                hidden_source_refusal="X hides replies only in conversations the brand started",
                threat_flagged_at=POSTED + timedelta(minutes=13),
                threat_flagged_by="U0ANA",
            ),
            moderation=ModerationView(strikes=3, written_up_by="U0BEN", written_up_at=POSTED + timedelta(minutes=40)),
        ),
        POSTED + timedelta(minutes=45),
    ),
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


# The states a care team sees most, and the one with the most words on it.
IN_EVERY_LANGUAGE = ("new", "claimed", "overdue", "escalated", "resolved_with_follow_up", "from_x_triaged", "moderated")


@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
@pytest.mark.parametrize("state", IN_EVERY_LANGUAGE)
def test_card_in_each_language_matches_its_golden_json(state: str, language: str) -> None:
    subject, now = CASES[state]
    with speaking(language):
        message = render_card(subject, now, MADRID)
    rendered = json.dumps({"text": message.text, "blocks": message.blocks}, indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / language / f"card_{state}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")
