"""Fault injection and Telegram's flood limits, both pure (the clock is passed in)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.errors import ApiError, migrated, retry_after

FAULT_KINDS = (
    "retry_after",
    "server_error",
    "bad_gateway",
    "kicked",
    "blocked",
    "migrated",
    "delay",
    "custom",
)
# Methods that count against the flood limits: those that put a new message into a chat.
SENDING_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendvideo",
        "sendaudio",
        "sendanimation",
        "sendvoice",
        "sendsticker",
        "sendlocation",
        "sendcontact",
        "sendpoll",
        "senddice",
        "copymessage",
        "forwardmessage",
        "sendmediagroup",
    }
)


@dataclass
class Fault:
    """``remaining`` more calls of ``method`` (lower-cased; "*" = any) fail, optionally only for one chat."""

    method: str
    kind: str
    remaining: int = 1
    chat_id: int | None = None
    retry_after: int = 5
    migrate_to_chat_id: int | None = None
    delay: float = 0.0
    error_code: int = 400
    description: str = "Bad Request: injected fault"
    parameters: dict[str, Any] | None = None

    def error(self) -> ApiError | None:
        """The answer this fault produces; None for a pure delay (the call then runs normally)."""
        if self.kind == "retry_after":
            return retry_after(self.retry_after)
        if self.kind == "server_error":
            return ApiError(500, "Internal Server Error")
        if self.kind == "bad_gateway":
            return ApiError(502, "Bad Gateway")
        if self.kind == "kicked":
            return ApiError(403, "Forbidden: bot was kicked from the group chat")
        if self.kind == "blocked":
            return ApiError(403, "Forbidden: bot was blocked by the user")
        if self.kind == "migrated":
            return migrated(self.migrate_to_chat_id or -1_000_000_000_000)
        if self.kind == "custom":
            return ApiError(self.error_code, self.description, self.parameters)
        return None

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class FaultBook:
    """Queued faults, consumed first-in first-out per matching call."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ApiError(400, f"unknown fault kind {fault.kind!r}; use one of {', '.join(FAULT_KINDS)}")
        fault.method = fault.method.lower()
        self.faults.append(fault)

    def take(self, method: str, chat_id: int | None) -> Fault | None:
        """Consume one matching fault; the list stays tiny, so a linear scan is fine."""
        if not self.faults:
            return None
        for fault in self.faults:
            if fault.method in (method, "*") and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None


@dataclass
class FloodLimiter:
    """Telegram's documented limits per bot: ~1 msg/s per chat (bursts tolerated),
    20 msgs/min per group, 30 msgs/s overall. Off by default."""

    enabled: bool = False
    chat_rate: float = 1.0
    chat_burst: int = 3
    group_per_minute: int = 20
    global_per_second: int = 30
    _buckets: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)
    _groups: dict[tuple[int, int], deque[float]] = field(default_factory=dict)
    _global: dict[int, deque[float]] = field(default_factory=dict)

    def configure(self, **settings: Any) -> None:
        for name, value in settings.items():
            if value is not None and not name.startswith("_") and hasattr(self, name):
                setattr(self, name, type(getattr(self, name))(value))
        self.reset()

    def reset(self) -> None:
        self._buckets.clear()
        self._groups.clear()
        self._global.clear()

    def check(self, bot_id: int, chat_id: int, is_group: bool, now: float) -> None:
        """Record a send or raise the 429 Telegram would answer (the rejected call is not counted)."""
        if not self.enabled:
            return
        waits = [0.0]
        tokens, stamp = self._buckets.get((bot_id, chat_id), (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - stamp) * self.chat_rate)
        if tokens < 1.0:
            waits.append((1.0 - tokens) / self.chat_rate)
        overall = self._global.setdefault(bot_id, deque())
        waits.append(_window_wait(overall, now, 1.0, self.global_per_second))
        group = self._groups.setdefault((bot_id, chat_id), deque()) if is_group else None
        if group is not None:
            waits.append(_window_wait(group, now, 60.0, self.group_per_minute))
        wait = max(waits)
        if wait > 0:
            raise retry_after(max(1, math.ceil(wait)))
        self._buckets[(bot_id, chat_id)] = (tokens - 1.0, now)
        overall.append(now)
        if group is not None:
            group.append(now)


def _window_wait(stamps: deque[float], now: float, window: float, limit: int) -> float:
    """Seconds until a sliding window of ``window`` s has room for one more event (0 = room now)."""
    while stamps and stamps[0] <= now - window:
        stamps.popleft()
    if len(stamps) < limit:
        return 0.0
    return stamps[len(stamps) - limit] + window - now
