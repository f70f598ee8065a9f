"""How long the managers' digest and the `/complaints` lookups take on a year of complaints, and the indexes they use.

What is measured
    A database holding ``--complaints`` complaints (1,000,000 by default) spread over the year before a fixed
    "now" (Wednesday 11 Nov 2026, 08:00 in HEARD_TZ America/New_York, when the digest would go out): more on
    weekdays than at weekends and in the daytime than at night, a slow growth over the year; sources x, facebook,
    instagram, webhook, trustpilot, email; six categories or none. About 92% are acknowledged by an agent after a
    log-normal delay (median 22 minutes; about one in eight of them misses the 60-minute window), the rest are
    resolved without one (resolving acknowledges, late) or, when recent, still open: about 80% of a day's
    complaints are acknowledged in time. Most are resolved a few hours after the acknowledgement, a few never.
    The audit trail holds what the digest reads and what bulks it out ("received", "acknowledged", "resolved",
    and a "breached" event for every missed deadline, either clock); about 5% of the acknowledged complaints are
    escalated to one of five departments and 3% of the resolved ones get a follow-up three days later. Seeding
    uses the drivers directly (executemany on SQLite, COPY on PostgreSQL) into the migrated schema, so the search
    index is filled as Heard fills it (SQLite: the FTS5 table's triggers; PostgreSQL: the generated
    ``search_vector`` column and its GIN index); it is not measured (its time is printed).

    Who writes and what: 70% of the texts are real complaints - the opening message of each of the 500
    conversations in ``--texts`` (IBM's "Twitter Conversations Dataset for Conversational Document Prediction",
    test split, Apache-2.0: customers of 25 brands on Twitter in 2020), some topics far more often than others
    (weights 1/(rank + 20)) - and 30% short synthetic ones, some with an order number. Most authors write once or
    twice; 2% of the complaints come from 1,000 regulars (Zipf: the most prolific wrote ~2,500), and handles come
    with and without the @ and in varying case, as sources send them. About 5% are high priority (triaged).

    * ``compute_digest`` for yesterday (one local day) and for the week ending yesterday (the Monday summary),
      each ``--runs`` times (7) in a fresh session after one unmeasured warm-up run: median and max wall time.
      Target: max <= 1,000 ms on either database.
    * The same week with BUSINESS_HOURS set, where SLA attainment counts its times in open time.
    * Rendering the chart (matplotlib) and the Block Kit message from the computed digest, for scale; these do
      not touch the database.
    * The `/complaints` lookups through Heard's own use cases (``Services``: its unit of work, the queries of
      ``storage/queries.py``, the dataclasses a reply is rendered from), each ``--lookup-runs`` times (11) after
      one warm-up run: ``open`` (page 1 and page 10), ``mine``, ``overdue``, ``@handle`` (the most prolific author,
      an occasional one, an unknown one) and ``search`` (a common word, a rare word, an order number, two words,
      a word nobody wrote), and ``stats`` (today, 7d, 30d: the figures with SLA attainment per agent). Target:
      max <= 100 ms each.
    * The indexes used: every statement one run of a case sends is captured and explained (``EXPLAIN QUERY PLAN``
      on SQLite, ``EXPLAIN`` on PostgreSQL), and the indexes named in its plan printed.
    * Machine load: the load average and how busy the CPUs were (all processes, /proc/stat) while measuring, as
      other work on the machine slows the figures down.

How to run (from the repository root; a PostgreSQL database given is WIPED: public schema dropped, then migrated)
    python bench/digest.py                                  # SQLite in /tmp/heard_bench_digest.db (~1.5 GB)
    createdb -h 127.0.0.1 -U postgres heard_bench_digest
    python bench/digest.py --postgres                       # SQLite, then PostgreSQL heard_bench_digest
    python bench/digest.py --database-url sqlite --database-url postgresql+psycopg://...   # any list
    python bench/digest.py --complaints 20000 --runs 3      # a smoke run of a few seconds
    python bench/digest.py --database-url postgres --reuse  # skip seeding when the database already holds
                                                            # these complaints (migrations still run)

It prints figures and exits 0 even when a target is missed; it exits 1 only when the benchmark itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import numpy as np  # noqa: E402  (installed with matplotlib)
from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench import common  # noqa: E402
from bench.common import (  # noqa: E402
    FIRST_NAMES,
    LAST_NAMES,
    finish_seeding,
    prepare_schema,
    safe_url,
    server_version,
)
from bot.blocks.digest import digest_message  # noqa: E402
from bot.business_hours import BusinessCalendar  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.delivery.direct import SlackDirect  # noqa: E402
from bot.digest import compute_digest, render_chart  # noqa: E402
from bot.services import Context, Services  # noqa: E402
from bot.services.lookups import PAGE_SIZE, Page  # noqa: E402
from storage import queries  # noqa: E402
from storage.db import Database, migrate  # noqa: E402
from storage.models import Complaint  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/heard_bench_digest"
SQLITE_PATH = Path("/tmp/heard_bench_digest.db")
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 11, 8, 0, tzinfo=TZ).astimezone(UTC)  # a Wednesday morning, digest time
YESTERDAY = date(2026, 11, 10)
ACK_WINDOW = timedelta(minutes=60)
RESOLVE_WINDOW = timedelta(hours=24)
BUSINESS_HOURS = "Mon-Fri 08:00-18:00"  # the business-hours digest case (the data's deadlines stay 24/7)
TARGET_MS = 1000.0
LOOKUP_TARGET_MS = 100.0
CHUNK = 50_000
AGENTS = [f"U0AGENT{n:03d}" for n in range(40)]
CHANNEL = "C0COMPLAINTS"
PERMALINK = "https://acme.slack.com/archives/C0COMPLAINTS/p{}"

# Relative arrivals by local hour (quiet nights, a late-morning peak, a smaller evening one) and by weekday.
HOUR_WEIGHTS = [2, 1, 1, 1, 1, 2, 4, 7, 10, 13, 15, 15, 14, 13, 12, 11, 10, 10, 11, 12, 11, 9, 6, 4]
WEEKDAY_WEIGHTS = [1.1, 1.05, 1.0, 1.0, 0.95, 0.7, 0.65]
SOURCE_WEIGHTS = {"x": 0.35, "facebook": 0.25, "instagram": 0.15, "webhook": 0.10, "trustpilot": 0.08, "email": 0.07}
CATEGORY_WEIGHTS = {
    "delivery": 0.25,
    "billing": 0.18,
    "product": 0.15,
    "app": 0.10,
    "account": 0.07,
    "staff": 0.03,
    None: 0.22,
}
DEPARTMENTS = {"Customer service": 0.45, "Product": 0.25, "Content": 0.12, "Legal": 0.12, "Executives": 0.06}
# Real complaints: IBM's "Twitter Conversations Dataset for Conversational Document Prediction" (EMNLP 2020,
# https://www.aclweb.org/anthology/2020.emnlp-main.25), Apache License 2.0 (its LICENSE is next to the file):
# the first message of each conversation, as the customer wrote it.
REAL_TEXTS = ROOT.parent / "shared" / "fixtures" / "customer-care" / "test.json"
REAL_SHARE = 0.7
TOPIC_SPREAD = 20  # a real text's weight is 1 / (its rank + TOPIC_SPREAD): some topics come up far more often
REGULARS = 1000  # authors who complain again and again (Zipf), writing REGULAR_SHARE of the complaints
REGULAR_SHARE = 0.02
HIGH_PRIORITY_SHARE = 0.05
TRIAGE_REASONS = ['["urgent: refund"]', '["12,400 followers"]', '["threat: lawyer"]', '["personal data: e-mail"]']
# Search words: the commonest of these makes the "common word" search; none of the texts has NO_SUCH_WORD.
COMMON_WORDS = ["account", "order", "refund", "help", "phone", "app", "delivery", "support", "printer", "update"]
NO_SUCH_WORD = "xylophone"
# Synthetic complaints, short and generic; {n} is an order number.
TEXTS = [
    "my order #{n} arrived broken. Fix this.",
    "charged twice and nobody answers",
    "delivery promised for Monday, it is Friday",
    "the app logs me out every 5 minutes",
    "refund still not here after three weeks",
    "courier left my parcel in the rain",
    "support hung up after 40 minutes on hold",
    "account locked after the password reset",
]


# ---------------------------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/digest.py",
        description="Time compute_digest and the /complaints lookups on a year of complaints, and list the indexes "
        "their queries use.",
        epilog="WARNING: a PostgreSQL database given here is wiped (its public schema is dropped, then migrated).",
    )
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        metavar="URL",
        help=f"'sqlite' ({SQLITE_PATH}), 'postgres' ({POSTGRES_URL}) or a SQLAlchemy URL; repeat to run on "
        "several. A PostgreSQL database is WIPED first. Default: sqlite",
    )
    parser.add_argument("--postgres", action="store_true", help=f"also run on {POSTGRES_URL} (WIPES it)")
    parser.add_argument("--complaints", type=int, default=1_000_000, help="complaints over the year (1000000)")
    parser.add_argument("--runs", type=int, default=7, help="measured runs of each digest case (7)")
    parser.add_argument("--lookup-runs", type=int, default=11, help="measured runs of each lookup (11)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the data (1)")
    parser.add_argument(
        "--texts",
        type=Path,
        default=REAL_TEXTS,
        metavar="JSON",
        help=f"real complaint texts: conversations as in the customer-care fixture ({REAL_TEXTS})",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep a database that already holds these complaints (seeded by this benchmark with the same "
        "--complaints, --seed and --texts) instead of seeding afresh; migrations are still applied, so new "
        "indexes are built on the old data",
    )
    args = parser.parse_args(argv)
    if args.complaints < 1000 or args.runs < 1 or args.lookup_runs < 1:
        parser.error("--complaints must be at least 1000, --runs and --lookup-runs at least 1")
    return args


def database_urls(args: argparse.Namespace) -> list[str]:
    named = {"sqlite": f"sqlite:///{SQLITE_PATH}", "postgres": POSTGRES_URL}
    wanted = list(args.database_url) or ["sqlite"]
    if args.postgres:
        wanted.append("postgres")
    return [named.get(url, url) for url in wanted]


# ---------------------------------------------------------------------------------------------------------------
# A year of complaints


@dataclass
class Year:
    """The seeded data as columns (numpy arrays of epoch seconds, NaN for "not yet"), ids 1..n in posting order."""

    posted: np.ndarray
    acknowledged: np.ndarray
    agent_ack: np.ndarray  # True: an agent acknowledged; False: resolving did (or nobody yet)
    resolved: np.ndarray
    owner: list[str | None]
    source: list[str]
    category: list[str | None]
    escalated: np.ndarray  # indexes of escalated complaints
    escalated_at: np.ndarray
    department: list[str]
    follow_up: np.ndarray  # indexes of complaints with a follow-up
    follow_up_due: np.ndarray


def generate(n: int, seed: int) -> Year:
    rng = np.random.default_rng(seed)
    end = NOW.timestamp()
    # Every UTC hour of the year is a cell weighted by its local hour and weekday, so arrivals follow HEARD_TZ
    # (and its DST changes); the year grows by half from start to end.
    cells = np.arange(end - 365 * 86400, end, 3600.0)
    weights = np.empty(len(cells))
    for number, start in enumerate(cells):
        local = datetime.fromtimestamp(start, TZ)
        weights[number] = HOUR_WEIGHTS[local.hour] * WEEKDAY_WEIGHTS[local.weekday()] * (1 + 0.5 * number / len(cells))
    chosen = rng.choice(len(cells), size=n, p=weights / weights.sum())
    posted = np.sort(cells[chosen] + rng.random(n) * 3600)

    agent_ack = rng.random(n) < 0.92
    acknowledged = posted + np.maximum(20.0, rng.lognormal(np.log(22 * 60), 0.9, n))
    resolved = acknowledged + rng.lognormal(np.log(5 * 3600), 1.1, n)
    # Without an agent's acknowledgement a complaint is resolved directly (which acknowledges it) - unless recent.
    direct = posted + rng.lognormal(np.log(6 * 3600), 0.8, n)
    recent = posted > end - 2 * 86400
    acknowledged = np.where(agent_ack, acknowledged, np.where(recent, np.nan, direct))
    resolved = np.where(agent_ack, resolved, np.where(recent, np.nan, direct))
    resolved[rng.random(n) < 0.0005] = np.nan  # the odd one nobody ever closes
    acknowledged[acknowledged > end] = np.nan  # not happened yet at "now"
    resolved[resolved > end] = np.nan
    agent_ack &= ~np.isnan(acknowledged)

    claimed = agent_ack | (rng.random(n) < 0.3)
    agents = rng.integers(0, len(AGENTS), n)
    owner = [AGENTS[agent] if is_claimed else None for agent, is_claimed in zip(agents, claimed, strict=True)]
    escalated = np.flatnonzero(agent_ack & (rng.random(n) < 0.05))
    escalated_at = np.minimum(acknowledged[escalated] + rng.uniform(300, 7200, len(escalated)), end)
    follow_up = np.flatnonzero(~np.isnan(resolved) & (rng.random(n) < 0.03))
    return Year(
        posted=posted,
        acknowledged=acknowledged,
        agent_ack=agent_ack,
        resolved=resolved,
        owner=owner,
        source=_pick(rng, SOURCE_WEIGHTS, n),
        category=_pick(rng, CATEGORY_WEIGHTS, n),
        escalated=escalated,
        escalated_at=escalated_at,
        department=_pick(rng, DEPARTMENTS, len(escalated)),
        follow_up=follow_up,
        follow_up_due=resolved[follow_up] + 3 * 86400,
    )


def _pick(rng: np.random.Generator, weights: dict[Any, float], n: int) -> list[Any]:
    names = list(weights)
    chosen = rng.choice(len(names), size=n, p=np.array(list(weights.values())) / sum(weights.values()))
    return [names[number] for number in chosen]


@dataclass
class People:
    """Who wrote each complaint and what (lists by complaint: index = id - 1), and what the lookups look for."""

    handle: list[str]
    name: list[str]
    text: list[str]
    priority: list[str]
    triage_reasons: list[str]
    real_texts: int  # how many different real texts there were to draw from
    prolific: str  # the regular with the most complaints, typed as a person would (lower case, with the @)
    occasional: str  # the author of the complaint in the middle of the year, as stored
    common_word: str
    rare_word: str
    order_number: str
    two_words: str


def load_real_texts(path: Path) -> list[str]:
    """The opening message of each conversation in the customer-care fixture (see REAL_TEXTS), once each."""
    if not path.is_file():
        return []
    texts: dict[str, None] = {}
    for conversation in json.loads(path.read_text(encoding="utf-8")):
        turns = [turn for turn in conversation["dialogContent"] if "agent" not in turn]
        if turns and turns[0]["message"].strip():
            texts[turns[0]["message"]] = None
    return list(texts)


def ascii_name(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def generate_people(n: int, seed: int, real: Sequence[str]) -> People:
    rng = np.random.default_rng(seed + 1000)
    ranked = [real[k] for k in rng.permutation(len(real))]  # the first the commonest topic
    is_real = rng.random(n) < (REAL_SHARE if ranked else 0.0)
    topic_weights = 1 / (np.arange(max(1, len(ranked))) + TOPIC_SPREAD)
    real_pick = rng.choice(len(topic_weights), size=n, p=topic_weights / topic_weights.sum())
    synthetic_pick = rng.integers(0, len(TEXTS), n)
    texts = [
        ranked[real] if is_real else TEXTS[synthetic].format(n=10_000 + number % 90_000)
        for number, is_real, real, synthetic in zip(
            range(1, n + 1), is_real.tolist(), real_pick.tolist(), synthetic_pick.tolist(), strict=True
        )
    ]

    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    numbers = rng.integers(1, 99_999, n)
    regulars = [
        ascii_name(f"{FIRST_NAMES[k % len(FIRST_NAMES)]}_{LAST_NAMES[k // len(FIRST_NAMES) % len(LAST_NAMES)]}{k}")
        for k in range(REGULARS)
    ]
    zipf = 1 / np.arange(1, REGULARS + 1)
    is_regular = rng.random(n) < REGULAR_SHARE
    regular_pick = rng.choice(REGULARS, size=n, p=zipf / zipf.sum())
    spelling = rng.integers(0, 7, n)  # 0: with the @ (as some sources send it), 1: in lower case
    handles, names = [], []
    for regular, which, first_index, last_index, number, spelt in zip(
        is_regular.tolist(),
        regular_pick.tolist(),
        first.tolist(),
        last.tolist(),
        numbers.tolist(),
        spelling.tolist(),
        strict=True,
    ):
        if regular:
            handle = regulars[which]
            first_name, last_name = handle.rstrip("0123456789").split("_")
        else:
            first_name, last_name = FIRST_NAMES[first_index], LAST_NAMES[last_index]
            handle = f"{first_name.lower()}_{number}"
        handles.append("@" + handle if spelt == 0 else handle.lower() if spelt == 1 else handle)
        names.append(f"{first_name} {last_name}")
    high = rng.random(n) < HIGH_PRIORITY_SHARE
    reasons = rng.integers(0, len(TRIAGE_REASONS), n)

    # How many complaints have each word, from how often each text was drawn (counting a million texts is slower).
    real_counts = np.bincount(real_pick[is_real], minlength=len(ranked))
    synthetic_counts = np.bincount(synthetic_pick[~is_real], minlength=len(TEXTS))
    having: dict[str, int] = {}
    pairs: dict[str, int] = {}
    drawn = [(set(queries.search_words(body)), count) for body, count in zip(ranked, real_counts.tolist(), strict=True)]
    drawn += [
        (set(queries.search_words(body.format(n=""))), count)
        for body, count in zip(TEXTS, synthetic_counts.tolist(), strict=True)
    ]
    for words, count in drawn:
        for word in words:
            having[word] = having.get(word, 0) + count
    common = max(COMMON_WORDS, key=lambda word: having.get(word, 0))
    for words, count in drawn:
        if common in words:
            for word in words & set(COMMON_WORDS) - {common}:
                pairs[word] = pairs.get(word, 0) + count
    rare_candidates = [word for word, count in having.items() if count and word.isalpha() and len(word) >= 6]
    rare = min(rare_candidates, key=lambda word: (having[word], word)) if rare_candidates else NO_SUCH_WORD
    with_number = next((i for i in range(n // 3, n) if not is_real[i] and "{n}" in TEXTS[synthetic_pick[i]]), n // 3)
    return People(
        handle=handles,
        name=names,
        text=texts,
        priority=np.where(high, "high", "normal").tolist(),
        triage_reasons=[
            TRIAGE_REASONS[reason] if is_high else "[]"
            for reason, is_high in zip(reasons.tolist(), high.tolist(), strict=True)
        ],
        real_texts=len(ranked),
        prolific="@" + regulars[0].lower(),
        occasional=handles[n // 2],
        common_word=common,
        rare_word=rare,
        order_number=str(10_000 + (with_number + 1) % 90_000),
        two_words=f"{common} {max(pairs, key=pairs.__getitem__)}" if pairs else f"{common} {common}s",
    )


class Stamps:
    """Epoch seconds -> the text each database takes for a UTC timestamp, many at once (numpy formats them)."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite

    def __call__(self, seconds: np.ndarray) -> list[str | None]:
        missing = np.isnan(seconds)
        micros = np.where(missing, 0, np.round(seconds * 1e6)).astype("int64").astype("datetime64[us]")
        texts = np.datetime_as_string(micros, unit="us")
        # SQLAlchemy's SQLite format is "2026-11-10 14:10:00.000000"; PostgreSQL gets the zone spelled out.
        texts = np.char.replace(texts, "T", " ") if self.sqlite else np.char.add(texts, "+00")
        return [None if gone else value for value, gone in zip(texts.tolist(), missing.tolist(), strict=True)]


def _columns(names: str) -> list[str]:
    return names.split()


COMPLAINT_COLUMNS = _columns(
    "id source external_id author_handle author_name text url posted_at received_at status owner_id claimed_by "
    "claimed_at acknowledged_by acknowledged_at ack_deadline resolve_deadline ack_stage resolve_stage slack_channel "
    "slack_ts slack_permalink resolved_by resolved_at revision priority triage_reasons personal_data threats "
    "category extra_posts"
)
AUDIT_COLUMNS = _columns("complaint_id at actor action surface detail")
ESCALATION_COLUMNS = _columns(
    "complaint_id department_key department_name reason severity status requested_by requested_at"
)
FOLLOW_UP_COLUMNS = _columns(
    "complaint_id due_at note assignee scheduled_by scheduled_at status sent_at done_by done_at"
)


def complaint_rows(year: Year, people: People, stamp: Stamps) -> Iterator[tuple[Any, ...]]:
    n = len(year.posted)
    rng = np.random.default_rng(7)
    posted, received = stamp(year.posted), stamp(year.posted + rng.uniform(1, 120, n))
    acknowledged, resolved = stamp(year.acknowledged), stamp(year.resolved)
    ack_deadline = stamp(year.posted + ACK_WINDOW.total_seconds())
    resolve_deadline = stamp(year.posted + RESOLVE_WINDOW.total_seconds())
    ack_stage = np.where(np.isnan(year.acknowledged) | (year.acknowledged > year.posted + 3600), 3, 0).tolist()
    for i in range(n):
        number = i + 1
        status = "resolved" if resolved[i] else "acknowledged" if acknowledged[i] else "new"
        agent = year.owner[i]
        acker = (agent or AGENTS[number % len(AGENTS)]) if acknowledged[i] else None
        handle = people.handle[i]
        yield (
            number,
            year.source[i],
            str(number),
            handle,
            people.name[i],
            people.text[i],
            f"https://social.example/{handle.lstrip('@')}/{number}",
            posted[i],
            received[i],
            status,
            agent,
            agent,
            posted[i] if agent else None,  # claimed_at: near enough
            acker,
            acknowledged[i],
            ack_deadline[i],
            resolve_deadline[i],
            ack_stage[i],
            0,
            CHANNEL,
            f"{int(year.posted[i])}.{number % 1_000_000:06d}",
            PERMALINK.format(number),
            acker if resolved[i] else None,
            resolved[i],
            3,
            people.priority[i],
            people.triage_reasons[i],
            "[]",
            "[]",
            year.category[i],
            0,
        )


def audit_rows(year: Year, stamp: Stamps) -> Iterator[tuple[Any, ...]]:
    """The events per complaint, ordered by time as the audit trail is: received, acknowledged (by an agent),
    breached (each deadline missed by "now"), resolved."""
    n = len(year.posted)
    end = NOW.timestamp()
    ids = np.arange(1, n + 1)
    ack_deadline = year.posted + ACK_WINDOW.total_seconds()
    resolve_deadline = year.posted + RESOLVE_WINDOW.total_seconds()
    acked, resolved = ~np.isnan(year.acknowledged), ~np.isnan(year.resolved)
    ack_missed = (~acked | (np.nan_to_num(year.acknowledged, nan=np.inf) > ack_deadline)) & (ack_deadline <= end)
    resolve_missed = (~resolved | (np.nan_to_num(year.resolved, nan=np.inf) > resolve_deadline)) & (
        resolve_deadline <= end
    )
    parts = [
        (ids, year.posted + 1, "ingest", "received", "ingest", "{}"),
        (ids[year.agent_ack], year.acknowledged[year.agent_ack], None, "acknowledged", "slack:button", "{}"),
        (ids[resolved], year.resolved[resolved], None, "resolved", "slack:modal", "{}"),
        (
            ids[ack_missed],
            ack_deadline[ack_missed] + 2,
            "scheduler",
            "breached",
            "scheduler",
            '{"clock": "acknowledge", "stage": 3}',
        ),
        (
            ids[resolve_missed],
            resolve_deadline[resolve_missed] + 2,
            "scheduler",
            "breached",
            "scheduler",
            '{"clock": "resolve", "stage": 1}',
        ),
    ]
    complaint = np.concatenate([part[0] for part in parts])
    at = np.concatenate([part[1] for part in parts])
    kind = np.concatenate([np.full(len(part[0]), number) for number, part in enumerate(parts)])
    order = np.argsort(at, kind="stable")
    stamps = stamp(at[order])
    for complaint_id, moment, which in zip(complaint[order].tolist(), stamps, kind[order].tolist(), strict=True):
        _, _, actor, action, surface, detail = parts[which]
        yield (
            complaint_id,
            moment,
            actor or year.owner[complaint_id - 1] or AGENTS[0],
            action,
            surface,
            detail,
        )


def escalation_rows(year: Year, stamp: Stamps) -> Iterator[tuple[Any, ...]]:
    stamps = stamp(year.escalated_at)
    for index, at, department in zip(year.escalated.tolist(), stamps, year.department, strict=True):
        yield (
            index + 1,
            department.lower().replace(" ", "-"),
            department,
            "needs the department",
            "medium",
            "accepted",
            year.owner[index] or AGENTS[0],
            at,
        )


def follow_up_rows(year: Year, stamp: Stamps) -> Iterator[tuple[Any, ...]]:
    end = NOW.timestamp()
    due, scheduled = stamp(year.follow_up_due), stamp(year.resolved[year.follow_up])
    for index, due_at, due_text, scheduled_at in zip(
        year.follow_up.tolist(), year.follow_up_due.tolist(), due, scheduled, strict=True
    ):
        assignee = year.owner[index] or AGENTS[0]
        if due_at < end - 12 * 3600:
            status, sent, done_by, done = "done", due_text, assignee, due_text
        elif due_at <= end:
            status, sent, done_by, done = "sent", due_text, None, None
        else:
            status, sent, done_by, done = "scheduled", None, None, None
        yield (
            index + 1,
            due_text,
            "check they are happy",
            assignee,
            assignee,
            scheduled_at,
            status,
            sent,
            done_by,
            done,
        )


def seed(database: Database, year: Year, people: People) -> dict[str, int]:
    stamp = Stamps(database.is_sqlite)
    tables = [
        ("complaints", COMPLAINT_COLUMNS, complaint_rows(year, people, stamp)),
        ("audit_events", AUDIT_COLUMNS, audit_rows(year, stamp)),
        ("escalations", ESCALATION_COLUMNS, escalation_rows(year, stamp)),
        ("follow_ups", FOLLOW_UP_COLUMNS, follow_up_rows(year, stamp)),
    ]
    counts: dict[str, int] = {}
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if database.is_sqlite:
            # A big page cache for this connection: the indexes grow in random order, and with SQLite's default
            # 2 MB every insert would read and write index pages through the OS.
            cursor.execute("PRAGMA cache_size = -1048576")
        for table, columns, rows in tables:
            counts[table] = _load(cursor, database.is_sqlite, table, columns, rows)
            connection.commit()
    finally:
        connection.close()
    finish_seeding(database)
    if not database.is_sqlite:
        # After a bulk load autovacuum would soon set the visibility map, which index-only scans rely on.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.execute(text("VACUUM (ANALYZE) complaints, audit_events, escalations, follow_ups"))
    return counts


def _load(cursor: Any, sqlite: bool, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]) -> int:
    loaded = 0
    if sqlite:
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        # Heard's connections run the driver in autocommit mode (storage/db.py), which would make every row its
        # own transaction here: one explicit transaction per table instead.
        cursor.execute("BEGIN")
        while batch := list(_take(rows, CHUNK)):
            cursor.executemany(statement, batch)
            loaded += len(batch)
        return loaded
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            loaded += 1
    return loaded


def _take(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[tuple[Any, ...]]:
    for _, row in zip(range(size), rows, strict=False):
        yield row


def seeded_already(database: Database, people: People) -> bool:
    """Whether the database holds these complaints: as many, and the same authors and texts (sampled)."""
    wanted = len(people.text)
    sample = [1, wanted // 2, wanted]
    try:
        with database.engine.connect() as connection:
            if connection.scalar(select(func.count()).select_from(Complaint)) != wanted:
                return False
            rows = connection.execute(
                select(Complaint.id, Complaint.author_handle, Complaint.text).where(Complaint.id.in_(sample))
            ).all()
    except Exception:  # no schema yet
        return False
    return sorted(tuple(row) for row in rows) == [(i, people.handle[i - 1], people.text[i - 1]) for i in sample]


# ---------------------------------------------------------------------------------------------------------------
# What is timed


@dataclass(frozen=True)
class Case:
    """One thing timed: `in_session` inside a fresh unit of work (the digest, as the digest job computes it), or
    `call` whole (a lookup through `Services`, which opens its own unit of work as the slash command does)."""

    name: str
    target_ms: float = TARGET_MS
    in_session: Callable[[Session], object] | None = None
    call: Callable[[], object] | None = None


def digest_case(days: int, calendar: BusinessCalendar | None = None) -> Case:
    label = "yesterday" if days == 1 else f"{days} days to yesterday"
    if calendar is not None:
        label += ", business hours"  # SLA attainment's times counted in open time

    def run(session: Session) -> object:
        return compute_digest(
            session, day=YESTERDAY, tz=TZ, now=NOW, ack_window=ACK_WINDOW, days=days, calendar=calendar
        )

    return Case(f"compute_digest, {label}", in_session=run)


# The lookups' cases depend on the seeded authors and words: see lookup_cases().
CASES: list[Case] = [
    digest_case(1),
    digest_case(7),
    digest_case(7, BusinessCalendar.parse(BUSINESS_HOURS, TZ)),
]


def services_for(database: Database) -> Services:
    """Heard's use cases on this database as the app builds them, without Slack (the lookups only read)."""
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": "bench-signing-secret-0123456789abcd",
            "HEARD_CHANNEL": CHANNEL,
            "INGEST_SECRET": "bench-ingest-secret-0123456789abcde",
            "DATABASE_URL": database.url,
        },
        env_file=None,
    )
    return Services(Context.build(settings, database, lambda: None, SlackDirect(None), None))  # type: ignore[arg-type]


def lookup_cases(services: Services, people: People) -> list[Case]:
    """`/complaints open`, `mine`, `overdue`, `@handle` and `search`, as the slash command asks for them."""
    later_page = 9 * PAGE_SIZE  # the 10th page: "More" clicked nine times
    agent = AGENTS[3]
    lookups: list[tuple[str, Callable[[], object]]] = [
        ("open, page 1", lambda: services.lookups.open_complaints()),
        ("open, page 10", lambda: services.lookups.open_complaints(offset=later_page)),
        (f"mine ({agent})", lambda: services.lookups.open_complaints(owner=agent)),
        ("overdue", lambda: services.lookups.open_complaints(overdue_at=NOW)),
        (f"@handle, most prolific ({people.prolific})", lambda: services.lookups.complaints_by_author(people.prolific)),
        (
            f"@handle, occasional ({people.occasional})",
            lambda: services.lookups.complaints_by_author(people.occasional),
        ),
        ("@handle, unknown (@nobody_at_all)", lambda: services.lookups.complaints_by_author("@nobody_at_all")),
        (f"search {people.common_word} (common word)", lambda: services.lookups.search_complaints(people.common_word)),
        (
            f"search {people.common_word}, page 10",
            lambda: services.lookups.search_complaints(people.common_word, offset=later_page),
        ),
        (f"search {people.rare_word} (rare word)", lambda: services.lookups.search_complaints(people.rare_word)),
        (
            f"search {people.order_number} (order number)",
            lambda: services.lookups.search_complaints(people.order_number),
        ),
        (f"search {people.two_words} (two words)", lambda: services.lookups.search_complaints(people.two_words)),
        (f"search {NO_SUCH_WORD} (no hits)", lambda: services.lookups.search_complaints(NO_SUCH_WORD)),
        ("stats today", lambda: services.lookups.complaint_stats("today", NOW)),
        ("stats 7d", lambda: services.lookups.complaint_stats("7d", NOW)),
        ("stats 30d", lambda: services.lookups.complaint_stats("30d", NOW)),
    ]
    return [Case(name, target_ms=LOOKUP_TARGET_MS, call=call) for name, call in lookups]


@dataclass
class Timing:
    case: Case
    ms: list[float] = field(default_factory=list)
    plans: list[tuple[str, str]] = field(default_factory=list)  # (statement, plan summary)
    result: object = None  # what the last run returned


def run_case(database: Database, case: Case) -> tuple[float, object]:
    """One run of a case: (milliseconds, what it returned)."""
    if case.in_session is not None:
        with database.unit_of_work() as session:
            started = time.perf_counter()
            result = case.in_session(session)
            return (time.perf_counter() - started) * 1000, result
    assert case.call is not None
    started = time.perf_counter()
    result = case.call()
    return (time.perf_counter() - started) * 1000, result


def measure(database: Database, case: Case, runs: int) -> Timing:
    timing = Timing(case)
    run_case(database, case)  # warm-up: caches, the pool's connection, SQLAlchemy's compiled statements
    for _ in range(runs):
        ms, timing.result = run_case(database, case)
        timing.ms.append(ms)
    timing.plans = explain(database, case)
    return timing


def explain(database: Database, case: Case) -> list[tuple[str, str]]:
    """Run the case once more, capture its statements, and explain each with the same parameters."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", capture)
    try:
        run_case(database, case)
    finally:
        event.remove(database.engine, "before_cursor_execute", capture)
    plans = []
    with database.engine.connect() as connection:
        for statement, parameters in captured:
            prefix = "EXPLAIN QUERY PLAN " if database.is_sqlite else "EXPLAIN "
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
            lines = [str(row[-1]) for row in rows]
            plans.append((statement, summarise_plan(lines, database.is_sqlite)))
    return plans


def summarise_plan(lines: Sequence[str], sqlite: bool) -> str:
    if sqlite:
        # "SEARCH complaints USING INDEX ix_complaints_posted_at (posted_at>? AND posted_at<?)" -> the index part;
        # "SCAN complaints_fts VIRTUAL TABLE INDEX 0:M1" is the full-text index; a sort shows as a TEMP B-TREE.
        steps = [
            re.sub(r"\s*\(.*\)$", "", line) for line in lines if line.startswith(("SEARCH", "SCAN", "USE TEMP B-TREE"))
        ]
        # Reading a subquery's rows back ("SCAN anon_1", "SCAN (subquery-1)") reads no table: left out.
        return "; ".join(step for step in steps if not re.fullmatch(r"SCAN( anon_\d+)?", step))
    steps = []
    for line in lines:
        match = re.search(
            r"(Seq Scan|Index Only Scan|Index Scan|Bitmap Index Scan)( Backward)?(?: using (\S+))? on (\S+)", line
        )
        if match:
            kind, backward, index, table = match.groups()
            if kind == "Bitmap Index Scan":  # "Bitmap Index Scan on <index>": the name is the index's
                steps.append(f"{kind} {table}")
            else:
                steps.append(f"{kind}{backward or ''} {table}" + (f" using {index}" if index else ""))
        elif re.match(r"\s*(->\s*)?(Incremental )?Sort\b", line):
            steps.append("Sort")
    return "; ".join(steps)


INDEX_NAME = re.compile(r"\b(ix_\w+|uq_\w+|pk_\w+|\w+_pkey|complaints_fts|INTEGER PRIMARY KEY)\b")


def indexes_in(plans: Sequence[tuple[str, str]]) -> list[str]:
    """The indexes the plans name, in order; a table scan is named too (under a LIMIT it stops there: PostgreSQL
    takes a common word's first matches so, see `storage.queries.search`)."""
    names: list[str] = []
    for statement, plan in plans:
        found = ["primary key" if name == "INTEGER PRIMARY KEY" else name for name in INDEX_NAME.findall(plan)]
        if re.search(r"\bSeq Scan\b|\bSCAN \w+(?<!_fts)(;|$)", plan):
            found.append("table scan to the LIMIT" if re.search(r"\bLIMIT\b", statement) else "table scan")
        names += [name for name in found if name not in names]
    return names


# ---------------------------------------------------------------------------------------------------------------
# Machine load


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat (Linux only)."""
    try:
        values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


@dataclass
class Load:
    """How busy the machine was while measuring: other work on it slows the figures down."""

    average_before: float = field(default_factory=lambda: os.getloadavg()[0])
    ticks_before: tuple[int, int] | None = field(default_factory=_cpu_ticks)
    own_before: float = field(default_factory=lambda: sum(os.times()[:2]))
    wall_before: float = field(default_factory=time.monotonic)

    def describe(self, sqlite: bool) -> str:
        ticks = _cpu_ticks()
        own = (sum(os.times()[:2]) - self.own_before) / max(time.monotonic() - self.wall_before, 1e-9)
        text = f"1-minute load average {self.average_before:.2f} before measuring, {os.getloadavg()[0]:.2f} after"
        if ticks and self.ticks_before and ticks[1] > self.ticks_before[1]:
            busy = (ticks[0] - self.ticks_before[0]) / (ticks[1] - self.ticks_before[1])
            server = "SQLite inside it" if sqlite else "not counting PostgreSQL's own processes"
            text += (
                f"; while measuring the {os.cpu_count()} CPUs were {busy:.0%} busy (all processes; this benchmark's "
                f"used {own:.0%} of one CPU, {server})"
            )
        return text


# ---------------------------------------------------------------------------------------------------------------
# Report


def statement_label(statement: str) -> str:
    """A readable name for a captured statement: what it selects from, and on what it filters."""
    flat = " ".join(statement.split())
    tables = re.search(r"\bFROM (\w+)(?: JOIN (\w+))?", flat)
    where = re.search(r"\bWHERE (.*?)(?: GROUP BY| ORDER BY| LIMIT|$)", flat)
    columns = sorted(set(re.findall(r"\b\w+\.(\w+) (?:>=|<|<=|=|IN|!=)", where.group(1)))) if where else []
    source = "+".join(name for name in (tables.groups() if tables else ()) if name)
    return f"{source} by {', '.join(columns) or '-'}"


LOOKUP_FILTERS = [
    ("MATCH", "full-text match"),
    ("@@", "search_vector @@ words"),
    ("ltrim(author_handle", "author key"),
    ("status <> 'resolved'", "open"),
    ("owner_id =", "owner"),
    ("END) <", "deadline passed"),
    ("id IN", "ids of the page"),
]


def lookup_statement_label(statement: str) -> str:
    """A lookup's statement: a page or a count, of what, filtered how."""
    flat = " ".join(statement.split())
    kind = "count" if re.match(r"SELECT count\(\*\)(?: AS \w+)? FROM \(", flat, re.IGNORECASE) else "page"
    table = re.search(r"\bFROM (\w+)", flat)
    filters = [label for needle, label in LOOKUP_FILTERS if needle in flat]
    return f"{kind} of {table.group(1) if table else '?'} by {', '.join(filters) or '-'}"


def result_summary(result: object) -> str:
    if isinstance(result, Page):
        return f"{len(result.items)} shown of {result.total:,}{'+' if result.total_is_floor else ''}"
    return ""


def report(url: str, server: str, seed_line: str, timings: Sequence[Timing], extras: dict[str, float]) -> None:
    print(f"  database   {safe_url(url)} ({server})")
    print(f"  data       {seed_line}")
    print()
    width = max(40, *(len(timing.case.name) + 7 for timing in timings))
    print(f"  {'':<{width}}{'median':>9}{'max':>9}   target")
    for timing in timings:
        median, worst = statistics.median(timing.ms), max(timing.ms)
        verdict = "met" if worst <= timing.case.target_ms else "MISSED"
        detail = result_summary(timing.result) or "[" + ", ".join(f"{ms:.0f}" for ms in timing.ms) + "]"
        target = f"max <= {timing.case.target_ms:,.0f}:"
        print(f"  {timing.case.name + ' (ms)':<{width}}{median:9.1f}{worst:9.1f}   {target:<14} {verdict:<7}{detail}")
    for name, ms in extras.items():
        print(f"  {name + ' (ms)':<{width}}{ms:9.1f}")
    print()
    for timing in timings:
        lookup = timing.case.call is not None
        label = lookup_statement_label if lookup else statement_label
        if lookup:
            print(f"  {timing.case.name}: {', '.join(indexes_in(timing.plans)) or 'no index'}")
        else:
            print(f"  statements of {timing.case.name} and the indexes they use:")
        for statement, plan in timing.plans:
            print(f"    {label(statement):<52} {plan}")
    for group, in_group in (("digest", False), ("lookups", True)):
        plans = [plan for timing in timings if (timing.case.call is not None) == in_group for plan in timing.plans]
        if plans:
            print(f"  indexes used by the {group}: {', '.join(sorted(indexes_in(plans))) or 'none'}")


def print_header(args: argparse.Namespace) -> None:
    common.print_header(
        f"sizes     {args.complaints:,} complaints over the year to {NOW.astimezone(TZ):%a %d %b %Y %H:%M} "
        f"{TZ.key}; {args.runs} runs per digest case, {args.lookup_runs} per lookup, after a warm-up run each"
    )


def run_one(url: str, args: argparse.Namespace, real_texts: Sequence[str]) -> None:
    if url.startswith("sqlite") and not args.reuse:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.monotonic()
    year = generate(args.complaints, args.seed)
    people = generate_people(args.complaints, args.seed, real_texts)
    database = Database(url)
    reused = args.reuse and seeded_already(database, people)
    if reused:
        migrate(database)
        finish_seeding(database)
        seed_line = f"reused the {args.complaints:,} complaints already there (migrated, analysed)"
    else:
        database.dispose()
        database = prepare_schema(url)
        counts = seed(database, year, people)
        seed_line = (
            ", ".join(f"{count:,} {table}" for table, count in counts.items())
            + f"; seeded in {time.monotonic() - started:.0f} s"
        )
    try:
        print(f"  {seed_line}", flush=True)
        load = Load()
        timings = [measure(database, case, args.runs) for case in CASES]
        services = services_for(database)
        timings += [measure(database, case, args.lookup_runs) for case in lookup_cases(services, people)]
        load_line = load.describe(database.is_sqlite)
        with database.unit_of_work() as session:
            digest = compute_digest(session, day=YESTERDAY, tz=TZ, now=NOW, ack_window=ACK_WINDOW)
        extras = {
            "render_chart (no database)": _best_ms(lambda: render_chart(digest, ACK_WINDOW)),
            "digest_message (no database)": _best_ms(lambda: digest_message(digest, TZ, NOW)),
        }
        figures = digest.current
        texts = f"{people.real_texts} real texts" if people.real_texts else f"no real texts ({args.texts} not found)"
        seed_line += (
            f". Yesterday: {figures.received:,} received, {figures.acknowledged_in_window_pct or 0:.0f}% in the "
            f"window, {figures.breaches:,} breaches, {figures.resolved:,} resolved; {digest.open_total:,} open now. "
            f"Texts: {texts} ({REAL_SHARE:.0%}) and {len(TEXTS)} synthetic ones"
        )
        report(url, server_version(database), seed_line, timings, extras)
        print(f"  load       {load_line}")
    finally:
        database.dispose()


def _best_ms(work: Callable[[], object], times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        work()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    real_texts = load_real_texts(args.texts)
    print_header(args)
    for url in database_urls(args):
        print()
        print(f"== {make_url(url).get_backend_name()} ".ljust(100, "="))
        try:
            run_one(url, args, real_texts)
        except Exception as exc:
            first_line = (str(exc).strip().splitlines() or [""])[0][:500]
            print(f"benchmark failed on {safe_url(url)}: {type(exc).__name__}: {first_line}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
