"""The command table as users meet it: roles, usage errors, the manager's ticket flow, /my."""

from __future__ import annotations

from handlers.commands.base import parse_command
from handlers.commands.table import COMMANDS
from handlers.context import Context
from handlers.router import handle
from handlers.types import ChatRef
from tests.handlers.helpers import GROUP, add_manager, message, texts_to

MANAGER = ChatRef("telegram", "900")


def manager(ctx: Context) -> None:
    add_manager(ctx)


def staff_says(ctx: Context, text: str, private: bool = True) -> list[str]:
    outcome = handle(message(text, user="900", name="李经理", private=private), ctx)
    return [a.text for a in outcome.actions]  # type: ignore[union-attr]


def test_parse_command_strips_the_bot_name_and_ignores_other_bots() -> None:
    assert parse_command("/reply@GridBot 12 已派人", "GridBot") is not None
    parsed = parse_command("/reply@GridBot 12 已派人", "gridbot")
    assert parsed is not None and (parsed.name, parsed.args) == ("reply", "12 已派人")
    assert parse_command("/start@OtherBot", "GridBot") is None
    assert parse_command("停电了 /help", "GridBot") is None


def test_every_command_has_usage_and_description_texts(ctx: Context) -> None:
    for command in COMMANDS:
        for language in ("zh_CN", "en"):
            from handlers.i18n import Texts

            texts = Texts(language, ctx.tz)
            assert texts(f"cmd.usage.{command.name}").startswith(f"/{command.name}")
            assert texts(f"cmd.desc.{command.name}")


def test_customers_are_refused_staff_commands_politely(ctx: Context) -> None:
    for text in ("/tickets", "/accept 1", "/reply 1 好的", "/resolve 1 修好了", "/bind 幸福村"):
        [reply] = [a.text for a in handle(message(text), ctx).actions]  # type: ignore[union-attr]
        assert "仅限工作人员" in reply, text


def test_malformed_commands_answer_with_their_usage(ctx: Context) -> None:
    manager(ctx)
    cases = {"/accept": "/accept 工单号", "/accept abc": "/accept 工单号", "/reply 1": "/reply 工单号 回复内容",
             "/resolve": "/resolve 工单号 办结说明", "/ticket": "/ticket 工单号", "/tickets foo": "/tickets [all]"}
    for text, usage in cases.items():
        assert staff_says(ctx, text) == [f"用法：{usage}"], text
    assert "/bind 台区名称" in staff_says(ctx, "/bind", private=False)[0]
    # In a private chat the first word names the group (WeCom groups are bound this way).
    assert "找不到名为「幸福村」的群" in staff_says(ctx, "/bind 幸福村")[0]
    assert "未知命令" in staff_says(ctx, "/frobnicate")[0]


def test_manager_takes_replies_to_and_resolves_a_ticket(ctx: Context) -> None:
    manager(ctx)
    staff_says(ctx, "/bind 幸福村台区 rural", private=False)
    opened = handle(message("停电了，快来看看", message_id="m1"), ctx)
    assert opened.ticket_number == "1"
    assert "工单 1【故障报修】" in staff_says(ctx, "/tickets")[0]

    accepted = handle(message("/accept 1", user="900", name="李经理", private=True), ctx)
    assert "已由客户经理李经理受理" in texts_to(accepted.actions, GROUP)[0]
    assert "不能受理" in staff_says(ctx, "/accept 1")[0]

    replied = handle(message("/reply 1 师傅已出发，20分钟到", user="900", private=True), ctx)
    [public] = [a for a in replied.actions if a.chat == GROUP]
    assert public.text == "【工单 1 回复】师傅已出发，20分钟到"
    assert public.reply_to_message_id == "m1"  # quotes the appeal

    resolved = handle(message("/resolve 1 线路已修复，恢复供电", user="900", private=True), ctx)
    assert "已办结：线路已修复" in texts_to(resolved.actions, GROUP)[0]
    assert staff_says(ctx, "/tickets") == ["没有待办工单。"]
    detail = staff_says(ctx, "/ticket 1")[0]
    assert "已办结" in detail and "受理" in detail and "回复" in detail

    my = handle(message("/my"), ctx).actions[0].text  # type: ignore[union-attr]
    assert "工单 1【故障报修】已办结" in my


def test_ticket_detail_in_a_group_masks_phone_numbers(ctx: Context) -> None:
    manager(ctx)
    handle(message("停电了，我电话13812345678"), ctx)
    in_group = staff_says(ctx, "/ticket 1", private=False)[0]
    in_private = staff_says(ctx, "/ticket 1")[0]
    assert "13812345678" not in in_group and "13812345678" in in_private


def test_unknown_ticket_is_named(ctx: Context) -> None:
    manager(ctx)
    assert staff_says(ctx, "/ticket 99") == ["没有找到工单 99。"]


def test_help_lists_staff_commands_only_for_staff(ctx: Context) -> None:
    manager(ctx)
    customer_help = handle(message("/help"), ctx).actions[0].text  # type: ignore[union-attr]
    staff_help = staff_says(ctx, "/help")[0]
    assert "/resolve" not in customer_help and "/resolve" in staff_help


def test_redelivered_reply_is_not_posted_twice(ctx: Context) -> None:
    manager(ctx)
    handle(message("停电了快来人"), ctx)
    command = message("/reply 1 马上到", user="900", private=True, message_id="c1")
    assert len(handle(command, ctx).actions) == 2
    assert handle(command, ctx).actions == []
