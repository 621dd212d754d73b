"""Bot API methods that configure the bot itself: commands and webhooks."""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.methods import Method
from bot.sandbox.params import Params
from bot.sandbox.records import BotState, Webhook
from bot.sandbox.world import World

JSON = dict[str, Any]


def _commands_key(p: Params) -> str:
    scope = p.obj("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + (p.text("language_code") or "")


def set_my_commands(world: World, bot: BotState, p: Params) -> bool:
    commands = p.obj("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise ApiError(400, "Bad Request: commands must be an array of at most 100 BotCommand")
    for command in commands:
        name, description = str(command.get("command", "")), str(command.get("description", ""))
        if not (1 <= len(name) <= 32 and name.replace("_", "").isalnum() and name == name.lower()):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise ApiError(400, "Bad Request: command description is empty")
    bot.commands[_commands_key(p)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


def get_my_commands(world: World, bot: BotState, p: Params) -> list[JSON]:
    return bot.commands.get(_commands_key(p), [])


def delete_my_commands(world: World, bot: BotState, p: Params) -> bool:
    bot.commands.pop(_commands_key(p), None)
    return True


def apply_allowed_updates(bot: BotState, p: Params) -> None:
    """allowed_updates: absent keeps the previous setting, [] restores Telegram's default, as documented."""
    if p.has("allowed_updates"):
        value = p.obj("allowed_updates") or []
        bot.allowed = frozenset(value) if value else None


def set_webhook(world: World, bot: BotState, p: Params) -> bool:
    url = p.text("url") or ""
    apply_allowed_updates(bot, p)
    if p.flag("drop_pending_updates"):
        bot.queue.clear()
    bot.webhook = (
        Webhook(url, p.text("secret_token"), p.integer("max_connections", 40) or 40) if url else None
    )
    for listener in world.listeners:  # lets the delivery side start on already queued updates
        listener(bot.id)
    return True


def delete_webhook(world: World, bot: BotState, p: Params) -> bool:
    bot.webhook = None
    if p.flag("drop_pending_updates"):
        bot.queue.clear()
    return True


def get_webhook_info(world: World, bot: BotState, p: Params) -> JSON:
    hook = bot.webhook
    info: JSON = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.queue),
    }
    if hook:
        info["max_connections"] = hook.max_connections
        if hook.last_error_date:
            info.update(last_error_date=hook.last_error_date, last_error_message=hook.last_error_message)
    if bot.allowed is not None:
        info["allowed_updates"] = sorted(bot.allowed)
    return info


SETUP_METHODS: dict[str, Method] = {
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
}
