"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via TEST_DATABASE_URL), the fake Slack, and Heard
running as a real HTTP server in this process."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app import Heard
from bot.config import Settings, load_settings
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database, migrate
from tests.support import Ingester

CHANNEL = "C0COMPLAINTS"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
INGEST_SECRET = "test-ingest-secret-0123456789abcdef0"
BOT_TOKEN = "xoxb-test"
TABLES = (
    "audit_events",
    "deliveries",
    "escalations",
    "follow_ups",
    "complaint_posts",
    "complaints",
    "x_feeds",
    "leases",
    "digest_runs",
    "replies",
    "moderated_authors",
    "write_ups",
    "storms",
    "delivery_pace",
    "delivery_flags",
    "assign_cursors",
    "handoffs",
    "agent_status",
    "person_languages",
)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: on PostgreSQL the shared test database, on SQLite a file copied for each test."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        database = Database(url)
        # A clean slate whatever an earlier (interrupted, or older) run left behind.
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        migrate(database)
        database.dispose()
        return url
    path = tmp_path_factory.mktemp("template") / "heard.db"
    database = Database(f"sqlite:///{path}")
    migrate(database)
    database.dispose()
    return str(path)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    if database_template.startswith("postgresql"):
        database = Database(database_template)
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        database.dispose()
        return database_template
    path = tmp_path / "heard.db"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(bot_token=BOT_TOKEN).start()
    yield fake
    fake.stop()


def heard_environment(fake_slack: FakeSlack, database_url: str, **overrides: str) -> dict[str, str]:
    environment = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "HEARD_CHANNEL": CHANNEL,
        "INGEST_SECRET": INGEST_SECRET,
        "DATABASE_URL": database_url,
        "PORT": "0",
        "ACK_WINDOW": "60m",
        "HEARD_TZ": "UTC",
        # Tests that are about the digest turn it on; elsewhere it would add a message at every start.
        "DIGEST_AT": "off",
        # Many tests post more than a storm's worth of complaints and expect a card each; tests/test_storms.py
        # turns storms on.
        "STORM_THRESHOLD": "off",
    }
    environment.update(overrides)
    return environment


@pytest.fixture
def start_heard(fake_slack: FakeSlack, database_url: str) -> Iterator[Callable[..., Heard]]:
    running: list[Heard] = []

    def start(**overrides: str) -> Heard:
        settings: Settings = load_settings(heard_environment(fake_slack, database_url, **overrides), env_file=None)
        heard = Heard(settings, host="127.0.0.1")
        heard.start()
        running.append(heard)
        return heard

    yield start
    for heard in running:
        heard.stop()


@pytest.fixture
def heard(start_heard: Callable[..., Heard]) -> Heard:
    return start_heard()


@pytest.fixture
def base_url(heard: Heard) -> str:
    return f"http://127.0.0.1:{heard.port}"


@pytest.fixture
def slack(base_url: str, fake_slack: FakeSlack) -> SlackDriver:
    """Plays Slack's side: signed clicks to /slack/events as a person in the channel would make them."""
    return SlackDriver(f"{base_url}/slack/events", SIGNING_SECRET, fake_slack)


@pytest.fixture
def customer(base_url: str) -> Ingester:
    """Plays a webhook source posting complaints to /ingest."""
    return Ingester(f"{base_url}/ingest", INGEST_SECRET)
