"""Customer messages in a group becoming tickets: opening, appending, idempotency, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.context import Context
from handlers.router import handle
from handlers.types import ChatRef, Kind
from tests.conftest import FakeClock
from tests.handlers.helpers import GROUP, OTHER_GROUP, add_manager, message, texts_to


def test_repair_opens_a_ticket_with_number_category_and_deadline(ctx: Context) -> None:
    outcome = handle(message("停电了，家里一点电都没有，快来看看"), ctx)
    assert outcome.kind is Kind.REPAIR
    assert outcome.ticket_number == "1"
    [reply] = texts_to(outcome.actions, GROUP)
    assert "工单号 1" in reply and "故障报修" in reply
    assert "90分钟内到达" in reply  # rural area by default
    with ctx.uow() as uow:
        ticket = uow.tickets.get(1)
        assert ticket is not None and ticket.status == "new"
        assert [c.name for c in uow.tickets.clocks(1)] == ["arrival", "restoration"]
        assert [e.action for e in uow.tickets.events(1)] == ["opened"]


def test_chit_chat_opens_nothing_and_says_nothing(ctx: Context) -> None:
    for text in ("早上好", "谢谢", "收到", "好的👍", "哈哈哈今天真热"):
        outcome = handle(message(text), ctx)
        assert outcome.actions == [] and outcome.ticket_number is None, text
    with ctx.uow() as uow:
        assert uow.tickets.count() == 0


def test_ticket_is_assigned_to_the_groups_manager_who_gets_an_alert(ctx: Context) -> None:
    manager = add_manager(ctx)
    handle(message("/bind 幸福村台区 city", user="900", name="李经理"), ctx)
    outcome = handle(message("我家电表冒烟了，赶紧来人"), ctx)
    alerts = texts_to(outcome.actions, ChatRef("telegram", "900"))
    assert len(alerts) == 1 and "新工单 1" in alerts[0]
    assert "45分钟内到达" in texts_to(outcome.actions, GROUP)[0]  # city area
    with ctx.uow() as uow:
        ticket = uow.tickets.get(1)
        assert ticket is not None and ticket.assignee_id == manager.id


def test_follow_up_within_the_window_joins_the_open_ticket(ctx: Context, clock: FakeClock) -> None:
    handle(message("停电了，快来人看看"), ctx)
    clock.advance(minutes=10)
    outcome = handle(message("我家在幸福村3组，户号 3204567890"), ctx)
    assert outcome.ticket_number == "1"
    assert texts_to(outcome.actions, GROUP) == ["已补充到您的工单 1。"]
    with ctx.uow() as uow:
        assert uow.tickets.count() == 1
        customer = uow.customers.by_chat_account("telegram", "501")
        assert customer is not None and customer.account_no == "3204567890"


def test_after_the_window_a_new_appeal_opens_a_new_ticket(ctx: Context, clock: FakeClock) -> None:
    handle(message("停电了，快来人看看"), ctx)
    clock.advance(minutes=ctx.append_window / timedelta(minutes=1) + 1)
    outcome = handle(message("又停电了，怎么回事"), ctx)
    assert outcome.ticket_number == "2"


def test_other_customers_and_other_groups_get_their_own_tickets(ctx: Context) -> None:
    first = handle(message("停电了快来人", user="501"), ctx)
    second = handle(message("我家也停电了", user="502", name="张阿姨"), ctx)
    third = handle(message("停电了快来人", user="501", chat=OTHER_GROUP), ctx)
    assert {first.ticket_number, second.ticket_number, third.ticket_number} == {"1", "2", "3"}


def test_redelivered_message_never_makes_a_second_ticket(ctx: Context) -> None:
    incoming = message("停电了快来人", message_id="42")
    assert handle(incoming, ctx).ticket_number == "1"
    again = handle(incoming, ctx)
    assert again.duplicate and again.actions == []
    with ctx.uow() as uow:
        assert uow.tickets.count() == 1
        stored = uow.inbound.find("telegram", GROUP.chat_id, "42")
        assert stored is not None and stored.ticket_id == 1 and stored.kind == "repair"


def test_staff_messages_in_groups_are_not_appeals(ctx: Context) -> None:
    add_manager(ctx)
    outcome = handle(message("停电了，大家稍等，我们正在抢修", user="900"), ctx)
    assert outcome.actions == []


def test_phone_numbers_are_masked_in_the_group_reply(ctx: Context) -> None:
    outcome = handle(message("停电了，电话13812345678", name="13812345678"), ctx)
    replies = texts_to(outcome.actions, GROUP)  # the ticket reply, and the note on the removed number
    assert len(replies) == 2 and all("13812345678" not in reply for reply in replies)
    assert any("138****5678" in reply and "工单号" in reply for reply in replies)


def test_bad_input_gives_a_sane_result(ctx: Context) -> None:
    assert handle(message(""), ctx).actions == []
    assert handle(message("   \n "), ctx).actions == []
    assert handle(message("😀😀😀🙏"), ctx).ticket_number is None
    huge = "停电了" + "啊" * 100_000
    outcome = handle(message(huge), ctx)
    with ctx.uow() as uow:
        ticket = uow.tickets.get(int(outcome.ticket_number or 0))
        assert ticket is not None and len(ticket.text) <= ctx.max_text_chars


def test_english_replies(ctx: Context) -> None:
    from handlers.i18n import Texts

    ctx.texts = Texts("en", ctx.tz)
    [reply] = texts_to(handle(message("停电了快来人"), ctx).actions, GROUP)
    assert reply.startswith("Hello") and "ticket 1" in reply


def test_a_crash_while_routing_leaves_nothing_half_written(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    import handlers.appeals as appeals

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(appeals, "open_ticket", boom)
    incoming = message("停电了快来人", message_id="77")
    with pytest.raises(RuntimeError):
        handle(incoming, ctx)
    monkeypatch.undo()
    with ctx.uow() as uow:
        assert uow.inbound.count() == 0  # the idempotency row rolled back with the ticket
    assert handle(incoming, ctx).ticket_number == "1"  # so the redelivery still opens it


def test_beyond_the_known_calendar_a_ticket_still_gets_a_deadline(ctx: Context, clock: FakeClock,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    from datetime import UTC, datetime

    clock.now = datetime(2027, 3, 5, 2, 0, tzinfo=UTC)  # a Friday chinesecalendar does not know yet
    outcome = handle(message("我要投诉，你们营业厅的服务态度太差了"), ctx)
    assert outcome.ticket_number == "1"
    with ctx.uow() as uow:
        clocks = {c.name: c.due_at for c in uow.tickets.clocks(1)}
    assert clocks["reply"].astimezone(ctx.tz).date().isoformat() == "2027-03-13"  # end of Fri 12 (Mon–Fri)
    assert "Monday to Friday" in caplog.text
