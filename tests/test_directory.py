"""The escalation directory: the shipped example loads, mistakes are named by line, edits apply without restart."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot.directory import DirectoryError, DirectoryFile, load_directory, parse_directory

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "directory.example.toml"


def test_the_shipped_example_covers_the_usual_departments() -> None:
    directory = load_directory(EXAMPLE)

    names = [department.name for department in directory.departments]
    assert names == ["Customer service", "Content", "Legal", "Product", "Executive"]
    legal = directory.get("legal")
    assert legal is not None and legal.needs_approval and legal.users
    assert [department.name for department in directory.who_handles("They say they will sue")] == ["Legal"]


def test_errors_name_the_line_and_the_fix(tmp_path: Path) -> None:
    text = """
[[department]]
name = "Legal"
users = ["U0LEGAL01"]
needs_aproval = true

[[department]]
name = "Product"
channel = "#product"
"""
    with pytest.raises(DirectoryError) as error:
        parse_directory(text, tmp_path / "directory.toml")

    problems = error.value.problems
    assert "line 5: unknown key 'needs_aproval' (did you mean 'needs_approval'?)" in problems
    assert any(p.startswith("line 9: channel in department 'Product' must be a channel id") for p in problems)


def test_a_department_without_contacts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="line 2: department 'Content' has no contacts"):
        parse_directory('\n[[department]]\nname = "Content"\n', tmp_path / "directory.toml")


def test_syntax_errors_carry_the_parser_position(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match=r"line 3, column 9"):
        parse_directory('[[department]]\nname = "Legal"\nusers = ]\n', tmp_path / "directory.toml")


def test_edits_apply_without_restart_and_a_broken_edit_keeps_the_last_good(tmp_path: Path) -> None:
    path = tmp_path / "directory.toml"
    path.write_text('[[department]]\nname = "Legal"\nusers = ["U0LEGAL01"]\n')
    directory = DirectoryFile(path)

    _rewrite(
        path,
        '[[department]]\nname = "Legal"\nusers = ["U0LEGAL01"]\n\n'
        '[[department]]\nname = "Product"\nchannel = "C0PRODUCT1"\n',
    )
    assert [d.name for d in directory.current().departments] == ["Legal", "Product"]

    _rewrite(path, '[[department]]\nname = "Legal"\n')
    assert [d.name for d in directory.current().departments] == ["Legal", "Product"]


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    # Coarse file-system clocks could leave the modification time unchanged; make the change visible.
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(time.time_ns(), before + 1_000_000))
