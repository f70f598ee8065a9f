"""Alembic environment: runs on the connection Heard hands over, or on DATABASE_URL from the command line."""

from __future__ import annotations

import logging

from alembic import context
from sqlalchemy import Connection

from storage.models import Base
from storage.queries import include_in_model_comparison

target_metadata = Base.metadata
log = logging.getLogger("heard.migrations")


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
        # The lookups' search table or column and expression indexes live in migrations only (storage/queries.py).
        include_name=include_in_model_comparison,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    # `alembic` invoked by hand (e.g. `alembic revision --autogenerate`): use Heard's own settings.
    from bot.config import load_settings
    from storage.db import Database

    database = Database(load_settings().database_url)
    with database.engine.connect() as own_connection:
        run_on(own_connection)
        own_connection.commit()


run()
