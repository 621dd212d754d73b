"""The notice scheduler: APScheduler 3 with its jobs in the project's database, and the real handlers.notices.

Real time, real APScheduler: a phase due in a second or two fires once; a restarted scheduler neither fires
it again nor forgets a phase still to come (its job is read back from the store); a phase whose useful window
closed while no scheduler ran is skipped with a record; reconcile follows dropped and moved phases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.workers import DatabaseWorkers
from handlers import notices
from handlers.context import Context, utc_now
from handlers.types import Queued
from scheduler import notice_schedule
from scheduler.notice_schedule import JOBS_TABLE, REGISTRY, NoticeScheduler, job_id
from storage.models import ChatGroup, Notice, NoticePhase, OutboxMessage
from storage.uow import UnitOfWork


@pytest.fixture
def live_ctx(ctx: Context, engine: Engine) -> Iterator[Context]:
    """The test context on the wall clock (APScheduler keeps real time), with one group and no stored jobs."""
    ctx.clock = utc_now
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {JOBS_TABLE}"))  # not a model table: the engine fixture leaves it
    with UnitOfWork(engine) as uow:
        now = utc_now()
        uow.session.add(ChatGroup(platform="telegram", chat_id="-1001", title="幸福村客户群", created_at=now,
                                  updated_at=now))
        uow.commit()
    yield ctx
    REGISTRY.current = None


@pytest.fixture
def workers() -> Iterator[DatabaseWorkers]:
    pool = DatabaseWorkers(1)
    yield pool
    pool.shutdown()


def add_phase(engine: Engine, due_at: datetime, useful_until: datetime | None = None) -> int:
    """A station-wide announcement with one phase to fire at `due_at`."""
    now = utc_now()
    with UnitOfWork(engine) as uow:
        notice = uow.notices.add(Notice(kind="announcement", all_groups=True, text="营业厅周六暂停办理业务",
                                        created_at=now, updated_at=now))
        phase = uow.notices.add_phase(NoticePhase(notice_id=notice.id or 0, phase="published", due_at=due_at,
                                                  useful_until=useful_until))
        uow.commit()
    return phase.id or 0


def phase(engine: Engine, phase_id: int) -> NoticePhase:
    with UnitOfWork(engine) as uow:
        found = uow.notices.phase(phase_id)
        assert found is not None
        return found


def outbox_texts(engine: Engine, phase_id: int) -> list[str]:
    with UnitOfWork(engine) as uow:
        return [row.text for row in uow.session.exec(
            select(OutboxMessage).where(col(OutboxMessage.notice_phase_id) == phase_id)).all()]


def stored_jobs(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(row[0]) for row in conn.execute(text(f"SELECT id FROM {JOBS_TABLE} ORDER BY id"))]


async def until(probe: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running(ctx: Context, engine: Engine, workers: DatabaseWorkers,
                  delivered: list[Queued] | None = None) -> AsyncIterator[NoticeScheduler]:
    def deliver(queued: Sequence[Queued]) -> None:
        if delivered is not None:
            delivered.extend(queued)

    scheduler = NoticeScheduler(ctx, engine, run_in_db=workers.run, deliver=deliver, reconcile_seconds=60)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.shutdown()


async def test_a_due_phase_fires_once_and_a_restart_does_not_fire_it_again(
        live_ctx: Context, engine: Engine, workers: DatabaseWorkers) -> None:
    phase_id = add_phase(engine, utc_now() + timedelta(seconds=1))
    delivered: list[Queued] = []
    async with running(live_ctx, engine, workers, delivered) as first:
        assert first.jobs() == [job_id(phase_id)]
        await until(lambda: bool(delivered), "the phase fires and its message is handed to delivery")
        assert first.fired == [phase_id] and phase(engine, phase_id).status == "sent"
        assert [item.action.chat.chat_id for item in delivered] == ["-1001"]
        assert stored_jobs(engine) == []  # a date job is gone once it ran

    async with running(live_ctx, engine, workers, delivered) as second:  # the restart
        await asyncio.sleep(0.6)
        assert second.fired == [] and second.jobs() == []
    assert len(outbox_texts(engine, phase_id)) == 1
    assert len(delivered) == 1


async def test_a_stored_job_survives_a_restart(live_ctx: Context, engine: Engine, workers: DatabaseWorkers,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    phase_id = add_phase(engine, utc_now() + timedelta(seconds=1.5))
    async with running(live_ctx, engine, workers):
        pass  # stopped before the phase is due: its job stays in the table
    assert stored_jobs(engine) == [job_id(phase_id)]
    # Without its reconcile the next scheduler knows the phase only from the stored job.
    async def no_reconcile(_self: NoticeScheduler) -> None:
        return None

    monkeypatch.setattr(NoticeScheduler, "reconcile", no_reconcile)
    async with running(live_ctx, engine, workers) as second:
        await until(lambda: bool(second.fired), "the stored job fires")
        assert second.fired == [phase_id] and phase(engine, phase_id).status == "sent"
    assert len(outbox_texts(engine, phase_id)) == 1


async def test_a_phase_whose_window_closed_while_down_is_skipped_with_a_record(
        live_ctx: Context, engine: Engine, workers: DatabaseWorkers) -> None:
    due = utc_now() + timedelta(seconds=0.3)
    phase_id = add_phase(engine, due, useful_until=due + timedelta(seconds=1))
    async with running(live_ctx, engine, workers):
        pass
    await asyncio.sleep(1.5)  # "down" until after useful_until
    delivered: list[Queued] = []
    async with running(live_ctx, engine, workers, delivered) as second:
        await until(lambda: bool(second.skipped), "the missed phase is skipped")
        assert second.skipped == [phase_id] and second.fired == []
    skipped = phase(engine, phase_id)
    assert skipped.status == "skipped" and skipped.note == live_ctx.texts("notice.skipped_late")
    assert skipped.fired_at is not None
    assert outbox_texts(engine, phase_id) == [] and delivered == []
    assert stored_jobs(engine) == []


async def test_a_late_phase_still_useful_goes_out_late_and_an_useless_one_never_seen_is_skipped(
        live_ctx: Context, engine: Engine, workers: DatabaseWorkers) -> None:
    now = utc_now()
    late = add_phase(engine, now - timedelta(minutes=10), useful_until=now + timedelta(hours=1))
    useless = add_phase(engine, now - timedelta(minutes=10), useful_until=now - timedelta(minutes=5))
    async with running(live_ctx, engine, workers) as scheduler:  # no job stored: reconcile adds both
        await until(lambda: bool(scheduler.fired and scheduler.skipped), "both phases settled")
        assert scheduler.fired == [late] and scheduler.skipped == [useless]
    assert (phase(engine, late).status, phase(engine, useless).status) == ("sent", "skipped")
    [message] = outbox_texts(engine, late)
    assert "因系统维护延后" in message  # the late note (handlers.notices.render)
    assert outbox_texts(engine, useless) == []


async def test_reconcile_removes_dropped_phases_and_follows_moved_ones(
        live_ctx: Context, engine: Engine, workers: DatabaseWorkers) -> None:
    now = utc_now()
    dropped = add_phase(engine, now + timedelta(hours=1))
    moved = add_phase(engine, now + timedelta(hours=2), useful_until=now + timedelta(hours=3))
    async with running(live_ctx, engine, workers) as scheduler:
        assert sorted(scheduler.jobs()) == sorted([job_id(dropped), job_id(moved)])
        new_due = now + timedelta(hours=5)
        with UnitOfWork(engine) as uow:
            gone, later = uow.notices.phase(dropped), uow.notices.phase(moved)
            assert gone is not None and later is not None
            gone.status = "dropped"
            later.due_at, later.useful_until = new_due, new_due + timedelta(minutes=30)
            uow.notices.save_phase(gone)
            uow.notices.save_phase(later)
            uow.commit()
        await scheduler.reconcile()
        assert scheduler.jobs() == [job_id(moved)]
        [job] = [j for j in scheduler._scheduler.get_jobs() if j.id == job_id(moved)]  # type: ignore[union-attr]
        assert job.next_run_time == new_due and job.misfire_grace_time == 30 * 60
        await scheduler.reconcile()  # nothing to do the second time
    assert stored_jobs(engine) == [job_id(moved)]  # kept for the next leader


def test_the_migrated_table_is_what_apscheduler_expects(engine: Engine) -> None:
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)

    def only_jobs(name: str | None, type_: str, _parents: object) -> bool:
        return type_ != "table" or name == JOBS_TABLE

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": only_jobs, "compare_type": True})
        diff = compare_metadata(context, store.jobs_t.metadata)
    assert diff == []


def test_phase_jobs_point_at_a_module_level_function() -> None:
    # The store pickles a reference: the job function must be importable by name in any process.
    assert notice_schedule.fire_phase.__qualname__ == "fire_phase"
    assert notices.fire is notice_schedule.notices.fire
