"""Reply templates (per source and language, from the team's templates file) and the words they are filled with.

A template is a starting point, never pasted as is: the modal shows it filled in, the agent edits it, and sending
it unchanged asks once "Make it personal?". Placeholders are a fixed set substituted as plain text (no template
engine ever sees a customer's name): `{first_name}`, `{handle}`, `{agent_first_name}`, `{eta}`,
`{private_contact}`.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.business_hours import BusinessCalendar
from bot.watched_file import WatchedFile

log = logging.getLogger("heard.replies")

ACKNOWLEDGE = "acknowledge"
PRIVATE = "private"
KINDS = (ACKNOWLEDGE, PRIVATE)
PLACEHOLDERS = ("first_name", "handle", "agent_first_name", "eta", "private_contact")
ANY_SOURCE = "default"
FALLBACK_LANGUAGE = "en"
_PLACEHOLDER = re.compile(r"\{([a-z_]*)\}")

# Used when the team has no templates file, and for any kind the file leaves out.
BUILT_IN: dict[str, dict[str, dict[str, str]]] = {
    ANY_SOURCE: {
        FALLBACK_LANGUAGE: {
            ACKNOWLEDGE: (
                "Hi {first_name}, this is {agent_first_name} from the care team. I'm sorry about this. We're "
                "looking into it and will get back to you {eta}."
            ),
            PRIVATE: (
                "Hi {first_name}, I'd like to sort this out with you personally. Could you send us {private_contact} "
                "with the details? Please don't share personal details in public. {agent_first_name}"
            ),
        }
    }
}


class TemplatesError(ValueError):
    """The templates file cannot be used; `str()` names the file and each problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Templates:
    """source -> language -> kind -> text."""

    by_source: Mapping[str, Mapping[str, Mapping[str, str]]]

    def get(self, kind: str, source: str, lang: str | None) -> tuple[str, str]:
        """The template for `kind` and the language it is written in: the source's own in the complaint's language,
        else the source's English one, else any source's in the language, else any source's English one."""
        languages = [*_language_candidates(lang), FALLBACK_LANGUAGE]
        for source_key in (source.lower(), ANY_SOURCE):
            for language in languages:
                text = self.by_source.get(source_key, {}).get(language, {}).get(kind)
                if text:
                    return text, language
        return BUILT_IN[ANY_SOURCE][FALLBACK_LANGUAGE][kind], FALLBACK_LANGUAGE


def _language_candidates(lang: str | None) -> list[str]:
    """`pt-BR` -> [`pt-br`, `pt`]; X's `und` (undetermined) and `zxx` (no text) say nothing."""
    if not lang or lang in ("und", "zxx"):
        return []
    lang = lang.lower()
    base = lang.split("-")[0]
    return [lang, base] if base != lang else [lang]


def parse_templates(text: str, path: Path) -> Templates:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TemplatesError(path, [f"is not valid TOML ({error})"]) from error
    problems: list[str] = []
    by_source: dict[str, dict[str, dict[str, str]]] = {}
    for source, languages in data.items():
        if not isinstance(languages, dict):
            problems.append(f"{source} must be a table of languages, e.g. [{source}.en]")
            continue
        for language, kinds in languages.items():
            label = f"[{source}.{language}]"
            if not isinstance(kinds, dict):
                problems.append(f'{label} must be a table with acknowledge = "..." and/or private = "..."')
                continue
            for kind, template in kinds.items():
                if kind not in KINDS:
                    problems.append(f"{label} has {kind!r}; the kinds are {', '.join(KINDS)}")
                elif not isinstance(template, str) or not template.strip():
                    problems.append(f"{kind} in {label} must be non-empty text")
                else:
                    unknown = sorted({name for name in _PLACEHOLDER.findall(template) if name not in PLACEHOLDERS})
                    if unknown:
                        problems.append(
                            f"{kind} in {label} uses unknown placeholders {', '.join('{' + u + '}' for u in unknown)}"
                            f"; the placeholders are {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
                        )
                    by_source.setdefault(source.lower(), {}).setdefault(language.lower(), {})[kind] = template.strip()
    if problems:
        raise TemplatesError(path, problems)
    return Templates(by_source)


def load_templates(path: Path) -> Templates:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplatesError(path, [f"cannot be read ({error.strerror})"]) from error
    return parse_templates(text, path)


class TemplatesFile(WatchedFile[Templates]):
    """The templates in force: the built-in ones without a file; re-read when the file changes, keeping the last
    good version when an edit breaks it (start-up fails loudly instead)."""

    def __init__(self, path: Path, required: bool) -> None:
        super().__init__(
            path,
            load_templates,
            errors=TemplatesError,
            log=log,
            what="reply templates",
            missing=None if required else (lambda: Templates(BUILT_IN)),
        )


def fill(template: str, values: Mapping[str, str]) -> str:
    """Substitute the known placeholders as plain text; anything else in braces stays as written."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def first_name(full_name: str | None) -> str | None:
    """The first word of a display name ("María López" -> "María"), or None when there is nothing usable."""
    words = (full_name or "").split()
    return words[0] if words else None


# -- {eta}: when the customer hears back, from the resolution deadline and the business calendar ---------------

ETA_STEP_MINUTES = 15
# When the deadline has passed (or is about to), promise this much open time from now instead.
ETA_FALLBACK = timedelta(hours=1)
ETA_MARGIN = timedelta(minutes=10)

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")  # fmt: skip
_MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre")  # fmt: skip


def eta_moment(deadline: datetime, now: datetime, calendar: BusinessCalendar) -> datetime:
    """The moment to promise: the resolution deadline, or an hour of open time from now when the deadline is
    (nearly) gone; rounded up to a quarter hour, since promising earlier than the team can answer is worse."""
    target = deadline if deadline - now >= ETA_MARGIN else calendar.add(now, ETA_FALLBACK)
    minutes = math.ceil((target.timestamp()) / 60 / ETA_STEP_MINUTES) * ETA_STEP_MINUTES
    return datetime.fromtimestamp(minutes * 60, target.tzinfo)


def eta_words(moment: datetime, now: datetime, tz: ZoneInfo, language: str = "en") -> str:
    """`by 3 pm today`, `by 10:30 am tomorrow`, `by 10 am on Monday`, `by 9 am on 3 March` (in `tz`);
    Spanish too (`hoy antes de las 15:00`); other languages get the English words."""
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    days = (local.date() - today).days
    if language == "es":
        at = f"las {local.strftime('%H:%M')}"
        if days <= 0:
            return f"hoy antes de {at}"
        if days == 1:
            return f"mañana antes de {at}"
        if days < 7:
            return f"el {_WEEKDAYS['es'][local.weekday()]} antes de {at}"
        return f"el {local.day} de {_MONTHS_ES[local.month - 1]} antes de {at}"
    hour = local.hour % 12 or 12
    at = f"{hour}{f':{local.minute:02d}' if local.minute else ''} {'am' if local.hour < 12 else 'pm'}"
    if local.hour == 12 and local.minute == 0:
        at = "noon"
    if days <= 0:
        return f"by {at} today"
    if days == 1:
        return f"by {at} tomorrow"
    if days < 7:
        return f"by {at} on {_WEEKDAYS['en'][local.weekday()]}"
    return f"by {at} on {local.day} {_MONTHS_EN[local.month - 1]}"


def template_values(
    *,
    author_name: str | None,
    author_handle: str,
    agent_name: str | None,
    eta: str,
    private_contact: str,
) -> dict[str, Any]:
    handle = author_handle.lstrip("@")
    return {
        "first_name": first_name(author_name) or f"@{handle}",
        "handle": f"@{handle}",
        "agent_first_name": first_name(agent_name) or "the care team",
        "eta": eta,
        "private_contact": private_contact,
    }
