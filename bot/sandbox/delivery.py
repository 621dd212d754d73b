"""How updates leave the sandbox: long-polling getUpdates and webhook POSTs (the asyncio side of World)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx

from bot.sandbox.botconfig import apply_allowed_updates
from bot.sandbox.errors import ApiError
from bot.sandbox.params import Params
from bot.sandbox.records import BotState, Webhook
from bot.sandbox.world import World

JSON = dict[str, Any]


class Hub:
    """Wakes long-polls when a bot's queue grows and runs one in-order webhook sender per bot."""

    def __init__(
        self,
        world: World,
        webhook_attempts: int = 6,
        webhook_backoff: float = 0.05,
        webhook_timeout: float = 5.0,
    ) -> None:
        self.world = world
        self.webhook_attempts, self.webhook_backoff, self.webhook_timeout = (
            webhook_attempts,
            webhook_backoff,
            webhook_timeout,
        )
        self.closing = False
        self._events: dict[int, asyncio.Event] = {}
        self._poll_generation: dict[int, int] = {}
        self._senders: dict[int, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        world.listeners.append(self.notify)

    def notify(self, bot_id: int) -> None:
        """World listener: O(1), called for every enqueued update."""
        event = self._events.pop(bot_id, None)
        if event is not None:
            event.set()
        bot = self.world.bots.get(bot_id)
        if bot is not None and bot.webhook is not None and bot.queue and not self.closing:
            task = self._senders.get(bot_id)
            if task is None or task.done():
                self._senders[bot_id] = asyncio.get_running_loop().create_task(self._send_loop(bot_id))

    async def get_updates(self, bot: BotState, p: Params) -> list[JSON]:
        if bot.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        apply_allowed_updates(bot, p)
        # A newer getUpdates terminates an older pending one, exactly like Telegram's 409 Conflict.
        generation = self._poll_generation.get(bot.id, 0) + 1
        self._poll_generation[bot.id] = generation
        self.notify(bot.id)
        bot.confirm(p.integer("offset"))
        limit = min(max(p.integer("limit", 100) or 100, 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(p.number("timeout", 0.0), 0.0)
        while True:
            if self._poll_generation.get(bot.id) != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            updates = bot.peek(limit)
            remaining = deadline - loop.time()
            if updates or remaining <= 0 or self.closing or self._abandoned(bot):
                return updates
            event = self._events.setdefault(bot.id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _abandoned(self, bot: BotState) -> bool:
        """The world was reset or a webhook was set meanwhile: a pending long-poll should just return."""
        return self.world.bots.get(bot.id) is not bot or bot.webhook is not None

    async def _send_loop(self, bot_id: int) -> None:
        """POST queued updates one by one, in order; retry a failing one with backoff, then drop it."""
        failures = 0
        while not self.closing:
            bot = self.world.bots.get(bot_id)
            if bot is None or bot.webhook is None or not bot.queue:
                return
            hook, update = bot.webhook, bot.queue[0]
            error = await self._post(hook, update)
            if not bot.queue or bot.queue[0] is not update:
                continue  # confirmed or dropped meanwhile (deleteWebhook, reset)
            if error is None:
                bot.queue.popleft()
                failures = 0
                continue
            failures += 1
            hook.last_error_date, hook.last_error_message = self.world.now(), error
            if failures >= self.webhook_attempts:
                bot.queue.popleft()  # bounded retries: give up on this update, keep the rest flowing
                failures = 0
                continue
            await asyncio.sleep(min(self.webhook_backoff * 2 ** (failures - 1), 1.0))

    async def _post(self, hook: Webhook, update: JSON) -> str | None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.webhook_timeout)
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        try:
            response = await self._client.post(hook.url, json=update, headers=headers)
        except httpx.HTTPError as exc:
            return f"Connection failed: {exc.__class__.__name__}"
        if 200 <= response.status_code < 300:
            return None
        return f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"

    def pending_senders(self) -> int:
        return sum(1 for task in self._senders.values() if not task.done())

    async def close(self) -> None:
        """Release long-polls at once and stop webhook senders, so the HTTP server can stop quickly."""
        self.closing = True
        for event in self._events.values():
            event.set()
        self._events.clear()
        for task in self._senders.values():
            task.cancel()
        await asyncio.gather(*self._senders.values(), return_exceptions=True)
        self._senders.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self.notify in self.world.listeners:
            self.world.listeners.remove(self.notify)
