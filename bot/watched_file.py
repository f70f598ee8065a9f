"""A file the team edits, in force while Heard runs: checked at start-up, re-read when it changes on disk.

Start-up fails loudly on a bad file; a later edit that breaks it is logged once (the file's stamp is taken before
reading, so the same broken version is not re-read) and the last good version stays in force until the file is
fixed. Used by the escalation directory (`bot/directory.py`) and the reply templates (`bot/replies.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class WatchedFile(Generic[T]):
    """The version of `path` in force. `load` reads and validates the file, raising one of `errors` when it cannot
    be used; when the file is missing at start-up, `missing()` (if given) stands in for it."""

    def __init__(
        self,
        path: Path,
        load: Callable[[Path], T],
        *,
        errors: type[Exception] | tuple[type[Exception], ...],
        log: logging.Logger,
        what: str,
        reloaded: Callable[[T], str] | None = None,
        missing: Callable[[], T] | None = None,
    ) -> None:
        self.path = path
        self._load = load
        self._errors = errors
        self._log = log
        self._what = what
        self._reloaded = reloaded
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        if self._stamp is None and missing is not None:
            self._value = missing()
        else:
            self._value = load(path)  # start-up fails loudly on a bad file

    def _file_stamp(self) -> tuple[float, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime, stat.st_size)

    def current(self) -> T:
        stamp = self._file_stamp()
        with self._lock:
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._value = self._load(self.path)
                except self._errors as error:
                    self._log.error("%s not reloaded, keeping the last good version:\n%s", self._what, error)
                else:
                    detail = self._reloaded(self._value) if self._reloaded else f"from {self.path}"
                    self._log.info("%s reloaded %s", self._what, detail)
            return self._value
