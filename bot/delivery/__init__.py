"""The one path for everything Heard sends to Slack: an outbox in the database and workers that drain it."""

from bot.delivery.outbox import (
    DONE,
    EPHEMERAL,
    EXPIRED,
    FAILED,
    PENDING,
    SENDING,
    UPLOAD,
    FileUpload,
    NotReady,
    Outgoing,
    Waker,
    refresh,
    refresh_existing,
    refresh_key,
    row_values,
    send_ephemeral,
    utcnow,
)
from bot.delivery.worker import DeliveryWorker, Renderer

__all__ = [
    "DONE",
    "EPHEMERAL",
    "EXPIRED",
    "FAILED",
    "PENDING",
    "SENDING",
    "UPLOAD",
    "DeliveryWorker",
    "FileUpload",
    "NotReady",
    "Outgoing",
    "Renderer",
    "Waker",
    "refresh",
    "refresh_existing",
    "refresh_key",
    "row_values",
    "send_ephemeral",
    "utcnow",
]
