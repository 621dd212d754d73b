"""The real PTB Application against the sandbox Bot API over HTTP: what people in the chats see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config.settings import Settings
from tests.bot.live import MANAGER, WANG, ZHANG, Live, live_gridbot, prepared_settings


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with live_gridbot(prepared_settings(tmp_path)) as running:
        yield running


async def test_bot_added_to_a_group_greets_it(live: Live) -> None:
    assert "数字助手" in await live.wait_text(live.group, "数字助手")


async def test_appeal_becomes_a_ticket_with_a_reply_in_the_group(live: Live) -> None:
    sent = await live.say(live.group, WANG, "家里停电了，快来人看看")
    reply = await live.wait_text(live.group, "工单号 1")
    assert "故障报修" in reply and "分钟内到达" in reply
    replies = [m for m in await live.control.bot_messages(live.group) if "工单号" in m.get("text", "")]
    assert replies[0]["reply_to_message_id"] == sent["message_id"]
    [ticket] = live.tickets()
    assert ticket.kind == "repair" and ticket.sender_user_id == str(WANG)


async def test_chit_chat_gets_no_answer(live: Live) -> None:
    await live.wait_text(live.group, "数字助手")
    before = await live.bot_texts(live.group)
    for text in ("早上好", "谢谢师傅", "收到", "哈哈哈"):
        await live.say(live.group, WANG, text)
    await live.settle()
    assert await live.bot_texts(live.group) == before
    assert live.tickets() == []


async def test_caption_and_bot_mention_are_understood(live: Live) -> None:
    await live.control.post_message(live.group, WANG, caption="电表冒烟了，快来看看", photo=True)
    await live.wait_text(live.group, "工单号 1")
    await live.control.join(live.group, ZHANG)
    await live.say(live.group, ZHANG, f"@{live.running.channel.core.bot_username} 我家也停电了")
    await live.wait_text(live.group, "工单号 2")


async def test_manager_flow_and_customer_my(live: Live) -> None:
    await live.say(live.group, MANAGER, "/bind 幸福村台区 city")
    assert "45分钟" not in await live.wait_text(live.group, "已绑定台区")
    await live.say(live.group, WANG, "停电了，快来人")
    assert "45分钟内到达" in await live.wait_text(live.group, "工单号 1")
    await live.wait_text(live.private, "新工单 1")
    await live.say(live.private, MANAGER, "/accept 1")
    await live.wait_text(live.group, "已由客户经理李经理受理")
    await live.say(live.private, MANAGER, "/reply 1 师傅已出发")
    await live.wait_text(live.group, "【工单 1 回复】师傅已出发")
    await live.say(live.private, MANAGER, "/resolve 1 已恢复供电")
    await live.wait_text(live.group, "已办结：已恢复供电")
    await live.say(live.group, WANG, "/my")
    await live.wait_text(live.group, "工单 1【故障报修】已办结")


async def test_customers_are_refused_and_logged(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    await live.say(live.group, WANG, "/tickets")
    await live.wait_text(live.group, "仅限工作人员")
    assert any("refused /tickets" in r.message for r in caplog.records)


async def test_malformed_commands_answer_with_usage(live: Live) -> None:
    await live.say(live.private, MANAGER, "/reply")
    await live.wait_text(live.private, "用法：/reply 工单号 回复内容")
    await live.say(live.private, MANAGER, f"/accept@{live.running.channel.core.bot_username} abc")
    await live.wait_text(live.private, "用法：/accept 工单号")


async def test_joins_and_leaves_are_recorded_with_a_welcome(live: Live) -> None:
    await live.control.join(live.group, ZHANG)
    await live.wait_text(live.group, "欢迎张阿姨")
    await live.control.leave(live.group, ZHANG)
    await live.settle()
    welcomes = [t for t in await live.bot_texts(live.group) if "欢迎" in t]
    assert len(welcomes) == 1  # chat_member update and service message are one join
    from storage.db import make_engine
    from storage.uow import UnitOfWork

    engine = make_engine(live.settings.database_url)
    with UnitOfWork(engine) as uow:
        group = uow.groups.find("telegram", str(live.group))
        assert group is not None and group.id is not None
        [member] = [m for m in uow.groups.members(group.id) if m.user_id == str(ZHANG)]
        assert member.joined_at is not None and member.left_at is not None
    engine.dispose()


async def test_group_migration_keeps_the_tickets(live: Live) -> None:
    await live.say(live.group, WANG, "停电了，快来人")
    await live.wait_text(live.group, "工单号 1")
    new_chat = (await live.control.migrate(live.group, by=MANAGER))["chat"]["id"]
    await live.settle()
    await live.say(live.private, MANAGER, "/reply 1 师傅马上到")
    await live.wait_text(new_chat, "【工单 1 回复】")
    [ticket] = live.tickets()
    assert ticket.chat_id == str(new_chat)



async def test_an_edited_appeal_joins_the_same_ticket(live: Live) -> None:
    sent = await live.say(live.group, WANG, "停电了，快来人")
    await live.wait_text(live.group, "工单号 1")
    await live.control.edit_message(live.group, sent["message_id"], "停电了，快来人，我家在幸福村3组")
    await live.wait_text(live.group, "已补充到您的工单 1")
    assert len(live.tickets()) == 1


async def test_a_crashing_handler_is_retried_and_the_ticket_still_opens(
        live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers import router

    real, failures = router.handle, []

    def flaky(*args: object) -> object:
        if len(failures) < 2:  # the database "goes away" twice
            failures.append(1)
            raise RuntimeError("database is locked")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(router, "handle", flaky)
    await live.say(live.group, WANG, "停电了，快来人")
    await live.wait_text(live.group, "工单号 1")
    assert len(failures) == 2 and len(live.tickets()) == 1


async def test_an_update_that_always_fails_is_parked_not_dropped_and_others_go_on(
        live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers import router
    from storage.db import make_engine
    from storage.uow import UnitOfWork

    real = router.handle

    def poison(incoming, ctx):  # type: ignore[no-untyped-def]
        if "毒" in incoming.text:
            raise RuntimeError("cannot handle this one")
        return real(incoming, ctx)

    monkeypatch.setattr(router, "handle", poison)
    await live.say(live.group, WANG, "有毒的消息，停电了")
    await live.control.join(live.group, ZHANG)
    await live.say(live.group, ZHANG, "我家也停电了，快来看看")
    await live.wait_text(live.group, "工单号 1", timeout=8)
    engine = make_engine(live.settings.database_url)
    with UnitOfWork(engine) as uow:
        [parked] = uow.failed_updates.pending()
        assert parked.payload["message"]["text"] == "有毒的消息，停电了"
        assert "cannot handle this one" in parked.error
    engine.dispose()


def parked_count(settings: Settings) -> int:
    from storage.db import make_engine
    from storage.uow import UnitOfWork

    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            return len(uow.failed_updates.pending())
    finally:
        engine.dispose()


async def test_parked_updates_are_replayed_at_the_next_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers import router

    settings = prepared_settings(tmp_path)
    real = router.handle

    def broken(*args: object) -> object:
        raise RuntimeError("bug in this release")

    async with live_gridbot(settings) as first:
        monkeypatch.setattr(router, "handle", broken)
        await first.say(first.group, WANG, "停电了，快来人")
        for _ in range(200):
            if parked_count(settings) == 1:
                break
            await first.settle(0.05)
        assert parked_count(settings) == 1 and first.tickets() == []
    monkeypatch.setattr(router, "handle", real)  # the fixed release
    async with live_gridbot(settings) as second:
        assert len(second.tickets()) == 1


async def test_bot_removed_from_a_group_marks_it_inactive(live: Live) -> None:
    from storage.db import make_engine
    from storage.uow import UnitOfWork

    await live.wait_text(live.group, "数字助手")
    await live.control.leave(live.group, live.bot_id, by=MANAGER)
    engine = make_engine(live.settings.database_url)
    for _ in range(100):
        with UnitOfWork(engine) as uow:
            group = uow.groups.find("telegram", str(live.group))
        if group is not None and not group.active:
            break
        await live.settle(0.05)
    engine.dispose()
    assert group is not None and not group.active
