"""Getting updates into the Application so that none is confirmed to Telegram before its effects are stored.

PTB's Updater confirms a batch as soon as it fetches the next one, whatever the handlers did. Here the
offset only moves past an update once the handlers finished it (or it was parked as a failed update),
so a crash in between makes Telegram deliver it again, and idempotency keeps that harmless.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.error import Conflict, NetworkError, TimedOut
from telegram.ext import Application, ContextTypes

from storage.models import FailedUpdate
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
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

    def __init__(self, application: Application, uow: Callable[[], UnitOfWork],  # type: ignore[type-arg]
                 attempts: int = 3, backoff: float = 0.2) -> None:
        self.application, self.uow = application, uow
        self.attempts, self.backoff = attempts, backoff
        application.add_error_handler(record_handler_error)

    async def process(self, update: Update) -> bool:
        """True once the update is done with (handled or parked); False means: deliver it again later."""
        errors: list[BaseException] = []
        for attempt in range(self.attempts):
            errors = []
            token = _errors.set(errors)
            try:
                await self.application.process_update(update)
            finally:
                _errors.reset(token)
            if not errors:
                return True
            await asyncio.sleep(self.backoff * 2**attempt)
        return await asyncio.to_thread(self._park, update, repr(errors[-1]))

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


def _chat_key(update: Update) -> Any:
    chat = update.effective_chat
    return chat.id if chat else None


class Poller:
    """Long-polls getUpdates; chats are processed concurrently, each chat's updates in order."""

    def __init__(self, processor: UpdateProcessor, timeout: int = 10, retry_pause: float = 1.0) -> None:
        self.processor, self.timeout, self.retry_pause = processor, timeout, retry_pause
        self.offset: int | None = None
        self.in_batch = False  # while True, stopping waits: cancelling would strand sent-but-unstored work

    async def run(self, stop: asyncio.Event) -> None:
        bot = self.processor.application.bot
        while not stop.is_set():
            try:
                updates = await bot.get_updates(offset=self.offset, timeout=self.timeout,
                                                allowed_updates=ALLOWED_UPDATES)
            except (TimedOut, NetworkError, Conflict) as exc:
                log.warning("getUpdates failed (%s); retrying", exc)
                await asyncio.sleep(self.retry_pause)
                continue
            self.in_batch = True
            try:
                finished = not updates or await self._process_batch(updates)
            finally:
                self.in_batch = False
            if not finished:
                await asyncio.sleep(self.retry_pause)
        if self.offset is not None:  # confirm what was finished, so a restart does not replay it
            await bot.get_updates(offset=self.offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES)

    async def _process_batch(self, updates: tuple[Update, ...]) -> bool:
        by_chat: dict[Any, list[Update]] = defaultdict(list)
        for update in updates:
            by_chat[_chat_key(update)].append(update)
        done: dict[int, bool] = {}

        async def run_chat(chat_updates: list[Update]) -> None:
            for update in chat_updates:
                done[update.update_id] = ok = await self.processor.process(update)
                if not ok:
                    return  # keep this chat's order: later updates wait for the redelivery

        await asyncio.gather(*(run_chat(chat_updates) for chat_updates in by_chat.values()))
        for update in updates:  # the offset moves over the finished prefix only
            if not done.get(update.update_id):
                return False
            self.offset = update.update_id + 1
        return True
