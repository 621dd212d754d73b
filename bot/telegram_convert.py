"""Telegram Update → the core's platform-neutral events. Pure functions, no I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from telegram import Chat, ChatMemberUpdated, Message, Update, User

from handlers.types import BotMembership, ButtonPress, ChatMigrated, ChatRef, ChatType, Incoming, MemberChange, UserRef

PLATFORM = "telegram"
PRESENT = ("member", "administrator", "creator", "restricted")


def chat_ref(chat_id: int | str) -> ChatRef:
    return ChatRef(PLATFORM, str(chat_id))


def user_ref(user: User) -> UserRef:
    return UserRef(PLATFORM, str(user.id), user.full_name or user.username or str(user.id))


def strip_bot_mention(text: str, bot_username: str) -> str:
    """`/reply@GridBot 3 …` → `/reply 3 …`; `@GridBot 停电了` → `停电了`."""
    if not bot_username:
        return text
    name = re.escape(bot_username)
    text = re.sub(rf"^(/\w+)@{name}\b", r"\1", text, flags=re.IGNORECASE)
    return re.sub(rf"^@{name}\b[\s,，:：]*", "", text, flags=re.IGNORECASE)


def to_incoming(update: Update, bot_username: str) -> Incoming | None:
    """A text message, a caption or an edit from a person; None for anything else."""
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    text = message.text or message.caption
    if not text:
        return None
    chat = message.chat
    return Incoming(
        chat=chat_ref(chat.id),
        sender=user_ref(message.from_user),
        text=strip_bot_mention(text, bot_username),
        # An edit keeps the message id; the edit date makes it a distinct, idempotent delivery.
        message_id=_message_key(message, edited=update.edited_message is not None),
        sent_at=_aware(message.edit_date or message.date),
        chat_type=ChatType.PRIVATE if chat.type == Chat.PRIVATE else ChatType.GROUP,
        chat_title=chat.title or "",
        edited=update.edited_message is not None,
        reply_to_message_id=str(message.reply_to_message.message_id) if message.reply_to_message else None,
    )


def _message_key(message: Message, edited: bool) -> str:
    if not edited or message.edit_date is None:
        return str(message.message_id)
    return f"{message.message_id}e{int(message.edit_date.timestamp())}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def member_changes(update: Update) -> list[MemberChange]:
    """Joins and leaves from chat_member updates and from service messages (both may arrive)."""
    if update.chat_member is not None:
        change = _from_chat_member(update.chat_member)
        return [change] if change else []
    message = update.message
    if message is None:
        return []
    chat, at, title = chat_ref(message.chat.id), _aware(message.date), message.chat.title or ""
    joined = [MemberChange(chat, user_ref(u), True, at, title) for u in message.new_chat_members if not u.is_bot]
    left = message.left_chat_member
    if left is not None and not left.is_bot:
        joined.append(MemberChange(chat, user_ref(left), False, at, title))
    return joined


def _from_chat_member(updated: ChatMemberUpdated) -> MemberChange | None:
    user = updated.new_chat_member.user
    was, now = updated.old_chat_member.status in PRESENT, updated.new_chat_member.status in PRESENT
    if user.is_bot or was == now:
        return None
    return MemberChange(chat_ref(updated.chat.id), user_ref(user), now, _aware(updated.date),
                        updated.chat.title or "")


def bot_membership(update: Update) -> BotMembership | None:
    updated = update.my_chat_member
    if updated is None or updated.chat.type == Chat.PRIVATE:
        return None
    was, now = updated.old_chat_member.status in PRESENT, updated.new_chat_member.status in PRESENT
    if was == now:
        return None
    return BotMembership(chat_ref(updated.chat.id), now, _aware(updated.date), updated.chat.title or "",
                         user_ref(updated.from_user))


def migration(update: Update) -> ChatMigrated | None:
    message = update.message
    if message is None or message.migrate_to_chat_id is None:
        return None
    return ChatMigrated(chat_ref(message.chat.id), chat_ref(message.migrate_to_chat_id))


def button_press(update: Update) -> ButtonPress | None:
    query = update.callback_query
    if query is None or query.data is None:
        return None
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    message_id = str(message.message_id) if message is not None else ""
    return ButtonPress(chat_ref(chat_id), user_ref(query.from_user), query.data, message_id)
