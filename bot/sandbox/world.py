"""In-memory state of the fake Telegram: bots, users, chats, members, messages and per-bot update queues.

Pure Python, no HTTP and no asyncio: HTTP layers subscribe to ``World.listeners`` to learn that a bot's
queue grew (long-polling wake-up, webhook delivery). Everything is bounded: update queues, per-chat
message stores, callback queries, the call log and stored files drop their oldest entries first.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from bot.sandbox.errors import ApiError, chat_not_found, migrated
from bot.sandbox.limits import FaultBook, FloodLimiter
from bot.sandbox.records import BotState, Chat, ChatInfo, Member, StoredFile, StoredMessage
from bot.sandbox.shapes import member_json, user_json

JSON = dict[str, Any]
_TOKEN = re.compile(r"^(\d{1,20}):([A-Za-z0-9_-]{1,200})$")


class World:
    """All sandbox state. ``reset()`` forgets everything except per-bot update id counters."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        max_queue: int = 100_000,
        max_messages_per_chat: int = 10_000,
        max_calls: int = 20_000,
        max_file_bytes: int = 256 * 1024 * 1024,
        max_files: int = 20_000,
    ) -> None:
        self.clock = clock
        self.max_queue, self.max_messages, self.max_calls = max_queue, max_messages_per_chat, max_calls
        self.max_file_bytes, self.max_files = max_file_bytes, max_files
        self.listeners: list[Callable[[int], None]] = []
        # Survives reset so a still-running poller's offset never hides new updates.
        self._next_update: dict[int, int] = {}
        self._next_file = 1  # likewise: a file_id from before a reset never names a newer file
        self.reset()

    def reset(self) -> None:
        self.bots: dict[int, BotState] = {}
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, Chat] = {}
        self.callbacks: OrderedDict[str, JSON] = OrderedDict()
        self.callback_answers: deque[JSON] = deque(maxlen=self.max_calls)
        self.calls: deque[JSON] = deque(maxlen=self.max_calls)
        self.faults = FaultBook()
        self.flood = FloodLimiter()
        self.files: OrderedDict[str, StoredFile] = OrderedDict()
        self._file_paths: dict[str, str] = {}
        self._file_bytes = 0
        self._seq = 0
        self._next_user, self._next_group, self._next_super = 10_001, 400_000_001, 1_000_000_000_001

    def now(self) -> int:
        return int(self.clock())

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- bots and users -------------------------------------------------------------------------
    def bot_for_token(self, token: str) -> BotState:
        """Any ``<digits>:<secret>`` is a bot; a known bot with a different secret is 401 like Telegram."""
        match = _TOKEN.match(token)
        if not match:
            raise ApiError(404, "Not Found")
        bot = self.bots.get(int(match[1])) or self.register_bot(int(match[1]))
        if bot.secret is None:
            bot.secret = match[2]
        elif bot.secret != match[2]:
            raise ApiError(401, "Unauthorized")
        return bot

    def register_bot(
        self,
        bot_id: int,
        secret: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        **flags: bool,
    ) -> BotState:
        bot = self.bots.get(bot_id) or BotState(
            bot_id, first_name or f"Sandbox Bot {bot_id}", username or f"sandbox{bot_id}_bot"
        )
        bot.secret = secret or bot.secret
        bot.username, bot.first_name = username or bot.username, first_name or bot.first_name
        for name, value in flags.items():
            setattr(bot, name, bool(value))
        self.bots[bot_id] = bot
        self.users[bot_id] = bot.user()
        return bot

    def add_user(
        self,
        first_name: str,
        user_id: int | None = None,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        if user_id is None:
            user_id, self._next_user = self._next_user, self._next_user + 1
        self.users[user_id] = user_json(
            user_id, first_name, username, last_name=last_name, language_code=language_code
        )
        return self.users[user_id]

    def user(self, user_id: int) -> JSON:
        if user_id not in self.users:
            raise ApiError(400, "Bad Request: user not found")
        return self.users[user_id]

    # --- chats and members ----------------------------------------------------------------------
    def create_chat(
        self,
        type: str,
        title: str | None = None,
        chat_id: int | None = None,
        user_id: int | None = None,
        username: str | None = None,
    ) -> Chat:
        if type == "private":
            user = self.user(int(user_id if user_id is not None else chat_id or 0))
            info = ChatInfo(
                user["id"],
                "private",
                username=user.get("username"),
                first_name=user["first_name"],
                last_name=user.get("last_name"),
            )
        elif type in ("group", "supergroup"):
            if chat_id is None and type == "group":
                chat_id, self._next_group = -self._next_group, self._next_group + 1
            elif chat_id is None:
                chat_id, self._next_super = -self._next_super, self._next_super + 1
            info = ChatInfo(chat_id, type, title=title or f"Chat {chat_id}", username=username)
        else:
            raise ApiError(400, f"unsupported chat type {type!r}")
        chat = self.chats.get(info.id) or Chat(info)
        self.chats[info.id] = chat
        return chat

    def chat(self, chat_id: int | str, follow: bool = False) -> Chat:
        """Chat by id or @username; a migrated group answers 400 with migrate_to_chat_id unless followed."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            found = [c for c in self.chats.values() if (c.info.username or "").lower() == name]
            if not found:
                raise chat_not_found()
            return found[0]
        chat = self.chats.get(int(chat_id))
        if chat is None:
            raise chat_not_found()
        if chat.migrated_to is not None and not follow:
            raise migrated(chat.migrated_to)
        return chat

    def member(self, chat: Chat, user_id: int) -> Member:
        if chat.info.type == "private":
            return Member("member")
        return chat.members.get(user_id) or Member("left")

    def set_member(
        self, chat: Chat, user_id: int, new: Member, by: int | None = None
    ) -> tuple[Member, Member]:
        """Change a membership and emit my_chat_member / chat_member updates as Telegram does."""
        old = self.member(chat, user_id)
        chat.members[user_id] = new
        if user_id in self.bots:
            chat.bot_ids.add(user_id)
        user = self.user(user_id)
        actor = self.user(by) if by is not None else user
        change = {
            "chat": chat.info.short(),
            "from": actor,
            "date": self.now(),
            "old_chat_member": member_json(user, old),
            "new_chat_member": member_json(user, new),
        }
        if user_id in self.bots:
            self.enqueue(self.bots[user_id], "my_chat_member", change)
        # chat_member goes only to bots that administer the chat (and asked for it in allowed_updates).
        for bot_id in chat.bot_ids:
            if bot_id != user_id and chat.members[bot_id].status in ("administrator", "creator"):
                self.enqueue(self.bots[bot_id], "chat_member", change)
        return old, new

    # --- messages -------------------------------------------------------------------------------
    def new_message(self, chat: Chat, sender: JSON | None, **fields: Any) -> JSON:
        msg: JSON = {"message_id": chat.next_message_id, "date": self.now(), "chat": chat.info.short()}
        chat.next_message_id += 1
        if sender is not None:
            msg["from"] = sender
        msg.update({k: v for k, v in fields.items() if v is not None})
        return msg

    def store(
        self, chat: Chat, msg: JSON, bot_id: int | None = None, partner: int | None = None
    ) -> StoredMessage:
        stored = StoredMessage(msg, bot_id, partner)
        chat.messages[msg["message_id"]] = stored
        while len(chat.messages) > self.max_messages:
            chat.messages.popitem(last=False)
        return stored

    def message(self, chat: Chat, message_id: int) -> StoredMessage | None:
        stored = chat.messages.get(message_id)
        return None if stored is None or stored.deleted else stored

    def fan_out(self, chat: Chat, stored: StoredMessage, kind: str = "message") -> None:
        """Deliver a user/service message to the bots that can see it."""
        if chat.info.type == "private":
            targets = [stored.partner_bot] if stored.partner_bot is not None else list(self.bots)
            for bot_id in targets:
                if bot_id in self.bots:
                    self.enqueue(self.bots[bot_id], kind, stored.msg)
            return
        for bot_id in chat.bot_ids:
            member = chat.members[bot_id]
            if member.active and self.bots[bot_id].sees(member, stored.msg):
                self.enqueue(self.bots[bot_id], kind, stored.msg)

    # --- files ----------------------------------------------------------------------------------
    def add_file(
        self,
        data: bytes | None,
        folder: str,
        extension: str,
        bot_id: int | None = None,
        size: int | None = None,
        **details: Any,
    ) -> StoredFile:
        """Keep a file (``data`` None: known by description only); the oldest go beyond the bounds."""
        number, self._next_file = self._next_file, self._next_file + 1
        stored = StoredFile(
            file_id=f"sandbox-file-{number}",
            file_unique_id=f"sbxu{number}",
            file_path=f"{folder}/file_{number}.{extension}",
            data=data,
            file_size=len(data) if data is not None else size or 0,
            bot_id=bot_id,
            **details,
        )
        self.files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored.file_id
        self._file_bytes += len(data or b"")
        while len(self.files) > 1 and (len(self.files) > self.max_files or self._file_bytes > self.max_file_bytes):
            _, old = self.files.popitem(last=False)
            self._file_paths.pop(old.file_path, None)
            self._file_bytes -= len(old.data or b"")
        return stored

    def file(self, file_id: str, bot_id: int | None = None) -> StoredFile | None:
        """A stored file by file_id, if ``bot_id`` (when given) may use it: file_ids are per bot."""
        stored = self.files.get(file_id)
        if stored is None or (bot_id is not None and stored.bot_id not in (None, bot_id)):
            return None
        return stored

    def file_by_path(self, file_path: str) -> StoredFile | None:
        file_id = self._file_paths.get(file_path)
        return self.files.get(file_id) if file_id is not None else None

    # --- updates --------------------------------------------------------------------------------
    def enqueue(self, bot: BotState, kind: str, payload: JSON) -> None:
        # Telegram applies allowed_updates when an update is created, not when it is fetched.
        if not bot.wants(kind):
            return
        update_id = self._next_update.get(bot.id, 1)
        self._next_update[bot.id] = update_id + 1
        bot.queue.append({"update_id": update_id, kind: payload})
        while len(bot.queue) > self.max_queue:
            bot.queue.popleft()
        for listener in self.listeners:
            listener(bot.id)

    def log_call(self, bot_id: int, method: str, params: JSON, code: int, description: str | None) -> None:
        call = {"seq": self.next_seq(), "bot_id": bot_id, "method": method, "params": params}
        call.update(status=code, ok=code == 200, description=description, time=self.clock())
        self.calls.append(call)
