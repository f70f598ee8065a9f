"""Structured logs (`LOG_FORMAT=json`): one JSON object per line, carrying the id of the HTTP request being served.

The request id is a context variable set by handlers/web.py for the duration of each request (the caller's
`X-Request-Id` when it is a sane token, else a new one), so every line written while serving it carries it, from
any module. Background threads (delivery, scheduler, pollers) have none; their thread's name says which they are.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID: ContextVar[str | None] = ContextVar("heard_request_id", default=None)
REQUEST_ID_HEADER = "X-Request-Id"
# What a load balancer or tracing proxy sends (UUIDs, hex, base64url ids); anything else is replaced, never echoed.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}$")


def request_id_for(offered: str | None) -> str:
    """The caller's request id if it is a sane token, else a new one."""
    if offered and _SANE_REQUEST_ID.match(offered):
        return offered
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """time (UTC, ISO 8601), level, logger, message, thread, request_id (null outside a request), and exception
    (the formatted traceback) when there is one. Messages are formatted as in text mode; nothing else is added."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "thread": record.threadName,
            "request_id": REQUEST_ID.get(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii: a customer's words in a message cannot break the line (U+2028 and friends are escaped).
        return json.dumps(entry, ensure_ascii=True, default=str)
