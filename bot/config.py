"""Settings from the environment and `.env`, validated once at start-up.

Every problem is reported as one line that names the setting and says what to put there, so an admin can fix a
deployment from the log alone. Secret values are never echoed back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.business_hours import BusinessCalendar, CalendarError, parse_holidays
from bot.i18n.catalogs import LANGUAGES
from bot.language import DEFAULT_CUSTOMER_LANGUAGES, CustomerLanguages, parse_customer_languages
from bot.routes import Route, parse_routes
from bot.triage import (
    DEFAULT_CATEGORIES,
    DEFAULT_THREAT_WORDS,
    DEFAULT_URGENT_WORDS,
    TriageRules,
    languages_with_words,
    parse_categories,
    parse_word_list,
)

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_PATH = "heard.db"
DEFAULT_DIRECTORY_PATH = "directory.toml"

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PERSON = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|mb)?\s*$", re.IGNORECASE)
_SIZE_FACTOR = {"b": 1, "kb": 1024, "mb": 1024 * 1024}
_T = TypeVar("_T")
_X_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")
# X's recent search takes queries up to 512 characters; Heard appends its own exclusions.
X_QUERY_LIMIT = 512
X_SEARCH_REACH = timedelta(days=7)
# The shared secrets Heard checks signatures or tokens with, and that an admin chooses or that are issued at this
# length: shorter ones are guessed or forged too easily, so start-up refuses them.
SECRET_MIN_LENGTH = 32
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_hex(32))"'


class ConfigError(Exception):
    """One or more settings are missing or malformed; `problems` holds one line per setting."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `1h`, `2d` -> timedelta. Raises ValueError for anything else."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(text)
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class XSettings:
    """The X (Twitter) feeds: the brand's mentions and/or a keyword search, read with an app bearer token."""

    bearer_token: str = field(repr=False)
    user_id: str | None
    handle: str | None
    query: str | None
    poll_interval: timedelta
    first_lookback: timedelta
    max_reads_per_day: int
    gap_alert: timedelta
    timeout: timedelta

    @property
    def watches_mentions(self) -> bool:
        return bool(self.user_id or self.handle)


@dataclass(frozen=True)
class XUserAuth:
    """The brand account's user-context credentials (OAuth 1.0a): what X needs for writes in the brand's name
    (replies, DMs, hiding replies, muting). Secrets all, so none of them reach a log."""

    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)


@dataclass(frozen=True)
class MetaSettings:
    """Facebook Page comments and Instagram comments: the Meta app's webhook secrets, the Page (and/or the
    Instagram professional account linked to it) and the Page token that reads and answers for both. Secrets all
    stay out of `repr`."""

    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)
    page_id: str | None
    page_token: str = field(repr=False)
    instagram_account_id: str | None
    graph_url: str
    timeout: timedelta
    # The backfill: how often the Graph API is read for comments a webhook may have missed, and how far back the
    # first read goes.
    poll_interval: timedelta
    first_lookback: timedelta


@dataclass(frozen=True)
class Settings:
    """Everything Heard reads from its environment. Secrets are excluded from `repr` so they never reach logs."""

    slack_bot_token: str = field(repr=False)
    slack_signing_secret: str = field(repr=False)
    slack_app_token: str | None = field(repr=False)
    slack_api_url: str
    heard_channel: str
    database_url: str
    port: int
    ingest_secret: str = field(repr=False)
    ack_window: timedelta
    nag_before: tuple[timedelta, ...]
    timezone: ZoneInfo
    ingest_max_bytes: int
    delivery_workers: int
    slack_timeout: timedelta
    agents: tuple[str, ...]
    managers: tuple[str, ...]
    directory_path: Path
    directory_required: bool
    thread_log: bool
    follow_up_after: timedelta
    follow_up_time: time
    resolve_window: timedelta
    breach_repeat: timedelta
    breach_repeats: int
    on_duty: tuple[str, ...]
    calendar: BusinessCalendar
    log_level: str
    log_format: str = "text"  # LOG_FORMAT: "text" lines, or "json" (one object per line, bot/observability/logs.py)
    triage: TriageRules = field(default_factory=TriageRules)
    # CUSTOMER_LANGUAGES (bot/language.py): the languages customers write in; the detector is limited to them, and
    # triage adds their words (bot/triage_words/<code>.toml) to the English lists.
    customer_languages: CustomerLanguages = field(default_factory=CustomerLanguages)
    x: XSettings | None = None
    digest_at: time | None = time(9, 0)  # None: no digest
    digest_channel: str | None = None
    digest_to_managers: bool = True
    weekly_digest: bool = False
    x_user_auth: XUserAuth | None = None
    # Moderation: the page a warning to an author points to, and how many strikes before Block is suggested.
    community_policy_url: str | None = None
    strikes_before_block: int = 3
    # Where Keep evidence sends the file (it holds the customer's personal data): this private channel, else the DM
    # of whoever asked; never the card's public thread.
    evidence_channel: str | None = None
    # Replies to customers: the templates file, and how customers reach the team privately ("Take it private").
    templates_path: Path = Path("replies.toml")
    templates_required: bool = False
    private_contact: str = "a DM"
    # Delivery (bot/delivery/): past this lag (the oldest message still waiting for Slack) the channel is told, and
    # told again when it recovers; while alerts about several complaints fall due, one manager gets at most one
    # alert message per `alert_interval`, listing them.
    delivery_lag_alert: timedelta = timedelta(minutes=2)
    alert_interval: timedelta = timedelta(minutes=1)
    # Facebook Page comments and Instagram comments (webhooks plus a Graph API backfill); None: not watched.
    meta: MetaSettings | None = None
    # Storms (bot/services/storms.py): more than `storm_threshold` arrivals within `storm_window` in one channel
    # open a storm card; it ends by itself after `storm_calm` below that. None: storms are off. 30 a minute: the
    # count is what queues as cards before the storm card takes over (at 2/s about 15 cards owed, a quarter of a
    # minute at the channel's one message a second); the rate (0.5/s) is about what a channel can show when each
    # card also brings thread lines and clock messages, and 2.5 times a quiet day's 0.2/s (12 a minute on average:
    # 30 is far beyond its chance bursts), so a quiet day is never grouped.
    storm_threshold: int | None = 30
    storm_window: timedelta = timedelta(minutes=1)
    storm_calm: timedelta = timedelta(minutes=10)
    # HEARD_ROUTES (bot/routes.py): complaints sent to other channels by priority, category or source.
    routes: tuple[Route, ...] = ()
    # Rotations and auto-assignment (bot/rotations.py, bot/assignment.py): the schedule file, how new complaints
    # get an owner ("off", "round-robin", "least-loaded"), and the most open complaints one agent is given.
    rotations_path: Path = Path("rotations.toml")
    rotations_required: bool = False
    auto_assign: str = "off"
    agent_cap: int | None = None
    # HEARD_LANGUAGE (bot/i18n): the language of shared messages (cards, channel notices, thread lines, storm
    # cards); each person's own views follow their Slack locale or their choice on the Home tab.
    language: str = "en"
    # The HTTP server (waitress): the address it binds, how long a connection may sit idle (a client that sends
    # half a request and stalls holds its socket no longer than this), and how many connections it holds at once
    # before it stops accepting: far above what slow clients can take up within the timeout, so /healthz,
    # /slack/events and /ingest keep answering. Behind a reverse proxy (README) its own timeouts come first.
    host: str = "0.0.0.0"
    http_channel_timeout: timedelta = timedelta(seconds=15)
    http_connection_limit: int = 500
    # PERSONAL_DATA_RETENTION (bot/privacy.py): the personal data of complaints resolved longer ago than this is
    # redacted, daily; None keeps everything.
    personal_data_retention: timedelta | None = None

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)


class _Reader:
    """Collects every problem instead of stopping at the first, so one start-up shows them all."""

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self.values = values
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def required(self, name: str, hint: str) -> str:
        value = self.raw(name)
        if value is None:
            self.problems.append(f"{name} is not set: {hint}")
            return ""
        return value

    def token(self, name: str, prefix: str, hint: str, *, required: bool = True) -> str | None:
        value = self.required(name, hint) if required else self.raw(name)
        if value and not value.startswith(prefix):
            self.problems.append(f"{name} does not look right: it should start with '{prefix}' ({hint})")
        return value

    def duration(self, name: str, default: str) -> timedelta:
        text = self.raw(name) or default
        try:
            value = parse_duration(text)
        except ValueError:
            self.problems.append(f"{name}={text!r} is not a duration: use a number and a unit, e.g. 90s, 15m, 1h, 2d")
            return parse_duration(default)
        if value <= timedelta(0):
            self.problems.append(f"{name} must be longer than zero, e.g. {default}")
        return value

    def durations(self, name: str, default: str) -> tuple[timedelta, ...]:
        text = self.raw(name) or default
        parts = [part for part in (p.strip() for p in text.split(",")) if part]
        values: list[timedelta] = []
        for part in parts:
            try:
                values.append(parse_duration(part))
            except ValueError:
                self.problems.append(
                    f"{name}={text!r} is not a list of durations: use comma-separated values such as 15m,5m"
                )
                return tuple(parse_duration(p) for p in default.split(","))
        return tuple(sorted(values, reverse=True))

    def integer(self, name: str, default: int, *, low: int, high: int, hint: str) -> int:
        text = self.raw(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            self.problems.append(f"{name}={text!r} is not valid: {hint}")
            return default
        return value

    def people(self, name: str) -> tuple[str, ...]:
        """Slack user ids (U.../W...) and user-group ids (S...), comma-separated; empty means everyone."""
        text = self.raw(name) or ""
        ids = tuple(part.strip() for part in text.split(",") if part.strip())
        bad = [item for item in ids if not _PERSON.match(item)]
        if bad:
            self.problems.append(
                f"{name} has ids that are not users or user groups: {', '.join(bad)}; use ids such as "
                "U0123ABCD (a person) or S0123ABCD (a user group), comma-separated"
            )
        return ids

    def switch(self, name: str, *, default: bool) -> bool:
        text = (self.raw(name) or "").lower()
        if not text:
            return default
        if text in ("on", "true", "yes", "1"):
            return True
        if text in ("off", "false", "no", "0"):
            return False
        self.problems.append(f"{name}={text!r} is not on or off: use on or off")
        return default

    def clock_time(self, name: str, default: str) -> time:
        text = self.raw(name) or default
        try:
            return time.fromisoformat(text)
        except ValueError:
            self.problems.append(f"{name}={text!r} is not a time of day: use 24-hour HH:MM, e.g. {default}")
            return time.fromisoformat(default)

    def calendar(self, timezone: ZoneInfo) -> BusinessCalendar:
        try:
            holidays = parse_holidays(self.raw("HOLIDAYS"))
            return BusinessCalendar.parse(self.raw("BUSINESS_HOURS"), timezone, holidays)
        except CalendarError as error:
            self.problems.append(str(error))
            return BusinessCalendar.always_open()

    def size(self, name: str, default: int) -> int:
        text = self.raw(name)
        if text is None:
            return default
        match = _SIZE.match(text)
        if not match or int(match.group(1)) <= 0:
            self.problems.append(f"{name}={text!r} is not a size: use bytes or a unit, e.g. 262144, 256kb, 1mb")
            return default
        return int(match.group(1)) * _SIZE_FACTOR[(match.group(2) or "b").lower()]

    def language(self, name: str, default: str) -> str:
        text = (self.raw(name) or default).strip().lower()
        if text not in LANGUAGES:
            self.problems.append(f"{name}={text!r} is not a language Heard speaks: use one of {', '.join(LANGUAGES)}")
            return default
        return text

    def zone(self, name: str, default: str) -> ZoneInfo:
        text = self.raw(name) or default
        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            self.problems.append(f"{name}={text!r} is not a time zone: use an IANA name such as Europe/Madrid or UTC")
            return ZoneInfo(default)


def _database_url(reader: _Reader) -> str:
    url = reader.raw("DATABASE_URL")
    if url is None:
        return f"sqlite:///{DEFAULT_DATABASE_PATH}"
    if url.startswith(("postgres://", "postgresql://")):
        # The plain scheme would pick psycopg2, which Heard does not ship; psycopg 3 is the supported driver.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith(("sqlite:", "postgresql+psycopg:")):
        reader.problems.append(
            "DATABASE_URL is not supported: use postgresql+psycopg://user:password@host:5432/dbname "
            "or sqlite:///path/to/heard.db"
        )
    return url


def _api_url(reader: _Reader) -> str:
    url = reader.raw("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        reader.problems.append(f"SLACK_API_URL={url!r} is not a URL: use https://slack.com/api/ or your proxy's URL")
    # slack_sdk joins method names onto this URL; without the trailing slash the /api/ segment is dropped.
    return url if url.endswith("/") else url + "/"


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Read settings from `environ` (default: the process environment) over the values in `env_file`."""
    values: dict[str, str | None] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ if environ is None else environ)
    reader = _Reader(values)

    app_token = reader.token(
        "SLACK_APP_TOKEN",
        "xapp-",
        "an app-level token with connections:write, for Socket Mode",
        required=False,
    )
    bot_token = reader.token(
        "SLACK_BOT_TOKEN", "xoxb-", "the Bot User OAuth Token from your Slack app's OAuth & Permissions page"
    )
    signing_secret = reader.raw("SLACK_SIGNING_SECRET")
    if signing_secret is None and not app_token:
        reader.problems.append(
            "SLACK_SIGNING_SECRET is not set: copy the Signing Secret from your Slack app's Basic Information page "
            "(or set SLACK_APP_TOKEN to use Socket Mode)"
        )
    elif signing_secret is not None and not app_token and len(signing_secret) < SECRET_MIN_LENGTH:
        # Slack issues it (Heard cannot lengthen it), always 32 hexadecimal characters: a shorter one is half a
        # paste, or a made-up value anyone could sign clicks with. Socket Mode does not use it.
        reader.problems.append(
            f"SLACK_SIGNING_SECRET is too short ({len(signing_secret)} characters): Slack's Signing Secret is "
            f"{SECRET_MIN_LENGTH} characters; copy all of it from your Slack app's Basic Information page"
        )
    channel = reader.required("HEARD_CHANNEL", "the id of the channel for complaint cards, e.g. C0123456789")
    if channel and not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel):
        reader.problems.append(
            f"HEARD_CHANNEL={channel!r} is not a channel id: use the id (e.g. C0123456789) from the channel's "
            "details, not its name"
        )
    ingest_secret = reader.required(
        "INGEST_SECRET",
        f"a long random string that webhook senders use to sign POST /ingest ({GENERATE_SECRET})",
    )
    if ingest_secret and len(ingest_secret) < SECRET_MIN_LENGTH:
        reader.problems.append(
            f"INGEST_SECRET is too short ({len(ingest_secret)} characters): use at least {SECRET_MIN_LENGTH} random "
            f"characters, e.g. from {GENERATE_SECRET}, and give the same to whatever posts to /ingest"
        )
    timezone = reader.zone("HEARD_TZ", "UTC")
    customer_languages = _parsed(reader, "CUSTOMER_LANGUAGES", parse_customer_languages, DEFAULT_CUSTOMER_LANGUAGES)
    settings = Settings(
        slack_bot_token=bot_token or "",
        slack_signing_secret=signing_secret or "",
        slack_app_token=app_token,
        slack_api_url=_api_url(reader),
        heard_channel=channel,
        database_url=_database_url(reader),
        port=reader.integer("PORT", 3000, low=0, high=65535, hint="use a TCP port number such as 3000"),
        host=_host(reader),
        http_channel_timeout=reader.duration("HTTP_CHANNEL_TIMEOUT", "15s"),  # whole seconds, as waitress takes it
        http_connection_limit=reader.integer(
            "HTTP_CONNECTION_LIMIT",
            500,
            low=10,
            high=10_000,
            hint="use how many connections the HTTP server holds at once, 10 to 10000",
        ),
        ingest_secret=ingest_secret,
        ack_window=reader.duration("ACK_WINDOW", "60m"),
        nag_before=reader.durations("NAG_BEFORE", "15m,5m"),
        timezone=timezone,
        ingest_max_bytes=reader.size("INGEST_MAX_BYTES", 256 * 1024),
        delivery_workers=reader.integer(
            "DELIVERY_WORKERS", 4, low=1, high=64, hint="use the number of threads sending to Slack, 1 to 64"
        ),
        slack_timeout=reader.duration("SLACK_TIMEOUT", "10s"),
        delivery_lag_alert=reader.duration("DELIVERY_LAG_ALERT", "2m"),
        alert_interval=reader.duration("ALERT_INTERVAL", "1m"),
        agents=reader.people("HEARD_AGENTS"),
        managers=reader.people("HEARD_MANAGERS"),
        directory_path=Path(reader.raw("HEARD_DIRECTORY") or DEFAULT_DIRECTORY_PATH),
        directory_required=reader.raw("HEARD_DIRECTORY") is not None,
        thread_log=reader.switch("HEARD_THREAD_LOG", default=True),
        follow_up_after=reader.duration("FOLLOW_UP_AFTER", "3d"),
        follow_up_time=reader.clock_time("FOLLOW_UP_TIME", "10:00"),
        resolve_window=reader.duration("RESOLVE_WINDOW", "24h"),
        breach_repeat=reader.duration("BREACH_REPEAT", "15m"),
        breach_repeats=reader.integer(
            "BREACH_REPEATS", 3, low=0, high=50, hint="use how many reminders follow a breach, 0 to 50"
        ),
        on_duty=reader.people("HEARD_ON_DUTY"),
        calendar=reader.calendar(timezone),
        log_level=_log_level(reader),
        log_format=_log_format(reader),
        triage=_triage_rules(reader, customer_languages),
        customer_languages=CustomerLanguages(customer_languages),
        x=_x_settings(reader),
        digest_at=None if (reader.raw("DIGEST_AT") or "").lower() == "off" else reader.clock_time("DIGEST_AT", "09:00"),
        digest_channel=_channel(reader, "DIGEST_CHANNEL"),
        digest_to_managers=reader.switch("DIGEST_TO_MANAGERS", default=True),
        weekly_digest=reader.switch("WEEKLY_DIGEST", default=False),
        x_user_auth=_x_user_auth(reader),
        community_policy_url=_web_url(reader, "COMMUNITY_POLICY_URL"),
        strikes_before_block=reader.integer(
            "STRIKES_BEFORE_BLOCK", 3, low=1, high=100, hint="use how many warnings come before Block, 1 to 100"
        ),
        evidence_channel=_channel(reader, "EVIDENCE_CHANNEL"),
        templates_path=Path(reader.raw("HEARD_TEMPLATES") or "replies.toml"),
        templates_required=reader.raw("HEARD_TEMPLATES") is not None,
        private_contact=reader.raw("PRIVATE_CONTACT") or "a DM",
        meta=_meta_settings(reader),
        language=reader.language("HEARD_LANGUAGE", "en"),
        personal_data_retention=(
            reader.duration("PERSONAL_DATA_RETENTION", "365d") if reader.raw("PERSONAL_DATA_RETENTION") else None
        ),
    )
    settings = _with_storms_and_routes(reader, settings)
    settings = _with_rotations(reader, settings)
    if reader.problems:
        raise ConfigError(reader.problems)
    return settings


_STORM_THRESHOLD = re.compile(r"^\s*(\d+)\s*/\s*(\d+\s*[smhd])\s*$")


def _with_storms_and_routes(reader: _Reader, settings: Settings) -> Settings:
    """STORM_THRESHOLD (`30/1m`, or `off`), STORM_CALM and HEARD_ROUTES (checked against the triage categories)."""
    threshold: int | None = Settings.storm_threshold
    window = Settings.storm_window
    text = reader.raw("STORM_THRESHOLD")
    if text is not None and text.lower() == "off":
        threshold = None
    elif text is not None:
        match = _STORM_THRESHOLD.match(text)
        if match is None or int(match.group(1)) < 1 or parse_duration(match.group(2)) <= timedelta(0):
            reader.problems.append(
                f"STORM_THRESHOLD={text!r} is not a rate: use complaints per time in one channel, e.g. 30/1m "
                "(30 complaints within a minute), or off"
            )
        else:
            threshold, window = int(match.group(1)), parse_duration(match.group(2))
    calm = reader.duration("STORM_CALM", format_duration(Settings.storm_calm))
    routes: tuple[Route, ...] = ()
    rules = reader.raw("HEARD_ROUTES")
    if rules is not None:
        try:
            routes = parse_routes(rules, [label for label, _words in settings.triage.categories])
        except ValueError as error:
            reader.problems.append(f"HEARD_ROUTES {error}")
    return replace(settings, storm_threshold=threshold, storm_window=window, storm_calm=calm, routes=routes)


AUTO_ASSIGN_MODES = ("off", "round-robin", "least-loaded")


def _with_rotations(reader: _Reader, settings: Settings) -> Settings:
    """ROTATIONS_FILE, AUTO_ASSIGN and AGENT_CAP."""
    mode = (reader.raw("AUTO_ASSIGN") or "off").lower()
    if mode not in AUTO_ASSIGN_MODES:
        reader.problems.append(f"AUTO_ASSIGN={mode!r} is not a mode: use off, round-robin or least-loaded")
        mode = "off"
    cap = reader.integer(
        "AGENT_CAP", 0, low=0, high=100_000, hint="use the most open complaints one agent is given (0: no cap)"
    )
    return replace(
        settings,
        rotations_path=Path(reader.raw("ROTATIONS_FILE") or "rotations.toml"),
        rotations_required=reader.raw("ROTATIONS_FILE") is not None,
        auto_assign=mode,
        agent_cap=cap or None,
    )


def _host(reader: _Reader) -> str:
    """HOST: the address the HTTP server binds (0.0.0.0: every interface; 127.0.0.1 behind a local proxy)."""
    host = reader.raw("HOST") or Settings.host
    if not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]+", host):
        reader.problems.append(f"HOST={host!r} is not an address: use an IP address such as 0.0.0.0 or 127.0.0.1")
    return host.strip("[]")


def _channel(reader: _Reader, name: str) -> str | None:
    channel = reader.raw(name)
    if channel and not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel):
        reader.problems.append(f"{name}={channel!r} is not a channel id: use the id (e.g. C0123456789), not its name")
    return channel


X_USER_AUTH_NAMES = ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")


def _x_user_auth(reader: _Reader) -> XUserAuth | None:
    """All four or none: half a set of credentials fails at the first write, long after start-up."""
    values = {name: reader.raw(name) for name in X_USER_AUTH_NAMES}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        reader.problems.append(
            f"{', '.join(missing)} not set: writing to X in the brand's name needs all four of "
            f"{', '.join(X_USER_AUTH_NAMES)} (developer portal, Keys and tokens, with Read and write permission)"
        )
        return None
    return XUserAuth(
        consumer_key=values["X_CONSUMER_KEY"] or "",
        consumer_secret=values["X_CONSUMER_SECRET"] or "",
        access_token=values["X_ACCESS_TOKEN"] or "",
        access_token_secret=values["X_ACCESS_TOKEN_SECRET"] or "",
    )


def _web_url(reader: _Reader, name: str) -> str | None:
    url = reader.raw(name)
    if url is None:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or any(char in url for char in "<>| "):
        reader.problems.append(f"{name}={url!r} is not a web address: use a full https:// link")
        return None
    return url


def _triage_rules(reader: _Reader, languages: tuple[str, ...]) -> TriageRules:
    vip = reader.integer(
        "X_VIP_FOLLOWERS", 10_000, low=1, high=10**10, hint="use the follower count that makes an author a VIP"
    )
    return TriageRules(
        vip_followers=vip,
        urgent_words=_parsed(reader, "TRIAGE_URGENT_WORDS", parse_word_list, DEFAULT_URGENT_WORDS),
        threat_words=_parsed(reader, "TRIAGE_THREAT_WORDS", parse_word_list, DEFAULT_THREAT_WORDS),
        categories=_parsed(reader, "TRIAGE_CATEGORIES", parse_categories, DEFAULT_CATEGORIES),
        # A language without a triage file (CUSTOMER_LANGUAGES=en,es) is detected, and triaged by the other lists.
        languages=tuple(code for code in languages if code in languages_with_words()),
    )


def _parsed(reader: _Reader, name: str, parse: Callable[[str], _T], default: _T) -> _T:
    text = reader.raw(name)
    if text is None:
        return default
    try:
        return parse(text)
    except ValueError as error:
        reader.problems.append(f"{name} is not valid: {error}")
        return default


def _x_settings(reader: _Reader) -> XSettings | None:
    token = reader.raw("X_BEARER_TOKEN")
    user_id = reader.raw("X_USER_ID")
    handle_text = reader.raw("X_HANDLE")
    query = reader.raw("X_QUERY")
    if token is None:
        if user_id or handle_text or query:
            reader.problems.append(
                "X_BEARER_TOKEN is not set: X_USER_ID, X_HANDLE or X_QUERY need the Bearer Token from your X app "
                "(developer portal, Keys and tokens)"
            )
        return None
    if not (user_id or handle_text or query):
        reader.problems.append(
            "X_BEARER_TOKEN is set but nothing to watch: set X_HANDLE (the brand's account, for its mentions) "
            'and/or X_QUERY (a keyword search such as acme OR "acme corp")'
        )
    if user_id and not user_id.isdigit():
        reader.problems.append(f"X_USER_ID={user_id!r} is not an X user id: use the numeric id, or set X_HANDLE")
    handle = None
    if handle_text:
        match = _X_HANDLE.match(handle_text)
        if match is None:
            reader.problems.append(f"X_HANDLE={handle_text!r} is not an X handle: use the brand's @name, e.g. @acme")
        else:
            handle = match.group(1)
    if query and len(query) > X_QUERY_LIMIT - 40:
        reader.problems.append(
            f"X_QUERY is {len(query)} characters long: X allows {X_QUERY_LIMIT}, and Heard adds up to 40 "
            "(-is:retweet -from:brand); shorten it"
        )
    return XSettings(
        bearer_token=token,
        user_id=user_id,
        handle=handle,
        query=query,
        poll_interval=reader.duration("X_POLL_INTERVAL", "60s"),
        first_lookback=_first_lookback(reader),
        max_reads_per_day=reader.integer(
            "X_MAX_READS_PER_DAY", 10_000, low=0, high=10**9, hint="use how many posts Heard may read a day (0: no cap)"
        ),
        gap_alert=reader.duration("X_GAP_ALERT", "10m"),
        timeout=reader.duration("X_TIMEOUT", "10s"),
    )


def _first_lookback(reader: _Reader) -> timedelta:
    lookback = reader.duration("X_FIRST_LOOKBACK", "1h")
    if lookback > X_SEARCH_REACH:
        reader.problems.append("X_FIRST_LOOKBACK is longer than 7 days: X's recent search reaches back 7 days at most")
        return X_SEARCH_REACH
    return lookback


META_NAMES = ("META_APP_SECRET", "META_VERIFY_TOKEN", "META_PAGE_ID", "META_PAGE_TOKEN", "INSTAGRAM_ACCOUNT_ID")
DEFAULT_META_GRAPH_URL = "https://graph.facebook.com/v23.0/"
# META_APP_SECRET is Meta's to issue (32 hexadecimal characters today), not ours: Heard cannot make it longer, so
# only a clear paste mistake is refused, and a change in what Meta issues does not stop Heard. META_VERIFY_TOKEN is
# ours to choose (guessable ones let anyone subscribe a callback): it takes SECRET_MIN_LENGTH, like INGEST_SECRET.
META_SECRET_MIN = 16


def _meta_settings(reader: _Reader) -> MetaSettings | None:
    """Facebook and/or Instagram: watched once any of META_NAMES is set, and then all that is needed must be."""
    values = {name: reader.raw(name) for name in META_NAMES}
    if not any(values.values()):
        return None
    app_secret = values["META_APP_SECRET"]
    verify_token = values["META_VERIFY_TOKEN"]
    page_id = values["META_PAGE_ID"]
    page_token = values["META_PAGE_TOKEN"]
    instagram_id = values["INSTAGRAM_ACCOUNT_ID"]
    if not page_id and not instagram_id:
        reader.problems.append(
            "META_PAGE_ID and INSTAGRAM_ACCOUNT_ID are not set: set the Facebook Page's id (Page, About, Page "
            "transparency) and/or the Instagram professional account's id to watch their comments"
        )
    if not app_secret:
        reader.problems.append(
            "META_APP_SECRET is not set: copy the App Secret from your Meta app (App settings, Basic); it signs "
            "Meta's webhook deliveries"
        )
    elif len(app_secret) < META_SECRET_MIN:
        reader.problems.append(
            f"META_APP_SECRET is too short ({len(app_secret)} characters): Meta's App Secret is 32 hexadecimal "
            "characters (App settings, Basic); paste all of it"
        )
    if not verify_token:
        reader.problems.append(
            f"META_VERIFY_TOKEN is not set: choose a long random string ({GENERATE_SECRET}) and type the same "
            "into the Verify Token of your Meta app's Webhooks settings"
        )
    elif len(verify_token) < SECRET_MIN_LENGTH:
        reader.problems.append(
            f"META_VERIFY_TOKEN is too short ({len(verify_token)} characters): use at least {SECRET_MIN_LENGTH} "
            f"random characters, e.g. from {GENERATE_SECRET}, the same as in your Meta app's Webhooks settings"
        )
    if not page_token:
        reader.problems.append(
            "META_PAGE_TOKEN is not set: a long-lived Page access token for the Page (Instagram uses the token of "
            "the Page linked to the professional account), with pages_read_engagement, pages_manage_engagement and "
            "pages_messaging (instagram_basic, instagram_manage_comments, instagram_manage_messages for Instagram)"
        )
    for name, value in (("META_PAGE_ID", page_id), ("INSTAGRAM_ACCOUNT_ID", instagram_id)):
        if value and not value.isdigit():
            reader.problems.append(f"{name}={value!r} is not an id: use the numeric id, not a name or a link")
    return MetaSettings(
        app_secret=app_secret or "",
        verify_token=verify_token or "",
        page_id=page_id,
        page_token=page_token or "",
        instagram_account_id=instagram_id,
        graph_url=_meta_graph_url(reader),
        timeout=reader.duration("META_TIMEOUT", "10s"),
        poll_interval=reader.duration("META_POLL_INTERVAL", "5m"),
        first_lookback=reader.duration("META_FIRST_LOOKBACK", "1d"),
    )


def _meta_graph_url(reader: _Reader) -> str:
    url = reader.raw("META_GRAPH_URL") or DEFAULT_META_GRAPH_URL
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        reader.problems.append(
            f"META_GRAPH_URL={url!r} is not a URL: use {DEFAULT_META_GRAPH_URL} (or your proxy's URL, with the version)"
        )
    # Paths are joined onto it; without the trailing slash the version segment would be replaced.
    return url if url.endswith("/") else url + "/"


def _log_format(reader: _Reader) -> str:
    value = (reader.raw("LOG_FORMAT") or "text").lower()
    if value not in ("text", "json"):
        reader.problems.append(f"LOG_FORMAT={value!r} is not a format: use text or json")
        return "text"
    return value


def _log_level(reader: _Reader) -> str:
    level = (reader.raw("LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        reader.problems.append(f"LOG_LEVEL={level!r} is not a level: use DEBUG, INFO, WARNING or ERROR")
        return "INFO"
    return level
