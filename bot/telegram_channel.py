"""The Telegram channel at run time: a PTB Application wired to the core, fed by polling or webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.routing import Route
from telegram.ext import Application, ApplicationBuilder

from bot.outbox_claims import Claims
from bot.rate_limiter import TelegramRateLimiter
from bot.telegram_adapter import TelegramAdapter
from bot.telegram_ingress import ALLOWED_UPDATES, Poller, UpdateProcessor, replay_parked
from bot.telegram_webhook import webhook_route
from bot.workers import DatabaseWorkers
from config.settings import TelegramSettings
from handlers.context import Context

log = logging.getLogger(__name__)


def build_application(token: str, base_url: str, settings: TelegramSettings) -> Application:
    limiter = TelegramRateLimiter(settings.overall_per_second, settings.group_per_minute)
    return (ApplicationBuilder().token(token).base_url(base_url).rate_limiter(limiter)
            .updater(None).concurrent_updates(False).build())


class TelegramChannel:
    def __init__(self, core: Context, token: str, base_url: str, settings: TelegramSettings,
                 workers: DatabaseWorkers, poll_timeout: int = 10, claims: Claims | None = None) -> None:
        self.settings = settings
        self.application = build_application(token, base_url, settings)
        self.adapter = TelegramAdapter(core, self.application, workers, welcome=settings.welcome)
        if claims is not None:  # how this process shares the outbox with other dispatchers
            self.adapter.delivery.claims = claims
        self.processor = UpdateProcessor(self.application, core.uow, workers=workers)
        self.poller = Poller(self.processor, timeout=poll_timeout)
        self.core = core
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.sweep_interval = 30.0
        self._webhook_set = False

    @property
    def webhook_mode(self) -> bool:
        return self.settings.mode == "webhook"

    def routes(self) -> list[Route]:
        if not self.webhook_mode:
            return []
        secret = self.settings.webhook_secret.get_secret_value() if self.settings.webhook_secret else ""
        return [webhook_route(self.processor, secret)]

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()
        self.core.bot_username = self.application.bot.username or ""
        await self.adapter.announce_commands(self.application)
        if replayed := await replay_parked(self.processor):
            log.info("telegram: replayed %d parked updates", replayed)
        if resumed := await self.adapter.delivery.resume():
            log.info("telegram: resuming %d unsent messages from the outbox", resumed)
        self._sweeper = asyncio.create_task(self._sweep_outbox(), name="telegram-outbox-sweep")
        if self.webhook_mode:
            secret = self.settings.webhook_secret
            await self.application.bot.set_webhook(
                url=self.settings.webhook_url or "", allowed_updates=ALLOWED_UPDATES,
                secret_token=secret.get_secret_value() if secret else None)
            self._webhook_set = True
            log.info("telegram: webhook mode as @%s", self.core.bot_username)
            return
        await self.application.bot.delete_webhook(drop_pending_updates=False)
        self._stop.clear()
        self._task = asyncio.create_task(self.poller.run(self._stop), name="telegram-poller")
        log.info("telegram: polling as @%s", self.core.bot_username)

    def connection(self) -> tuple[bool, str]:
        """For /readyz: is Telegram reachable from here? Polling: a getUpdates answered lately; webhook: set."""
        if self.webhook_mode:
            return self._webhook_set, "webhook set" if self._webhook_set else "webhook not set"
        if self._task is None or self._task.done():
            return False, "not polling"
        last = self.poller.last_success
        if last is None or time.monotonic() - last > 3 * self.poller.timeout + 15:
            return False, f"no answer from getUpdates lately {self.poller.last_error}".strip()
        return True, "polling"

    async def _sweep_outbox(self) -> None:
        """Retry rows left pending by transient failures (network, 429 past the retries), take over the rows of
        a dispatcher that died once their lease ran out, and renew the leases of the rows still queued here."""
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.adapter.delivery.resume(min_age=self.sweep_interval)
            except Exception:  # the database may be briefly away; the next sweep tries again
                log.exception("outbox sweep failed")

    async def stop(self, grace: float = 30.0) -> None:
        """Finish the updates in hand and the queued sends, then shut down."""
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._task is not None:
            deadline = asyncio.get_running_loop().time() + grace
            while not self._task.done() and self.poller.in_batch and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            if not self._task.done():  # waiting in a long poll: nothing unconfirmed is lost by cancelling
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
                with contextlib.suppress(Exception):  # confirm what was finished, so a restart skips it
                    await self.poller.drain()
        self.adapter.delivery.stop_claiming()
        await self.adapter.delivery.sender.drain()
        await self.adapter.delivery.release()  # what did not go out: another dispatcher may take it at once
        await self.application.stop()
        await self.application.shutdown()
