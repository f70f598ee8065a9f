"""`POST /ingest`: the generic webhook. Verifies, parses, hands over to `Services.ingest`, answers in JSON."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.platforms.webhook import ingest as webhook
from bot.services.group_commit import GroupCommit

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
    result = intake.file(complaint)
    return Reply(200 if result.duplicate else 202, {"complaint_id": result.complaint_id, "duplicate": result.duplicate})
