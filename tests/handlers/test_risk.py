"""Risk control in groups as members and managers see it: deletions, warnings, mutes, reviews, privacy."""

from __future__ import annotations

from datetime import timedelta

from handlers.context import Context
from handlers.router import button_pressed, handle
from handlers.types import ButtonPress, ChatRef, Delete, Restrict, Send, UserRef
from tests.conftest import FakeClock
from tests.handlers.helpers import GROUP, add_manager, message, texts_to

MANAGER_CHAT = ChatRef("telegram", "900")


def bound_group(ctx: Context) -> None:
    add_manager(ctx)
    handle(message("/bind 幸福村台区", user="900", name="李经理"), ctx)


def events(ctx: Context) -> list[tuple[str, str, str]]:
    with ctx.uow() as uow:
        return [(e.category, e.level, e.action) for e in reversed(uow.risk.recent())]


def test_a_block_word_is_deleted_warned_and_alerted_without_repeating_it(ctx: Context) -> None:
    bound_group(ctx)
    outcome = handle(message("专业代开发票，价格优惠", message_id="m9"), ctx)
    assert Delete(GROUP, "m9") in outcome.actions
    [warning] = texts_to(outcome.actions, GROUP)
    assert "已被删除" in warning and "代开发票" not in warning
    [alert] = texts_to(outcome.actions, MANAGER_CHAT)
    assert "风险提醒" in alert and "ad" in alert
    assert events(ctx) == [("ad", "block", "deleted")]
    assert outcome.ticket_number is None


def test_the_third_strike_in_the_window_mutes_the_sender(ctx: Context) -> None:
    bound_group(ctx)
    for n in range(2):
        outcome = handle(message(f"代开发票{n}"), ctx)
        assert not any(isinstance(a, Restrict) for a in outcome.actions)
    outcome = handle(message("代开发票，找我"), ctx)
    [mute] = [a for a in outcome.actions if isinstance(a, Restrict)]
    assert mute.user_id == "501" and mute.until == ctx.clock() + ctx.risk_policy.restrict_for
    assert any("禁言 60 分钟" in text for text in texts_to(outcome.actions, GROUP))


def test_a_review_word_asks_the_manager_with_buttons_and_leaves_the_message(ctx: Context) -> None:
    bound_group(ctx)
    outcome = handle(message("群里有人说电费打折，是真的吗", message_id="m5"), ctx)
    assert not any(isinstance(a, Delete) for a in outcome.actions)
    [review] = [a for a in outcome.actions if isinstance(a, Send) and a.chat == MANAGER_CHAT and a.buttons]
    assert [b.text for b in review.buttons[0]] == ["删除", "警告", "忽略"]
    assert events(ctx)[-1] == ("fraud", "review", "pending")


def test_the_managers_button_acts_once_and_forged_or_foreign_presses_are_refused(ctx: Context) -> None:
    bound_group(ctx)
    outcome = handle(message("电费打折了，快来", message_id="m6"), ctx)
    [review] = [a for a in outcome.actions if isinstance(a, Send) and a.buttons]
    delete_data = review.buttons[0][0].data
    customer = UserRef("telegram", "501", "王大爷")
    manager = UserRef("telegram", "900", "李经理")
    refused = button_pressed(ButtonPress(MANAGER_CHAT, customer, delete_data, "1"), ctx)
    assert refused.actions == [] and refused.notice == "仅限工作人员操作。"
    forged = button_pressed(ButtonPress(MANAGER_CHAT, manager, "risk:999:delete", "1"), ctx)
    assert forged.actions == [] and forged.notice == "该按钮已失效。"
    junk = button_pressed(ButtonPress(MANAGER_CHAT, manager, "rm -rf", "1"), ctx)
    assert junk.actions == []
    done = button_pressed(ButtonPress(MANAGER_CHAT, manager, delete_data, "1"), ctx)
    assert done.actions == [Delete(GROUP, "m6")] and done.notice == "已删除该消息。"
    again = button_pressed(ButtonPress(MANAGER_CHAT, manager, delete_data, "1"), ctx)
    assert again.actions == [] and again.notice == "该提醒已由其他同事处理。"


def test_a_customers_phone_number_is_removed_but_the_appeal_still_opens_a_ticket(ctx: Context) -> None:
    bound_group(ctx)
    outcome = handle(message("停电了，快来人，我电话13812345678", message_id="m7"), ctx)
    assert Delete(GROUP, "m7") in outcome.actions
    replies = texts_to(outcome.actions, GROUP)
    assert any("保护您的隐私" in r for r in replies)
    assert any("工单号 1" in r for r in replies)
    assert all("13812345678" not in r for r in replies)
    assert events(ctx) == [("pii", "review", "deleted")]


def test_staff_are_recorded_but_never_acted_on(ctx: Context) -> None:
    bound_group(ctx)
    outcome = handle(message("提醒大家：代开发票都是骗子", user="900", name="李经理"), ctx)
    assert outcome.actions == []
    assert events(ctx) == [("ad", "block", "staff")]


def test_a_log_word_is_only_recorded(ctx: Context) -> None:
    bound_group(ctx)
    outcome = handle(message("足不出户就能办业务吗"), ctx)
    assert not any(isinstance(a, Delete) for a in outcome.actions)
    assert ("ad", "log", "logged") in events(ctx)


def test_flooding_a_group_gets_the_messages_deleted(ctx: Context, clock: FakeClock) -> None:
    bound_group(ctx)
    limit = ctx.behaviour.limits.flood_messages
    outcomes = []
    for n in range(limit + 2):
        outcomes.append(handle(message(f"哈哈{n}", message_id=f"f{n}"), ctx))
        clock.advance(milliseconds=300)
    assert not any(isinstance(a, Delete) for o in outcomes[:limit] for a in o.actions)
    assert Delete(GROUP, f"f{limit}") in outcomes[limit].actions
    assert ("behaviour", "block", "deleted") in events(ctx)


def test_the_same_text_in_three_groups_is_spam(ctx: Context) -> None:
    bound_group(ctx)
    ad = "低价出售二手电瓶车，联系我"
    results = [handle(message(ad, chat=ChatRef("telegram", f"-70{n}")), ctx) for n in range(3)]
    assert not any(isinstance(a, Delete) for a in results[0].actions + results[1].actions)
    assert any(isinstance(a, Delete) for a in results[2].actions)


def test_a_link_from_a_new_member_is_removed_as_spam(ctx: Context) -> None:
    from handlers.router import member_changed
    from handlers.types import MemberChange

    bound_group(ctx)
    member_changed(MemberChange(GROUP, UserRef("telegram", "777", "新人"), True, ctx.clock()), ctx)
    outcome = handle(message("优惠活动看这里 http://example.com/x", user="777", name="新人", message_id="n1"), ctx)
    assert Delete(GROUP, "n1") in outcome.actions
    assert any("已被删除" in t for t in texts_to(outcome.actions, GROUP))


def test_a_join_raid_alerts_the_manager_once(ctx: Context) -> None:
    from handlers.router import member_changed
    from handlers.types import MemberChange

    bound_group(ctx)
    alerts = []
    for n in range(ctx.behaviour.limits.raid_joins + 3):
        outcome = member_changed(MemberChange(GROUP, UserRef("telegram", f"8{n:03d}", f"n{n}"), True, ctx.clock()),
                                 ctx, welcome=False)
        alerts += texts_to(outcome.actions, MANAGER_CHAT)
    assert len(alerts) == 1 and "人入群" in alerts[0]


def test_managers_set_the_groups_policy_with_risk(ctx: Context) -> None:
    bound_group(ctx)

    def manager_says(text: str) -> str:
        return texts_to(handle(message(text, user="900", name="李经理"), ctx).actions, GROUP)[0]

    assert manager_says("/risk") == "本群风控：开启；3 次违规禁言 60 分钟。"
    assert manager_says("/risk warn 1") == "本群风控：开启；1 次违规禁言 60 分钟。"
    assert manager_says("/risk mute 5") == "本群风控：开启；1 次违规禁言 5 分钟。"
    assert manager_says("/risk warn x").startswith("用法：/risk")
    outcome = handle(message("代开发票"), ctx)
    [mute] = [a for a in outcome.actions if isinstance(a, Restrict)]
    assert mute.until == ctx.clock() + timedelta(minutes=5)
    assert manager_says("/risk off") == "本群风控：关闭；1 次违规禁言 5 分钟。"
    assert not any(isinstance(a, Delete) for a in handle(message("代开发票"), ctx).actions)
    customer = texts_to(handle(message("/risk off"), ctx).actions, GROUP)[0]
    assert "仅限工作人员" in customer
