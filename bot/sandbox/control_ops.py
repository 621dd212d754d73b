"""Handlers behind the control routes (see control.py for the route table and its documentation)."""

from __future__ import annotations

from typing import Any

from bot.sandbox import scenarios as sc
from bot.sandbox.delivery import Hub
from bot.sandbox.errors import ApiError
from bot.sandbox.limits import Fault
from bot.sandbox.records import BotState, Chat, StoredFile, StoredMessage
from bot.sandbox.shapes import member_json
from bot.sandbox.world import World

JSON = dict[str, Any]
_FAULT_OPTIONS = (
    "chat_id",
    "retry_after",
    "migrate_to_chat_id",
    "delay",
    "error_code",
    "description",
    "parameters",
)
_BOT_FLAGS = ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries")


class Args(dict[str, Any]):
    """Path, query and JSON body parameters of one control request, with lenient typed access."""

    def integer(self, name: str) -> int:
        return int(self[name])

    def optional(self, name: str) -> int | None:
        return None if self.get(name) in (None, "") else int(self[name])

    def flag(self, name: str) -> bool:
        value = self.get(name, False)
        return value.lower() in ("1", "true", "yes") if isinstance(value, str) else bool(value)


def bot_view(bot: BotState) -> JSON:
    allowed = sorted(bot.allowed) if bot.allowed is not None else None
    webhook = bot.webhook.url if bot.webhook else None
    return {
        **bot.me(),
        "pending_update_count": len(bot.queue),
        "allowed_updates": allowed,
        "webhook_url": webhook,
    }


def chat_view(world: World, chat: Chat) -> JSON:
    members = [member_json(world.users[uid], m) for uid, m in chat.members.items() if uid in world.users]
    return {
        "chat": chat.info.short(),
        "members": members,
        "migrated_to": chat.migrated_to,
        "message_count": len(chat.messages),
    }


def reset(hub: Hub, a: Args) -> bool:
    old = list(hub.world.bots)
    hub.world.reset()
    for bot_id in old:
        hub.notify(bot_id)  # pending long-polls return instead of waiting on a forgotten bot
    return True


def stats(hub: Hub, a: Args) -> JSON:
    w = hub.world
    pending = {str(b.id): len(b.queue) for b in w.bots.values()}
    return {
        "bots": len(w.bots),
        "users": len(w.users),
        "chats": len(w.chats),
        "calls": len(w.calls),
        "pending_updates": pending,
        "webhook_senders": hub.pending_senders(),
    }


def add_bot(hub: Hub, a: Args) -> JSON:
    bot = (
        hub.world.bot_for_token(str(a["token"]))
        if a.get("token")
        else hub.world.register_bot(a.integer("id"))
    )
    flags = {k: a.flag(k) for k in _BOT_FLAGS if k in a}
    return bot_view(hub.world.register_bot(bot.id, None, a.get("username"), a.get("first_name"), **flags))


def get_bot(hub: Hub, a: Args) -> BotState:
    bot = hub.world.bots.get(a.integer("bot_id"))
    if bot is None:
        raise ApiError(404, "Not Found: no such bot")
    return bot


def add_user(hub: Hub, a: Args) -> JSON:
    return hub.world.add_user(
        a["first_name"], a.optional("id"), a.get("username"), a.get("last_name"), a.get("language_code")
    )


def create_chat(hub: Hub, a: Args) -> JSON:
    kind = str(a.get("type", "group"))
    if kind == "private":
        chat = hub.world.create_chat("private", user_id=int(a["user_id"] if "user_id" in a else a["id"]))
    else:
        chat = sc.create_group(
            hub.world,
            str(a.get("title", "")),
            kind,
            a.optional("creator"),
            a.get("members"),
            a.optional("id"),
            a.get("username"),
        )
    return chat_view(hub.world, chat)


def get_chat(hub: Hub, a: Args) -> JSON:
    return chat_view(hub.world, hub.world.chat(a.integer("chat_id"), follow=True))


def join(hub: Hub, a: Args) -> JSON:
    return sc.join(hub.world, a.integer("chat_id"), a.integer("user_id"), a.optional("by")).view()


def leave(hub: Hub, a: Args) -> JSON:
    return sc.leave(
        hub.world, a.integer("chat_id"), a.integer("user_id"), a.optional("by"), a.flag("ban")
    ).view()


def promote(hub: Hub, a: Args) -> bool:
    sc.promote(hub.world, a.integer("chat_id"), a.integer("user_id"), a.optional("by"), a.get("rights"))
    return True


def demote(hub: Hub, a: Args) -> bool:
    sc.promote(hub.world, a.integer("chat_id"), a.integer("user_id"), a.optional("by"), demote=True)
    return True


def migrate(hub: Hub, a: Args) -> JSON:
    new = sc.migrate(hub.world, a.integer("chat_id"), a.optional("by"), a.optional("new_chat_id"))
    return chat_view(hub.world, new)


def _post_one(hub: Hub, chat_id: int, a: Args) -> StoredMessage:
    photo = a.flag("photo") or "caption" in a
    return sc.post(
        hub.world,
        chat_id,
        a.integer("user_id"),
        a.get("text"),
        a.get("caption"),
        photo,
        a.optional("reply_to"),
        a.optional("bot_id"),
        a.get("entities"),
    )


def post(hub: Hub, a: Args) -> JSON:
    return _post_one(hub, a.integer("chat_id"), a).view()


def post_batch(hub: Hub, a: Args) -> list[int]:
    """Many user messages in one request (benchmarks): answers their message ids only, to stay light."""
    chat_id = a.integer("chat_id")
    return [_post_one(hub, chat_id, Args(item)).msg["message_id"] for item in a["messages"]]


def messages(hub: Hub, a: Args) -> list[JSON]:
    chat = hub.world.chat(a.integer("chat_id"), follow=True)
    sender, bot_id, after = a.get("sender", "any"), a.optional("bot_id"), a.optional("after") or 0
    hide_deleted = "include_deleted" in a and not a.flag("include_deleted")
    # Walk back from the newest message so ``after`` costs O(new messages), not O(chat history).
    newest_first = []
    for stored in reversed(chat.messages.values()):
        if stored.msg["message_id"] <= after:
            break
        newest_first.append(stored)
    out = []
    for stored in reversed(newest_first):
        from_bot = stored.bot_id is not None
        if (hide_deleted and stored.deleted) or sender == ("user" if from_bot else "bot"):
            continue
        if bot_id is None or stored.bot_id == bot_id:
            out.append(stored.view())
    return out


def photos(hub: Hub, a: Args) -> list[JSON]:
    """Photos bots sent to a chat, oldest first: caption and the largest size (file_id, size, bytes)."""
    chat = hub.world.chat(a.integer("chat_id"), follow=True)
    bot_id = a.optional("bot_id")
    out = []
    for stored in chat.messages.values():
        msg = stored.msg
        if stored.bot_id is None or "photo" not in msg or bot_id not in (None, stored.bot_id):
            continue
        largest = msg["photo"][-1]
        out.append(
            {
                "message_id": msg["message_id"],
                "chat_id": chat.info.id,
                "bot_id": stored.bot_id,
                "date": msg["date"],
                "caption": msg.get("caption"),
                "caption_entities": msg.get("caption_entities", []),
                "reply_markup": msg.get("reply_markup"),
                "deleted": stored.deleted,
                "sizes": [[size["width"], size["height"]] for size in msg["photo"]],
                **{k: largest[k] for k in ("file_id", "width", "height", "file_size")},
            }
        )
    return out


def files(hub: Hub, a: Args) -> list[JSON]:
    bot_id = a.optional("bot_id")
    return [f.view() for f in hub.world.files.values() if bot_id in (None, f.bot_id)]


def stored_file(hub: Hub, a: Args) -> StoredFile:
    found = hub.world.file(str(a["file_id"]))
    if found is None:
        raise ApiError(404, "Not Found: no such file (never stored, or dropped as the oldest)")
    return found


def edit(hub: Hub, a: Args) -> JSON:
    return sc.edit(hub.world, a.integer("chat_id"), a.integer("message_id"), str(a["text"])).view()


def press(hub: Hub, a: Args) -> JSON:
    return sc.press(
        hub.world,
        a.integer("chat_id"),
        a.integer("message_id"),
        a.integer("user_id"),
        a.get("data"),
        a.get("text"),
    )


def calls(hub: Hub, a: Args) -> list[JSON]:
    bot_id, since, method = a.optional("bot_id"), a.optional("since") or 0, str(a.get("method", "")).lower()
    return [
        c
        for c in hub.world.calls
        if c["seq"] > since and bot_id in (None, c["bot_id"]) and method in ("", c["method"].lower())
    ]


def callback_answers(hub: Hub, a: Args) -> list[JSON]:
    bot_id = a.optional("bot_id")
    return [x for x in hub.world.callback_answers if bot_id in (None, x["bot_id"])]


def faults(hub: Hub, a: Args) -> list[JSON]:
    return [f.public() for f in hub.world.faults.faults]


def add_fault(hub: Hub, a: Args) -> JSON:
    options = {k: a[k] for k in _FAULT_OPTIONS if a.get(k) is not None}
    fault = Fault(str(a["method"]), str(a.get("kind", "server_error")), int(a.get("count", 1)), **options)
    hub.world.faults.add(fault)
    return fault.public()


def clear_faults(hub: Hub, a: Args) -> bool:
    hub.world.faults.faults.clear()
    return True


def flood(hub: Hub, a: Args) -> JSON:
    limiter = hub.world.flood
    settings = {k: v for k, v in a.items() if k != "enabled"}
    if a:
        limiter.configure(**settings)
        limiter.enabled = a.flag("enabled")
    return {k: v for k, v in limiter.__dict__.items() if not k.startswith("_")}
