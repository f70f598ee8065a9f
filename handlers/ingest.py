"""`POST /ingest`: the generic webhook. Verifies, parses, hands over to `Services.ingest`, answers in JSON."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.platforms.webhook import ingest as webhook
from bot.services.group_commit import GroupCommit
from storage.db import is_bad_data

log = logging.getLogger("heard.handlers.ingest")


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


def handle_ingest(intake: GroupCommit, secret: str, body: bytes, headers: dict[str, str]) -> Reply:
    """`headers` must have lower-case names. The body has already been held to the size limit."""
    if not webhook.signature_is_valid(secret, body, headers.get("x-heard-timestamp"), headers.get("x-heard-signature")):
        log.warning("rejected /ingest: missing, wrong or stale signature")
        return Reply(
            401,
            {
                "error": "invalid signature",
                "message": "sign with INGEST_SECRET (X-Heard-Timestamp, X-Heard-Signature: v0=...); "
                "requests older than 5 minutes are refused",
            },
        )
    try:
        complaint = webhook.parse(body)
    except webhook.InvalidPayload as invalid:
        return Reply(
            400,
            {
                "error": "invalid payload",
                "field": invalid.field,
                "message": f"{invalid.field} {invalid.message}",
            },
        )
    try:
        result = intake.file(complaint)
    except Exception as error:
        if not is_bad_data(error):
            raise  # an outage (503) or a fault of Heard's own: handlers/web.py answers and logs it
        # The database refused a value that got past `parse`: this post failed alone (its batch was filed without
        # it), and the sender is told which field, because sending it again will never work.
        field = webhook.unstorable_field(complaint) or "body"
        return Reply(
            400,
            {
                "error": "invalid payload",
                "field": field,
                "message": f"{field} could not be stored ({type(error).__name__}); nothing was stored",
            },
        )
    return Reply(200 if result.duplicate else 202, {"complaint_id": result.complaint_id, "duplicate": result.duplicate})
