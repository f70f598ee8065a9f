"""A storm of complaints against a rate-limited Slack, two copies of Heard on PostgreSQL: is each complaint in Slack
within a minute, are the clocks on time without spamming the managers, and does /healthz tell the truth? Then a
quiet day: nothing grouped, each complaint its own card within 2 s.

What is run (issue 13's benchmark)
    A fake Slack in this process (``sandbox.fake_slack.FakeSlack``) allowing one ``chat.postMessage`` per second per
    conversation with bursts of 3, answering 429 ``Retry-After: 1`` beyond. ``--processes`` (2) copies of Heard
    (``python app.py``) share one PostgreSQL database (WIPED first), with ACK_WINDOW=10m, NAG_BEFORE=``--nag-before``
    (2m), storms on (STORM_THRESHOLD=30/1m, the default), HEARD_MANAGERS two managers (breach alerts by DM),
    production's defaults otherwise (LOG_LEVEL=INFO, the thread log on). Complaints are signed ``POST /ingest``
    requests, alternating between the copies, sent at their scheduled moments by 16 sender threads (a 503 or a
    connection error is retried, as a real integration would).

    * Storm: ``1200 * --scale`` complaints at 2 per second, then ``500 * --scale`` at 500 per minute (``--scale``
      shrinks the counts, hence the durations; the rates stay). Each complaint says it was posted ``--posted-ago``
      seconds before it arrives (0), so that its nag (deadline - NAG_BEFORE) and breach (the deadline) fall due
      within a short run. The run waits until every complaint is visible and every clock stage due so far has
      reached Slack (or was dropped), at least 20 s after the last deadline, or ``--drain`` seconds after the last
      arrival, whichever comes first.
    * Quiet day: ``--quiet-minutes`` (5) of complaints at 0.2 per second on a fresh database, fresh fake Slack and
      fresh copies of Heard; nothing posted before (no clock falls due).

What is printed (clocks start when the work was due, never when a sender got round to it)
    * arrival -> visible: from the complaint's scheduled send moment to the fake Slack's acceptance of the first
      ``chat.postMessage`` showing it: its own card or its line in a storm card's thread (found by the outbox key
      ``card:<id>`` in the message metadata, or the key of the message its line was listed in, ``folded_into``).
      Target p99 <= 60 s (storm), <= 2 s (quiet day). A complaint not visible by the end counts as still owed (its
      outbox row waits) or LOST.
    * doubled: a complaint shown by two accepted posts. Target 0.
    * nag and breach lateness: the first accepted call that shows the stage (its own message; else the first post
      or ``chat.update`` of a list whose text names it: a list posted in the interval grows as stages fall due)
      minus the stage's due moment (``bot.sla`` stages from the stored deadline). A nag dropped
      because its deadline passed, or a stage still owed at the end, counts as infinitely late. Target p99 <= 5 s.
    * alert messages per manager per minute: the most breach messages one manager's DM received in any 60 s.
      Target max 1.
    * 429s received by Heard (every method), and any answer of /ingest other than 202.
    * /healthz's ``oldest_pending_seconds``, sampled every ``--sample`` s from alternate copies, against the true
      oldest waiting age at that moment: the oldest of (complaints not yet visible, since their scheduled arrival;
      nags and breach alerts due and not yet in Slack, since due; a card's thread-log lines not yet in Slack, since
      their event in the audit trail). Target within 2 s. Heard's own outbox ages by kind are
      printed beside the worst sample (what Heard counts that the truth here does not: card updates ...).

How to run (from the repository root; the database given is WIPED: its public schema is dropped, then migrated)
    psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE storm_bench'
    python bench/storm.py                                       # the issue's sizes: ~25 min of storm + 5 min quiet
    python bench/storm.py --scale 0.25 --posted-ago 420 --drain 240 --quiet-minutes 2   # ~12 minutes
    python bench/storm.py --part quiet --quiet-minutes 1        # the quiet day alone

It prints figures and exits 0 even when a target is missed; it exits 1 only when the benchmark itself failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import random
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    FIRST_NAMES,
    LAST_NAMES,
    heard_version,
    log_summary,
    percentile,
    prepare_schema,
    safe_url,
    server_version,
)
from bench.sla_precision import HeardChild, complaint_text  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/storm_bench"
ACK_WINDOW = "10m"
STORM_THRESHOLD = "30/1m"
MANAGERS = ("U0MGR00001", "U0MGR00002")
SOURCES = ["facebook", "instagram", "trustpilot", "email", "webhook"]
POST_RATE, POST_BURST = 1.0, 3
STORM_RATE, STORM_COUNT = 2.0, 1200
SURGE_RATE, SURGE_COUNT = 500 / 60, 500
QUIET_RATE = 0.2
SENDER_THREADS = 16
SENDER_ATTEMPTS = 5
LINE_TEXT = re.compile(r"^#(\d+) from ")
LISTED = re.compile(r"^\d+ complaints in this storm: ")  # a message listing several lines of a storm ...
LISTED_TEXT = re.compile(r"#(\d+) from @")  # ... names each
INF = float("inf")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python bench/storm.py", description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["storm", "quiet", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="shrinks the storm's counts (1.0: 1,200 + 500)")
    parser.add_argument("--quiet-minutes", type=float, default=5.0, help="length of the quiet day at 0.2/s (5)")
    parser.add_argument("--posted-ago", type=float, default=0.0, help="seconds each complaint was posted before (0)")
    parser.add_argument("--nag-before", default="2m", help="NAG_BEFORE for Heard (2m)")
    parser.add_argument("--drain", type=float, default=900.0, help="max seconds to wait after the last arrival (900)")
    parser.add_argument("--sample", type=float, default=2.0, help="seconds between /healthz samples (2)")
    parser.add_argument("--processes", type=int, default=2, help="copies of Heard (2)")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"PostgreSQL, WIPED first ({DEFAULT_URL})")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--dump", metavar="PATH", help="write Slack's calls and the outbox rows of each phase as JSON")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.quiet_minutes <= 0 or args.processes < 1 or args.sample <= 0:
        parser.error("--scale, --quiet-minutes and --sample must be above 0, --processes at least 1")
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be PostgreSQL: the copies of Heard share it")
    if args.database_url.rstrip("/").endswith("/test"):
        parser.error("refusing to wipe the shared database `test`")
    return args


# ---------------------------------------------------------------------------------------------------------------
# Sending complaints at their scheduled moments


@dataclass
class Sent:
    index: int
    scheduled: float  # epoch seconds: when it was due to arrive (the clock starts here)
    started: float = 0.0
    answered: float = 0.0
    status: int = 0
    complaint_id: int | None = None
    attempts: int = 0
    error: str = ""


def payload(rng: random.Random, number: int, posted: float) -> bytes:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    source = rng.choice(SOURCES)
    body = {
        "source": source,
        "id": f"storm-{source}-{number}",
        "author": {"handle": f"{first.lower()}_{last[0].lower()}{number}", "name": f"{first} {last}"},
        "text": "The app is down again, I cannot log in. " + complaint_text(rng),
        "url": f"https://{source}.example/acme/posts/{number}",
        "created_at": datetime.fromtimestamp(posted, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps(body).encode()


class Sender:
    """Sends each body at `t0 + offset` from a pool of threads (one connection per thread and port)."""

    def __init__(self, ports: Sequence[int], offsets: Sequence[float], posted_ago: float, seed: int) -> None:
        self.ports = list(ports)
        self.offsets = list(offsets)
        self.posted_ago = posted_ago
        self.rng = random.Random(seed)
        self.sent: list[Sent] = []
        self.local = threading.local()
        self.thread = threading.Thread(target=self._run, name="storm-sender", daemon=True)
        self.t0 = 0.0

    def start(self, t0: float) -> None:
        self.t0 = t0
        self.thread.start()

    def join(self) -> None:
        self.thread.join()

    def _run(self) -> None:
        from tests.conftest import INGEST_SECRET

        with ThreadPoolExecutor(SENDER_THREADS, thread_name_prefix="sender") as pool:
            for index, offset in enumerate(self.offsets):
                scheduled = self.t0 + offset
                body = payload(self.rng, index + 1, scheduled - self.posted_ago)
                record = Sent(index=index, scheduled=scheduled)
                self.sent.append(record)
                delay = scheduled - time.time()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._post, record, body, self.ports[index % len(self.ports)], INGEST_SECRET)

    def _post(self, record: Sent, body: bytes, port: int, secret: str) -> None:
        from tests.support import sign_ingest

        connections: dict[int, http.client.HTTPConnection] = self.local.__dict__.setdefault("connections", {})
        record.started = time.time()
        for attempt in range(1, SENDER_ATTEMPTS + 1):
            record.attempts = attempt
            try:
                connection = connections.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connections[port] = connection
                headers = {"Content-Type": "application/json", **sign_ingest(secret, body)}
                connection.request("POST", "/ingest", body=body, headers=headers)
                response = connection.getresponse()
                raw = response.read()
                record.status = response.status
                if response.will_close:
                    connection.close()
                    connections.pop(port, None)
                if response.status < 300:
                    record.complaint_id = int(json.loads(raw)["complaint_id"])
                else:
                    record.error = raw.decode(errors="replace")[:200]
            except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
                record.status, record.error = 0, f"{type(error).__name__}: {error}"[:200]
                connections.pop(port, None)
            if record.status not in (0, 503):
                break
            time.sleep(0.5 * attempt)
        record.answered = time.time()


# ---------------------------------------------------------------------------------------------------------------
# /healthz samples


@dataclass
class Sample:
    at: float  # epoch seconds, the middle of the request
    heard: int | None  # oldest_pending_seconds
    by_kind: dict[str, float]  # Heard's outbox: age of the oldest waiting row of each kind, from queued_at


class Sampler:
    def __init__(self, ports: Sequence[int], url: str, every: float) -> None:
        from sqlalchemy import create_engine

        self.ports = list(ports)
        self.every = every
        self.engine = create_engine(url, pool_size=1)
        self.samples: list[Sample] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="healthz-sampler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(30)
        self.engine.dispose()

    def _run(self) -> None:
        from sqlalchemy import text

        turn = 0
        while not self.stopping.wait(self.every):
            port = self.ports[turn % len(self.ports)]
            turn += 1
            before = time.time()
            heard: int | None = None
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/healthz")
                answer = connection.getresponse()
                body = json.loads(answer.read())
                connection.close()
                heard = int(body["outbox"]["oldest_pending_seconds"])
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                pass
            after = time.time()
            try:
                with self.engine.connect() as db:
                    rows = db.execute(
                        text(
                            "SELECT kind, extract(epoch FROM now() - min(queued_at)) FROM deliveries "
                            "WHERE status IN ('pending', 'sending') GROUP BY kind"
                        )
                    ).all()
                by_kind = {str(kind): float(age or 0) for kind, age in rows}
            except Exception:
                by_kind = {}
            self.samples.append(Sample(at=(before + after) / 2, heard=heard, by_kind=by_kind))


# ---------------------------------------------------------------------------------------------------------------
# One phase: Heard started, complaints sent, Slack's record collected


@dataclass
class Phase:
    name: str
    offsets: list[float]
    sent: list[Sent] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    calls: list[Any] = field(default_factory=list)  # (key, text, thread_ts, channel, epoch at, status, error)
    complaints: list[dict[str, Any]] = field(default_factory=list)
    deliveries: dict[str, dict[str, Any]] = field(default_factory=dict)
    dropped: dict[str, float] = field(default_factory=dict)  # nag:<complaint>:<clock> -> when it was dropped
    logged: dict[str, float] = field(default_factory=dict)  # thread-log row key -> when its event happened
    storms: int = 0
    t0: float = 0.0
    last_arrival: float = 0.0
    ended: float = 0.0
    ready: list[float] = field(default_factory=list)
    logs: list[list[str]] = field(default_factory=list)
    cpu: list[float | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stop_reason: str = ""


def environment(fake: Any, url: str, args: argparse.Namespace) -> dict[str, str]:
    from tests.conftest import heard_environment

    env = heard_environment(
        fake,
        url,
        ACK_WINDOW=ACK_WINDOW,
        NAG_BEFORE=args.nag_before,
        STORM_THRESHOLD=STORM_THRESHOLD,
        HEARD_MANAGERS=",".join(MANAGERS),
        LOG_LEVEL="INFO",
    )
    env.pop("PORT", None)
    return env


def policy_for(env: dict[str, str]) -> Any:
    from bot.config import load_settings
    from bot.sla import SlaPolicy

    settings = load_settings({**env, "PORT": "0"}, env_file=None)
    return SlaPolicy(
        ack_window=settings.ack_window,
        resolve_window=settings.resolve_window,
        nag_before=settings.nag_before,
        breach_repeat=settings.breach_repeat,
        breach_repeats=settings.breach_repeats,
        calendar=settings.calendar,
    )


def run_phase(phase: Phase, args: argparse.Namespace, posted_ago: float, *, clocks: bool) -> Any:
    from sandbox.fake_slack import FakeSlack
    from tests.conftest import BOT_TOKEN

    url = args.database_url
    with FakeSlack(bot_token=BOT_TOKEN, post_message_rate=POST_RATE, burst=POST_BURST) as fake:
        env = environment(fake, url, args)
        policy = policy_for(env)
        database = prepare_schema(url)
        heards = [HeardChild(f"heard-{number + 1}", env) for number in range(args.processes)]
        sampler: Sampler | None = None
        try:
            phase.ready = [heard.wait_ready() for heard in heards]
            anchor_wall, anchor_mono = time.time(), time.monotonic()
            sender = Sender([heard.port for heard in heards], phase.offsets, posted_ago, args.seed)
            sampler = Sampler([heard.port for heard in heards], url, args.sample)
            phase.t0 = time.time() + 1.0
            phase.last_arrival = phase.t0 + (phase.offsets[-1] if phase.offsets else 0)
            sampler.start()
            sender.start(phase.t0)
            progress(phase, fake, database, heards, sender, anchor_wall, anchor_mono, args, clocks=clocks)
            phase.ended = time.time()
            time.sleep(2.0)  # a second post of anything would show now
        finally:
            if sampler is not None:
                sampler.stop()
                phase.samples = sampler.samples
            phase.cpu = [heard.cpu_seconds() for heard in heards]
            for heard in heards:
                heard.stop()
            phase.logs = [list(heard.lines) for heard in heards]
        phase.sent = sender.sent
        phase.calls = [
            (
                str(((call.args.get("metadata") or {}).get("event_payload") or {}).get("key", "")),
                str(call.args.get("text") or ""),
                call.args.get("thread_ts"),
                str(call.args.get("channel", "")),
                anchor_wall + (call.at - anchor_mono),
                call.status,
                call.error,
                call.method,
            )
            for call in fake.calls
        ]
        phase.problems = fake.problems
        collect_database(phase, database)
        database.dispose()
    return policy


def visible_ids(fake: Any) -> set[int]:
    shown: set[int] = set()
    for call in fake.calls:
        if call.method != "chat.postMessage" or not call.ok:
            continue
        key = str(((call.args.get("metadata") or {}).get("event_payload") or {}).get("key", ""))
        if LISTED.match(text := str(call.args.get("text") or "")):
            shown.update(int(number) for number in LISTED_TEXT.findall(text))
        elif key.startswith("card:"):
            shown.add(int(key.split(":")[1]))
    return shown


def progress(
    phase: Phase,
    fake: Any,
    database: Any,
    heards: Sequence[HeardChild],
    sender: Sender,
    anchor_wall: float,
    anchor_mono: float,
    args: argparse.Namespace,
    *,
    clocks: bool,
) -> None:
    """Until every complaint is visible and (with clocks) every stage due has gone, or the drain cap."""
    from sqlalchemy import text

    next_report = time.time() + 20
    sender_done = False
    while True:
        time.sleep(1.0)
        now = time.time()
        if any(not heard.alive() for heard in heards):
            phase.stop_reason = "a copy of Heard EXITED"
            return
        if not sender_done and not sender.thread.is_alive():
            sender_done = True
        accepted = {record.complaint_id for record in list(sender.sent) if record.complaint_id is not None}
        shown = visible_ids(fake)
        owed_cards = len(accepted - shown)
        with database.engine.connect() as db:
            last_deadline = db.scalar(text("SELECT extract(epoch FROM max(ack_deadline)) FROM complaints"))
            owed_clock = db.scalar(
                text("SELECT count(*) FROM deliveries WHERE kind IN ('nag', 'breach') AND status <> 'done'")
            )
        if now >= next_report:
            print(
                f"    t+{now - phase.t0:5.0f} s: {len(sender.sent):,}/{len(phase.offsets):,} sent, "
                f"{len(accepted & shown):,} visible, {owed_cards:,} cards owed, {owed_clock} nag/breach rows waiting",
                flush=True,
            )
            next_report = now + 20
        if not sender_done or len(sender.sent) < len(phase.offsets):
            continue
        clocks_done = not clocks or (last_deadline is not None and now >= float(last_deadline) + 20 and not owed_clock)
        if owed_cards == 0 and clocks_done:
            phase.stop_reason = "everything visible" + (", every clock stage due so far sent" if clocks else "")
            return
        if now >= phase.last_arrival + args.drain:
            phase.stop_reason = f"--drain {args.drain:g} s after the last arrival reached"
            return


def collect_database(phase: Phase, database: Any) -> None:
    from sqlalchemy import select

    from storage.models import AuditEvent, Complaint, Delivery, Storm

    with database.unit_of_work() as session:
        for complaint in session.scalars(select(Complaint)):
            session.expunge(complaint)
            phase.complaints.append({"row": complaint})
        for row in session.scalars(select(Delivery)):
            phase.deliveries[row.key] = {
                "kind": row.kind,
                "status": row.status,
                "payload": dict(row.payload or {}),
                "complaint_id": row.complaint_id,
            }
        # Keyed by complaint and clock: a nag listed in another complaint's message is dropped under that message's
        # key (the audit event names the message), but it is this complaint's nag that stopped being owed.
        for complaint_id, at, detail in session.execute(
            select(AuditEvent.complaint_id, AuditEvent.at, AuditEvent.detail).where(AuditEvent.action == "nag dropped")
        ):
            key = f"nag:{complaint_id}:{(detail or {}).get('clock', '')}"
            phase.dropped[key] = min(phase.dropped.get(key, at.timestamp()), at.timestamp())
        phase.storms = len(session.scalars(select(Storm.id)).all())
        for key, at in session.execute(
            select(Delivery.key, AuditEvent.at)
            .join(AuditEvent, AuditEvent.id == Delivery.ref_id)
            .where(Delivery.kind == "thread_log")
        ):
            phase.logged[str(key)] = at.timestamp()


# ---------------------------------------------------------------------------------------------------------------
# Analysis


@dataclass
class Item:
    """Something Heard owes Slack: a complaint's card or line, a nag, a breach alert to one manager."""

    what: str
    due: float
    shown: float | None  # when it became visible in Slack
    gone: float | None = None  # when it stopped being owed without being shown (a dropped nag)


def first_posts(phase: Phase) -> tuple[dict[str, list[float]], dict[int, list[float]]]:
    by_key: dict[str, list[float]] = {}
    by_line: dict[int, list[float]] = {}
    for key, text, _thread, _channel, at, status, error, method in phase.calls:
        if method != "chat.postMessage" or status != 200 or error:
            continue
        if key:
            by_key.setdefault(key, []).append(at)
        if match := LINE_TEXT.match(text):
            by_line.setdefault(int(match.group(1)), []).append(at)
    return by_key, by_line


def complaint_items(phase: Phase) -> tuple[dict[int, Item], int, list[int]]:
    by_key, by_line = first_posts(phase)
    items: dict[int, Item] = {}
    doubled: list[int] = []
    for record in phase.sent:
        if record.complaint_id is None or record.complaint_id in items:
            continue
        cid = record.complaint_id
        posts = by_key.get(f"card:{cid}", [])
        # A storm line listed in another message of the thread is visible when that message is.
        if folded := (phase.deliveries.get(f"card:{cid}") or {}).get("payload", {}).get("folded_into"):
            posts = posts + by_key.get(str(folded), [])
        lines = by_line.get(cid, [])
        if len(posts) > 1 or len(lines) > 1:
            doubled.append(cid)
        times = posts + lines
        items[cid] = Item(f"card:{cid}", record.scheduled, min(times) if times else None)
    duplicates = sum(1 for record in phase.sent if record.complaint_id is not None) - len(items)
    return items, duplicates, doubled


# What nag and breach messages say in their notification text (bot/blocks/reminders.py): a list names every
# complaint it stands for, one alone names its complaint.
NAG_LIST = re.compile(r"^\d+ complaints to [a-z ]+ soon: (.*)$", re.S)
NAG_ONE = re.compile(r"^[^:]* to (?:acknowledge|resolve): Complaint #(\d+) from ")
BREACH_LIST = re.compile(r"^\d+ complaints overdue: (.*)$", re.S)
BREACH_ONE = re.compile(r"^Overdue \((?:acknowledge|resolve)\): Complaint #(\d+) from ")
NUMBER = re.compile(r"#(\d+)")


def clock_shown(phase: Phase) -> tuple[dict[int, float], dict[tuple[int, str], float]]:
    """When each complaint was first named by a nag message, and by a breach message in each conversation: posted,
    or updated to list it (a message of this interval that grows as alerts fall due: chat.update)."""
    from sandbox.fake_slack import _resolve_channel

    nags: dict[int, float] = {}
    breaches: dict[tuple[int, str], float] = {}
    for _key, text, _thread, channel, at, status, error, method in phase.calls:
        if method not in ("chat.postMessage", "chat.update") or status != 200 or error:
            continue
        where = _resolve_channel(channel)
        for pattern, seen, keyed in ((NAG_LIST, nags, False), (BREACH_LIST, breaches, True)):
            if match := pattern.match(text):
                for number in NUMBER.findall(match.group(1)):
                    name: Any = (int(number), where) if keyed else int(number)
                    seen[name] = min(seen.get(name, at), at)
        if match := NAG_ONE.match(text):
            nags[int(match.group(1))] = min(nags.get(int(match.group(1)), at), at)
        if match := BREACH_ONE.match(text):
            name = (int(match.group(1)), where)
            breaches[name] = min(breaches.get(name, at), at)
    return nags, breaches


def clock_items(phase: Phase, policy: Any) -> list[Item]:
    from bot.sla import Clock, StageKind, clock_start
    from sandbox.fake_slack import _resolve_channel

    by_key, _ = first_posts(phase)
    nags_shown, breaches_shown = clock_shown(phase)
    items = []
    for entry in phase.complaints:
        complaint = entry["row"]
        for stage in policy.stages(clock_start(complaint), complaint.ack_deadline):
            due = stage.at.timestamp()
            if due > phase.ended or stage.kind is StageKind.REMINDER:
                continue
            if stage.kind is StageKind.NAG:
                keys = [f"nag:{complaint.id}:{Clock.ACK.value}:{stage.number}"]
            else:
                keys = [f"breach:{complaint.id}:{Clock.ACK.value}:{stage.number}:{manager}" for manager in MANAGERS]
            for key in keys:
                # Listed in another message, which may itself have been listed in a later one: follow the chain.
                chain, message = [key], key
                while (folded := (phase.deliveries.get(message) or {}).get("payload", {}).get("folded_into")) and (
                    folded not in chain
                ):
                    chain.append(message := str(folded))
                # Its own post; else the first message naming it (listed when posted, or added by an update later:
                # the chain's first post may be older than this stage, so it would flatter).
                posts = list(by_key.get(key, []))
                if len(chain) > 1 and stage.kind is StageKind.NAG:
                    posts += [nags_shown[complaint.id]] if complaint.id in nags_shown else []
                elif len(chain) > 1:
                    named = (complaint.id, _resolve_channel(key.rsplit(":", 1)[1]))
                    posts += [breaches_shown[named]] if named in breaches_shown else []
                gone = phase.dropped.get(key.rsplit(":", 1)[0]) if stage.kind is StageKind.NAG else None
                items.append(Item(key, due, min(posts) if posts else None, gone))
    return items


def stats(values: Sequence[float]) -> tuple[float, float, float]:
    if not values:
        return 0.0, 0.0, 0.0
    return percentile(values, 50), percentile(values, 99), max(values)


def fmt(value: float) -> str:
    return "owed" if value == INF else f"{value:.1f}"


def line(name: str, values: Sequence[float], target: float | None, unit: str = "s") -> None:
    p50, p99, worst = stats(values)
    verdict = "" if target is None else ("met" if values and p99 <= target else "MISSED")
    goal = "" if target is None else f"p99 <= {target:g} {unit}"
    print(f"  {name:<44}{len(values):>7,}{fmt(p50):>9}{fmt(p99):>9}{fmt(worst):>9}   {goal:<14}{verdict}")


def heading() -> None:
    print(f"  {'':<44}{'n':>7}{'p50':>9}{'p99':>9}{'max':>9}   target")


def report_common(phase: Phase, cards: dict[int, Item], duplicates: int, doubled: list[int]) -> None:
    not_accepted = [record for record in phase.sent if record.complaint_id is None]
    statuses: dict[int, int] = {}
    for record in phase.sent:
        statuses[record.status] = statuses.get(record.status, 0) + 1
    retried = sum(1 for record in phase.sent if record.attempts > 1)
    owed = [cid for cid, item in cards.items() if item.shown is None]
    lost = [cid for cid in owed if phase.deliveries.get(f"card:{cid}", {}).get("status") in (None, "done", "failed")]
    calls_429 = [call for call in phase.calls if call[5] == 429]
    methods_429: dict[str, int] = {}
    for call in calls_429:
        methods_429[call[7]] = methods_429.get(call[7], 0) + 1
    sender_lag = [record.started - record.scheduled for record in phase.sent if record.started]
    answer = [record.answered - record.scheduled for record in phase.sent if record.answered]
    print(
        f"  sent          {len(phase.sent):,} complaints over {phase.last_arrival - phase.t0:.0f} s; /ingest answered "
        + ", ".join(f"{status or 'no answer'}: {count:,}" for status, count in sorted(statuses.items()))
        + f"; {retried} retried; repeats of one complaint id: {duplicates}"
    )
    print(
        f"  sender        lag behind schedule p99 {stats(sender_lag)[1]:.2f} s, max {stats(sender_lag)[2]:.2f} s; "
        f"scheduled -> answered p99 {stats(answer)[1]:.2f} s, max {stats(answer)[2]:.2f} s"
    )
    print(f"  ended         {phase.ended - phase.last_arrival:.0f} s after the last arrival: {phase.stop_reason}")
    heading()
    return_target = 60.0 if phase.name == "storm" else 2.0
    line(
        "arrival -> visible in Slack (s)",
        [item.shown - item.due if item.shown else INF for item in cards.values()],
        return_target,
    )
    print(
        f"  {'not accepted by /ingest (5xx/none = bug)':<44}{len(not_accepted):>7}   "
        + ("met" if not not_accepted else "MISSED " + "; ".join(f"{r.status} {r.error}" for r in not_accepted[:3]))
    )
    print(f"  {'still owed at the end (outbox waits)':<44}{len(owed) - len(lost):>7}")
    print(
        f"  {'LOST (not visible, nothing waiting)':<44}{len(lost):>7}   target 0      "
        + ("met" if not lost else f"MISSED e.g. {lost[:10]}")
    )
    print(
        f"  {'doubled (two cards/lines)':<44}{len(doubled):>7}   target 0      "
        + ("met" if not doubled else f"MISSED e.g. {doubled[:10]}")
    )
    print(
        f"  {'429s received by Heard':<44}{len(calls_429):>7}   "
        + ", ".join(f"{method}: {count}" for method, count in sorted(methods_429.items()))
    )
    grouped = sum(1 for entry in phase.complaints if entry["row"].storm_id is not None)
    print(f"  {'grouped into a storm (own card otherwise)':<44}{grouped:>7}   storms opened: {phase.storms}")


def report_storm(phase: Phase, policy: Any) -> None:
    cards, duplicates, doubled = complaint_items(phase)
    report_common(phase, cards, duplicates, doubled)
    clocks = clock_items(phase, policy)
    nags = [item for item in clocks if item.what.startswith("nag:")]
    breaches = [item for item in clocks if item.what.startswith("breach:")]

    def late(items: list[Item]) -> list[float]:
        return [item.shown - item.due if item.shown is not None else INF for item in items]

    dropped = sum(1 for item in nags if item.shown is None and item.gone is not None)
    line("nag lateness: in Slack - due (s)", late(nags), 5.0)
    print(f"  {'  of which dropped (deadline passed)':<44}{dropped:>7}   counted as infinitely late")
    line("breach lateness: in Slack - due (s)", late(breaches), 5.0)
    line("  both (s)", late(nags + breaches), 5.0)
    # Alert messages per manager per minute: the most breach posts one manager got within any 60 s.
    worst: dict[str, int] = {}
    for manager in MANAGERS:
        times = sorted(
            call[4]
            for call in phase.calls
            if call[7] == "chat.postMessage"
            and call[5] == 200
            and not call[6]
            and call[0].startswith("breach:")
            and call[0].endswith(f":{manager}")
        )
        most, start = 0, 0
        for end in range(len(times)):
            while times[end] - times[start] >= 60:
                start += 1
            most = max(most, end - start + 1)
        worst[manager] = most
        print(f"  {'breach messages to ' + manager:<44}{len(times):>7}   most in any 60 s: {most}")
    top = max(worst.values(), default=0)
    print(
        f"  {'alert messages per manager per minute (max)':<44}{top:>7}   target max 1  "
        + ("met" if top <= 1 else "MISSED")
    )
    nag_posts = [
        call
        for call in phase.calls
        if call[7] == "chat.postMessage" and call[5] == 200 and not call[6] and call[0].startswith("nag:")
    ]
    print(
        f"  {'nag messages posted (listing ' + str(sum(1 for i in nags if i.shown)) + ' nags)':<44}{len(nag_posts):>7}"
    )
    report_health(phase, list(cards.values()) + clocks + thread_lines(phase))


def thread_lines(phase: Phase) -> list[Item]:
    """A card's thread-log lines are messages owed too (Heard's lag counts them): each from the moment its event
    happened (the audit trail) until Slack took it; one Heard found nothing to post for is left out."""
    by_key, _ = first_posts(phase)
    items = []
    for key, at in phase.logged.items():
        posts = by_key.get(key, [])
        if posts or (phase.deliveries.get(key) or {}).get("status") in ("pending", "sending"):
            items.append(Item(key, at, min(posts) if posts else None))
    return items


def report_health(phase: Phase, items: list[Item]) -> None:
    diffs: list[tuple[float, Sample, float]] = []
    for sample in phase.samples:
        if sample.heard is None:
            continue
        waiting = [
            item.due
            for item in items
            if item.due <= sample.at
            and (item.shown is None or item.shown > sample.at)
            and (item.gone is None or item.gone > sample.at)
        ]
        truth = sample.at - min(waiting) if waiting else 0.0
        diffs.append((sample.heard - truth, sample, truth))
    failed = sum(1 for sample in phase.samples if sample.heard is None)
    if not diffs:
        print(f"  /healthz      no answers ({failed} failed)")
        return
    absolute = [abs(diff) for diff, _, _ in diffs]
    within = sum(1 for value in absolute if value <= 2.0)
    p50, p99, worst = stats(absolute)
    verdict = "met" if worst <= 2.0 else "MISSED"
    print(
        f"  {'/healthz oldest_pending_seconds vs truth':<44}{len(diffs):>7}{p50:9.1f}{p99:9.1f}{worst:9.1f}   "
        f"|diff| <= 2 s  {verdict} ({within}/{len(diffs)} samples within 2 s, {failed} unanswered)"
    )
    _diff, sample, truth = max(diffs, key=lambda entry: abs(entry[0]))
    kinds = ", ".join(f"{kind} {age:.0f} s" for kind, age in sorted(sample.by_kind.items(), key=lambda kv: -kv[1]))
    print(
        f"  {'  worst sample':<44}t+{sample.at - phase.t0:.0f} s: /healthz {sample.heard} s, true oldest "
        f"{truth:.1f} s; Heard's outbox oldest by kind: {kinds or 'none'}"
    )
    peak_heard = max(sample.heard for _, sample, _ in diffs if sample.heard is not None)
    peak_truth = max(truth for _, _, truth in diffs)
    print(f"  {'  peaks during the run':<44}/healthz {peak_heard} s, true oldest {peak_truth:.1f} s")


def report_quiet(phase: Phase) -> None:
    cards, duplicates, doubled = complaint_items(phase)
    report_common(phase, cards, duplicates, doubled)
    grouped = sum(1 for entry in phase.complaints if entry["row"].storm_id is not None)
    verdict = "met" if grouped == 0 else "MISSED"
    print(f"  {'nothing grouped (target 0)':<44}{grouped:>7}   {verdict}")
    report_health(phase, list(cards.values()))


def report_tail(phase: Phase) -> None:
    cpu = ", ".join(f"{value:.0f}" if value is not None else "?" for value in phase.cpu)
    ready = ", ".join(f"{value:.1f}" for value in phase.ready)
    print(f"  Heard         ready {ready} s after spawn; CPU seconds used per copy: {cpu}")
    if phase.problems:
        print(f"  fake Slack problems ({len(phase.problems)}): " + "; ".join(phase.problems[:3]))
    lines = [text for log in phase.logs for text in log]
    summary = [(key, count) for key, count in log_summary(lines) if not key.startswith("INFO")]
    if summary:
        print("  Heard's log (WARNING and above, numbers blanked):")
        for key, count in summary[:8]:
            print(f"    {count:6,} x {key[:150]}")


# ---------------------------------------------------------------------------------------------------------------


def dump(phase: Phase, args: argparse.Namespace) -> None:
    if args.dump:
        data = {"t0": phase.t0, "calls": phase.calls, "deliveries": phase.deliveries, "dropped": phase.dropped}
        Path(f"{args.dump}.{phase.name}.json").write_text(json.dumps(data, default=str))


def storm_offsets(scale: float) -> list[float]:
    first, surge = round(STORM_COUNT * scale), round(SURGE_COUNT * scale)
    offsets = [index / STORM_RATE for index in range(first)]
    start = first / STORM_RATE
    offsets += [start + index / SURGE_RATE for index in range(surge)]
    return offsets


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # A terminated benchmark still stops its copies of Heard (the `finally` blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"$ python bench/storm.py {shlex.join(sys.argv[1:] if argv is None else list(argv))}")
    print(f"  Heard         {heard_version()}")
    print(
        f"  machine       {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {__import__('os').cpu_count()} CPUs"
    )
    try:
        from storage.db import Database

        database = Database(args.database_url)
        print(f"  database      {safe_url(args.database_url)} ({server_version(database)}), WIPED per phase")
        database.dispose()
        print(
            f"  settings      {args.processes} copies of Heard; ACK_WINDOW={ACK_WINDOW} NAG_BEFORE={args.nag_before} "
            f"STORM_THRESHOLD={STORM_THRESHOLD} HEARD_MANAGERS={','.join(MANAGERS)} LOG_LEVEL=INFO; fake Slack: "
            f"chat.postMessage {POST_RATE:g}/s per conversation, bursts of {POST_BURST}, 429 beyond"
        )
        if args.part in ("storm", "both"):
            offsets = storm_offsets(args.scale)
            first = round(STORM_COUNT * args.scale)
            print(
                f"\nStorm: {first:,} complaints at {STORM_RATE:g}/s, then {len(offsets) - first:,} at "
                f"{SURGE_RATE * 60:.0f}/min (--scale {args.scale:g}); posted {args.posted_ago:g} s before arriving",
                flush=True,
            )
            phase = Phase("storm", offsets)
            policy = run_phase(phase, args, args.posted_ago, clocks=True)
            report_storm(phase, policy)
            dump(phase, args)
            report_tail(phase)
        if args.part in ("quiet", "both"):
            count = max(1, round(QUIET_RATE * args.quiet_minutes * 60))
            print(f"\nQuiet day: {count:,} complaints at {QUIET_RATE:g}/s ({args.quiet_minutes:g} min)", flush=True)
            phase = Phase("quiet", [index / QUIET_RATE for index in range(count)])
            run_phase(phase, args, 0.0, clocks=False)
            report_quiet(phase)
            dump(phase, args)
            report_tail(phase)
    except Exception as error:
        print(f"\nBENCHMARK FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
