"""What users do in the sandbox (post, edit, join, leave, press buttons, migrate), with the updates and
service messages Telegram would produce. Used by the control API."""

from __future__ import annotations

from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.markup import detect_entities
from bot.sandbox.records import Chat, Member, StoredMessage
from bot.sandbox.shapes import default_admin_rights, photo_sizes
from bot.sandbox.world import World

JSON = dict[str, Any]


def _sender(world: World, chat: Chat, user_id: int) -> JSON:
    user = world.user(user_id)
    member = world.member(chat, user_id)
    if chat.is_group and not member.active:
        raise ApiError(403, f"user {user_id} is not a member of chat {chat.info.id}")
    if member.status == "restricted" and not member.permissions.get("can_send_messages", False):
        raise ApiError(403, f"user {user_id} is restricted in chat {chat.info.id}")
    return user


def _private_chat(world: World, chat_id: int) -> Chat:
    """A user's private chat exists as soon as the user writes to a bot."""
    if chat_id not in world.chats and chat_id in world.users:
        return world.create_chat("private", user_id=chat_id)
    return world.chat(chat_id)


def post(
    world: World,
    chat_id: int,
    user_id: int,
    text: str | None = None,
    caption: str | None = None,
    photo: bool = False,
    reply_to: int | None = None,
    bot_id: int | None = None,
    entities: list[JSON] | None = None,
) -> StoredMessage:
    """A user's text (or photo with caption) message, optionally replying to an earlier message."""
    chat = _private_chat(world, chat_id)
    sender = _sender(world, chat, user_id)
    if text is None and caption is None and not photo:
        raise ApiError(400, "a message needs text, caption or photo")
    fields: JSON = {}
    if text is not None:
        fields.update(text=text, entities=entities if entities is not None else detect_entities(text) or None)
    else:
        fields.update(
            photo=photo_sizes(chat.next_message_id),
            caption=caption,
            caption_entities=entities if entities is not None else detect_entities(caption or "") or None,
        )
    if reply_to is not None:
        target = world.message(chat, reply_to)
        if target is None:
            raise ApiError(400, "Bad Request: message to be replied not found")
        fields["reply_to_message"] = {k: v for k, v in target.msg.items() if k != "reply_to_message"}
    stored = world.store(chat, world.new_message(chat, sender, **fields), partner=bot_id)
    world.fan_out(chat, stored)
    return stored


def edit(world: World, chat_id: int, message_id: int, text: str) -> StoredMessage:
    """The user edits an earlier message: bots get an ``edited_message`` update."""
    chat = world.chat(chat_id)
    stored = world.message(chat, message_id)
    if stored is None or stored.bot_id is not None:
        raise ApiError(400, "Bad Request: message to edit not found")
    # Copy on write: an undelivered "message" update still references the original dict.
    msg = stored.msg = dict(stored.msg)
    key = "text" if "text" in msg else "caption"
    stored.edits.append({"text": msg.get(key), "date": msg.get("edit_date", msg["date"])})
    msg[key] = text
    msg["edit_date"] = world.now()
    found = detect_entities(text)
    msg.pop("entities" if key == "text" else "caption_entities", None)
    if found:
        msg["entities" if key == "text" else "caption_entities"] = found
    world.fan_out(chat, stored, kind="edited_message")
    return stored


def service(world: World, chat: Chat, actor: JSON, **fields: Any) -> StoredMessage:
    stored = world.store(chat, world.new_message(chat, actor, **fields))
    world.fan_out(chat, stored)
    return stored


def join(world: World, chat_id: int, user_id: int, by: int | None = None) -> StoredMessage:
    """A user (or bot) joins or is added: chat_member/my_chat_member, then ``new_chat_members``."""
    chat = world.chat(chat_id)
    user = world.user(user_id)
    current = world.member(chat, user_id)
    if current.active:
        raise ApiError(400, f"user {user_id} is already a member")
    if current.status == "kicked" and by is None:
        raise ApiError(400, f"user {user_id} is banned in chat {chat_id}; an admin (by=...) must add them")
    world.set_member(chat, user_id, Member("member"), by=by)
    return service(world, chat, world.user(by) if by is not None else user, new_chat_members=[user])


def leave(
    world: World, chat_id: int, user_id: int, by: int | None = None, ban: bool = False
) -> StoredMessage:
    """A user leaves (or is removed by ``by``; ``ban`` = kicked): member update + ``left_chat_member``."""
    chat = world.chat(chat_id)
    user = world.user(user_id)
    if not world.member(chat, user_id).active:
        raise ApiError(400, f"user {user_id} is not a member")
    world.set_member(chat, user_id, Member("kicked" if ban else "left"), by=by)
    return service(world, chat, world.user(by) if by is not None else user, left_chat_member=user)


def promote(
    world: World,
    chat_id: int,
    user_id: int,
    by: int | None = None,
    rights: dict[str, bool] | None = None,
    demote: bool = False,
) -> None:
    """Make a member an administrator (or back to a plain member) — no service message, like Telegram."""
    chat = world.chat(chat_id)
    if not world.member(chat, user_id).active:
        raise ApiError(400, f"user {user_id} is not a member")
    new = (
        Member("member")
        if demote
        else Member("administrator", rights={**default_admin_rights(), **(rights or {})})
    )
    world.set_member(chat, user_id, new, by=by)


def create_group(
    world: World,
    title: str,
    type: str = "group",
    creator: int | None = None,
    members: list[int] | None = None,
    chat_id: int | None = None,
    username: str | None = None,
) -> Chat:
    """A group with an owner and initial members; no updates (as if it existed before the bot came)."""
    chat = world.create_chat(type, title=title, chat_id=chat_id, username=username)
    if creator is not None:
        world.user(creator)
        chat.members[creator] = Member("creator")
    for user_id in members or []:
        world.user(user_id)
        chat.members[user_id] = Member("member")
        if user_id in world.bots:
            chat.bot_ids.add(user_id)
    return chat


def press(
    world: World,
    chat_id: int,
    message_id: int,
    user_id: int,
    data: str | None = None,
    text: str | None = None,
) -> JSON:
    """A user presses an inline button (chosen by callback data or label) on a bot's message."""
    chat = world.chat(chat_id)
    stored = world.message(chat, message_id)
    if stored is None or stored.bot_id is None:
        raise ApiError(400, "no such bot message")
    buttons = [b for row in stored.msg.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
    chosen = [
        b
        for b in buttons
        if "callback_data" in b
        and (data is None or b["callback_data"] == data)
        and (text is None or b["text"] == text)
    ]
    if not chosen:
        raise ApiError(400, "no inline button with that callback data/text on this message")
    query_id = str(4_000_000_000_000 + world.next_seq())
    query = {
        "id": query_id,
        "from": world.user(user_id),
        "message": stored.msg,
        "chat_instance": str(abs(chat.info.id) * 7 + 11),
        "data": chosen[0]["callback_data"],
    }
    world.callbacks[query_id] = {"bot_id": stored.bot_id, "answered": False, "answer": None, "query": query}
    while len(world.callbacks) > world.max_calls:
        world.callbacks.popitem(last=False)
    world.enqueue(world.bots[stored.bot_id], "callback_query", query)
    return query


def migrate(world: World, chat_id: int, by: int | None = None, new_chat_id: int | None = None) -> Chat:
    """Upgrade a group to a supergroup: service messages in both chats, old id then answers 400."""
    old = world.chat(chat_id)
    if old.info.type != "group":
        raise ApiError(400, "only basic groups can be migrated")
    new = world.create_chat("supergroup", title=old.info.title, chat_id=new_chat_id)
    new.members, new.bot_ids = dict(old.members), set(old.bot_ids)
    actor = world.user(by) if by is not None else world.users.get(next(iter(old.members), 0))
    service(world, old, actor or {}, migrate_to_chat_id=new.info.id)
    old.migrated_to = new.info.id
    # Telegram sends the supergroup's first message from the anonymous "Group" bot account.
    group_bot = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    service(world, new, group_bot, migrate_from_chat_id=old.info.id)
    return new
