"""Migrations go all the way down and up again on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import Database, downgrade, migrate
from storage.models import Base
from storage.queries import include_in_model_comparison


@pytest.fixture
def scratch_database(tmp_path: Path) -> Database:
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the PostgreSQL run checks the same migrations through the shared test database")
    return Database(f"sqlite:///{tmp_path / 'scratch.db'}")


def test_down_and_up_again(scratch_database: Database) -> None:
    migrate(scratch_database)
    downgrade(scratch_database)
    assert set(inspect(scratch_database.engine).get_table_names()) == {"alembic_version"}
    migrate(scratch_database)
    assert {"complaints", "audit_events", "deliveries"} <= set(inspect(scratch_database.engine).get_table_names())


# SQLAlchemy cannot reflect SQLite's expression indexes and says so; those are the lookups' own, left out anyway.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning")
def test_models_match_the_migrated_schema(database: Database) -> None:
    with database.engine.connect() as connection:
        # As migrations/env.py does: the search table or column and expression indexes are not in the models.
        context = MigrationContext.configure(connection, opts={"include_name": include_in_model_comparison})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
