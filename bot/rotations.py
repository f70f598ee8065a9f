"""On-duty rotations: who is on duty now and next, from a schedule file the team edits (`ROTATIONS_FILE`).

```toml
[[rotation]]
name = "Care"                      # required
people = ["U0ANA", "U0BEN", "U0CAT"]  # in order; each shift goes to the next
length = "daily"                   # daily, weekly, or a duration (8h, 30m)
handoff = "09:00"                  # daily and weekly: the time of day shifts change, in `timezone`
starts = 2026-12-01                # the first person's first shift begins at this date's handoff (or this moment)
timezone = "Europe/Madrid"         # default HEARD_TZ
hours = "Mon-Fri 08:00-18:00"      # default 24/7: outside them nobody of this rotation is on duty
on_duty = 1                        # people on duty at once (each shift takes the next ones in order)
takes = ["vip", "high", "legal"]   # auto-assignment routes these complaints here (others go to rotations without)

[[override]]
who = "U0BEN"                      # Ben covers Ana on 24–26 Dec (both days included); Ana is on leave then
covers = "U0ANA"
from = 2026-12-24
until = 2026-12-26
rotation = "Care"                  # optional: every rotation Ana is on
```

The file is validated as a whole, each problem naming its line; it is re-read when saved (`WatchedFile`), a broken
edit keeping the last good schedule. Everything here is a pure function of the schedule and a moment.
"""

from __future__ import annotations

import difflib
import logging
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.business_hours import BusinessCalendar, CalendarError
from bot.watched_file import WatchedFile

log = logging.getLogger("heard.rotations")

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
ROTATION_KEYS = ("name", "people", "length", "handoff", "starts", "timezone", "hours", "on_duty", "takes")
OVERRIDE_KEYS = ("who", "covers", "from", "until", "rotation")
# What a rotation can take from auto-assignment: VIP authors (X_VIP_FOLLOWERS), high priority, flagged for Legal.
TAKES = ("vip", "high", "legal")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DAY = timedelta(days=1)


class RotationsError(Exception):
    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__("\n".join(f"{path}: {problem}" for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class Override:
    who: str
    covers: str
    start: datetime  # UTC-aware
    end: datetime  # exclusive
    rotation: str | None  # a rotation's name; None: every rotation `covers` is on

    def active(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def applies_to(self, rotation: str) -> bool:
        return self.rotation is None or self.rotation.lower() == rotation.lower()


@dataclass(frozen=True)
class Shift:
    """Who of a rotation is on duty from `start` until `end` (overrides applied)."""

    rotation: str
    people: tuple[str, ...]
    start: datetime
    end: datetime
    # Outside the rotation's hours now: nobody is on duty until `opens`.
    closed_until: datetime | None = None


@dataclass(frozen=True)
class Rotation:
    name: str
    people: tuple[str, ...]
    length: str  # "daily", "weekly" or "duration"
    step: timedelta  # the duration of one shift when length is a duration
    handoff: time
    anchor: datetime  # the first shift's start (aware)
    tz: ZoneInfo
    calendar: BusinessCalendar
    on_duty: int
    takes: tuple[str, ...]

    # -- shifts -----------------------------------------------------------------------------------------------------

    @property
    def _handoffs_from(self) -> tuple[date, int]:
        """The day whose handoff the later shifts count from (`starts`' own day, so weekly handoffs keep its
        weekday), and how many shifts that handoff comes after: 1 when `starts` is at or after it, 0 when `starts`
        is a moment before it (a rotation started at 02:00 with a 09:00 handoff gives its first person the hours
        until 09:00)."""
        local = self.anchor.astimezone(self.tz)
        return local.date(), int(local.time() >= self.handoff)

    def boundary(self, index: int) -> datetime:
        """When shift `index` begins (shift 0 at `anchor`, the later ones at handoffs)."""
        if self.length == "duration" or index == 0:
            return self.anchor + self.step * index
        days = 7 if self.length == "weekly" else 1
        day, after = self._handoffs_from
        return datetime.combine(day + timedelta(days=days * (index - 1 + after)), self.handoff, self.tz)

    def index_at(self, at: datetime) -> int:
        if self.length == "duration":
            return int((at - self.anchor) // self.step)
        days = 7 if self.length == "weekly" else 1
        day, after = self._handoffs_from
        index = (at.astimezone(self.tz).date() - day).days // days + 1 - after
        while self.boundary(index) > at:
            index -= 1
        while self.boundary(index + 1) <= at:
            index += 1
        return index

    def scheduled(self, index: int) -> tuple[str, ...]:
        """The people shift `index` names, before overrides."""
        count = min(self.on_duty, len(self.people))
        return tuple(self.people[(index * count + offset) % len(self.people)] for offset in range(count))

    @property
    def is_24_7(self) -> bool:
        return self.calendar.is_always_open


@dataclass(frozen=True)
class Schedule:
    rotations: tuple[Rotation, ...]
    overrides: tuple[Override, ...] = ()

    def get(self, name: str) -> Rotation | None:
        return next((rotation for rotation in self.rotations if rotation.name.lower() == name.lower()), None)

    @property
    def people(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for rotation in self.rotations:
            seen.update(dict.fromkeys(rotation.people))
        return tuple(seen)

    def _with_overrides(self, rotation: Rotation, people: Iterable[str], at: datetime) -> tuple[str, ...]:
        result: list[str] = []
        for person in people:
            for override in self.overrides:
                if override.covers == person and override.applies_to(rotation.name) and override.active(at):
                    person = override.who
                    break
            if person not in result:
                result.append(person)
        return tuple(result)

    def on_leave(self, person: str, at: datetime) -> bool:
        """Covered by someone else at `at` (an override names them in `covers`)."""
        return any(override.covers == person and override.active(at) for override in self.overrides)

    def shift_at(self, rotation: Rotation, at: datetime) -> Shift:
        """The shift running at `at`, with overrides as they stand at `at` (its start is the latest moment the
        people on duty changed)."""
        index = rotation.index_at(at)
        start, end = rotation.boundary(index), rotation.boundary(index + 1)
        for override in self.overrides:
            if not override.applies_to(rotation.name) or override.covers not in rotation.people:
                continue
            for edge in (override.start, override.end):
                if start < edge <= at:
                    start = edge
                elif at < edge < end:
                    end = edge
        people = self._with_overrides(rotation, rotation.scheduled(index), at)
        closed_until = None if rotation.calendar.is_open(at) else rotation.calendar.next_open(at)
        return Shift(rotation.name, people, start, end, closed_until)

    def now_and_next(self, rotation: Rotation, at: datetime) -> tuple[Shift, Shift]:
        current = self.shift_at(rotation, at)
        return current, self.shift_at(rotation, current.end)

    def on_duty(self, at: datetime, rotations: Iterable[Rotation] | None = None) -> tuple[str, ...]:
        """Everyone on duty at `at` (inside their rotation's hours), in rotation order."""
        people: dict[str, None] = {}
        for rotation in self.rotations if rotations is None else rotations:
            shift = self.shift_at(rotation, at)
            if shift.closed_until is None:
                people.update(dict.fromkeys(shift.people))
        return tuple(people)

    def rotation_of(self, person: str) -> Rotation | None:
        return next((rotation for rotation in self.rotations if person in rotation.people), None)

    def general(self) -> tuple[Rotation, ...]:
        """The rotations complaints go to unless a rotation `takes` them."""
        return tuple(rotation for rotation in self.rotations if not rotation.takes)

    def taking(self, kinds: Iterable[str]) -> tuple[Rotation, ...]:
        wanted = set(kinds)
        return tuple(rotation for rotation in self.rotations if wanted & set(rotation.takes))

    def walk_after(self, rotation: Rotation, person: str | None, at: datetime) -> tuple[str, ...]:
        """Who a repeated breach reminder goes to, in turn: the next people on `rotation` after `person` (or after
        whoever is on duty now), skipping those on leave; never `person` itself."""
        if person in rotation.people:
            start = rotation.people.index(person)
        else:
            on_duty = self.shift_at(rotation, at).people
            start = rotation.people.index(on_duty[-1]) if on_duty and on_duty[-1] in rotation.people else -1
        count = len(rotation.people)
        order = [rotation.people[(start + step) % count] for step in range(1, count + 1)]
        skip = {person} | set(self.shift_at(rotation, at).people if person is None else ())
        return tuple(p for p in dict.fromkeys(order) if p not in skip and not self.on_leave(p, at))

    def next_change(self, at: datetime) -> datetime | None:
        """The next moment anyone's duty changes (a handoff or an override's edge)."""
        moments = [self.shift_at(rotation, at).end for rotation in self.rotations]
        return min(moments, default=None)


# -- the file ----------------------------------------------------------------------------------------------------------


class _Lines:
    """The line of the n-th `[[rotation]]` / `[[override]]` table, or of a key in it, for error messages."""

    def __init__(self, text: str) -> None:
        self.tables: dict[str, list[int]] = {"rotation": [], "override": []}
        self.keys: dict[str, list[dict[str, int]]] = {"rotation": [], "override": []}
        current: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("["):
                current = stripped.strip("[] ")
                if current in self.tables:
                    self.tables[current].append(number)
                    self.keys[current].append({})
            elif current in self.keys and self.keys[current] and (m := re.match(r"^\s*([A-Za-z_][\w-]*)\s*=", line)):
                self.keys[current][-1].setdefault(m.group(1), number)

    def of(self, kind: str, index: int, key: str | None = None) -> int:
        tables = self.tables[kind]
        if index >= len(tables):
            return 1
        if key is not None and key in self.keys[kind][index]:
            return self.keys[kind][index][key]
        return tables[index]


@dataclass
class _Check:
    lines: _Lines
    kind: str
    index: int
    problems: list[str] = field(default_factory=list)

    def problem(self, key: str | None, message: str) -> None:
        self.problems.append(f"line {self.lines.of(self.kind, self.index, key)}: {message}")

    def unknown(self, table: dict[str, Any], known: tuple[str, ...]) -> None:
        for key in sorted(set(table) - set(known)):
            guess = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else f"; known keys: {', '.join(known)}"
            self.problem(key, f"unknown key {key!r}{hint}")


def parse_rotations(text: str, path: Path, default_tz: ZoneInfo) -> Schedule:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RotationsError(path, [str(error)]) from error
    lines = _Lines(text)
    problems: list[str] = []
    unknown_top = sorted(set(data) - {"rotation", "override"})
    if unknown_top:
        problems.append(
            f"line 1: unknown section(s) {', '.join(unknown_top)}; use [[rotation]] and [[override]] tables"
        )
    tables = data.get("rotation", [])
    if not isinstance(tables, list) or not tables:
        raise RotationsError(path, [*problems, "no [[rotation]] tables: add at least one rotation"])
    rotations: list[Rotation] = []
    for index, table in enumerate(tables):
        check = _Check(lines, "rotation", index)
        rotation = _rotation(table, check, default_tz)
        problems.extend(check.problems)
        if rotation is None:
            continue
        if any(existing.name.lower() == rotation.name.lower() for existing in rotations):
            problems.append(f"line {lines.of('rotation', index, 'name')}: a second rotation is named {rotation.name!r}")
        rotations.append(rotation)
    overrides: list[Override] = []
    names = {rotation.name.lower(): rotation for rotation in rotations}
    for index, table in enumerate(data.get("override", []) if isinstance(data.get("override"), list) else []):
        check = _Check(lines, "override", index)
        override = _override(table, check, names, default_tz)
        problems.extend(check.problems)
        if override is not None:
            overrides.append(override)
    if problems:
        raise RotationsError(path, problems)
    return Schedule(tuple(rotations), tuple(overrides))


def _rotation(table: Any, check: _Check, default_tz: ZoneInfo) -> Rotation | None:
    if not isinstance(table, dict):
        check.problem(None, "a [[rotation]] must be a table")
        return None
    before = len(check.problems)
    check.unknown(table, ROTATION_KEYS)
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        check.problem("name", 'every rotation needs a name, e.g. name = "Care"')
        name = f"rotation {check.index + 1}"
    label = f"rotation {name!r}"
    people = table.get("people")
    if not isinstance(people, list) or not people or not all(isinstance(p, str) for p in people):
        check.problem("people", f'people in {label} must be a list of user ids in order, e.g. people = ["U0123ABCD"]')
        people = []
    bad = [p for p in people if not USER_ID.match(p.strip())]
    if bad:
        check.problem("people", f"people in {label} has ids that are not users: {', '.join(bad)} (e.g. U0123ABCD)")
    people = [p.strip() for p in people]
    if len(set(people)) != len(people):
        check.problem("people", f"people in {label} names someone twice")
    tz = default_tz
    if "timezone" in table:
        try:
            tz = ZoneInfo(str(table["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            check.problem("timezone", f"timezone in {label} is not a time zone: use an IANA name such as Europe/Madrid")
    length_text = table.get("length", "daily")
    step = DAY
    length = "daily"
    if length_text in ("daily", "weekly"):
        length = str(length_text)
    elif isinstance(length_text, str) and (match := _DURATION.match(length_text)) and int(match.group(1)) > 0:
        length, step = "duration", timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2)])
    else:
        check.problem("length", f"length in {label} must be daily, weekly or a duration such as 8h")
    handoff = time(9, 0)
    if "handoff" in table:
        value = table["handoff"]
        try:
            handoff = value if isinstance(value, time) else time.fromisoformat(str(value))
        except ValueError:
            check.problem("handoff", f'handoff in {label} must be a time of day, e.g. handoff = "09:00"')
    anchor = _moment(table.get("starts"), tz, handoff)
    if anchor is None:
        check.problem(
            "starts", f"starts in {label} must be the date the first person's first shift begins, e.g. 2026-12-01"
        )
        anchor = datetime(2026, 1, 1, tzinfo=tz)
    calendar = BusinessCalendar.always_open()
    hours = table.get("hours", "24/7")
    if not isinstance(hours, str):
        check.problem("hours", f'hours in {label} must be text such as "Mon-Fri 08:00-18:00" or "24/7"')
    elif hours.strip().lower() not in ("24/7", ""):
        try:
            calendar = BusinessCalendar.parse(hours, tz)
        except CalendarError as error:
            check.problem("hours", f"hours in {label}: {error}")
    on_duty = table.get("on_duty", 1)
    if not isinstance(on_duty, int) or isinstance(on_duty, bool) or not 1 <= on_duty <= max(len(people), 1):
        check.problem("on_duty", f"on_duty in {label} must be how many people are on duty at once, 1 to {len(people)}")
        on_duty = 1
    takes = table.get("takes", [])
    if not isinstance(takes, list) or any(kind not in TAKES for kind in takes):
        check.problem("takes", f"takes in {label} lists what auto-assignment sends here: any of {', '.join(TAKES)}")
        takes = []
    if len(check.problems) > before:
        return None
    return Rotation(
        name=name.strip(),
        people=tuple(people),
        length=length,
        step=step,
        handoff=handoff,
        anchor=anchor,
        tz=tz,
        calendar=calendar,
        on_duty=on_duty,
        takes=tuple(takes),
    )


def _override(table: Any, check: _Check, rotations: dict[str, Rotation], default_tz: ZoneInfo) -> Override | None:
    if not isinstance(table, dict):
        check.problem(None, "an [[override]] must be a table")
        return None
    before = len(check.problems)
    check.unknown(table, OVERRIDE_KEYS)
    who, covers = table.get("who"), table.get("covers")
    for key, value in (("who", who), ("covers", covers)):
        if not isinstance(value, str) or not USER_ID.match(value):
            check.problem(key, f'{key} in an override must be a user id, e.g. {key} = "U0123ABCD"')
    rotation_name = table.get("rotation")
    tz = default_tz
    if rotation_name is not None:
        rotation = rotations.get(str(rotation_name).lower())
        if rotation is None:
            known = ", ".join(r.name for r in rotations.values()) or "none"
            check.problem(
                "rotation", f"override names rotation {rotation_name!r}, which is not defined (known: {known})"
            )
        else:
            tz = rotation.tz
    start = _moment(table.get("from"), tz, time(0))
    end = _moment(table.get("until"), tz, time(0))
    if end is not None and _is_day(table.get("until")):
        end = datetime.combine(end.date() + DAY, time(0), tz)  # a day given is included whole
    if start is None:
        check.problem("from", "from in an override must be a date (2026-12-24) or a date and time")
    if end is None:
        check.problem("until", "until in an override must be a date (2026-12-26, included) or a date and time")
    if start is not None and end is not None and end <= start:
        check.problem("until", "until in an override must come after from")
    if len(check.problems) > before or start is None or end is None:
        return None
    return Override(str(who), str(covers), start, end, str(rotation_name) if rotation_name is not None else None)


def _moment(value: Any, tz: ZoneInfo, at: time) -> datetime | None:
    """A TOML date (at `at` local time), a local or offset datetime, or the same written as text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value.strip() else date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, at, tz)
    return None


def _is_day(value: Any) -> bool:
    if isinstance(value, str):
        return "T" not in value and " " not in value.strip()
    return isinstance(value, date) and not isinstance(value, datetime)


def load_rotations(path: Path, default_tz: ZoneInfo) -> Schedule:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RotationsError(path, [f"cannot be read ({error.strerror})"]) from error
    return parse_rotations(text, path, default_tz)


class RotationsFile(WatchedFile[Schedule]):
    """The schedule in force; re-read when the file changes, keeping the last good version on errors."""

    def __init__(self, path: Path, default_tz: ZoneInfo) -> None:
        super().__init__(
            path,
            lambda p: load_rotations(p, default_tz),
            errors=RotationsError,
            log=log,
            what="rotations file",
            reloaded=lambda schedule: f"with {len(schedule.rotations)} rotations",
        )
