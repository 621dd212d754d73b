"""供电信息订阅 through the real PTB client and the sandbox: a customer subscribes to their 台区 in a private chat
with the bot, a manager publishes a notice for it, and the customer's private chat gets it once, at once,
beside the group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.bot.live import MANAGER, WANG, Live, live_gridbot, prepared_settings

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with live_gridbot(prepared_settings(tmp_path)) as running:
        yield running


async def notices_in(live: Live, chat: int) -> list[str]:
    return [text for text in await live.bot_texts(chat) if "通知编号" in text]


async def test_a_subscriber_gets_the_notice_of_their_area_in_private_once_and_the_group_too(live: Live) -> None:
    await live.say(live.group, MANAGER, "/bind 幸福村台区")
    await live.wait_text(live.group, "已绑定")

    await live.say(live.group, WANG, "/subscribe 幸福村台区")  # in the group: pointed to the private chat
    await live.wait_text(live.group, "请在和我的私聊里使用")
    wang = (await live.control.create_private_chat(WANG))["chat"]["id"]
    await live.say(wang, WANG, "/subscribe 幸福村台区")
    assert await live.wait_text(wang, "订阅好了") == "订阅好了：「幸福村台区」的停电通知会发到这里。"

    day = datetime.now(SH).date() + timedelta(days=10)
    await live.say(live.private, MANAGER,
                   f"/notice planned 幸福村台区 {day.month}月{day.day}日8:00-18:00 10kV幸福线检修 电话:13812345678")
    answer = await live.wait_text(live.private, "已发布")
    assert answer.startswith("通知 1（计划停电）已发布，已发往 1 个群。")
    private = await live.wait_text(wang, "【停电通知】")  # at once: handed to delivery with the group's row
    assert "联系电话：李经理 13812345678" in private and "通知编号 1" in private
    assert private == await live.wait_text(live.group, "【停电通知】")

    await live.settle()
    assert len(await notices_in(live, wang)) == 1 and len(await notices_in(live, live.group)) == 1
