"""Engine and sessions: SQLite (WAL, busy timeout, immediate write locks) by default, PostgreSQL in production."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails with SQLITE_BUSY if another writer committed
        # in between; taking the write lock up front makes every unit of work serialise cleanly instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """Owns the engine; `unit_of_work()` (or `statements()`, Core only) is the only way code touches the database."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.engine = make_engine(database_url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._sqlite_writer = threading.Lock() if self.is_sqlite else None

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The factory of `unit_of_work()`'s sessions, for session events (bot/observability/metrics.py)."""
        return self._sessions

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends normally, rolled back when it raises."""
        with self._turn(), self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def statements(self) -> Iterator[Connection]:
        """One transaction for a few Core statements that need none of the ORM's bookkeeping (a hot path's
        outcome): committed when the block ends normally, rolled back when it raises."""
        with self._turn(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def _turn(self) -> Iterator[None]:
        # SQLite has one writer at a time, and its busy handler waits by sleeping in growing steps (up to 100 ms),
        # so threads of one process queue here instead; other processes still meet the busy timeout.
        if self._sqlite_writer is None:
            yield
            return
        with self._sqlite_writer:
            yield

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def is_outage(error: BaseException) -> bool:
    """The database could not be reached or could not take the work just now (connection refused or dropped, a pool
    or lock timeout, a read-only standby): nothing about the request is wrong, so the same request may work later."""
    return isinstance(
        error,
        exc.OperationalError | exc.InterfaceError | exc.InternalError | exc.DisconnectionError | exc.TimeoutError,
    )


def is_bad_data(error: BaseException) -> bool:
    """The database (or its driver) refused a value: a NUL in PostgreSQL text, a lone surrogate that has no UTF-8
    form, a number out of range. The request that carried it is at fault, not the database."""
    # SQLAlchemy may wrap a driver's complaint about a parameter; the complaint itself says what it was.
    wrapped = isinstance(error, exc.StatementError) and not isinstance(error, exc.DBAPIError)
    cause = error.orig if wrapped else error  # type: ignore[attr-defined]
    return isinstance(cause, exc.DataError | UnicodeError | OverflowError)


# Any constant works; it only has to be the same in every copy of Heard sharing one PostgreSQL database.
MIGRATION_LOCK_KEY = 0x4E415244


def migrate(database: Database, revision: str = "head") -> None:
    """Apply Alembic migrations on Heard's own connection (at start-up, by `app.py migrate`, and in tests)."""
    _run_alembic(database, "upgrade", revision)


def downgrade(database: Database, revision: str = "base") -> None:
    _run_alembic(database, "downgrade", revision)


def _run_alembic(database: Database, direction: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Several copies starting together must not race each other through the same migration.
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)
        connection.commit()
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
