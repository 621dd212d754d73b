"""The ticket's closed loop as staff and customers meet it: every state move, the clocks, assignment,
duplicate reports, waiting for the customer, reopening, urging."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from handlers.context import Context
from handlers.lifecycle import TRANSITIONS, IllegalTransition, move
from handlers.router import handle
from handlers.types import ChatRef, Outcome, Send
from storage.models import Staff, Ticket, TicketClock
from tests.conftest import FakeClock
from tests.handlers.helpers import GROUP, OTHER_GROUP, add_manager, message, texts_to

MANAGER = ChatRef("telegram", "900")
COLLEAGUE = ChatRef("telegram", "901")
STATES = tuple(TRANSITIONS)


def say(ctx: Context, text: str, user: str = "900", private: bool = True, chat: ChatRef = GROUP) -> Outcome:
    return handle(message(text, user=user, name="李经理" if user == "900" else "张经理", private=private,
                          chat=chat), ctx)


def reply_text(outcome: Outcome, chat: ChatRef = MANAGER) -> str:
    return "\n".join(texts_to(outcome.actions, chat))


def bound_group(ctx: Context, area: str = "幸福村台区", area_type: str = "rural", chat: ChatRef = GROUP) -> None:
    add_manager(ctx)
    say(ctx, f"/bind {area} {area_type}", private=False, chat=chat)


def ticket(ctx: Context, number: int) -> Ticket:
    with ctx.uow() as uow:
        found = uow.tickets.get(number)
        assert found is not None
        return found


def clocks(ctx: Context, number: int) -> dict[str, TicketClock]:
    with ctx.uow() as uow:
        return {clock.name: clock for clock in uow.tickets.clocks(number)}


def events(ctx: Context, number: int) -> list[str]:
    with ctx.uow() as uow:
        return [event.action for event in uow.tickets.events(number)]


@pytest.mark.parametrize("source", STATES)
def test_every_move_from_every_state_is_allowed_or_refused_by_the_table(ctx: Context, source: str) -> None:
    bound_group(ctx)
    handle(message("我家停电了"), ctx)
    for target in STATES:
        with ctx.uow() as uow:
            found = uow.tickets.get(1)
            assert found is not None
            found.status = source
            uow.tickets.save(found)
            if target in TRANSITIONS[source]:
                event = move(uow, ctx, found, target, "staff:1", note="测试")
                assert (found.status, event.action, event.data["from"], event.data["to"]) == (
                    target, target, source, target)
                assert event.actor == "staff:1" and event.note == "测试"
            else:
                with pytest.raises(IllegalTransition):
                    move(uow, ctx, found, target, "staff:1")
                assert found.status == source
            # rolled back: each target is tried from the same source state


def test_an_illegal_command_is_refused_with_the_current_state_and_changes_nothing(ctx: Context) -> None:
    bound_group(ctx)
    handle(message("电费怎么交"), ctx)
    say(ctx, "/resolve 1 已告知缴费方式")
    refused = reply_text(say(ctx, "/wait 1 请提供户号"))
    assert refused == "工单 1 当前为「已办结」，不能转为等待客户。"
    assert "不能撤销" in reply_text(say(ctx, "/cancel 1 误报"))
    assert "不能受理" in reply_text(say(ctx, "/accept 1"))
    assert ticket(ctx, 1).status == "resolved"
    assert events(ctx, 1).count("resolved") == 1


def test_both_clocks_of_a_repair_arrival_then_restoration(ctx: Context, clock: FakeClock) -> None:
    bound_group(ctx, area_type="city")
    handle(message("我家停电了，快来修"), ctx)
    opened_at = clock.now
    first = clocks(ctx, 1)
    assert first["arrival"].due_at == opened_at + timedelta(minutes=45)
    assert first["restoration"].after == "arrival"

    clock.advance(minutes=30)
    arrived = say(ctx, "/arrive 1")
    assert "已登记到场" in reply_text(arrived)
    assert "抢修人员已到达现场" in texts_to(arrived.actions, GROUP)[0]
    after = clocks(ctx, 1)
    assert after["arrival"].met_at == clock.now
    # Restoration now counts 3 h from the actual arrival, not from the estimate made at opening.
    assert after["restoration"].started_at == clock.now
    assert after["restoration"].due_at == clock.now + timedelta(hours=3)
    assert ticket(ctx, 1).status == "in_progress"
    assert "没有需要登记的到场时限" in reply_text(say(ctx, "/arrive 1"))

    clock.advance(hours=4)  # restored late
    say(ctx, "/resolve 1 已恢复供电")
    done = clocks(ctx, 1)
    assert done["restoration"].met_at == clock.now and done["restoration"].met_at > done["restoration"].due_at
    detail = reply_text(say(ctx, "/ticket 1"))
    assert "到达现场 期限" in detail and "（超期）" in detail


def test_a_complaints_first_contact_is_met_by_accepting_and_its_reply_by_resolving(
        ctx: Context, clock: FakeClock) -> None:
    bound_group(ctx)
    handle(message("我要投诉你们的抄表员态度太差"), ctx)
    clock.advance(hours=1)
    say(ctx, "/accept 1")
    met = clocks(ctx, 1)
    assert met["first_contact"].met_at == clock.now and met["reply"].met_at is None
    assert ticket(ctx, 1).first_response_at == clock.now
    assert ticket(ctx, 1).due_at == met["reply"].due_at  # the next deadline is what staff see now


def test_waiting_for_the_customer_stops_the_clocks_until_they_answer(ctx: Context, clock: FakeClock) -> None:
    bound_group(ctx)
    handle(message("我想申请新装一块电表"), ctx)  # service request, 5 working days
    due = clocks(ctx, 1)["handle"].due_at
    waited = say(ctx, "/wait 1 请提供您的户号和身份证复印件")
    assert "请您补充：请提供您的户号" in texts_to(waited.actions, GROUP)[0]
    assert ticket(ctx, 1).status == "waiting_customer"

    clock.advance(hours=50)  # far beyond the append window: the answer still finds the waiting ticket
    answered = handle(message("户号是 3100123456"), ctx)
    assert answered.ticket_number == "1"
    assert "已补充：户号是" in reply_text(answered)  # the manager hears the customer answered
    assert ticket(ctx, 1).status == "in_progress"
    assert clocks(ctx, 1)["handle"].due_at == due + timedelta(hours=50)
    assert "customer_answered" in events(ctx, 1)


def test_reopening_gives_a_fresh_deadline_and_the_same_manager(ctx: Context, clock: FakeClock) -> None:
    bound_group(ctx)
    handle(message("我建议在村口多装一盏路灯"), ctx)
    say(ctx, "/resolve 1 已转交市政")
    clock.advance(days=1)
    say(ctx, "/reopen 1 客户说路灯仍未安装")
    reopened = ticket(ctx, 1)
    assert (reopened.status, reopened.resolved_at) == ("reopened", None)
    fresh = clocks(ctx, 1)["reopen"]
    assert fresh.started_at == clock.now and fresh.met_at is None
    assert reopened.due_at == fresh.due_at
    assert events(ctx, 1)[-1] == "reopened"


def test_cancel_tells_the_customer_and_ends_the_ticket(ctx: Context) -> None:
    bound_group(ctx)
    handle(message("我要投诉"), ctx)
    cancelled = say(ctx, "/cancel 1 客户说是误会")
    assert texts_to(cancelled.actions, GROUP) == ["您的工单 1 已撤销：客户说是误会"]
    assert ticket(ctx, 1).status == "cancelled"
    assert "不能重新打开" in reply_text(say(ctx, "/reopen 1 再看看"))


def test_repairs_from_one_area_are_linked_under_the_first_and_all_hear_the_resolution(
        ctx: Context, clock: FakeClock) -> None:
    bound_group(ctx)
    say(ctx, "/bind 幸福村台区 rural", private=False, chat=OTHER_GROUP)  # a second group of the same area
    handle(message("我家停电了", user="501", name="王大爷"), ctx)
    clock.advance(minutes=5)
    linked = handle(message("我们这边也停电了", user="502", name="刘阿姨"), ctx)
    assert "已在处理（工单 1）" in texts_to(linked.actions, GROUP)[0]
    assert texts_to(linked.actions, MANAGER) == []  # no second alert for the same fault
    handle(message("村东头全黑了", user="503", name="赵叔", chat=OTHER_GROUP), ctx)
    handle(message("停电了吗", user="504", name="孙姐", chat=OTHER_GROUP), ctx)
    assert [ticket(ctx, n).parent_id for n in (2, 3, 4)] == [1, 1, 1]
    assert {ticket(ctx, n).status for n in (2, 3, 4)} == {"merged"}
    assert clocks(ctx, 2) == {}
    assert "合并的工单（3）：2 3 4" in reply_text(say(ctx, "/ticket 1"))

    resolved = say(ctx, "/resolve 1 线路已修复，恢复供电")
    in_first_group = texts_to(resolved.actions, GROUP)
    assert any(text.startswith("刘阿姨：您报告的故障报修（工单 1）已处理") for text in in_first_group)
    other = texts_to(resolved.actions, OTHER_GROUP)
    assert other == ["赵叔、孙姐：您报告的故障报修（工单 1）已处理：线路已修复，恢复供电"]  # one message per group

    clock.advance(hours=3)  # a new fault after the window is a ticket of its own
    again = handle(message("又停电了", user="505", name="周伯"), ctx)
    assert ticket(ctx, int(again.ticket_number or 0)).parent_id is None


def test_merge_by_hand_and_unmerge_by_reopening(ctx: Context) -> None:
    bound_group(ctx)
    handle(message("我要投诉抄表员", user="501"), ctx)
    handle(message("抄表员乱收费，我要举报", user="502"), ctx)
    assert "不能作为合并目标" in reply_text(say(ctx, "/merge 2 2"))
    merged = say(ctx, "/merge 2 1")
    assert "已并入工单 1" in reply_text(merged)
    assert "与工单 1 是同一问题" in texts_to(merged.actions, GROUP)[0]
    assert "不能作为合并目标" in reply_text(say(ctx, "/merge 1 2"))
    say(ctx, "/reopen 2 不是同一件事")
    assert (ticket(ctx, 2).status, ticket(ctx, 2).parent_id) == ("reopened", None)


def test_round_robin_assigns_unowned_groups_and_skips_managers_who_are_away(ctx: Context) -> None:
    add_manager(ctx, "900", "李经理")
    add_manager(ctx, "901", "张经理")
    add_manager(ctx, "902", "陈经理")
    owners = []
    for n in range(6):  # the group is not bound to anyone: round-robin
        opened = handle(message(f"第{n}次报修，停电了", user=str(600 + n)), ctx)
        owners.append(ticket(ctx, int(opened.ticket_number or 0)).assignee_id)
    assert owners[:3] == owners[3:] and len(set(owners)) == 3

    assert "已暂停接单" in reply_text(say(ctx, "/away", user="901"), COLLEAGUE)
    with ctx.uow() as uow:
        away = uow.staff.find("telegram", "901")
        assert away is not None
    later = [ticket(ctx, int(handle(message(f"又停电{n}", user=str(700 + n)), ctx).ticket_number or 0)).assignee_id
             for n in range(4)]
    assert away.id not in later
    say(ctx, "/back", user="901")
    assert ticket(ctx, int(handle(message("还是停电", user="800"), ctx).ticket_number or 0)).assignee_id == away.id


def test_a_group_managers_absence_sends_their_tickets_round_robin(ctx: Context) -> None:
    bound_group(ctx)
    add_manager(ctx, "901", "张经理")
    say(ctx, "/away")
    opened = handle(message("我家停电了"), ctx)
    with ctx.uow() as uow:
        colleague = uow.staff.find("telegram", "901")
    assert colleague is not None and ticket(ctx, int(opened.ticket_number or 0)).assignee_id == colleague.id
    assert texts_to(opened.actions, COLLEAGUE)  # the alert goes to whoever got it


def test_hand_over_keeps_the_history_and_tells_the_new_assignee(ctx: Context) -> None:
    bound_group(ctx)
    colleague = add_manager(ctx, "901", "张经理")
    handle(message("我家停电了"), ctx)
    handed = say(ctx, "/assign 1 901")
    assert "已转派给张经理" in reply_text(handed)
    assert "李经理把工单 1【故障报修】转给您" in reply_text(handed, COLLEAGUE)
    assert ticket(ctx, 1).assignee_id == colleague.id
    with ctx.uow() as uow:
        last = uow.tickets.events(1)[-1]
    assert last.action == "reassigned" and last.data["to_staff"] == colleague.id and last.data["from_staff"]
    assert "找不到用户 ID 为 999" in reply_text(say(ctx, "/assign 1 999"))


def test_internal_notes_stay_with_staff_and_urging_reaches_the_assignee_once(ctx: Context, clock: FakeClock) -> None:
    bound_group(ctx)
    add_manager(ctx, "901", "张经理")
    handle(message("我家停电了"), ctx)
    noted = say(ctx, "/note 1 客户家里有老人，优先处理")
    assert texts_to(noted.actions, GROUP) == []
    assert "客户家里有老人" in reply_text(say(ctx, "/ticket 1"))

    urged = say(ctx, "/urge 1 客户又打电话来了", user="901")
    assert "【催办】张经理催办工单 1" in reply_text(urged, MANAGER)
    assert "半小时内已催办过" in reply_text(say(ctx, "/urge 1", user="901"), COLLEAGUE)
    clock.advance(minutes=31)
    assert "【催办】" in reply_text(say(ctx, "/urge 1", user="901"), MANAGER)


def test_complaint_levels_are_set_on_open_complaints_only(ctx: Context) -> None:
    bound_group(ctx)
    handle(message("我要投诉你们的服务"), ctx)
    handle(message("电费怎么交", user="502"), ctx)
    assert "投诉等级：重大" in reply_text(say(ctx, "/level 1 重大"))
    assert ticket(ctx, 1).level == "重大"
    assert "不是未办结的投诉" in reply_text(say(ctx, "/level 2 重大"))
    assert reply_text(say(ctx, "/level 1 很严重")) == "用法：/level 工单号 特殊|重大|重要|一般"


def test_staff_without_a_station_and_with_one_both_count_as_on_duty(ctx: Context) -> None:
    now = datetime(2026, 11, 24, 2, 0).astimezone()
    with ctx.uow() as uow:
        uow.staff.upsert(Staff(platform="telegram", user_id="910", name="王主任", role="supervisor", created_at=now))
        uow.commit()
    opened = handle(message("我家停电了"), ctx)
    assert ticket(ctx, int(opened.ticket_number or 0)).assignee_id is None  # supervisors are not dispatched
    assert not [a for a in opened.actions if isinstance(a, Send) and a.chat.chat_id == "910"]


def test_a_plain_answer_to_a_question_reaches_the_ticket_even_after_a_restart(
        ctx: Context, clock: FakeClock, engine: Engine) -> None:
    from bot.bootstrap import build_context
    from config.settings import load_settings
    from handlers.appeals import load_expected_answers

    bound_group(ctx)
    handle(message("我想申请新装一块电表"), ctx)
    say(ctx, "/wait 1 请问您家在几组？")
    clock.advance(hours=3)
    answer = "三组，村口第二家"  # no appeal words, no number: ordinary chat on its own
    assert ctx.classifier.classify(answer).kind.value == "none"

    restarted = build_context(load_settings(), engine)  # the expectations lived in the old process's memory
    restarted.clock = clock
    assert load_expected_answers(restarted) == 1
    answered = handle(message(answer), restarted)
    assert answered.ticket_number == "1" and ticket(restarted, 1).status == "in_progress"
    assert "已补充：三组，村口第二家" in reply_text(answered)
    # Only the next message: later chat is chat again.
    assert handle(message("今天天气真好"), restarted).ticket_number is None
