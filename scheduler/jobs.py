"""Periodic sweeps of the running service on APScheduler 3's asyncio scheduler.

One interval job runs every function of `SWEEPS` in turn. Each sweep is blocking database work, so it runs
through `run_in_db` (the edge's database workers), and what it queued is handed to `deliver` (the platform
delivery) at once; rows a failed delivery leaves pending are picked up by the outbox sweep. The scheduler
never imports the edge: both callables are passed in by it (bot/service.py).

With several processes on one PostgreSQL only the leader runs the sweeps (scheduler/leader.py): the service
starts them when it acquires the lock and shuts them down when it loses it; `start` works again after
`shutdown`. Each alert is claimed by a unique key anyway, so a second leader for a moment sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from handlers import digest, risk_alerts, sla_watch, survey
from handlers.context import Context
from handlers.types import Outcome, Queued

log = logging.getLogger(__name__)
Sweep = Callable[[Context], Outcome]
# Run in this order at every tick: deadline warnings and escalation, surveys nobody answered, the supervisors'
# digests and the overnight risk summary.
SWEEPS: tuple[Sweep, ...] = (sla_watch.sweep, survey.expire, digest.send_due, risk_alerts.night_summary)
JOB_ID = "gridbot-sweeps"


class PeriodicSweeps:
    def __init__(self, ctx: Context, *, run_in_db: Callable[..., Awaitable[Any]],
                 deliver: Callable[[Sequence[Queued]], None], interval_seconds: float,
                 sweeps: Sequence[Sweep] | None = None) -> None:
        self.ctx = ctx
        self.interval_seconds = interval_seconds
        self.sweeps: tuple[Sweep, ...] = tuple(sweeps) if sweeps is not None else SWEEPS
        self._run_in_db = run_in_db
        self._deliver = deliver
        self._scheduler: AsyncIOScheduler | None = None
        self._current: asyncio.Task[Any] | None = None
        self._stopping = False
        self.runs = 0  # completed ticks, for tests and logs

    def start(self) -> None:
        """Schedule the sweeps on the running event loop; the first tick runs right away."""
        self._stopping = False
        # UTC everywhere: the scheduler only needs intervals, and UTC spares it the local-zone lookup.
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.run_once, IntervalTrigger(seconds=self.interval_seconds, timezone=UTC), id=JOB_ID,
            name="sweeps",
            coalesce=True,  # after a stall, one catch-up run rather than a burst
            max_instances=1,  # a slow sweep is never overlapped by the next tick
            misfire_grace_time=None,  # a late tick (busy loop) still runs instead of being dropped
            next_run_time=datetime.now(UTC),
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("sweeps every %ss: %s", self.interval_seconds,
                 ", ".join(f"{s.__module__}.{s.__name__}" for s in self.sweeps))

    async def run_once(self) -> None:
        """One tick: every sweep in turn; a failing sweep is logged and never stops the others or the job."""
        self._current = asyncio.current_task()
        try:
            for sweep in self.sweeps:
                if self._stopping:
                    return
                name = f"{sweep.__module__}.{sweep.__name__}"
                try:
                    outcome: Outcome = await self._run_in_db(sweep, self.ctx)
                except Exception:
                    log.exception("sweep %s failed; the next tick tries again", name)
                    continue
                if outcome.queued:
                    try:
                        self._deliver(outcome.queued)
                    except Exception:  # the rows stay pending in the outbox; its own sweep sends them
                        log.exception("sweep %s: handing %d messages to delivery failed", name, len(outcome.queued))
            self.runs += 1
        except asyncio.CancelledError:
            # Only shutdown() cancels a tick (the job is never awaited by anyone else): end it quietly
            # instead of APScheduler logging a traceback. The sweep's thread finishes its transaction.
            log.info("sweep cancelled by shutdown")
        finally:
            self._current = None

    async def shutdown(self, grace: float = 2.0) -> None:
        """Stop ticking; let a running sweep finish for up to `grace` seconds, then cancel it.

        A cancelled sweep loses nothing: what it committed is in the outbox, sent at the next start.
        """
        self._stopping = True
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None or not scheduler.running:
            return
        scheduler.pause()  # no new tick while the current one finishes
        current = self._current
        if current is not None and not current.done():
            await asyncio.wait({current}, timeout=grace)
        scheduler.shutdown(wait=False)  # cancels a sweep still awaited
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a loop callback: let it run
