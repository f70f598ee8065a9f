"""Webhook posts that arrive together share one commit, and each sender still learns its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

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
