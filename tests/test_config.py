"""Start-up settings: one clear line per problem, durations in people's units, secrets kept out of sight."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, parse_duration

ROOT = Path(__file__).resolve().parent.parent
VALID = {
    "SLACK_BOT_TOKEN": "xoxb-123-abc",
    "SLACK_SIGNING_SECRET": "shh-signing-0123456789abcdef01234",
    "HEARD_CHANNEL": "C0123ABCD",
    "INGEST_SECRET": "shh-ingest-0123456789abcdef012345",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
    ],
)
def test_durations_accept_people_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_defaults_fill_what_is_not_set() -> None:
    settings = load_settings(VALID, env_file=None)

    assert settings.ack_window == timedelta(minutes=60)
    assert settings.nag_before == (timedelta(minutes=15), timedelta(minutes=5))
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.port == 3000
    assert settings.database_url.startswith("sqlite:///")
    assert not settings.socket_mode


def test_every_problem_is_one_line_naming_the_setting() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(
            {**VALID, "ACK_WINDOW": "an hour", "HEARD_CHANNEL": "#complaints", "SLACK_BOT_TOKEN": ""}, env_file=None
        )

    problems = error.value.problems
    assert len(problems) == 3
    assert any(p.startswith("ACK_WINDOW='an hour' is not a duration") for p in problems)
    assert any(p.startswith("HEARD_CHANNEL='#complaints' is not a channel id") for p in problems)
    assert any(p.startswith("SLACK_BOT_TOKEN is not set") for p in problems)


def test_secrets_never_appear_in_repr_or_errors() -> None:
    settings = load_settings(VALID, env_file=None)
    assert "shh" not in repr(settings) and "xoxb-123" not in repr(settings)

    with pytest.raises(ConfigError) as error:
        load_settings({**VALID, "SLACK_BOT_TOKEN": "secret-looking-token"}, env_file=None)
    assert "secret-looking-token" not in str(error.value)


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ACK_WINDOW=30m\nHEARD_CHANNEL=C0FROMFILE\n")

    settings = load_settings({**VALID, "HEARD_CHANNEL": "C0FROMENV"}, env_file=env_file)

    assert settings.ack_window == timedelta(minutes=30)
    assert settings.heard_channel == "C0FROMENV"


def test_postgres_urls_use_psycopg_3() -> None:
    settings = load_settings({**VALID, "DATABASE_URL": "postgresql://heard@db/heard"}, env_file=None)
    assert settings.database_url == "postgresql+psycopg://heard@db/heard"


def test_serving_without_slack_credentials_says_what_is_missing(tmp_path: Path) -> None:
    # `python app.py serve` asks for the real thing; plain `python app.py` would start the sandbox instead.
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "serve"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("heard: SLACK_BOT_TOKEN is not set") for line in lines)
    assert any(line.startswith("heard: SLACK_SIGNING_SECRET is not set") for line in lines)
    assert any(line.startswith("heard: HEARD_CHANNEL is not set") for line in lines)
    assert "Traceback" not in result.stderr


def test_short_shared_secrets_stop_start_up_with_the_line_that_makes_a_good_one(tmp_path: Path) -> None:
    short_signing, short_ingest = "0123456789abcdef0123456789abcde", "x"  # 31 characters, and one
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "serve"],
        cwd=tmp_path,
        env={**VALID, "PATH": "/usr/bin:/bin", "SLACK_SIGNING_SECRET": short_signing, "INGEST_SECRET": short_ingest},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "heard: SLACK_SIGNING_SECRET is too short (31 characters): Slack's Signing Secret is 32 characters; " in (
        "\n".join(lines)
    )
    [ingest] = [line for line in lines if line.startswith("heard: INGEST_SECRET is too short (1 characters)")]
    assert 'python -c "import secrets; print(secrets.token_hex(32))"' in ingest
    assert short_signing not in result.stderr and "Traceback" not in result.stderr
    assert "listening" not in result.stderr


def test_secrets_of_32_characters_or_more_are_accepted() -> None:
    settings = load_settings({**VALID, "INGEST_SECRET": "a" * 32, "SLACK_SIGNING_SECRET": "b" * 32}, env_file=None)
    assert (len(settings.ingest_secret), len(settings.slack_signing_secret)) == (32, 32)
    # Socket Mode needs no signing secret at all.
    socket_mode = load_settings(
        {**VALID, "SLACK_SIGNING_SECRET": "", "SLACK_APP_TOKEN": "xapp-1-socket"}, env_file=None
    )
    assert socket_mode.socket_mode


def test_the_http_servers_address_timeout_and_connection_limit() -> None:
    defaults = load_settings(VALID, env_file=None)
    assert (defaults.host, defaults.http_channel_timeout, defaults.http_connection_limit) == (
        "0.0.0.0",
        timedelta(seconds=15),
        500,
    )
    chosen = load_settings(
        {**VALID, "HOST": "127.0.0.1", "HTTP_CHANNEL_TIMEOUT": "1m", "HTTP_CONNECTION_LIMIT": "2000"}, env_file=None
    )
    assert (chosen.host, chosen.http_channel_timeout, chosen.http_connection_limit) == (
        "127.0.0.1",
        timedelta(minutes=1),
        2000,
    )
    with pytest.raises(ConfigError) as error:
        load_settings(
            {**VALID, "HOST": "localhost; rm", "HTTP_CHANNEL_TIMEOUT": "0s", "HTTP_CONNECTION_LIMIT": "5"},
            env_file=None,
        )
    problems = error.value.problems
    assert any(p.startswith("HOST='localhost; rm' is not an address") for p in problems)
    assert any(p.startswith("HTTP_CHANNEL_TIMEOUT must be longer than zero") for p in problems)
    assert any(p.startswith("HTTP_CONNECTION_LIMIT='5' is not valid") for p in problems)


def test_business_hours_and_holidays_are_checked_at_start_up() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({**VALID, "BUSINESS_HOURS": "Mon-Fri 8-18"}, env_file=None)
    assert error.value.problems[0].startswith("BUSINESS_HOURS='Mon-Fri 8-18' is not understood")

    settings = load_settings(
        {**VALID, "BUSINESS_HOURS": "Mon-Fri 08:00-18:00", "HOLIDAYS": "2026-12-25", "HEARD_TZ": "Europe/Madrid"},
        env_file=None,
    )
    assert not settings.calendar.is_always_open


def test_x_is_off_without_a_token_and_on_with_a_token_and_something_to_watch() -> None:
    assert load_settings(VALID, env_file=None).x is None

    settings = load_settings({**VALID, "X_BEARER_TOKEN": "AAAA-token", "X_HANDLE": "@acme"}, env_file=None)

    assert settings.x is not None and settings.x.handle == "acme" and settings.x.watches_mentions
    assert settings.x.poll_interval == timedelta(seconds=60) and settings.x.max_reads_per_day == 10_000
    assert "AAAA-token" not in repr(settings)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"X_QUERY": "acme"}, "X_BEARER_TOKEN is not set"),
        ({"X_BEARER_TOKEN": "t"}, "nothing to watch"),
        ({"X_BEARER_TOKEN": "t", "X_HANDLE": "acme corp"}, "X_HANDLE='acme corp' is not an X handle"),
        ({"X_BEARER_TOKEN": "t", "X_USER_ID": "acme"}, "X_USER_ID='acme' is not an X user id"),
        ({"X_BEARER_TOKEN": "t", "X_QUERY": "acme " * 100}, "characters long: X allows 512"),
        ({"X_BEARER_TOKEN": "t", "X_QUERY": "acme", "X_FIRST_LOOKBACK": "8d"}, "reaches back 7 days"),
        ({"TRIAGE_CATEGORIES": "billing refund"}, "TRIAGE_CATEGORIES is not valid"),
        ({"X_VIP_FOLLOWERS": "lots"}, "X_VIP_FOLLOWERS='lots' is not valid"),
    ],
)
def test_x_and_triage_settings_are_checked_with_one_line_each(overrides: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({**VALID, **overrides}, env_file=None)

    assert any(problem in line for line in error.value.problems), error.value.problems


def test_every_setting_heard_reads_is_documented_in_readme_and_env_example() -> None:
    source = (ROOT / "bot" / "config.py").read_text()
    names = set(re.findall(r'\(\s*"([A-Z][A-Z0-9_]+)"', source)) - {"UTC", "DEBUG", "INFO", "WARNING", "ERROR"}
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()

    assert len(names) >= 40  # a guard against the pattern silently matching nothing
    assert [name for name in sorted(names) if f"`{name}`" not in readme] == []
    assert [name for name in sorted(names) if f"\n{name}=" not in example] == []
