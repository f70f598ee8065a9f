"""Logs never hold a customer's e-mail address, phone number or card number, at any level: slack_sdk's DEBUG lines
carry every message body Heard sends (cards show e-mails and phone numbers to the care team), Bolt's the payloads
Slack sends back, and an error may quote a post.

`MaskPersonalData` is installed on the handlers (`install`), so it sees exactly the records that will be written,
whichever logger made them (a filter on a logger would miss what its children propagate), and none below the
effective level: those are dropped before any handler is asked. It masks the formatted message (args included), a
traceback and a stack, with the patterns of `bot/personal_data.py` (compiled once; a line without "@" and with
fewer than nine digits costs a few counts).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.personal_data import mask


class MaskPersonalData(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a broken format string: logging reports it itself, without the arguments' values
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
            # Formatters write the masked text then; given the exception itself, JsonFormatter would format it anew.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def install(handlers: Iterable[logging.Handler]) -> None:
    """Mask personal data in everything these handlers write (once each, however often it is called)."""
    for handler in handlers:
        if not any(isinstance(existing, MaskPersonalData) for existing in handler.filters):
            handler.addFilter(MaskPersonalData())
