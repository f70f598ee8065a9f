"""Auto-assignment under a steady stream: what it adds to ingest, how fairly it shares, and that nothing doubles.

What is measured
    ``--count`` complaints (10,000) arrive at ``--rate`` per second (20) as signed ``POST /ingest`` requests,
    alternating between two copies of Heard (``python app.py serve`` in child processes, as an admin runs them)
    sharing one PostgreSQL database, with ``HEARD_AGENTS`` = ``--agents`` user ids (30) and ``AUTO_ASSIGN`` =
    ``--mode`` (round-robin). Both copies post their cards to one fake Slack (``sandbox.fake_slack``) in this
    process. Storms are off (a stream of 20 a second would open one; assignment is the same in a storm).

    1. Assignment time added to ingest (target p99 <= 20 ms): inside both copies, every call of
       ``IntakeUseCases._assign`` (owners chosen for a batch in the unit of work that files it: who is away, the
       turns reserved on the pool's cursor row) is timed, wall clock, so any wait for the other copy counts;
       written out when the copy stops.
    2. Ingest latency (each request's round trip, client side) with assignment, and in a baseline run of
       ``--baseline-count`` complaints (3,000) at the same rate with ``AUTO_ASSIGN=off`` on a fresh database. On a
       shared machine these round trips move with whatever else runs; the difference of p99s is printed as a
       cross-check, not the target.
    3. ``Assigner.assign`` alone after the run, for one complaint at a time, ``--direct`` times (500) in this
       process against the same database with every complaint in it, rolled back each time.
    4. Fairness: complaints per agent (max - min; target <= 1 for round-robin, every agent being available).
    5. Exactly once: every complaint has one owner and exactly one "assigned" audit event naming that owner.

How to run (from the repository root; it WIPES the database it is given)
    psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE assign_bench'
    python bench/assignment.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/assign_bench
    python bench/assignment.py --database-url ... --count 2000 --baseline-count 1000   # a shorter run

It prints figures and exits 0 even when a target is missed; 1 only when the benchmark itself failed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile, prepare_schema, safe_url, server_version  # noqa: E402

SIGNING_SECRET = "bench-signing-secret-0123456789abcd"
INGEST_SECRET = "bench-ingest-secret-0123456789abcde"
BOT_TOKEN = "xoxb-bench"
CHANNEL = "C0BENCH"


class Copy:
    """`python app.py serve` in a child process; its log drained on a thread so the pipe never fills."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child"],
            cwd=ROOT,
            env={**os.environ, **environment},
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self.port: int | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(60) or self.port is None:
            raise SystemExit("Heard did not start:\n" + "".join(self.log[-30:]))

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if self.port is None and (match := re.search(r"listening on port (\d+)", line)):
                self.port = int(match.group(1))
                self._ready.set()
        self._ready.set()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


def sign(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(INGEST_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Heard-Timestamp": stamp, "X-Heard-Signature": f"v0={digest}"}


def post(port: int, number: int, run: str) -> tuple[float, int]:
    body = json.dumps(
        {
            "source": "bench",
            "id": f"{run}-{number}",
            "author": {"handle": f"customer{number % 997}"},
            "text": "My order arrived broken and nobody answers the phone.",
        }
    ).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/ingest", data=body, headers=sign(body), method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
            response.read()
    except urllib.error.HTTPError as error:
        status = error.code
    return (time.perf_counter() - started) * 1000, status


def stream(ports: Sequence[int], count: int, rate: float, run: str) -> tuple[list[float], Counter[int], float]:
    """`count` posts at `rate` per second, alternating between the copies; each on its own thread so a slow
    answer never delays the next arrival."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def one(number: int) -> None:
        elapsed, status = post(ports[number % len(ports)], number, run)
        with lock:
            latencies.append(elapsed)
            statuses[status] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(64) as pool:
        for number in range(count):
            due = started + number / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, number)
            if number and number % (int(rate) * 60) == 0:
                print(f"  … {number:,} sent", flush=True)
    return latencies, statuses, time.perf_counter() - started


def run_copies(url: str, fake_api: str, agents: Sequence[str], mode: str, count: int, rate: float, run: str) -> dict:
    database = prepare_schema(url)
    database.dispose()
    environment = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_api,
        "HEARD_CHANNEL": CHANNEL,
        "INGEST_SECRET": INGEST_SECRET,
        "DATABASE_URL": url,
        "PORT": "0",
        "HEARD_AGENTS": ",".join(agents),
        "AUTO_ASSIGN": mode,
        "STORM_THRESHOLD": "off",
        "DIGEST_AT": "off",
        "LOG_LEVEL": "INFO",
        "HEARD_DIRECTORY": "",
        "ROTATIONS_FILE": "",
    }
    with tempfile.TemporaryDirectory() as scratch:
        copies = [Copy({**environment, "BENCH_TIMINGS": f"{scratch}/{n}.json"}) for n in range(2)]
        try:
            ports = [copy.port for copy in copies if copy.port is not None]
            latencies, statuses, took = stream(ports, count, rate, run)
        finally:
            for copy in copies:
                copy.stop()
        assign_ms = [
            t
            for n in range(2)
            if Path(f"{scratch}/{n}.json").exists()
            for t in json.loads(Path(f"{scratch}/{n}.json").read_text())
        ]
    return {"latencies": latencies, "statuses": statuses, "took": took, "assign_ms": assign_ms}


def direct_assign(url: str, agents: Sequence[str], times: int) -> list[float]:
    """`Assigner.assign` for one new complaint, rolled back each time: its own cost, in milliseconds."""
    from bot.assignment import Assigner
    from bot.config import load_settings
    from bot.delivery import utcnow
    from storage.db import Database

    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "HEARD_CHANNEL": CHANNEL,
            "INGEST_SECRET": INGEST_SECRET,
            "DATABASE_URL": url,
            "HEARD_AGENTS": ",".join(agents),
            "AUTO_ASSIGN": "round-robin",
        },
        env_file=None,
    )
    database = Database(url)
    assigner = Assigner(settings, None, database.engine)

    class NewComplaint:
        author_followers = 0
        priority = "normal"
        threats = ()

    timings = []
    for _ in range(times):
        with database.engine.connect() as connection, connection.begin() as transaction:
            from sqlalchemy.orm import Session

            with Session(bind=connection) as session:
                started = time.perf_counter()
                assigner.assign(session, [NewComplaint()], utcnow())
                session.flush()
                timings.append((time.perf_counter() - started) * 1000)
            transaction.rollback()
    assigner.dispose()
    database.dispose()
    return timings


def check(url: str, agents: Sequence[str]) -> dict:
    from sqlalchemy import func, select

    from storage.db import Database
    from storage.models import AuditEvent, Complaint

    database = Database(url)
    with database.unit_of_work() as session:
        total = session.scalar(select(func.count()).select_from(Complaint))
        per_owner = dict(session.execute(select(Complaint.owner_id, func.count()).group_by(Complaint.owner_id)).all())
        events = session.execute(
            select(AuditEvent.complaint_id, AuditEvent.detail).where(AuditEvent.action == "assigned")
        ).all()
        owner_of = dict(session.execute(select(Complaint.id, Complaint.owner_id)).all())
    database.dispose()
    per_complaint = Counter(complaint_id for complaint_id, _ in events)
    twice = sum(1 for n in per_complaint.values() if n > 1)
    mismatched = sum(1 for complaint_id, detail in events if detail.get("to") != owner_of.get(complaint_id))
    counts = [per_owner.get(agent, 0) for agent in agents]
    return {
        "total": total,
        "unassigned": per_owner.get(None, 0),
        "counts": counts,
        "spread": max(counts) - min(counts),
        "twice": twice,
        "without_event": sum(1 for cid, owner in owner_of.items() if owner and cid not in per_complaint),
        "mismatched": mismatched,
    }


def child() -> int:
    """A copy of Heard exactly as `python app.py serve` runs it, with `IntakeUseCases._assign` timed."""
    import app
    from bot.services.intake import IntakeUseCases

    timings: list[float] = []
    assign = IntakeUseCases._assign

    def timed(self, session, created, now):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return assign(self, session, created, now)
        finally:
            timings.append((time.perf_counter() - started) * 1000)

    IntakeUseCases._assign = timed  # type: ignore[method-assign]
    code = app.main(["serve"])
    Path(os.environ["BENCH_TIMINGS"]).write_text(json.dumps(timings))
    return code


def main() -> int:
    if sys.argv[1:] == ["--child"]:
        return child()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL URL (the database is WIPED)")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--baseline-count", type=int, default=3_000, help="0: no baseline run")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument("--mode", default="round-robin", choices=["round-robin", "least-loaded"])
    parser.add_argument("--direct", type=int, default=500)
    args = parser.parse_args()

    from sandbox.fake_slack import FakeSlack

    agents = [f"U0AGENT{n:03d}" for n in range(args.agents)]
    fake = FakeSlack(bot_token=BOT_TOKEN).start()
    print(f"bench/assignment.py — {safe_url(args.database_url)}")
    database = prepare_schema(args.database_url)
    print(f"database: {server_version(database)}; CPUs: {os.cpu_count()}")
    database.dispose()
    try:
        baseline = None
        if args.baseline_count:
            print(f"baseline: {args.baseline_count:,} complaints at {args.rate:g}/s, AUTO_ASSIGN=off, two copies")
            baseline = run_copies(
                args.database_url, fake.api_url, agents, "off", args.baseline_count, args.rate, "base"
            )
        print(f"run: {args.count:,} complaints at {args.rate:g}/s, AUTO_ASSIGN={args.mode}, {args.agents} agents")
        measured = run_copies(args.database_url, fake.api_url, agents, args.mode, args.count, args.rate, "run")
        figures = check(args.database_url, agents)
        direct = direct_assign(args.database_url, agents, args.direct) if args.direct else []
    finally:
        fake.stop()

    def describe(name: str, run: dict) -> float:
        latencies = run["latencies"]
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        print(
            f"{name}: {len(latencies):,} answered in {run['took']:.0f} s ({len(latencies) / run['took']:.1f}/s); "
            f"statuses {dict(run['statuses'])}; ingest p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
            f"max {max(latencies):.1f} ms"
        )
        return p99

    print()
    base_p99 = describe("baseline (off)", baseline) if baseline else None
    run_p99 = describe(f"with {args.mode}", measured)
    assign_ms = measured["assign_ms"]
    if assign_ms:
        p50, p99 = percentile(assign_ms, 50), percentile(assign_ms, 99)
        verdict = "met" if p99 <= 20 else "MISSED"
        print(
            f"assignment time in ingest ({len(assign_ms):,} batches, both copies): p50 {p50:.2f} ms, "
            f"p99 {p99:.2f} ms, max {max(assign_ms):.1f} ms (target p99 <= 20 ms): {verdict}"
        )
    if base_p99 is not None:
        print(f"ingest p99 with assignment minus baseline p99 (cross-check, noisy): {run_p99 - base_p99:+.1f} ms")
    if direct:
        print(
            f"Assigner.assign alone (one complaint, {len(direct)} times, {figures['total']:,} complaints in the "
            f"database): p50 {percentile(direct, 50):.2f} ms, p99 {percentile(direct, 99):.2f} ms"
        )
    counts = figures["counts"]
    fair = figures["spread"] <= 1 or args.mode != "round-robin"
    print(
        f"fairness: per agent min {min(counts)}, max {max(counts)}, max - min = {figures['spread']} "
        f"(target <= 1 for round-robin): {'met' if fair else 'MISSED'}"
    )
    print(
        f"exactly once: {figures['total']:,} complaints, {figures['unassigned']} unassigned, "
        f"{figures['twice']} assigned twice, {figures['without_event']} owners without their audit event, "
        f"{figures['mismatched']} events naming another owner"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
