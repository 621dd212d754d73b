"""Sending actions per chat in order, chats independently, without holding up the update behind them.

An update counts as finished once the core has stored its effects; its replies are sent from here.
So a group waiting out a flood limit delays only its own replies, and the getUpdates offset moves on.
A graceful stop drains every queue; a hard kill loses the replies still queued (the tickets are
stored) — the durable outbox will close that gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[None]]


class ChatOrderedSender:
    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}

    def submit(self, chat_id: str, job: Job) -> None:
        previous = self._tails.get(chat_id)
        task = asyncio.create_task(self._after(previous, job), name=f"send-{chat_id}")
        self._tails[chat_id] = task
        task.add_done_callback(functools.partial(self._forget, chat_id))

    @staticmethod
    async def _after(previous: asyncio.Task[None] | None, job: Job) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # its failure is its own; ours still goes out
        try:
            await job()
        except Exception:
            log.exception("sending failed")

    def _forget(self, chat_id: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(chat_id) is task:
            del self._tails[chat_id]

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for every queued send (a graceful stop); give up after `timeout`."""
        tails = list(self._tails.values())
        if not tails:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tails, return_exceptions=True), timeout)
