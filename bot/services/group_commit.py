"""Webhook posts that arrive together are filed together: one thread takes whatever requests are waiting and
files them in one unit of work (one commit instead of one each), and each request answers only once its own post
is committed. A lone request waits for nobody.

A post the database refuses fails alone: a batch that fails for any reason but an outage is split in halves and
each half filed again, down to the post at fault, whose sender alone gets the error (`log2(batch)` extra attempts
per bad post, not one per post). An outage fails the whole batch at once: splitting would only knock harder on a
database that is down."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from bot.failure_log import FailureLog
from bot.platforms.base import NewComplaint
from bot.services.base import IngestResult
from storage.db import is_outage

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
        self._failures = FailureLog(log)

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
            self._file_batch(batch)

    def _file_batch(self, batch: list[tuple[NewComplaint, Future[IngestResult]]]) -> None:
        try:
            results = self._file_many([post for post, _ in batch])
        except Exception as error:
            if len(batch) == 1 or is_outage(error):
                for _, future in batch:
                    future.set_exception(error)
                return
            self._failures.report("a batch of webhook posts failed; filing it in halves", error)
            middle = len(batch) // 2
            self._file_batch(batch[:middle])
            self._file_batch(batch[middle:])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
