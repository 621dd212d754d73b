"""The sandbox's records: members, chats, bots, stored messages and files (JSON shapes are in shapes.py)."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from bot.sandbox.shapes import ACTIVE, OPT_IN_UPDATES, default_permissions, user_json

JSON = dict[str, Any]


@dataclass
class Member:
    """One user's standing in one chat."""

    status: str  # creator | administrator | member | restricted | left | kicked
    until_date: int = 0
    rights: dict[str, bool] = field(default_factory=dict)
    permissions: dict[str, bool] = field(default_factory=dict)
    is_member: bool = True

    @property
    def active(self) -> bool:
        return self.status in ACTIVE and (self.status != "restricted" or self.is_member)


@dataclass
class ChatInfo:
    """The descriptive part of a chat (the rest of the chat state lives in world.Chat)."""

    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    def short(self) -> JSON:
        """The Chat object embedded in messages and updates."""
        body: JSON = {"id": self.id, "type": self.type}
        for name in ("title", "username", "first_name", "last_name"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return body


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class BotState:
    id: int
    first_name: str
    username: str
    secret: str | None = None
    can_join_groups: bool = True
    can_read_all_group_messages: bool = True
    supports_inline_queries: bool = False
    queue: deque[JSON] = field(default_factory=deque)
    allowed: frozenset[str] | None = None  # None = Telegram's default (everything but opt-in types)
    webhook: Webhook | None = None
    commands: dict[str, list[JSON]] = field(default_factory=dict)

    def user(self) -> JSON:
        return user_json(self.id, self.first_name, self.username, is_bot=True)

    def me(self) -> JSON:
        flags = ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries")
        return {
            **self.user(),
            **{f: getattr(self, f) for f in flags},
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def wants(self, kind: str) -> bool:
        return kind not in OPT_IN_UPDATES if self.allowed is None else kind in self.allowed

    def sees(self, member: Member, msg: JSON) -> bool:
        """Privacy mode: without it (or admin rights) a bot sees commands, replies to it, service messages."""
        if self.can_read_all_group_messages or member.status in ("administrator", "creator"):
            return True
        text = msg.get("text", msg.get("caption"))
        if text is None:
            return True
        entities = msg.get("entities") or msg.get("caption_entities") or []
        reply_from = msg.get("reply_to_message", {}).get("from", {}).get("id")
        commanded = any(e["type"] == "bot_command" for e in entities)
        return reply_from == self.id or commanded or f"@{self.username}".lower() in text.lower()

    def confirm(self, offset: int | None) -> None:
        """getUpdates' offset: forget everything before it (negative = keep only the last -offset)."""
        if not offset:
            return
        if offset < 0:
            while len(self.queue) > -offset:
                self.queue.popleft()
            return
        while self.queue and self.queue[0]["update_id"] < offset:
            self.queue.popleft()

    def peek(self, limit: int) -> list[JSON]:
        return list(islice(self.queue, limit))


@dataclass
class StoredMessage:
    msg: JSON
    bot_id: int | None = None  # the bot that sent it, None for users/service messages
    partner_bot: int | None = None  # for private chats: which bot's conversation it belongs to
    edits: list[JSON] = field(default_factory=list)  # earlier versions, oldest first
    deleted: bool = False

    def view(self) -> JSON:
        """Flat summary for the control API, with the raw Message JSON under ``message``."""
        m = self.msg
        reply = m.get("reply_to_message")
        photo = m.get("photo")
        return {
            "message_id": m["message_id"],
            "chat_id": m["chat"]["id"],
            "from_id": m.get("from", {}).get("id"),
            "from_bot": self.bot_id is not None,
            "bot_id": self.bot_id,
            "date": m["date"],
            "text": m.get("text", m.get("caption")) or "",
            "caption": m.get("caption"),
            "photo": dict(photo[-1]) if photo else None,  # the largest size: file_id, width, height, file_size
            "reply_to_message_id": reply["message_id"] if reply else None,
            "reply_markup": m.get("reply_markup"),
            "edited": bool(self.edits),
            "edits": list(self.edits),
            "deleted": self.deleted,
            "message": m,
        }


@dataclass
class StoredFile:
    """A file the Bot API can hand out through getFile and /file/bot<token>/<file_path>.

    ``data`` is None for files the sandbox knows only by description (users' placeholder photos, photos
    sent by URL): getFile works, downloading them answers 404."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes | None
    file_size: int
    bot_id: int | None = None  # the bot the file_id belongs to (None: any bot may use it)
    photo: list[JSON] | None = None  # all PhotoSize objects of the photo this file is one size of
    source: str = "upload"  # upload | thumbnail | url
    url: str | None = None  # for source "url": what the bot asked Telegram to fetch
    media_type: str = "application/octet-stream"

    def view(self) -> JSON:
        """Description for the control API (the bytes are at /control/files/{file_id}/content)."""
        fields = ("file_id", "file_unique_id", "file_path", "file_size", "bot_id", "source", "url", "media_type")
        return {**{name: getattr(self, name) for name in fields}, "has_data": self.data is not None}

    def get_file(self) -> JSON:
        """The File object of getFile."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


@dataclass
class Chat:
    info: ChatInfo
    members: dict[int, Member] = field(default_factory=dict)
    bot_ids: set[int] = field(default_factory=set)  # bots with any membership record, for fast fan-out
    messages: OrderedDict[int, StoredMessage] = field(default_factory=OrderedDict)
    next_message_id: int = 1
    migrated_to: int | None = None
    permissions: dict[str, bool] = field(default_factory=default_permissions)

    @property
    def is_group(self) -> bool:
        return self.info.type in ("group", "supergroup")
