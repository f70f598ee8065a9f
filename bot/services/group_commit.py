"""Webhook posts that arrive together are filed together: one thread takes whatever requests are waiting and
files them in one unit of work (one commit instead of one each), and each request answers only once its own post
is committed. A lone request waits for nobody."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from bot.platforms.base import NewComplaint
from bot.services.base import IngestResult

log = logging.getLogger("heard.services")

FileMany = Callable[[Sequence[NewComplaint]], list[IngestResult]]
# Large enough to share a commit among many senders, small enough to keep the write lock short.
BATCH_LIMIT = 100


class GroupCommit:
    def __init__(self, file_many: FileMany, limit: int = BATCH_LIMIT) -> None:
        self._file_many = file_many
        self._limit = limit
        self._waiting: queue.SimpleQueue[tuple[NewComplaint, Future[IngestResult]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest-group-commit", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._waiting.put(None)
            self._thread.join(timeout)
            self._thread = None

    def file(self, post: NewComplaint) -> IngestResult:
        """File `post` with whatever else is waiting; raises what filing raised (nothing was stored then)."""
        if self._thread is None:
            return self._file_many([post])[0]
        result: Future[IngestResult] = Future()
        self._waiting.put((post, result))
        return result.result()

    def _run(self) -> None:
        while True:
            first = self._waiting.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._limit:
                try:
                    waiting = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    self._waiting.put(None)  # stop after this batch
                    break
                batch.append(waiting)
            try:
                results = self._file_many([post for post, _ in batch])
            except Exception as error:
                log.warning("could not file %d webhook post(s): %s", len(batch), type(error).__name__)
                for _, future in batch:
                    future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)
