"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from GRIDBOT_TEST_POSTGRES_URL (default: the local server, database `test`). Where it
is unreachable those tests skip with the reason, unless GRIDBOT_REQUIRE_POSTGRES=1 (set by CI), which
turns a missing server into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.bootstrap import build_context
from config.settings import load_settings
from handlers.context import Context
from storage.db import make_engine
from storage.migrate import upgrade
from tests.cli_helpers import isolate

POSTGRES_URL = os.environ.get("GRIDBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("GRIDBOT_REQUIRE_POSTGRES") == "1"


class FakeClock:
    """A controllable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Tuesday

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def _postgres_engine() -> tuple[Engine, str]:
    schema = f"gridbot_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        reason = f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__})"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason}, and GRIDBOT_REQUIRE_POSTGRES=1 makes it mandatory")
        pytest.skip(f"{reason}; set GRIDBOT_REQUIRE_POSTGRES=1 to make this a failure")
    finally:
        admin.dispose()
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    return engine, schema


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def migrated_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "gridbot.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    engine, schema = _postgres_engine()
    upgrade(engine)
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    """A migrated database, emptied before each test."""
    with migrated_engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
        if conn.dialect.name == "postgresql":  # ticket numbers start at 1 in every test
            conn.execute(text("SELECT setval(pg_get_serial_sequence('ticket', 'id'), 1, false)"))
    return migrated_engine  # SQLite reuses max(id)+1, so an emptied table starts at 1 too


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ctx(engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Context:
    isolate(monkeypatch, tmp_path)  # no stray ./gridbot.toml or GRIDBOT_* changes the settings under test
    context = build_context(load_settings(), engine)
    context.clock = clock
    return context
