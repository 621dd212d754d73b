"""Outage notices through the real PTB client and the sandbox: the manager publishes in private, only the
group bound to the named area hears of it (at once, not at the next outbox sweep), and so of its cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.bot.live import MANAGER, ZHANG, Live, live_gridbot, prepared_settings

SH = ZoneInfo("Asia/Shanghai")


async def customer_group(live: Live, title: str, members: list[int]) -> int:
    chat: int = (await live.control.create_group(title, members=[MANAGER, *members], creator=MANAGER))["chat"]["id"]
    await live.control.add_bot_to_group(chat, live.bot_id, by=MANAGER, admin=True)
    return chat


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with live_gridbot(prepared_settings(tmp_path)) as running:
        yield running


async def notices_in(live: Live, chat: int) -> list[str]:
    return [text for text in await live.bot_texts(chat) if "通知编号" in text]


async def test_a_planned_notice_reaches_only_the_bound_group_of_its_area_and_so_does_its_cancellation(
        live: Live) -> None:
    guangming = await customer_group(live, "光明村客户群", [ZHANG])
    sunshine = await customer_group(live, "阳光小区客户群", [])  # bound to no area
    await live.say(live.group, MANAGER, "/bind 幸福村台区")
    await live.say(guangming, MANAGER, "/bind 光明村台区")
    await live.wait_text(live.group, "已绑定")
    await live.wait_text(guangming, "已绑定")

    day = datetime.now(SH).date() + timedelta(days=10)  # written as a manager types it: month-day and hour
    await live.say(live.private, MANAGER,
                   f"/notice planned 幸福村台区 {day.month}月{day.day}日8:00-18:00 10kV幸福线检修 电话:13812345678")
    answer = await live.wait_text(live.private, "已发布")
    assert answer.startswith("通知 1（计划停电）已发布，已发往 1 个群。\n群：幸福村客户群\n后续提醒：")
    published = await live.wait_text(live.group, "【停电通知】")
    assert f"时间：{day.month}月{day.day}日 08:00 至 {day.month}月{day.day}日 18:00" in published
    assert "联系电话：李经理 13812345678" in published and "通知编号 1" in published

    await live.say(live.private, MANAGER, "/notice cancel 1 天气原因，另行通知")
    assert (await live.wait_text(live.private, "已取消")) == "通知 1 已取消，取消通知已发往 1 个群。\n群：幸福村客户群"
    cancelled = await live.wait_text(live.group, "【停电取消】")
    assert "说明：天气原因，另行通知" in cancelled and "通知编号 1" in cancelled

    await live.settle()
    assert len(await notices_in(live, live.group)) == 2  # each once: the rows were not queued a second time
    assert await notices_in(live, guangming) == [] and await notices_in(live, sunshine) == []

    await live.say(live.private, MANAGER, "/notice 1")
    report = await live.wait_text(live.private, "发送情况")
    assert "· 发布：" in report and "送达 1，待发 0，失败 0" in report and "· 取消：" in report
