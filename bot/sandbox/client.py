"""SandboxClient: async httpx wrapper around the control API (see bot.sandbox.control for the routes)."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import httpx

JSON = dict[str, Any]


class SandboxError(Exception):
    """A control API call was refused (bad arguments, unknown chat/user, ...)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


def _clean(**values: Any) -> JSON:
    return {k: v for k, v in values.items() if v is not None}


class SandboxClient:
    """Drive the sandbox world: create users and chats, act as users, inspect what bots did."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=f"{self.base_url}/control", timeout=timeout)

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, verb: str, path: str, body: JSON | None = None, query: JSON | None = None) -> Any:
        response = await self._http.request(verb, path, json=body, params=_clean(**(query or {})))
        data = response.json()
        if not data.get("ok"):
            raise SandboxError(data.get("error_code", response.status_code), data.get("description", ""))
        return data["result"]

    # --- world ------------------------------------------------------------------------------------
    async def health(self) -> JSON:
        return await self._call("GET", "/health")

    async def reset(self) -> None:
        await self._call("POST", "/reset")

    async def stats(self) -> JSON:
        return await self._call("GET", "/stats")

    async def add_bot(
        self,
        token: str | None = None,
        bot_id: int | None = None,
        username: str | None = None,
        first_name: str | None = None,
        **flags: bool,
    ) -> JSON:
        return await self._call(
            "POST", "/bots", _clean(token=token, id=bot_id, username=username, first_name=first_name, **flags)
        )

    async def get_bot(self, bot_id: int) -> JSON:
        return await self._call("GET", f"/bots/{bot_id}")

    async def pending_updates(self, bot_id: int) -> list[JSON]:
        return await self._call("GET", f"/bots/{bot_id}/updates")

    async def add_user(
        self,
        first_name: str,
        user_id: int | None = None,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        return await self._call(
            "POST",
            "/users",
            _clean(
                first_name=first_name,
                id=user_id,
                username=username,
                last_name=last_name,
                language_code=language_code,
            ),
        )

    # --- chats and membership -------------------------------------------------------------------
    async def create_group(
        self,
        title: str,
        type: str = "group",
        creator: int | None = None,
        members: list[int] | None = None,
        chat_id: int | None = None,
        username: str | None = None,
    ) -> JSON:
        """A group that already exists (no updates); returns {chat, members, ...}."""
        return await self._call(
            "POST",
            "/chats",
            _clean(type=type, title=title, creator=creator, members=members, id=chat_id, username=username),
        )

    async def create_private_chat(self, user_id: int) -> JSON:
        return await self._call("POST", "/chats", {"type": "private", "user_id": user_id})

    async def get_chat(self, chat_id: int) -> JSON:
        return await self._call("GET", f"/chats/{chat_id}")

    async def join(self, chat_id: int, user_id: int, by: int | None = None) -> JSON:
        return await self._call("POST", f"/chats/{chat_id}/join", _clean(user_id=user_id, by=by))

    async def leave(self, chat_id: int, user_id: int, by: int | None = None, ban: bool = False) -> JSON:
        return await self._call("POST", f"/chats/{chat_id}/leave", _clean(user_id=user_id, by=by, ban=ban))

    async def promote(
        self, chat_id: int, user_id: int, by: int | None = None, rights: dict[str, bool] | None = None
    ) -> None:
        await self._call("POST", f"/chats/{chat_id}/promote", _clean(user_id=user_id, by=by, rights=rights))

    async def demote(self, chat_id: int, user_id: int, by: int | None = None) -> None:
        await self._call("POST", f"/chats/{chat_id}/demote", _clean(user_id=user_id, by=by))

    async def add_bot_to_group(self, chat_id: int, bot_id: int, by: int, admin: bool = False) -> None:
        """The bot is added by user ``by`` (my_chat_member + new_chat_members), optionally promoted."""
        await self.join(chat_id, bot_id, by=by)
        if admin:
            await self.promote(chat_id, bot_id, by=by)

    async def migrate(self, chat_id: int, by: int | None = None, new_chat_id: int | None = None) -> JSON:
        """Upgrade a group to a supergroup; returns the new chat's view."""
        return await self._call("POST", f"/chats/{chat_id}/migrate", _clean(by=by, new_chat_id=new_chat_id))

    # --- messages ---------------------------------------------------------------------------------
    async def post_message(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        caption: str | None = None,
        photo: bool = False,
        reply_to: int | None = None,
        bot_id: int | None = None,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """A user's message (text, or photo placeholder with caption); returns the message view."""
        return await self._call(
            "POST",
            f"/chats/{chat_id}/messages",
            _clean(
                user_id=user_id,
                text=text,
                caption=caption,
                photo=photo or None,
                reply_to=reply_to,
                bot_id=bot_id,
                entities=entities,
            ),
        )

    async def post_messages(self, chat_id: int, messages: list[JSON]) -> list[int]:
        """Many user messages in one request (each like post_message's arguments); returns message ids."""
        return await self._call("POST", f"/chats/{chat_id}/messages/batch", {"messages": messages})

    async def send_command(
        self,
        chat_id: int,
        user_id: int,
        command: str,
        args: str = "",
        bot_username: str | None = None,
        bot_id: int | None = None,
    ) -> JSON:
        """``/command[@bot_username] args`` with its bot_command entity."""
        text = (
            f"/{command.lstrip('/')}"
            + (f"@{bot_username}" if bot_username else "")
            + (f" {args}" if args else "")
        )
        return await self.post_message(chat_id, user_id, text=text, bot_id=bot_id)

    async def photos(self, chat_id: int, bot_id: int | None = None) -> list[JSON]:
        """Photos bots sent to a chat, oldest first: {message_id, bot_id, caption, caption_entities, file_id,
        width, height, file_size, sizes, deleted}; file_id/width/height/file_size are the largest size's,
        whose bytes are exactly what the bot uploaded (``file_content(file_id)``)."""
        return await self._call("GET", f"/chats/{chat_id}/photos", query={"bot_id": bot_id})

    async def files(self, bot_id: int | None = None) -> list[JSON]:
        """Stored files: {file_id, file_unique_id, file_path, file_size, bot_id, source, url, media_type,
        has_data}."""
        return await self._call("GET", "/files", query={"bot_id": bot_id})

    async def file_content(self, file_id: str) -> bytes:
        """The bytes of a stored file (SandboxError 404 if unknown or held without bytes)."""
        response = await self._http.get(f"/files/{file_id}/content")
        if response.status_code != 200:
            data = response.json()
            raise SandboxError(data.get("error_code", response.status_code), data.get("description", ""))
        return response.content

    async def edit_message(self, chat_id: int, message_id: int, text: str) -> JSON:
        return await self._call("POST", f"/chats/{chat_id}/messages/{message_id}/edit", {"text": text})

    async def press_button(
        self, chat_id: int, message_id: int, user_id: int, data: str | None = None, text: str | None = None
    ) -> JSON:
        """Press an inline button by callback data or label; returns the CallbackQuery JSON."""
        return await self._call(
            "POST",
            f"/chats/{chat_id}/messages/{message_id}/press",
            _clean(user_id=user_id, data=data, text=text),
        )

    async def messages(
        self,
        chat_id: int,
        sender: str = "any",
        include_deleted: bool = True,
        bot_id: int | None = None,
        after: int | None = None,
    ) -> list[JSON]:
        """Message views in a chat, oldest first (``sender``: any | bot | user; ``after``: message_id)."""
        query = {
            "sender": sender,
            "include_deleted": str(include_deleted).lower(),
            "bot_id": bot_id,
            "after": after,
        }
        return await self._call("GET", f"/chats/{chat_id}/messages", query=query)

    async def bot_messages(self, chat_id: int) -> list[JSON]:
        return await self.messages(chat_id, sender="bot")

    async def wait_for_messages(
        self, chat_id: int, count: int, sender: str = "bot", after: int = 0, timeout: float = 5.0
    ) -> list[JSON]:
        """Poll until ``count`` messages from ``sender`` newer than ``after`` exist; TimeoutError otherwise.

        Each poll fetches only messages it has not seen yet, so waiting on big chats stays cheap."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        found: list[JSON] = []
        last_seen = after
        while True:
            fresh = await self.messages(chat_id, sender="any", after=last_seen)
            if fresh:
                last_seen = fresh[-1]["message_id"]
                found += [m for m in fresh if sender == "any" or m["from_bot"] == (sender == "bot")]
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                raise TimeoutError(
                    f"{len(found)}/{count} {sender} messages in chat {chat_id} after {timeout}s"
                )
            await asyncio.sleep(0.01)

    # --- observation and faults -----------------------------------------------------------------
    async def calls(self, bot_id: int | None = None, method: str | None = None, since: int = 0) -> list[JSON]:
        """Bot API call log: {seq, bot_id, method, params, status, ok, description, time}."""
        return await self._call(
            "GET", "/calls", query={"bot_id": bot_id, "method": method, "since": since or None}
        )

    async def callback_answers(self, bot_id: int | None = None) -> list[JSON]:
        return await self._call("GET", "/callback_answers", query={"bot_id": bot_id})

    async def add_fault(
        self, method: str, kind: str, count: int = 1, chat_id: int | None = None, **options: Any
    ) -> JSON:
        """Next ``count`` calls of ``method`` ("*" = any) fail. kind: retry_after | server_error | bad_gateway
        | kicked | blocked | migrated | delay | custom; options: retry_after, migrate_to_chat_id, delay,
        error_code, description, parameters."""
        return await self._call(
            "POST", "/faults", _clean(method=method, kind=kind, count=count, chat_id=chat_id, **options)
        )

    async def faults(self) -> list[JSON]:
        return await self._call("GET", "/faults")

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def set_flood_limits(self, enabled: bool = True, **settings: float) -> JSON:
        """Enforce Telegram's flood limits.

        settings: chat_rate, chat_burst, group_per_minute, global_per_second."""
        return await self._call("POST", "/flood", {"enabled": enabled, **settings})
