"""Webhook posts that arrive together share one commit, and each sender still learns its own outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from sqlalchemy.exc import OperationalError

from bot.platforms.base import NewComplaint
from bot.services.base import IngestResult
from bot.services.group_commit import GroupCommit


def post(external_id: str) -> NewComplaint:
    return NewComplaint(source="webhook", external_id=external_id, author_handle="maria", text="still broken")


class Filing:
    """Stands in for `ingest_many`, recording each batch it was given."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, posts: Sequence[NewComplaint]) -> list[IngestResult]:
        self.release.wait(5)
        self.batches.append([p.external_id for p in posts])
        if self.fail:
            raise RuntimeError("database unavailable")
        return [IngestResult(int(p.external_id), duplicate=False) for p in posts]


def test_waiting_posts_are_filed_together_and_each_gets_its_own_answer() -> None:
    filing = Filing()
    commit = GroupCommit(filing)
    commit.start()
    answers: dict[str, IngestResult] = {}

    def send(external_id: str) -> None:
        answers[external_id] = commit.file(post(external_id))

    senders = [threading.Thread(target=send, args=(str(n),)) for n in range(1, 21)]
    for sender in senders:
        sender.start()
    filing.release.set()
    for sender in senders:
        sender.join(5)
    commit.stop()

    assert {key: answer.complaint_id for key, answer in answers.items()} == {str(n): n for n in range(1, 21)}
    assert sorted(key for batch in filing.batches for key in batch) == sorted(str(n) for n in range(1, 21))
    assert len(filing.batches) < 20  # shared commits


def test_a_failed_commit_is_reported_to_every_sender_in_it() -> None:
    filing = Filing(fail=True)
    filing.release.set()
    commit = GroupCommit(filing)
    commit.start()

    with pytest.raises(RuntimeError, match="database unavailable"):
        commit.file(post("1"))
    commit.stop()


def test_without_its_thread_a_post_is_filed_directly() -> None:
    filing = Filing()
    filing.release.set()

    assert GroupCommit(filing).file(post("7")).complaint_id == 7


class PickyFiling:
    """Stands in for `ingest_many`: refuses any batch holding a post whose id starts with "bad", as the database
    refuses a batch holding one unstorable row; or fails every batch like a database that is down."""

    def __init__(self, outage: bool = False) -> None:
        self.calls = 0
        self.outage = outage
        self.release = threading.Event()

    def __call__(self, posts: Sequence[NewComplaint]) -> list[IngestResult]:
        self.release.wait(5)
        self.calls += 1
        if self.outage:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))
        if any(p.external_id.startswith("bad") for p in posts):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return [IngestResult(int(p.external_id), duplicate=False) for p in posts]


def file_together(commit: GroupCommit, filing: PickyFiling, keys: list[str]) -> dict[str, IngestResult | Exception]:
    answers: dict[str, IngestResult | Exception] = {}

    def send(external_id: str) -> None:
        try:
            answers[external_id] = commit.file(post(external_id))
        except Exception as error:
            answers[external_id] = error

    senders = [threading.Thread(target=send, args=(key,)) for key in keys]
    for sender in senders:
        sender.start()
    time.sleep(0.2)  # every sender is waiting: they share one batch
    filing.release.set()
    for sender in senders:
        sender.join(5)
    return answers


def test_a_post_the_database_refuses_fails_alone_and_its_neighbours_are_filed() -> None:
    filing = PickyFiling()
    commit = GroupCommit(filing)
    commit.start()
    keys = [str(n) for n in range(1, 41)] + ["bad-1", "bad-2"]

    answers = file_together(commit, filing, keys)
    commit.stop()

    assert {key: a.complaint_id for key, a in answers.items() if isinstance(a, IngestResult)} == {
        str(n): n for n in range(1, 41)
    }
    assert all(isinstance(answers[key], UnicodeEncodeError) for key in ("bad-1", "bad-2"))
    assert filing.calls < 30  # halves, not one post at a time


def test_an_outage_fails_the_batch_at_once_without_splitting_it() -> None:
    filing = PickyFiling(outage=True)
    commit = GroupCommit(filing)
    commit.start()

    answers = file_together(commit, filing, [str(n) for n in range(1, 21)])
    commit.stop()

    assert all(isinstance(answer, OperationalError) for answer in answers.values()) and len(answers) == 20
    assert filing.calls < 20  # one attempt per batch that formed
