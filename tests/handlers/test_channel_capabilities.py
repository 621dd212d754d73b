"""Where the platform cannot delete, mute or post into groups (WeCom customer groups), the core does not
pretend: the owner is asked to act, nobody is greeted by a task, and the events say what really happened."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.channels import PLATFORMS, WECOM, capabilities
from handlers.context import Context
from handlers.router import handle, member_changed
from handlers.types import ChatRef, Delete, MemberChange, Restrict, Send, UserRef
from storage.models import Staff
from tests.handlers.helpers import message, texts_to

WECOM_GROUP = ChatRef("wecom", "wrGroup0001")
OWNER = ChatRef("wecom", "zhangsan")


def wecom_group(ctx: Context, owner: str | None = "zhangsan") -> None:
    with ctx.uow() as uow:
        group = uow.groups.ensure("wecom", WECOM_GROUP.chat_id, "幸福村客户群", ctx.clock())
        group.owner_user_id = owner
        uow.groups.save(group)
        uow.staff.upsert(Staff(platform="wecom", user_id="zhangsan", name="张经理", role="grid_manager",
                               created_at=ctx.clock()))
        uow.commit()


def risk_actions(ctx: Context) -> list[str]:
    with ctx.uow() as uow:
        return [e.action for e in reversed(uow.risk.recent())]


def test_the_capability_table_says_what_wecom_cannot_do() -> None:
    assert set(PLATFORMS) == {"telegram", "wecom"}
    assert not WECOM.group_text_live and not WECOM.deletes_messages and not WECOM.restricts_members
    assert not WECOM.posts_to_groups and WECOM.groups_per_broadcast == 2000
    assert capabilities("telegram").deletes_messages and capabilities("sandbox-fake").posts_to_groups


def test_a_block_word_in_a_wecom_group_asks_the_owner_and_deletes_nothing(ctx: Context) -> None:
    wecom_group(ctx)
    outcome = handle(message("专业代开发票，价格优惠", chat=WECOM_GROUP, message_id="a1"), ctx)
    assert not any(isinstance(a, Delete | Restrict) for a in outcome.actions)
    assert texts_to(outcome.actions, WECOM_GROUP) == []  # no "deleted" warning that would be a lie
    [task] = texts_to(outcome.actions, OWNER)
    assert "请您处理" in task and "客户群「阳光小区客户群」" in task and "违规 1 次" in task
    assert "含「广告」内容" in task  # the category's name, not its code
    assert risk_actions(ctx) == ["owner_asked"]


def test_strikes_count_on_wecom_but_nobody_is_muted(ctx: Context) -> None:
    wecom_group(ctx)
    for n in range(3):
        outcome = handle(message(f"代开发票{n}", chat=WECOM_GROUP), ctx)
        assert not any(isinstance(a, Restrict) for a in outcome.actions)
    [task] = texts_to(outcome.actions, OWNER)
    assert "违规 3 次" in task


def test_a_phone_number_in_a_wecom_group_is_the_owners_to_handle(ctx: Context) -> None:
    wecom_group(ctx)
    outcome = handle(message("停电了，我电话13812345678", chat=WECOM_GROUP), ctx)
    assert not any(isinstance(a, Delete) for a in outcome.actions)
    [task] = [text for text in texts_to(outcome.actions, OWNER) if "请您处理" in text]  # the other: the new ticket
    assert "13812345678" not in task and "138****5678" in task
    assert outcome.ticket_number is not None  # the appeal itself is still a ticket
    assert "owner_asked" in risk_actions(ctx)


def test_without_an_owner_the_event_is_recorded_and_nobody_is_told_wrongly(ctx: Context) -> None:
    wecom_group(ctx, owner=None)
    outcome = handle(message("专业代开发票", chat=WECOM_GROUP), ctx)
    assert not [a for a in outcome.actions if isinstance(a, Send) and a.chat.platform == "wecom"
                and "请您处理" in a.text]
    assert risk_actions(ctx) == ["owner_asked"]


def test_joins_in_a_wecom_group_are_recorded_without_a_welcome_task(ctx: Context) -> None:
    wecom_group(ctx)
    joined = member_changed(MemberChange(WECOM_GROUP, UserRef("wecom", "wmCustomer1", "王大爷"), True,
                                         datetime.now(UTC)), ctx, welcome=True)
    assert joined.actions == []
    with ctx.uow() as uow:
        group = uow.groups.find("wecom", WECOM_GROUP.chat_id)
        assert group is not None and uow.groups.open_membership(group.id or 0, "wmCustomer1") is not None
