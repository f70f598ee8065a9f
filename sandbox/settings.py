"""When Heard runs as the sandbox, and the settings it runs with there.

Without any Slack credential, `python app.py` starts the sandbox instead of stopping with a list of missing
settings. The sandbox builds Heard's whole environment itself: the Slack side points at the built-in fake Slack,
the database is the sandbox's own SQLite file, and the SLA windows are short so nags and breaches can be watched.
Only policy settings (windows, calendar, triage ...) are taken from the environment or `.env`, so a sandbox never
reads a production `DATABASE_URL`, token or channel.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from sandbox import workspace

#: Any one of these set (in the environment or `.env`) means a real Slack app: no sandbox.
SLACK_CREDENTIALS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
DEFAULT_DATABASE_PATH = Path("heard-sandbox.db")
DEFAULT_PORT = 3000


@dataclass(frozen=True)
class MetaAccount:
    """The brand's Facebook Page or Instagram professional account on the fake Graph API."""

    id: str
    name: str


META_PAGE = MetaAccount("1000000000000001", "Acme")
META_INSTAGRAM = MetaAccount("17841400000000001", "acme")

#: Short windows, so a few minutes show a card's whole life: nags, the breach, reminders, a follow-up.
SANDBOX_DEFAULTS: dict[str, str] = {
    "ACK_WINDOW": "5m",
    "NAG_BEFORE": "2m,1m",
    "RESOLVE_WINDOW": "20m",
    "BREACH_REPEAT": "2m",
    "BREACH_REPEATS": "3",
    "FOLLOW_UP_AFTER": "2m",
    # A fresh sandbox has no yesterday to report on; the page's "Send the digest now" shows today's instead.
    "DIGEST_AT": "off",
    "HEARD_TZ": "UTC",
    "LOG_LEVEL": "WARNING",
}

#: The settings a person may change for the sandbox (the team's policy); everything else is the sandbox's own.
POLICY_SETTINGS = (
    "ACK_WINDOW",
    "NAG_BEFORE",
    "RESOLVE_WINDOW",
    "BREACH_REPEAT",
    "BREACH_REPEATS",
    "BUSINESS_HOURS",
    "HOLIDAYS",
    "HEARD_TZ",
    "HEARD_THREAD_LOG",
    "FOLLOW_UP_AFTER",
    "FOLLOW_UP_TIME",
    "DIGEST_AT",
    "DIGEST_TO_MANAGERS",
    "WEEKLY_DIGEST",
    "X_VIP_FOLLOWERS",
    "TRIAGE_URGENT_WORDS",
    "TRIAGE_THREAT_WORDS",
    "TRIAGE_CATEGORIES",
    "HEARD_TEMPLATES",
    "PRIVATE_CONTACT",
    "COMMUNITY_POLICY_URL",
    "STRIKES_BEFORE_BLOCK",
    "PERSONAL_DATA_RETENTION",
    "DELIVERY_WORKERS",
    "LOG_LEVEL",
)


def read_environment(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> dict[str, str]:
    """The environment over `.env`, as Heard's own settings read them."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({key: value for key, value in dotenv_values(env_file).items() if value is not None})
    values.update(os.environ if environ is None else environ)
    return values


def has_slack_credentials(values: Mapping[str, str]) -> bool:
    return any((values.get(name) or "").strip() for name in SLACK_CREDENTIALS)


@dataclass(frozen=True)
class SandboxSecrets:
    """Made up for each run; the page never sees them (the sandbox's backend signs what it forwards)."""

    bot_token: str = field(default_factory=lambda: "xoxb-sandbox-" + secrets.token_hex(8), repr=False)
    signing_secret: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    ingest_secret: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    # Meta's side: the app secret signs the webhook deliveries (32 hex characters, as Meta's are), the verify token
    # answers the subscription handshake, the Page token is what the fake Graph API accepts.
    meta_app_secret: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    meta_verify_token: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    meta_page_token: str = field(default_factory=lambda: "EAAsandbox" + secrets.token_hex(16), repr=False)


def heard_environment(
    *,
    api_url: str,
    database_path: Path,
    keys: SandboxSecrets,
    policy: Mapping[str, str] | None = None,
    graph_url: str | None = None,
) -> dict[str, str]:
    """Heard's settings for the sandbox: `policy` (the person's environment) may change the windows and rules, never
    where Heard connects to or which database it writes. With `graph_url` (the fake Graph API's), Heard also hears
    the sandbox's Facebook Page and Instagram account (see `meta_environment`)."""
    chosen = {name: value for name, value in (policy or {}).items() if name in POLICY_SETTINGS and value.strip()}
    meta = meta_environment(graph_url, keys) if graph_url else {}
    return {
        **meta,
        **SANDBOX_DEFAULTS,
        **chosen,
        "SLACK_BOT_TOKEN": keys.bot_token,
        "SLACK_SIGNING_SECRET": keys.signing_secret,
        "SLACK_API_URL": api_url,
        "HEARD_CHANNEL": workspace.COMPLAINTS.id,
        "INGEST_SECRET": keys.ingest_secret,
        "DATABASE_URL": f"sqlite:///{database_path.resolve()}",
        "PORT": "0",  # Heard's own HTTP server: any free loopback port; the page is what PORT serves
        "HEARD_AGENTS": f"{workspace.AGENT_A.id},{workspace.AGENT_B.id}",
        "HEARD_MANAGERS": workspace.MANAGER.id,
        "HEARD_ON_DUTY": workspace.CARE_TEAM_GROUP,
        "HEARD_DIRECTORY": str(workspace.DIRECTORY_PATH),
    }


def meta_environment(graph_url: str, keys: SandboxSecrets) -> dict[str, str]:
    """META_* for the sandbox's Page and Instagram account on the fake Graph API, with the secrets made up for this
    run. The backfill reads once at start and then only daily: comments reach Heard through its webhook, as Meta
    delivers them."""
    return {
        "META_APP_SECRET": keys.meta_app_secret,
        "META_VERIFY_TOKEN": keys.meta_verify_token,
        "META_PAGE_ID": META_PAGE.id,
        "META_PAGE_TOKEN": keys.meta_page_token,
        "INSTAGRAM_ACCOUNT_ID": META_INSTAGRAM.id,
        "META_GRAPH_URL": graph_url,
        "META_POLL_INTERVAL": "1d",
        "META_TIMEOUT": "5s",
    }
