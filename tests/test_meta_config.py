"""Facebook and Instagram settings: off unless asked for, then complete or one clear line per problem, and the
secrets never echoed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import ConfigError, MetaSettings, load_settings

VALID = {
    "SLACK_BOT_TOKEN": "xoxb-123-abc",
    "SLACK_SIGNING_SECRET": "shh-signing-0123456789abcdef01234",
    "HEARD_CHANNEL": "C0123ABCD",
    "INGEST_SECRET": "shh-ingest-0123456789abcdef012345",
}
APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "verify-me-please-0123456789abcdef"
PAGE_TOKEN = "EAAGpagetoken-secret-value"
META = {
    "META_APP_SECRET": APP_SECRET,
    "META_VERIFY_TOKEN": VERIFY_TOKEN,
    "META_PAGE_ID": "104857600123456",
    "META_PAGE_TOKEN": PAGE_TOKEN,
    "INSTAGRAM_ACCOUNT_ID": "17841400000000001",
}


def problems(**overrides: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_settings({**VALID, **overrides}, env_file=None)
    return error.value.problems


def test_off_when_nothing_meta_is_set() -> None:
    settings = load_settings({**VALID, "META_TIMEOUT": "5s"}, env_file=None)

    assert settings.meta is None


def test_a_complete_setup_with_defaults() -> None:
    meta = load_settings({**VALID, **META}, env_file=None).meta

    assert meta == MetaSettings(
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        page_id="104857600123456",
        page_token=PAGE_TOKEN,
        instagram_account_id="17841400000000001",
        graph_url="https://graph.facebook.com/v23.0/",
        timeout=timedelta(seconds=10),
        poll_interval=timedelta(minutes=5),
        first_lookback=timedelta(days=1),
    )


def test_instagram_alone_and_tuning() -> None:
    overrides = {k: v for k, v in META.items() if k != "META_PAGE_ID"}
    meta = load_settings(
        {
            **VALID,
            **overrides,
            "META_GRAPH_URL": "http://127.0.0.1:8999/v23.0",
            "META_TIMEOUT": "3s",
            "META_POLL_INTERVAL": "2m",
            "META_FIRST_LOOKBACK": "6h",
        },
        env_file=None,
    ).meta

    assert meta is not None
    assert (meta.page_id, meta.instagram_account_id) == (None, "17841400000000001")
    assert meta.graph_url == "http://127.0.0.1:8999/v23.0/"  # the slash added: paths are joined onto it
    assert (meta.timeout, meta.poll_interval, meta.first_lookback) == (
        timedelta(seconds=3),
        timedelta(minutes=2),
        timedelta(hours=6),
    )


def test_secrets_stay_out_of_repr() -> None:
    settings = load_settings({**VALID, **META}, env_file=None)

    for text in (repr(settings), repr(settings.meta)):
        for secret in (APP_SECRET, VERIFY_TOKEN, PAGE_TOKEN):
            assert secret not in text
    assert "104857600123456" in repr(settings.meta)


def test_a_page_id_alone_asks_for_everything_else() -> None:
    found = problems(META_PAGE_ID="104857600123456")

    assert len(found) == 3
    assert any(line.startswith("META_APP_SECRET is not set: copy the App Secret") for line in found)
    assert any(line.startswith("META_VERIFY_TOKEN is not set") for line in found)
    assert any(line.startswith("META_PAGE_TOKEN is not set") and "Instagram uses the token" in line for line in found)


def test_secrets_alone_ask_for_an_id() -> None:
    found = problems(META_APP_SECRET=APP_SECRET, META_VERIFY_TOKEN=VERIFY_TOKEN, META_PAGE_TOKEN=PAGE_TOKEN)

    assert found == [
        "META_PAGE_ID and INSTAGRAM_ACCOUNT_ID are not set: set the Facebook Page's id (Page, About, Page "
        "transparency) and/or the Instagram professional account's id to watch their comments"
    ]


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({"META_PAGE_ID": "acme.store"}, "META_PAGE_ID='acme.store' is not an id: use the numeric id"),
        ({"INSTAGRAM_ACCOUNT_ID": "@acme"}, "INSTAGRAM_ACCOUNT_ID='@acme' is not an id"),
        ({"META_APP_SECRET": "abc123"}, "META_APP_SECRET is too short (6 characters): Meta's App Secret is 32"),
        ({"META_VERIFY_TOKEN": "hunter2"}, "META_VERIFY_TOKEN is too short (7 characters): use at least 32"),
        ({"META_GRAPH_URL": "graph.facebook.com"}, "META_GRAPH_URL='graph.facebook.com' is not a URL"),
        ({"META_POLL_INTERVAL": "often"}, "META_POLL_INTERVAL='often' is not a duration"),
        ({"META_TIMEOUT": "0s"}, "META_TIMEOUT must be longer than zero"),
    ],
)
def test_each_problem_is_one_line_naming_the_setting(overrides: dict[str, str], line: str) -> None:
    found = problems(**{**META, **overrides})

    assert len(found) == 1 and found[0].startswith(line), found


def test_problem_lines_never_echo_a_secret() -> None:
    found = problems(META_APP_SECRET="short-secret", META_VERIFY_TOKEN="tiny-token", META_PAGE_ID="x")

    assert not any("short-secret" in line or "tiny-token" in line for line in found)
