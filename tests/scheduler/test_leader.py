"""The scheduler's leader lock: one holder per schema on PostgreSQL, taken over when the holder's session dies.

Two LeaderLock instances on two engines stand for two gridbot processes; the holder's "death" is its
session being terminated from a third connection (what PostgreSQL does when a killed process's socket
closes). SQLite is single-process: its one process always leads.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from scheduler.leader import LeaderLock, Leadership
from storage.db import make_engine
from tests.conftest import POSTGRES_URL

postgres_only = pytest.mark.parametrize("migrated_engine", ["postgres"], indirect=True)


def schema_of(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT current_schema()")).scalar())


def engine_in(schema: str) -> Engine:
    return make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture
def engines(migrated_engine: Engine) -> Iterator[tuple[Engine, Engine]]:
    """Two engines ("processes") on the test session's schema."""
    schema = schema_of(migrated_engine)
    first, second = engine_in(schema), engine_in(schema)
    yield first, second
    first.dispose()
    second.dispose()


def terminate(admin: Engine, pid: int | None) -> None:
    """Kill a session from outside, as PostgreSQL does when its client process dies."""
    assert pid
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


def acquired_within(lock: LeaderLock, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if lock.try_acquire():
            return True
        time.sleep(0.05)
    return False


@postgres_only
def test_only_one_acquires_and_a_release_hands_over(engines: tuple[Engine, Engine]) -> None:
    first, second = LeaderLock(engines[0]), LeaderLock(engines[1])
    try:
        assert first.try_acquire()
        assert first.try_acquire()  # asking again while holding keeps it
        assert not second.try_acquire()
        assert first.is_held() and not second.is_held()
        first.release()
        assert not first.is_held()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


@postgres_only
def test_the_lock_moves_when_its_holders_session_dies(engines: tuple[Engine, Engine],
                                                      migrated_engine: Engine) -> None:
    first, second = LeaderLock(engines[0]), LeaderLock(engines[1])
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        terminate(migrated_engine, first.backend_pid)
        started = time.monotonic()
        assert acquired_within(second, 5), "the lock of a dead session must become free"
        print(f"\nlock taken over {time.monotonic() - started:.2f}s after the holder's session was killed")
        assert not first.is_held(), "the dead holder must notice it no longer leads"
        assert not first.try_acquire()  # it reconnects, but the lock is the other's now
        assert second.is_held()
    finally:
        first.release()
        second.release()


@postgres_only
def test_the_lock_connection_is_not_one_of_the_pools(engines: tuple[Engine, Engine]) -> None:
    lock = LeaderLock(engines[0])
    try:
        assert lock.try_acquire()
        engines[0].dispose()  # the service disposing of its pool leaves the leader's session alone
        assert lock.is_held()
        with engines[0].connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != lock.backend_pid
    finally:
        lock.release()


@postgres_only
def test_deployments_in_other_schemas_elect_their_own_leader(engines: tuple[Engine, Engine],
                                                              migrated_engine: Engine) -> None:
    other_schema = f"gridbot_test_{uuid.uuid4().hex[:10]}"
    with migrated_engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{other_schema}"'))
    other = engine_in(other_schema)
    here, there = LeaderLock(engines[0]), LeaderLock(other)
    try:
        assert here.try_acquire()
        assert there.try_acquire()
    finally:
        here.release()
        there.release()
        other.dispose()
        with migrated_engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{other_schema}" CASCADE'))


def test_sqlite_always_leads(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    first, second = LeaderLock(engine), LeaderLock(engine)
    assert first.exclusive and first.try_acquire() and second.try_acquire() and first.is_held()
    first.release()
    engine.dispose()


@postgres_only
async def test_leadership_starts_and_stops_the_leaders_work(engines: tuple[Engine, Engine],
                                                            migrated_engine: Engine) -> None:
    events: list[str] = []

    def follow(name: str) -> Leadership:
        async def acquired() -> None:
            events.append(f"{name} leads")

        async def lost() -> None:
            events.append(f"{name} stops")

        engine = engines[0] if name == "a" else engines[1]
        return Leadership(LeaderLock(engine), on_acquired=acquired, on_lost=lost, retry_seconds=0.1)

    a, b = follow("a"), follow("b")
    await a.start()
    await b.start()
    try:
        assert a.leading and not b.leading
        assert events == ["a leads"]
        terminate(migrated_engine, a.lock.backend_pid)
        deadline = asyncio.get_running_loop().time() + 5
        while not b.leading and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert b.leading, f"b never took over: {events}"
        assert "a stops" in events and not a.leading
    finally:
        await a.stop()
        await b.stop()
    assert events[-1] == "b stops"
