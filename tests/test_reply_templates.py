"""Reply templates (file, fallbacks, placeholders) and {eta} in words, from the deadline and the calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.business_hours import BusinessCalendar
from bot.replies import (
    ACKNOWLEDGE,
    BUILT_IN,
    PRIVATE,
    TemplatesError,
    TemplatesFile,
    eta_moment,
    eta_words,
    fill,
    load_templates,
    parse_templates,
    template_values,
)

ROOT = Path(__file__).resolve().parent.parent
MADRID = ZoneInfo("Europe/Madrid")
FILE = Path("replies.toml")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        ("2026-11-24 15:00", "by 3 pm today"),
        ("2026-11-24 12:00", "by noon today"),
        ("2026-11-25 10:30", "by 10:30 am tomorrow"),
        ("2026-11-27 09:00", "by 9 am on Friday"),
        ("2026-12-03 09:00", "by 9 am on 3 December"),
    ],
)
def test_eta_in_words_in_the_teams_time_zone(moment: str, words: str) -> None:
    assert eta_words(local(moment), local("2026-11-24 11:00"), MADRID) == words


def test_eta_in_spanish() -> None:
    now = local("2026-11-24 11:00")
    assert eta_words(local("2026-11-24 15:00"), now, MADRID, "es") == "hoy antes de las 15:00"
    assert eta_words(local("2026-11-25 10:00"), now, MADRID, "es") == "mañana antes de las 10:00"


def test_eta_is_the_deadline_rounded_up_to_a_quarter_hour() -> None:
    now = local("2026-11-24 11:00")
    assert eta_moment(local("2026-11-24 14:52"), now, BusinessCalendar.always_open()) == local("2026-11-24 15:00")


def test_a_missed_deadline_promises_an_hour_of_open_time_counted_by_the_calendar() -> None:
    calendar = BusinessCalendar.parse("Mon-Fri 09:00-18:00", MADRID)
    now = local("2026-11-24 17:40")  # a Tuesday evening, the deadline long gone
    moment = eta_moment(now - timedelta(hours=2), now, calendar)
    assert moment == local("2026-11-25 09:45")  # 20 min tonight, 40 min tomorrow morning, rounded up
    assert eta_words(moment, now, MADRID) == "by 9:45 am tomorrow"


TEAM_FILE = """
[default.en]
acknowledge = "Hello {first_name}"
[x.en]
acknowledge = "Hi {first_name} on X"
private = "DM us, {handle}"
[x.es]
acknowledge = "Hola {first_name}"
"""


def test_templates_fall_back_from_source_and_language_to_default_and_english() -> None:
    templates = parse_templates(TEAM_FILE, FILE)
    assert templates.get(ACKNOWLEDGE, "x", "es") == ("Hola {first_name}", "es")
    # The customer's language before the source: Heard's built-in Portuguese rather than the file's English for X.
    assert templates.get(ACKNOWLEDGE, "x", "pt-BR") == (BUILT_IN["default"]["pt"][ACKNOWLEDGE], "pt")
    assert templates.get(ACKNOWLEDGE, "x", "de") == ("Hi {first_name} on X", "en")  # no German anywhere
    assert templates.get(PRIVATE, "x", "es") == ("DM us, {handle}", "en")
    assert templates.get(ACKNOWLEDGE, "facebook", "und") == ("Hello {first_name}", "en")
    assert templates.get(PRIVATE, "facebook", "en") == (BUILT_IN["default"]["en"][PRIVATE], "en")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[x.en]\nacknowledge = "Hi {name}"', "unknown placeholders {name}"),
        ('[x.en]\nthanks = "Hi"', "'thanks'; the kinds are acknowledge, private"),
        ('[x.en]\nacknowledge = ""', "must be non-empty text"),
        ("[x.en\n", "is not valid TOML"),
    ],
)
def test_a_bad_templates_file_is_refused_with_the_problem_named(text: str, problem: str) -> None:
    with pytest.raises(TemplatesError) as error:
        parse_templates(text, FILE)
    assert problem in str(error.value) and "replies.toml" in str(error.value)


def test_placeholders_are_plain_text_never_a_template_engine() -> None:
    values = template_values(
        author_name="{eta} Robert'); DROP",
        author_handle="@bob",
        agent_name=None,
        eta="by 3 pm today",
        private_contact="a DM",
    )
    assert fill("Hi {first_name}, {agent_first_name} {unknown} {eta}", values) == (
        "Hi {eta}, the care team {unknown} by 3 pm today"
    )
    assert (
        template_values(author_name=None, author_handle="maria", agent_name="Ana García", eta="", private_contact="")[
            "first_name"
        ]
        == "@maria"
    )


def test_the_example_file_is_valid_and_a_missing_file_means_the_built_in_templates(tmp_path: Path) -> None:
    example = load_templates(ROOT / "replies.example.toml")
    assert "{eta}" in example.get(ACKNOWLEDGE, "x", "en")[0]
    assert (
        TemplatesFile(tmp_path / "replies.toml", required=False).current().get(ACKNOWLEDGE, "x", "en")[0]
        == (BUILT_IN["default"]["en"][ACKNOWLEDGE])
    )
    with pytest.raises(TemplatesError):
        TemplatesFile(tmp_path / "replies.toml", required=True)
