"""A burst of complaints: how fast Heard commits them all, and how the cards then drain into a rate-limited Slack.

What is measured
    Part 1, burst. Heard runs in this process (the ``Heard`` class, as ``python app.py`` builds it, with its HTTP
    server, delivery worker, scheduler and X poller) against a freshly migrated database. At one moment:

    * the X poller reads ``--x-pages`` pages of 100 posts (8,000 by default), half from the brand's mentions and
      half from the keyword search, in X API v2's documented shape (``includes.users`` with public metrics).
      X is replayed through tweepy's own ``requests`` session with ``responses`` (``tests/x_api.py``), which only
      works in the process that polls: hence Heard in-process. ``--overlap`` mentions (10) are found by the
      search too, as happens when a post both mentions the brand and matches the query;
    * ``--webhook-posts`` signed ``POST /ingest`` complaints (2,000) arrive from ``--senders`` threads (16) in a
      separate process, so the load generator does not compete with Heard for this process's GIL. ``--repeats``
      of them (10) are sent twice, the copy right behind the original, so the two usually race each other.

    The clock runs from that moment until ``SELECT count(*) FROM complaints`` (polled every 20 ms on a separate
    connection) shows every complaint committed. Target: 10,000 in <= 10 s. Then the set of (source, id) in the
    database must equal the set sent (none lost), with no extra rows, joined posts or second cards (none
    doubled); the repeats must have been answered ``200 {"duplicate": true}`` and the overlapping X posts
    recognised as duplicates by ``ingest_many``. Heard's delivery worker runs all along, as it would: it paces
    the new cards at about one per second, so in this part the fake Slack does not limit anything itself.

    Part 2, drain. A fresh database, and a fake Slack (``sandbox.fake_slack.FakeSlack``) that allows one
    ``chat.postMessage`` per second per channel with bursts of 3 and answers 429 with ``Retry-After: 1`` beyond.
    ``--cards`` complaints (200) are filed at once (one ``ingest_many`` call, as an X page is). Printed: cards
    posted per minute, the steady rate, every 429 answered (each must be honoured: the next post to the channel at
    least Retry-After later; and none lost: that card posted later), the time until the last card is posted,
    and a check that each complaint has exactly one card in the channel, whose ts the database records.
    This part takes about ``--cards`` seconds by nature.

    Seeding and start-up are not measured. This machine's CPUs are shared by Heard, the fake Slack, the webhook
    sender process and (for PostgreSQL) the database server; the CPU each used is printed.

How to run (from the repository root)
    python bench/ingest_burst.py                                  # SQLite in a temporary directory
    python bench/ingest_burst.py --postgres                       # SQLite, then PostgreSQL (WIPES heard_bench_burst)
    python bench/ingest_burst.py --database-url sqlite \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/heard_bench_burst   # WIPES that database
    python bench/ingest_burst.py --part burst --x-pages 8 --webhook-posts 200   # a smoke run of a few seconds
    python bench/ingest_burst.py --part drain --cards 20          # the drain alone, about 20 s
    python bench/ingest_burst.py --part burst --profile /tmp/burst.prof   # cProfile of Heard's threads (slower)

    Create the PostgreSQL database once with ``createdb -h 127.0.0.1 -U postgres heard_bench_burst``.

It prints figures and exits 0 even when a target is missed (or something was lost or doubled: the figures say so);
it exits 1 only when the benchmark itself failed (Heard did not start, the sender process died ...).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` is not an installed package

import responses  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from app import Heard  # noqa: E402
from bench import common  # noqa: E402
from bench.ack_latency import complaint_text, complaint_url  # noqa: E402
from bench.common import (  # noqa: E402
    FIRST_NAMES,
    LAST_NAMES,
    SOURCES,
    SenderProcess,
    captured_log,
    heard_overrides,
    log_summary,
    percentile,
    prepare_schema,
    safe_url,
    server_version,
)
from bot.config import load_settings  # noqa: E402
from bot.delivery.worker import METADATA_EVENT  # noqa: E402
from bot.platforms.base import NewComplaint  # noqa: E402
from bot.platforms.webhook import ingest as webhook  # noqa: E402
from bot.platforms.x.client import PAGE_SIZE  # noqa: E402
from bot.services import IngestResult  # noqa: E402
from sandbox.fake_slack import Call, FakeSlack  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import AuditEvent, Complaint, ComplaintPost, Delivery  # noqa: E402
from tests.conftest import BOT_TOKEN, CHANNEL, INGEST_SECRET, heard_environment  # noqa: E402
from tests.support import sign_ingest  # noqa: E402
from tests.x_api import BRAND_HANDLE, BRAND_ID, Author, FakeX, page, post  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/heard_bench_burst"
BURST_TARGET_SECONDS = 10.0
RAW_TARGET_RATIO = 2.0
COUNT_POLL_SECONDS = 0.02
# The fake Slack's limit in part 2, as Slack documents it for chat.postMessage: about 1 per second per channel.
POST_RATE = 1.0
POST_BURST = 3
RETRY_AFTER_SECONDS = 1.0
X_SETTINGS = {
    "X_BEARER_TOKEN": "AAAA-bench-bearer-token",
    "X_USER_ID": BRAND_ID,
    "X_HANDLE": BRAND_HANDLE,
    "X_QUERY": 'twitter OR "twitter support"',
    # Only the start-up poll runs by itself; the measured poll is started by hand at the burst's moment.
    "X_POLL_INTERVAL": "1h",
    # The daily read cap (10,000 by default) is not what is measured here.
    "X_MAX_READS_PER_DAY": "0",
}
WEBHOOK_SOURCES = [source for source in SOURCES if source != "x"]
SENDER_ATTEMPTS = 3
X_ID_BASE = 1_950_000_000_000_000_000
AUTHORS = 600
TIMELINE_POINTS = 30


# ---------------------------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/ingest_burst.py",
        description="Measure how fast Heard commits a burst of complaints from X and the webhook, and how the "
        "cards then drain into a Slack that allows about one chat.postMessage per second per channel.",
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
    parser.add_argument("--postgres", action="store_true", help=f"also run on {POSTGRES_URL} (WIPES that database)")
    parser.add_argument(
        "--part", choices=["burst", "drain", "both", "batch"], default="both", help="what to run (both)"
    )
    parser.add_argument("--x-pages", type=int, default=80, help="X pages of 100 posts, half mentions, half search (80)")
    parser.add_argument("--webhook-posts", type=int, default=2000, help="distinct complaints posted to /ingest (2000)")
    parser.add_argument("--overlap", type=int, default=10, help="X mentions the search finds too (10)")
    parser.add_argument("--repeats", type=int, default=10, help="webhook complaints sent twice (10)")
    parser.add_argument("--senders", type=int, default=16, help="threads posting to /ingest (16)")
    parser.add_argument("--cards", type=int, default=200, help="complaints whose cards drain in part 2 (200)")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds to wait for the burst to be committed (180)"
    )
    parser.add_argument(
        "--heard-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra setting for Heard, e.g. DELIVERY_WORKERS=8 or LOG_LEVEL=WARNING; repeatable",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="profile Heard's threads (cProfile) during the burst, write the stats to FILE and print the top; "
        "profiling makes everything several times slower, so the burst's times are then not comparable",
    )
    parser.add_argument(
        "--without-delivery",
        action="store_true",
        help="diagnosis: stop Heard's delivery worker before the burst, to see what the ingest path alone achieves "
        "(the cards are then not sent; part 2 is not affected)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed for the data (1)")
    args = parser.parse_args(argv)
    if args.x_pages < 0 or args.webhook_posts < 0 or args.x_pages * PAGE_SIZE + args.webhook_posts < 1:
        parser.error("--x-pages and --webhook-posts must not be negative, and together bring at least one complaint")
    if not 0 <= args.overlap <= (args.x_pages * PAGE_SIZE + 1) // 2:
        parser.error("--overlap must be between 0 and the number of mentions")
    if not 0 <= args.repeats <= args.webhook_posts:
        parser.error("--repeats must be between 0 and --webhook-posts")
    if args.senders < 1 or args.cards < 1 or args.timeout <= 0:
        parser.error("--senders and --cards must be at least 1, --timeout above 0")
    if any("=" not in setting for setting in args.heard_env):
        parser.error("--heard-env takes NAME=VALUE")
    return args


def database_urls(args: argparse.Namespace, scratch: Path) -> list[str]:
    wanted: list[str] = list(args.database_url) or ["sqlite"]
    if args.postgres:
        wanted.append(POSTGRES_URL)
    return [f"sqlite:///{scratch / f'heard-{n}.db'}" if url == "sqlite" else url for n, url in enumerate(wanted)]


# ---------------------------------------------------------------------------------------------------------------
# The complaints: X pages and webhook bodies


@dataclass
class Workload:
    mentions: list[dict[str, Any]]  # X pages, in the order X serves them (newest first)
    search: list[dict[str, Any]]
    x_ids: set[str]  # distinct X posts
    overlap: int  # X posts served by both feeds
    webhook_bodies: list[bytes]  # in sending order, repeats included
    webhook_keys: set[tuple[str, str]]
    repeats: int

    @property
    def expected(self) -> set[tuple[str, str]]:
        return {("x", post_id) for post_id in self.x_ids} | self.webhook_keys

    @property
    def arrivals(self) -> int:
        return len(self.x_ids) + self.overlap + len(self.webhook_bodies)


def authors(rng: random.Random, count: int = AUTHORS) -> list[Author]:
    people = []
    for number in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        followers = rng.choice([3, 40, 120, 800, 2_500, 15_000, 250_000])
        people.append(Author(str(3_100_000_000 + number), f"{first.lower()}_{number}", f"{first} {last}", followers))
    return people


def x_pages(posts: list[dict[str, Any]], people: dict[str, Author], feed: str) -> list[dict[str, Any]]:
    """Pages of up to 100 posts, newest first across pages, each with its authors in `includes.users`."""
    newest_first = sorted(posts, key=lambda p: int(p["id"]), reverse=True)
    chunks = [newest_first[start : start + PAGE_SIZE] for start in range(0, len(newest_first), PAGE_SIZE)]
    pages = []
    for number, chunk in enumerate(chunks):
        users = [people[author_id] for author_id in dict.fromkeys(p["author_id"] for p in chunk)]
        token = f"bench{feed}{number + 1:04d}" if number + 1 < len(chunks) else None
        pages.append(page(chunk, users, next_token=token))
    return pages


def build_workload(x_page_count: int, webhook_count: int, overlap: int, repeats: int, seed: int) -> Workload:
    rng = random.Random(seed)
    people = authors(rng)
    by_id = {author.id: author for author in people}
    total = x_page_count * PAGE_SIZE
    x_posts = []
    for number in range(total):
        author = rng.choice(people)
        in_mentions = number % 2 == 0
        body = complaint_text(rng)
        words = f"@{BRAND_HANDLE} {body}" if in_mentions else f"{body} twitter support, are you there?"
        # Newer ids are newer posts; all within the last 20 minutes, so no SLA nag falls due during a run.
        minutes_ago = 20.0 * (1 - number / max(1, total)) + 0.05
        x_posts.append(post(words, author, id=str(X_ID_BASE + number), minutes_ago=minutes_ago))
    mentions, search = x_posts[0::2], x_posts[1::2]
    both = rng.sample(mentions, overlap)
    workload_mentions = x_pages(mentions, by_id, "m")
    workload_search = x_pages(search + both, by_id, "s")

    bodies: list[bytes] = []
    keys: set[tuple[str, str]] = set()
    twice = set(rng.sample(range(webhook_count), repeats))
    now = datetime.now(UTC)
    for number in range(webhook_count):
        body = json.dumps(webhook_payload(rng, number, now), ensure_ascii=False).encode()
        payload = json.loads(body)
        keys.add((payload["source"], payload["id"]))
        # The copy right behind the original: two sender threads usually carry them at the same moment.
        bodies.extend([body, body] if number in twice else [body])
    return Workload(
        mentions=workload_mentions,
        search=workload_search,
        x_ids={p["id"] for p in x_posts},
        overlap=overlap,
        webhook_bodies=bodies,
        webhook_keys=keys,
        repeats=repeats,
    )


def webhook_payload(rng: random.Random, number: int, now: datetime) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    handle = f"{first.lower()}_{last[0].lower()}{rng.randint(1, 9999)}"
    source = rng.choice(WEBHOOK_SOURCES)
    posted = now - timedelta(seconds=rng.uniform(0, 20 * 60))
    payload: dict[str, Any] = {
        "source": source,
        "id": f"bench-{source}-{number}",
        "author": {"handle": handle, "name": f"{first} {last}", "id": str(rng.getrandbits(40))},
        "text": complaint_text(rng),
        "created_at": posted.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    url = complaint_url(rng, source, handle, number)
    if url:
        payload["url"] = url
    return payload


# ---------------------------------------------------------------------------------------------------------------
# The webhook sender: a separate process, so its threads do not take the GIL from Heard


def send_webhooks(
    url: str,
    secret: str,
    bodies: list[bytes],
    threads: int,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """Runs in a child process. Each thread keeps one HTTP/1.1 connection; 503 and connection errors are retried
    (as a real integration would, since Heard said nothing was stored). Puts one dict on `results`."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    numbers = iter(range(len(bodies)))
    lock = threading.Lock()
    # (index, status, duplicate, sent at, answered at, attempts) with time.monotonic(), which is system-wide.
    answers: list[tuple[int, int, bool, float, float, int]] = []
    errors: list[str] = []

    def work() -> None:
        connection: http.client.HTTPConnection | None = None
        while True:
            with lock:
                index = next(numbers, None)
            if index is None:
                break
            body = bodies[index]
            started = time.monotonic()
            status, duplicate, attempts = 0, False, 0
            while attempts < SENDER_ATTEMPTS:
                attempts += 1
                headers = {"Content-Type": "application/json", **sign_ingest(secret, body)}
                try:
                    if connection is None:
                        connection = http.client.HTTPConnection(host, port, timeout=60)
                    connection.request("POST", path, body=body, headers=headers)
                    response = connection.getresponse()
                    raw = response.read()
                    status = response.status
                    duplicate = bool(json.loads(raw).get("duplicate")) if raw else False
                    if response.will_close:
                        connection.close()
                        connection = None
                except (OSError, http.client.HTTPException, ValueError) as error:
                    status = 0
                    with lock:
                        errors.append(f"{type(error).__name__}: {error}"[:200])
                    if connection is not None:
                        connection.close()
                        connection = None
                if status not in (0, 503):
                    break
            with lock:
                answers.append((index, status, duplicate, started, time.monotonic(), attempts))
        if connection is not None:
            connection.close()

    ready.set()
    go.wait()
    cpu = time.process_time()
    workers = [threading.Thread(target=work, name=f"sender-{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put({"answers": answers, "errors": errors, "cpu_seconds": time.process_time() - cpu})


def webhook_sender(url: str, bodies: list[bytes], threads: int) -> SenderProcess:
    """The sender process, started and ready (its imports done) before the burst; `go()` releases it."""
    return SenderProcess(
        send_webhooks, (url, INGEST_SECRET, bodies, threads), name="webhook-sender", label="webhook sender"
    )


# ---------------------------------------------------------------------------------------------------------------
# Heard in this process


def log_level(args: argparse.Namespace) -> str:
    """Heard's LOG_LEVEL (INFO unless --heard-env sets it), applied to the in-memory log as app.py would."""
    return heard_overrides(args.heard_env).get("LOG_LEVEL", "INFO").upper()


def start_heard(fake: FakeSlack, url: str, args: argparse.Namespace, *, x: bool) -> Heard:
    environment = heard_environment(fake, url, **{**(X_SETTINGS if x else {}), **heard_overrides(args.heard_env)})
    heard = Heard(load_settings(environment, env_file=None), host="127.0.0.1")
    heard.start()
    return heard


class ThreadProfiles:
    """cProfile (CPU time per thread) in every thread started while installed (Heard's HTTP, delivery and
    scheduler threads), and in threads run through `wrap`. Python 3.11 cannot profile threads already running."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _begin(self, *_: object) -> None:
        # CPU time of the thread itself: in a process bound by the GIL, time spent waiting (for the GIL, a lock,
        # the database) would otherwise swamp where the CPU goes.
        profile = cProfile.Profile(time.thread_time)
        with self._lock:
            self.profiles.append(profile)
        profile.enable()  # replaces this hook for the rest of the thread

    @contextmanager
    def installed(self) -> Iterator[None]:
        threading.setprofile(self._begin)
        try:
            yield
        finally:
            threading.setprofile(None)  # type: ignore[arg-type]

    def wrap(self, target: Callable[[], None]) -> Callable[[], None]:
        def profiled() -> None:
            self._begin()
            target()

        return profiled

    def report(self, path: Path) -> None:
        stats = pstats.Stats(*self.profiles) if self.profiles else None
        if stats is None:
            print("  profile: no thread was profiled")
            return
        stats.dump_stats(str(path))
        print(f"  profile of {len(self.profiles)} threads written to {path} (python -m pstats {path})")
        for order, limit in (("tottime", 30), ("cumulative", 45)):
            out = io.StringIO()
            pstats.Stats(str(path), stream=out).strip_dirs().sort_stats(order).print_stats(limit)
            print(f"  -- top {limit} by {order} " + "-" * 60)
            for line in out.getvalue().splitlines():
                if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced")):
                    print("  " + line[:200])


# ---------------------------------------------------------------------------------------------------------------
# Part 1: the burst


@dataclass
class Burst:
    arrivals: int = 0
    expected: int = 0
    committed_seconds: float | None = None
    x_committed_seconds: float | None = None
    webhook_committed_seconds: float | None = None
    poll_seconds: float = 0.0
    webhook_seconds: float = 0.0
    committed: int = 0
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (seconds, committed) once a second
    missing: int = 0
    unexpected: int = 0
    rows: int = 0
    distinct_rows: int = 0
    joined_posts: int = 0
    cards: int = 0
    received_events: int = 0
    x_duplicates: int = 0
    x_batches: int = 0
    answers: list[tuple[int, int, bool, float, float, int]] = field(default_factory=list)
    sender_errors: list[str] = field(default_factory=list)
    sender_cpu_seconds: float = 0.0
    heard_cpu_seconds: float = 0.0
    pages: int = 0
    log: list[str] = field(default_factory=list)
    raw_seconds: float | None = None  # the same rows inserted with plain Core statements in one transaction


def fresh_database(url: str) -> None:
    """An empty, migrated database: a SQLite file is deleted first (bench.common wipes only PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
    prepare_schema(url).dispose()


def counting_engine(url: str) -> Engine:
    """A plain engine for watching: Heard's own SQLite engine takes the write lock at BEGIN, which a watcher
    polling every 20 ms must not do."""
    if make_url(url).get_backend_name() == "sqlite":
        return create_engine(url)
    return create_engine(url, pool_size=1)


def count_committed(engine: Engine) -> tuple[int, int]:
    """(all complaints, complaints from X) committed so far."""
    with engine.connect() as connection:
        total, from_x = connection.execute(
            text("SELECT count(*), coalesce(sum(CASE WHEN source = 'x' THEN 1 ELSE 0 END), 0) FROM complaints")
        ).one()
    return int(total), int(from_x)


def run_burst(url: str, args: argparse.Namespace, workload: Workload, profiles: ThreadProfiles | None) -> Burst:
    burst = Burst(arrivals=workload.arrivals, expected=len(workload.expected))
    burst.pages = len(workload.mentions) + len(workload.search)
    fresh_database(url)
    with (
        FakeSlack(bot_token=BOT_TOKEN) as fake,
        responses.RequestsMock(assert_all_requests_are_fired=False) as mock,
        captured_log(log_level(args)) as log,
    ):
        fake_x = FakeX(mock)
        with profiles.installed() if profiles else nullcontext():
            heard = start_heard(fake, url, args, x=True)
        try:
            if args.without_delivery:
                heard.delivery.stop()
            poller = heard.listener("x-poll")
            assert poller is not None
            if not poller.wait_for_polls(1, timeout=60):
                raise RuntimeError("Heard's start-up X poll did not finish")

            def counting_ingest(posts: Sequence[NewComplaint]) -> list[IngestResult]:
                # What the poller was given (Services.ingest_many), counting what it refused as duplicates.
                results = heard.services.intake.ingest_many(posts)
                burst.x_duplicates += sum(1 for result in results if result.duplicate)
                burst.x_batches += 1
                return results

            poller.ingest = counting_ingest
            for body in workload.mentions:
                fake_x.answer("mentions", body)
            for body in workload.search:
                fake_x.answer("search", body)
            sender = webhook_sender(f"http://127.0.0.1:{heard.port}/ingest", workload.webhook_bodies, args.senders)
            try:
                measure_burst(burst, heard, url, sender, workload, args, profiles)
            finally:
                sender.stop()
        finally:
            burst.log = list(log.lines)
            heard.stop()
    check_burst(burst, url, workload)
    burst.raw_seconds = raw_core_insert(url)
    return burst


def raw_core_insert(url: str) -> float:
    """The floor to compare with: the rows Heard committed (complaints, their "received" events, their card
    deliveries) read back, the database wiped, and the same rows, ids included (so no RETURNING: the cheapest
    Core can do), inserted again with three plain multi-row `insert(table)` statements in one transaction,
    through Heard's own engine settings. Returns its seconds."""
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            complaints = [dict(row) for row in session.execute(select(Complaint.__table__)).mappings()]
            events = [
                dict(row)
                for row in session.execute(
                    select(AuditEvent.__table__).where(AuditEvent.action == "received")
                ).mappings()
            ]
            cards = [
                dict(row)
                for row in session.execute(select(Delivery.__table__).where(Delivery.kind == "card")).mappings()
            ]
    finally:
        database.dispose()
    fresh_database(url)
    database = Database(url)
    try:
        started = time.monotonic()
        with database.unit_of_work() as session:
            session.execute(insert(Complaint.__table__), complaints)
            session.execute(insert(AuditEvent.__table__), events)
            session.execute(insert(Delivery.__table__), cards)
        return time.monotonic() - started
    finally:
        database.dispose()


def measure_burst(
    burst: Burst,
    heard: Heard,
    url: str,
    sender: SenderProcess,
    workload: Workload,
    args: argparse.Namespace,
    profiles: ThreadProfiles | None,
) -> None:
    poller = heard.listener("x-poll")
    assert poller is not None
    expected_x = len(workload.x_ids)
    expected_webhook = len(workload.webhook_keys)
    poll_done: list[float] = []

    def poll() -> None:
        poller.poll()
        poll_done.append(time.monotonic())

    polling = threading.Thread(target=profiles.wrap(poll) if profiles else poll, name="bench-x-poll")
    watcher = counting_engine(url)
    cpu = time.process_time()
    try:
        started = time.monotonic()
        sender.go()
        polling.start()
        next_mark = 1.0
        while True:
            total, from_x = count_committed(watcher)
            elapsed = time.monotonic() - started
            if burst.x_committed_seconds is None and from_x >= expected_x:
                burst.x_committed_seconds = elapsed
            if burst.webhook_committed_seconds is None and total - from_x >= expected_webhook:
                burst.webhook_committed_seconds = elapsed
            while elapsed >= next_mark:
                burst.timeline.append((next_mark, total))
                next_mark += 1.0
            if total >= burst.expected:
                burst.committed_seconds = elapsed
                break
            if elapsed > args.timeout:
                break
            time.sleep(COUNT_POLL_SECONDS)
        burst.committed = total
        polling.join(max(1.0, args.timeout - (time.monotonic() - started)))
        found = sender.results(timeout=max(10.0, args.timeout - (time.monotonic() - started)))
    finally:
        watcher.dispose()
    burst.heard_cpu_seconds = time.process_time() - cpu  # Heard, the fake Slack and X, and this watcher
    burst.poll_seconds = (poll_done[0] - started) if poll_done else float("nan")
    burst.answers = found["answers"]
    burst.sender_errors = found["errors"]
    burst.sender_cpu_seconds = found["cpu_seconds"]
    burst.webhook_seconds = max((answer[4] for answer in burst.answers), default=started) - started
    if polling.is_alive():
        raise RuntimeError("the X poll did not finish in time")


def check_burst(burst: Burst, url: str, workload: Workload) -> None:
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            rows = session.execute(select(Complaint.source, Complaint.external_id)).all()
            burst.joined_posts = session.scalar(select(func.count()).select_from(ComplaintPost)) or 0
            burst.cards = session.scalar(select(func.count()).where(Delivery.kind == "card")) or 0
            burst.received_events = session.scalar(select(func.count()).where(AuditEvent.action == "received")) or 0
    finally:
        database.dispose()
    found = {(str(source), str(external_id)) for source, external_id in rows}
    burst.rows = len(rows)
    burst.distinct_rows = len(found)
    burst.missing = len(workload.expected - found)
    burst.unexpected = len(found - workload.expected)


def run_batch(url: str, args: argparse.Namespace) -> tuple[int, float, float]:
    """Part "batch": as many webhook complaints as the burst brings, filed by one `ingest_many` call (Heard's
    delivery worker stopped, so only filing is timed), then the same rows inserted with raw Core statements.
    Returns (complaints, ingest seconds, raw Core seconds)."""
    fresh_database(url)
    count = args.x_pages * PAGE_SIZE + args.webhook_posts
    rng = random.Random(args.seed + 2)
    now = datetime.now(UTC)
    posts = [webhook.parse(json.dumps(webhook_payload(rng, number, now)).encode()) for number in range(count)]
    with FakeSlack(bot_token=BOT_TOKEN) as fake, captured_log(log_level(args)):
        heard = start_heard(fake, url, args, x=False)
        try:
            heard.delivery.stop()
            profiler = cProfile.Profile() if args.profile else None
            started = time.monotonic()
            if profiler is not None:
                profiler.enable()
            heard.services.intake.ingest_many(posts)
            if profiler is not None:
                profiler.disable()
            seconds = time.monotonic() - started
        finally:
            heard.stop()
    if profiler is not None:
        profiler.dump_stats(args.profile)
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(25)
    return count, seconds, raw_core_insert(url)


def report_batch(count: int, seconds: float, raw: float, profiled: bool) -> None:
    print(f"  batch         {count:,} webhook complaints filed by one ingest_many call (delivery worker stopped)")
    if profiled:
        print("  PROFILED: cProfile slows Heard several times; these times are not the benchmark's figures")
    print()
    row("figure", "value", "target", "")
    row(
        f"ingest_many of {count:,}",
        f"{seconds:.2f} s",
        f"<= {BURST_TARGET_SECONDS:.0f} s",
        "met" if seconds <= BURST_TARGET_SECONDS else "MISSED",
    )
    row("raw Core insert of the same rows", f"{raw:.2f} s")
    ratio = seconds / raw
    row(
        "ingest_many / raw Core",
        f"{ratio:.1f}x",
        f"<= {RAW_TARGET_RATIO:g}x",
        "met" if ratio <= RAW_TARGET_RATIO else "MISSED",
    )


# ---------------------------------------------------------------------------------------------------------------
# Part 2: the drain


@dataclass
class Drain:
    cards: int = 0
    ingest_seconds: float = 0.0
    posted_at: list[float] = field(default_factory=list)  # seconds after the ingest began, per card, in order
    rate_limited: list[Call] = field(default_factory=list)
    honoured: int = 0
    shortest_wait: float | None = None
    recovered: int = 0
    doubled: int = 0
    missing: int = 0
    other_posts: int = 0
    ts_mismatch: int = 0
    not_done: int = 0
    problems: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    heard_cpu_seconds: float = 0.0


def card_key(call: Call) -> str | None:
    metadata = call.args.get("metadata") or {}
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return str(key) if isinstance(key, str) and key.startswith("card:") else None


def is_card_post(call: Call) -> bool:
    return call.args.get("channel") == CHANNEL and not call.args.get("thread_ts") and card_key(call) is not None


def posted_card(call: Call) -> bool:
    return call.ok and is_card_post(call)


def run_drain(url: str, args: argparse.Namespace) -> Drain:
    drain = Drain(cards=args.cards)
    fresh_database(url)
    rng = random.Random(args.seed + 1)
    now = datetime.now(UTC)
    complaints = [webhook.parse(json.dumps(webhook_payload(rng, number, now)).encode()) for number in range(args.cards)]
    with (
        FakeSlack(bot_token=BOT_TOKEN, post_message_rate=POST_RATE, burst=POST_BURST) as fake,
        captured_log(log_level(args)) as log,
    ):
        heard = start_heard(fake, url, args, x=False)
        try:
            cpu = time.process_time()
            started = time.monotonic()
            heard.services.intake.ingest_many(complaints)
            drain.ingest_seconds = time.monotonic() - started
            ideal = (args.cards - POST_BURST) / POST_RATE
            with suppress(AssertionError):  # reported as missing cards
                fake.wait_for("chat.postMessage", count=args.cards, timeout=ideal * 1.5 + 60, where=posted_card)
            time.sleep(2.0)  # a card posted twice would show up now
            drain.heard_cpu_seconds = time.process_time() - cpu
        finally:
            drain.log = list(log.lines)
            heard.stop()
        calls = sorted(fake.calls_to("chat.postMessage"), key=lambda call: call.at)
        messages = fake.messages(CHANNEL)
        drain.problems = fake.problems
    analyse_drain(drain, calls, messages, started, url)
    return drain


def analyse_drain(drain: Drain, calls: list[Call], messages: list[dict[str, Any]], started: float, url: str) -> None:
    to_channel = [call for call in calls if call.args.get("channel") == CHANNEL]
    cards = [call for call in to_channel if call.ok and is_card_post(call)]
    drain.posted_at = [call.at - started for call in cards]
    drain.other_posts = sum(1 for call in calls if call.ok and not is_card_post(call))
    drain.rate_limited = [call for call in to_channel if call.status == 429]
    waits = []
    for limited in drain.rate_limited:
        later = [call.at for call in to_channel if call.at > limited.at]
        wait = (later[0] - limited.at) if later else None
        if wait is None or wait >= RETRY_AFTER_SECONDS:
            drain.honoured += 1
        if wait is not None:
            waits.append(wait)
        key = card_key(limited)
        if any(card_key(call) == key and call.at > limited.at for call in cards):
            drain.recovered += 1
    drain.shortest_wait = min(waits) if waits else None

    in_channel: dict[str, list[str]] = {}
    for message in messages:
        metadata = message.get("metadata") or {}
        key = (metadata.get("event_payload") or {}).get("key")
        if metadata.get("event_type") == METADATA_EVENT and isinstance(key, str) and key.startswith("card:"):
            in_channel.setdefault(key, []).append(str(message["ts"]))
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            stored = session.execute(select(Complaint.id, Complaint.slack_ts)).all()
            drain.not_done = (
                session.scalar(select(func.count()).where(Delivery.kind == "card", Delivery.status != "done")) or 0
            )
    finally:
        database.dispose()
    drain.doubled = sum(len(ts) - 1 for ts in in_channel.values() if len(ts) > 1)
    drain.missing = sum(1 for complaint_id, _ in stored if f"card:{complaint_id}" not in in_channel)
    drain.ts_mismatch = sum(
        1
        for complaint_id, slack_ts in stored
        if f"card:{complaint_id}" in in_channel and in_channel[f"card:{complaint_id}"] != [slack_ts]
    )


# ---------------------------------------------------------------------------------------------------------------
# Report


def row(name: str, value: str, target: str = "", verdict: str = "") -> None:
    print(f"  {name:<40}{value:<30}{target:<26}{verdict}")


def report_burst(burst: Burst, workload: Workload, args: argparse.Namespace, profiled: bool) -> None:
    statuses: dict[str, int] = {}
    for _, status, duplicate, *_rest in burst.answers:
        key = f"{status}{' duplicate' if duplicate else ''}"
        statuses[key] = statuses.get(key, 0) + 1
    retried = sum(1 for answer in burst.answers if answer[5] > 1)
    answer_ms = [(answer[4] - answer[3]) * 1000 for answer in burst.answers]
    webhook_duplicates = statuses.get("200 duplicate", 0)
    x_posts = len(workload.x_ids)
    print(
        f"  burst         {burst.arrivals:,} arrivals = {x_posts + workload.overlap:,} X posts in {burst.pages} pages "
        f"({len(workload.mentions)} mentions, {len(workload.search)} search; {workload.overlap} posts in both) + "
        f"{len(workload.webhook_bodies):,} webhook posts ({workload.repeats} sent twice) from {args.senders} threads "
        "in another process"
    )
    if args.without_delivery:
        print("  DIAGNOSIS: Heard's delivery worker was stopped during this burst (--without-delivery)")
    if profiled:
        print("  PROFILED: cProfile slows Heard several times; these times are not the benchmark's figures")
    print()
    row("figure", "value", "target", "")
    committed = burst.committed_seconds
    verdict = "met" if committed is not None and committed <= BURST_TARGET_SECONDS else "MISSED"
    row(
        f"all {burst.expected:,} committed after",
        f"{committed:.2f} s" if committed is not None else f"not within {args.timeout:.0f} s",
        f"<= {BURST_TARGET_SECONDS:.0f} s",
        verdict,
    )
    if committed and burst.raw_seconds:
        ratio = committed / burst.raw_seconds
        row(
            "  / raw Core insert of the same rows",
            f"{ratio:.1f}x ({burst.raw_seconds:.2f} s)",
            "<= 2x",
            "met" if ratio <= RAW_TARGET_RATIO else "MISSED",
        )
    if committed:
        row("ingest rate", f"{burst.expected / committed:,.0f} complaints/s", f">= {burst.expected / 10:,.0f}/s")
    row("  X posts committed after", seconds(burst.x_committed_seconds), f"{x_posts:,} from {burst.pages} pages")
    row("  X poll finished after", seconds(burst.poll_seconds), f"{burst.x_batches} ingest_many calls")
    row("  webhook posts committed after", seconds(burst.webhook_committed_seconds), f"{len(workload.webhook_keys):,}")
    row("  last webhook answer after", seconds(burst.webhook_seconds))
    if answer_ms:
        row(
            "  webhook answer time p50 / p99 / max",
            f"{percentile(answer_ms, 50):.0f} / {percentile(answer_ms, 99):.0f} / {max(answer_ms):.0f} ms",
        )
    step = max(1, -(-len(burst.timeline) // TIMELINE_POINTS))
    marks = burst.timeline[step - 1 :: step]
    print(f"  {f'committed at every {step} s':<40}" + " ".join(f"{n:,}" for _, n in marks))
    print()
    lost_ok = burst.missing == 0 and burst.committed >= burst.expected
    row("committed / expected", f"{burst.rows:,} / {burst.expected:,}", "equal", "met" if lost_ok else "MISSED")
    row("lost (expected, not in the database)", f"{burst.missing:,}", "0", "met" if burst.missing == 0 else "MISSED")
    doubled = (burst.rows - burst.distinct_rows) + burst.unexpected + burst.joined_posts
    doubled += abs(burst.cards - burst.rows) + abs(burst.received_events - burst.rows)
    row(
        "doubled (extra rows, cards, events)",
        f"{doubled:,}",
        "0",
        "met" if doubled == 0 else "MISSED",
    )
    row(
        "duplicates refused",
        f"{burst.x_duplicates} X + {webhook_duplicates} webhook",
        f"{workload.overlap} X + {workload.repeats} webhook",
        "met" if (burst.x_duplicates, webhook_duplicates) == (workload.overlap, workload.repeats) else "MISSED",
    )
    answers = ", ".join(f"{key}: {count:,}" for key, count in sorted(statuses.items()))
    row("webhook answers", answers + (f"; {retried} retried" if retried else ""))
    for error in burst.sender_errors[:3]:
        print(f"    ! sender: {error}")
    print(
        f"  CPU used      this process (Heard, fake X and Slack, the watcher) {burst.heard_cpu_seconds:.1f} s; "
        f"sender process {burst.sender_cpu_seconds:.1f} s; {os.cpu_count()} CPUs x "
        f"{(committed or args.timeout):.1f} s = {(os.cpu_count() or 1) * (committed or args.timeout):.1f} s available"
    )
    print_log(burst.log)


def report_drain(drain: Drain) -> None:
    posted = drain.posted_at
    per_minute: list[int] = []
    for at in posted:
        minute = int(at // 60)
        per_minute.extend([0] * (minute + 1 - len(per_minute)))
        per_minute[minute] += 1
    print(
        f"  drain         {drain.cards:,} complaints filed at once (one ingest_many, {drain.ingest_seconds * 1000:.0f} "
        f"ms); the fake Slack allows {POST_RATE:g} chat.postMessage/s per channel, bursts of {POST_BURST}, "
        f"429 with Retry-After: {RETRY_AFTER_SECONDS:.0f} beyond"
    )
    print()
    row("figure", "value", "target", "")
    row("cards posted", f"{len(posted):,} of {drain.cards:,}", "all", "met" if len(posted) == drain.cards else "MISSED")
    row("posted per minute (minute 1, 2, ...)", ", ".join(str(count) for count in per_minute) or "-", "~60")
    if len(posted) > POST_BURST:
        steady = (len(posted) - POST_BURST) / (posted[-1] - posted[POST_BURST - 1]) * 60
        row("steady rate (after the first burst)", f"{steady:.1f} cards/min", f"<= {POST_RATE * 60:.0f}")
    if posted:
        row("first card posted after", f"{posted[0]:.2f} s")
        ideal = (drain.cards - POST_BURST) / POST_RATE
        row(f"last of {len(posted):,} cards posted after", f"{posted[-1]:.1f} s", f"~{ideal:.0f} s (the limit)")
    limited = len(drain.rate_limited)
    row(
        "429s answered",
        f"{limited}",
        "few; Heard paces itself",
    )
    if limited:
        shortest = f"; shortest wait {drain.shortest_wait:.2f} s" if drain.shortest_wait is not None else ""
        row(
            "  honoured (next post >= Retry-After)",
            f"{drain.honoured} of {limited}{shortest}",
            "all",
            "met" if drain.honoured == limited else "MISSED",
        )
        row("  card posted later (none lost)", f"{drain.recovered} of {limited}", "all", _met(drain.recovered, limited))
    row("cards doubled in the channel", f"{drain.doubled}", "0", _met(drain.doubled, 0))
    row("complaints without a card", f"{drain.missing}", "0", _met(drain.missing, 0))
    row("slack_ts differs from the card's ts", f"{drain.ts_mismatch}", "0", _met(drain.ts_mismatch, 0))
    row("card deliveries not done", f"{drain.not_done}", "0", _met(drain.not_done, 0))
    row("other chat.postMessage (not cards)", f"{drain.other_posts}")
    print(f"  CPU used      this process (Heard and the fake Slack) {drain.heard_cpu_seconds:.1f} s")
    for problem in drain.problems[:5]:
        print(f"    ! fake Slack: {problem[:200]}")
    print_log(drain.log)


def _met(value: int, wanted: int) -> str:
    return "met" if value == wanted else "MISSED"


def seconds(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.2f} s"


def print_log(lines: Sequence[str]) -> None:
    print(f"  Heard's log   {len(lines):,} lines (LOG_LEVEL=INFO unless --heard-env says otherwise)")
    for line, count in log_summary(lines)[:6]:
        print(f"    {count:>6} x {line[:160]}")


def print_header(args: argparse.Namespace) -> None:
    details = []
    if args.part in ("burst", "both"):
        details.append(
            f"burst     {args.x_pages} X pages x {PAGE_SIZE} + {args.webhook_posts:,} webhook posts "
            f"({args.overlap} X overlaps, {args.repeats} webhook repeats, {args.senders} sender threads)"
        )
    if args.part in ("drain", "both"):
        details.append(f"drain     {args.cards:,} cards at {POST_RATE:g}/s per channel, bursts of {POST_BURST}")
    if args.without_delivery:
        details.append("diagnosis --without-delivery: the delivery worker is stopped during the burst")
    common.print_header(*details, heard_env=args.heard_env)


def describe_failure(url: str, exc: Exception) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0][:500]
    message = f"benchmark failed on {safe_url(url)}: {type(exc).__name__}: {first_line}"
    parsed = make_url(url)
    if isinstance(exc, OperationalError) and "does not exist" in str(exc) and parsed.database:
        host, user = parsed.host or "127.0.0.1", parsed.username or "postgres"
        message += f"\n  create it first: createdb -h {host} -U {user} {parsed.database}"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print_header(args)
    with tempfile.TemporaryDirectory(prefix="heard-bench-") as scratch:
        for url in database_urls(args, Path(scratch)):
            print()
            print(f"== {make_url(url).get_backend_name()} ".ljust(110, "="))
            try:
                database = Database(url)
                try:
                    print(f"  database      {safe_url(url)} ({server_version(database)})")
                finally:
                    database.dispose()
                if args.part in ("burst", "both"):
                    # Built for each run: the posts' times are relative to now, so no SLA nag falls due during it.
                    workload = build_workload(args.x_pages, args.webhook_posts, args.overlap, args.repeats, args.seed)
                    profiles = ThreadProfiles() if args.profile else None
                    burst = run_burst(url, args, workload, profiles)
                    report_burst(burst, workload, args, profiled=profiles is not None)
                    if profiles is not None:
                        profiles.report(args.profile)
                if args.part == "batch":
                    report_batch(*run_batch(url, args), profiled=args.profile is not None)
                if args.part in ("drain", "both"):
                    if args.part == "both":
                        print()
                    report_drain(run_drain(url, args))
            except Exception as exc:
                print(describe_failure(url, exc), file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
