"""Customer groups (客户群) as WeCom reports them, applied to our records.

Events can be lost or arrive out of order, so an event is only a cue: the group is fetched again with
groupchat/get and our records are made to match it (title, owner, members). The nightly reconciliation does
the same for every group groupchat/list returns, and marks the groups it no longer lists as gone.
A group seen for the first time has its members recorded quietly (no raid alert for 200 people who were
there all along); later joins and leaves go through the core like Telegram's, with WeCom's join times.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from handlers import router
from handlers.context import Context
from handlers.types import BotMembership, ChatRef, MemberChange, Outcome, UserRef
from storage.models import GroupMember

PLATFORM = "wecom"
KF_PREFIX = "kf:"  # a 微信客服 chat: ChatRef("wecom", "kf:<external_userid>")


def when(seconds: Any, default: datetime | None = None) -> datetime:
    """WeCom's Unix seconds as an aware datetime; `default` (now) when missing or malformed."""
    default = default or datetime.now(UTC)
    try:
        return datetime.fromtimestamp(int(seconds), UTC) if seconds else default
    except (TypeError, ValueError, OverflowError):
        return default


def _name(member: dict[str, Any]) -> str:
    return str(member.get("group_nickname") or member.get("name") or member.get("userid") or "")[:200]


def apply_group(ctx: Context, info: dict[str, Any], now: datetime) -> list[Outcome]:
    """Make our records match groupchat/get's answer; the core's outcomes of the joins and leaves."""
    chat = ChatRef(PLATFORM, str(info["chat_id"]))
    title = str(info.get("name") or "")[:200]
    members = {str(m["userid"]): m for m in info.get("member_list", []) if m.get("userid")}
    with ctx.uow() as uow:
        known = uow.groups.find(PLATFORM, chat.chat_id)
        group = uow.groups.ensure(PLATFORM, chat.chat_id, title, now)
        assert group.id is not None
        first_sight = known is None or not uow.groups.members(group.id)
        group.owner_user_id, group.active, group.updated_at = str(info.get("owner") or "") or None, True, now
        uow.groups.save(group)
        present = {m.user_id for m in uow.groups.members(group.id) if m.left_at is None}
        if first_sight:
            for user_id, member in members.items():
                uow.groups.add_member(GroupMember(group_id=group.id, user_id=user_id, display_name=_name(member),
                                                  joined_at=when(member.get("join_time"), now)))
        uow.commit()
    if first_sight:
        return []
    outcomes = []
    for user_id in sorted(members.keys() - present, key=lambda u: int(members[u].get("join_time") or 0)):
        member = members[user_id]
        change = MemberChange(chat, UserRef(PLATFORM, user_id, _name(member)), True,
                              when(member.get("join_time"), now), title)
        outcomes.append(router.member_changed(change, ctx, welcome=False))
    for user_id in sorted(present - members.keys()):
        outcomes.append(router.member_changed(MemberChange(chat, UserRef(PLATFORM, user_id), False, now, title), ctx))
    return outcomes


def group_gone(ctx: Context, chat_id: str, now: datetime) -> Outcome:
    """Dismissed (or no longer visible to the app): inactive, like a Telegram group that removed the bot."""
    return router.bot_membership(BotMembership(ChatRef(PLATFORM, chat_id), False, now), ctx)


def missing_groups(ctx: Context, listed: Collection[str]) -> list[str]:
    """Active WeCom groups of ours that groupchat/list no longer returns."""
    listed = set(listed)
    with ctx.uow() as uow:
        return [g.chat_id for g in uow.groups.all() if g.platform == PLATFORM and g.active and g.chat_id not in listed]
