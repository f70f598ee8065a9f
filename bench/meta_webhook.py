"""Meta's webhook under a steady stream: how fast `POST /webhooks/meta` answers at a fixed delivery rate, whether
every comment is filed exactly once, and how much card work is left owed when the stream stops.

What is measured
    A fake Graph API (``sandbox.fake_graph.FakeGraph``) holds a Facebook Page; ``META_GRAPH_URL`` points at it, so
    Heard's backfill poller makes its start-up read there (``META_POLL_INTERVAL=1h``: no other read during a run).
    Heard runs in this process (the ``Heard`` class, as ``python app.py`` builds it: HTTP server, delivery worker,
    scheduler, Meta backfill) against a fake Slack (``sandbox.fake_slack.FakeSlack``) and a freshly migrated
    database. Once the start-up poll is done, the Page gets its new comments and each is turned into the Page
    ``feed`` delivery Meta would send (``FakeGraph.webhook_delivery_for``; ``--comments-per-delivery`` changes in
    one entry), signed with the app secret (``X-Hub-Signature-256``).

    The deliveries are sent open loop: delivery i is due at ``start + i / --rate`` whatever happened to the ones
    before, for ``--seconds``, from ``--senders`` threads (each with one keep-alive connection) in a separate
    process, so the load generator does not compete with Heard for this process's GIL. A share of them
    (``--redeliveries``, 5 %) are redeliveries of an earlier body, byte for byte, as Meta redelivers: half right
    behind the original (the two race each other), half 1 to 10 s later.

    * Answer time: from the delivery's SCHEDULED moment to the end of Heard's answer. A sender that is late
      because Heard kept every thread waiting therefore counts that wait (no coordinated omission). How late the
      senders themselves were is printed too: if that is large while Heard answers fast, the generator was short.
      The figure to report: the p99 at 50 deliveries/s (Meta asks for a fast 200 and redelivers what is not
      answered), next to the /ingest baseline's.
    * Achieved rate, and every answer that was not 200.
    * Exactly once: the Page comments sent vs the Facebook complaints committed (lost: sent, not in the database;
      doubled: extra rows, joined posts, card outbox rows or "received" events beyond one per complaint, and
      cards seen twice in the fake Slack). Both must be 0. Every comment is top-level, so no post may join
      another: a joined post that is also a complaint is a comment filed twice (its card, and again in its thread).
    * Work still owed: the card outbox rows not yet done when the last answer came back, and how long delivery
      then takes to post them. Heard paces chat.postMessage at about one per second per channel, as Slack asks,
      so cards drain at ~1/s whatever the intake rate: the wait is bounded by ``--drain-timeout`` and what is
      left is projected at the observed drain rate.

    Baseline, in the same run: a fresh database and a fresh Heard (same settings, same fakes), then the same
    number of signed ``POST /ingest`` requests (the generic webhook, one complaint each, the same repeats) at the
    same rate and on the same schedule; its answer-time p99 and the ratio webhook p99 / ingest p99. With
    ``--comments-per-delivery`` above 1 a Meta delivery carries more complaints than an /ingest request.

    ``--warmup`` deliveries (and /ingest requests) go first, one at a time, and are not timed (they are counted
    in the exactly-once checks). This machine's CPUs are shared by Heard, the fakes, the sender process and (for
    PostgreSQL) the database server; the CPU each used is printed.

How to run (from the repository root)
    python bench/meta_webhook.py                                  # SQLite in a temporary directory, ~2.5 min
    python bench/meta_webhook.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test   # WIPES it
    python bench/meta_webhook.py --postgres                       # SQLite, then PostgreSQL "test" (WIPED)
    python bench/meta_webhook.py --seconds 10 --rate 20           # a smoke run
    python bench/meta_webhook.py --comments-per-delivery 5 --no-baseline
    python bench/meta_webhook.py --baseline-first                 # /ingest first: does the order matter?

It prints figures and exits 0 even when a target is missed or something was lost or doubled (the figures say
so); it exits 1 only when the benchmark itself failed (Heard did not start, the sender process died ...).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` is not an installed package

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from app import Heard  # noqa: E402
from bench import common  # noqa: E402
from bench.ack_latency import complaint_text, machine_busy_seconds  # noqa: E402
from bench.common import (  # noqa: E402
    FIRST_NAMES,
    LAST_NAMES,
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
from sandbox.fake_graph import FakeGraph, sign  # noqa: E402
from sandbox.fake_slack import FakeSlack  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import AuditEvent, Complaint, ComplaintPost, Delivery  # noqa: E402
from tests.conftest import BOT_TOKEN, CHANNEL, INGEST_SECRET, heard_environment  # noqa: E402
from tests.support import sign_ingest  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WEBHOOK_PATH = "/webhooks/meta"
INGEST_PATH = "/ingest"
SOURCE = "facebook"
VERIFY_TOKEN = "bench-verify-token-0123456789abcdef"
TARGET_RATE = 50.0
POSTS = 20  # Page posts the comments are spread over
AUTHORS = 600
SEND_LEAD_SECONDS = 0.5  # between "go" and the first scheduled delivery, so every sender thread is waiting
REQUEST_TIMEOUT_SECONDS = 30.0
OWED_POLL_SECONDS = 0.25


# ---------------------------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/meta_webhook.py",
        description="Send signed Meta Page feed deliveries to Heard's /webhooks/meta at a fixed open-loop rate; "
        "print the answer times (from each delivery's scheduled moment), lost and doubled complaints, the card "
        "work still owed, and the same figures for /ingest at the same rate as a baseline.",
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
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="deliveries per second (50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to send (60)")
    parser.add_argument("--comments-per-delivery", type=int, default=1, help="Page comments in each delivery (1)")
    parser.add_argument(
        "--redeliveries", type=float, default=0.05, help="share of the deliveries that repeat an earlier one (0.05)"
    )
    parser.add_argument("--senders", type=int, default=32, help="sender threads, one connection each (32)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed deliveries sent one at a time first (20)")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        help="seconds to watch the card outbox drain after sending stops; the rest is projected (30)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the /ingest baseline")
    parser.add_argument(
        "--baseline-first", action="store_true", help="run the /ingest baseline before the Meta stream, not after"
    )
    parser.add_argument(
        "--heard-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra setting for Heard, e.g. DELIVERY_WORKERS=8 or LOG_LEVEL=WARNING; repeatable",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed for the data (1)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0:
        parser.error("--rate and --seconds must be above 0")
    if args.comments_per_delivery < 1 or args.senders < 1 or args.warmup < 0 or args.drain_timeout < 0:
        parser.error("--comments-per-delivery and --senders must be at least 1, --warmup and --drain-timeout >= 0")
    if not 0 <= args.redeliveries < 1:
        parser.error("--redeliveries must be in [0, 1)")
    if round(args.rate * args.seconds) < 2:
        parser.error("--rate x --seconds must make at least 2 deliveries")
    if any("=" not in setting for setting in args.heard_env):
        parser.error("--heard-env takes NAME=VALUE")
    return args


def database_urls(args: argparse.Namespace, scratch: Path) -> list[str]:
    wanted: list[str] = list(args.database_url) or ["sqlite"]
    if args.postgres:
        wanted.append(POSTGRES_URL)
    return [f"sqlite:///{scratch / f'heard-{n}.db'}" if url == "sqlite" else url for n, url in enumerate(wanted)]


# ---------------------------------------------------------------------------------------------------------------
# The schedule: which body goes at which slot


@dataclass
class Schedule:
    order: list[int]  # per slot, the index of the body sent then
    distinct: int  # bodies
    repeats: int  # slots that repeat an earlier body
    right_behind: int  # of which the very next slot after the original


def build_schedule(total: int, share: float, rate: float, rng: random.Random) -> Schedule:
    """`total` slots; about `share` of them repeat an earlier body: half in the very next slot (a race with the
    original), half 1 to 10 s later (as Meta's redeliveries come)."""
    repeats = min(round(total * share), total // 2)
    distinct = total - repeats
    originals = rng.sample(range(distinct), repeats)
    keyed: list[tuple[float, int]] = [(float(slot), slot) for slot in range(distinct)]
    right_behind = 0
    for number, original in enumerate(originals):
        if number % 2 == 0:
            offset = 0.5
            right_behind += 1
        else:
            offset = rng.uniform(rate * 1.0, rate * 10.0)
        keyed.append((original + offset, original))
    keyed.sort()
    return Schedule(order=[body for _, body in keyed], distinct=distinct, repeats=repeats, right_behind=right_behind)


# ---------------------------------------------------------------------------------------------------------------
# The sender: a separate process, so its threads do not take the GIL from Heard


@dataclass(frozen=True)
class Answer:
    slot: int
    due: float  # time.monotonic() (system-wide on Linux) of the scheduled moment
    sent: float
    answered: float
    status: int
    error: str = ""


def send_open_loop(
    url: str,
    kind: str,
    bodies: list[bytes],
    signatures: list[str],
    order: list[int],
    rate: float,
    threads: int,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """Runs in a child process. Slot i is due at start + i / rate; each thread takes the next slot, waits for its
    moment and sends it on the thread's keep-alive connection. Nothing is retried (a non-200 is a figure)."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    slots = iter(range(len(order)))
    lock = threading.Lock()
    answers: list[Answer] = []

    def headers_for(index: int) -> dict[str, str]:
        if kind == "meta":
            return {"Content-Type": "application/json", "X-Hub-Signature-256": signatures[index]}
        return {"Content-Type": "application/json", **sign_ingest(INGEST_SECRET, bodies[index])}

    def work(start: float) -> None:
        connection: http.client.HTTPConnection | None = None
        while True:
            with lock:
                slot = next(slots, None)
            if slot is None:
                break
            due = start + slot / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            index = order[slot]
            sent = time.monotonic()
            status, error = 0, ""
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_SECONDS)
                connection.request("POST", path, body=bodies[index], headers=headers_for(index))
                response = connection.getresponse()
                raw = response.read()
                status = response.status
                if status not in (200, 202):
                    error = raw.decode("utf-8", "replace")[:200]
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"[:200]
                if connection is not None:
                    connection.close()
                    connection = None
            answered = time.monotonic()
            with lock:
                answers.append(Answer(slot, due, sent, answered, status, error))
        if connection is not None:
            connection.close()

    ready.set()
    go.wait()
    cpu = time.process_time()
    start = time.monotonic() + SEND_LEAD_SECONDS
    workers = [threading.Thread(target=work, args=(start,), name=f"sender-{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put({"answers": answers, "start": start, "cpu_seconds": time.process_time() - cpu})


def open_loop_sender(
    url: str, kind: str, bodies: list[bytes], signatures: list[str], order: list[int], args: Any
) -> SenderProcess:
    """The sender process, started and ready (its imports done) before the stream; `go()` releases it."""
    return SenderProcess(
        send_open_loop,
        (url, kind, bodies, signatures, order, args.rate, args.senders),
        name=f"{kind}-sender",
        label="sender",
    )


# ---------------------------------------------------------------------------------------------------------------
# Heard in this process


def start_heard(fake: FakeSlack, graph: FakeGraph, url: str, args: argparse.Namespace) -> Heard:
    assert graph.app_secret is not None
    meta = {
        "META_APP_SECRET": graph.app_secret,
        "META_VERIFY_TOKEN": VERIFY_TOKEN,
        "META_PAGE_ID": graph.page_id,
        "META_PAGE_TOKEN": graph.token,
        "META_GRAPH_URL": graph.graph_url,
        # Only the start-up read runs during a run.
        "META_POLL_INTERVAL": "1h",
    }
    environment = heard_environment(fake, url, **{**meta, **heard_overrides(args.heard_env)})
    heard = Heard(load_settings(environment, env_file=None), host="127.0.0.1")
    heard.start()
    backfill = heard.listener("meta-backfill")
    if backfill is None:
        heard.stop()
        raise RuntimeError("Heard did not set up the Meta backfill: are the META_* settings read?")
    if not backfill.wait_for_polls(1, timeout=60):  # type: ignore[attr-defined]
        heard.stop()
        raise RuntimeError("Heard's start-up Meta backfill did not finish within 60 s")
    return heard


def fresh_database(url: str) -> None:
    """An empty, migrated database: a SQLite file is deleted first (bench.common wipes only PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
    prepare_schema(url).dispose()


def watching_engine(url: str) -> Engine:
    """A plain engine for reading: Heard's own SQLite engine takes the write lock at BEGIN, which a watcher must
    not do."""
    if make_url(url).get_backend_name() == "sqlite":
        return create_engine(url)
    return create_engine(url, pool_size=1)


def owed(engine: Engine) -> tuple[int, int]:
    """(card outbox rows not done, all outbox rows not done)."""
    with engine.connect() as connection:
        cards, everything = connection.execute(
            text(
                "SELECT coalesce(sum(CASE WHEN kind = 'card' THEN 1 ELSE 0 END), 0), count(*) "
                "FROM deliveries WHERE status <> 'done'"
            )
        ).one()
    return int(cards), int(everything)


# ---------------------------------------------------------------------------------------------------------------
# One stream (Meta deliveries, or the /ingest baseline)


@dataclass
class Stream:
    kind: str  # "meta" or "ingest"
    slots: int = 0
    distinct_bodies: int = 0
    repeats: int = 0
    right_behind: int = 0
    comments: set[str] = field(default_factory=set)  # external ids sent (timed and warm-up)
    warmup: int = 0
    order: list[int] = field(default_factory=list)  # per timed slot, the timed body sent (see Schedule)
    warmup_statuses: list[int] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    start: float = 0.0
    sender_cpu_seconds: float = 0.0
    heard_cpu_seconds: float = 0.0
    machine_cpu_seconds: float | None = None  # every process on the machine, over the same window
    postgres_cpu_seconds: float | None = None  # the local PostgreSQL server's processes, over the same window
    stopped_after: float = 0.0  # last answer, seconds after the first due moment
    owed_cards_at_stop: int = 0
    owed_all_at_stop: int = 0
    drain_seconds: float | None = None  # until no card was owed
    drain_watched: float = 0.0
    owed_cards_at_end: int = 0
    owed_all_at_end: int = 0
    rows: int = 0
    distinct_rows: int = 0
    lost: int = 0
    lost_answered_200: int = 0
    unexpected: int = 0
    joined_posts: int = 0
    also_joined: int = 0  # of which the post is a complaint too
    card_rows: int = 0
    received_events: int = 0
    cards_in_slack: int = 0
    cards_doubled_in_slack: int = 0
    graph_calls_while_sending: int = 0
    log: list[str] = field(default_factory=list)

    def latencies_ms(self) -> list[float]:
        return [(answer.answered - answer.due) * 1000 for answer in self.answers]

    @property
    def doubled(self) -> int:
        extra = (self.rows - self.distinct_rows) + self.unexpected + self.joined_posts
        extra += abs(self.card_rows - self.rows) + abs(self.received_events - self.rows)
        return extra + self.cards_doubled_in_slack


def page_comments(graph: FakeGraph, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` new top-level comments on the Page's posts, by customers (never the Page)."""
    posts = [graph.add_post(f"Acme update #{number}") for number in range(POSTS)]
    people = [
        (str(5_550_000_000 + number), f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
        for number in range(AUTHORS)
    ]
    comments = []
    for _ in range(count):
        person_id, name = rng.choice(people)
        comments.append(graph.add_comment(rng.choice(posts)["id"], person_id, name, complaint_text(rng)))
    return comments


def meta_bodies(graph: FakeGraph, comments: list[dict[str, Any]], per_delivery: int) -> tuple[list[bytes], list[str]]:
    """Page feed deliveries of `per_delivery` comments each (one entry, its changes in order), signed."""
    bodies, signatures = [], []
    assert graph.app_secret is not None
    for start in range(0, len(comments), per_delivery):
        deliveries = [graph.webhook_delivery_for(comment) for comment in comments[start : start + per_delivery]]
        delivery = deliveries[0]
        delivery["entry"][0]["changes"] = [change for d in deliveries for change in d["entry"][0]["changes"]]
        body = json.dumps(delivery).encode()
        bodies.append(body)
        signatures.append(sign(body, graph.app_secret))
    return bodies, signatures


def ingest_bodies(count: int, rng: random.Random, prefix: str) -> tuple[list[bytes], list[str]]:
    """`count` /ingest complaints from the same source as the comments; signed when sent (the signature has a
    timestamp)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    bodies = []
    for number in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        payload = {
            "source": SOURCE,
            "id": f"{prefix}-{number}",
            "author": {"handle": f"{first} {last}", "name": f"{first} {last}", "id": str(5_550_000_000 + number)},
            "text": complaint_text(rng),
            "url": f"https://www.facebook.com/1000000000000001/posts/{number}/?comment_id={number}",
            "created_at": now,
        }
        bodies.append(json.dumps(payload, ensure_ascii=False).encode())
    return bodies, [""] * count


def body_ids(kind: str, body: bytes) -> list[str]:
    document = json.loads(body)
    if kind == "ingest":
        return [str(document["id"])]
    return [str(change["value"]["comment_id"]) for entry in document["entry"] for change in entry["changes"]]


def post_one(port: int, kind: str, body: bytes, signature: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        headers = {"Content-Type": "application/json"}
        if kind == "meta":
            headers["X-Hub-Signature-256"] = signature
        else:
            headers.update(sign_ingest(INGEST_SECRET, body))
        connection.request("POST", WEBHOOK_PATH if kind == "meta" else INGEST_PATH, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def run_stream(kind: str, url: str, args: argparse.Namespace) -> Stream:
    stream = Stream(kind)
    rng = random.Random(args.seed + (0 if kind == "meta" else 1))
    slots = round(args.rate * args.seconds)
    schedule = build_schedule(slots, args.redeliveries, args.rate, rng)
    stream.slots, stream.distinct_bodies = slots, schedule.distinct
    stream.repeats, stream.right_behind = schedule.repeats, schedule.right_behind
    stream.warmup, stream.order = args.warmup, schedule.order
    fresh_database(url)
    with (
        FakeGraph() as graph,
        FakeSlack(bot_token=BOT_TOKEN) as fake,
        captured_log(heard_overrides(args.heard_env).get("LOG_LEVEL", "INFO").upper()) as log,
    ):
        heard = start_heard(fake, graph, url, args)
        watcher = watching_engine(url)
        try:
            # The comments exist only now, after the start-up read: the webhook alone brings them.
            if kind == "meta":
                per = args.comments_per_delivery
                comments = page_comments(graph, (args.warmup + schedule.distinct) * per, rng)
                bodies, signatures = meta_bodies(graph, comments, per)
            else:
                bodies, signatures = ingest_bodies(args.warmup + schedule.distinct, rng, "ingest")
            warm, timed = bodies[: args.warmup], bodies[args.warmup :]
            timed_signatures = signatures[args.warmup :]
            for body in bodies:
                stream.comments.update(body_ids(kind, body))
            for body, signature in zip(warm, signatures[: args.warmup], strict=True):
                stream.warmup_statuses.append(post_one(heard.port, kind, body, signature))
            path = WEBHOOK_PATH if kind == "meta" else INGEST_PATH
            sender = open_loop_sender(
                f"http://127.0.0.1:{heard.port}{path}", kind, timed, timed_signatures, schedule.order, args
            )
            try:
                graph_calls = len(graph.calls())
                cpu, machine, postgres = time.process_time(), machine_busy_seconds(), cpu_of_processes("postgres")
                sender.go()
                found = sender.results(timeout=args.seconds + SEND_LEAD_SECONDS + REQUEST_TIMEOUT_SECONDS + 120)
                stream.owed_cards_at_stop, stream.owed_all_at_stop = owed(watcher)
                stopped = time.monotonic()
                stream.heard_cpu_seconds = time.process_time() - cpu
                machine_after = machine_busy_seconds()
                if machine is not None and machine_after is not None:
                    stream.machine_cpu_seconds = machine_after - machine
                postgres_after = cpu_of_processes("postgres")
                if postgres and postgres_after:
                    stream.postgres_cpu_seconds = postgres_after - postgres
                stream.graph_calls_while_sending = len(graph.calls()) - graph_calls
            finally:
                sender.stop()
            stream.answers = sorted(found["answers"], key=lambda answer: answer.slot)
            stream.start = found["start"]
            stream.sender_cpu_seconds = found["cpu_seconds"]
            stream.stopped_after = max(answer.answered for answer in stream.answers) - stream.start
            if kind == "meta":
                watch_drain(stream, watcher, stopped, args.drain_timeout)
            else:
                stream.owed_cards_at_end, stream.owed_all_at_end = stream.owed_cards_at_stop, stream.owed_all_at_stop
            stream.cards_in_slack, stream.cards_doubled_in_slack = cards_in_channel(fake)
        finally:
            watcher.dispose()
            stream.log = list(log.lines)
            heard.stop()
    check_database(stream, url, bodies)
    return stream


def cpu_of_processes(name: str) -> float | None:
    """CPU seconds used so far by the processes called `name` (a local database server), from /proc (Linux).
    Processes that ended in between are not counted, so this is a lower bound."""
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        command, _, rest = raw.rpartition(")")
        if command.partition("(")[2] != name:
            continue
        fields = rest.split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


def watch_drain(stream: Stream, watcher: Engine, stopped: float, timeout: float) -> None:
    cards, everything = stream.owed_cards_at_stop, stream.owed_all_at_stop
    while cards > 0 and time.monotonic() - stopped < timeout:
        time.sleep(OWED_POLL_SECONDS)
        cards, everything = owed(watcher)
    stream.drain_watched = time.monotonic() - stopped
    stream.owed_cards_at_end, stream.owed_all_at_end = cards, everything
    if cards == 0:
        stream.drain_seconds = stream.drain_watched


def cards_in_channel(fake: FakeSlack) -> tuple[int, int]:
    """(cards in the channel, extra copies of a card)."""
    by_key: dict[str, int] = {}
    for message in fake.messages(CHANNEL):
        metadata = message.get("metadata") or {}
        key = (metadata.get("event_payload") or {}).get("key")
        if metadata.get("event_type") == METADATA_EVENT and isinstance(key, str) and key.startswith("card:"):
            by_key[key] = by_key.get(key, 0) + 1
    return len(by_key), sum(count - 1 for count in by_key.values())


def check_database(stream: Stream, url: str, bodies: list[bytes]) -> None:
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            rows = session.execute(select(Complaint.external_id).where(Complaint.source == SOURCE)).scalars().all()
            stream.joined_posts = session.scalar(select(func.count()).select_from(ComplaintPost)) or 0
            # A post recorded as a complaint AND as a later post joining a complaint (itself, or another).
            stream.also_joined = (
                session.scalar(
                    select(func.count())
                    .select_from(ComplaintPost)
                    .join(
                        Complaint,
                        (Complaint.source == ComplaintPost.source)
                        & (Complaint.external_id == ComplaintPost.external_id),
                    )
                )
                or 0
            )
            stream.card_rows = session.scalar(select(func.count()).where(Delivery.kind == "card")) or 0
            stream.received_events = session.scalar(select(func.count()).where(AuditEvent.action == "received")) or 0
    finally:
        database.dispose()
    found = {str(external_id) for external_id in rows}
    stream.rows, stream.distinct_rows = len(rows), len(found)
    stream.lost = len(stream.comments - found)
    stream.unexpected = len(found - stream.comments)
    # Lost although Heard answered 200 for a delivery carrying it: the real failure (a non-200 Meta redelivers).
    acknowledged: set[str] = set()
    for answer in stream.answers:
        if answer.status in (200, 202):
            acknowledged.update(body_ids(stream.kind, bodies[stream.warmup + stream.order[answer.slot]]))
    stream.lost_answered_200 = len(acknowledged - found)


# ---------------------------------------------------------------------------------------------------------------
# Report


def row(name: str, value: str, target: str = "", verdict: str = "") -> None:
    print(f"  {name:<46}{value:<34}{target:<26}{verdict}")


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def ms_figures(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return (
        f"{percentile(values, 50):.1f} / {percentile(values, 90):.1f} / {percentile(values, 99):.1f} / "
        f"{max(values):.1f} ms"
    )


def statuses(stream: Stream) -> str:
    counts: dict[str, int] = {}
    for answer in stream.answers:
        key = str(answer.status) if answer.status else "no answer"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{key}: {count:,}" for key, count in sorted(counts.items()))


def achieved(stream: Stream) -> tuple[float, float]:
    """(sent per second, answered per second) over the stream."""

    def rate(moments: list[float]) -> float:
        moments.sort()
        spread = moments[-1] - moments[0] if moments else 0.0
        return (len(moments) - 1) / spread if spread > 0 else float("nan")

    return rate([answer.sent for answer in stream.answers]), rate([answer.answered for answer in stream.answers])


def report_stream(stream: Stream, args: argparse.Namespace) -> None:
    kind = "POST /webhooks/meta" if stream.kind == "meta" else "POST /ingest (baseline)"
    per = args.comments_per_delivery if stream.kind == "meta" else 1
    print(
        f"  {kind}: {stream.slots:,} requests at {args.rate:g}/s for {args.seconds:g} s from {args.senders} threads "
        f"= {stream.distinct_bodies:,} bodies x {per} complaint(s) + {stream.repeats} repeats "
        f"({stream.right_behind} right behind the original, the rest 1-10 s later); {args.warmup} untimed first"
    )
    latencies = stream.latencies_ms()
    lateness = [(answer.sent - answer.due) * 1000 for answer in stream.answers]
    service = [(answer.answered - answer.sent) * 1000 for answer in stream.answers]
    rate_sent, rate_answered = achieved(stream)
    print()
    row("figure", "value", "target", "")
    row("answer time from the scheduled moment", "", f"p99 at {TARGET_RATE:g}/s" if stream.kind == "meta" else "")
    row("  p50 / p90 / p99 / max", ms_figures(latencies))
    row("  of which the sender was late p99 / max", f"{percentile(lateness, 99):.1f} / {max(lateness):.1f} ms")
    row("  Heard's own (send to answer) p99 / max", f"{percentile(service, 99):.1f} / {max(service):.1f} ms")
    row(
        "achieved rate sent / answered",
        f"{rate_sent:.2f} / {rate_answered:.2f} per s",
        f"{args.rate:g}/s",
        met(rate_sent >= args.rate * 0.98),
    )
    non_ok = sum(1 for answer in stream.answers if answer.status not in (200, 202))
    warm_non_ok = sum(1 for status in stream.warmup_statuses if status not in (200, 202))
    row("answers", statuses(stream))
    row("  not 200/202 (timed + warm-up)", f"{non_ok} + {warm_non_ok}", "0", met(non_ok + warm_non_ok == 0))
    errors = sorted({answer.error for answer in stream.answers if answer.error})
    for error in errors[:3]:
        print(f"    ! {error}")
    label = "comments" if stream.kind == "meta" else "complaints"
    row(f"{label} sent / complaints committed", f"{len(stream.comments):,} / {stream.rows:,}", "equal", "")
    row(
        "lost (sent, not committed)",
        f"{stream.lost:,} ({stream.lost_answered_200:,} of them answered 200)",
        "0",
        met(stream.lost == 0),
    )
    row(
        "doubled (rows, joins, cards, events, Slack)",
        f"{stream.doubled:,}",
        "0",
        met(stream.doubled == 0),
    )
    if stream.doubled:
        print(
            f"    rows {stream.rows} distinct {stream.distinct_rows} unexpected {stream.unexpected}; joined posts "
            f"{stream.joined_posts} ({stream.also_joined} of them filed as a complaint too); card rows "
            f"{stream.card_rows}; received events {stream.received_events}; cards twice in Slack "
            f"{stream.cards_doubled_in_slack}"
        )
    row(
        "owed when sending stopped: cards / all rows",
        f"{stream.owed_cards_at_stop:,} / {stream.owed_all_at_stop:,}",
        "",
    )
    if stream.kind == "meta":
        report_drain(stream)
    if stream.graph_calls_while_sending:
        row("Graph API calls while sending", f"{stream.graph_calls_while_sending}", "0 (backfill idle)")
    print(
        f"  CPU used      this process (Heard, fake Slack and Graph) {stream.heard_cpu_seconds:.1f} s; sender process "
        f"{stream.sender_cpu_seconds:.1f} s; {os.cpu_count()} CPUs x {stream.stopped_after:.1f} s = "
        f"{(os.cpu_count() or 1) * stream.stopped_after:.1f} s available"
    )
    if stream.machine_cpu_seconds is not None:
        others = stream.machine_cpu_seconds - stream.heard_cpu_seconds - stream.sender_cpu_seconds
        postgres = stream.postgres_cpu_seconds
        if postgres is not None:
            others -= postgres
        print(
            f"                whole machine {stream.machine_cpu_seconds:.1f} s busy: "
            + (f"local PostgreSQL server {postgres:.1f} s, " if postgres is not None else "")
            + f"other processes (not this benchmark's) {max(0.0, others):.1f} s"
        )
    print_log(stream.log)


def report_drain(stream: Stream) -> None:
    posted = stream.owed_cards_at_stop - stream.owed_cards_at_end
    if stream.drain_seconds is not None:
        row("  cards drained after", f"{stream.drain_seconds:.1f} s")
        return
    rate = posted / stream.drain_watched if stream.drain_watched > 0 else 0.0
    projected = f"~{stream.owed_cards_at_end / rate / 60:.0f} min more at that rate" if rate > 0 else "no progress"
    row(
        f"  after watching {stream.drain_watched:.0f} s: cards still owed",
        f"{stream.owed_cards_at_end:,} (posted {posted} = {rate:.2f}/s)",
        projected,
    )
    row("  cards in the fake Slack at the end", f"{stream.cards_in_slack:,}")


def print_log(lines: Sequence[str]) -> None:
    print(f"  Heard's log   {len(lines):,} lines (LOG_LEVEL=INFO unless --heard-env says otherwise)")
    for line, count in log_summary(lines)[:5]:
        print(f"    {count:>6} x {line[:160]}")
    bad = [line for line in lines if " ERROR " in line or " CRITICAL " in line]
    for line in bad[:3]:
        print(f"    ! {line[:220]}")


def report_comparison(meta: Stream, ingest: Stream) -> None:
    meta_p99 = percentile(meta.latencies_ms(), 99)
    ingest_p99 = percentile(ingest.latencies_ms(), 99)
    print()
    row("answer p99: webhooks/meta vs ingest", f"{meta_p99:.1f} ms vs {ingest_p99:.1f} ms")
    row("  ratio meta / ingest", f"{meta_p99 / ingest_p99:.2f}" if ingest_p99 > 0 else "-")
    meta_p50, ingest_p50 = percentile(meta.latencies_ms(), 50), percentile(ingest.latencies_ms(), 50)
    row("  (p50 for reference)", f"{meta_p50:.1f} ms vs {ingest_p50:.1f} ms")


def print_header(args: argparse.Namespace) -> None:
    common.print_header(
        f"stream    {args.rate:g} deliveries/s for {args.seconds:g} s, {args.comments_per_delivery} comment(s) each, "
        f"{args.redeliveries:.0%} redeliveries, {args.senders} sender threads; baseline "
        f"{'off' if args.no_baseline else '/ingest at the same rate, in a fresh database and Heard, '}"
        f"{'' if args.no_baseline else 'first' if args.baseline_first else 'after'}",
        heard_env=args.heard_env,
    )


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
                kinds = (
                    ["meta"] if args.no_baseline else ["ingest", "meta"] if args.baseline_first else ["meta", "ingest"]
                )
                streams: dict[str, Stream] = {}
                for number, kind in enumerate(kinds):
                    if number:
                        print()
                    streams[kind] = run_stream(kind, url, args)
                    report_stream(streams[kind], args)
                if "ingest" in streams:
                    report_comparison(streams["meta"], streams["ingest"])
            except Exception as exc:
                first_line = (str(exc).strip().splitlines() or [""])[0][:500]
                print(f"benchmark failed on {safe_url(url)}: {type(exc).__name__}: {first_line}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
