"""Risk control through the real PTB client and the sandbox: what happens to messages and members."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.bot.live import MANAGER, WANG, Live, live_gridbot, prepared_settings


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with live_gridbot(prepared_settings(tmp_path)) as running:
        await running.say(running.group, MANAGER, "/bind 幸福村台区")
        await running.wait_text(running.group, "已绑定")
        yield running


async def message(live: Live, chat: int, message_id: int) -> dict[str, Any]:
    found = [m for m in await live.control.messages(chat) if m["message_id"] == message_id]
    return found[0]


async def eventually_deleted(live: Live, chat: int, message_id: int) -> None:
    for _ in range(100):
        if (await message(live, chat, message_id)).get("deleted"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"message {message_id} was not deleted")


async def test_spam_is_deleted_and_the_third_time_the_sender_is_muted(live: Live) -> None:
    # Telegram mutes members only in supergroups: upgrade the group first (its records follow it).
    group = (await live.control.migrate(live.group, by=MANAGER))["chat"]["id"]
    await asyncio.sleep(0.3)
    for n in range(3):
        sent = await live.say(group, WANG, f"专业代开发票 {n} 号")
        await eventually_deleted(live, group, sent["message_id"])
    await live.wait_text(group, "已被禁言 60 分钟")
    for _ in range(50):
        member = await live.running.channel.application.bot.get_chat_member(group, WANG)
        if member.status == "restricted":
            break
        await asyncio.sleep(0.05)
    assert member.status == "restricted"
    await live.wait_text(live.private, "风险提醒")


async def test_the_manager_deletes_a_reviewed_message_with_a_button(live: Live) -> None:
    sent = await live.say(live.group, WANG, "听说电费打折，大家快去")
    await live.wait_text(live.private, "待审核")
    [alert] = [m for m in await live.control.bot_messages(live.private) if "待审核" in m["text"]]
    await live.control.press_button(live.private, alert["message_id"], MANAGER, text="删除")
    await eventually_deleted(live, live.group, sent["message_id"])
    answers = await live.control.callback_answers()
    assert any(a.get("text") == "已删除该消息。" for a in answers), answers
