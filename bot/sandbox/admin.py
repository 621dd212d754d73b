"""Bot API methods about chats and members: getChat*, ban/unban/restrict/promote, invite links, leaveChat."""

from __future__ import annotations

import secrets
from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.methods import Method, bot_chat
from bot.sandbox.params import Params
from bot.sandbox.records import BotState, Chat, Member
from bot.sandbox.scenarios import service
from bot.sandbox.shapes import ADMIN_FIELDS, PERMISSION_FIELDS, full_chat_json, member_json
from bot.sandbox.world import World

JSON = dict[str, Any]


def _require_right(world: World, chat: Chat, bot: BotState, right: str, error: str) -> None:
    member = world.member(chat, bot.id)
    if member.status == "creator":
        return
    if member.status != "administrator" or not member.rights.get(right, False):
        raise ApiError(400, f"Bad Request: {error}")


def _target(world: World, chat: Chat, p: Params) -> tuple[int, Member]:
    user_id = p.integer("user_id")
    if user_id is None:
        raise ApiError(400, "Bad Request: user_id is empty")
    world.user(user_id)
    return user_id, world.member(chat, user_id)


def _group_only(chat: Chat, supergroup: bool = False) -> None:
    if not chat.is_group:
        raise ApiError(
            400,
            "Bad Request: method is available for supergroup and channel chats only"
            if supergroup
            else "Bad Request: method is available only for group chats",
        )
    if supergroup and chat.info.type != "supergroup":
        raise ApiError(400, "Bad Request: method is available only for supergroups")


def get_chat(world: World, bot: BotState, p: Params) -> JSON:
    chat = bot_chat(world, bot, p)
    return full_chat_json(chat.info, chat.permissions)


def get_chat_member(world: World, bot: BotState, p: Params) -> JSON:
    chat = bot_chat(world, bot, p)
    user_id, member = _target(world, chat, p)
    return member_json(world.user(user_id), member)


def get_chat_member_count(world: World, bot: BotState, p: Params) -> int:
    chat = bot_chat(world, bot, p)
    return 2 if not chat.is_group else sum(1 for m in chat.members.values() if m.active)


def get_chat_administrators(world: World, bot: BotState, p: Params) -> list[JSON]:
    chat = bot_chat(world, bot, p)
    if not chat.is_group:
        raise ApiError(400, "Bad Request: there are no administrators in the private chat")
    return [
        member_json(world.user(uid), m)
        for uid, m in chat.members.items()
        if m.status in ("creator", "administrator")
    ]


def _remove(world: World, chat: Chat, bot: BotState, user_id: int, new: Member) -> None:
    """Membership change done by the bot; removing an active member also posts left_chat_member."""
    was_active = world.member(chat, user_id).active
    world.set_member(chat, user_id, new, by=bot.id)
    if was_active and not new.active:
        service(world, chat, bot.user(), left_chat_member=world.user(user_id))


def ban_chat_member(world: World, bot: BotState, p: Params) -> bool:
    chat = bot_chat(world, bot, p)
    _group_only(chat)
    _require_right(
        world, chat, bot, "can_restrict_members", "not enough rights to restrict/unrestrict chat member"
    )
    user_id, member = _target(world, chat, p)
    if user_id == bot.id:
        raise ApiError(400, "Bad Request: can't remove self")
    if member.status == "creator":
        raise ApiError(400, "Bad Request: can't remove chat owner")
    if member.status == "administrator":
        raise ApiError(400, "Bad Request: user is an administrator of the chat")
    _remove(world, chat, bot, user_id, Member("kicked", until_date=p.integer("until_date", 0) or 0))
    return True


def unban_chat_member(world: World, bot: BotState, p: Params) -> bool:
    chat = bot_chat(world, bot, p)
    _group_only(chat)
    _require_right(
        world, chat, bot, "can_restrict_members", "not enough rights to restrict/unrestrict chat member"
    )
    user_id, member = _target(world, chat, p)
    if member.status == "kicked":
        world.set_member(chat, user_id, Member("left"), by=bot.id)
    elif member.active and not p.flag("only_if_banned"):
        # Documented Telegram behaviour: unbanning a present member removes them from the chat.
        if member.status in ("creator", "administrator"):
            raise ApiError(400, "Bad Request: user is an administrator of the chat")
        _remove(world, chat, bot, user_id, Member("left"))
    return True


def restrict_chat_member(world: World, bot: BotState, p: Params) -> bool:
    chat = bot_chat(world, bot, p)
    _group_only(chat, supergroup=True)
    _require_right(
        world, chat, bot, "can_restrict_members", "not enough rights to restrict/unrestrict chat member"
    )
    user_id, member = _target(world, chat, p)
    if member.status in ("creator", "administrator"):
        raise ApiError(400, "Bad Request: user is an administrator of the chat")
    given = p.obj("permissions")
    if not isinstance(given, dict):
        raise ApiError(400, "Bad Request: permissions must be an object")
    permissions = {name: bool(given.get(name, False)) for name in PERMISSION_FIELDS}
    if all(permissions[name] for name in PERMISSION_FIELDS if chat.permissions.get(name, False)):
        new = Member("member" if member.active else member.status)  # nothing left to restrict
    else:
        new = Member(
            "restricted",
            until_date=p.integer("until_date", 0) or 0,
            permissions=permissions,
            is_member=member.active,
        )
    world.set_member(chat, user_id, new, by=bot.id)
    return True


def promote_chat_member(world: World, bot: BotState, p: Params) -> bool:
    chat = bot_chat(world, bot, p)
    _group_only(chat)
    _require_right(world, chat, bot, "can_promote_members", "not enough rights")
    user_id, member = _target(world, chat, p)
    if not member.active:
        raise ApiError(400, "Bad Request: user not found")
    rights = {name: p.flag(name) for name in ADMIN_FIELDS}
    new = Member("administrator", rights=rights) if any(rights.values()) else Member("member")
    world.set_member(chat, user_id, new, by=bot.id)
    return True


def create_chat_invite_link(world: World, bot: BotState, p: Params) -> JSON:
    chat = bot_chat(world, bot, p)
    _group_only(chat)
    _require_right(world, chat, bot, "can_invite_users", "not enough rights to manage chat invite link")
    link: JSON = {
        "invite_link": f"https://t.me/+{secrets.token_urlsafe(12)}",
        "creator": bot.user(),
        "creates_join_request": p.flag("creates_join_request"),
        "is_primary": False,
        "is_revoked": False,
    }
    for name in ("name", "expire_date", "member_limit"):
        if p.has(name):
            link[name] = p.text(name) if name == "name" else p.integer(name)
    return link


def leave_chat(world: World, bot: BotState, p: Params) -> bool:
    chat = bot_chat(world, bot, p)
    _group_only(chat)
    _remove(world, chat, bot, bot.id, Member("left"))
    return True


def send_chat_action(world: World, bot: BotState, p: Params) -> bool:
    bot_chat(world, bot, p)
    return True


ADMIN_METHODS: dict[str, Method] = {
    "getchat": get_chat,
    "getchatmember": get_chat_member,
    "getchatmembercount": get_chat_member_count,
    "getchatadministrators": get_chat_administrators,
    "banchatmember": ban_chat_member,
    "unbanchatmember": unban_chat_member,
    "restrictchatmember": restrict_chat_member,
    "promotechatmember": promote_chat_member,
    "createchatinvitelink": create_chat_invite_link,
    "leavechat": leave_chat,
    "sendchataction": send_chat_action,
}
