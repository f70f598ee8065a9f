"""How fast Heard answers a Claim/Acknowledge click, and how soon the card changes in Slack.

What is measured
    Heard runs as a real separate process (``python app.py``, via ``tests.support.HeardProcess``) against a
    database holding ``--complaints`` complaints (100,000 by default), each with its "received" audit event and
    its delivered card outbox row, as after that many ingests. ``--clicks`` of them (2,000) have a real card in
    a fake Slack (``sandbox.fake_slack.FakeSlack``, running in this process) and get one signed Claim click
    each (Acknowledge opens the reply form now, so its card change waits for the form), sent by ``--clients``
    threads (20) over fresh HTTP connections.

    * HTTP response time: connect, send, read the whole answer, per click. Slack gives up after 3,000 ms;
      the target is p99 <= 50 ms.
    * Click to ``chat.update``: from the moment a click is sent to the first ``chat.update`` of that card the
      fake Slack records (both clocks are this process's ``time.monotonic()``). Target p99 <= 250 ms.

    Seeding is not measured (its time is printed). A few warm-up clicks (``--warmup``) go first, one at a
    time, and are not counted. The fake Slack shares this process (and the machine) with the clients, so the
    figures include some of the load generator's own cost; they are an upper bound, not a floor.

    By default the clients send flat out (closed loop): each sends its next click as soon as the last one was
    answered, so Heard is driven to saturation and the HTTP time is about clients / throughput (Little's law).
    ``--rate`` sends on a fixed schedule instead (open loop), which shows the latency at a given click rate. In
    an open loop every clock starts at the click's *scheduled* moment, not when a free client got round to it:
    a click that waited for a client waited for Heard (no coordinated omission).

    The baseline, in the same run: a minimal Bolt app (``serve_minimal_app``: verifies the signature, acks, one
    ``chat.update``; waitress with Heard's server settings; the same fake Slack) gets the same warm-up and
    measured clicks from the same clients, just before Heard. CPU per click is each child process's CPU time
    (user + system, /proc) from the first measured click until the last card was updated, over the clicks; the
    targets are ratios: Heard's CPU per click at most 2x the minimal app's, its click -> chat.update p99 at most
    3x. What Heard still owes Slack when the measurement ends (outbox rows not sent, e.g. thread-log lines waiting
    for the channel's pace) is counted and printed: their CPU is not in the figures.

    Then the durable floor, on the same cards (``DurableClaims``): the minimal app also writing what a click must
    keep (lock, claim, audit, mark the card; then record it sent) with prebuilt Core statements on Heard's own
    tables and engine. Its CPU per click is what any app that keeps its promises pays, and it is itself about 2x
    the minimal app's (1.8x on SQLite, 2.2x on PostgreSQL in December 2026): the ratio to the minimal app cannot
    reach 2x for an app that writes anything. So Heard is judged by the same ratios against the floor too (CPU per
    click at most 2x, click -> chat.update p99 at most 3x), printed beside the minimal app's, which stay printed
    and judged. The clicked complaints and cards are put back as seeded afterwards (``KeptState``), so Heard acts on
    them as new; the floor's audit rows stay (the audit is append-only).

How to run (from the repository root)
    python bench/ack_latency.py                                   # SQLite in a temporary directory
    python bench/ack_latency.py --postgres                        # SQLite, then PostgreSQL (WIPES "test")
    python bench/ack_latency.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench  # WIPES it
    python bench/ack_latency.py --complaints 2000 --clicks 200    # a smoke run of a few seconds
    python bench/ack_latency.py --rate 50                         # 50 clicks/s on a schedule, not flat out

It prints figures and exits 0 even when a target is missed; it exits 1 only when the benchmark itself failed
(Heard did not start or died, seeding failed ...).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` is not an installed package

from slack_sdk import WebClient  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402
from sqlalchemy import bindparam, func, insert, select, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import common  # noqa: E402
from bench.common import (  # noqa: E402
    FIRST_NAMES,
    LAST_NAMES,
    SOURCES,
    delivered_card_row,
    finish_seeding,
    heard_overrides,
    log_summary,
    percentile,
    prepare_schema,
    safe_url,
    server_version,
)
from bot.blocks import ids  # noqa: E402
from bot.blocks.card import CardView, render_card  # noqa: E402
from bot.delivery.worker import METADATA_EVENT  # noqa: E402
from sandbox.fake_slack import Call, FakeSlack  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import AuditEvent, Complaint, Delivery  # noqa: E402
from tests.conftest import BOT_TOKEN, CHANNEL, SIGNING_SECRET, heard_environment  # noqa: E402
from tests.support import HeardProcess  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SLACK_LIMIT_MS = 3000.0
HTTP_TARGET_P99_MS = 50.0
UPDATE_TARGET_P99_MS = 250.0
# Heard against the minimal Bolt app in the same run (issue 13, item 9).
MAX_CPU_RATIO = 2.0
MAX_UPDATE_RATIO = 3.0
SEED_BATCH = 5000
RESOLVE_WINDOW = timedelta(hours=24)
ACK_WINDOW = timedelta(minutes=60)
UTC_ZONE = ZoneInfo("UTC")
USERS = 40
# An open-loop click sent this much after its turn waited for a free client: Heard was not keeping up.
LATE_SECONDS = 0.010


# ---------------------------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/ack_latency.py",
        description="Measure Heard's HTTP answer time and click-to-chat.update time for Claim/Acknowledge clicks.",
        epilog="WARNING: a PostgreSQL database given here is wiped (its public schema is dropped, then migrated).",
    )
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        metavar="URL",
        help="'sqlite' (a fresh file in a temporary directory) or a SQLAlchemy URL; repeat to run on several. "
        "A PostgreSQL database is WIPED first. Default: sqlite",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help=f"also run on {POSTGRES_URL} (WIPES that database)",
    )
    parser.add_argument("--complaints", type=int, default=100_000, help="complaints in the database (100000)")
    parser.add_argument("--clicks", type=int, default=2000, help="measured clicks, one per complaint (2000)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured clicks sent first, one at a time (20)")
    parser.add_argument(
        "--update-timeout", type=float, default=60.0, help="seconds to wait for the last chat.update (60)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="CLICKS_PER_S",
        help="send the clicks on a fixed schedule (open loop) instead of as fast as Heard answers (closed loop)",
    )
    parser.add_argument(
        "--heard-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra setting for Heard, e.g. HEARD_THREAD_LOG=off or DELIVERY_WORKERS=8; repeatable",
    )
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="do not measure the minimal Bolt app and the durable floor beside Heard (by default they run first, "
        "on the same cards)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed for the data and the click order (1)")
    args = parser.parse_args(argv)
    if args.clicks < 1 or args.clients < 1 or args.warmup < 0 or (args.rate is not None and args.rate <= 0):
        parser.error("--clicks and --clients must be at least 1, --warmup at least 0, --rate above 0")
    if any("=" not in setting for setting in args.heard_env):
        parser.error("--heard-env takes NAME=VALUE")
    if args.clicks + args.warmup > args.complaints:
        parser.error("--complaints must be at least --clicks + --warmup (every click gets its own complaint)")
    return args


def database_urls(args: argparse.Namespace, scratch: Path) -> list[str]:
    wanted: list[str] = list(args.database_url) or ["sqlite"]
    if args.postgres:
        wanted.append(POSTGRES_URL)
    urls = []
    for number, url in enumerate(wanted):
        urls.append(f"sqlite:///{scratch / f'heard-{number}.db'}" if url == "sqlite" else url)
    return urls


# ---------------------------------------------------------------------------------------------------------------
# Realistic complaints


OPENERS = [
    "Third time this month:",
    "Honestly disappointed.",
    "@acme",
    "Hola,",
    "Not happy!!",
    "Dear Acme support,",
    "",
    "Can anyone explain why",
    "PSA for everyone thinking of ordering:",
]
PROBLEMS = [
    "my order #{n} arrived broken",
    "the app logs me out every 5 minutes",
    "I was charged twice (€{price}) and nobody answers",
    "delivery was promised for Monday and it is now Friday",
    "the refund I was promised <3 weeks ago> never came",
    "your support line hangs up after 40 minutes on hold",
    "the description said 'waterproof' & it is not",
    "le colis est arrivé ouvert et il manque la moitié",
    "die Rechnung ist falsch und der Kundendienst antwortet nicht",
    "the courier left my parcel in the rain",
    "my account was locked after the password reset",
]
CLOSERS = [
    "Fix this.",
    "Will never order again 😡",
    "Can someone from @acme reply?",
    "#fail #customerservice",
    "",
    "Thanks in advance.",
    "👎👎👎",
    "Five years a customer and this is how you treat me.",
]


def complaint_text(rng: random.Random) -> str:
    parts = [rng.choice(OPENERS)]
    for _ in range(rng.choice([1, 1, 1, 2, 3, 6])):
        parts.append(rng.choice(PROBLEMS).format(n=rng.randint(10_000, 99_999), price=rng.randint(5, 900)) + ".")
    parts.append(rng.choice(CLOSERS))
    return " ".join(part for part in parts if part)


def complaint_url(rng: random.Random, source: str, handle: str, number: int) -> str | None:
    if source == "email":
        return None
    return {
        "facebook": f"https://facebook.com/acme/posts/{number}",
        "x": f"https://x.com/{handle}/status/{10**17 + number}",
        "instagram": f"https://instagram.com/p/{rng.getrandbits(48):012x}/",
        "trustpilot": f"https://www.trustpilot.com/reviews/{rng.getrandbits(64):016x}",
        "webhook": f"https://support.acme.example/tickets/{number}?ref=social&lang=en",
    }[source]


def complaint_row(complaint_id: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    """One complaint as ingest would have stored it: new, unclaimed, its acknowledgement deadline ahead."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    handle = f"{first.lower()}_{last[0].lower()}{rng.randint(1, 9999)}"
    source = rng.choice(SOURCES)
    # Within the last half hour: no nag (45 minutes after posting by default) falls due during the run.
    posted_at = now - timedelta(seconds=rng.uniform(0, 30 * 60))
    return {
        "id": complaint_id,
        "source": source,
        "external_id": f"{source}-{complaint_id}",
        "author_handle": handle,
        "author_name": f"{first} {last}" if rng.random() < 0.8 else None,
        "author_id": str(rng.getrandbits(48)),
        "text": complaint_text(rng),
        "url": complaint_url(rng, source, handle, complaint_id),
        "posted_at": posted_at,
        "received_at": posted_at + timedelta(seconds=rng.uniform(0.5, 20)),
        "status": "new",
        "ack_deadline": posted_at + ACK_WINDOW,
        "resolve_deadline": posted_at + RESOLVE_WINDOW,
        "ack_stage": 0,
        "resolve_stage": 0,
        # The SLA sweep is measured by bench/sla_precision.py; here no nag should compete with the clicks.
        "sla_due_at": None,
        "slack_channel": CHANNEL,
        # Cards never clicked point at messages the fake does not hold; nothing touches them.
        "slack_ts": f"{int(posted_at.timestamp())}.{complaint_id % 1_000_000:06d}",
        "revision": 1,
    }


def audit_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "complaint_id": row["id"],
        "at": row["received_at"],
        "actor": row["source"],
        "action": "received",
        "surface": "ingest",
        "detail": {"external_id": row["external_id"]},
    }


# ---------------------------------------------------------------------------------------------------------------
# Seeding


@dataclass(frozen=True)
class Card:
    complaint_id: int
    ts: str


def post_card(client: WebClient, row: dict[str, Any], now: datetime) -> str:
    """Post the card as Heard's delivery worker does (blocks, fallback text, metadata); returns its ts."""
    # Heard started without a directory file offers no Escalate button.
    message = render_card(CardView(Complaint(**row), can_escalate=False), now, UTC_ZONE)
    response = client.chat_postMessage(
        channel=CHANNEL,
        text=message.text,
        blocks=message.blocks,
        metadata={"event_type": METADATA_EVENT, "event_payload": {"key": f"card:{row['id']}"}},
        unfurl_links=False,
        unfurl_media=False,
    )
    return str(response["ts"])


def batches(total: int, size: int) -> Iterator[range]:
    for start in range(1, total + 1, size):
        yield range(start, min(start + size, total + 1))


def seed(database: Database, fake: FakeSlack, total: int, targets: set[int], rng: random.Random) -> dict[int, Card]:
    """Insert `total` complaints (with audit event and card outbox row); post the cards of `targets` to the fake."""
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])
    now = datetime.now(UTC)
    cards: dict[int, Card] = {}
    for numbers in batches(total, SEED_BATCH):
        rows = [complaint_row(number, rng, now) for number in numbers]
        for row in rows:
            if row["id"] in targets:
                row["slack_ts"] = post_card(client, row, now)
                cards[row["id"]] = Card(row["id"], row["slack_ts"])
        with database.engine.begin() as connection:
            connection.execute(insert(Complaint), rows)
            connection.execute(insert(AuditEvent), [audit_row(row) for row in rows])
            connection.execute(insert(Delivery), [delivered_card_row(row) for row in rows])
    finish_seeding(database)
    return cards


# ---------------------------------------------------------------------------------------------------------------
# Clicks


@dataclass(frozen=True)
class Click:
    complaint_id: int
    ts: str
    label: str
    body: bytes


@dataclass
class Sent:
    click: Click
    sent_at: float
    status: int
    #: From sending the click to reading the whole answer (service time; see `http_ms` for what is reported).
    service_ms: float
    error: str | None = None
    #: When the click was scheduled (open loop only).
    due_at: float | None = None

    @property
    def late(self) -> bool:
        return self.due_at is not None and self.sent_at - self.due_at > LATE_SECONDS

    @property
    def clock_start(self) -> float:
        """Where this click's clocks start: its scheduled moment in an open loop (a click that waited for a free
        client waited for Heard, and that wait is part of what its user sees: no coordinated omission), else the
        moment it was sent."""
        return self.due_at if self.due_at is not None else self.sent_at

    @property
    def http_ms(self) -> float:
        return self.service_ms + (self.sent_at - self.clock_start) * 1000


def find_button(message: dict[str, Any], action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in message.get("blocks") or []:
        if block.get("block_id") != ids.CARD_ACTIONS_BLOCK:
            continue
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return block, element
    raise RuntimeError(f"card {message.get('ts')} has no {action_id!r} button")


def block_actions_payload(fake: FakeSlack, message: dict[str, Any], action_id: str, user: str) -> dict[str, Any]:
    """The interactive payload Slack sends for a button click (the shape `SlackDriver.click` builds)."""
    block, button = find_button(message, action_id)
    name = user.lower()
    return {
        "type": "block_actions",
        "user": {"id": user, "username": name, "name": name, "team_id": fake.team_id},
        "api_app_id": fake.app_id,
        "token": "fake-verification-token",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": CHANNEL, "is_ephemeral": False},
        "trigger_id": f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}",
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": CHANNEL, "name": "complaints"},
        "message": message,
        "state": {"values": {}},
        "response_url": fake.new_response_url(channel=CHANNEL, message_ts=message["ts"], user=user),
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": block["block_id"],
                "text": button["text"],
                "value": button["value"],
                "type": "button",
                "action_ts": f"{time.time():.6f}",
                **({"style": button["style"]} if "style" in button else {}),
            }
        ],
    }


def build_clicks(fake: FakeSlack, cards: Sequence[Card]) -> list[Click]:
    """One Claim click per card, by one of `USERS` people. (Acknowledge opens the reply form since issue 6 of 7;
    its card change comes with the form's submission, which this benchmark does not drive.)"""
    clicks = []
    for number, card in enumerate(cards):
        action_id, label = ids.CLAIM, "Claim"
        payload = block_actions_payload(fake, fake.message(CHANNEL, card.ts), action_id, f"U0BENCH{number % USERS:03d}")
        body = urlencode({"payload": json.dumps(payload)}).encode()
        clicks.append(Click(card.complaint_id, card.ts, label, body))
    return clicks


class Sender:
    """POSTs signed clicks to /slack/events, one fresh connection per click (no keep-alive)."""

    def __init__(self, events_url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(events_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path
        self.timeout = timeout
        self.verifier = SignatureVerifier(SIGNING_SECRET)

    def send(self, click: Click) -> Sent:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": self.verifier.generate_signature(timestamp=stamp, body=click.body) or "",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "Connection": "close",
        }
        started = time.monotonic()
        try:
            status = self._post(click.body, headers)
        except (OSError, http.client.HTTPException) as exc:
            return Sent(click, started, 0, (time.monotonic() - started) * 1000, f"{type(exc).__name__}: {exc}")
        return Sent(click, started, status, (time.monotonic() - started) * 1000)

    def _post(self, body: bytes, headers: dict[str, str]) -> int:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("POST", self.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


def run_load(sender: Sender, clicks: Sequence[Click], clients: int, rate: float | None = None) -> list[Sent]:
    """`clients` threads drain one queue of clicks: as fast as Heard answers them (closed loop), or each click at
    its turn on a `rate` clicks/s schedule (open loop; late only when every client is still waiting for Heard)."""
    work: queue.SimpleQueue[tuple[int, Click]] = queue.SimpleQueue()
    for number, click in enumerate(clicks):
        work.put((number, click))
    results: list[Sent] = []
    lock = threading.Lock()
    started = time.monotonic()

    def client() -> None:
        while True:
            try:
                number, click = work.get_nowait()
            except queue.Empty:
                return
            due = started + number / rate if rate else None
            if due is not None and due > time.monotonic():
                time.sleep(due - time.monotonic())
            sent = sender.send(click)
            sent.due_at = due
            with lock:
                results.append(sent)

    threads = [threading.Thread(target=client, name=f"client-{n}", daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# ---------------------------------------------------------------------------------------------------------------
# Click to chat.update


def wait_for_updates(fake: FakeSlack, sent: Sequence[Sent], timeout: float) -> None:
    """Block until every clicked card got a chat.update, or `timeout` passed (the rest count as missing).
    Only updates since these clicks began count: the same cards are clicked once per app measured."""
    wanted = {item.click.ts for item in sent}
    since = min((item.clock_start for item in sent), default=0.0)

    def for_a_clicked_card(call: Call) -> bool:
        return call.ok and call.at >= since and call.args.get("ts") in wanted

    deadline = time.monotonic() + timeout
    while True:
        seen = [call for call in fake.calls_to("chat.update") if for_a_clicked_card(call)]
        still = len(wanted - {call.args.get("ts") for call in seen})
        left = deadline - time.monotonic()
        if not still or left <= 0:
            return
        try:
            # A card updated twice counts twice here, hence the loop rather than one wait.
            fake.wait_for("chat.update", count=len(seen) + still, timeout=left, where=for_a_clicked_card)
        except AssertionError:
            return  # reported as missing updates


def update_delays(calls: Sequence[Call], sent: Sequence[Sent], timeout: float) -> list[float | None]:
    """Per click, ms from its clock start (sent, or scheduled in an open loop) to the first successful chat.update
    of its card after it was sent (None: none in time)."""
    updates: dict[str, list[float]] = {}
    for call in calls:
        if call.method == "chat.update" and call.ok:
            updates.setdefault(str(call.args.get("ts")), []).append(call.at)
    delays: list[float | None] = []
    for item in sent:
        later = [at for at in updates.get(item.click.ts, []) if at >= item.sent_at]
        delay = (min(later) - item.clock_start) * 1000 if later else None
        delays.append(delay if delay is not None and delay <= timeout * 1000 else None)
    return delays


# ---------------------------------------------------------------------------------------------------------------
# One run


@dataclass
class Run:
    url: str
    server: str = ""
    seed_seconds: float = 0.0
    load_seconds: float = 0.0
    drain_seconds: float = 0.0
    sent: list[Sent] = field(default_factory=list)
    delays: list[float | None] = field(default_factory=list)
    failed_updates: int = 0
    reposted: int = 0
    thread_replies: int = 0
    outbox_waiting: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    heard_log: list[str] = field(default_factory=list)
    claimed: int = 0
    acknowledged: int = 0
    audit_events: int = 0
    heard_cpu_seconds: float | None = None
    bench_cpu_seconds: float = 0.0
    machine_cpu_seconds: float | None = None
    measured_seconds: float = 0.0
    #: The minimal Bolt app, measured in the same run on the same cards (None: --no-baseline).
    baseline: Baseline | None = None
    #: The same app also writing what a click must keep (`DurableClaims`), measured just after it.
    floor: Baseline | None = None


@dataclass
class Baseline:
    """The minimal Bolt app's figures: what a click costs when all it does is verify, ack and chat.update."""

    sent: list[Sent] = field(default_factory=list)
    delays: list[float | None] = field(default_factory=list)
    load_seconds: float = 0.0
    cpu_seconds: float | None = None
    failed_updates: int = 0


class KeptState:
    """The columns the durable floor changes on the clicked complaints and their cards, put back afterwards."""

    COMPLAINT = ("status", "owner_id", "claimed_by", "claimed_at", "revision")
    CARD = ("generation", "status", "lease_owner", "lease_until", "delivered_at")

    def __init__(self, url: str, complaint_ids: Sequence[int]) -> None:

        self.database = Database(url)
        complaints, outbox = Complaint.__table__, Delivery.__table__
        wanted = list(complaint_ids)
        with self.database.engine.connect() as connection:
            self.complaints = [
                dict(row._mapping)
                for row in connection.execute(
                    select(complaints.c.id, *(complaints.c[name] for name in self.COMPLAINT)).where(
                        complaints.c.id.in_(wanted)
                    )
                )
            ]
            self.cards = [
                dict(row._mapping)
                for row in connection.execute(
                    select(outbox.c.id, *(outbox.c[name] for name in self.CARD)).where(
                        outbox.c.key.in_([f"card:{number}" for number in wanted])
                    )
                )
            ]
        self._put_complaints = (
            update(complaints)
            .where(complaints.c.id == bindparam("row_id"))
            .values({name: bindparam(f"old_{name}") for name in self.COMPLAINT})
        )
        self._put_cards = (
            update(outbox)
            .where(outbox.c.id == bindparam("row_id"))
            .values({name: bindparam(f"old_{name}") for name in self.CARD})
        )

    def restore(self) -> None:
        def params(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{"row_id": row["id"], **{f"old_{k}": v for k, v in row.items() if k != "id"}} for row in rows]

        with self.database.engine.begin() as connection:
            connection.execute(self._put_complaints, params(self.complaints))
            connection.execute(self._put_cards, params(self.cards))
        self.database.dispose()


class MinimalAppProcess(HeardProcess):
    """The baseline (`serve_minimal_app`) in a child process: this file run with --serve-minimal-app."""

    def __init__(self, environment: dict[str, str], durable: bool = False) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-minimal-app", *(["--durable"] if durable else [])],
            cwd=ROOT,
            env={**os.environ, **environment},
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self.port = self._wait_for_port()


class DrainedHeard:
    """Heard (or the minimal app) in a child process, its stderr read by a thread so the child never blocks on a
    full pipe."""

    def __init__(self, environment: dict[str, str], minimal: bool = False, durable: bool = False) -> None:
        self.process = MinimalAppProcess(environment, durable) if minimal else HeardProcess(environment)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._drain, name="heard-stderr", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        stream = self.process.process.stderr
        assert stream is not None
        for line in stream:
            self.lines.append(line)

    @property
    def events_url(self) -> str:
        return f"{self.process.url}/slack/events"

    def alive(self) -> bool:
        return self.process.process.poll() is None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the child has used so far (Linux only; None elsewhere)."""
        try:
            stat = Path(f"/proc/{self.process.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        try:
            self.process.stop()
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._reader.join(5)


def machine_busy_seconds() -> float | None:
    """CPU time all processes on this machine have used so far, from /proc/stat (Linux only; None elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def check_database(url: str, run: Run) -> None:
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            run.claimed = session.scalar(select(func.count()).where(Complaint.owner_id.is_not(None))) or 0
            run.acknowledged = session.scalar(select(func.count()).where(Complaint.acknowledged_at.is_not(None))) or 0
            run.audit_events = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
            waiting = session.execute(
                select(Delivery.kind, func.count()).where(Delivery.status != "done").group_by(Delivery.kind)
            ).all()
            run.outbox_waiting = {str(kind): int(count) for kind, count in waiting}
    finally:
        database.dispose()


class DurableClaims:
    """The floor's writes (see `serve_minimal_app`): prebuilt Core statements, Heard's engine and SQLite writer
    turn (`Database.statements`)."""

    def __init__(self, url: str) -> None:

        self.database = Database(url)
        complaints, outbox = Complaint.__table__, Delivery.__table__
        self._lock = select(complaints.c.revision).where(complaints.c.id == bindparam("complaint")).with_for_update()
        self._claim = (
            update(complaints)
            .where(complaints.c.id == bindparam("complaint"))
            .values(
                status="claimed",
                owner_id=bindparam("owner"),
                claimed_by=bindparam("owner"),
                claimed_at=bindparam("at"),
                revision=complaints.c.revision + 1,
            )
        )
        self._audit = insert(AuditEvent.__table__)
        card = outbox.c.key == bindparam("card")
        self._sending = (
            update(outbox)
            .where(card)
            .values(
                generation=outbox.c.generation + 1, status="sending", lease_owner="floor", lease_until=bindparam("at")
            )
        )
        self._sent = (
            update(outbox)
            .where(card, outbox.c.lease_owner == "floor")
            .values(status="done", delivered_at=bindparam("at"), lease_owner=None, lease_until=None)
        )

    def claim(self, complaint_id: int, user: str) -> None:
        now = datetime.now(UTC)
        with self.database.statements() as connection:
            connection.execute(self._lock, {"complaint": complaint_id}).scalar_one()
            connection.execute(self._claim, {"complaint": complaint_id, "owner": user, "at": now})
            connection.execute(
                self._audit,
                {
                    "complaint_id": complaint_id,
                    "at": now,
                    "actor": user,
                    "action": "claim",
                    "surface": "slack:button",
                    "detail": {},
                },
            )
            connection.execute(self._sending, {"card": f"card:{complaint_id}", "at": now + timedelta(seconds=30)})

    def sent(self, complaint_id: int) -> None:
        with self.database.statements() as connection:
            connection.execute(self._sent, {"card": f"card:{complaint_id}", "at": datetime.now(UTC)})


def serve_minimal_app(durable: bool = False) -> None:
    """The baseline Heard is measured against: the least a Bolt app can do for a Claim click. It verifies the
    signature, acks, and sends one `chat.update` (the card without its buttons, a "Claimed by" line instead)
    from Bolt's listener pool after the ack, to the same fake Slack; served by waitress with Heard's own server
    settings (app.py). No database, no outbox, no render: every millisecond Heard spends beyond this is its own.

    `durable` (the floor): the same app also writes what a click must keep, with prebuilt Core statements on
    Heard's own tables and engine: one transaction that locks the complaint, claims it, appends its audit event
    and marks the card's outbox row as being sent; after Slack answers, one statement that records it sent. No
    ORM, no render, no thread line, no permission or language lookup."""
    import logging

    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_bolt.authorization import AuthorizeResult
    from waitress.server import create_server

    from app import HTTP_THREADS, MAX_SLACK_BODY_BYTES

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = os.environ["SLACK_BOT_TOKEN"]
    authorized = AuthorizeResult(enterprise_id=None, team_id=None, bot_token=token)
    bolt = App(
        client=WebClient(token=token, base_url=os.environ["SLACK_API_URL"], retry_handlers=[]),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        # As Heard: no auth.test, the token is known.
        authorize=lambda enterprise_id, team_id: authorized,
    )

    keep = DurableClaims(os.environ["DATABASE_URL"]) if durable else None

    @bolt.action(ids.CLAIM)
    def claim(ack: Any, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        complaint_id = ids.ComplaintRef.decode(action["value"]).complaint_id
        if keep is not None:
            keep.claim(complaint_id, user)
        message = body["message"]
        blocks = [block for block in message["blocks"] if block.get("block_id") != ids.CARD_ACTIONS_BLOCK]
        claimed = f"Claimed by <@{user}>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": claimed}]})
        client.chat_update(channel=body["channel"]["id"], ts=message["ts"], text=claimed, blocks=blocks)
        if keep is not None:
            keep.sent(complaint_id)

    server = create_server(
        SlackRequestHandler(bolt, path="/slack/events"),
        host="127.0.0.1",
        port=0,
        threads=HTTP_THREADS,
        ident="minimal",
        clear_untrusted_proxy_headers=True,
        max_request_body_size=MAX_SLACK_BODY_BYTES,
    )
    logging.getLogger("minimal").info("the minimal app is listening on port %s", server.effective_port)
    server.run()


def run_one(url: str, args: argparse.Namespace) -> Run:
    run = Run(url=url)
    rng = random.Random(args.seed)
    order = rng.sample(range(1, args.complaints + 1), args.warmup + args.clicks)
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        started = time.monotonic()
        database = prepare_schema(url)
        try:
            run.server = server_version(database)
            cards = seed(database, fake, args.complaints, set(order), rng)
        finally:
            database.dispose()
        clicks = build_clicks(fake, [cards[number] for number in order])
        run.seed_seconds = time.monotonic() - started
        if args.baseline:
            print(f"  seeded in {run.seed_seconds:.1f} s; the minimal Bolt app first, on the same cards", flush=True)
            minimal = DrainedHeard(heard_environment(fake, url), minimal=True)
            try:
                run.baseline = measure_baseline(minimal, fake, clicks, args)
            finally:
                minimal.stop()
            print("  then the durable floor (the same app writing what a click must keep)", flush=True)
            kept = KeptState(url, [click.complaint_id for click in clicks])
            floor = DrainedHeard(heard_environment(fake, url), minimal=True, durable=True)
            try:
                run.floor = measure_baseline(floor, fake, clicks, args)
            finally:
                floor.stop()
                kept.restore()  # Heard finds the complaints and cards as seeded (the floor's audit rows stay)
        print("  starting Heard", flush=True)
        # INFO, not WARNING: HeardProcess finds the port in the INFO line "Heard is listening on port N".
        overrides = heard_overrides(args.heard_env)
        heard = DrainedHeard(heard_environment(fake, url, **{"LOG_LEVEL": "INFO", **overrides}))
        try:
            measure(run, heard, fake, clicks, args)
        finally:
            run.heard_log = list(heard.lines)
            heard.stop()
        run.problems = fake.problems
    check_database(url, run)
    return run


def measure_baseline(minimal: DrainedHeard, fake: FakeSlack, clicks: list[Click], args: argparse.Namespace) -> Baseline:
    """The same warm-up and measured clicks, the same clients and schedule, against the minimal app."""
    sender = Sender(minimal.events_url)
    warmup, measured = clicks[: args.warmup], clicks[args.warmup :]
    warm = run_load(sender, warmup, 1)
    wait_for_updates(fake, warm, args.update_timeout)
    baseline = Baseline()
    cpu_before, started = minimal.cpu_seconds(), time.monotonic()
    baseline.sent = run_load(sender, measured, args.clients, args.rate)
    baseline.load_seconds = time.monotonic() - started
    wait_for_updates(fake, baseline.sent, args.update_timeout)
    cpu_after = minimal.cpu_seconds()
    if cpu_before is not None and cpu_after is not None:
        baseline.cpu_seconds = cpu_after - cpu_before
    since = min(item.clock_start for item in baseline.sent)
    calls = [call for call in fake.calls if call.at >= since]
    baseline.delays = update_delays(calls, baseline.sent, args.update_timeout)
    baseline.failed_updates = sum(1 for call in calls if call.method == "chat.update" and not call.ok)
    if not minimal.alive():
        raise RuntimeError("the minimal app exited during the run:\n" + "".join(minimal.lines[-30:]))
    return baseline


def measure(run: Run, heard: DrainedHeard, fake: FakeSlack, clicks: list[Click], args: argparse.Namespace) -> None:
    sender = Sender(heard.events_url)
    warmup, measured = clicks[: args.warmup], clicks[args.warmup :]
    warm = run_load(sender, warmup, 1)
    wait_for_updates(fake, warm, args.update_timeout)
    heard.lines.clear()  # from here on, what Heard logs is about the measured clicks
    heard_cpu, bench_cpu, machine_cpu = heard.cpu_seconds(), time.process_time(), machine_busy_seconds()
    started = time.monotonic()
    run.sent = run_load(sender, measured, args.clients, args.rate)
    run.load_seconds = time.monotonic() - started
    wait_for_updates(fake, run.sent, args.update_timeout)
    heard_cpu_after = heard.cpu_seconds()
    if heard_cpu is not None and heard_cpu_after is not None:
        run.heard_cpu_seconds = heard_cpu_after - heard_cpu
    run.bench_cpu_seconds = time.process_time() - bench_cpu
    machine_cpu_after = machine_busy_seconds()
    if machine_cpu is not None and machine_cpu_after is not None:
        run.machine_cpu_seconds = machine_cpu_after - machine_cpu
    run.measured_seconds = time.monotonic() - started
    first_sent = min(item.clock_start for item in run.sent)
    calls = [call for call in fake.calls if call.at >= first_sent]  # not the baseline's
    run.delays = update_delays(calls, run.sent, args.update_timeout)
    run.failed_updates = sum(1 for call in calls if call.method == "chat.update" and not call.ok)
    posts = [call for call in calls if call.method == "chat.postMessage"]
    # A card posted again instead of updated means the seeded outbox rows do not look like Heard's own.
    run.reposted = sum(1 for call in posts if not call.args.get("thread_ts"))
    run.thread_replies = len(posts) - run.reposted
    updated_at = [item.clock_start + delay / 1000 for item, delay in zip(run.sent, run.delays, strict=True) if delay]
    run.drain_seconds = max(updated_at, default=first_sent) - first_sent
    if not heard.alive():
        raise RuntimeError("Heard exited during the run:\n" + "".join(heard.lines[-30:]))


# ---------------------------------------------------------------------------------------------------------------
# Report


def figures_line(name: str, values: Sequence[float], target: str, target_p99: float) -> str:
    if not values:
        return f"  {name:<28}{'-':>9}{'-':>9}{'-':>9}   {target}   (no data)"
    p50, p99, worst = percentile(values, 50), percentile(values, 99), max(values)
    verdict = "met" if p99 <= target_p99 else "MISSED"
    return f"  {name:<28}{p50:9.1f}{p99:9.1f}{worst:9.1f}   {target:<38}{verdict}"


def report(run: Run, args: argparse.Namespace) -> None:
    sent = run.sent
    ok = [item for item in sent if item.status == 200]
    http_ms = [item.http_ms for item in sent]
    delays = [delay for delay in run.delays if delay is not None]
    missing = len(run.delays) - len(delays)
    over_limit = sum(1 for value in http_ms if value > SLACK_LIMIT_MS)
    claims = sum(1 for item in sent if item.click.label == "Claim")
    print(f"  database      {safe_url(run.url)} ({run.server})")
    print(
        f"  load          {len(sent):,} clicks ({claims:,} Claim, {len(sent) - claims:,} Acknowledge) "
        f"from {args.clients} clients in {run.load_seconds:.2f} s = {len(sent) / run.load_seconds:,.0f} clicks/s; "
        f"{args.warmup} warm-up clicks before, not counted"
    )
    print(f"  pacing        {pacing(args, sent)}")
    print(f"  last card     updated {run.drain_seconds:.2f} s after the first measured click")
    print()
    print(f"  {'':<28}{'p50':>9}{'p99':>9}{'max':>9}   target")
    print(figures_line("HTTP response (ms)", http_ms, "p99 <= 50 (Slack gives up at 3,000)", HTTP_TARGET_P99_MS))
    print(figures_line("click -> chat.update (ms)", delays, "p99 <= 250", UPDATE_TARGET_P99_MS))
    if run.baseline is not None:
        print_baseline(run, args)
        print_floor(run, args)
    print()
    print(f"  non-200 answers        {len(sent) - len(ok):,}{status_breakdown(sent)}")
    print(f"  answers over 3,000 ms  {over_limit:,}")
    print(f"  missing updates        {missing:,} of {len(sent):,} (no chat.update within {args.update_timeout:.0f} s)")
    print(
        f"  failed chat.update     {run.failed_updates:,}; cards posted anew instead: {run.reposted:,}; "
        f"fake Slack problems: {len(run.problems):,}"
    )
    print(f"  thread replies posted  {run.thread_replies:,} (chat.postMessage under a card, until the wait ended)")
    print(f"  work still owed        {owed_summary(run)}")
    print(
        f"  database afterwards    {run.claimed:,} claimed, {run.acknowledged:,} acknowledged, "
        f"{run.audit_events:,} audit events"
    )
    print(f"  CPU used               {cpu_summary(run)}")
    print(f"  machine                {machine_summary(run)}")
    print(f"  Heard's log            {len(run.heard_log):,} lines during the measured clicks (LOG_LEVEL=INFO)")
    for line, count in log_summary(run.heard_log)[:5]:
        print(f"    {count:>6} x {line[:160]}")
    for problem in run.problems[:5]:
        print(f"    ! {problem[:200]}")


def print_baseline(run: Run, args: argparse.Namespace) -> None:
    """The minimal app's figures, then Heard's as multiples of them: the targets are ratios within one run."""
    baseline = run.baseline
    assert baseline is not None
    delays = [delay for delay in baseline.delays if delay is not None]
    missing = len(baseline.delays) - len(delays)
    print()
    print(
        f"  minimal Bolt app (verify, ack, one chat.update; same server settings, fake Slack and clicks, just before): "
        f"{len(baseline.sent) / baseline.load_seconds:,.0f} clicks/s, {missing:,} missing updates, "
        f"{sum(1 for item in baseline.sent if item.status != 200):,} non-200, "
        f"{baseline.failed_updates:,} failed updates"
    )
    print(figures_line("HTTP response (ms)", [item.http_ms for item in baseline.sent], "", float("inf")))
    print(figures_line("click -> chat.update (ms)", delays, "", float("inf")))
    print()
    minimal_cpu = None if baseline.cpu_seconds is None else baseline.cpu_seconds * 1000 / max(1, len(baseline.sent))
    print_ratios(run, args, "Heard / minimal app", "minimal", minimal_cpu, baseline.delays)


def print_floor(run: Run, args: argparse.Namespace) -> None:
    """The durable floor's figures, then Heard's as multiples of them, judged by the same ratios as against the
    minimal app: what the click's own work (its card rendered from the database, its thread line, its clocks, its
    checks) may add to the writes any app that keeps its promises must make."""
    floor = run.floor
    if floor is None or floor.cpu_seconds is None or run.heard_cpu_seconds is None:
        return
    delays = [delay for delay in floor.delays if delay is not None]
    print()
    print(
        f"  durable floor (the minimal app plus one transaction that locks, claims, audits and marks the card, and one "
        f"that records it sent; Core statements, Heard's tables): {len(floor.sent) / floor.load_seconds:,.0f} "
        f"clicks/s, {len(floor.delays) - len(delays):,} missing updates"
    )
    print(figures_line("HTTP response (ms)", [item.http_ms for item in floor.sent], "", float("inf")))
    print(figures_line("click -> chat.update (ms)", delays, "", float("inf")))
    print()
    print_ratios(
        run, args, "Heard / durable floor", "floor", floor.cpu_seconds * 1000 / max(1, len(floor.sent)), floor.delays
    )


def print_ratios(
    run: Run,
    args: argparse.Namespace,
    title: str,
    reference: str,
    reference_cpu_ms: float | None,
    reference_delays: Sequence[float | None],
) -> None:
    """Heard's CPU per click and click -> update p99 as multiples of a reference app's in the same run, judged."""
    print(f"  {title:<28}{'Heard':>9}{reference:>9}{'ratio':>9}   target")
    if run.heard_cpu_seconds is not None and reference_cpu_ms is not None:
        heard_cpu = run.heard_cpu_seconds * 1000 / max(1, len(run.sent))
        print(ratio_line("CPU per click (ms)", heard_cpu, reference_cpu_ms, MAX_CPU_RATIO))
    if any(delay is not None for delay in run.delays) and any(delay is not None for delay in reference_delays):
        worst = args.update_timeout * 1000  # a missing update counts as the wait's whole length: it is that late
        print(
            ratio_line(
                "click -> update p99 (ms)",
                percentile([delay if delay is not None else worst for delay in run.delays], 99),
                percentile([delay if delay is not None else worst for delay in reference_delays], 99),
                MAX_UPDATE_RATIO,
            )
        )


def ratio_line(name: str, heard: float, minimal: float, target: float) -> str:
    ratio = heard / minimal if minimal > 0 else float("inf")
    verdict = "met" if ratio <= target else "MISSED"
    return f"  {name:<28}{heard:9.2f}{minimal:9.2f}{ratio:8.1f}x   at most {target:g}x{'':<29}{verdict}"


def owed_summary(run: Run) -> str:
    """What Heard still owed Slack when the measurement ended: its CPU is not in the figures above."""
    if not run.outbox_waiting:
        return "nothing: the outbox had drained"
    owed = sum(run.outbox_waiting.values())
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(run.outbox_waiting.items()))
    posts = sum(count for kind, count in run.outbox_waiting.items() if kind != "card")
    return (
        f"{owed:,} outbox rows not yet sent when the measurement ended ({kinds}); at Slack's pace of about one "
        f"chat.postMessage a second per channel that is about {posts / 60:,.0f} more minutes of posting, whose CPU "
        "is not counted above"
    )


def pacing(args: argparse.Namespace, sent: Sequence[Sent]) -> str:
    if args.rate is None:
        return "closed loop: each client sends its next click as soon as Heard answered the last one"
    late = sum(1 for item in sent if item.late)
    return (
        f"open loop at {args.rate:g} clicks/s; {late:,} clicks sent over {LATE_SECONDS * 1000:.0f} ms late "
        "because all clients were still waiting; every clock starts at the click's scheduled moment"
    )


def cpu_summary(run: Run) -> str:
    """CPU seconds from the first measured click until the last card was updated (or the wait gave up)."""
    clicks = max(1, len(run.sent))
    heard = (
        f"Heard {run.heard_cpu_seconds:.1f} s ({run.heard_cpu_seconds * 1000 / clicks:.1f} ms per click)"
        if run.heard_cpu_seconds is not None
        else "Heard: unknown (no /proc)"
    )
    return f"{heard}; this process (clients + fake Slack) {run.bench_cpu_seconds:.1f} s"


def machine_summary(run: Run) -> str:
    if run.machine_cpu_seconds is None or run.heard_cpu_seconds is None:
        return "unknown (no /proc/stat)"
    others = max(0.0, run.machine_cpu_seconds - run.heard_cpu_seconds - run.bench_cpu_seconds)
    capacity = (os.cpu_count() or 1) * run.measured_seconds
    return (
        f"{100 * run.machine_cpu_seconds / capacity:.0f}% of {os.cpu_count()} CPUs busy over "
        f"{run.measured_seconds:.1f} s; other processes (database server, anything else) {others:.1f} s CPU"
    )


def status_breakdown(sent: Sequence[Sent]) -> str:
    counts: dict[str, int] = {}
    for item in sent:
        if item.status != 200:
            key = item.error.split(":")[0] if item.error else str(item.status)
            counts[key] = counts.get(key, 0) + 1
    return f" ({', '.join(f'{key}: {count}' for key, count in sorted(counts.items()))})" if counts else ""


def print_header(args: argparse.Namespace) -> None:
    common.print_header(
        f"sizes     {args.complaints:,} complaints, {args.clicks:,} clicks, {args.clients} clients",
        heard_env=args.heard_env,
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--serve-minimal-app"]:
        serve_minimal_app(durable="--durable" in arguments)  # a baseline's child process (see MinimalAppProcess)
        return 0
    args = parse_args(argv)
    print_header(args)
    with tempfile.TemporaryDirectory(prefix="heard-bench-") as scratch:
        for url in database_urls(args, Path(scratch)):
            print()
            print(f"== {make_url(url).get_backend_name()} ".ljust(100, "="))
            try:
                run = run_one(url, args)
            except Exception as exc:
                first_line = (str(exc).strip().splitlines() or [""])[0][:500]
                print(f"benchmark failed on {safe_url(url)}: {type(exc).__name__}: {first_line}", file=sys.stderr)
                return 1
            report(run, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
