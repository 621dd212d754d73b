"""The satisfaction survey through the real PTB client and the sandbox: the customer rates with inline buttons."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage.db import make_engine
from storage.models import Survey, Ticket
from storage.uow import UnitOfWork
from tests.bot.live import MANAGER, WANG, Live, live_gridbot, prepared_settings


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with live_gridbot(prepared_settings(tmp_path)) as running:
        await running.say(running.group, MANAGER, "/bind 幸福村台区")
        await running.wait_text(running.group, "已绑定")
        yield running


async def bot_message_with(live: Live, chat: int, needle: str) -> dict[str, Any]:
    await live.wait_text(chat, needle)
    [found] = [m for m in await live.control.bot_messages(chat) if needle in m.get("text", "")]
    return found


def callback_data(found: dict[str, Any]) -> list[list[str]]:
    return [[b["callback_data"] for b in row] for row in found["reply_markup"]["inline_keyboard"]]


async def answered(live: Live, text: str, timeout: float = 5.0) -> None:
    """Wait until the bot answered a callback query with `text` (the small notice over the chat)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if any(a.get("text") == text for a in await live.control.callback_answers()):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no callback answer {text!r}: {await live.control.callback_answers()}")


def stored(live: Live, number: int) -> tuple[Ticket, Survey, int | None]:
    """The ticket, its latest survey and the manager's staff id, read from the service's database."""
    engine = make_engine(live.settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            ticket, survey = uow.tickets.get(number), uow.surveys.latest(number)
            staff = uow.staff.find("telegram", str(MANAGER))
    finally:
        engine.dispose()
    assert ticket is not None and survey is not None and staff is not None
    return ticket, survey, staff.id


async def test_the_customer_rates_five_with_the_buttons_and_the_ticket_closes(live: Live) -> None:
    appeal = await live.say(live.group, WANG, "我家停电了，快来人看看")
    await live.wait_text(live.group, "工单号 1")
    await live.wait_text(live.private, "新工单 1")

    await live.say(live.private, MANAGER, "/resolve 1 已修好")
    await live.wait_text(live.private, "工单 1 已办结。")
    question = await bot_message_with(live, live.group, "请为我们的服务打个分")
    assert question["reply_to_message_id"] == appeal["message_id"]
    assert callback_data(question) == [["rate:1:5"], ["rate:1:4"], ["rate:1:3"], ["rate:1:2"], ["rate:1:1"]]
    assert [[b["text"] for b in row] for row in question["reply_markup"]["inline_keyboard"]] == [
        ["5分 非常满意"], ["4分 满意"], ["3分 一般"], ["2分 不满意"], ["1分 很不满意"]]

    # Another member of the group (here the manager) cannot rate the customer's ticket.
    await live.control.press_button(live.group, question["message_id"], MANAGER, data="rate:1:5")
    await answered(live, "只有提出该工单的客户才能评价。")

    await live.control.press_button(live.group, question["message_id"], WANG, data="rate:1:5")
    confirm = await bot_message_with(live, live.group, "您选择了 5 分（满意）")
    assert callback_data(confirm) == [["rate:1:5:ok"]]
    await answered(live, "已选 5 分，请确认提交")
    ticket, survey, _ = stored(live, 1)  # the first press only proposes: nothing is stored yet
    assert (ticket.status, survey.status, survey.score) == ("resolved", "asked", None)

    await live.control.press_button(live.group, confirm["message_id"], WANG, text="确认提交 5 分")
    await live.wait_text(live.group, "感谢您的评价（5 分）")
    await answered(live, "已提交，谢谢！")
    [ticket] = live.tickets()
    assert ticket.status == "closed" and ticket.closed_at is not None
    ticket, survey, manager_id = stored(live, 1)
    assert (survey.status, survey.score, survey.round) == ("rated", 5, 1)
    assert survey.staff_id == manager_id == ticket.assignee_id
    assert survey.customer_user_id == str(WANG) and survey.station_id == ticket.station_id

    # A second press on the confirmation is refused and sends nothing more.
    before = await live.bot_texts(live.group)
    await live.control.press_button(live.group, confirm["message_id"], WANG, data="rate:1:5:ok")
    await answered(live, "这次评价已经提交过了，谢谢！")
    await live.settle(0.3)
    assert await live.bot_texts(live.group) == before
