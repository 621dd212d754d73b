"""Platform rate limits as sliding windows, one per chat plus one overall, with per-chat pauses.

A 429 for one chat pauses only that chat (Telegram's retry_after is per chat for group floods), so
one group's flood wait never holds back the others. Used by the Telegram edge and the outbox.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Window:
    count: int
    seconds: float


class SlidingWindow:
    """At most `count` events in any `seconds`; remembers just the last `count` event times."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self._times: deque[float] = deque(maxlen=window.count)

    def wait_needed(self, now: float) -> float:
        if len(self._times) < self.window.count:
            return 0.0
        return max(0.0, self._times[0] + self.window.seconds - now)

    def record(self, now: float) -> None:
        self._times.append(now)


class KeyedRateLimiter:
    def __init__(self, overall: Window, per_key: Callable[[str], tuple[Window, ...]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._overall = SlidingWindow(overall)
        self._per_key = per_key
        self._keys: dict[str, list[SlidingWindow]] = {}
        self._paused_until: dict[str, float] = {}
        self._clock = clock

    def _windows(self, key: str) -> list[SlidingWindow]:
        if key not in self._keys:
            self._keys[key] = [SlidingWindow(w) for w in self._per_key(key)]
        return self._keys[key]

    def wait_needed(self, key: str) -> float:
        now = self._clock()
        waits = [self._paused_until.get(key, 0.0) - now, self._overall.wait_needed(now)]
        waits += [w.wait_needed(now) for w in self._windows(key)]
        return max(0.0, *waits)

    def record(self, key: str) -> None:
        now = self._clock()
        self._overall.record(now)
        for window in self._windows(key):
            window.record(now)

    async def acquire(self, key: str) -> None:
        """Wait until one more event for `key` fits every window, then count it."""
        while (delay := self.wait_needed(key)) > 0:
            await asyncio.sleep(delay)
        self.record(key)

    def pause(self, key: str, seconds: float) -> None:
        until = self._clock() + seconds
        self._paused_until[key] = max(self._paused_until.get(key, 0.0), until)

    def paused_for(self, key: str) -> float:
        return max(0.0, self._paused_until.get(key, 0.0) - self._clock())
