"""The WeCom channel at run time: the callback endpoint, the inbox consumer, the delivery and their sweep.

The sweep (every `sweep_interval` seconds) retries inbox rows and outbox rows left by failures, reads back
群发 tasks and reminds their owners, and once a day (at `reconcile_at`, and at the first start on a database)
reconciles every customer group with groupchat/list, which repairs lost or reordered events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from datetime import time as clock_time

from starlette.routing import Route

from bot.outbox_claims import Claims
from bot.wecom_adapter import WecomAdapter
from bot.wecom_callback import CallbackEndpoint
from bot.wecom_calls import WecomCalls, WecomError
from bot.wecom_delivery import WecomDelivery
from bot.workers import DatabaseWorkers
from config.settings import WecomSettings
from handlers.context import Context
from handlers.types import Queued

log = logging.getLogger(__name__)
RECONCILED_KEY = "reconciled_on"


class WecomChannel:
    def __init__(self, core: Context, settings: WecomSettings, workers: DatabaseWorkers,
                 claims: Claims | None = None, reconcile_at: clock_time = clock_time(3, 30)) -> None:
        settings.check()
        self.core, self.settings, self.workers = core, settings, workers
        self.calls = WecomCalls(settings)
        self.api = DatabaseWorkers(threads=4)  # WeCom's HTTP calls block; keep them off the database threads
        self.delivery = WecomDelivery(core, self.calls, settings, workers, self.api, claims)
        self.adapter = WecomAdapter(core, self.calls, workers, self.api, self.delivery.execute, self.delivery.notify)
        self.endpoint = CallbackEndpoint(settings, core.uow, workers.run, self.adapter.submit)
        self.sweep_interval = 30.0
        self.reconcile_at = reconcile_at
        self._sweeper: asyncio.Task[None] | None = None
        self._reconciling: asyncio.Task[None] | None = None
        self.last_api_success: float | None = None
        self.last_api_error = ""
        self._last_reconciled: str | None = None  # local date of the last reconciliation (wecom_state)

    def routes(self) -> list[Route]:
        return self.endpoint.routes()

    def deliver(self, queued: list[Queued]) -> None:
        self.delivery.execute(queued)

    async def start(self) -> None:
        self.adapter.start()
        if resumed := await self.adapter.resume():
            log.info("wecom: handling %d callbacks left unprocessed", resumed)
        await self._check_api()
        self.delivery.kick()
        self._sweeper = asyncio.create_task(self._sweep(), name="wecom-sweep")
        if await self.workers.run(self._reconciled_on) is None:  # a new deployment learns its groups now
            self._reconciling = asyncio.create_task(self._reconcile(), name="wecom-reconcile")
        log.info("wecom: callbacks on %s, agent %s of corp %s", self.settings.callback_path,
                 self.settings.agent_id, self.settings.corp_id)

    async def stop(self) -> None:
        for task in (self._sweeper, self._reconciling):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.adapter.stop()
        self.delivery.close()
        await self.delivery.drain()
        self.api.shutdown()

    def connection(self) -> tuple[bool, str]:
        """For /readyz: do we hold a valid access token (fetched from WeCom at start, renewed by the sweep)?"""
        if self.last_api_success is None:
            return False, f"no access token {self.last_api_error}".strip()
        return True, "access token held"

    async def _check_api(self) -> None:
        """Get (or keep) an access token: no request while the cached one is good, a fetch once it is due."""
        try:
            await self.api.run(lambda: self.calls.client.access_token)
            self.last_api_success = time.monotonic()
        except Exception as exc:  # the service still starts: callbacks are stored and handled later
            self.last_api_success, self.last_api_error = None, str(exc)
            log.error("wecom: no access token: %s", exc)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.adapter.resume(min_age=self.sweep_interval)
                await self.delivery.dispatch(min_age=self.sweep_interval)
                await self.delivery.follow_up()
                await self._check_api()
                if self._reconcile_due(datetime.now(self.core.tz)):
                    await self._reconcile()
            except WecomError as exc:
                self.last_api_error = str(exc)
                log.warning("wecom sweep: %s", exc)
            except Exception:
                log.exception("wecom sweep failed")

    def _reconcile_due(self, local_now: datetime) -> bool:
        if local_now.time() < self.reconcile_at:
            return False
        last = self._last_reconciled
        return last is None or last < local_now.date().isoformat()

    async def _reconcile(self) -> None:
        try:
            await self.adapter.reconcile()
        except Exception as exc:
            log.error("wecom: reconciliation failed: %s", exc)
            return
        today = datetime.now(self.core.tz).date().isoformat()
        self._last_reconciled = today

        def record() -> None:
            with self.core.uow() as uow:
                uow.wecom.set_state(RECONCILED_KEY, today, datetime.now(UTC))
                uow.commit()

        await self.workers.run(record)

    def _reconciled_on(self) -> str | None:
        with self.core.uow() as uow:
            self._last_reconciled = uow.wecom.state(RECONCILED_KEY)
            return self._last_reconciled
