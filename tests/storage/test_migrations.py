"""Migrations: the models and the Alembic history agree; start-up refuses an unmigrated database."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from storage.db import DatabaseUrlError, make_engine
from storage.migrate import DatabaseNotMigrated, current_revision, ensure_migrated, head_revision

# APScheduler's job store table comes from a migration but is no model (as in storage/migrations/env.py).
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], "models changed without a migration: run storage.migrate.make_revision"
    assert current_revision(engine) == head_revision()
    ensure_migrated(engine)


def test_unmigrated_database_is_refused_with_the_fix(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    with pytest.raises(DatabaseNotMigrated, match="run `gridbot db upgrade` first"):
        ensure_migrated(engine)


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize("url", ["not a url", "mysql://root@localhost/db", ""])
def test_malformed_database_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(DatabaseUrlError, match="GRIDBOT_DATABASE_URL"):
        make_engine(url)
