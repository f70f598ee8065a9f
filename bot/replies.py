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
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, get_day_names

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

# Used when the team has no templates file, and for any language or kind the file leaves out: one per language
# Heard speaks (en, fi, pt, bg, el), kept as data (reply_templates.toml beside this module), read once at import.
BUILT_IN_PATH = Path(__file__).resolve().parent / "reply_templates.toml"


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
        """The template for `kind` and the language it is written in. The customer's language comes first: the
        source's own in that language, else any source's in it (the team's file, then Heard's built-in one); only
        then English: the source's, any source's, the built-in."""
        for language in _language_candidates(lang):
            for source_key in (source.lower(), ANY_SOURCE):
                text = self.by_source.get(source_key, {}).get(language, {}).get(kind)
                if text:
                    return text, language
            if text := BUILT_IN[ANY_SOURCE].get(language, {}).get(kind):
                return text, language
        for source_key in (source.lower(), ANY_SOURCE):
            text = self.by_source.get(source_key, {}).get(FALLBACK_LANGUAGE, {}).get(kind)
            if text:
                return text, FALLBACK_LANGUAGE
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
                    # NFC: an editor that saves decomposed accents (macOS) must not make the "Make it personal?"
                    # check see a changed text where the agent changed nothing.
                    by_source.setdefault(source.lower(), {}).setdefault(language.lower(), {})[kind] = (
                        unicodedata.normalize("NFC", template.strip())
                    )
    if problems:
        raise TemplatesError(path, problems)
    return Templates(by_source)


def load_templates(path: Path) -> Templates:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplatesError(path, [f"cannot be read ({error.strerror})"]) from error
    return parse_templates(text, path)


#: source -> language -> kind -> text, as Heard ships them (`default` only).
BUILT_IN: Mapping[str, Mapping[str, Mapping[str, str]]] = load_templates(BUILT_IN_PATH).by_source


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
    """Substitute the known placeholders as plain text; anything else in braces stays as written. The result is in
    NFC (names from Slack and the networks may come decomposed), and a value ending in "." before the template's
    own "." does not double it ("... до 15:00 ч.." reads "... до 15:00 ч.")."""

    def value(match: re.Match[str]) -> str:
        text = values.get(match.group(1), match.group(0))
        if text.endswith(".") and match.string.startswith(".", match.end()):
            return text[:-1]
        return text

    return unicodedata.normalize("NFC", _PLACEHOLDER.sub(value, template))


def as_written(text: str) -> str:
    """An agent's reply as Heard keeps and compares it: trimmed, in NFC (the form `fill` gives templates)."""
    return unicodedata.normalize("NFC", text.strip())


def first_name(full_name: str | None) -> str | None:
    """The first word of a display name ("María López" -> "María"), or None when there is nothing usable."""
    words = (full_name or "").split()
    return words[0] if words else None


# -- {eta}: when the customer hears back, from the resolution deadline and the business calendar ---------------

ETA_STEP_MINUTES = 15
# When the deadline has passed (or is about to), promise this much open time from now instead.
ETA_FALLBACK = timedelta(hours=1)
ETA_MARGIN = timedelta(minutes=10)


def eta_moment(deadline: datetime, now: datetime, calendar: BusinessCalendar) -> datetime:
    """The moment to promise: the resolution deadline, or an hour of open time from now when the deadline is
    (nearly) gone; rounded up to a quarter hour, since promising earlier than the team can answer is worse."""
    target = deadline if deadline - now >= ETA_MARGIN else calendar.add(now, ETA_FALLBACK)
    minutes = math.ceil((target.timestamp()) / 60 / ETA_STEP_MINUTES) * ETA_STEP_MINUTES
    return datetime.fromtimestamp(minutes * 60, target.tzinfo)


# Babel's locale for each language's names and clock. English keeps its own words ("by 3 pm", "noon"), with the
# day before the month as in en_GB; the others read the 24-hour clock their locale writes.
_ETA_LOCALES = {"en": "en_GB", "es": "es_ES", "fi": "fi_FI", "pt": "pt_PT", "bg": "bg_BG", "el": "el_GR"}
# A time of day in the locale's own 24-hour form ("15.30" in Finnish, "15:30 ч." in Bulgarian); Greek's CLDR short
# time is on a 12-hour clock, so its 24-hour pattern is asked for by name too. Spanish keeps its two-digit hours.
_CLOCKS = {"es": "HH:mm"}


def eta_words(moment: datetime, now: datetime, tz: ZoneInfo, language: str | None = "en") -> str:
    """When the customer hears back, in the template's language and in `tz`:

    en `by 3 pm today`, `by 10:30 am tomorrow`, `by 10 am on Monday`, `by 9 am on 3 March`;
    fi `tänään klo 15.00 mennessä`, `maanantaina klo 10.00 mennessä`, `3. maaliskuuta klo 9.00 mennessä`;
    pt `hoje até às 15:00`, `na segunda-feira até às 10:00`, `no dia 3 de março até às 09:00`;
    bg `днес до 15:00 ч.`, `във вторник до 10:00 ч.`, `на 3 март до 09:00 ч.`;
    el `σήμερα έως τις 15:00`, `τη Δευτέρα έως τις 10:00`, `στις 3 Μαρτίου έως τις 09:00`;
    es `hoy antes de las 15:00`. Weekday and month names and clocks come from Babel's locale data; any other
    language gets the English words."""
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    days = (local.date() - today).days
    language = (language or "en").lower().split("-")[0]
    if language not in _ETA_LOCALES:
        language = "en"
    locale = Locale.parse(_ETA_LOCALES[language])
    weekday = get_day_names("wide", "format", locale)[local.weekday()]
    date = format_date(local.date(), locale.datetime_skeletons["MMMMd"] if language != "en" else "d MMMM", locale)
    if language == "en":
        return _eta_english(local, days, weekday, date)
    clock = _CLOCKS.get(language) or locale.datetime_skeletons["Hm"]
    at = format_time(local.time(), clock, locale=locale)
    when = 0 if days <= 0 else 1 if days == 1 else 2 if days < 7 else 3
    if language == "fi":
        day = ("tänään", "huomenna", weekday, date)[when]
        return f"{day} klo {at} mennessä"
    if language == "pt":
        day = ("hoje", "amanhã", f"{'no' if local.weekday() >= 5 else 'na'} {weekday}", f"no dia {date}")[when]
        return f"{day} até {'à' if local.hour in (0, 1) else 'às'} {at}"
    if language == "bg":
        day = ("днес", "утре", f"{'във' if weekday[:1] in 'вф' else 'в'} {weekday}", f"на {date}")[when]
        return f"{day} до {at}"
    if language == "el":
        article = ("τη", "την", "την", "την", "την", "το", "την")[local.weekday()]
        # "στις 3 Δεκεμβρίου", but the first of the month is an ordinal: "την 1η Δεκεμβρίου".
        on_date = f"την {date.replace('1 ', '1η ', 1)}" if local.day == 1 else f"στις {date}"
        day = ("σήμερα", "αύριο", f"{article} {weekday}", on_date)[when]
        return f"{day} έως {'τη' if local.hour == 1 else 'τις'} {at}"
    day = ("hoy", "mañana", f"el {weekday}", f"el {date}")[when]  # es
    return f"{day} antes de las {at}"


def _eta_english(local: datetime, days: int, weekday: str, date: str) -> str:
    hour = local.hour % 12 or 12
    at = f"{hour}{f':{local.minute:02d}' if local.minute else ''} {'am' if local.hour < 12 else 'pm'}"
    if local.hour == 12 and local.minute == 0:
        at = "noon"
    if days <= 0:
        return f"by {at} today"
    if days == 1:
        return f"by {at} tomorrow"
    if days < 7:
        return f"by {at} on {weekday}"
    return f"by {at} on {date}"


# What PRIVATE_CONTACT's default ("a DM") and a missing agent name say in each language's templates.
DEFAULT_PRIVATE_CONTACT = "a DM"
_PRIVATE_CONTACT = {
    "es": "un mensaje privado",
    "fi": "yksityisviestin",
    "pt": "uma mensagem privada",
    "bg": "лично съобщение",
    "el": "ένα προσωπικό μήνυμα",
}
_CARE_TEAM = {
    "en": "the care team",
    "es": "el equipo de atención al cliente",
    "fi": "asiakaspalvelu",
    "pt": "a equipa de apoio ao cliente",
    "bg": "екипът за обслужване на клиенти",
    "el": "η ομάδα εξυπηρέτησης πελατών",
}


def template_values(
    *,
    author_name: str | None,
    author_handle: str,
    agent_name: str | None,
    eta: str,
    private_contact: str,
    language: str | None = None,
) -> dict[str, Any]:
    """The placeholders' values for a template written in `language` (its words for the care team and a DM)."""
    handle = author_handle.lstrip("@")
    base = (language or "en").lower().split("-")[0]
    if private_contact == DEFAULT_PRIVATE_CONTACT:
        private_contact = _PRIVATE_CONTACT.get(base, private_contact)
    return {
        "first_name": first_name(author_name) or f"@{handle}",
        "handle": f"@{handle}",
        "agent_first_name": first_name(agent_name) or _CARE_TEAM.get(base, _CARE_TEAM["en"]),
        "eta": eta,
        "private_contact": private_contact,
    }
