"""The shared hot-reloading file and the one link helper: a broken edit is reported once and the last good version
stays; a link is made only from a clean http(s) URL, its label escaped."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from bot.blocks.text import link_to, safe_url
from bot.watched_file import WatchedFile

log = logging.getLogger("heard.test_watched_file")


class Broken(ValueError):
    pass


def _load(path: Path) -> int:
    text = path.read_text()
    if not text.strip().isdigit():
        raise Broken(f"{path}: not a number")
    return int(text)


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(time.time_ns(), before + 1_000_000))


def test_a_broken_edit_keeps_the_last_good_version_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "number.txt"
    path.write_text("1")
    watched = WatchedFile(path, _load, errors=Broken, log=log, what="the number")
    assert watched.current() == 1

    _rewrite(path, "two")
    with caplog.at_level(logging.INFO, logger=log.name):
        assert [watched.current() for _ in range(3)] == [1, 1, 1]
    assert [record.levelname for record in caplog.records] == ["ERROR"]
    assert "the number not reloaded" in caplog.text and "not a number" in caplog.text

    _rewrite(path, "33")
    assert watched.current() == 33


def test_start_up_fails_on_a_bad_or_missing_file_unless_missing_has_a_stand_in(tmp_path: Path) -> None:
    path = tmp_path / "number.txt"
    with pytest.raises(FileNotFoundError):
        WatchedFile(path, _load, errors=Broken, log=log, what="the number")
    assert WatchedFile(path, _load, errors=Broken, log=log, what="the number", missing=lambda: 0).current() == 0
    path.write_text("x")
    with pytest.raises(Broken):
        WatchedFile(path, _load, errors=Broken, log=log, what="the number", missing=lambda: 0)


def test_threads_reading_during_an_edit_see_one_version_or_the_other(tmp_path: Path) -> None:
    path = tmp_path / "number.txt"
    path.write_text("1")
    watched = WatchedFile(path, _load, errors=Broken, log=log, what="the number")
    _rewrite(path, "2")
    seen: list[int] = []
    threads = [threading.Thread(target=lambda: seen.append(watched.current())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [2] * 8


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "javascript:alert(1)",
        "ftp://example.com/x",
        "https://example.com/a|<!channel>",
        "https://example.com/a>b",
        "https://example.com/a b",
        "https://example.com/\nx",
        "http://[unclosed",
    ],
)
def test_no_link_from_an_unsafe_url(url: str | None) -> None:
    assert safe_url(url) is None and link_to(url, "the post") is None


def test_a_link_escapes_the_url_and_the_label() -> None:
    assert link_to("https://example.com/?a=1&b=2", "Tom & <Jerry>") == (
        "<https://example.com/?a=1&amp;b=2|Tom &amp; &lt;Jerry&gt;>"
    )
    assert link_to("http://example.com", "x" * 10, limit=5) == "<http://example.com|xxxx…>"
