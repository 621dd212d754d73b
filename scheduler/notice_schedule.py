"""Outage-notice phases on APScheduler 3, with its jobs stored in the project's database.

Only the leader runs this (scheduler/leader.py). Each pending notice_phase row gets one DateTrigger job,
`notice-phase-<id>`, due at the phase's `due_at`. Its misfire grace is the phase's useful window
(`useful_until - due_at`), so after downtime APScheduler itself sorts the missed phases: one still useful
runs late (handlers.notices.fire renders the late note), one no longer useful raises EVENT_JOB_MISSED and is
recorded as skipped. Jobs live in the `apscheduler_jobs` table (created by a migration), so they survive a
restart and a change of leader; the notice_phase table stays the source of truth all the same: a reconcile
at start and every sweep interval adds the jobs pending phases lack and removes those of phases that are no
longer pending (a changed or cancelled notice drops them).

Firing is idempotent in the core (one outbox row per group under a unique key, the phase's status checked in
the same transaction), so a job that runs twice — a crash between firing and the job's removal, two leaders
for a moment — sends nothing twice.

The stored jobs point at the module-level `fire_phase` (the store pickles a reference to a function, not an
object); it reaches the running scheduler of this process through `REGISTRY`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from handlers import notices
from handlers.context import Context
from handlers.types import Outcome, Queued
from storage.models import NoticePhase

log = logging.getLogger(__name__)
JOBS_TABLE = "apscheduler_jobs"  # the table of migration 9aca00c07f58
JOB_PREFIX = "notice-phase-"
RECONCILE_JOB = "notice-reconcile"
MISSED_NOTE = "missed while the service was down"  # when the station's texts have none (notice.skipped_late)
STORE, LOCAL = "default", "local"  # phase jobs persist; the reconcile job is this process's own


def job_id(phase_id: int) -> str:
    return f"{JOB_PREFIX}{phase_id}"


def phase_of(job: str) -> int | None:
    suffix = job.removeprefix(JOB_PREFIX)
    return int(suffix) if suffix != job and suffix.isdigit() else None


class _Registry:
    """The notice scheduler running in this process, if any: what stored jobs call into."""

    def __init__(self) -> None:
        self.current: NoticeScheduler | None = None


REGISTRY = _Registry()


async def fire_phase(phase_id: int) -> None:
    """The stored job. Without a running scheduler here the phase stays pending for the leader's reconcile."""
    scheduler = REGISTRY.current
    if scheduler is None:
        log.warning("notice phase %s came due with no notice scheduler running; the next reconcile adds it again",
                    phase_id)
        return
    await scheduler.fire(phase_id)


class SharedEngineJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy store on the application's engine, which its shutdown must not dispose of.

    The engine's connect arguments (a PostgreSQL search_path, say) apply as they are, so the table is found
    in the same schema as the rest of the project's tables."""

    def shutdown(self) -> None:
        return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def grace_seconds(phase: NoticePhase) -> int | None:
    """How late the phase may still go out (None: however late); at least a second.

    Rounded up: APScheduler never drops a run the core would still send (handlers.notices.fire decides at
    the edge of the window, and skips with its own record)."""
    if phase.useful_until is None:
        return None
    return max(1, math.ceil((_utc(phase.useful_until) - _utc(phase.due_at)).total_seconds()))


class NoticeScheduler:
    def __init__(self, ctx: Context, engine: Engine, *, run_in_db: Callable[..., Awaitable[Any]],
                 deliver: Callable[[Sequence[Queued]], None], reconcile_seconds: float) -> None:
        self.ctx = ctx
        self.engine = engine
        self.reconcile_seconds = reconcile_seconds
        self._run_in_db = run_in_db
        self._deliver = deliver
        self._scheduler: AsyncIOScheduler | None = None
        self._firing: set[int] = set()  # phases submitted to run and not finished: reconcile leaves them alone
        self._tasks: set[asyncio.Task[Any]] = set()
        self.fired: list[int] = []  # phases this scheduler fired, for tests and logs
        self.skipped: list[int] = []

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def jobs(self) -> list[str]:
        """The ids of the stored phase jobs (blocking: reads the job store)."""
        scheduler = self._scheduler
        return [job.id for job in scheduler.get_jobs(jobstore=STORE)] if scheduler is not None else []

    async def start(self) -> None:
        if REGISTRY.current is not None and REGISTRY.current is not self:
            log.warning("a notice scheduler was already running in this process; this one replaces it")
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            jobstores={STORE: SharedEngineJobStore(engine=self.engine, tablename=JOBS_TABLE), LOCAL: MemoryJobStore()},
        )
        scheduler.add_listener(self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED)
        REGISTRY.current = self
        scheduler.start()  # phases that came due while no leader ran are processed at its first wakeup
        self._scheduler = scheduler
        await self.reconcile()
        scheduler.add_job(self.reconcile, IntervalTrigger(seconds=self.reconcile_seconds, timezone=UTC),
                          id=RECONCILE_JOB, name="notice reconcile", jobstore=LOCAL, coalesce=True,
                          max_instances=1, misfire_grace_time=None)
        log.info("notice scheduler: %d phase jobs stored, reconciled every %ss", len(self.jobs()),
                 self.reconcile_seconds)

    async def reconcile(self) -> None:
        """Make the stored jobs match the pending phases."""
        try:
            phases = await self._run_in_db(notices.pending_phases, self.ctx)
            # On the loop thread, like APScheduler's own processing of due jobs: a job submitted to run is
            # either still stored or already in _firing here, never neither (which would fire it twice).
            added, removed = self._apply(phases)
        except Exception:  # the database may be briefly away: the next reconcile tries again
            log.exception("notice scheduler: reconcile failed")
            return
        if added or removed:
            log.info("notice scheduler: %d phase jobs added, %d removed", added, removed)

    def _apply(self, phases: Iterable[NoticePhase]) -> tuple[int, int]:
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            return 0, 0
        wanted = {job_id(phase.id): phase for phase in phases if phase.id is not None and phase.id not in self._firing}
        stored = {job.id: job for job in scheduler.get_jobs(jobstore=STORE) if phase_of(job.id) is not None}
        removed = 0
        for stale in stored.keys() - wanted.keys():
            if phase_of(stale) in self._firing:
                continue
            try:
                scheduler.remove_job(stale, jobstore=STORE)
                removed += 1
            except JobLookupError:  # ran meanwhile
                pass
        added = 0
        for key, phase in wanted.items():
            due, grace = _utc(phase.due_at), grace_seconds(phase)
            job = stored.get(key)
            if job is not None and job.trigger.run_date == due and job.misfire_grace_time == grace:
                continue
            scheduler.add_job(fire_phase, DateTrigger(run_date=due, timezone=UTC), args=(phase.id,), id=key,
                              name=f"notice phase {phase.id} ({phase.phase})", jobstore=STORE,
                              misfire_grace_time=grace, coalesce=True, max_instances=1, replace_existing=True)
            added += 1
        return added, removed

    async def fire(self, phase_id: int) -> None:
        self._track()
        self._firing.add(phase_id)
        try:
            outcome: Outcome = await self._run_in_db(notices.fire, self.ctx, phase_id)
        finally:
            self._firing.discard(phase_id)
        self.fired.append(phase_id)
        if outcome.queued:
            try:
                self._deliver(outcome.queued)
            except Exception:  # the rows are in the outbox: its sweep sends them
                log.exception("notice phase %s: handing %d messages to delivery failed", phase_id, len(outcome.queued))

    def _on_event(self, event: JobEvent) -> None:
        phase_id = phase_of(event.job_id)
        if phase_id is None:
            return
        if event.code == EVENT_JOB_SUBMITTED:
            self._firing.add(phase_id)  # before the job is gone from the store: see reconcile()
        elif event.code == EVENT_JOB_MISSED:
            task = asyncio.get_running_loop().create_task(self._skip(phase_id), name=f"skip-phase-{phase_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _skip(self, phase_id: int) -> None:
        try:
            await self._run_in_db(notices.skip, self.ctx, phase_id, self.missed_note())
            self.skipped.append(phase_id)
        except Exception:  # still pending: the next reconcile adds the job, which misses again
            log.exception("notice phase %s: recording the skip failed", phase_id)
        finally:
            self._firing.discard(phase_id)

    def missed_note(self) -> str:
        """The record of a phase missed while no leader ran, in the station's language (shown to the publisher)."""
        try:
            return self.ctx.texts("notice.skipped_late")
        except KeyError:
            return MISSED_NOTE

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def shutdown(self, grace: float = 2.0) -> None:
        """Stop scheduling; a phase being fired gets `grace` seconds. Stored jobs stay for the next leader."""
        scheduler, self._scheduler = self._scheduler, None
        if REGISTRY.current is self:
            REGISTRY.current = None
        if scheduler is None or not scheduler.running:
            return
        scheduler.pause()
        running = {task for task in self._tasks if task is not asyncio.current_task()}
        if running:
            await asyncio.wait(running, timeout=grace)
        scheduler.shutdown(wait=False)  # cancels a fire still running: its transaction commits or not, both safe
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a loop callback: let it run
