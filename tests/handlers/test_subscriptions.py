"""供电信息订阅 (seed 003): a customer subscribes in a private chat to the notices of a 台区 or a 户号 and gets
every phase there, once per user and phase, beside the groups; /unsubscribe and /subscriptions; the
commands refuse a group chat. The clock is a FakeClock starting on Tuesday 2026-11-24 10:00 in Shanghai."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from handlers import notices as core
from handlers.context import Context
from handlers.router import handle
from handlers.types import ChatRef, Outcome
from storage.models import Customer, OutboxMessage, Subscription
from tests.conftest import FakeClock
from tests.handlers.helpers import GROUP, OTHER_GROUP, add_manager, message, texts_to

SH = ZoneInfo("Asia/Shanghai")
MANAGER = ChatRef("telegram", "900")
WANG = ChatRef("telegram", "501")  # a private chat's id is the user's own
ZHANG = ChatRef("telegram", "502")
PLANNED = "/notice planned 幸福村台区 12-04 08:00 18:00 10kV幸福线检修 电话:13812345678"


def say(ctx: Context, text: str, *, user: str = "900", private: bool = True, chat: ChatRef = GROUP) -> Outcome:
    return handle(message(text, user=user, private=private, chat=chat), ctx)


def customer_says(ctx: Context, text: str, user: str = "501") -> str:
    return "\n".join(texts_to(say(ctx, text, user=user).actions, ChatRef("telegram", user)))


@pytest.fixture
def areas(ctx: Context, engine: Engine) -> Context:
    """幸福村台区 ← GROUP, 光明村台区 ← OTHER_GROUP (both bound by the manager)."""
    with engine.begin() as conn:  # notice numbers start at 1 in every test
        if conn.dialect.name == "postgresql":
            for table in ("notice", "notice_phase"):
                conn.execute(sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)"))
    add_manager(ctx)
    for chat, area in ((GROUP, "幸福村台区"), (OTHER_GROUP, "光明村台区")):
        assert texts_to(say(ctx, f"/bind {area} rural", private=False, chat=chat).actions, chat)
    return ctx


def area_id(ctx: Context, name: str) -> int:
    with ctx.uow() as uow:
        [found] = uow.notices.area_ids([name])
        return found


def add_customer(ctx: Context, account_no: str, area: str) -> None:
    with ctx.uow() as uow:
        uow.customers.save(Customer(account_no=account_no, name="王大爷", area_id=area_id(ctx, area),
                                    created_at=ctx.clock()))
        uow.commit()


def subscriptions(ctx: Context) -> list[Subscription]:
    with ctx.uow() as uow:
        return list(uow.session.exec(select(Subscription).order_by(col(Subscription.id))).all())


def rows_to(ctx: Context, chat: ChatRef) -> list[OutboxMessage]:
    with ctx.uow() as uow:
        return list(uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.chat_id == chat.chat_id, col(OutboxMessage.notice_phase_id).is_not(None))
            .order_by(col(OutboxMessage.id))).all())


def phase_of(ctx: Context, name: str, number: int = 1) -> int:
    with ctx.uow() as uow:
        [found] = [p.id for p in uow.notices.phases(number) if p.phase == name]
        assert found is not None
        return found


# ------------------------------------------------------------------------------------------------ commands
def test_a_customer_subscribes_to_an_area_in_private_and_lists_it(areas: Context) -> None:
    assert customer_says(areas, "/subscribe 幸福村台区") == "订阅好了：「幸福村台区」的停电通知会发到这里。"
    assert customer_says(areas, "/subscribe 幸福村台区") == "您已经订阅了「幸福村台区」。"
    [row] = subscriptions(areas)
    assert (row.platform, row.user_id, row.chat_id, row.account_no) == ("telegram", "501", "501", None)
    assert row.area_id == area_id(areas, "幸福村台区") and row.cancelled_at is None
    assert customer_says(areas, "/subscriptions") == (
        "您订阅的停电通知：\n· 幸福村台区\n取消订阅请发送 /unsubscribe 台区名称或户号。")


def test_an_unknown_area_is_refused_with_how_to_find_it(areas: Context) -> None:
    answer = customer_says(areas, "/subscribe 幸福台区")
    assert answer == ("没有找到台区「幸福台区」，请核对名称（可问您的客户经理），"
                      "或发送您的户号，例如 /subscribe 1234567890。")
    assert subscriptions(areas) == []
    assert customer_says(areas, "/subscribe") == ("用法：/subscribe 台区名称或户号，例如 /subscribe 幸福村台区 或 "
                                                  "/subscribe 1234567890")


@pytest.mark.parametrize("command", ["/subscribe 幸福村台区", "/unsubscribe", "/subscriptions"])
def test_in_a_group_the_commands_point_to_the_private_chat(areas: Context, command: str) -> None:
    answer = texts_to(say(areas, command, user="501", private=False).actions, GROUP)
    name = command.split()[0]
    assert answer == [f"{name} 请在和我的私聊里使用：点我的名字，发消息给我。"]
    assert subscriptions(areas) == []


def test_a_known_account_number_subscribes_to_its_area(areas: Context) -> None:
    add_customer(areas, "1234567890", "光明村台区")
    assert customer_says(areas, "/subscribe 户号：1234567890") == (
        "订阅好了：户号 1234567890 所在的「光明村台区」的停电通知会发到这里。")
    [row] = subscriptions(areas)
    assert row.area_id == area_id(areas, "光明村台区") and row.account_no is None


def test_an_unknown_account_number_is_kept_and_listed_as_waiting_for_its_area(areas: Context) -> None:
    assert customer_says(areas, "/subscribe 1234567890") == (
        "订阅好了：户号 1234567890 还没有登记台区，登记后它的停电通知会发到这里。")
    [row] = subscriptions(areas)
    assert (row.area_id, row.account_no) == (None, "1234567890")
    assert "· 户号 1234567890（台区待登记）" in customer_says(areas, "/subscriptions")
    add_customer(areas, "1234567890", "幸福村台区")
    assert "· 户号 1234567890（幸福村台区）" in customer_says(areas, "/subscriptions")


def test_unsubscribe_one_then_all_and_subscribing_again_reuses_the_row(areas: Context) -> None:
    customer_says(areas, "/subscribe 幸福村台区")
    customer_says(areas, "/subscribe 光明村台区")
    customer_says(areas, "/subscribe 1234567890")
    assert customer_says(areas, "/unsubscribe 光明村台区") == "已取消订阅「光明村台区」。"
    assert customer_says(areas, "/unsubscribe 光明村台区").startswith("您没有订阅「光明村台区」。")
    listed = customer_says(areas, "/subscriptions").splitlines()
    assert listed[1:3] == ["· 幸福村台区", "· 户号 1234567890（台区待登记）"]
    assert customer_says(areas, "/unsubscribe") == "已取消全部订阅（2 项）。"
    assert customer_says(areas, "/subscriptions").startswith("您还没有订阅停电通知。")
    assert customer_says(areas, "/subscribe 光明村台区").startswith("订阅好了")
    assert len(subscriptions(areas)) == 3  # unique per user and target: the cancelled row came back
    assert [s.cancelled_at is None for s in subscriptions(areas)] == [False, True, False]


# ------------------------------------------------------------------------------------------------ fan-out
def test_a_published_notice_reaches_the_subscriber_in_private_and_the_group(areas: Context) -> None:
    customer_says(areas, "/subscribe 幸福村台区")
    customer_says(areas, "/subscribe 光明村台区", user="502")  # another area: not this notice
    outcome = say(areas, PLANNED)
    [private] = texts_to(outcome.actions, WANG)
    [in_group] = texts_to(outcome.actions, GROUP)
    assert private == in_group and private.startswith("【停电通知】")
    assert "联系电话：李经理 13812345678" in private  # unmasked, as in the group
    assert texts_to(outcome.actions, ZHANG) == []
    # The publisher still counts groups, not private chats.
    assert texts_to(outcome.actions, MANAGER)[0].startswith("通知 1（计划停电）已发布，已发往 1 个群。")
    [row] = rows_to(areas, WANG)
    [sub] = [s for s in subscriptions(areas) if s.user_id == "501"]
    assert row.dedupe_key == f"notice:{row.notice_phase_id}:sub:{sub.id}"
    assert row.id in [q.outbox_id for q in outcome.queued]  # handed to delivery at once, with the group's


def test_a_user_whose_area_and_account_both_match_gets_one_message_per_phase(areas: Context, clock: FakeClock) -> None:
    add_customer(areas, "1234567890", "幸福村台区")
    customer_says(areas, "/subscribe 幸福村台区")
    with areas.uow() as uow:  # a 户号 subscription made before the record was known
        uow.subscriptions.save(Subscription(platform="telegram", user_id="501", chat_id="501",
                                            account_no="1234567890", created_at=clock()))
        uow.commit()
    say(areas, PLANNED)
    clock.now = datetime(2026, 12, 3, 18, 0, tzinfo=SH)
    day_before = phase_of(areas, "day_before")
    assert len(texts_to(core.fire(areas, day_before).actions, WANG)) == 1
    assert core.fire(areas, day_before).actions == []  # fired already
    with areas.uow() as uow:  # a crash between the rows and the phase: pending again, the keys hold
        phase = uow.notices.phase(day_before)
        assert phase is not None
        phase.status = "pending"
        uow.notices.save_phase(phase)
        uow.commit()
    assert texts_to(core.fire(areas, day_before).actions, WANG) == []
    assert [r.text.splitlines()[0] for r in rows_to(areas, WANG)] == ["【停电通知】", "【明日停电提醒】"]


def test_an_account_subscription_is_matched_once_its_customer_is_in_the_area(areas: Context) -> None:
    customer_says(areas, "/subscribe 1234567890")
    assert texts_to(say(areas, PLANNED).actions, WANG) == []  # no record yet: nothing to match
    add_customer(areas, "1234567890", "幸福村台区")
    outcome = say(areas, "/notice temporary 幸福村台区 11-26 09:00 12:00 更换电表")
    assert texts_to(outcome.actions, WANG)[0].startswith("【停电通知】")


def test_a_cancellation_reaches_the_subscriber_and_an_unsubscribed_user_hears_nothing_more(
        areas: Context, clock: FakeClock) -> None:
    customer_says(areas, "/subscribe 幸福村台区")
    customer_says(areas, "/subscribe 幸福村台区", user="502")
    say(areas, PLANNED)
    customer_says(areas, "/unsubscribe", user="502")
    outcome = say(areas, "/notice cancel 1 天气原因")
    [cancelled] = texts_to(outcome.actions, WANG)
    assert cancelled.startswith("【停电取消】")
    assert texts_to(outcome.actions, ZHANG) == []
    assert texts_to(outcome.actions, MANAGER)[0].startswith("通知 1 已取消，取消通知已发往 1 个群。")


def test_a_station_wide_announcement_reaches_every_subscriber(areas: Context) -> None:
    customer_says(areas, "/subscribe 幸福村台区")
    customer_says(areas, "/subscribe 光明村台区", user="502")
    outcome = say(areas, "/notice announcement all 本周六营业厅休息")
    assert texts_to(outcome.actions, WANG) and texts_to(outcome.actions, ZHANG)


def test_the_delivery_report_counts_subscribers_apart_from_groups(areas: Context) -> None:
    customer_says(areas, "/subscribe 幸福村台区")
    customer_says(areas, "/subscribe 幸福村台区", user="502")
    say(areas, PLANNED)
    [row] = rows_to(areas, WANG)
    with areas.uow() as uow:
        uow.outbox.mark_sent(row.id or 0, areas.clock())
        uow.commit()
    with areas.uow() as uow:
        [published, *_] = core.delivery_report(uow, 1)
    assert (published.sent, published.pending, published.failed) == (0, 1, [])  # the group's row
    assert (published.subscribers_sent, published.subscribers_pending, published.subscribers_failed) == (1, 1, 0)
    assert published.phase.groups == 1
