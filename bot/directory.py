"""The escalation directory: who handles what, and how to reach them (a TOML file the team edits).

Validated as a whole with errors that name the line, so a typo is fixed from one log message. The file is
re-read when it changes; a broken edit is reported and the last good directory stays in force.
"""

from __future__ import annotations

import difflib
import logging
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.watched_file import WatchedFile

log = logging.getLogger("heard.directory")

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
KNOWN_KEYS = ("name", "handles", "keywords", "users", "user_groups", "channel", "needs_approval")


class DirectoryError(Exception):
    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__("\n".join(f"{path}: {problem}" for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class Department:
    key: str  # stable id used in Slack values, derived from the name
    name: str
    handles: str
    keywords: tuple[str, ...]
    users: tuple[str, ...]
    user_groups: tuple[str, ...]
    channel: str | None
    needs_approval: bool

    def matches(self, text: str) -> bool:
        lowered = text.lower()
        return any(keyword in lowered for keyword in self.keywords) or lowered in self.name.lower()


@dataclass(frozen=True)
class Directory:
    departments: tuple[Department, ...]

    def get(self, key: str) -> Department | None:
        return next((department for department in self.departments if department.key == key), None)

    def who_handles(self, topic: str) -> list[Department]:
        return [department for department in self.departments if department.matches(topic)]


def department_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class _Lines:
    """Finds the line of the n-th `[[department]]` table, or of a key inside it, for error messages."""

    def __init__(self, text: str) -> None:
        self.tables: list[int] = []
        self.keys: list[dict[str, int]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("[[") and stripped.strip("[] ") == "department":
                self.tables.append(number)
                self.keys.append({})
            elif self.keys and (match := re.match(r"^\s*([A-Za-z_][\w-]*)\s*=", line)):
                self.keys[-1].setdefault(match.group(1), number)

    def of(self, index: int, key: str | None = None) -> int:
        if index >= len(self.tables):
            return 1
        if key is not None and key in self.keys[index]:
            return self.keys[index][key]
        return self.tables[index]


def parse_directory(text: str, path: Path) -> Directory:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DirectoryError(path, [str(error)]) from error
    lines = _Lines(text)
    problems: list[str] = []
    unknown_top = sorted(set(data) - {"department"})
    if unknown_top:
        problems.append(f"line 1: unknown section(s) {', '.join(unknown_top)}; departments are [[department]] tables")
    tables = data.get("department", [])
    if not isinstance(tables, list) or not tables:
        raise DirectoryError(path, [*problems, "no [[department]] tables: add at least one department"])
    departments: list[Department] = []
    for index, table in enumerate(tables):
        department = _department(table, index, lines, problems)
        if department is None:
            continue
        if any(existing.key == department.key for existing in departments):
            problems.append(f"line {lines.of(index, 'name')}: a second department is named {department.name!r}")
        departments.append(department)
    if problems:
        raise DirectoryError(path, problems)
    return Directory(tuple(departments))


def _department(table: dict[str, Any], index: int, lines: _Lines, problems: list[str]) -> Department | None:
    before = len(problems)

    def problem(key: str | None, message: str) -> None:
        problems.append(f"line {lines.of(index, key)}: {message}")

    for key in sorted(set(table) - set(KNOWN_KEYS)):
        guess = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else f"; known keys: {', '.join(KNOWN_KEYS)}"
        problem(key, f"unknown key {key!r}{hint}")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        problem("name", 'every department needs a name, e.g. name = "Legal"')
        name = f"department {index + 1}"
    label = f"department {name!r}"

    def strings(key: str, pattern: re.Pattern[str] | None, example: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            problem(key, f"{key} in {label} must be a list of strings, e.g. {key} = [{example}]")
            return ()
        bad = [item for item in value if pattern is not None and not pattern.match(item)]
        if bad:
            problem(key, f"{key} in {label} has ids that do not look right: {', '.join(bad)} (e.g. {example})")
        return tuple(item.strip() for item in value if item.strip())

    users = strings("users", USER_ID, '"U0123ABCD"')
    groups = strings("user_groups", GROUP_ID, '"S0123ABCD"')
    keywords = tuple(keyword.lower() for keyword in strings("keywords", None, '"refund", "delivery"'))
    channel = table.get("channel")
    if channel is not None and (not isinstance(channel, str) or not CHANNEL_ID.match(channel)):
        problem("channel", f'channel in {label} must be a channel id, e.g. channel = "C0123ABCD"')
        channel = None
    if not users and not groups and not channel:
        problem(None, f"{label} has no contacts: add users, user_groups or a channel")
    handles = table.get("handles", "")
    if not isinstance(handles, str):
        problem("handles", f"handles in {label} must be text describing what it handles")
        handles = ""
    needs_approval = table.get("needs_approval", False)
    if not isinstance(needs_approval, bool):
        problem("needs_approval", f"needs_approval in {label} must be true or false")
        needs_approval = False
    if len(problems) > before:
        return None
    return Department(
        key=department_key(name),
        name=name.strip(),
        handles=handles.strip(),
        keywords=keywords,
        users=users,
        user_groups=groups,
        channel=channel,
        needs_approval=needs_approval,
    )


def load_directory(path: Path) -> Directory:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DirectoryError(path, [f"cannot be read ({error.strerror})"]) from error
    return parse_directory(text, path)


class DirectoryFile(WatchedFile[Directory]):
    """The directory in force; re-reads the file when it changes, keeping the last good version on errors."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            load_directory,
            errors=DirectoryError,
            log=log,
            what="escalation directory",
            reloaded=lambda directory: f"with {len(directory.departments)} departments",
        )
