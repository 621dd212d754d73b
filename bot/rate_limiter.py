"""PTB rate limiter with Telegram's limits: ~30 msg/s overall, 20/min per group, ~1/s per chat.

PTB's own AIORateLimiter stops every request while one chat waits out a 429; this one pauses only
the chat the 429 was for, so a flooded group never freezes the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from scheduler.ratelimit import KeyedRateLimiter, Window

log = logging.getLogger(__name__)
JSONResult = bool | dict[str, Any] | list[dict[str, Any]]
# Methods that post into a chat count against its limits; reads and callback answers do not.
SENDING = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "copyMessage",
                     "forwardMessage", "sendMediaGroup", "sendSticker"})


class TelegramRateLimiter(BaseRateLimiter[int]):
    def __init__(self, overall_per_second: float = 30.0, group_per_minute: int = 20,
                 max_retries: int = 5) -> None:
        self.max_retries = max_retries
        self.limiter = KeyedRateLimiter(Window(max(1, int(overall_per_second)), 1.0), self._windows)
        self._group_window = Window(group_per_minute, 60.0)

    def _windows(self, chat_id: str) -> tuple[Window, ...]:
        per_chat = Window(1, 1.0) if not chat_id.startswith("-") else Window(3, 1.0)  # bursts tolerated
        return (per_chat, self._group_window) if chat_id.startswith("-") else (per_chat,)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        chat = data.get("chat_id")
        key = str(chat) if chat is not None and endpoint in SENDING else None
        retries = rate_limit_args if rate_limit_args is not None else self.max_retries
        for attempt in range(retries + 1):
            if key is not None:
                await self.limiter.acquire(key)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if key is None or attempt == retries:
                    raise
                seconds = exc.retry_after if isinstance(exc.retry_after, int | float) else \
                    exc.retry_after.total_seconds()
                log.info("429 for chat %s: pausing that chat %.1fs", key, seconds)
                self.limiter.pause(key, float(seconds) + 0.1)
        raise AssertionError("unreachable")
