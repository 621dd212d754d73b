"""Getting updates into the Application so that none is confirmed to Telegram before its effects are stored.

PTB's Updater confirms a batch as soon as it fetches the next one, whatever the handlers did. Here the
offset only moves past an update once the handlers finished it (or it was parked as a failed update),
so a crash in between makes Telegram deliver it again, and idempotency keeps that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.error import Conflict, NetworkError, TimedOut
from telegram.ext import Application, ContextTypes

from bot.logs import log_context
from bot.metrics import HANDLING_SECONDS, UPDATES_HANDLED, UPDATES_RECEIVED
from bot.workers import DatabaseWorkers
from storage.models import FailedUpdate
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
PLATFORM = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "chat_member", "my_chat_member"]
_errors: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar("errors", default=None)


async def record_handler_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """PTB's error handler: remember the failure for the update being processed, log it once."""
    errors = _errors.get()
    if errors is not None and context.error is not None:
        errors.append(context.error)
    update_id = update.update_id if isinstance(update, Update) else "?"
    log.error("handler failed on update %s: %r", update_id, context.error)


class UpdateProcessor:
    """Runs one update through the handlers; retries a failing one, then parks it in failed_update."""

    def __init__(self, application: Application, uow: Callable[[], UnitOfWork],
                 attempts: int = 3, backoff: float = 0.2, workers: DatabaseWorkers | None = None) -> None:
        self.application, self.uow = application, uow
        self.workers = workers or DatabaseWorkers(1)
        self.attempts, self.backoff = attempts, backoff
        application.add_error_handler(record_handler_error)

    async def process(self, update: Update) -> bool:
        """True once the update is done with (handled or parked); False means: deliver it again later."""
        chat = update.effective_chat.id if update.effective_chat else None
        UPDATES_RECEIVED.labels(PLATFORM).inc()
        started = time.monotonic()
        with log_context(update=update.update_id, chat=chat):
            done = await self._process(update)
        HANDLING_SECONDS.labels(PLATFORM).observe(time.monotonic() - started)
        return done

    async def _process(self, update: Update) -> bool:
        errors: list[BaseException] = []
        for attempt in range(self.attempts):
            errors = []
            token = _errors.set(errors)
            try:
                await self.application.process_update(update)
            finally:
                _errors.reset(token)
            if not errors:
                UPDATES_HANDLED.labels(PLATFORM, "handled").inc()
                return True
            await asyncio.sleep(self.backoff * 2**attempt)
        parked = await self.workers.run(self._park, update, repr(errors[-1]))
        UPDATES_HANDLED.labels(PLATFORM, "parked" if parked else "unconfirmed").inc()
        return parked

    def _park(self, update: Update, error: str) -> bool:
        try:
            with self.uow() as uow:
                uow.failed_updates.add(FailedUpdate(platform="telegram", update_key=str(update.update_id),
                                                    payload=update.to_dict(), error=error[:2000],
                                                    failed_at=datetime.now(UTC)))
                uow.commit()
        except Exception:  # the database itself is down: keep the update unconfirmed
            log.exception("could not park update %s; it stays unconfirmed", update.update_id)
            return False
        log.error("update %s parked in failed_update after %d attempts", update.update_id, self.attempts)
        return True


async def replay_parked(processor: UpdateProcessor) -> int:
    """At start-up, run parked updates again (the bug or outage that failed them may be fixed now)."""

    def pending() -> list[tuple[int, dict[str, Any]]]:
        with processor.uow() as uow:
            return [(row.id or 0, row.payload) for row in uow.failed_updates.pending() if row.platform == "telegram"]

    def mark(row_id: int) -> None:
        with processor.uow() as uow:
            uow.failed_updates.mark_replayed(row_id, datetime.now(UTC))
            uow.commit()

    replayed = 0
    for row_id, payload in await processor.workers.run(pending):
        update = Update.de_json(payload, processor.application.bot)
        if await processor.process(update):  # handled now, or parked afresh under a new row
            await processor.workers.run(mark, row_id)
            replayed += 1
    return replayed


def _chat_key(update: Update) -> Any:
    chat = update.effective_chat
    return chat.id if chat else None


class Poller:
    """Long-polls getUpdates and keeps the offset at the oldest update not yet finished.

    Chats are processed concurrently, each chat's updates in order. While an update is still in
    flight (a chat waiting out a flood limit, say), getUpdates keeps returning it because it is not
    confirmed; those repeats are skipped and new updates are started at once, so one slow chat never
    holds up the others.
    """

    def __init__(self, processor: UpdateProcessor, timeout: int = 10, retry_pause: float = 1.0,
                 max_in_flight: int = 500) -> None:
        self.processor, self.timeout, self.retry_pause = processor, timeout, retry_pause
        self.max_in_flight = max_in_flight
        self.offset: int | None = None  # everything below it is finished and may be confirmed
        self._in_flight: dict[int, asyncio.Task[bool]] = {}
        self._chat_tails: dict[Any, asyncio.Task[bool]] = {}
        self._finished: set[int] = set()
        self._progress = asyncio.Event()
        self.last_success: float | None = None  # monotonic time of the last getUpdates that answered (/readyz)
        self.last_error = ""

    @property
    def in_batch(self) -> bool:
        return bool(self._in_flight)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                raw = await self._fetch(self._next_offset(), self._poll_timeout())
            except (TimedOut, NetworkError, Conflict) as exc:
                log.warning("getUpdates failed (%s); retrying", exc)
                self.last_error = str(exc)
                await asyncio.sleep(self.retry_pause)
                continue
            self.last_success, self.last_error = time.monotonic(), ""
            # Updates still in flight come back until confirmed: parse only the new ones.
            fresh = [Update.de_json(item, self.processor.application.bot) for item in raw if self._is_new(item)]
            for update in fresh:
                self._start(update)
            if (not fresh and self._in_flight) or len(self._in_flight) >= self.max_in_flight:
                await self._wait_for_progress(0.25)
        await self.drain()

    async def drain(self) -> None:
        """Let the updates in hand finish, then confirm them so a restart does not replay them."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        if self.offset is not None:
            bot = self.processor.application.bot
            with contextlib.suppress(TimedOut, NetworkError):
                await bot.get_updates(offset=self._next_offset(), timeout=0, limit=1,
                                      allowed_updates=ALLOWED_UPDATES)

    async def _fetch(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """getUpdates without PTB's parsing: Bot.get_updates would build every repeated Update again."""
        bot = self.processor.application.bot
        data = {"offset": offset, "timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
        result = await bot._post("getUpdates", data, read_timeout=timeout + 10)
        return result if isinstance(result, list) else []

    def _is_new(self, item: dict[str, Any]) -> bool:
        update_id = item.get("update_id")
        if not isinstance(update_id, int):
            return False
        seen = update_id in self._in_flight or update_id in self._finished
        return not seen and (self.offset is None or update_id >= self.offset)

    def _poll_timeout(self) -> int:
        return 0 if self._in_flight else self.timeout

    def _next_offset(self) -> int | None:
        if self._in_flight:
            return min(self._in_flight)
        return self.offset

    def _start(self, update: Update) -> None:
        previous = self._chat_tails.get(_chat_key(update))
        task = asyncio.create_task(self._process_after(previous, update))
        self._in_flight[update.update_id] = task
        self._chat_tails[_chat_key(update)] = task
        task.add_done_callback(functools.partial(self._done, update.update_id))

    async def _process_after(self, previous: asyncio.Task[bool] | None, update: Update) -> bool:
        if previous is not None and not await asyncio.shield(previous):
            return False  # keep the chat's order: this one waits for the earlier one's redelivery
        return await self.processor.process(update)

    def _done(self, update_id: int, task: asyncio.Task[bool]) -> None:
        ok = not task.cancelled() and task.exception() is None and task.result()
        del self._in_flight[update_id]
        for key, tail in list(self._chat_tails.items()):
            if tail is task:
                del self._chat_tails[key]
        if ok:
            self._finished.add(update_id)
            self._advance()
        self._progress.set()

    def _advance(self) -> None:
        """Move the offset over the finished updates that have no unfinished one before them."""
        floor = min(self._in_flight) if self._in_flight else None
        done = sorted(u for u in self._finished if floor is None or u < floor)
        if done:
            self.offset = max(self.offset or 0, done[-1] + 1)
            self._finished.difference_update(done)

    async def _wait_for_progress(self, seconds: float) -> None:
        self._progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout=seconds)
