"""Auto-assignment (`AUTO_ASSIGN`): a new complaint gets an owner at intake, right after it is filed.

The pool is the people on duty now in the rotations (`ROTATIONS_FILE`) the complaint goes to — a rotation that
`takes` VIP, high-priority or Legal-flagged complaints gets those, the others the rest — or, without a rotation
file, the user ids in `HEARD_AGENTS`. Available = in the pool, not on leave (an override covers them), not away
(Heard's Home tab), and under `AGENT_CAP` open complaints.

- round-robin: agents take turns in the pool's order; on PostgreSQL without a cap each turn is a number reserved
  with one atomic increment of the pool's cursor row, committed at once on its own (no lock held while a batch is
  filed), turn t going to the (t mod n)-th of the n agents available; otherwise (a cap, SQLite) the next available
  agent after the last one given a complaint, under the lock described below;
- least-loaded: the available agent with the fewest open claimed complaints (ties: round-robin's order).

Exactly once across copies: the owner is written into each new complaint's row before the batch inserts it
(`IntakeUseCases._assign`), in the unit of work that files it, with its "assigned" audit event in the batch's one
multi-row audit insert; a complaint is filed once (its unique key), so it is assigned once. Least-loaded and caps
lock the pool's `assign_cursors` row (`SELECT ... FOR UPDATE`; SQLite's writer lock is held anyway) before open
complaints are counted, so a copy filing at the same moment waits and then sees what this one assigned. A batch
costs two or three statements whatever its size: who is away, the turns (or: lock, count, move the cursor).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, create_engine, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.rotations import Rotation, RotationsFile, Schedule
from storage import queries
from storage.models import AgentStatus, AssignCursor, Complaint

# Who `claimed_by` names when the rotation gave the complaint its owner (the card says "by rotation").
BY_ROTATION = "heard:rotation"
AGENTS_POOL = "agents"
ROUND_ROBIN = "round-robin"
LEAST_LOADED = "least-loaded"


@dataclass(frozen=True)
class Pool:
    key: str  # the cursor row's name
    people: tuple[str, ...]  # in turn order
    rotation: str | None  # the rotation(s) it comes from, for the audit trail


@dataclass(frozen=True)
class Assigned:
    agent: str
    pool: Pool
    mode: str


def kinds_of(complaint: Any, vip_followers: int) -> list[str]:
    """What a complaint is, as rotations' `takes` name it."""
    kinds = []
    if (complaint.author_followers or 0) >= vip_followers:
        kinds.append("vip")
    if complaint.priority == "high":
        kinds.append("high")
    if complaint.threats:
        kinds.append("legal")
    return kinds


class Assigner:
    def __init__(self, settings: Settings, rotations: RotationsFile | None, engine: Engine | None = None) -> None:
        self.settings = settings
        self.rotations = rotations
        self.mode = settings.auto_assign
        # PostgreSQL: round-robin's turns are taken outside the filing transaction, each one statement committed on
        # its own (autocommit) without waiting for the disk, on a small pool of connections of their own.
        self.engine = None
        if self.mode == ROUND_ROBIN and engine is not None and engine.dialect.name == "postgresql":
            self.engine = create_engine(
                engine.url,
                pool_size=2,
                max_overflow=8,
                pool_pre_ping=True,
                isolation_level="AUTOCOMMIT",
                connect_args={"options": "-c synchronous_commit=off"},
            )

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    @property
    def enabled(self) -> bool:
        return self.mode in (ROUND_ROBIN, LEAST_LOADED)

    def pools(self, complaints: Sequence[Any], now: datetime) -> list[Pool | None]:
        """The pool each complaint draws from (None: nobody can be on it)."""
        if self.rotations is None:
            agents = tuple(agent for agent in self.settings.agents if not agent.startswith("S"))
            pool = Pool(AGENTS_POOL, agents, None) if agents else None
            return [pool for _ in complaints]
        schedule = self.rotations.current()
        general = _pool(schedule, schedule.general(), now)
        routed: dict[tuple[str, ...], Pool | None] = {}
        result: list[Pool | None] = []
        for complaint in complaints:
            kinds = tuple(kinds_of(complaint, self.settings.triage.vip_followers))
            if kinds and schedule.taking(kinds):
                if kinds not in routed:
                    routed[kinds] = _pool(schedule, schedule.taking(kinds), now)
                result.append(routed[kinds])
            else:
                result.append(general)
        return result

    def assign(self, session: Session, complaints: Sequence[Any], now: datetime) -> list[Assigned | None]:
        """Choose an owner for each complaint (in order), moving each pool's cursor. Nothing is written to the
        complaints: the caller sets `owner_id` and audits."""
        if not self.enabled or not complaints:
            return [None for _ in complaints]
        pools = self.pools(complaints, now)
        used = {pool.key: pool for pool in pools if pool is not None and pool.people}
        if not used:
            return [None for _ in complaints]
        everyone = sorted({person for pool in used.values() for person in pool.people})
        schedule = self.rotations.current() if self.rotations is not None else None
        on_leave = {p for p in everyone if schedule.on_leave(p, now)} if schedule is not None else set()
        if self.mode == ROUND_ROBIN and self.settings.agent_cap is None and self.engine is not None:
            return self._take_turns(pools, everyone, on_leave, now)
        away = set(
            session.scalars(select(AgentStatus.user_id).where(AgentStatus.user_id.in_(everyone), AgentStatus.away))
        )
        return self._under_lock(session, pools, sorted(used), everyone, away | on_leave, now)

    def _take_turns(
        self, pools: Sequence[Pool | None], everyone: Sequence[str], on_leave: set[str], now: datetime
    ) -> list[Assigned | None]:
        """Round-robin without a cap (PostgreSQL), in one round trip: each pool's turns are reserved with one atomic
        increment of its cursor row, committed at once on a connection of its own (without waiting for the disk: a
        database crash forgets at most the last few turns), in the statement that also reads who is away; so no
        lock is held while the batch is filed. Turn t goes to the (t mod n)-th of the n agents available, in the
        pool's order: copies never take the same turn."""
        wanted = Counter(pool.key for pool in pools if pool is not None and pool.people)
        assert self.engine is not None
        keys = sorted(wanted)
        params: dict[str, Any] = {"now": now, "people": list(everyone)}
        rows = []
        for index, key in enumerate(keys):
            params[f"pool{index}"], params[f"count{index}"] = key, wanted[key]
            rows.append(f"(:pool{index}, NULL, :count{index}, :now)")
        statement = text(
            "WITH taken AS (INSERT INTO assign_cursors (pool, last_agent, turns, updated_at) VALUES "
            + ", ".join(rows)
            + " ON CONFLICT (pool) DO UPDATE SET turns = assign_cursors.turns + excluded.turns, "
            "updated_at = excluded.updated_at RETURNING pool, turns) "
            "SELECT pool, turns, NULL AS away FROM taken UNION ALL "
            "SELECT NULL, NULL, user_id FROM agent_status WHERE away AND user_id = ANY(:people)"
        ).bindparams(bindparam("now", type_=AssignCursor.__table__.c.updated_at.type))
        turn: dict[str, int] = {}
        away = set(on_leave)
        with self.engine.connect() as connection:
            for pool_key, total, away_user in connection.execute(statement, params):
                if away_user is not None:
                    away.add(away_user)
                else:
                    turn[pool_key] = int(total) - wanted[pool_key]
        result: list[Assigned | None] = []
        for pool in pools:
            people = [] if pool is None else [person for person in pool.people if person not in away]
            if pool is None or not people:
                result.append(None)
                continue
            agent = people[turn[pool.key] % len(people)]
            turn[pool.key] += 1
            result.append(Assigned(agent, pool, self.mode))
        return result

    def _under_lock(
        self,
        session: Session,
        pools: Sequence[Pool | None],
        keys: Sequence[str],
        everyone: Sequence[str],
        away: set[str],
        now: datetime,
    ) -> list[Assigned | None]:
        """Least-loaded, a cap, or SQLite: the pools' cursor rows are locked for the rest of this unit of work, so
        counts of open complaints include what other copies just assigned (their owners commit with their lock)."""
        cursors = _lock_cursors(session, keys, now)
        load: Counter[str] = Counter()
        if self.mode == LEAST_LOADED or self.settings.agent_cap:
            load.update(_open_counts(session, everyone))
        cap = self.settings.agent_cap
        result: list[Assigned | None] = []
        for pool in pools:
            if pool is None or not pool.people:
                result.append(None)
                continue
            available = [p for p in pool.people if p not in away and (cap is None or load[p] < cap)]
            if not available:
                result.append(None)
                continue
            last = cursors[pool.key]
            order = _after(pool.people, last)
            if self.mode == LEAST_LOADED:
                rank = {person: index for index, person in enumerate(order)}
                agent = min(available, key=lambda person: (load[person], rank[person]))
            else:
                agent = next(person for person in order if person in available)
            cursors[pool.key] = agent
            load[agent] += 1
            result.append(Assigned(agent, pool, self.mode))
        turns = Counter(item.pool.key for item in result if item is not None)
        for key, count in turns.items():
            session.execute(
                update(AssignCursor)
                .where(AssignCursor.pool == key)
                .values(last_agent=cursors[key], turns=AssignCursor.turns + count, updated_at=now)
            )
        return result


def _pool(schedule: Schedule, rotations: Sequence[Rotation], now: datetime) -> Pool | None:
    if not rotations:
        return None
    people = schedule.on_duty(now, rotations)
    return Pool("rotation:" + "+".join(r.name for r in rotations), people, ", ".join(r.name for r in rotations))


def _after(people: Sequence[str], last: str | None) -> list[str]:
    """`people` in turn order starting after `last` (from the start when `last` is not among them)."""
    if last not in people:
        return list(people)
    index = list(people).index(last)
    return [*people[index + 1 :], *people[: index + 1]]


def _lock_cursors(session: Session, keys: Sequence[str], now: datetime) -> dict[str, str | None]:
    """Each pool's last agent, its row locked for this transaction (created on first use; a copy creating it at
    the same moment makes the insert do nothing, and the lock then waits for it)."""
    table = AssignCursor.__table__
    rows = dict(
        session.execute(
            select(AssignCursor.pool, AssignCursor.last_agent).where(AssignCursor.pool.in_(keys)).with_for_update()
        ).all()
    )
    missing = [key for key in keys if key not in rows]
    if missing:
        dialect = session.get_bind().dialect.name
        values = [{"pool": key, "last_agent": None, "turns": 0, "updated_at": now} for key in missing]
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            session.execute(pg_insert(table).values(values).on_conflict_do_nothing())
        else:
            session.execute(insert(table).prefix_with("OR IGNORE"), values)
        rows.update(
            session.execute(
                select(AssignCursor.pool, AssignCursor.last_agent)
                .where(AssignCursor.pool.in_(missing))
                .with_for_update()
            ).all()
        )
    return rows


def _open_counts(session: Session, people: Sequence[str]) -> dict[str, int]:
    """Open complaints each of `people` owns (from the owner queue's partial index)."""
    rows = session.execute(
        select(Complaint.owner_id, func.count())
        .where(queries.is_open(), Complaint.owner_id.in_(people))
        .group_by(Complaint.owner_id)
    ).all()
    return {owner: count for owner, count in rows}
