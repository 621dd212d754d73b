"""Bot API methods about messages and callbacks (sync; getUpdates lives in delivery.Hub).

Each method takes (world, bot, params) and returns the ``result`` JSON or raises ApiError with
Telegram's exact description, so PTB maps it to the same exception class as against the real API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.markup import render_text
from bot.sandbox.params import Params
from bot.sandbox.records import BotState, Chat, StoredMessage
from bot.sandbox.world import World

JSON = dict[str, Any]
Method = Callable[[World, BotState, Params], Any]
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def bot_chat(world: World, bot: BotState, p: Params) -> Chat:
    """The target chat, checking that the bot is still in it (403 like Telegram when it is not)."""
    chat = world.chat(p.chat_id())
    if chat.is_group:
        member = world.member(chat, bot.id)
        kind = "supergroup chat" if chat.info.type == "supergroup" else "group chat"
        if bot.id not in chat.members:
            raise ApiError(400, "Bad Request: chat not found")
        if member.status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
        if not member.active:
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")
    return chat


def inline_markup(p: Params) -> JSON | None:
    """Validate reply_markup; only an inline keyboard becomes part of the Message, as in Telegram."""
    markup = p.obj("reply_markup")
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(
            400, 'Bad Request: can\'t parse inline keyboard: field "inline_keyboard" must be an Array'
        )
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text is empty")
        if sum(key in button for key in _BUTTON_ACTIONS) != 1:
            raise ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: Text buttons are unallowed "
                "in the inline keyboard",
            )
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= 64:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows}


def reply_target(world: World, chat: Chat, p: Params) -> JSON | None:
    params = p.obj("reply_parameters") or {}
    message_id = params.get("message_id") if isinstance(params, dict) else None
    if message_id is None:
        message_id = p.integer("reply_to_message_id")
    if message_id is None:
        return None
    target = world.message(chat, int(message_id))
    if target is None:
        if params.get("allow_sending_without_reply") or p.flag("allow_sending_without_reply"):
            return None
        raise ApiError(400, "Bad Request: message to be replied not found")
    return {k: v for k, v in target.msg.items() if k != "reply_to_message"}


def _text(p: Params, name: str = "text") -> tuple[str, list[JSON]]:
    explicit = p.obj("entities") if p.has("entities") else None
    text, entities = render_text(p.text(name) or "", p.text("parse_mode"), explicit)
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(text) > 4096:
        raise ApiError(400, "Bad Request: message is too long")
    return text, entities


def send_message(world: World, bot: BotState, p: Params) -> JSON:
    chat = bot_chat(world, bot, p)
    text, entities = _text(p)
    reply, markup = reply_target(world, chat, p), inline_markup(p)
    world.flood.check(bot.id, chat.info.id, chat.is_group, world.clock())
    msg = world.new_message(
        chat, bot.user(), text=text, entities=entities or None, reply_to_message=reply, reply_markup=markup
    )
    world.store(chat, msg, bot_id=bot.id)
    return msg


def _own_message(world: World, bot: BotState, p: Params, verb: str) -> tuple[Chat, StoredMessage]:
    if p.has("inline_message_id"):
        raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
    chat = bot_chat(world, bot, p)
    stored = world.message(chat, p.integer("message_id") or 0)
    if stored is None:
        raise ApiError(400, f"Bad Request: message to {verb} not found")
    if stored.bot_id != bot.id:
        raise ApiError(400, f"Bad Request: message can't be {verb}ed")
    return chat, stored


def _apply_edit(world: World, stored: StoredMessage, changes: JSON) -> JSON:
    msg = dict(stored.msg)  # copy on write: queued updates may still reference the old version
    if all(msg.get(k) == v for k, v in changes.items()):
        raise ApiError(
            400,
            "Bad Request: message is not modified: specified new message content and reply "
            "markup are exactly the same as a current content and reply markup of the message",
        )
    stored.edits.append(
        {
            "text": msg.get("text", msg.get("caption")),
            "reply_markup": msg.get("reply_markup"),
            "date": msg.get("edit_date", msg["date"]),
        }
    )
    for key, value in changes.items():
        if value is None:
            msg.pop(key, None)
        else:
            msg[key] = value
    msg["edit_date"] = world.now()
    stored.msg = msg
    return msg


def edit_message_text(world: World, bot: BotState, p: Params) -> JSON:
    _, stored = _own_message(world, bot, p, "edit")
    if "text" not in stored.msg:
        raise ApiError(400, "Bad Request: there is no text in the message to edit")
    text, entities = _text(p)
    # Without reply_markup Telegram drops the inline keyboard, so None here is deliberate.
    return _apply_edit(
        world, stored, {"text": text, "entities": entities or None, "reply_markup": inline_markup(p)}
    )


def edit_message_reply_markup(world: World, bot: BotState, p: Params) -> JSON:
    _, stored = _own_message(world, bot, p, "edit")
    return _apply_edit(world, stored, {"reply_markup": inline_markup(p)})


def delete_message(world: World, bot: BotState, p: Params) -> bool:
    chat = bot_chat(world, bot, p)
    ids = p.obj("message_ids") if p.has("message_ids") else [p.integer("message_id")]
    for message_id in ids or []:
        stored = world.message(chat, int(message_id or 0))
        if stored is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        member = world.member(chat, bot.id)
        may = (
            stored.bot_id == bot.id
            or not chat.is_group
            or member.status == "creator"
            or (member.status == "administrator" and member.rights.get("can_delete_messages", False))
        )
        if not may:
            raise ApiError(400, "Bad Request: message can't be deleted")
        stored.deleted = True
    return True


def answer_callback_query(world: World, bot: BotState, p: Params) -> bool:
    query_id = p.text("callback_query_id") or ""
    record = world.callbacks.get(query_id)
    if record is None or record["bot_id"] != bot.id or record["answered"]:
        raise ApiError(
            400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
    answer = {
        "callback_query_id": query_id,
        "bot_id": bot.id,
        "text": p.text("text"),
        "show_alert": p.flag("show_alert"),
        "url": p.text("url"),
        "cache_time": p.integer("cache_time", 0),
    }
    record.update(answered=True, answer=answer)
    world.callback_answers.append(answer)
    return True


METHODS: dict[str, Method] = {
    "getme": lambda world, bot, p: bot.me(),
    "logout": lambda world, bot, p: True,
    "close": lambda world, bot, p: True,
    "sendmessage": send_message,
    "editmessagetext": edit_message_text,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "deletemessages": delete_message,
    "answercallbackquery": answer_callback_query,
}
