"""Telegram's limits: 20 messages/min per group, ~30/s overall, and a 429 pauses only its own chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from scheduler.ratelimit import KeyedRateLimiter, Window
from tests.bot.live import MANAGER, WANG, ZHANG, Live, live_gridbot, prepared_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_group_window_allows_twenty_a_minute_then_waits() -> None:
    clock = Clock()
    limiter = KeyedRateLimiter(Window(30, 1.0), lambda key: (Window(20, 60.0),), clock)
    for _ in range(20):
        assert limiter.wait_needed("-1") == 0
        limiter.record("-1")
        clock.now += 0.5
    assert limiter.wait_needed("-1") == pytest.approx(50.0)  # the first of the 20 was 10 s ago
    assert limiter.wait_needed("-2") == 0  # another group is unaffected


def test_overall_window_caps_every_chat_together() -> None:
    clock = Clock()
    limiter = KeyedRateLimiter(Window(30, 1.0), lambda key: (), clock)
    for n in range(30):
        limiter.record(str(n))
    assert limiter.wait_needed("new-chat") == pytest.approx(1.0)


def test_a_pause_holds_only_its_own_chat() -> None:
    clock = Clock()
    limiter = KeyedRateLimiter(Window(30, 1.0), lambda key: (), clock)
    limiter.pause("-1", 7)
    assert limiter.wait_needed("-1") == pytest.approx(7)
    assert limiter.wait_needed("-2") == 0
    clock.now += 7
    assert limiter.wait_needed("-1") == 0


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with live_gridbot(prepared_settings(tmp_path)) as running:
        yield running


async def test_flood_wait_in_one_group_does_not_freeze_another(live: Live) -> None:
    other = (await live.control.create_group("阳光小区客户群", members=[MANAGER, ZHANG], creator=MANAGER))["chat"]["id"]
    await live.control.add_bot_to_group(other, live.bot_id, by=MANAGER, admin=True)
    await live.wait_text(other, "数字助手")
    await live.control.add_fault("sendMessage", "retry_after", chat_id=live.group, retry_after=2)
    started = time.monotonic()
    await live.say(live.group, WANG, "停电了，快来人")
    await asyncio.sleep(0.2)  # the first group is now waiting out its 429
    await live.say(other, ZHANG, "我家也停电了，快来看看")
    await live.wait_text(other, "工单号")
    other_done = time.monotonic() - started
    await live.wait_text(live.group, "工单号", timeout=6)
    flooded_done = time.monotonic() - started
    assert other_done < 1.8, f"the other group waited {other_done:.1f}s"  # the flooded one waits 2 s or more
    assert flooded_done >= 2.0, "the flooded group must honour retry_after"
